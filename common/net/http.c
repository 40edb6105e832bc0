/* http.c: the one HTTP client: keep-alive per host, timeouts, bounded jittered retries. */
#include <arpa/inet.h>
#include <err.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cw/core/backoff.h"
#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/core/version.h"
#include "cw/net/http.h"

/* A reply larger than this is a fault, not data: no call of ours needs more. */
#define MAX_BODY (64L * 1024 * 1024)

struct conn {
	char *key;   /* scheme://host:port */
	CURL *curl;
};

struct cw_http {
	struct cw_http_opts o;
	struct conn *conns;
	size_t nconns;
	struct cw_backoff backoff;
	/* cw_http_do_many's: its connections, and the handles not in flight. */
	CURLM *multi;
	CURL **idle;
	size_t nidle;
};

static int curl_users;

void
cw_http_opts_default(struct cw_http_opts *o)
{
	o->max_attempts = 5;
	o->connect_timeout_ms = 10000;
	o->timeout_ms = 60000;
	o->backoff_ms = 500;
	o->backoff_max_ms = 30000;
	o->retry_wait_max_ms = 120000;
}

void
cw_http_opts_config(struct cw_http_opts *o, struct cw_config *c)
{
	o->max_attempts = (int)cw_config_int(c, "Cartwatch.Http.MaxAttempts");
	o->connect_timeout_ms = (long)cw_config_int(c, "Cartwatch.Http.ConnectTimeoutMs");
	o->timeout_ms = (long)cw_config_int(c, "Cartwatch.Http.TimeoutMs");
	o->backoff_ms = (long)cw_config_int(c, "Cartwatch.Http.BackoffMs");
	o->backoff_max_ms = (long)cw_config_int(c, "Cartwatch.Http.MaxBackoffMs");
	o->retry_wait_max_ms = (long)cw_config_int(c, "Cartwatch.Http.MaxRetryWaitMs");
}

