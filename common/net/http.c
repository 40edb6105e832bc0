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

int
cw_http_do(struct cw_http *h, const struct cw_http_req *req,
    struct cw_http_resp *resp, cw_err *e)
{
	struct curl_slist *hdrs = NULL, *t;
	struct sink s = {CW_BUF_INIT, resp, 0};
	char cerr[CURL_ERROR_SIZE];
	char *key = NULL, *where = NULL;
	int max = req->max_attempts > 0 ? req->max_attempts : h->o.max_attempts;
	int plain = 0;
	CURLU *u;
	CURL *c;
	int r = -1;

	memset(resp, 0, sizeof(*resp));
	if ((u = curl_url()) == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	if (check_url(u, req->url, &key, &plain, e) != 0) {
		/* Prefix the service without losing check_url's reason. */
		if (e != NULL) {
			char why[sizeof(e->msg)];

			memcpy(why, e->msg, sizeof(why));
			cw_seterr(e, "%s: %s", req->service, why);
		}
		curl_url_cleanup(u);
		return -1;
	}
	where = public_url(u);
	curl_url_cleanup(u);
	c = handle(h, key);
	free(key);
	/* No "Expect: 100-continue": a round trip lost on every large body. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	for (const char *const *p = req->headers; p != NULL && *p != NULL; p++)
		if (hdrs != NULL && (t = curl_slist_append(hdrs, *p)) != NULL)
			hdrs = t;
	if (hdrs == NULL)
		errx(CW_EXIT_FAIL, "out of memory");

	for (int attempt = 1;; attempt++) {
		CURLcode rc;
		long wait = -1;

		setup(c, h, req, plain, hdrs, &s);
		cerr[0] = '\0';
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		cw_buf_wipe(&s.body);
		clear_headers(resp);
		s.too_big = 0;
		resp->attempts = attempt;
		resp->status = 0;
		rc = curl_easy_perform(c);
		if (rc == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
			if (!retry_status(req->retry, resp) || attempt >= max) {
				r = 0;
				break;
			}
			wait = cw_http_retry_after_ms(resp, time(NULL));
			/* Waiting the cap and asking again early helps no one. */
			if (wait > h->o.retry_wait_max_ms) {
				cw_seterr(e, "%s asks to wait %s%ld s, more than "
				    "Cartwatch.Http.MaxRetryWaitMs (%ld ms): %s %s: HTTP %ld",
				    req->service, wait == LONG_MAX ? "over " : "",
				    wait / 1000 + (wait % 1000 != 0), h->o.retry_wait_max_ms,
				    req->method, where, resp->status);
				break;
			}
		} else if (req->retry != CW_RETRY_ANY && went_out(c, req)) {
			/* The service may have acted on it: a repeat could deliver twice. */
			resp->uncertain = 1;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
			cw_seterr(e, "%s: %s %s: outcome unknown: %s after the request was "
			    "sent (not tried again: it may have been delivered)",
			    req->service, req->method, where, s.too_big ? "reply too large" :
			    cerr[0] ? cerr : curl_easy_strerror(rc));
			break;
		} else if (s.too_big) {
			cw_seterr(e, "%s: %s %s: reply larger than %ld bytes",
			    req->service, req->method, where, MAX_BODY);
			break;
		} else if (!retryable_curl(rc) || attempt >= max) {
			cw_seterr(e, "%s: %s %s: %s (after %d attempt%s)",
			    req->service, req->method, where,
			    cerr[0] ? cerr : curl_easy_strerror(rc),
			    attempt, attempt == 1 ? "" : "s");
			break;
		}
		if (wait < 0)
			wait = cw_backoff_ms(&h->backoff, attempt);
		cw_sleep_ms(wait);
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (r == 0) {
		resp->body_len = s.body.len;
		resp->body = cw_buf_detach(&s.body);
	} else {
		cw_buf_wipe(&s.body);
	}
	free(where);
	return r;
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

char *
cw_http_describe(const struct cw_http_resp *resp, char *buf, size_t n)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *code = NULL, *msg = NULL;
	json_t *j = NULL, *err;

	cw_buf_addf(&b, "HTTP %ld", resp->status);
	if (resp->body != NULL && resp->body_len > 0)
		j = cw_json_parse(resp->body, resp->body_len);
	if (json_is_object(j)) {
		err = cw_json_iget(j, "error");
		if (json_is_object(err)) {           /* Key Vault, Graph-style */
			code = cw_json_istr(err, "code");
			msg = cw_json_istr(err, "message");
		} else if (json_is_string(err)) {    /* Entra ID */
			code = json_string_value(err);
			msg = cw_json_istr(j, "error_description");
		} else if (json_is_array(cw_json_iget(j, "errors"))) {  /* SendGrid */
			msg = cw_json_istr(json_array_get(cw_json_iget(j, "errors"), 0),
			    "message");
		} else {        /* Cosmos DB, Retail Server, Emarsys, others */
			if ((code = cw_json_istr(j, "code")) == NULL)
				code = cw_json_istr(j, "ErrorResourceId");
			if ((msg = cw_json_istr(j, "message")) == NULL &&
			    (msg = cw_json_istr(j, "LocalizedMessage")) == NULL)
				msg = cw_json_istr(j, "replyText");
		}
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
