/* provider_mandrill.c: Mailchimp Transactional (Mandrill) send-template, one recipient each with merge_vars. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/notify/provider.h"

#define MAX_RECIPIENTS 1000

struct mandrill {
	struct cw_provider p;
	const char *base;
	const char *template_name;
	const char *from;
	const char *from_name;
	const char *key_name;
	struct cw_pace pace;
	struct cw_http *h;
	char *key;
};

static int
md_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	struct mandrill *m = (struct mandrill *)p;

	m->h = h;
	return cw_vault_get(v, m->key_name, &m->key, e);
}

static void
md_close(struct cw_provider *p)
{
	struct mandrill *m = (struct mandrill *)p;

	cw_secret_free(m->key);
	free(m);
}

/* merge_vars for one recipient: every field of the shared data object. */
static json_t *
vars(const json_t *rec)
{
	json_t *data = cw_notification_data(rec), *out = json_array(), *v;
	const char *k;

	json_object_foreach(data, k, v)
		json_array_append_new(out, json_pack("{s:s,s:O}", "name", k, "content", v));
	json_decref(data);
	return out;
}

static int
md_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct mandrill *m = (struct mandrill *)p;
	struct cw_http_req req = {0};
	struct cw_http_resp resp = {0};
	json_t *to = json_array(), *mv = json_array(), *body, *reply = NULL;
	const char *headers[3];
	char *url, *json, why[600], desc[300];
	cw_err he;
	size_t i;
	int uncertain = 0, unanswered = 0;

	for (i = 0; i < n; i++) {
		const char *email = cw_json_istr(recs[i], "email");

		json_array_append_new(to, json_pack("{s:s,s:s}", "email", email, "type", "to"));
		json_array_append_new(mv, json_pack("{s:s,s:o}", "rcpt", email, "vars",
		    vars(recs[i])));
	}
	/* Each recipient sees only their own message and merge_vars. */
	body = json_pack("{s:s,s:s,s:[],s:{s:s,s:s?,s:o,s:o,s:s,s:b}}", "key", m->key,
	    "template_name", m->template_name, "template_content", "message",
	    "from_email", m->from, "from_name", *m->from_name ? m->from_name : NULL,
	    "to", to, "merge_vars", mv, "merge_language", "handlebars",
	    "preserve_recipients", 0);
	json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	url = cw_asprintf("%s/api/1.0/messages/send-template", m->base);
	headers[0] = "Content-Type: application/json";
	headers[1] = "Accept: application/json";
	headers[2] = NULL;
	req.service = "Mandrill";
	req.method = "POST";
	req.url = url;
	req.headers = headers;
	req.body = json;
	req.body_len = strlen(json);
	req.retry = CW_RETRY_UNSENT;
	cw_pace_wait(&m->pace);
	why[0] = '\0';
	if (cw_http_do(m->h, &req, &resp, &he) != 0) {
		snprintf(why, sizeof(why), "%s", he.msg);
		uncertain = resp.uncertain;
	} else {
		/* (json_is_array is a macro: its argument must not be a call) */
		reply = resp.status == 200 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
		if (!json_is_array(reply))
			snprintf(why, sizeof(why), "Mandrill: %s", cw_http_describe(&resp, desc,
			    sizeof(desc)));
		/* A 200 says it was taken; the outcomes it should list are lost. */
		if (resp.status == 200 && !json_is_array(reply)) {
			uncertain = 1;
			snprintf(why, sizeof(why), "Mandrill: outcome unknown: HTTP 200 "
			    "with a reply that is not a list of outcomes");
		}
	}
	for (i = 0; i < n; i++) {
		/* One answer per recipient, in the order sent. */
		const json_t *a = json_array_get(reply, i);
		const char *st = cw_json_istr(a, "status"), *reason = cw_json_istr(a, "reject_reason");

		if (why[0] != '\0')
			res[i] = uncertain ? cw_result_uncertain(recs[i], "mandrill", why) :
			    cw_result(recs[i], "failed", "mandrill", NULL, why);
		else if (a == NULL) {
			res[i] = cw_result_uncertain(recs[i], "mandrill",
			    "Mandrill: outcome unknown: HTTP 200 without an answer for "
			    "this recipient");
			unanswered++;
		}
		else if (st != NULL && (strcmp(st, "sent") == 0 || strcmp(st, "queued") == 0 ||
		    strcmp(st, "scheduled") == 0))
			res[i] = cw_result(recs[i], "sent", "mandrill", cw_json_istr(a, "_id"), NULL);
		else {
			snprintf(desc, sizeof(desc), "Mandrill: %s%s%s", st ? st : "no answer",
			    reason ? ": " : "", reason ? reason : "");
			res[i] = cw_result(recs[i], "failed", "mandrill", cw_json_istr(a, "_id"),
			    desc);
		}
	}
	json_decref(reply);
	cw_http_resp_free(&resp);
	explicit_bzero(json, strlen(json));  /* it holds the API key */
	free(json);
	free(url);
	if (why[0] == '\0' && unanswered > 0)
		snprintf(why, sizeof(why), "Mandrill: outcome unknown for %d of %zu recipients "
		    "(HTTP 200 without their answers)", unanswered, n);
	return why[0] == '\0' ? 0 : (cw_seterr(e, "%s", why), 1);
}

struct cw_provider *
cw_mandrill_config(struct cw_config *c)
{
	struct mandrill *m = cw_calloc(1, sizeof(*m));
	cw_err e;

	m->p.name = "mandrill";
	m->p.batch = MAX_RECIPIENTS;
	m->p.open = md_open;
	m->p.send = md_send;
	m->p.close = md_close;
	m->base = cw_config_str(c, "Cartwatch.Notify.Mandrill.BaseUrl");
	m->template_name = cw_config_need_str(c, "Cartwatch.Notify.Mandrill.TemplateName");
	m->from = cw_config_need_str(c, "Cartwatch.Notify.Mandrill.FromEmail");
	m->from_name = cw_config_str(c, "Cartwatch.Notify.Mandrill.FromName");
	m->key_name = cw_config_str(c, "Cartwatch.Notify.Mandrill.ApiKeySecretName");
	m->pace.per_minute = cw_config_int(c, "Cartwatch.Notify.RequestsPerMinute");
	if (cw_http_url_allowed(m->base, &e) != 0)
		cw_config_bad(c, "Cartwatch.Notify.Mandrill.BaseUrl", "%s", e.msg);
	return &m->p;
}
