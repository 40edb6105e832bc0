/* provider_emarsys.c: Emarsys external events, the sample's payload, batched, WSSE or OAuth2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/notify/api.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"
#include "cw/notify/wsse.h"

#define MAX_CONTACTS 1000
#define MAX_BODY 1000000   /* "1 MB" is taken as 1,000,000 bytes (doc/DESIGN.md 7.11) */

struct emarsys {
	struct cw_api api;        /* the API secret, ApiSecretKeyVaultSecretName */
	const char *api_url;      /* with {0} for the event id */
	const char *event;        /* ExternalEventId, step 1 and the default */
	const json_t *reminders;  /* Cartwatch.Reminders: per-step events */
	const char *key_id;       /* EmarsysContactKeyId */
	const char *user_name;    /* the API user's secret name */
	int oauth;
	const char *token_url;
	char *user;
	char *token;
	time_t token_until;
};

static int
em_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	struct emarsys *m = (struct emarsys *)p;

	if (cw_vault_get(v, m->user_name, &m->user, e) != 0)
		return -1;
	return cw_api_open(p, h, v, e);
}

static void
em_close(struct cw_provider *p)
{
	struct emarsys *m = (struct emarsys *)p;

	cw_secret_free(m->user);
	cw_secret_free(m->token);
	cw_api_close(p);
}

/* The event of a step: Cartwatch.Reminders[step-1].ExternalEventId, else the
 * sample's ExternalEventId. */
static const char *
event_of(const struct emarsys *m, const json_t *rec)
{
	const json_t *step = cw_json_iget(rec, "step");
	const json_t *r = json_array_get(m->reminders, json_is_integer(step) ?
	    (size_t)json_integer_value(step) - 1 : 0);
	const char *ev = cw_json_istr(r, "ExternalEventId");

	return ev != NULL && *ev != '\0' ? ev : m->event;
}

/* The token endpoint refuses as OAuth2 does; the API in replyText. */
static const struct cw_http_errfmt oauth_errors = {{"error"}, {"error_description"}};
static const struct cw_http_errfmt emarsys_errors = {{NULL}, {"replyText"}};

/* The OAuth2 access token (client credentials, Basic auth), cached. */
static const char *
token(struct emarsys *m, cw_err *e)
{
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	const char *headers[4], *tok;
	char *pair, *b64, *auth, why[300];
	const char *form = "grant_type=client_credentials";
	json_t *j, *exp;

	if (m->token != NULL && time(NULL) < m->token_until)
		return m->token;
	pair = cw_asprintf("%s:%s", m->user, m->api.secret);
	b64 = cw_base64(pair, strlen(pair));
	auth = cw_asprintf("Authorization: Basic %s", b64);
	cw_secret_free(pair);
	cw_secret_free(b64);
	headers[0] = auth;
	headers[1] = "Content-Type: application/x-www-form-urlencoded";
	headers[2] = "Accept: application/json";
	headers[3] = NULL;
	req.service = "Emarsys OAuth2";
	req.method = "POST";
	req.url = m->token_url;
	req.headers = headers;
	req.body = form;
	req.body_len = strlen(form);
	if (cw_http_do(m->api.h, &req, &resp, e) != 0) {
		cw_http_resp_free(&resp);
		cw_secret_free(auth);
		return NULL;
	}
	cw_secret_free(auth);
	j = resp.status == 200 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	if ((tok = cw_json_istr(j, "access_token")) == NULL) {
		char *shown = cw_url_redact(m->token_url);

		cw_seterr(e, "Emarsys OAuth2 %s: no token: %s", shown,
		    cw_http_describe(&resp, &oauth_errors, why, sizeof(why)));
		free(shown);
		json_decref(j);
		cw_http_resp_free(&resp);
		return NULL;
	}
	cw_secret_free(m->token);
	m->token = cw_strdup(tok);
	exp = cw_json_iget(j, "expires_in");
	m->token_until = time(NULL) + (json_is_integer(exp) ? json_integer_value(exp) : 300) - 60;
	json_decref(j);
	cw_http_resp_free(&resp);
	return m->token;
}

