/* suppressions.c: the suppression lists of SendGrid and Mandrill, read for import (doc/DESIGN.md 8.7). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/notify/suppressions.h"
#include "cw/state/docstore.h"

#define SENDGRID_PAGE 500    /* the most a page may hold */
/* A service that ignored offset would page forever: no list is this long. */
#define SENDGRID_MAX (1000L * 1000L)
#define MARK_PK "*"          /* beside the suppressions, in no channel's partition */
#define KIND_IMPORT "cartwatch.import"

static const char *const sendgrid_lists[] = {
	"unsubscribes", "bounces", "spam_reports", "invalid_emails", NULL
};
static const char *const mandrill_lists[] = {"rejects", NULL};

/* {"errors":[{"message":"..."}]} and {"status":"error","name":"Invalid_Key","message":"..."} */
static const struct cw_http_errfmt sendgrid_errors = {{NULL}, {"errors.0.message"}};
static const struct cw_http_errfmt mandrill_errors = {{"name"}, {"message"}};

int
cw_supsource_config(struct cw_supsource *s, struct cw_config *c, const char *provider,
    cw_err *e)
{
	const char *base_key;
	cw_err ue;

	if (strcmp(provider, "sendgrid") == 0) {
		*s = (struct cw_supsource){"sendgrid", "SendGrid", NULL, NULL, sendgrid_lists, 1,
		    0};
		base_key = "Cartwatch.Notify.SendGrid.BaseUrl";
		s->secret_name = cw_config_str(c, "Cartwatch.Notify.SendGrid.ApiKeySecretName");
	} else if (strcmp(provider, "mandrill") == 0) {
		*s = (struct cw_supsource){"mandrill", "Mandrill", NULL, NULL, mandrill_lists, 0,
		    CW_MANDRILL_REJECTS_MAX};
		base_key = "Cartwatch.Notify.Mandrill.BaseUrl";
		s->secret_name = cw_config_str(c, "Cartwatch.Notify.Mandrill.ApiKeySecretName");
	} else
		return cw_seterr(e, "no suppression lists to import from \"%s\": "
		    "the providers that have them are sendgrid and mandrill", provider);
	s->base = cw_config_str(c, base_key);
	if (cw_http_url_allowed(s->base, &ue) != 0)
		cw_config_bad(c, base_key, "%s", ue.msg);
	return 0;
}

/*
 * Why a reply to a read of list is no list: e says so, naming the service
 * and the list, and what a refused key means. Returns -1.
 */
static int
refused(const struct cw_supsource *s, const char *list, const struct cw_http_resp *resp,
    cw_err *e)
{
	char desc[400];

	cw_http_describe(resp, s->paged ? &sendgrid_errors : &mandrill_errors, desc,
	    sizeof(desc));
	if (s->paged && resp->status == 403)
		return cw_seterr(e, "%s %s: %s (the API key lacks the scope "
		    "suppression.%s.read)", s->service, list, desc, list);
	if (resp->status == 401 || strstr(desc, "Invalid_Key") != NULL)
		return cw_seterr(e, "%s %s: %s (the API key is refused)", s->service, list,
		    desc);
	return cw_seterr(e, "%s %s: %s", s->service, list, desc);
}

/* Appends each entry's "email" of the array reply in resp to out: the
 * number appended, or -1 when the reply is no array. */
static long
take(const struct cw_http_resp *resp, json_t *out)
{
	json_t *reply = cw_json_parse(resp->body, resp->body_len), *it;
	size_t i;
	long n;

	if (!json_is_array(reply)) {
		json_decref(reply);
		return -1;
	}
	json_array_foreach(reply, i, it) {
		const char *m = cw_json_istr(it, "email");

		json_array_append_new(out, m != NULL ? json_string(m) : json_null());
	}
	n = (long)json_array_size(reply);
	json_decref(reply);
	return n;
}

/* One request of a list: its reply's addresses appended to out. The
 * number of entries the reply held, or -1 with e. */
