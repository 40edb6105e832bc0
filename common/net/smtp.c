/* smtp.c: one message to one recipient over SMTP (libcurl): TLS, AUTH, retries, and a verdict. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cw/core/backoff.h"
#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/net/email.h"
#include "cw/net/http.h"
#include "cw/net/smtp.h"

struct cw_smtp {
	CURL *curl;
	char *url;         /* as configured */
	char *where;       /* scheme://host:port, for messages */
	char *from;        /* envelope sender, "<addr>" */
	char *user;
	char *password;    /* wiped on free */
	char *ca_file;
	int ssl;           /* CURLUSESSL_* */
	int max_attempts;
	long connect_timeout_ms, timeout_ms;
	struct cw_backoff backoff;
	/* What the server last said, and to which command: from the debug callback. */
	char verb[12];
	char reply[256];
	int quit;          /* QUIT sent: its "221 Bye" is not the answer we want */
};

static const char *const verbs[] = {
	"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", NULL
};

void
cw_smtp_opts_default(struct cw_smtp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tls = CW_SMTP_TLS_AUTO;
	o->max_attempts = 3;
	o->connect_timeout_ms = 10000;
	o->timeout_ms = 60000;
	o->backoff_ms = 1000;
	o->backoff_max_ms = 30000;
}

void
cw_smtp_opts_free(struct cw_smtp_opts *o)
{
	free(o->own);
	o->own = NULL;
}

/* Checks o's URL and TLS mode; *where (caller frees) is scheme://host:port,
 * *ssl the curl mode. */
static int
check_url(const struct cw_smtp_opts *o, char **where, int *ssl, cw_err *e)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pw = NULL;
	char *shown;
	int r = -1, tls = o->tls;
	CURLU *u;

	if (o->url == NULL || *o->url == '\0')
		return cw_seterr(e, "no SMTP URL");
	if ((u = curl_url()) == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		shown = cw_url_redact(o->url);
		cw_seterr(e, "not a URL: \"%.200s\"", shown);
		free(shown);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_OK) {
		/* Never echo it: it may hold a password. */
		cw_seterr(e, "%s://%s: no user or password in the URL: use "
		    "Cartwatch.Notify.Smtp.User and the vault", scheme, host);
		goto out;
	}
	if (strcmp(scheme, "smtp") != 0 && strcmp(scheme, "smtps") != 0) {
		shown = cw_url_redact(o->url);
		cw_seterr(e, "%.200s: the scheme must be smtp or smtps", shown);
		free(shown);
		goto out;
	}
	if (tls < CW_SMTP_TLS_AUTO || tls > CW_SMTP_TLS_NONE) {
		cw_seterr(e, "bad TLS mode %d", tls);
		goto out;
	}
	if (tls == CW_SMTP_TLS_AUTO)
		tls = cw_host_is_loopback(host) ? CW_SMTP_TLS_NONE : CW_SMTP_TLS_REQUIRED;
	if (strcmp(scheme, "smtps") == 0)
		tls = CW_SMTP_TLS_REQUIRED;
	if (tls != CW_SMTP_TLS_REQUIRED && !cw_host_is_loopback(host)) {
		cw_seterr(e, "%s: SMTP without TLS is allowed only to loopback; use smtps:// "
		    "or TLS \"required\"", host);
		goto out;
	}
	if (where != NULL)
		*where = cw_asprintf("%s://%s:%s", scheme, host, port);
	if (ssl != NULL)
		*ssl = tls == CW_SMTP_TLS_REQUIRED ? CURLUSESSL_ALL :
		    tls == CW_SMTP_TLS_TRY ? CURLUSESSL_TRY : CURLUSESSL_NONE;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(pw);
	curl_url_cleanup(u);
	return r;
}

/* The envelope sender of o's From, "<addr>" (caller frees), or NULL with e. */
static char *
sender(const struct cw_smtp_opts *o, cw_err *e)
{
	char *name, *addr, *s;

	if (o->from == NULL || *o->from == '\0')
		return cw_seterr(e, "no sender (From)"), NULL;
	if (cw_mail_parse(o->from, &name, &addr, e) != 0)
		return NULL;
	s = cw_asprintf("<%s>", addr);
	free(name);
	free(addr);
	return s;
}