struct cw_http *
cw_http_new(const struct cw_http_opts *o)
{
	struct cw_http *h = cw_calloc(1, sizeof(*h));

	if (curl_users++ == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		errx(CW_EXIT_FAIL, "cannot initialise libcurl");
	if (o != NULL)
		h->o = *o;
	else
		cw_http_opts_default(&h->o);
	cw_backoff_init(&h->backoff, h->o.backoff_ms, h->o.backoff_max_ms);
	return h;
}

void
cw_http_free(struct cw_http *h)
{
	if (h == NULL)
		return;
	for (size_t i = 0; i < h->nconns; i++) {
		curl_easy_cleanup(h->conns[i].curl);
		free(h->conns[i].key);
	}
	free(h->conns);
	/* The multi first: it holds the connections, the handles are out of it. */
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	for (size_t i = 0; i < h->nidle; i++)
		curl_easy_cleanup(h->idle[i]);
	free(h->idle);
	free(h);
	if (--curl_users == 0)
		curl_global_cleanup();
}

void
cw_http_resp_free(struct cw_http_resp *resp)
{
	if (resp->body != NULL)
		explicit_bzero(resp->body, resp->body_len);
	free(resp->body);
	for (size_t i = 0; i < resp->nhdrs; i++) {
		free(resp->hdrs[i].name);
		free(resp->hdrs[i].value);
	}
	free(resp->hdrs);
	memset(resp, 0, sizeof(*resp));
}

const char *
cw_http_header(const struct cw_http_resp *resp, const char *name)
{
	/* The last one wins: a retried or redirected reply appends. */
	for (size_t i = resp->nhdrs; i > 0; i--)
		if (strcasecmp(resp->hdrs[i - 1].name, name) == 0)
			return resp->hdrs[i - 1].value;
	return NULL;
}

int
cw_host_is_loopback(const char *host)
{
	unsigned char a[16];
	char h[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	/* CURLU gives IPv6 hosts in brackets. */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(h)) {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, a) == 1 && memcmp(a, &in6addr_loopback, 16) == 0;
	}
	return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

char *
cw_url_redact(const char *url)
{
	const char *auth, *end, *at = NULL, *colon = NULL, *p;

	if (url == NULL)
		return cw_strdup("(none)");
	/* By hand, not with CURLU: a value that failed to parse must be redacted too. */
	auth = strstr(url, "://");
	auth = auth != NULL ? auth + 3 : url;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return cw_strdup(url);
	for (p = auth; p < at && colon == NULL; p++)
		if (*p == ':')
			colon = p;
	/* No colon: all of it may be a token used as a user name; hide it all. */
	if (colon == NULL)
		return cw_asprintf("%.*s***%s", (int)(auth - url), url, at);
	return cw_asprintf("%.*s:***%s", (int)(colon - url), url, at);
}

char *
cw_url_trim_slash(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return cw_strndup(url, n);
}

/* Parses url into u; sets *key to scheme://host:port (caller frees) and
 * *plain to 1 for http, 0 for https. */
static int
check_url(CURLU *u, const char *url, char **key, int *plain, cw_err *e)
{
	char *scheme = NULL, *host = NULL, *port = NULL;
	int r = -1;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		char *shown = cw_url_redact(url);

		cw_seterr(e, "not a URL: \"%.200s\"", shown);
		free(shown);
		goto out;
	}
	/* IMDS speaks only plain http, on a link-local address no router forwards. */
	if (strcmp(scheme, "https") != 0 && !(strcmp(scheme, "http") == 0 &&
	    (cw_host_is_loopback(host) || strcmp(host, "169.254.169.254") == 0))) {
		if (strcmp(scheme, "http") == 0)
			cw_seterr(e, "%.200s: plain http is allowed only to loopback; use https", host);
		else
			cw_seterr(e, "%.200s: unsupported scheme \"%.20s\"", host, scheme);
		goto out;
	}
	if (key != NULL)
		*key = cw_asprintf("%s://%s:%s", scheme, host, port);
	if (plain != NULL)
		*plain = strcmp(scheme, "http") == 0;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	return r;
}

