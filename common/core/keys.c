/* keys.c: the one table of config keys; a new key is a row here and an item in man/cartwatch.7. */
#include <string.h>

#include "cw/core/keys.h"
#include "cw/core/util.h"

#define STR(name, def, doc)           { name, CW_KEY_STR, def, 0, 0, 0, NULL, doc, 0 }
#define INT(name, def, min, max, doc) { name, CW_KEY_INT, NULL, def, min, max, NULL, doc, 0 }
#define BOOL(name, def, doc)          { name, CW_KEY_BOOL, NULL, def, 0, 1, NULL, doc, 0 }
#define LIST(name, doc)               { name, CW_KEY_LIST, NULL, 0, 0, 0, NULL, doc, 0 }
#define OBJECT(name, doc)             { name, CW_KEY_OBJECT, NULL, 0, 0, 0, NULL, doc, 0 }
/* A key with a second spelling: the first is the sample's own and wins when a
 * file has both; the second is what Microsoft's published docs say. */
#define ALIASED(name, alias, doc)     { name, CW_KEY_STR, NULL, 0, 0, 0, alias, doc, 0 }
/* A string whose value is a secret itself, not a vault secret's name. */
#define SECRET(name, def, doc)        { name, CW_KEY_STR, def, 0, 0, 0, NULL, doc, CW_KEY_SECRET }
/* A key whose default depends on who reads it (CW_KEY_VARIES). */
#define VARIES_STR(name, def, doc)    { name, CW_KEY_STR, def, 0, 0, 0, NULL, doc, CW_KEY_VARIES }
#define VARIES_INT(name, def, min, max, doc) \
	{ name, CW_KEY_INT, NULL, def, min, max, NULL, doc, CW_KEY_VARIES }

#define MINUTES_10Y (525600LL * 10)