/* Marks recs[idx[0..k)] with the same failure, or an unknown outcome. */
static void
fail_all(json_t *const *recs, json_t **res, const size_t *idx, size_t k, const char *why,
    int uncertain)
{
	for (size_t i = 0; i < k; i++) {
		json_decref(res[idx[i]]);
		res[idx[i]] = uncertain ? cw_result_uncertain(recs[idx[i]], "emarsys", why) :
		    cw_result(recs[idx[i]], "failed", "emarsys", NULL, why);
	}
}

/* The trigger URL of event: {0} is where the sample's string.Format puts
 * the event id. Caller frees. */
static char *
trigger_url(const struct emarsys *m, const char *event)
{
	const char *at = strstr(m->api_url, "{0}");
	char *ev, *url;

	if (at == NULL)
		return cw_strdup(m->api_url);
	ev = cw_urlencode(event);
	url = cw_asprintf("%.*s%s%s", (int)(at - m->api_url), m->api_url, ev, at + 3);
	free(ev);
	return url;
}

/* The header that signs a request, for the caller to free with
 * cw_secret_free(); NULL with e when no OAuth2 token can be had. */
static char *
auth_header(struct emarsys *m, cw_err *e)
{
	const char *tok;
	char *wsse, *auth;

	if (m->oauth)
		return (tok = token(m, e)) != NULL ?
		    cw_asprintf("Authorization: Bearer %s", tok) : NULL;
	/* A fresh nonce and Created for every request: Emarsys refuses a
	 * replay and anything older than five minutes. */
	wsse = cw_wsse_header(m->user, m->api.secret);
	auth = cw_asprintf("X-WSSE: %s", wsse ? wsse : "");
	cw_secret_free(wsse);
	return auth;
}

/* Each contact's outcome from a 200 whose replyCode is 0: sent, unless
 * data.errors names its address. */
static void
outcomes(const json_t *reply, json_t *const *recs, json_t **res, const size_t *idx,
    size_t k)
{
	const json_t *errors = cw_json_iget(cw_json_iget(reply, "data"), "errors");
	char why[400];

	for (size_t i = 0; i < k; i++) {
		const json_t *ce = cw_json_iget(errors, cw_json_istr(recs[idx[i]], "email"));
		const char *code;
		json_t *text;

		json_decref(res[idx[i]]);
		if (!json_is_object(ce) || json_object_size(ce) == 0) {
			res[idx[i]] = cw_result(recs[idx[i]], "sent", "emarsys", NULL, NULL);
			continue;
		}
		json_object_foreach((json_t *)ce, code, text)
			break;
		snprintf(why, sizeof(why), "Emarsys %s: %s", code,
		    json_is_string(text) ? json_string_value(text) : "error");
		res[idx[i]] = cw_result(recs[idx[i]], "failed", "emarsys", NULL, why);
	}
}

/* One trigger request for the contacts recs[idx[0..k)], all of one event.
 * 0, or 1 with e when the whole request failed. */