int
cw_http_url_allowed(const char *url, cw_err *e)
{
	CURLU *u = curl_url();
	int r;

	if (u == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	r = check_url(u, url, NULL, NULL, e);
	curl_url_cleanup(u);
	return r;
}

/* The URL for messages: no query, no credentials, no fragment. */
static char *
public_url(CURLU *u)
{
	CURLU *c = curl_url_dup(u);
	char *s = NULL, *r;

	if (c == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	curl_url_set(c, CURLUPART_QUERY, NULL, 0);
	curl_url_set(c, CURLUPART_USER, NULL, 0);
	curl_url_set(c, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(c, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(c, CURLUPART_URL, &s, 0) != CURLUE_OK)
		r = cw_strdup("(url)");
	else
		r = cw_strdup(s);
	curl_free(s);
	curl_url_cleanup(c);
	return r;
}

static CURL *
handle(struct cw_http *h, const char *key)
{
	CURL *c;

	for (size_t i = 0; i < h->nconns; i++)
		if (strcmp(h->conns[i].key, key) == 0)
			return h->conns[i].curl;
	if ((c = curl_easy_init()) == NULL)
		errx(CW_EXIT_FAIL, "cannot create a libcurl handle");
	h->conns = cw_realloc(h->conns, (h->nconns + 1) * sizeof(*h->conns));
	h->conns[h->nconns].key = cw_strdup(key);
	h->conns[h->nconns].curl = c;
	h->nconns++;
	return c;
}

struct sink {
	struct cw_buf body;
	struct cw_http_resp *resp;
	int too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *data)
{
	struct sink *s = data;
	size_t len = size * n;

	if (s->body.len + len > (size_t)MAX_BODY) {
		s->too_big = 1;
		return 0;
	}
	cw_buf_add(&s->body, p, len);
	return len;
}

static void
clear_headers(struct cw_http_resp *r)
{
	for (size_t i = 0; i < r->nhdrs; i++) {
		free(r->hdrs[i].name);
		free(r->hdrs[i].value);
	}
	r->nhdrs = 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *data)
{
	struct sink *s = data;
	struct cw_http_resp *r = s->resp;
	size_t len = size * n, k, v, end;

	/* A new status line (after a 100 Continue, say) starts a new header set. */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		clear_headers(r);
		return len;
	}
	for (k = 0; k < len && p[k] != ':'; k++)
		;
	if (k == len || k == 0)
		return len;
	for (v = k + 1; v < len && (p[v] == ' ' || p[v] == '\t'); v++)
		;
	for (end = len; end > v && isspace((unsigned char)p[end - 1]); end--)
		;
	r->hdrs = cw_realloc(r->hdrs, (r->nhdrs + 1) * sizeof(*r->hdrs));
	r->hdrs[r->nhdrs].name = cw_strndup(p, k);
	r->hdrs[r->nhdrs].value = cw_strndup(p + v, end - v);
	r->nhdrs++;
	return len;
}

/* 1 if an answer of this status may be asked again under policy k. */
static int
retry_status(enum cw_retry k, const struct cw_http_resp *resp)
{
	long st = resp->status;

	if (st != 408 && st != 429 && (st < 500 || st > 599))
		return 0;
	switch (k) {
	case CW_RETRY_ANY:
	case CW_RETRY_UNSENT_5XX:
		return 1;
	default:
		/* A 503 with Retry-After says "not now" before doing anything;
		 * a bare 5xx may come after the work was done. */
		return st == 408 || st == 429 ||
		    (st == 503 && cw_http_header(resp, "Retry-After") != NULL);
	}
}

/* 1 unless the request provably did not reach the server whole: no request
 * was written, or its body was not all sent. */
static int
went_out(CURL *c, const struct cw_http_req *req)
{
	curl_off_t up = 0;
	long reqsize = 0;

	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &reqsize);
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
	return reqsize > 0 && up >= (curl_off_t)(req->body != NULL ? req->body_len : 0);
}

static int
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_WRITE_ERROR:
	case CURLE_OUT_OF_MEMORY:
		return 0;
	default:
		return 1;
	}
}

/* A whole number of at least 0, saturated at LONG_MAX: a server may name any
 * number. -1 if v is not one. */
static long
parse_count(const char *v)
{
	char *end;
	long n;

	while (*v == ' ')
		v++;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	while (*end == ' ')
		end++;
	if (*end != '\0')
		return -1;
	return errno == ERANGE ? LONG_MAX : n;
}

/* s seconds in ms, 0 for the past, saturated instead of overflowing. */
static long
sec_to_ms(long long s)
{
	if (s <= 0)
		return 0;
	return s > LONG_MAX / 1000 ? LONG_MAX : (long)s * 1000;
}

long
cw_http_retry_after_ms(const struct cw_http_resp *resp, time_t now)
{
	const char *v;
	time_t t;
	long n;

	if ((v = cw_http_header(resp, "x-ms-retry-after-ms")) != NULL &&
	    (n = parse_count(v)) >= 0)
		return n;
	if ((v = cw_http_header(resp, "Retry-After")) != NULL) {
		if ((n = parse_count(v)) >= 0)
			return sec_to_ms(n);
		if (cw_rfc1123_parse(v, &t) == 0)
			return t > now ? sec_to_ms((long long)t - (long long)now) : 0;
	}
	if ((v = cw_http_header(resp, "X-RateLimit-Reset")) != NULL &&
	    (n = parse_count(v)) >= 0) {
		/* Unix seconds; a small number can only be seconds from now. */
		if (n < 1000000000L)
			return sec_to_ms(n);
		return sec_to_ms((long long)n - (long long)now);
	}
	return -1;
}