int
cw_smtp_check(const struct cw_smtp_opts *o, cw_err *e)
{
	char *from;

	if (check_url(o, NULL, NULL, e) != 0 || (from = sender(o, e)) == NULL)
		return -1;
	free(from);
	return 0;
}

void
cw_smtp_opts_config(struct cw_smtp_opts *o, struct cw_config *c)
{
	const char *tls, *ca;
	char *from = NULL;
	cw_err e;

	cw_smtp_opts_default(o);
	o->url = cw_config_need_str(c, "Cartwatch.Notify.Smtp.Url");
	o->from = cw_config_need_str(c, "Cartwatch.Notify.Smtp.From");
	tls = cw_config_str(c, "Cartwatch.Notify.Smtp.Tls");
	if (strcasecmp(tls, "auto") == 0)
		o->tls = CW_SMTP_TLS_AUTO;
	else if (strcasecmp(tls, "required") == 0)
		o->tls = CW_SMTP_TLS_REQUIRED;
	else if (strcasecmp(tls, "try") == 0)
		o->tls = CW_SMTP_TLS_TRY;
	else if (strcasecmp(tls, "none") == 0)
		o->tls = CW_SMTP_TLS_NONE;
	else
		cw_config_bad(c, "Cartwatch.Notify.Smtp.Tls", "expected \"auto\", "
		    "\"required\", \"try\" or \"none\"");
	o->user = cw_config_str(c, "Cartwatch.Notify.Smtp.User");
	o->password_secret = cw_config_str(c, "Cartwatch.Notify.Smtp.PasswordSecretName");
	if (o->user != NULL && *o->user != '\0' &&
	    (o->password_secret == NULL || *o->password_secret == '\0'))
		cw_config_bad(c, "Cartwatch.Notify.Smtp.PasswordSecretName",
		    "missing (the vault's name for the password of User)");
	ca = cw_config_str(c, "Cartwatch.Notify.Smtp.CaFile");
	if (ca != NULL && *ca != '\0')
		o->ca_file = o->own = cw_config_resolve(c, ca);
	o->max_attempts = (int)cw_config_int(c, "Cartwatch.Notify.Smtp.MaxAttempts");
	o->connect_timeout_ms = (long)cw_config_int(c,
	    "Cartwatch.Notify.Smtp.ConnectTimeoutMs");
	o->timeout_ms = (long)cw_config_int(c, "Cartwatch.Notify.Smtp.TimeoutMs");
	o->backoff_ms = (long)cw_config_int(c, "Cartwatch.Notify.Smtp.BackoffMs");
	o->backoff_max_ms = (long)cw_config_int(c, "Cartwatch.Notify.Smtp.MaxBackoffMs");
	if (*o->url != '\0' && check_url(o, NULL, NULL, &e) != 0)
		cw_config_bad(c, "Cartwatch.Notify.Smtp.Url", "%s", e.msg);
	if (*o->from != '\0' && (from = sender(o, &e)) == NULL)
		cw_config_bad(c, "Cartwatch.Notify.Smtp.From", "%s", e.msg);
	free(from);
}