static long
read_page(struct cw_http *h, const struct cw_supsource *s, const char *key,
    const char *list, const char *url, json_t *out, cw_err *e)
{
	static const char *const md_headers[] = {
		"Content-Type: application/json", "Accept: application/json", NULL
	};
	const char *sg_headers[3] = {NULL, "Accept: application/json", NULL};
	struct cw_http_req req = {.service = s->service, .url = url};
	struct cw_http_resp resp = {0};
	char *auth = NULL, *body = NULL;
	long n = -1;
	cw_err he;

	if (s->paged) {
		auth = cw_asprintf("Authorization: Bearer %s", key);
		sg_headers[0] = auth;
		req.method = "GET";
		req.headers = sg_headers;
	} else {
		/* only what is in force now: an expired entry no longer rejects */
		json_t *j = json_pack("{s:s,s:b}", "key", key, "include_expired", 0);

		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		req.method = "POST";
		req.headers = md_headers;
		req.body = body;
		req.body_len = strlen(body);
	}
	/* a read: any fault may be retried */
	if (cw_http_do(h, &req, &resp, &he) != 0)
		cw_seterr(e, "%s %s: %s", s->service, list, he.msg);
	else if (resp.status != 200)
		refused(s, list, &resp, e);
	else if ((n = take(&resp, out)) < 0)
		cw_seterr(e, "%s %s: HTTP 200 with a reply that is not a list", s->service, list);
	cw_http_resp_free(&resp);
	cw_secret_free(auth);
	cw_secret_free(body);  /* it holds the key */
	return n;
}

int
cw_supsource_read(struct cw_http *h, const struct cw_supsource *s, const char *key,
    const char *list, long long since, json_t **emails, cw_err *e)
{
	json_t *out = json_array();
	char *url, start[48] = "";
	long got, offset = 0;

	if (!s->paged) {
		url = cw_asprintf("%s/api/1.0/rejects/list", s->base);
		got = read_page(h, s, key, list, url, out, e);
		free(url);
	} else {
		if (since >= 0)
			snprintf(start, sizeof(start), "start_time=%lld&", since);
		/* Newest first: an entry added meanwhile pushes the rest down a
		 * place, to be read twice (harmless), never skipped. */
		do {
			url = cw_asprintf("%s/v3/suppression/%s?%slimit=%d&offset=%ld", s->base,
			    list, start, SENDGRID_PAGE, offset);
			got = read_page(h, s, key, list, url, out, e);
			free(url);
			offset += got;
		} while (got == SENDGRID_PAGE && offset < SENDGRID_MAX);
		if (got == SENDGRID_PAGE)
			got = cw_seterr(e, "%s %s: more than %ld entries: does the service "
			    "ignore offset?", s->service, list, SENDGRID_MAX);
	}
	if (got < 0) {
		json_decref(out);
		out = NULL;
	}
	*emails = out;
	return got < 0 ? -1 : 0;
}

static char *
mark_id(const char *provider)
{
	return cw_asprintf("import:%s", provider);
}

int
cw_supimport_mark(struct cw_docstore *s, const char *provider, long long *t, cw_err *e)
{
	char *id = mark_id(provider), *etag = NULL;
	json_t *doc = NULL, *v;
	int r = s->read(s, MARK_PK, id, &doc, &etag, e);

	/* A mark that cannot be read is as none: the lists are read whole
	 * again, which is harmless, and the import writes it anew. */
	if (r == CW_DOC_CORRUPT)
		r = 0;
	if (r == 1) {
		v = json_object_get(doc, "importedUpTo");
		r = json_is_integer(v);
		*t = json_integer_value(v);
	}
	json_decref(doc);
	free(etag);
	free(id);
	return r;
}

int
cw_supimport_set_mark(struct cw_docstore *s, const char *provider, long long t, cw_err *e)
{
	struct timespec ts = {(time_t)t, 0};
	char *id = mark_id(provider), iso[CW_ISO8601_MAX];
	json_t *doc;
	int r;

	doc = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "id", id, "oun", MARK_PK, "kind",
	    KIND_IMPORT, "provider", provider, "importedUpTo", (json_int_t)t, "at",
	    cw_iso8601_format(&ts, iso));
	r = s->upsert(s, MARK_PK, id, doc, e);
	json_decref(doc);
	free(id);
	return r < 0 ? -1 : 0;
}