static void
setup(CURL *c, struct cw_http *h, const struct cw_http_req *req, int plain,
    struct curl_slist *hdrs, struct sink *s)
{
	long cto = req->connect_timeout_ms > 0 ? req->connect_timeout_ms :
	    h->o.connect_timeout_ms;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cto);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cartwatch/" CW_VERSION);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	/* "" overrides http_proxy and ALL_PROXY: plain text to loopback carries
	 * tokens and identity headers, which no proxy may read. */
	if (plain)
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	/* On a kept-alive connection that closes without an answer libcurl sends
	 * the request again by itself: a second delivery nobody asked for. */
	if (req->retry != CW_RETRY_ANY)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(req->method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL || strcmp(req->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body ? req->body_len : 0));
	}
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
}

/* One request in flight: what its attempts share. */
struct call {
	struct cw_http *h;
	const struct cw_http_req *req;
	struct cw_http_resp *resp;
	CURL *c;
	char *where;              /* the URL for messages (public_url) */
	struct curl_slist *hdrs;
	struct sink s;
	char cerr[CURL_ERROR_SIZE];
	int plain;                /* http://: never through a proxy */
	int max;                  /* attempts allowed */
};

/* What an attempt leaves to do. */
enum next { DONE, FAILED, AGAIN };

/* Checks the URL and readies the headers every attempt uses, and the handle
 * unless it is pooled (cw_http_do_many gives one per attempt). */
static int
start(struct call *k, int pooled, cw_err *e)
{
	const struct cw_http_req *req = k->req;
	struct curl_slist *t;
	char *key = NULL;
	CURLU *u;

	if ((u = curl_url()) == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	if (check_url(u, req->url, &key, &k->plain, e) != 0) {
		/* Prefix the service without losing check_url's reason. */
		if (e != NULL) {
			char why[sizeof(e->msg)];

			memcpy(why, e->msg, sizeof(why));
			cw_seterr(e, "%s: %s", req->service, why);
		}
		curl_url_cleanup(u);
		return -1;
	}
	k->where = public_url(u);
	curl_url_cleanup(u);
	if (!pooled)
		k->c = handle(k->h, key);
	free(key);
	k->max = req->max_attempts > 0 ? req->max_attempts : k->h->o.max_attempts;
	/* No "Expect: 100-continue": a round trip lost on every large body. */
	k->hdrs = curl_slist_append(NULL, "Expect:");
	for (const char *const *p = req->headers; p != NULL && *p != NULL; p++)
		if (k->hdrs != NULL && (t = curl_slist_append(k->hdrs, *p)) != NULL)
			k->hdrs = t;
	if (k->hdrs == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	return 0;
}

/* Attempt n was answered: keep the answer, or ask again after *wait ms (-1:
 * the backoff's). */
static enum next
judge_reply(struct call *k, int n, long *wait, cw_err *e)
{
	struct cw_http_resp *resp = k->resp;
	long cap = k->h->o.retry_wait_max_ms;

	curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!retry_status(k->req->retry, resp) || n >= k->max)
		return DONE;
	*wait = cw_http_retry_after_ms(resp, time(NULL));
	/* Waiting the cap and asking again early helps no one. */
	if (*wait > cap) {
		cw_seterr(e, "%s asks to wait %s%ld s, more than "
		    "Cartwatch.Http.MaxRetryWaitMs (%ld ms): %s %s: HTTP %ld",
		    k->req->service, *wait == LONG_MAX ? "over " : "",
		    *wait / 1000 + (*wait % 1000 != 0), cap, k->req->method, k->where,
		    resp->status);
		return FAILED;
	}
	return AGAIN;
}

/* Attempt n had no answer (rc): give up, or try again if nothing can have
 * taken effect and the fault may pass. */
static enum next
judge_fault(struct call *k, CURLcode rc, int n, cw_err *e)
{
	const struct cw_http_req *req = k->req;
	const char *why = k->cerr[0] ? k->cerr : curl_easy_strerror(rc);

	if (req->retry != CW_RETRY_ANY && went_out(k->c, req)) {
		/* The service may have acted on it: a repeat could deliver twice. */
		k->resp->uncertain = 1;
		curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &k->resp->status);
		cw_seterr(e, "%s: %s %s: outcome unknown: %s after the request was "
		    "sent (not tried again: it may have been delivered)",
		    req->service, req->method, k->where,
		    k->s.too_big ? "reply too large" : why);
		return FAILED;
	}
	if (k->s.too_big) {
		cw_seterr(e, "%s: %s %s: reply larger than %ld bytes",
		    req->service, req->method, k->where, MAX_BODY);
		return FAILED;
	}
	if (!retryable_curl(rc) || n >= k->max) {
		cw_seterr(e, "%s: %s %s: %s (after %d attempt%s)", req->service,
		    req->method, k->where, why, n, n == 1 ? "" : "s");
		return FAILED;
	}
	return AGAIN;
}

