/* provider_webhook.c: notifications POSTed to a URL of the user's, signed with an HMAC header. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/notify/api.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"

struct webhook {
	struct cw_api api;  /* the signing secret */
	const char *url;
	size_t per_post;    /* Cartwatch.Notify.Webhook.BatchSize */
	int in_flight;      /* Cartwatch.Notify.MaxInFlight */
	struct cw_http_gate gate;  /* the receiver's rate limit, across batches */
};

/* One POST: its body, the headers that sign it, the request. */
struct post {
	char *json, *sig, *key;
	const char *headers[5];
	struct cw_http_req req;
};

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

/* A receiver of ours may refuse in any of the common shapes: OAuth2's, OData's
 * or a bare code and message. */
static const struct cw_http_errfmt receiver_errors = {
	{"error", "error.code", "code"},
	{"error_description", "error.message", "message"},
};

/* Readies the POST of recs[0..n): one record, its JSON as the body; more,
 * a JSON array of them. */
static void
post_ready(struct webhook *w, json_t *const *recs, size_t n, struct post *ps)
{
	json_t *body = n == 1 ? json_incref(recs[0]) : json_array();
	char mac[65];

	for (size_t i = 0; n > 1 && i < n; i++)
		json_array_append(body, recs[i]);
	ps->json = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(body);
	/* The receiver checks the exact bytes it got against this. */
	cw_hmac_sha256_hex(w->api.secret, strlen(w->api.secret), ps->json, strlen(ps->json),
	    mac);
	ps->sig = cw_asprintf("X-Cartwatch-Signature: sha256=%s", mac);
	ps->key = idempotency_key(recs, n);
	ps->headers[0] = ps->sig;
	ps->headers[1] = "Content-Type: application/json";
	ps->headers[2] = "User-Agent: cartwatch";
	ps->headers[3] = ps->key;
	ps->headers[4] = NULL;
	ps->req = (struct cw_http_req){.service = "webhook", .method = "POST", .url = w->url,
	    .headers = ps->headers, .body = ps->json, .body_len = strlen(ps->json),
	    .retry = CW_RETRY_UNSENT};
}

static void
post_free(struct post *ps)
{
	free(ps->key);
	free(ps->sig);
	free(ps->json);
}

/*
 * What became of the POST of recs[0..n) (rc, resp and he as cw_http_do()
 * left them): 0 sent, 1 failed, 2 refused for a record's content (res left
 * NULL); res[i] filled but for 2, why says what went wrong.
 */
static int
post_outcome(json_t *const *recs, size_t n, int rc, const struct cw_http_resp *resp,
    const cw_err *he, json_t **res, char *why, size_t whysize)
{
	char desc[300];
	int r = 0;

	if (rc != 0) {
		snprintf(why, whysize, "%s", he->msg);
		r = 1;
	} else if (resp->status < 200 || resp->status > 299) {
		snprintf(why, whysize, "webhook: %s",
		    cw_http_describe(resp, &receiver_errors, desc, sizeof(desc)));
		/* 422: the receiver processed none of it and refuses a record's
		 * content; split until that record is alone. A 400 (cannot read
		 * the request) would be the same for every half: not split. */
		r = resp->status == 422 ? 2 : 1;
	}
	for (size_t i = 0; i < n && r != 2; i++)
		res[i] = r == 0 ? cw_result(recs[i], "sent", "webhook", NULL, NULL) :
		    cw_result_failed(recs[i], "webhook", why, resp->uncertain);
	return r;
}

/* The worse of two send() results, a refusal (2) settled already. */
static int
worse(int a, int b)
{
	return a < 0 || b < 0 ? -1 : a > b ? a : b;
}

/*
 * The POST of recs[0..n) was refused for a record's content (422, why), and
 * its records are not sent: as cw_provider_send() does with a refused batch,
 * one record fails, more are sent again in halves, each split on its own.
 */
