/* provider_sendgrid.c: SendGrid dynamic templates, personalizations batched up to 1000. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/check.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/notify/api.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"

#define MAX_PERSONALIZATIONS 1000

/* A server's text, cut short and without control characters, for a result. */
static void
clean(char *dst, size_t n, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < n; s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			dst[i++] = *s;
	dst[i] = '\0';
}

/*
 * 1 if a 400 refuses the request for the personalizations' content alone
 * (doc/DESIGN.md 8.2): every error names no field or one under
 * "personalizations". Each personalizations.N named gets its failed result
 * in res[N]; the driver splits the rest. A 400 naming from, template_id or
 * anything else is the configuration's: 0, and the batch fails as a whole.
 */
static int
refused_for_content(const struct cw_http_resp *resp, json_t *const *recs, size_t n,
    json_t **res)
{
	json_t *j = cw_json_parse(resp->body, resp->body_len), *errs, *it;
	char msg[200], field[80], why[320];
	const char *f;
	size_t k;
	int ok = 0;

	for (k = 0; k < n; k++)
		res[k] = NULL;
	errs = cw_json_iget(j, "errors");
	if (!json_is_array(errs) || json_array_size(errs) == 0)
		goto out;
	json_array_foreach(errs, k, it)
		if ((f = cw_json_istr(it, "field")) != NULL &&
		    strncmp(f, "personalizations", 16) != 0)
			goto out;
	ok = 1;
	json_array_foreach(errs, k, it) {
		char *end;
		unsigned long i;

		if ((f = cw_json_istr(it, "field")) == NULL ||
		    strncmp(f, "personalizations.", 17) != 0)
			continue;
		i = strtoul(f + 17, &end, 10);
		if (end == f + 17 || (*end != '.' && *end != '\0') || i >= n || res[i] != NULL)
			continue;
		clean(msg, sizeof(msg), cw_json_istr(it, "message"));
		clean(field, sizeof(field), *end == '.' ? end + 1 : "");
		snprintf(why, sizeof(why), "SendGrid: HTTP 400: %s%s%s%s", msg,
		    *field ? " (" : "", field, *field ? ")" : "");
		res[i] = cw_result(recs[i], "failed", "sendgrid", NULL, why);
	}
out:
	json_decref(j);
	return ok;
}

/* {"errors":[{"message":"...","field":"..."}]} */
static const struct cw_http_errfmt sendgrid_errors = {{NULL}, {"errors.0.message"}};

/* The request for recs[0..n), one personalization each. Caller frees. */
static char *
sg_body(const struct cw_template_api *s, json_t *const *recs, size_t n)
{
	json_t *body, *pers = json_array();
	char *json;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(pers, json_pack("{s:[{s:s}],s:o,s:{s:s,s:s}}",
		    "to", "email", cw_json_istr(recs[i], "email"),
		    "dynamic_template_data", cw_notification_data(recs[i]),
		    "custom_args", "notificationId", cw_json_istr(recs[i], "notificationId"),
		    "cartId", cw_json_istr(recs[i], "cartId")));
	body = json_pack("{s:{s:s,s:s?},s:s,s:o}", "from", "email", s->from,
	    "name", *s->from_name ? s->from_name : NULL, "template_id", s->template,
	    "personalizations", pers);
	json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	return json;
}