const struct cw_key cw_keys[] = {
	/* The .NET sample's own sections. */
	ALIASED("KeyVaultOptions.KeyVaultUrl", "KeyVaultOptions.KeyVaultURI",
	    "the Key Vault holding every secret; required"),
	STR("RetailServerClientOptions.TenantId", NULL,
	    "the Entra tenant the Retail Server token is asked in; required"),
	STR("RetailServerClientOptions.RetailServerAudienceId", "https://commerce.dynamics.com",
	    "the Retail Server token's resource (scope <it>/.default)"),
	STR("RetailServerClientOptions.AppIdKeyVaultSecretName", NULL,
	    "the vault secret holding the application (client) id; required"),
	STR("RetailServerClientOptions.AppSecretKeyVaultSecretName", NULL,
	    "the vault secret holding the client secret; required"),
	ALIASED("RetailServerClientOptions.RetailServerUri",
	    "RetailServerClientOptions.RetailServerUrl",
	    "Retail Server's base URL, ending in /Commerce; required"),
	STR("RetailServerClientOptions.OperatingUnitNumber", NULL,
	    "the channel's operating unit number, sent as OUN; required"),
	STR("RetailServerClientOptions.ReturnToCartUrl", NULL,
	    "the shop's return-to-cart URL put in every notification; required"),
	INT("RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes", 500,
	    0, MINUTES_10Y, "the window's start: carts modified at most this many minutes ago"),
	INT("RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes", 10,
	    0, MINUTES_10Y, "the window's end, and the default reminder's delay, in minutes"),
	STR("AzureCosmosOptions.EndPointUri", "https://localhost:8081",
	    "the Cosmos DB account, with Cartwatch.StateStore.Kind cosmos"),
	SECRET("AzureCosmosOptions.PrimaryKey", "",
	    "the Cosmos DB account key; required with cosmos, unless from the vault"),
	STR("AzureCosmosOptions.DatabaseId", "AbandonedCartSampleDB",
	    "the Cosmos DB database, made when missing"),
	STR("AzureCosmosOptions.ContainerId", "RunStatus",
	    "the Cosmos DB container, made when missing"),
	STR("EmarsysClientOptions.ApiUrl", "https://api.emarsys.net/api/v2/event/{0}/trigger",
	    "the Emarsys external-event URL; {0} is the event id"),
	STR("EmarsysClientOptions.ExternalEventId", NULL,
	    "the Emarsys event to trigger; required by emarsys without Cartwatch.Reminders"),
	STR("EmarsysClientOptions.EmarsysContactKeyId", "3",
	    "the Emarsys contact field that holds the email (key_id)"),
	STR("EmarsysClientOptions.ApiUserNameKeyVaultSecretName", NULL,
	    "the vault secret holding the Emarsys API user; required by emarsys"),
	STR("EmarsysClientOptions.ApiSecretKeyVaultSecretName", NULL,
	    "the vault secret holding the Emarsys API secret; required by emarsys"),
	STR("MediaOptions.ImageServerUrl", NULL,
	    "the image resizer's base URL for relative image URLs; required"),
	LIST("MediaOptions.ImageViewPorts",
	    "the image sizes, one image URL each; default the sample's three"),
	INT("MediaOptions.ImageViewPorts.*.imageWidth", 0, 1, 100000,
	    "a viewport's image width; required in each"),
	INT("MediaOptions.ImageViewPorts.*.imageHeight", 0, 1, 100000,
	    "a viewport's image height; required in each"),
	BOOL("MediaOptions.ImageViewPorts.*.useForDefaultImageTag", 0,
	    "the viewport whose image is the default"),

	/* Ours: each has a default, so the sample's file works unchanged. */
	BOOL("Cartwatch.IncludeGuestCarts", 0,
	    "also remind guests: anonymous carts with a ReceiptEmail"),
	BOOL("Cartwatch.OneCartPerCustomer", 1,
	    "at most one cart per customer per run, the most recent"),
	INT("Cartwatch.RetailServer.PageSize", 1000, 1, 1000,
	    "carts per Carts/Search request"),
	STR("Cartwatch.RetailServer.AuthScheme", "id_token",
	    "the Authorization scheme to Retail Server: id_token or Bearer"),
	INT("Cartwatch.Enrich.BatchSize", 1000, 1, 1000,
	    "carts per customer and product lookup"),
	INT("Cartwatch.Enrich.ProductCacheSize", 10000, 0, 10000000,
	    "products kept for the run"),
	INT("Cartwatch.Enrich.CustomerCacheSize", 10000, 0, 10000000,
	    "customers kept for the run"),
	OBJECT("Cartwatch.ReturnToCartParameters",
	    "query parameters added to the return-to-cart URL"),
	STR("Cartwatch.StateStore.Kind", "sqlite",
	    "the state store: sqlite or cosmos"),
	STR("Cartwatch.StateStore.Path", "state/cartwatch.db",
	    "the SQLite file, relative to the configuration file"),
	INT("Cartwatch.StateStore.LeaseMinutes", 30, 1, 7 * 24 * 60,
	    "how long a claim blocks its key"),
	INT("Cartwatch.StateStore.MaxAttempts", 3, 1, 100,
	    "failed sends before a reminder is given up"),
	BOOL("Cartwatch.StateStore.ResendUncertain", 0,
	    "send a reminder of unknown outcome again, as an ordinary failure"),
	INT("Cartwatch.StateStore.RetentionDays", 90, 1, 3650,
	    "what cart-dedupe prune keeps"),
	STR("Cartwatch.StateStore.PrimaryKeySecretName", NULL,
	    "the vault secret holding the Cosmos DB key, instead of the file"),
	INT("Cartwatch.FrequencyCap.Minutes", 0, 0, MINUTES_10Y,
	    "at most one reminder per person within this many minutes; 0 = off"),
	STR("Cartwatch.QuietHours.Start", NULL,
	    "quiet hours: local \"HH:MM\" from which nothing is sent"),
	STR("Cartwatch.QuietHours.End", NULL,
	    "quiet hours: local \"HH:MM\" until which nothing is sent"),
	STR("Cartwatch.QuietHours.TimeZone", NULL,
	    "quiet hours: their IANA time zone; none = no quiet hours"),
	BOOL("Cartwatch.StopOnPurchase", 1,
	    "skip a reminder when the customer ordered since the cart was modified"),
	INT("Cartwatch.Report.AttributionDays", 7, 1, 365,
	    "cart-dedupe report: an order this long after a reminder recovers it"),
	INT("Cartwatch.MaxCatchUpMinutes", 10080, 0, MINUTES_10Y,
	    "after an outage, how far back the window may start"),
	LIST("Cartwatch.Reminders",
	    "a reminder series; default one step at the Exclude delay"),
	INT("Cartwatch.Reminders.*.AfterMinutes", -1, 0, MINUTES_10Y,
	    "a step's delay after the cart's modification; required in each"),
	INT("Cartwatch.Reminders.*.MaxLateMinutes", 0, 0, MINUTES_10Y,
	    "steps 2 and later: skipped as late this long after due; default the step's delay"),
	STR("Cartwatch.Reminders.*.ExternalEventId", NULL,
	    "a step's Emarsys event"),
	INT("Cartwatch.Http.MaxAttempts", 5, 1, 100,
	    "tries per HTTP request"),
	INT("Cartwatch.Http.ConnectTimeoutMs", 10000, 1, 600000,
	    "connect timeout of one HTTP try"),
	INT("Cartwatch.Http.TimeoutMs", 60000, 1, 3600000,
	    "time limit of one HTTP try"),
	INT("Cartwatch.Http.BackoffMs", 500, 0, 600000,
	    "first HTTP retry delay before jitter, doubled for each further try"),
	INT("Cartwatch.Http.MaxBackoffMs", 30000, 0, 3600000,
	    "cap of the HTTP retry delay"),
	INT("Cartwatch.Http.MaxRetryWaitMs", 120000, 0, 3600000,
	    "the longest wait a service may ask for before a retry"),

	/* cart-notify and its providers. */
	STR("Cartwatch.Notify.Provider", "emarsys",
	    "emarsys, sendgrid, mandrill, smtp, webhook or preview"),
	BOOL("Cartwatch.Notify.CheckOptOuts", 1,
	    "look recipients up among the state store's opt-outs before sending"),
	VARIES_INT("Cartwatch.Notify.RequestsPerMinute", 0, 0, 1000000,
	    "the provider's pace, 0 for none; emarsys's default is 900"),
	INT("Cartwatch.Notify.MaxInFlight", 8, 1, 64,
	    "webhook requests or SMTP connections under way at once"),
	STR("Cartwatch.Notify.Emarsys.Auth", "wsse",
	    "Emarsys authentication: wsse or oauth2"),
	STR("Cartwatch.Notify.Emarsys.TokenUrl", "https://auth.emarsys.net/oauth2/token",
	    "the Emarsys OAuth 2 token endpoint"),
	STR("Cartwatch.Notify.SendGrid.BaseUrl", "https://api.sendgrid.com",
	    "the SendGrid API"),
	STR("Cartwatch.Notify.SendGrid.TemplateId", NULL,
	    "the SendGrid dynamic template; required by sendgrid"),
	STR("Cartwatch.Notify.SendGrid.FromEmail", NULL,
	    "the SendGrid sender address; required by sendgrid"),
	STR("Cartwatch.Notify.SendGrid.FromName", "",
	    "the SendGrid sender name"),
	STR("Cartwatch.Notify.SendGrid.ApiKeySecretName", "SendGridApiKey",
	    "the vault secret holding the SendGrid API key"),
	STR("Cartwatch.Notify.Mandrill.BaseUrl", "https://mandrillapp.com",
	    "the Mandrill API"),
	STR("Cartwatch.Notify.Mandrill.TemplateName", NULL,
	    "the Mandrill template; required by mandrill"),
	STR("Cartwatch.Notify.Mandrill.FromEmail", NULL,
	    "the Mandrill sender address; required by mandrill"),
	STR("Cartwatch.Notify.Mandrill.FromName", "",
	    "the Mandrill sender name"),
	STR("Cartwatch.Notify.Mandrill.ApiKeySecretName", "MandrillApiKey",
	    "the vault secret holding the Mandrill API key"),
	STR("Cartwatch.Notify.Smtp.Url", NULL,
	    "smtp://host:port (STARTTLS) or smtps://host:port; required by smtp"),
	VARIES_STR("Cartwatch.Notify.Smtp.From", "cartwatch@localhost",
	    "the sender mailbox; required by smtp, the preview's default is the one here"),
	STR("Cartwatch.Notify.Smtp.Tls", "auto",
	    "auto, required, try or none"),
	STR("Cartwatch.Notify.Smtp.User", NULL,
	    "the SMTP login"),
	STR("Cartwatch.Notify.Smtp.PasswordSecretName", NULL,
	    "the vault secret holding the SMTP password; required with User"),
	STR("Cartwatch.Notify.Smtp.CaFile", NULL,
	    "a CA bundle for the SMTP server's certificate"),
	INT("Cartwatch.Notify.Smtp.MaxAttempts", 3, 1, 20,
	    "tries per SMTP message, when it provably was not taken"),
	INT("Cartwatch.Notify.Smtp.ConnectTimeoutMs", 10000, 1, 600000,
	    "connect timeout of one SMTP try"),
	INT("Cartwatch.Notify.Smtp.TimeoutMs", 60000, 1, 3600000,
	    "time limit of one SMTP try"),
	INT("Cartwatch.Notify.Smtp.BackoffMs", 1000, 0, 600000,
	    "first SMTP retry delay"),
	INT("Cartwatch.Notify.Smtp.MaxBackoffMs", 30000, 0, 3600000,
	    "cap of the SMTP retry delay"),
	STR("Cartwatch.Notify.Smtp.Template.Subject", NULL,
	    "the subject, a one-line template; default the shipped one"),
	STR("Cartwatch.Notify.Smtp.Template.Html", NULL,
	    "the HTML template file; default the shipped cart.html"),
	STR("Cartwatch.Notify.Smtp.Template.Text", NULL,
	    "the plain-text template file; default the shipped cart.txt"),
	STR("Cartwatch.Notify.Smtp.Template.SubjectFile", NULL,
	    "the subject template file, one line; default the shipped cart.subject"),
	STR("Cartwatch.Notify.Webhook.Url", NULL,
	    "where the webhook POSTs; required by webhook"),
	STR("Cartwatch.Notify.Webhook.SecretName", "WebhookSecret",
	    "the vault secret the webhook signs with"),
	INT("Cartwatch.Notify.Webhook.BatchSize", 1, 1, 1000,
	    "records per webhook POST"),
	STR("Cartwatch.Notify.Preview.Dir", "preview",
	    "where the preview writes, relative to the configuration file"),

	/* What the shipped email templates show of the shop. */
	STR("Cartwatch.Email.StoreName", NULL,
	    "the shop's name, at the top of the email and in its subject"),
	STR("Cartwatch.Email.LogoUrl", NULL,
	    "the shop's logo, an http or https image URL, shown above the name"),

	/* Unsubscribe links (doc/DESIGN.md 8.6). */
	STR("Cartwatch.Unsubscribe.Url", NULL,
	    "the unsubscribe page, https, {token} where the token goes; none: no link"),
	STR("Cartwatch.Unsubscribe.KeySecretName", "UnsubscribeKey",
	    "the vault secret that signs unsubscribe tokens"),
};