static int
refused(struct webhook *w, json_t *const *recs, size_t n, json_t **res, const char *why,
    cw_err *e)
{
	size_t half = n / 2;
	cw_err e2;
	int a, b;

	if (n == 1) {
		res[0] = cw_result(recs[0], "failed", "webhook", NULL, why);
		return 0;
	}
	a = cw_provider_send(&w->api.p, recs, half, res, e);
	b = cw_provider_send(&w->api.p, recs + half, n - half, res + half, &e2);
	if (a == 0 && b != 0)
		*e = e2;
	return worse(a, b);
}

/*
 * recs[0..n) in POSTs of per_post records, up to in_flight of them under
 * way at once. A POST refused for a record's content (422) is split on its
 * own afterwards, so that the others' results stand and only that POST's
 * records go again.
 */
static int
wh_post_many(struct webhook *w, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	size_t m = (n + w->per_post - 1) / w->per_post, at, len;
	struct cw_http_job *jobs = cw_calloc(m, sizeof(*jobs));
	struct post *ps = cw_calloc(m, sizeof(*ps));
	char why[600];
	cw_err e2;
	int r = 0, one;

	for (size_t j = 0; j < m; j++) {
		at = j * w->per_post;
		post_ready(w, recs + at, n - at < w->per_post ? n - at : w->per_post, &ps[j]);
		jobs[j].req = &ps[j].req;
	}
	/* The gate keeps the receiver's own limit and RequestsPerMinute's
	 * pace across every POST in flight. */
	cw_http_do_many(w->api.h, jobs, m, w->in_flight, &w->gate);
	for (size_t j = 0; j < m; j++) {
		at = j * w->per_post;
		len = n - at < w->per_post ? n - at : w->per_post;
		one = post_outcome(recs + at, len, jobs[j].rc, &jobs[j].resp, &jobs[j].e,
		    res + at, why, sizeof(why));
		if (one == 2)
			one = refused(w, recs + at, len, res + at, why, &e2);
		else
			cw_seterr(&e2, "%s", why);
		if (one != 0 && r == 0)
			cw_seterr(e, "%s", e2.msg);
		r = worse(r, one);
		cw_http_resp_free(&jobs[j].resp);
		post_free(&ps[j]);
	}
	free(jobs);
	free(ps);
	return r;
}

/* Even a lone POST goes through the gate: a wait or the pace another
 * batch's answers set holds it too. */
static int
wh_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	return wh_post_many((struct webhook *)p, recs, n, res, e);
}

/* The receiver is the user's: it has no read-only call we know, and any
 * POST to it would deliver. Its signing secret was read by open(). */
static void
wh_check(struct cw_provider *p, struct cw_check *k)
{
	struct webhook *w = (struct webhook *)p;
	char *shown = cw_url_redact(w->url);

	cw_check_skip(k, "webhook receiver %s: a request to it would deliver; not called",
	    shown);
	free(shown);
}

struct cw_provider *
cw_webhook_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	struct webhook *w = cw_api_new(sizeof(*w), "webhook", 1, wh_send);
	cw_err e;

	(void)o;  /* nothing to choose over the configuration */
	w->url = cw_config_need_str(c, "Cartwatch.Notify.Webhook.Url");
	w->api.secret_name = cw_config_str(c, "Cartwatch.Notify.Webhook.SecretName");
	w->per_post = (size_t)cw_config_int(c, "Cartwatch.Notify.Webhook.BatchSize");
	w->in_flight = (int)cw_config_int(c, "Cartwatch.Notify.MaxInFlight");
	w->gate.per_minute = (long)cw_config_int(c, "Cartwatch.Notify.RequestsPerMinute");
	/* A batch is a few POSTs for each place in flight (as SMTP's): fewer
	 * batch ends, where every place waits for the slowest. */
	w->api.p.check = wh_check;
	w->api.p.batch = w->per_post * (size_t)w->in_flight * CW_BATCHES_IN_FLIGHT;
	if (*w->url != '\0' && cw_http_url_allowed(w->url, &e) != 0)
		cw_config_bad(c, "Cartwatch.Notify.Webhook.Url", "%s", e.msg);
	return &w->api.p;
}