struct cw_smtp *
cw_smtp_new(const struct cw_smtp_opts *o, const char *password, cw_err *e)
{
	struct cw_smtp *s;
	char *where, *from;
	int ssl;

	if (check_url(o, &where, &ssl, e) != 0)
		return NULL;
	if ((from = sender(o, e)) == NULL) {
		free(where);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		errx(CW_EXIT_FAIL, "cannot initialise libcurl");
	s = cw_calloc(1, sizeof(*s));
	if ((s->curl = curl_easy_init()) == NULL)
		errx(CW_EXIT_FAIL, "cannot create a libcurl handle");
	s->url = cw_strdup(o->url);
	s->where = where;
	s->ssl = ssl;
	s->from = from;
	if (o->user != NULL && *o->user != '\0') {
		s->user = cw_strdup(o->user);
		s->password = cw_strdup(password != NULL ? password : "");
	}
	if (o->ca_file != NULL && *o->ca_file != '\0')
		s->ca_file = cw_strdup(o->ca_file);
	s->max_attempts = o->max_attempts > 0 ? o->max_attempts : 1;
	s->connect_timeout_ms = o->connect_timeout_ms;
	s->timeout_ms = o->timeout_ms;
	cw_backoff_init(&s->backoff, o->backoff_ms, o->backoff_max_ms);
	return s;
}

void
cw_smtp_free(struct cw_smtp *s)
{
	if (s == NULL)
		return;
	curl_easy_cleanup(s->curl);
	curl_global_cleanup();
	free(s->url);
	free(s->where);
	free(s->from);
	free(s->user);
	cw_secret_free(s->password);
	free(s->ca_file);
	free(s);
}

/*
 * Keeps the verb of the last command we sent and the last line the server
 * sent, up to a QUIT (curl quits after a refusal). Only a known verb is kept:
 * during AUTH LOGIN the lines we send are the base64 user name and password,
 * and they must go nowhere.
 */
static int
on_debug(CURL *c, curl_infotype type, char *data, size_t size, void *p)
{
	struct cw_smtp *s = p;
	size_t i, k;

	(void)c;
	if (s->quit)
		return 0;
	if (type == CURLINFO_HEADER_OUT) {
		if (size >= 4 && memcmp(data, "QUIT", 4) == 0) {
			s->quit = 1;
			return 0;
		}
		for (k = 0; k < size && k < sizeof(s->verb) - 1 && data[k] >= 'A' &&
		    data[k] <= 'Z'; k++)
			;
		for (i = 0; verbs[i] != NULL; i++)
			if (strlen(verbs[i]) == k && memcmp(verbs[i], data, k) == 0) {
				memcpy(s->verb, data, k);
				s->verb[k] = '\0';
			}
	} else if (type == CURLINFO_HEADER_IN) {
		for (i = k = 0; i < size && k < sizeof(s->reply) - 1; i++)
			if ((unsigned char)data[i] >= 0x20 && data[i] != 0x7f)
				s->reply[k++] = data[i];
		s->reply[k] = '\0';
	}
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
on_read(char *buf, size_t size, size_t nitems, void *data)
{
	struct upload *u = data;
	size_t n = size * nitems;

	if (n > u->left)
		n = u->left;
	memcpy(buf, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* Failures that another try cannot mend. */
static int
fatal_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_LOGIN_DENIED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_NOT_BUILT_IN:
		return 1;
	default:
		return 0;
	}
}

/*
 * The one retry decision for SMTP, after a try that ended with rc, the
 * server's last reply code and sent bytes of the n-byte message on the wire.
 * doc/DESIGN.md 8.1: an SMTP send is not idempotent, so a message is tried again
 * only when it provably had no effect. A server can take a message only
 * once it has the final "." after the whole body, and libcurl sends that
 * only after every byte of it: while fewer than n bytes went out
 * (CURLINFO_SIZE_UPLOAD_T counts the bytes on the wire, dot-stuffing
 * included, so a whole body counts at least n) nothing was taken, whatever
 * broke. After that only the server's reply settles it: 250 sent, 5xx
 * refused, 4xx refused for now (RFC 5321 4.2.5: the server has not taken
 * responsibility for it). A lost connection, a timeout or a reply that does
 * not parse leave it uncertain, and it is not sent again.
 */
static int
verdict(const struct cw_smtp *s, CURLcode rc, long code, curl_off_t sent, size_t n)
{
	if (rc == CURLE_OK)
		return CW_SMTP_SENT;
	if (code >= 500 && code <= 599)
		/* This message's fault only if the server had got as far as
		 * its recipient or its content. */
		return strcmp(s->verb, "RCPT") == 0 || strcmp(s->verb, "DATA") == 0 ?
		    CW_SMTP_REJECTED : CW_SMTP_FATAL;
	if (code >= 400 && code <= 499)
		return CW_SMTP_TRANSIENT;
	if (sent < 0 || sent >= (curl_off_t)n)
		return CW_SMTP_UNCERTAIN;
	return fatal_curl(rc) ? CW_SMTP_FATAL : CW_SMTP_TRANSIENT;
}

static void
setup(struct cw_smtp *s, struct curl_slist *rcpt, struct upload *up, size_t n,
    char *cerr)
{
	CURL *c = s->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)s->ssl);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->ca_file);
	if (s->user != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, s->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, s->password);
	}
	/* libcurl takes a proxy from the environment (ALL_PROXY, smtp_proxy)
	 * for SMTP too: plain smtp:// would show it the envelope, and the
	 * password when AUTH comes without STARTTLS. smtps:// is TLS from the
	 * first byte: it may go through the environment's proxy, tunnelled,
	 * never turned into HTTP requests. */
	if (strncmp(s->where, "smtps:", 6) == 0)
		curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
	else
		curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, s->from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c, CURLOPT_READDATA, up);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	/* The debug callback, not stderr, gets what VERBOSE produces. */
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, s);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
}