const size_t cw_nkeys = sizeof(cw_keys) / sizeof(cw_keys[0]);

/* Does name match pattern, segment by segment? A "*" matches an index or
 * itself, so that every row finds itself. */
static int
matches(const char *pattern, const char *name)
{
	const char *pe, *ne;
	size_t pn, nn;

	for (;;) {
		pe = strchr(pattern, '.');
		ne = strchr(name, '.');
		pn = pe != NULL ? (size_t)(pe - pattern) : strlen(pattern);
		nn = ne != NULL ? (size_t)(ne - name) : strlen(name);
		if (pn == 1 && *pattern == '*') {
			if (!cw_ascii_digits(name, nn) && !(nn == 1 && *name == '*'))
				return 0;
		} else if (pn != nn || cw_ascii_ncasecmp(pattern, name, pn) != 0)
			return 0;
		if (pe == NULL || ne == NULL)
			return pe == NULL && ne == NULL;
		pattern = pe + 1;
		name = ne + 1;
	}
}

const struct cw_key *
cw_key_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < cw_nkeys; i++)
		if (matches(cw_keys[i].name, name) ||
		    (cw_keys[i].alias != NULL && matches(cw_keys[i].alias, name)))
			return &cw_keys[i];
	return NULL;
}

const char *
cw_key_type_name(enum cw_key_type t)
{
	switch (t) {
	case CW_KEY_STR:
		return "a string";
	case CW_KEY_INT:
		return "a whole number";
	case CW_KEY_BOOL:
		return "true or false";
	case CW_KEY_LIST:
		return "a list";
	default:
		return "an object";
	}
}
