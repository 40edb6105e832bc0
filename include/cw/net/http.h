/* http.h: the one HTTP client: keep-alive, timeouts, bounded jittered retries. */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stddef.h>
#include <time.h>
#include "cw/core/util.h"

struct cw_config;

struct cw_http_opts {
	int max_attempts;        /* tries per request, >= 1 */
	long connect_timeout_ms; /* per attempt */
	long timeout_ms;         /* whole attempt, transfer included */
	long backoff_ms;         /* base of the exponential backoff */
	long backoff_max_ms;     /* cap of one computed backoff */
	long retry_wait_max_ms;  /* cap of one wait a server asks for */
};

/* Defaults: 5 attempts, 10 s connect, 60 s total, 500 ms base, 30 s cap, 120 s
 * server-asked cap. */
void cw_http_opts_default(struct cw_http_opts *o);

/* Defaults overridden by Cartwatch.Http.{MaxAttempts, ConnectTimeoutMs,
 * TimeoutMs, BackoffMs, MaxBackoffMs, MaxRetryWaitMs}; bad values are reported
 * through the config's error count. */
void cw_http_opts_config(struct cw_http_opts *o, struct cw_config *c);

struct cw_http;  /* opaque: one reused curl handle per scheme://host:port */

/* Never NULL (exits on OOM). Free with cw_http_free(). */
struct cw_http *cw_http_new(const struct cw_http_opts *o);
void cw_http_free(struct cw_http *h);

/*
 * When a request may be tried again (doc/DESIGN.md 8.1). What a repeat of it
 * would do decides, not what the fault was.
 */
enum cw_retry {
	/* Idempotent (reads, token requests, Cosmos conditional writes): every
	 * transient fault is retried. */
	CW_RETRY_ANY = 0,
	/* A send a repeat would deliver twice: retried only when it provably had
	 * no effect: the connection never opened, the request did not go out
	 * whole, or the answer refuses it unprocessed (408, 429, 503 with
	 * Retry-After). */
	CW_RETRY_UNSENT,
	/* As CW_RETRY_UNSENT, and any 5xx is retried too: for services that
	 * document a 5xx as "not processed" (SendGrid) or absorb a repeat
	 * (Emarsys's trigger_id). */
	CW_RETRY_UNSENT_5XX,
};

struct cw_http_req {
	const char *service;        /* who we talk to, for messages: "Key Vault" */
	const char *method;         /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
	const char *body;           /* NULL for none */
	size_t body_len;
	enum cw_retry retry;        /* zero: CW_RETRY_ANY */
	int max_attempts;           /* 0: the client's; 1: no retry at all */
	long connect_timeout_ms;    /* 0: the client's (IMDS probes want less) */
};

struct cw_http_hdr {
	char *name;
	char *value;
};

struct cw_http_resp {
	long status;                /* HTTP status of the last attempt */
	char *body;                 /* NUL-terminated, owned */
	size_t body_len;
	struct cw_http_hdr *hdrs;   /* headers of the last attempt, owned */
	size_t nhdrs;
	int attempts;               /* attempts made */
	int uncertain;              /* 1: the request went out whole and its answer
	                             * was lost or late; it may have taken effect
	                             * (only for a req->retry other than ANY) */
};
/* cw_http_resp_free() wipes the body before freeing it: replies carry tokens
 * and secrets. */

/*
 * Performs req, retrying what req->retry allows of connection errors,
 * timeouts, 408, 429 and 5xx up to max_attempts, waiting what the server asks
 * (Retry-After, X-RateLimit-Reset, x-ms-retry-after-ms) or a jittered
 * exponential backoff. A request that is not CW_RETRY_ANY always goes out on
 * a new connection: libcurl silently re-sends a request whose kept-alive
 * connection closes without an answer.
 *
 * Returns 0 when an HTTP response was read: resp holds the last one, whatever
 * its status (a 503 after the retries ran out included). Returns -1 when no
 * response could be had (e says why: "SERVICE: GET URL: reason after N
 * attempts"); when the server asks to wait longer than retry_wait_max_ms
 * ("SERVICE asks to wait N s, more than Cartwatch.Http.MaxRetryWaitMs"); or
 * when the URL is refused: plain http:// to a host that is not loopback. With
 * resp->uncertain set, -1 means the outcome is unknown: the request (not
 * CW_RETRY_ANY) was sent whole, then the connection dropped, the answer came
 * truncated or not within timeout_ms, and it was not tried again. resp must be
 * freed with cw_http_resp_free() in every case. Messages name the URL without
 * its query string or password and never a header value.
 *
 * Plain http:// never goes through a proxy, whatever http_proxy or ALL_PROXY
 * say: it goes only to loopback or IMDS, and a proxy would see its headers.
 * https may use HTTPS_PROXY/ALL_PROXY (a CONNECT tunnel), as libcurl does.
 */
