/* smtp.h: one message to one recipient over SMTP (libcurl): TLS, AUTH, retries, and a verdict. */
#ifndef CW_SMTP_H
#define CW_SMTP_H

#include <stddef.h>
#include "cw/core/util.h"

struct cw_config;

/* How the connection is protected. smtps:// is TLS from the first byte
 * whatever this says. Without TLS nothing, not even a password, goes to a
 * host that is not loopback: TRY and NONE are refused for other hosts. */
enum cw_smtp_tls {
	CW_SMTP_TLS_AUTO,      /* NONE to loopback, REQUIRED to any other host */
	CW_SMTP_TLS_REQUIRED,  /* STARTTLS, or the message is not sent */
	CW_SMTP_TLS_TRY,       /* STARTTLS when the server offers it */
	CW_SMTP_TLS_NONE
};

struct cw_smtp_opts {
	const char *url;             /* smtp://HOST[:PORT][/EHLO-NAME] or smtps://... */
	int tls;                     /* enum cw_smtp_tls */
	const char *from;            /* mailbox: From header and envelope sender */
	const char *user;            /* AUTH user; NULL or "" for no AUTH */
	const char *password_secret; /* name of the password in the vault */
	const char *ca_file;         /* CA bundle for a private CA; NULL: the system's */
	int max_attempts;            /* tries per message, >= 1 */
	long connect_timeout_ms;     /* per try */
	long timeout_ms;             /* whole try */
	long backoff_ms;             /* first wait between tries, doubled, jittered */
	long backoff_max_ms;
	char *own;                   /* what the options own (ca_file made absolute) */
};

/* Defaults: TLS auto, 3 attempts, 10 s connect, 60 s a try, 1 s backoff up
 * to 30 s; no URL, sender or user. */
void cw_smtp_opts_default(struct cw_smtp_opts *o);

/*
 * Reads Cartwatch.Notify.Smtp.{Url (required), From (required), Tls ("auto",
 * "required", "try", "none"), User, PasswordSecretName (required with User),
 * CaFile (relative to the config file's directory), MaxAttempts,
 * ConnectTimeoutMs, TimeoutMs, BackoffMs, MaxBackoffMs}. Every problem (and a
 * URL that cw_smtp_check() refuses) is reported and counted in c. Strings are
 * borrowed from c, but for what o->own holds: free with cw_smtp_opts_free().
 */
void cw_smtp_opts_config(struct cw_smtp_opts *o, struct cw_config *c);
void cw_smtp_opts_free(struct cw_smtp_opts *o);

/* 0 if o can be used: an smtp/smtps URL without credentials in it, a TLS
 * mode that the host allows, a From mailbox. Else -1 with e. No network. */
int cw_smtp_check(const struct cw_smtp_opts *o, cw_err *e);

struct cw_smtp;  /* opaque: one libcurl handle, its connection kept between messages */

/* NULL with e when cw_smtp_check() refuses o. o's strings are copied;
 * password (NULL without AUTH) is copied and wiped on cw_smtp_free(). */
struct cw_smtp *cw_smtp_new(const struct cw_smtp_opts *o, const char *password,
    cw_err *e);
void cw_smtp_free(struct cw_smtp *s);

/*
 * What became of a message. An SMTP send is not idempotent (doc/DESIGN.md 8.1):
 * every message is sent as http.h's CW_RETRY_UNSENT requests are, tried
 * again only when it provably did not take effect; UNCERTAIN is what
 * cw_http_resp's "uncertain" is there.
 */
enum cw_smtp_status {
	CW_SMTP_SENT,       /* the server took the message (250 after DATA) */
	CW_SMTP_REJECTED,   /* refused for good, for this message: a 5xx reply to
	                     * RCPT TO, DATA or the end of the message, or a bad
	                     * recipient address. Not retried: the notification failed. */
	CW_SMTP_TRANSIENT,  /* provably not taken, still so after max_attempts: no
	                     * connection, a 4xx reply (421 greeting, MAIL FROM, RCPT
	                     * TO, DATA, or the end of the message: RFC 5321 says the
	                     * server has not taken it), or a connection lost or timed
	                     * out before the final "." of the message went out. The
	                     * server's trouble, not the record's: sending it again later
	                     * cannot deliver it twice */
	CW_SMTP_FATAL,      /* refused for good, but not because of this message:
	                     * authentication, certificate verification, STARTTLS
	                     * missing, the sender refused (5xx to MAIL FROM or
	                     * before). Not retried; every other message would fail too. */
	CW_SMTP_UNCERTAIN   /* the whole message and its final "." went out, then no
	                     * reply settled it: the connection dropped, the reply
	                     * never came within timeout_ms, or it did not parse. The
	                     * server may have taken it: not retried, so that no one
	                     * gets it twice (the result says "uncertain": true) */
};

struct cw_smtp_result {
	int status;         /* enum cw_smtp_status */
	long code;          /* the server's last reply code, 0 if none */
	int attempts;       /* tries made */
	char reply[256];    /* the server's last reply line, control characters
	                     * dropped; "" if none. When sent: its answer to the
	                     * message, often with its queue id ("250 2.0.0 Ok:
	                     * queued as 4XyZ") */
};

/*
 * Sends msg (a whole RFC 5322 message with CRLF line endings, n bytes) from
 * the configured sender to rcpt (an addr-spec), trying again (up to
 * max_attempts) only while the status is CW_SMTP_TRANSIENT. Returns
 * res->status; unless it is CW_SMTP_SENT, e says why, e.g.
 * "smtp://mail.example.com:587: RCPT: 550 5.1.1 <x@example.com>: no such user
 * (permanent, not retried)". Messages carry no password and no message
 * content. A message reaches the server at most once per call.
 *
 * Plain smtp:// never goes through a proxy, whatever the environment says
 * (ALL_PROXY, smtp_proxy): the envelope, and the AUTH exchange before
 * STARTTLS, would pass through it. smtps:// honours the environment's proxy
 * (smtps_proxy, all_proxy/ALL_PROXY, NO_PROXY), SOCKS or an HTTP proxy
 * through CONNECT: TLS is end to end, the proxy sees the host and port only.
 */
int cw_smtp_send(struct cw_smtp *s, const char *rcpt, const char *msg, size_t n,
    struct cw_smtp_result *res, cw_err *e);

/*
 * A check that sends no message: one connection up to EHLO, STARTTLS and
 * AUTH as configured, a NOOP, and QUIT; tried once. 0, or -1 with e saying
 * which step failed and the server's words ("smtp://host:587: AUTH: 535 5.7.8
 * Authentication credentials invalid").
 */
int cw_smtp_ping(struct cw_smtp *s, cw_err *e);

#endif