static int
trigger(struct emarsys *m, const char *event, json_t *const *recs, json_t **res,
    const size_t *idx, size_t k, const char *body, cw_err *fe)
{
	struct cw_http_resp resp = {0};
	const char *headers[4];
	char *url, *auth, desc[300];
	json_t *j = NULL;
	int rc = 1;
	cw_err e;

	if ((auth = auth_header(m, &e)) == NULL) {
		fail_all(recs, res, idx, k, e.msg, 0);
		return cw_seterr(fe, "%s", e.msg), 1;
	}
	url = trigger_url(m, event);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json; charset=utf-8";
	headers[2] = "Accept: application/json";
	headers[3] = NULL;
	/* trigger_id makes a repeat a no-op at Emarsys, and Emarsys's 5xx are
	 * retried on that ground; but a trigger whose answer was lost is not
	 * repeated blindly: each repeat is one more delivery to account for. */
	if (cw_api_post(&m->api, "Emarsys", url, headers, body, CW_RETRY_UNSENT_5XX, &resp,
	    &e) != 0) {
		fail_all(recs, res, idx, k, e.msg, resp.uncertain);
		cw_seterr(fe, "%s", e.msg);
		goto out;
	}
	j = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	if (resp.status == 200 && !json_is_object(j)) {
		/* Taken, perhaps; the per-contact outcomes are in the lost body. */
		cw_seterr(&e, "Emarsys: outcome unknown: HTTP 200 with a reply that is "
		    "not JSON");
		fail_all(recs, res, idx, k, e.msg, 1);
	} else if (resp.status != 200 || json_integer_value(cw_json_iget(j, "replyCode")) != 0) {
		cw_seterr(&e, "Emarsys: %s",
		    cw_http_describe(&resp, &emarsys_errors, desc, sizeof(desc)));
		fail_all(recs, res, idx, k, e.msg, 0);
	} else {
		outcomes(j, recs, res, idx, k);
		rc = 0;
	}
	if (rc != 0)
		cw_seterr(fe, "%s", e.msg);
out:
	json_decref(j);
	cw_http_resp_free(&resp);
	cw_secret_free(auth);
	free(url);
	return rc;
}

static int
em_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct emarsys *m = (struct emarsys *)p;
	size_t *idx = cw_calloc(n, sizeof(*idx));
	char *done = cw_calloc(n, 1);
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		res[i] = cw_result(recs[i], "failed", "emarsys", NULL, "not sent");
	/* One request per event, each within 1000 contacts and 1,000,000 bytes. */
	for (size_t first = 0; first < n; first++) {
		const char *event;
		struct cw_buf body = CW_BUF_INIT;
		size_t k = 0;

		if (done[first])
			continue;
		event = event_of(m, recs[first]);
		for (size_t i = first; i < n; i++) {
			json_t *c;
			char *cs;

			if (done[i] || strcmp(event_of(m, recs[i]), event) != 0)
				continue;
			c = json_pack("{s:s,s:s,s:o}", "external_id",
			    cw_json_istr(recs[i], "email"), "trigger_id",
			    cw_json_istr(recs[i], "notificationId"), "data",
			    cw_notification_data(recs[i]));
			cs = json_dumps(c, JSON_COMPACT | JSON_REAL_PRECISION(15));
			json_decref(c);
			if (k > 0 && (k == MAX_CONTACTS ||
			    body.len + 1 + strlen(cs) + 2 > MAX_BODY)) {
				free(cs);
				break;
			}
			if (k == 0)
				cw_buf_addf(&body, "{\"key_id\":\"%s\",\"contacts\":[", m->key_id);
			else
				cw_buf_adds(&body, ",");
			cw_buf_adds(&body, cs);
			free(cs);
			idx[k++] = i;
			done[i] = 1;
		}
		cw_buf_adds(&body, "]}");
		if (body.len > MAX_BODY)
			fail_all(recs, res, idx, k, "the contact alone is larger than "
			    "Emarsys's 1 MB request limit", 0);
		else if (trigger(m, event, recs, res, idx, k, body.data, e) != 0)
			rc = 1;
		cw_buf_free(&body);
		first--;  /* the next pass starts where this one stopped */
	}
	free(idx);
	free(done);
	return rc;
}

/* GET {api base}settings with X-WSSE, the api base being ApiUrl up to
 * "/api/v2/" (doc/DESIGN.md 8.9): the account's name when Emarsys takes the
 * user and secret. */