/* What a NOOP answers goes nowhere: libcurl would write it on stdout. */
static size_t
on_reply(char *data, size_t size, size_t nmemb, void *p)
{
	(void)data;
	(void)p;
	return size * nmemb;
}

int
cw_smtp_ping(struct cw_smtp *s, cw_err *e)
{
	char cerr[CURL_ERROR_SIZE];
	struct upload up = {"", 0};
	const char *why;
	CURLcode rc;
	long code = 0;

	s->verb[0] = s->reply[0] = cerr[0] = '\0';
	s->quit = 0;
	setup(s, NULL, &up, 0, cerr);
	/* No MAIL: without an upload and a recipient libcurl sends the
	 * custom command, then QUIT, as the connection is not kept. */
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(s->curl, CURLOPT_CUSTOMREQUEST, "NOOP");
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(s->curl, CURLOPT_FORBID_REUSE, 1L);
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_reset(s->curl);
	if (rc == CURLE_OK)
		return 0;
	why = code >= 400 && s->reply[0] != '\0' ? s->reply :
	    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc);
	return cw_seterr(e, "%s: %s%s%s", s->where, s->verb, *s->verb ? ": " : "", why);
}

int
cw_smtp_send(struct cw_smtp *s, const char *rcpt, const char *msg, size_t n,
    struct cw_smtp_result *res, cw_err *e)
{
	struct curl_slist *to;
	char cerr[CURL_ERROR_SIZE], tail[64], *who;
	const char *why;
	CURLcode rc = CURLE_OK;
	int attempt;

	memset(res, 0, sizeof(*res));
	res->status = CW_SMTP_TRANSIENT;
	if (cw_mail_addr_check(rcpt, e) != 0) {
		res->status = CW_SMTP_REJECTED;
		return res->status;
	}
	who = cw_asprintf("<%s>", rcpt);
	if ((to = curl_slist_append(NULL, who)) == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	for (attempt = 1; attempt <= s->max_attempts; attempt++) {
		struct upload up = {msg, n};
		curl_off_t sent = -1;

		if (attempt > 1)
			cw_sleep_ms(cw_backoff_ms(&s->backoff, attempt - 1));
		s->verb[0] = s->reply[0] = cerr[0] = '\0';
		s->quit = 0;
		setup(s, to, &up, n, cerr);
		rc = curl_easy_perform(s->curl);
		res->attempts = attempt;
		res->code = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &res->code);
		curl_easy_getinfo(s->curl, CURLINFO_SIZE_UPLOAD_T, &sent);
		snprintf(res->reply, sizeof(res->reply), "%s", s->reply);
		res->status = verdict(s, rc, res->code, sent, n);
		if (res->status != CW_SMTP_TRANSIENT)
			break;
	}
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, NULL);
	curl_slist_free_all(to);
	free(who);
	if (res->status == CW_SMTP_SENT)
		return res->status;

	if (res->status == CW_SMTP_REJECTED)
		snprintf(tail, sizeof(tail), "permanent, not retried");
	else if (res->status == CW_SMTP_UNCERTAIN)
		snprintf(tail, sizeof(tail), "after the message: uncertain, not retried");
	else if (res->status == CW_SMTP_FATAL)
		snprintf(tail, sizeof(tail), "not retried");
	else
		snprintf(tail, sizeof(tail), "after %d attempt%s", res->attempts,
		    res->attempts == 1 ? "" : "s");
	/* The server's own words when it had some, else curl's. */
	why = res->code >= 400 && res->reply[0] != '\0' ? res->reply :
	    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc);
	cw_seterr(e, "%s: %s%s%s (%s)", s->where, s->verb, *s->verb ? ": " : "", why, tail);
	return res->status;
}