/* Readies attempt number n of k on k->c. */
static void
attempt_begin(struct call *k, int n)
{
	setup(k->c, k->h, k->req, k->plain, k->hdrs, &k->s);
	k->cerr[0] = '\0';
	curl_easy_setopt(k->c, CURLOPT_ERRORBUFFER, k->cerr);
	cw_buf_wipe(&k->s.body);
	clear_headers(k->resp);
	k->s.too_big = 0;
	k->resp->attempts = n;
	k->resp->status = 0;
}

/* Attempt n ended with rc; on AGAIN, *wait is how long the server asks to
 * wait before the next, -1 if it asks nothing. */
static enum next
attempt_end(struct call *k, int n, CURLcode rc, long *wait, cw_err *e)
{
	*wait = -1;
	if (rc == CURLE_OK)
		return judge_reply(k, n, wait, e);
	return judge_fault(k, rc, n, e);
}

/* Attempt number n; on AGAIN, *wait is how long to wait before the next. */
static enum next
attempt(struct call *k, int n, long *wait, cw_err *e)
{
	enum next next;

	attempt_begin(k, n);
	next = attempt_end(k, n, curl_easy_perform(k->c), wait, e);
	if (next == AGAIN && *wait < 0)
		*wait = cw_backoff_ms(&k->h->backoff, n);
	return next;
}