static void
settings_check(struct emarsys *m, struct cw_check *k)
{
	const char *at = strstr(m->api_url, "/api/v2/"), *headers[3], *name;
	struct cw_http_resp resp = {0};
	char *url, *auth, desc[300];
	json_t *j = NULL;
	cw_err e;

	if (at == NULL) {
		cw_check_skip(k, "emarsys credentials: EmarsysClientOptions.ApiUrl has no "
		    "/api/v2/ to find the account's settings under");
		return;
	}
	url = cw_asprintf("%.*s/api/v2/settings", (int)(at - m->api_url), m->api_url);
	auth = auth_header(m, &e);
	headers[0] = auth;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	if (cw_api_get(&m->api, "Emarsys", url, headers, &resp, &e) == 0 &&
	    resp.status == 200)
		j = cw_json_parse(resp.body, resp.body_len);
	name = cw_json_istr(cw_json_iget(j, "data"), "name");
	if (resp.status == 0)
		cw_check_bad(k, "emarsys credentials: %s", e.msg);
	else if (resp.status != 200 || json_integer_value(cw_json_iget(j, "replyCode")) != 0)
		cw_check_bad(k, "emarsys credentials: Emarsys GET api/v2/settings: %s",
		    cw_http_describe(&resp, &emarsys_errors, desc, sizeof(desc)));
	else
		cw_check_ok(k, "emarsys credentials (account \"%s\")", name ? name : "");
	json_decref(j);
	cw_http_resp_free(&resp);
	cw_secret_free(auth);
	free(url);
}

static void
em_check(struct cw_provider *p, struct cw_check *k)
{
	struct emarsys *m = (struct emarsys *)p;
	cw_err e;

	if (!m->oauth) {
		settings_check(m, k);
		return;
	}
	if (token(m, &e) == NULL)
		cw_check_bad(k, "emarsys credentials: %s", e.msg);
	else
		cw_check_ok(k, "emarsys credentials (an OAuth2 token)");
}

struct cw_provider *
cw_emarsys_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	struct emarsys *m = cw_api_new(sizeof(*m), "emarsys", MAX_CONTACTS, em_send);
	const char *auth;
	cw_err e;

	(void)o;  /* nothing to choose over the configuration */
	m->api.p.open = em_open;    /* the API user too, and a token */
	m->api.p.close = em_close;
	m->api.p.check = em_check;
	m->api_url = cw_config_str(c, "EmarsysClientOptions.ApiUrl");
	m->event = cw_config_need_str(c, "EmarsysClientOptions.ExternalEventId");
	m->reminders = cw_config_get(c, "Cartwatch.Reminders");
	m->key_id = cw_config_str(c, "EmarsysClientOptions.EmarsysContactKeyId");
	m->user_name = cw_config_need_str(c,
	    "EmarsysClientOptions.ApiUserNameKeyVaultSecretName");
	m->api.secret_name = cw_config_need_str(c,
	    "EmarsysClientOptions.ApiSecretKeyVaultSecretName");
	auth = cw_config_str(c, "Cartwatch.Notify.Emarsys.Auth");
	m->oauth = strcmp(auth, "oauth2") == 0;
	if (!m->oauth && strcmp(auth, "wsse") != 0)
		cw_config_bad(c, "Cartwatch.Notify.Emarsys.Auth",
		    "expected \"wsse\" or \"oauth2\", not \"%s\"", auth);
	m->token_url = cw_config_str(c, "Cartwatch.Notify.Emarsys.TokenUrl");
	/* Under the API user's limit of about 1000 a minute. */
	m->api.pace.per_minute = cw_config_int_or(c, "Cartwatch.Notify.RequestsPerMinute", 900);
	if (cw_http_url_allowed(m->api_url, &e) != 0)
		cw_config_bad(c, "EmarsysClientOptions.ApiUrl", "%s", e.msg);
	if (m->oauth && cw_http_url_allowed(m->token_url, &e) != 0)
		cw_config_bad(c, "Cartwatch.Notify.Emarsys.TokenUrl", "%s", e.msg);
	return &m->api.p;
}
