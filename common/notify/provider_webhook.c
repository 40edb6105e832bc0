/* provider_webhook.c: notifications POSTed to a URL of the user's, signed with an HMAC header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/notify/provider.h"

struct webhook {
	struct cw_provider p;
	const char *url;
	const char *secret_name;
	struct cw_http *h;
	char *secret;
};

static int
wh_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	struct webhook *w = (struct webhook *)p;

	w->h = h;
	return cw_vault_get(v, w->secret_name, &w->secret, e);
}

static void
wh_close(struct cw_provider *p)
{
	struct webhook *w = (struct webhook *)p;

	cw_secret_free(w->secret);
	free(w);
}

/*
 * The Idempotency-Key header: one record's notificationId; for a batch (or an
 * id a header cannot carry), "batch-" and a digest of the ids (HMAC-SHA256,
 * empty key, over the ids joined by newlines): the same batch sent again
 * carries the same key, and a batch that shares its first record with
 * another does not.
 */
static char *
idempotency_key(json_t *const *recs, size_t n)
{
	struct cw_buf ids = CW_BUF_INIT;
	const char *id = cw_json_istr(recs[0], "notificationId"), *p;
	char hex[65], *k;

	for (p = id; n == 1 && *p > 0x20 && *p < 0x7f; p++)
		;
	if (n == 1 && *p == '\0' && p - id <= 200)
		return cw_asprintf("Idempotency-Key: %s", id);
	for (size_t i = 0; i < n; i++)
		cw_buf_addf(&ids, "%s%s", i > 0 ? "\n" : "", cw_json_istr(recs[i], "notificationId"));
	cw_hmac_sha256_hex("", 0, ids.data, ids.len, hex);
	k = cw_asprintf("Idempotency-Key: batch-%s", hex);
	cw_buf_free(&ids);
	return k;
}

/* One record: its JSON as the body. More: a JSON array of them. */
static int
wh_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct webhook *w = (struct webhook *)p;
	struct cw_http_req req = {0};
	struct cw_http_resp resp = {0};
	json_t *body = n == 1 ? json_incref(recs[0]) : json_array();
	const char *headers[5];
	char *json, *sig, *key, mac[65], why[600], desc[300];
	cw_err he;
	int ok = 0, refused = 0;

	for (size_t i = 0; n > 1 && i < n; i++)
		json_array_append(body, recs[i]);
	json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	/* The receiver checks the exact bytes it got against this. */
	cw_hmac_sha256_hex(w->secret, strlen(w->secret), json, strlen(json), mac);
	sig = cw_asprintf("X-Cartwatch-Signature: sha256=%s", mac);
	key = idempotency_key(recs, n);
	headers[0] = sig;
	headers[1] = "Content-Type: application/json";
	headers[2] = "User-Agent: cartwatch";
	headers[3] = key;
	headers[4] = NULL;
	req.service = "webhook";
	req.method = "POST";
	req.url = w->url;
	req.headers = headers;
	req.body = json;
	req.body_len = strlen(json);
	req.retry = CW_RETRY_UNSENT;
	if (cw_http_do(w->h, &req, &resp, &he) != 0)
		snprintf(why, sizeof(why), "%s", he.msg);
	else if (resp.status < 200 || resp.status > 299) {
		snprintf(why, sizeof(why), "webhook: %s", cw_http_describe(&resp, desc,
		    sizeof(desc)));
		/* 422: the receiver processed none of it and refuses a record's
		 * content; split until that record is alone. A 400 (cannot read
		 * the request) would be the same for every half: not split. */
		refused = resp.status == 422;
	} else
		ok = 1;
	for (size_t i = 0; i < n; i++)
		res[i] = ok ? cw_result(recs[i], "sent", "webhook", NULL, NULL) : refused ? NULL :
		    resp.uncertain ? cw_result_uncertain(recs[i], "webhook", why) :
		    cw_result(recs[i], "failed", "webhook", NULL, why);
	cw_http_resp_free(&resp);
	free(key);
	free(sig);
	free(json);
	return ok ? 0 : (cw_seterr(e, "%s", why), refused ? 2 : 1);
}

struct cw_provider *
cw_webhook_config(struct cw_config *c)
{
	struct webhook *w = cw_calloc(1, sizeof(*w));
	cw_err e;

	w->p.name = "webhook";
	w->p.open = wh_open;
	w->p.send = wh_send;
	w->p.close = wh_close;
	w->url = cw_config_need_str(c, "Cartwatch.Notify.Webhook.Url");
	w->secret_name = cw_config_str(c, "Cartwatch.Notify.Webhook.SecretName");
	w->p.batch = (size_t)cw_config_int(c, "Cartwatch.Notify.Webhook.BatchSize");
	if (*w->url != '\0' && cw_http_url_allowed(w->url, &e) != 0)
		cw_config_bad(c, "Cartwatch.Notify.Webhook.Url", "%s", e.msg);
	return &w->p;
}
