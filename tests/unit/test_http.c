/* test_http: URL policy, server-requested waits, error descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cw/clock.h"
#include "cw/http.h"

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

static const char *
describe(long status, const char *body)
{
	static char buf[512];
	struct cw_http_resp r = {0};

	r.status = status;
	r.body = (char *)body;
	r.body_len = body ? strlen(body) : 0;
	return cw_http_describe(&r, buf, sizeof(buf));
}

static void
test_describe(void **state)
{
	(void)state;
	assert_string_equal(describe(404,
	    "{\"error\":{\"code\":\"SecretNotFound\",\"message\":\"A secret with (name/id) x was not found.\"}}"),
	    "HTTP 404 SecretNotFound: A secret with (name/id) x was not found.");
	/* Entra ID's trace lines are cut off. */
	assert_string_equal(describe(401,
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret.\\r\\nTrace ID: 1\"}"),
	    "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret.");
	assert_string_equal(describe(409, "{\"code\":\"Conflict\",\"message\":\"exists\"}"),
	    "HTTP 409 Conflict: exists");
	assert_string_equal(describe(400, "{\"replyCode\":1,\"replyText\":\"Invalid key\"}"),
	    "HTTP 400: Invalid key");
	assert_string_equal(describe(400,
	    "{\"ErrorResourceId\":\"Microsoft_Dynamics_Commerce_Runtime_InvalidRequest\","
	    "\"LocalizedMessage\":\"Bad OUN\"}"),
	    "HTTP 400 Microsoft_Dynamics_Commerce_Runtime_InvalidRequest: Bad OUN");
	assert_string_equal(describe(401,
	    "{\"errors\":[{\"message\":\"bad key\",\"field\":null}]}"), "HTTP 401: bad key");
	assert_string_equal(describe(502, "<html>Bad gateway</html>"), "HTTP 502");
	assert_string_equal(describe(503, NULL), "HTTP 503");
	assert_string_equal(describe(400, "{\"message\":\"a\\u0007b\"}"), "HTTP 400: ab");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_policy),
		cmocka_unit_test(test_url_redact),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_retry_after_precedence),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
