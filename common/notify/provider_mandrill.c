/* provider_mandrill.c: Mailchimp Transactional (Mandrill) send-template, one recipient each with merge_vars. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/check.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/notify/api.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"

#define MAX_RECIPIENTS 1000

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

/* {"status":"error","code":-1,"name":"GeneralError","message":"..."} */
static const struct cw_http_errfmt mandrill_errors = {{NULL}, {"message"}};

/* The send-template request for recs[0..n). Caller frees it, wiped: it
 * holds the API key. */
static char *
md_body(const struct cw_template_api *m, json_t *const *recs, size_t n)
{
	json_t *to = json_array(), *mv = json_array(), *body;
	char *json;

	for (size_t i = 0; i < n; i++) {
		const char *email = cw_json_istr(recs[i], "email");

		json_array_append_new(to, json_pack("{s:s,s:s}", "email", email, "type", "to"));
		json_array_append_new(mv, json_pack("{s:s,s:o}", "rcpt", email, "vars",
		    vars(recs[i])));
	}
	/* Each recipient sees only their own message and merge_vars. */
	body = json_pack("{s:s,s:s,s:[],s:{s:s,s:s?,s:o,s:o,s:s,s:b}}", "key", m->api.secret,
	    "template_name", m->template, "template_content", "message",
	    "from_email", m->from, "from_name", *m->from_name ? m->from_name : NULL,
	    "to", to, "merge_vars", mv, "merge_language", "handlebars",
	    "preserve_recipients", 0);
	json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	return json;
}

/* The result for rec from a, its answer in a 200's list (NULL: none). */
static json_t *
md_outcome(const json_t *rec, const json_t *a)
{
	const char *st = cw_json_istr(a, "status"), *reason = cw_json_istr(a, "reject_reason");
	char why[300];

	if (a == NULL)
		return cw_result_uncertain(rec, "mandrill", "Mandrill: outcome unknown: HTTP 200 "
		    "without an answer for this recipient");
	if (st != NULL && (strcmp(st, "sent") == 0 || strcmp(st, "queued") == 0 ||
	    strcmp(st, "scheduled") == 0))
		return cw_result(rec, "sent", "mandrill", cw_json_istr(a, "_id"), NULL);
	snprintf(why, sizeof(why), "Mandrill: %s%s%s", st ? st : "no answer",
	    reason ? ": " : "", reason ? reason : "");
	return cw_result(rec, "failed", "mandrill", cw_json_istr(a, "_id"), why);
}

static int
md_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL
	};
	struct cw_template_api *m = (struct cw_template_api *)p;
	struct cw_http_resp resp = {0};
	char *url, *json = md_body(m, recs, n), why[600], desc[300];
	json_t *reply = NULL;
	int uncertain = 0, unanswered = 0;
	cw_err he;

	url = cw_asprintf("%s/api/1.0/messages/send-template", m->base);
	why[0] = '\0';
	if (cw_api_post(&m->api, "Mandrill", url, headers, json, CW_RETRY_UNSENT, &resp,
	    &he) != 0) {
		snprintf(why, sizeof(why), "%s", he.msg);
		uncertain = resp.uncertain;
	} else {
		/* (json_is_array is a macro: its argument must not be a call) */
		reply = resp.status == 200 ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
		if (!json_is_array(reply))
			snprintf(why, sizeof(why), "Mandrill: %s",
			    cw_http_describe(&resp, &mandrill_errors, desc, sizeof(desc)));
		/* A 200 says it was taken; the outcomes it should list are lost. */
		if (resp.status == 200 && !json_is_array(reply)) {
			uncertain = 1;
			snprintf(why, sizeof(why), "Mandrill: outcome unknown: HTTP 200 "
			    "with a reply that is not a list of outcomes");
		}
	}
	/* One answer per recipient, in the order sent. */
	for (size_t i = 0; i < n; i++) {
		if (why[0] != '\0')
			res[i] = cw_result_failed(recs[i], "mandrill", why, uncertain);
		else
			res[i] = md_outcome(recs[i], json_array_get(reply, i));
		unanswered += why[0] == '\0' && json_array_get(reply, i) == NULL;
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

/* users/ping2 answers {"PING":"PONG!"} to a good key (doc/DESIGN.md 8.9). */
static void
md_check(struct cw_provider *p, struct cw_check *k)
{
	static const char *const headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL
	};
	struct cw_template_api *m = (struct cw_template_api *)p;
	struct cw_http_resp resp = {0};
	char *url = cw_asprintf("%s/api/1.0/users/ping2", m->base), desc[300];
	json_t *body = json_pack("{s:s}", "key", m->api.secret), *j = NULL;
	char *json = json_dumps(body, JSON_COMPACT);
	const char *pong = NULL;
	cw_err e;

	json_decref(body);
	/* A ping is a read: retried as any read is. */
	if (cw_api_post(&m->api, "Mandrill", url, headers, json, CW_RETRY_ANY, &resp,
	    &e) == 0 && resp.status == 200) {
		j = cw_json_parse(resp.body, resp.body_len);
		pong = cw_json_istr(j, "PING");
	}
	if (resp.status == 0)
		cw_check_bad(k, "mandrill credentials: %s", e.msg);
	else if (resp.status != 200)
		cw_check_bad(k, "mandrill credentials: Mandrill users/ping2: %s",
		    cw_http_describe(&resp, &mandrill_errors, desc, sizeof(desc)));
	else if (pong == NULL)
		cw_check_bad(k, "mandrill credentials: Mandrill users/ping2: HTTP 200 "
		    "without its PING");
	else
		cw_check_ok(k, "mandrill credentials (users/ping2: %s)", pong);
	json_decref(j);
	cw_http_resp_free(&resp);
	cw_secret_free(json);
	free(url);
}

struct cw_provider *
cw_mandrill_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	static const struct cw_template_keys keys = {
		"Cartwatch.Notify.Mandrill.BaseUrl", "Cartwatch.Notify.Mandrill.TemplateName",
		"Cartwatch.Notify.Mandrill.FromEmail", "Cartwatch.Notify.Mandrill.FromName",
		"Cartwatch.Notify.Mandrill.ApiKeySecretName",
	};
	struct cw_provider *p;

	(void)o;  /* nothing to choose over the configuration */
	p = cw_template_api_config(c, &keys, "mandrill", MAX_RECIPIENTS, md_send);
	p->check = md_check;
	return p;
}