/* Lets go of what start() readied; the body goes to resp if the call worked. */
static void
finish(struct call *k, int ok)
{
	if (k->c != NULL) {
		curl_easy_setopt(k->c, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(k->c, CURLOPT_HTTPHEADER, NULL);
	}
	curl_slist_free_all(k->hdrs);
	if (ok) {
		k->resp->body_len = k->s.body.len;
		k->resp->body = cw_buf_detach(&k->s.body);
	} else {
		cw_buf_wipe(&k->s.body);
	}
	free(k->where);
}

int
cw_http_do(struct cw_http *h, const struct cw_http_req *req,
    struct cw_http_resp *resp, cw_err *e)
{
	struct call k = {.h = h, .req = req, .resp = resp, .s = {CW_BUF_INIT, resp, 0}};
	enum next next;
	long wait;

	memset(resp, 0, sizeof(*resp));
	if (start(&k, 0, e) != 0)
		return -1;
	for (int n = 1; (next = attempt(&k, n, &wait, e)) == AGAIN; n++)
		cw_sleep_ms(wait);
	finish(&k, next == DONE);
	return next == DONE ? 0 : -1;
}

/* One request of cw_http_do_many: its call, and when it may start again. */
struct flight {
	struct call k;
	struct cw_http_job *job;
	int n;             /* attempts begun */
	int state;         /* enum fstate */
	long long ready;   /* monotonic ms before which its next attempt waits */
};

enum fstate { WAITING, FLYING, OVER };

static CURLM *
multi(struct cw_http *h)
{
	if (h->multi == NULL && (h->multi = curl_multi_init()) == NULL)
		errx(CW_EXIT_FAIL, "cannot create a libcurl multi handle");
	return h->multi;
}

/* Starts f's next attempt on a handle of the pool. */
static void
take_off(struct cw_http *h, struct flight *f)
{
	if (h->nidle > 0)
		f->k.c = h->idle[--h->nidle];
	else if ((f->k.c = curl_easy_init()) == NULL)
		errx(CW_EXIT_FAIL, "cannot create a libcurl handle");
	attempt_begin(&f->k, ++f->n);
	curl_easy_setopt(f->k.c, CURLOPT_PRIVATE, f);
	if (curl_multi_add_handle(multi(h), f->k.c) != CURLM_OK)
		errx(CW_EXIT_FAIL, "cannot add a libcurl handle");
	f->state = FLYING;
}

/* Gives f's handle back to the pool. */
static void
ground(struct cw_http *h, struct flight *f)
{
	curl_multi_remove_handle(h->multi, f->k.c);
	curl_easy_setopt(f->k.c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(f->k.c, CURLOPT_HTTPHEADER, NULL);
	h->idle = cw_realloc(h->idle, (h->nidle + 1) * sizeof(*h->idle));
	h->idle[h->nidle++] = f->k.c;
	f->k.c = NULL;
}

/* Attempt of f ended with rc: done, or waiting for its next attempt. A wait
 * the server asks for, or a 429, holds back every request of the gate: one
 * rate limit covers them all. */
static void
landed(struct cw_http *h, struct flight *f, CURLcode rc, struct cw_http_gate *gate)
{
	enum next next;
	long wait;

	next = attempt_end(&f->k, f->n, rc, &wait, &f->job->e);
	ground(h, f);
	if (next != AGAIN) {
		finish(&f->k, next == DONE);
		f->job->rc = next == DONE ? 0 : -1;
		f->state = OVER;
		return;
	}
	f->state = WAITING;
	if (wait >= 0 || f->k.resp->status == 429) {
		f->ready = cw_monotonic_ms() + (wait >= 0 ? wait : cw_backoff_ms(&h->backoff, f->n));
		if (f->ready > gate->not_before_ms)
			gate->not_before_ms = f->ready;
	} else {
		f->ready = cw_monotonic_ms() + cw_backoff_ms(&h->backoff, f->n);
	}
}

/* The soonest the gate lets a request start: after any wait asked for, and
 * its pace's gap after the last start. */
static long long
gate_opens(const struct cw_http_gate *gate)
{
	long long at = gate->not_before_ms, paced;

	if (gate->per_minute > 0 && gate->last_start_ms != 0) {
		/* Rounded up: the ceiling is never passed, even by a millisecond. */
		paced = gate->last_start_ms + (60000 + gate->per_minute - 1) / gate->per_minute;
		if (paced > at)
			at = paced;
	}
	return at;
}

/* Starts what may start, first come first: at most max in flight, none
 * before its own time or the gate's. Returns how many are in flight; *sleep
 * is how long until the next waiting one may start (capped at 1 s). */
static size_t
launch(struct cw_http *h, struct flight *f, size_t n, size_t max,
    struct cw_http_gate *gate, long *sleep)
{
	long long now = cw_monotonic_ms(), at, opens;
	size_t flying = 0;

	for (size_t i = 0; i < n; i++)
		flying += f[i].state == FLYING;
	*sleep = 1000;
	for (size_t i = 0; i < n; i++) {
		if (f[i].state != WAITING)
			continue;
		opens = gate_opens(gate);
		at = f[i].ready > opens ? f[i].ready : opens;
		if (at <= now && flying < max) {
			take_off(h, &f[i]);
			gate->last_start_ms = now;
			flying++;
		} else if (at > now && at - now < *sleep) {
			*sleep = (long)(at - now);
		}
	}
	return flying;
}

/* Readies jobs[0..n) as flights; those whose URL is refused are over. */
static struct flight *
board(struct cw_http *h, struct cw_http_job *jobs, size_t n)
{
	struct flight *f = cw_calloc(n, sizeof(*f));

	for (size_t i = 0; i < n; i++) {
		memset(&jobs[i].resp, 0, sizeof(jobs[i].resp));
		jobs[i].rc = -1;
		f[i].job = &jobs[i];
		f[i].k = (struct call){.h = h, .req = jobs[i].req, .resp = &jobs[i].resp};
		f[i].k.s = (struct sink){CW_BUF_INIT, &jobs[i].resp, 0};
		f[i].state = start(&f[i].k, 1, &jobs[i].e) == 0 ? WAITING : OVER;
	}
	return f;
}

static int
all_over(const struct flight *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].state != OVER)
			return 0;
	return 1;
}