int cw_http_do(struct cw_http *h, const struct cw_http_req *req,
    struct cw_http_resp *resp, cw_err *e);

/*
 * A "not before" time that the requests of one service share: a wait one
 * answer asks for holds back all the others. Zero it before first use; keep
 * it for as long as the service's rate limit may last (a provider's life).
 * per_minute, when set, is the pace of the service's requests: their starts
 * (tries again included) are at least 60000 / per_minute ms apart (rounded
 * up), however many are in flight.
 */
struct cw_http_gate {
	long long not_before_ms;  /* CLOCK_MONOTONIC ms; 0: none */
	long per_minute;          /* starts a minute; 0: no pace */
	long long last_start_ms;  /* CLOCK_MONOTONIC ms of the last start; 0: none */
};

/* One request of cw_http_do_many(): req borrowed; the rest as cw_http_do()'s
 * return value, resp (free with cw_http_resp_free() in every case) and e. */
struct cw_http_job {
	const struct cw_http_req *req;
	int rc;
	struct cw_http_resp resp;
	cw_err e;
};

/*
 * Performs jobs[0..n) as cw_http_do() performs one, every guarantee of it
 * kept for each (retry classes, a new connection for every send that is not
 * CW_RETRY_ANY, no proxy for plain http, messages without secrets), with up
 * to max_in_flight (at least 1) under way at once, on connections of their
 * own. A job starts when a place is free, in order. A wait an answer asks
 * for (Retry-After and the others cw_http_retry_after_ms() reads), or a 429,
 * moves gate on: no job of this call, and none of a later call on the same
 * gate, starts or is tried again before it; each request's own backoff still
 * applies; with gate->per_minute, no start comes sooner than its pace allows.
 * Blocks until every job is over; returns how many have rc -1.
 */
int cw_http_do_many(struct cw_http *h, struct cw_http_job *jobs, size_t n,
    int max_in_flight, struct cw_http_gate *gate);

void cw_http_resp_free(struct cw_http_resp *resp);

/* Value of the response header name (any case); borrowed from resp, NULL if absent. */
const char *cw_http_header(const struct cw_http_resp *resp, const char *name);

/* 1 if host (as CURLU gives it: IPv6 in brackets) is 127.0.0.0/8, ::1 or
 * localhost: the only hosts plain text may go to. */
int cw_host_is_loopback(const char *host);

/*
 * url as a message may show it: a password in its userinfo becomes ***
 * ("https://user:***@host/..."), the user name stays. Works on text that is
 * not a URL at all (a config value that failed to parse): anything before the
 * last '@' of the part after "scheme://" (or of the whole text, without one)
 * and before the first '/', '?' or '#' counts as userinfo. Never NULL; the
 * caller frees.
 */
char *cw_url_redact(const char *url);

/* A copy of url without the '/'s at its end, for "/path" to follow. Never
 * NULL; the caller frees. */
char *cw_url_trim_slash(const char *url);

/* 0 if url may be used: https, or http to 127.0.0.0/8, ::1, localhost, or the
 * IMDS address 169.254.169.254 (which has no https). */
int cw_http_url_allowed(const char *url, cw_err *e);

/*
 * How long resp asks us to wait before trying again, in ms, judged against the
 * real clock now: x-ms-retry-after-ms, then Retry-After (seconds or HTTP-date),
 * then X-RateLimit-Reset (unix seconds). -1 if it asks nothing.
 */
long cw_http_retry_after_ms(const struct cw_http_resp *resp, time_t now);

/*
 * Where a service puts the code and the message of its error replies in their
 * JSON body, so that each service's knowledge stays with its own code. Each is
 * a list of paths tried in order, the first that names a string wins; unused
 * entries are NULL. A path is member names joined by '.', matched in any case,
 * a number picking an element of an array: "error.message", "errors.0.message".
 */
#define CW_HTTP_ERRPATHS 4
struct cw_http_errfmt {
	const char *code[CW_HTTP_ERRPATHS];
	const char *msg[CW_HTTP_ERRPATHS];
};

/*
 * A short, printable description of an error reply for messages: "HTTP 404",
 * then " CODE" and ": MESSAGE" where the body (a JSON object) has them where
 * fmt says (fmt NULL: the status alone). At most n bytes into buf, control
 * characters dropped, the code cut at 80 bytes and the message at 300 (and at
 * its first line break). Returns buf.
 */
char *cw_http_describe(const struct cw_http_resp *resp, const struct cw_http_errfmt *fmt,
    char *buf, size_t n);

#endif
