/* test_wsse.c: the Emarsys X-WSSE digest against doc/DESIGN.md's vector, and the header it goes in. */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/notify/wsse.h"

#define NONCE "d36e316282959a9ed4c89851497a717f"
#define CREATED "2014-03-20T12:51:45Z"
#define SECRET "customersecret"
#define DIGEST "YWQyNWE5Y2JkOTY2ZTU1ODg2M2QzNzVhNDZlZGQwZjg5YjZlZTk4Yw=="

static void
test_digest_vector(void **state)
{
	char *d;

	(void)state;
	d = cw_wsse_digest(NONCE, CREATED, SECRET);
	assert_non_null(d);
	assert_string_equal(d, DIGEST);
	cw_secret_free(d);
}

static void
test_digest_is_hex_text(void **state)
{
	unsigned char *raw;
	char hex[41];
	size_t n;
	char *d;

	(void)state;
	/* base64 of the 40 lowercase hex chars, not of the 20 raw bytes. */
	d = cw_wsse_digest(NONCE, CREATED, SECRET);
	raw = cw_unbase64(d, &n);
	assert_non_null(raw);
	assert_int_equal(n, 40);
	cw_sha1_hex(NONCE CREATED SECRET, strlen(NONCE CREATED SECRET), hex);
	assert_memory_equal(raw, hex, 40);
	assert_string_equal((char *)raw, "ad25a9cbd966e558863d375a46edd0f89b6ee98c");
	free(raw);
	cw_secret_free(d);
}

static void
differs(const char *nonce, const char *created, const char *secret)
{
	char *d = cw_wsse_digest(nonce, created, secret);

	assert_non_null(d);
	assert_int_equal(strlen(d), 56);
	assert_string_not_equal(d, DIGEST);
	cw_secret_free(d);
}

static void
test_digest_negative(void **state)
{
	(void)state;
	/* One byte off in any input. */
	differs("d36e316282959a9ed4c89851497a717e", CREATED, SECRET);
	differs(NONCE, "2014-03-20T12:51:46Z", SECRET);
	differs(NONCE, CREATED, "customersecreT");
	differs(NONCE, CREATED, "customersecret ");
	differs(NONCE, CREATED, "");
	/* The order is nonce, created, secret. */
	differs(CREATED, NONCE, SECRET);
	differs(SECRET, CREATED, NONCE);
}

struct hdr {
	char user[64], digest[64], nonce[64], created[64];
};

static void
copy(char *dst, size_t n, const char *s, const regmatch_t *m)
{
	size_t len = (size_t)(m->rm_eo - m->rm_so);

	assert_true(len < n);
	memcpy(dst, s + m->rm_so, len);
	dst[len] = '\0';
}

/* Splits a header value into its four fields; -1 if it is not of the form. */
static int
split(const char *s, struct hdr *h)
{
	regex_t re;
	regmatch_t m[5];
	int r;

	assert_int_equal(regcomp(&re,
	    "^UsernameToken Username=\"([^\"]*)\", "
	    "PasswordDigest=\"([A-Za-z0-9+/]{54}==)\", "
	    "Nonce=\"([0-9a-f]{32})\", "
	    "Created=\"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)\"$",
	    REG_EXTENDED), 0);
	r = regexec(&re, s, 5, m, 0);
	regfree(&re);
	if (r != 0)
		return -1;
	copy(h->user, sizeof(h->user), s, &m[1]);
	copy(h->digest, sizeof(h->digest), s, &m[2]);
	copy(h->nonce, sizeof(h->nonce), s, &m[3]);
	copy(h->created, sizeof(h->created), s, &m[4]);
	return 0;
}

static void
test_split_rejects(void **state)
{
	struct hdr h;

	(void)state;
	/* The checker itself: the vector's fields pass, anything else fails. */
	assert_int_equal(split("UsernameToken Username=\"u\", PasswordDigest=\""
	    DIGEST "\", Nonce=\"" NONCE "\", Created=\"" CREATED "\"", &h), 0);
	assert_int_equal(split("UsernameToken Username=\"u\", PasswordDigest=\""
	    DIGEST "\", Nonce=\"D36E316282959A9ED4C89851497A717F\", "
	    "Created=\"" CREATED "\"", &h), -1);
	assert_int_equal(split("UsernameToken Username=\"u\", PasswordDigest=\""
	    DIGEST "\", Nonce=\"" NONCE "\", Created=\"2014-03-20T12:51:45.5Z\"",
	    &h), -1);
	assert_int_equal(split("UsernameToken Username=\"u\", PasswordDigest=\""
	    DIGEST "\", Nonce=\"" NONCE "0\", Created=\"" CREATED "\"", &h), -1);
}

static void
check_header(const char *user, const char *secret, struct hdr *h)
{
	struct timespec c;
	time_t before, after;
	char *v, *d;

	before = time(NULL);
	v = cw_wsse_header(user, secret);
	after = time(NULL);
	assert_non_null(v);
	if (split(v, h) != 0)
		fail_msg("malformed header: %s", v);
	cw_secret_free(v);

	assert_string_equal(h->user, user);
	/* Created is the real clock, to the second. */
	assert_int_equal(cw_iso8601_parse(h->created, &c), 0);
	assert_in_range(c.tv_sec, before, after);
	assert_int_equal(c.tv_nsec, 0);
	/* The digest verifies from the header's own nonce and Created... */
	d = cw_wsse_digest(h->nonce, h->created, secret);
	assert_string_equal(h->digest, d);
	cw_secret_free(d);
	/* ...and not under another secret. */
	d = cw_wsse_digest(h->nonce, h->created, "wrong");
	assert_string_not_equal(h->digest, d);
	cw_secret_free(d);
}

static void
test_header(void **state)
{
	struct hdr a, b;

	(void)state;
	unsetenv("CARTWATCH_NOW");
	check_header("cartwatch001", SECRET, &a);
	check_header("cartwatch001", SECRET, &b);
	/* A fresh nonce every time. */
	assert_string_not_equal(a.nonce, b.nonce);
	assert_string_not_equal(a.digest, b.digest);
}

static void
test_header_ignores_business_clock(void **state)
{
	struct timespec biz;
	struct hdr h;

	(void)state;
	/* CARTWATCH_NOW moves the business clock, never the wire (DESIGN 7.2). */
	setenv("CARTWATCH_NOW", "2001-09-09T01:46:40Z", 1);
	assert_int_equal(cw_now(&biz, NULL), 0);
	assert_int_equal(biz.tv_sec, 1000000000);
	check_header("u", SECRET, &h);
	assert_memory_not_equal(h.created, "2001-", 5);
	/* Malformed CARTWATCH_NOW does not get in the way either. */
	setenv("CARTWATCH_NOW", "garbage", 1);
	check_header("u", SECRET, &h);
	unsetenv("CARTWATCH_NOW");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digest_vector),
		cmocka_unit_test(test_digest_is_hex_text),
		cmocka_unit_test(test_digest_negative),
		cmocka_unit_test(test_split_rejects),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_header_ignores_business_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