int
cw_http_do_many(struct cw_http *h, struct cw_http_job *jobs, size_t n, int max_in_flight,
    struct cw_http_gate *gate)
{
	struct flight *f = board(h, jobs, n);
	size_t max = max_in_flight > 0 ? (size_t)max_in_flight : 1;
	int running, left, landings, failed = 0;
	CURLMsg *msg;
	char *done;
	long sleep;

	while (launch(h, f, n, max, gate, &sleep) > 0 || !all_over(f, n)) {
		curl_multi_perform(multi(h), &running);
		landings = 0;
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &done);
			landed(h, (struct flight *)(void *)done, msg->data.result, gate);
			landings++;
		}
		/* A landing may have freed a place or set a time: look again first. */
		if (landings == 0)
			curl_multi_poll(h->multi, NULL, 0, (int)sleep, NULL);
	}
	for (size_t i = 0; i < n; i++)
		failed += jobs[i].rc != 0;
	free(f);
	return failed;
}

/* Appends s to b without control characters, at most max bytes of it. */
static void
add_clean(struct cw_buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < max; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			break;  /* AAD appends trace ids on further lines */
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			continue;
		cw_buf_add(b, s + i, 1);
	}
	if (s[i] != '\0' && s[i] != '\r' && s[i] != '\n')
		cw_buf_adds(b, "...");
}

/* The string at path in j (see struct cw_http_errfmt), or NULL. */
static const char *
at_path(const json_t *j, const char *path)
{
	char name[64];
	size_t n;

	while (j != NULL) {
		n = strcspn(path, ".");
		if (n >= sizeof(name))
			return NULL;
		memcpy(name, path, n);
		name[n] = '\0';
		if (json_is_array(j) && isdigit((unsigned char)name[0]))
			j = json_array_get(j, strtoul(name, NULL, 10));
		else
			j = cw_json_iget(j, name);
		if (path[n] == '\0')
			return json_string_value(j);
		path += n + 1;
	}
	return NULL;
}

/* The first of the paths (at most max, NULL ends them early) that names a string. */
static const char *
first_at(const json_t *j, const char *const *paths, size_t max)
{
	const char *s = NULL;

	for (size_t i = 0; i < max && paths[i] != NULL && s == NULL; i++)
		s = at_path(j, paths[i]);
	return s;
}

char *
cw_http_describe(const struct cw_http_resp *resp, const struct cw_http_errfmt *fmt,
    char *buf, size_t n)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *code = NULL, *msg = NULL;
	json_t *j = NULL;

	cw_buf_addf(&b, "HTTP %ld", resp->status);
	if (fmt != NULL && resp->body != NULL && resp->body_len > 0)
		j = cw_json_parse(resp->body, resp->body_len);
	if (json_is_object(j)) {
		code = first_at(j, fmt->code, CW_HTTP_ERRPATHS);
		msg = first_at(j, fmt->msg, CW_HTTP_ERRPATHS);
	}
	if (code != NULL) {
		cw_buf_adds(&b, " ");
		add_clean(&b, code, 80);
	}
	if (msg != NULL) {
		cw_buf_adds(&b, ": ");
		add_clean(&b, msg, 300);
	}
	snprintf(buf, n, "%s", b.data);
	cw_buf_free(&b);
	json_decref(j);
	return buf;
}