static int
sg_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct cw_template_api *s = (struct cw_template_api *)p;
	struct cw_http_resp resp = {0};
	const char *headers[4], *msgid = NULL;
	char *json = sg_body(s, recs, n), *auth, *url, why[600], desc[300];
	int ok = 0, refused = 0;
	cw_err he;
	size_t i;

	url = cw_asprintf("%s/v3/mail/send", s->base);
	auth = cw_asprintf("Authorization: Bearer %s", s->api.secret);
	headers[0] = auth;
	headers[1] = "Content-Type: application/json";
	headers[2] = "Accept: application/json";
	headers[3] = NULL;
	/* SendGrid: a 5xx was not processed */
	if (cw_api_post(&s->api, "SendGrid", url, headers, json, CW_RETRY_UNSENT_5XX, &resp,
	    &he) != 0)
		snprintf(why, sizeof(why), "%s", he.msg);
	else if (resp.status != 202 && resp.status != 200) {
		snprintf(why, sizeof(why), "SendGrid: %s",
		    cw_http_describe(&resp, &sendgrid_errors, desc, sizeof(desc)));
		refused = resp.status == 400 && n > 0 &&
		    refused_for_content(&resp, recs, n, res);
	} else {
		ok = 1;  /* 202: accepted for delivery */
		msgid = cw_http_header(&resp, "X-Message-Id");
	}
	for (i = 0; i < n && !refused; i++)
		res[i] = ok ? cw_result(recs[i], "sent", "sendgrid", msgid, NULL) :
		    cw_result_failed(recs[i], "sendgrid", why, resp.uncertain);
	cw_http_resp_free(&resp);
	cw_secret_free(auth);
	free(url);
	free(json);
	return ok ? 0 : (cw_seterr(e, "%s", why), refused ? 2 : 1);
}

/* 1 if the list of scopes holds name. */
static int
has_scope(const json_t *scopes, const char *name)
{
	const json_t *it;
	size_t i;

	json_array_foreach(scopes, i, it)
		if (json_is_string(it) && strcmp(json_string_value(it), name) == 0)
			return 1;
	return 0;
}

/* GET /v3/scopes: any key may read its own scopes, and a key that may send
 * holds mail.send (doc/DESIGN.md 8.9). */
static void
sg_check(struct cw_provider *p, struct cw_check *k)
{
	struct cw_template_api *s = (struct cw_template_api *)p;
	struct cw_http_resp resp = {0};
	const char *headers[3];
	char *url = cw_asprintf("%s/v3/scopes", s->base), desc[300];
	char *auth = cw_asprintf("Authorization: Bearer %s", s->api.secret);
	json_t *j = NULL, *scopes = NULL;
	cw_err e;

	headers[0] = auth;
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	if (cw_api_get(&s->api, "SendGrid", url, headers, &resp, &e) == 0 &&
	    resp.status == 200) {
		j = cw_json_parse(resp.body, resp.body_len);
		scopes = cw_json_iget(j, "scopes");
	}
	if (resp.status == 0)
		cw_check_bad(k, "sendgrid credentials: %s", e.msg);
	else if (resp.status != 200)
		cw_check_bad(k, "sendgrid credentials: SendGrid GET /v3/scopes: %s",
		    cw_http_describe(&resp, &sendgrid_errors, desc, sizeof(desc)));
	else if (!json_is_array(scopes))
		cw_check_bad(k, "sendgrid credentials: SendGrid GET /v3/scopes: HTTP 200 "
		    "without a list of scopes");
	else if (!has_scope(scopes, "mail.send"))
		cw_check_bad(k, "sendgrid credentials: the API key (%s) lacks the mail.send "
		    "scope: give it Mail Send access", s->api.secret_name);
	else
		cw_check_ok(k, "sendgrid credentials (scopes: mail.send)");
	json_decref(j);
	cw_http_resp_free(&resp);
	cw_secret_free(auth);
	free(url);
}

struct cw_provider *
cw_sendgrid_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	static const struct cw_template_keys keys = {
		"Cartwatch.Notify.SendGrid.BaseUrl", "Cartwatch.Notify.SendGrid.TemplateId",
		"Cartwatch.Notify.SendGrid.FromEmail", "Cartwatch.Notify.SendGrid.FromName",
		"Cartwatch.Notify.SendGrid.ApiKeySecretName",
	};
	struct cw_provider *p;

	(void)o;  /* nothing to choose over the configuration */
	p = cw_template_api_config(c, &keys, "sendgrid", MAX_PERSONALIZATIONS, sg_send);
	p->check = sg_check;
	return p;
}
