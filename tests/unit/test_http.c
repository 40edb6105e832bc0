/* test_http: URL policy, redaction, server-requested waits, retry classes, error descriptions. */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cw/core/clock.h"
#include "cw/net/http.h"

static void
test_url_policy(void **state)
{
	static const char *const good[] = {
		"https://example.vault.azure.net/secrets/x",
		"http://127.0.0.1:8080/kv",
		"http://127.9.9.9/",
		"http://localhost:1/",
		"http://[::1]:80/",
		"http://169.254.169.254/metadata/identity/oauth2/token",
	};
	static const char *const bad[] = {
		"http://10.0.0.1/",
		"http://example.com/",
		"http://127.0.0.1.example.com/",
		"http://[::2]/",
		"ftp://127.0.0.1/",
		"file:///etc/passwd",
		"not a url",
		"",
	};
	cw_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_int_equal(cw_http_url_allowed(good[i], &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		e.msg[0] = '\0';
		assert_int_equal(cw_http_url_allowed(bad[i], &e), -1);
		assert_true(e.msg[0] != '\0');
	}
	cw_http_url_allowed("http://example.com/", &e);
	assert_non_null(strstr(e.msg, "plain http is allowed only to loopback"));
}

/*
 * A loopback server in a child process that answers the requests it reads,
 * in order, as its script says, one letter a request:
 *   k  200 "ok", connection kept alive   c  200 "ok", then close
 *   d  drop: read the request, close     h  hang 3 s, then close
 *   t  200 with its body cut short       5  500
 *   3  503 Retry-After: 0                4  429 Retry-After: 0
 *   r  503 Retry-After: 99999999999999999
 * It writes one byte to a pipe per request read: what the service got.
 */
struct server {
	pid_t pid;
	int port;
	int count;   /* pipe it counts requests into */
};

static void
reply(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one request (headers and a Content-Length body); 0 at EOF. */
static int
read_request(int fd)
{
	char buf[65536], *end, *cl;
	size_t len = 0;
	ssize_t r;
	long want;

	for (;;) {
		if (len == sizeof(buf) - 1 || (r = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
			return 0;
		len += (size_t)r;
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	cl = strcasestr(buf, "\r\nContent-Length:");
	want = cl != NULL && cl < end ? strtol(cl + 17, NULL, 10) : 0;
	want -= (long)(len - (size_t)(end + 4 - buf));
	while (want > 0 && (r = read(fd, buf, sizeof(buf))) > 0)
		want -= r;
	return 1;
}

static void
serve(int lfd, const char *script, int count)
{
	struct pollfd p[8];
	nfds_t n = 1;

	p[0].fd = lfd;
	p[0].events = POLLIN;
	for (;;) {
		if (poll(p, n, -1) < 0)
			_exit(1);
		if ((p[0].revents & POLLIN) && n < 8) {
			p[n].fd = accept(lfd, NULL, NULL);
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		for (nfds_t i = 1; i < n; i++) {
			int close_it = 1;

			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read_request(p[i].fd)) {
				reply(count, "x");
				switch (*script != '\0' ? *script++ : '?') {
				case 'k':
					reply(p[i].fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
					close_it = 0;
					break;
				case 'c':
					reply(p[i].fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
					    "Connection: close\r\n\r\nok");
					break;
				case 'h':
					sleep(3);
					break;
				case 't':
					reply(p[i].fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
					    "Connection: close\r\n\r\n[{\"status\":");
					break;
				case '5':
					reply(p[i].fd, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n"
					    "Connection: close\r\n\r\n");
					break;
				case '3':
					reply(p[i].fd, "HTTP/1.1 503 Busy\r\nRetry-After: 0\r\n"
					    "Content-Length: 0\r\nConnection: close\r\n\r\n");
					break;
				case '4':
					reply(p[i].fd, "HTTP/1.1 429 Slow\r\nRetry-After: 0\r\n"
					    "Content-Length: 0\r\nConnection: close\r\n\r\n");
					break;
				case 'r':
					reply(p[i].fd, "HTTP/1.1 503 Busy\r\nRetry-After: "
					    "99999999999999999\r\nContent-Length: 0\r\n"
					    "Connection: close\r\n\r\n");
					break;
				case 'd':
					break;
				default:
					reply(p[i].fd, "HTTP/1.1 599 Unscripted\r\nContent-Length: 0\r\n"
					    "Connection: close\r\n\r\n");
					break;
				}
			}
			if (close_it) {
				close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
}

static struct server
server_start(const char *script)
{
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof(a);
	struct server sv;
	int lfd, fds[2];

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	assert_int_equal(pipe(fds), 0);
	sv.port = ntohs(a.sin_port);
	if ((sv.pid = fork()) == 0) {
		/* A failed assertion skips server_stop(): never outlive the test. */
		alarm(10);
		close(fds[0]);
		serve(lfd, script, fds[1]);
		_exit(0);
	}
	assert_true(sv.pid > 0);
	close(lfd);
	close(fds[1]);
	sv.count = fds[0];
	return sv;
}

/* Stops the server; returns how many requests it read. */
static int
server_stop(struct server *sv)
{
	char buf[64];
	ssize_t r;
	int n = 0;

	kill(sv->pid, SIGKILL);
	waitpid(sv->pid, NULL, 0);
	while ((r = read(sv->count, buf, sizeof(buf))) > 0)
		n += (int)r;
	close(sv->count);
	return n;
}

struct outcome {
	int rc, status, uncertain, attempts, received;
	char msg[sizeof(((cw_err *)0)->msg)];
};

/* Sends one POST under retry class k to a server that follows script. */
static struct outcome
post(const char *script, enum cw_retry k)
{
	struct cw_http_opts o;
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	struct server sv = server_start(script);
	struct outcome out;
	struct cw_http *h;
	char *url = cw_asprintf("http://127.0.0.1:%d/send", sv.port);
	cw_err e = {{0}};

	cw_http_opts_default(&o);
	o.max_attempts = 3;
	o.backoff_ms = 1;
	o.backoff_max_ms = 1;
	o.timeout_ms = 500;
	h = cw_http_new(&o);
	req.service = "Test";
	req.method = "POST";
	req.url = url;
	req.body = "{\"to\":\"a@example.com\"}";
	req.body_len = strlen(req.body);
	req.retry = k;
	out.rc = cw_http_do(h, &req, &resp, &e);
	out.status = (int)resp.status;
	out.uncertain = resp.uncertain;
	out.attempts = resp.attempts;
	memcpy(out.msg, e.msg, sizeof(out.msg));
	cw_http_resp_free(&resp);
	cw_http_free(h);
	free(url);
	out.received = server_stop(&sv);
	return out;
}

static void
test_retry_idempotent(void **state)
{
	struct outcome o;

	(void)state;
	/* The old behaviour, right for reads: a lost answer is asked again. */
	o = post("dc", CW_RETRY_ANY);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.received, 2);
	assert_int_equal(o.uncertain, 0);
	o = post("5c", CW_RETRY_ANY);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.received, 2);
}

static void
test_retry_unsent_lost_answer(void **state)
{
	static const char *const lost[] = {"dc", "hc", "tc"};
	struct outcome o;

	(void)state;
	for (size_t i = 0; i < sizeof(lost) / sizeof(*lost); i++) {
		for (enum cw_retry k = CW_RETRY_UNSENT; k <= CW_RETRY_UNSENT_5XX; k++) {
			o = post(lost[i], k);
			assert_int_equal(o.rc, -1);
			assert_int_equal(o.uncertain, 1);
			assert_int_equal(o.received, 1);
			assert_int_equal(o.attempts, 1);
			assert_non_null(strstr(o.msg, "outcome unknown"));
		}
	}
}

static void
test_retry_unsent_refusals(void **state)
{
	struct outcome o;

	(void)state;
	/* 429 and 503 with Retry-After refuse before doing anything. */
	o = post("43c", CW_RETRY_UNSENT);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.received, 3);
	/* A bare 500 may come after the work: answered, not repeated. */
	o = post("5c", CW_RETRY_UNSENT);
	assert_int_equal(o.rc, 0);
	assert_int_equal(o.status, 500);
	assert_int_equal(o.received, 1);
	assert_int_equal(o.uncertain, 0);
	/* ... unless the service documents a 5xx as not processed. */
	o = post("5c", CW_RETRY_UNSENT_5XX);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.received, 2);
}

static void
test_retry_unsent_never_connected(void **state)
{
	struct cw_http_opts o;
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	struct cw_http *h;
	cw_err e;

	(void)state;
	cw_http_opts_default(&o);
	o.max_attempts = 3;
	o.backoff_ms = 1;
	o.backoff_max_ms = 1;
	h = cw_http_new(&o);
	req.service = "Test";
	req.method = "POST";
	req.url = "http://127.0.0.1:9/send";  /* discard: nobody listens */
	req.body = "{}";
	req.body_len = 2;
	req.retry = CW_RETRY_UNSENT;
	assert_int_equal(cw_http_do(h, &req, &resp, &e), -1);
	/* Nothing went out: trying again is safe, and was done. */
	assert_int_equal(resp.uncertain, 0);
	assert_int_equal(resp.attempts, 3);
	assert_non_null(strstr(e.msg, "after 3 attempts"));
	cw_http_resp_free(&resp);
	cw_http_free(h);
}

static void
test_no_resend_on_kept_alive(void **state)
{
	struct cw_http_opts o;
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	struct server sv = server_start("kdc");
	struct cw_http *h;
	char *url = cw_asprintf("http://127.0.0.1:%d/x", sv.port);
	cw_err e;

	(void)state;
	cw_http_opts_default(&o);
	o.backoff_ms = 1;
	o.backoff_max_ms = 1;
	h = cw_http_new(&o);
	req.service = "Test";
	req.method = "GET";
	req.url = url;
	assert_int_equal(cw_http_do(h, &req, &resp, &e), 0);
	cw_http_resp_free(&resp);
	/* The send after a read must not ride the kept-alive connection: libcurl
	 * would re-send it by itself when that closes without an answer. */
	req.method = "POST";
	req.body = "{}";
	req.body_len = 2;
	req.retry = CW_RETRY_UNSENT;
	assert_int_equal(cw_http_do(h, &req, &resp, &e), -1);
	assert_int_equal(resp.uncertain, 1);
	cw_http_resp_free(&resp);
	cw_http_free(h);
	free(url);
	assert_int_equal(server_stop(&sv), 2);
}

static void
test_retry_wait_too_long(void **state)
{
	struct outcome o;

	(void)state;
	o = post("rc", CW_RETRY_ANY);
	assert_int_equal(o.rc, -1);
	assert_int_equal(o.received, 1);
	assert_non_null(strstr(o.msg, "Test asks to wait over "));
	assert_non_null(strstr(o.msg, "more than Cartwatch.Http.MaxRetryWaitMs (120000 ms)"));
}

static void
check_redact(const char *url, const char *want)
{
	char *got = cw_url_redact(url);

	assert_string_equal(got, want);
	free(got);
}

static void
test_url_redact(void **state)
{
	cw_err e;

	(void)state;
	check_redact("https://user:PW@host.example/p?q=1", "https://user:***@host.example/p?q=1");
	check_redact("http://u:p:w@127.0.0.1:99999/kv", "http://u:***@127.0.0.1:99999/kv");
	check_redact("https://TOKEN@host/", "https://***@host/");
	check_redact("https://host/a@b", "https://host/a@b");
	check_redact("https://host/", "https://host/");
	check_redact("u:PW@host", "u:***@host");
	check_redact("", "");
	/* An '@' in the password itself: the last one ends the userinfo. */
	check_redact("https://u:P@W@host/", "https://u:***@host/");
	/* The "not a URL" message never shows the password (port out of range). */
	assert_int_equal(cw_http_url_allowed("http://user:PW@127.0.0.1:99999/kv", &e), -1);
	assert_non_null(strstr(e.msg, "not a URL"));
	assert_null(strstr(e.msg, "PW"));
	assert_non_null(strstr(e.msg, "user:***@127.0.0.1:99999"));
}

static void
check_trim(const char *url, const char *want)
{
	char *got = cw_url_trim_slash(url);

	assert_string_equal(got, want);
	free(got);
}

static void
test_url_trim_slash(void **state)
{
	(void)state;
	check_trim("https://login.microsoftonline.com/", "https://login.microsoftonline.com");
	check_trim("https://host/Commerce///", "https://host/Commerce");
	check_trim("https://host/a/b", "https://host/a/b");
	check_trim("/", "");
	check_trim("", "");
}

static long
wait_for(const char *name, const char *value, time_t now)
{
	struct cw_http_hdr h = {(char *)name, (char *)value};
	struct cw_http_resp r = {0};

	r.hdrs = &h;
	r.nhdrs = name ? 1 : 0;
	return cw_http_retry_after_ms(&r, now);
}

static void
test_retry_after(void **state)
{
	time_t now = 1700000000;
	char date[CW_RFC1123_MAX];

	(void)state;
	assert_int_equal(wait_for(NULL, NULL, now), -1);
	assert_int_equal(wait_for("x-ms-retry-after-ms", "1500", now), 1500);
	assert_int_equal(wait_for("Retry-After", "3", now), 3000);
	assert_int_equal(wait_for("retry-after", "0", now), 0);
	cw_rfc1123_format(now + 10, date);
	assert_int_equal(wait_for("Retry-After", date, now), 10000);
	cw_rfc1123_format(now - 10, date);
	assert_int_equal(wait_for("Retry-After", date, now), 0);
	assert_int_equal(wait_for("X-RateLimit-Reset", "1700000005", now), 5000);
	assert_int_equal(wait_for("X-RateLimit-Reset", "1699999990", now), 0);
	assert_int_equal(wait_for("X-RateLimit-Reset", "7", now), 7000);
	/* negative: what does not parse asks for nothing */
	assert_int_equal(wait_for("Retry-After", "soon", now), -1);
	assert_int_equal(wait_for("x-ms-retry-after-ms", "-5", now), -1);
	assert_int_equal(wait_for("X-Other", "5", now), -1);
	/* Huge numbers saturate instead of overflowing (UBSan watches). */
	assert_true(wait_for("Retry-After", "99999999999999999", now) == LONG_MAX);
	assert_true(wait_for("Retry-After", "999999999999999999999999", now) == LONG_MAX);
	assert_true(wait_for("X-RateLimit-Reset", "99999999999999999", now) == LONG_MAX);
	assert_true(wait_for("x-ms-retry-after-ms", "99999999999999999999", now) == LONG_MAX);
	assert_true(wait_for("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT", now) > 0);
}

static void
test_retry_after_precedence(void **state)
{
	struct cw_http_hdr h[] = {
		{"Retry-After", "9"},
		{"x-ms-retry-after-ms", "250"},
	};
	struct cw_http_resp r = {0};

	(void)state;
	r.hdrs = h;
	r.nhdrs = 2;
	/* Cosmos DB's millisecond header is the more precise one. */
	assert_int_equal(cw_http_retry_after_ms(&r, 0), 250);
}

/* Shapes as the service layers write theirs; http.c knows none of them. */
static const struct cw_http_errfmt vault = {{"error.code"}, {"error.message"}};
static const struct cw_http_errfmt oauth = {{"error", "code"}, {"error_description", "message"}};
static const struct cw_http_errfmt flat = {{"code"}, {"message"}};
static const struct cw_http_errfmt emarsys = {{NULL}, {"replyText"}};
static const struct cw_http_errfmt retail = {{"error.code", "code", "ErrorResourceId"},
    {"error.message", "message", "LocalizedMessage"}};
static const struct cw_http_errfmt sendgrid = {{NULL}, {"errors.0.message"}};

static const char *
describe(long status, const char *body, const struct cw_http_errfmt *fmt)
{
	static char buf[512];
	struct cw_http_resp r = {0};

	r.status = status;
	r.body = (char *)body;
	r.body_len = body ? strlen(body) : 0;
	return cw_http_describe(&r, fmt, buf, sizeof(buf));
}

static void
test_describe(void **state)
{
	(void)state;
	assert_string_equal(describe(404,
	    "{\"error\":{\"code\":\"SecretNotFound\",\"message\":\"A secret with (name/id) x was not found.\"}}",
	    &vault), "HTTP 404 SecretNotFound: A secret with (name/id) x was not found.");
	/* Entra ID's trace lines are cut off. */
	assert_string_equal(describe(401,
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret.\\r\\nTrace ID: 1\"}",
	    &oauth), "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret.");
	/* App Service's bare message, through the same list. */
	assert_string_equal(describe(400, "{\"statusCode\":400,\"message\":\"no identity\"}",
	    &oauth), "HTTP 400: no identity");
	assert_string_equal(describe(409, "{\"code\":\"Conflict\",\"message\":\"exists\"}", &flat),
	    "HTTP 409 Conflict: exists");
	assert_string_equal(describe(400, "{\"replyCode\":1,\"replyText\":\"Invalid key\"}",
	    &emarsys), "HTTP 400: Invalid key");
	assert_string_equal(describe(400,
	    "{\"ErrorResourceId\":\"Microsoft_Dynamics_Commerce_Runtime_InvalidRequest\","
	    "\"LocalizedMessage\":\"Bad OUN\"}", &retail),
	    "HTTP 400 Microsoft_Dynamics_Commerce_Runtime_InvalidRequest: Bad OUN");
	/* An empty code is still the code: the first string found wins. */
	assert_string_equal(describe(404,
	    "{\"error\":{\"code\":\"\",\"message\":\"no route\"},\"code\":\"x\"}", &retail),
	    "HTTP 404 : no route");
	assert_string_equal(describe(401,
	    "{\"errors\":[{\"message\":\"bad key\",\"field\":null}]}", &sendgrid),
	    "HTTP 401: bad key");
	/* Names match in any case; a number on an object is a member's name. */
	assert_string_equal(describe(401, "{\"Errors\":[{\"Message\":\"a\"}]}", &sendgrid),
	    "HTTP 401: a");
	assert_string_equal(describe(401, "{\"errors\":{\"0\":{\"message\":\"b\"}}}", &sendgrid),
	    "HTTP 401: b");
	/* What is not a string, or not there, is not shown. */
	assert_string_equal(describe(401, "{\"errors\":[]}", &sendgrid), "HTTP 401");
	assert_string_equal(describe(401, "{\"errors\":[{\"message\":7}]}", &sendgrid),
	    "HTTP 401");
	assert_string_equal(describe(400, "{\"error\":\"x\"}", &vault), "HTTP 400");
	/* One service's shape is not read for another. */
	assert_string_equal(describe(400, "{\"replyText\":\"Invalid key\"}", &vault), "HTTP 400");
	assert_string_equal(describe(409, "{\"code\":\"Conflict\",\"message\":\"exists\"}", NULL),
	    "HTTP 409");
	assert_string_equal(describe(502, "<html>Bad gateway</html>", &flat), "HTTP 502");
	assert_string_equal(describe(502, "[\"message\"]", &flat), "HTTP 502");
	assert_string_equal(describe(503, NULL, &flat), "HTTP 503");
	assert_string_equal(describe(400, "{\"message\":\"a\\u0007b\"}", &flat), "HTTP 400: ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_url_trim_slash),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_retry_after_precedence),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_retry_idempotent),
		cmocka_unit_test(test_retry_unsent_lost_answer),
		cmocka_unit_test(test_retry_unsent_refusals),
		cmocka_unit_test(test_retry_unsent_never_connected),
		cmocka_unit_test(test_no_resend_on_kept_alive),
		cmocka_unit_test(test_retry_wait_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
