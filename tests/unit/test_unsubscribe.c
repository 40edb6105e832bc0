/* test_unsubscribe.c: the unsubscribe token against vectors made elsewhere, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cw/core/util.h"
#include "cw/net/unsubscribe.h"

/*
 * The vectors come from Python's hmac and base64, not from this code:
 *
 *   import hmac, hashlib, base64
 *   k = b"unit-test-unsubscribe-key-0123456789"
 *   b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
 *   t = lambda a: b(a) + "." + b(hmac.new(k, a, hashlib.sha256).digest())
 *   t(b"jane.doe+carts@example.com"), t(b"o@ex.io"), t(b"not an address"),
 *   t(b"Jane@example.com"), t(b"a\0b@example.com")
 */
static const char key[] = "unit-test-unsubscribe-key-0123456789";
static const char jane[] =
    "amFuZS5kb2UrY2FydHNAZXhhbXBsZS5jb20.ZwJdLpnZxPIzPBztwTfBTn0XXr2ASJYsQQ81tQF4y7A";
static const char o_ex[] = "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc";
static const char signed_not_addr[] =
    "bm90IGFuIGFkZHJlc3M.CKGBMZ0VvINF7EH-y3-nPzDX8vzyvFGGX7grwtinCuc";
static const char signed_upper[] =
    "SmFuZUBleGFtcGxlLmNvbQ.FbNG3xkQqnwB0RoZNGrygmEDXqei-LY_VEbxo2XzGjw";
static const char signed_nul[] =
    "YQBiQGV4YW1wbGUuY29t.p_aS0sEfwOdkmqQAN3SuC59vrTjKCZw-cDKt4gTM2iE";

static void
test_known_answer(void **state)
{
	char *t, *addr;
	cw_err e;

	(void)state;
	/* Made from the address in any case: the token is the lowercase one's. */
	t = cw_unsub_token(key, strlen(key), "Jane.Doe+Carts@EXAMPLE.com", &e);
	assert_non_null(t);
	assert_string_equal(t, jane);
	free(t);
	t = cw_unsub_token(key, strlen(key), "o@ex.io", &e);
	assert_string_equal(t, o_ex);
	free(t);

	assert_int_equal(cw_unsub_check(key, strlen(key), jane, &addr, &e), 0);
	assert_string_equal(addr, "jane.doe+carts@example.com");
	free(addr);
	assert_int_equal(cw_unsub_check(key, strlen(key), o_ex, &addr, &e), 0);
	assert_string_equal(addr, "o@ex.io");
	free(addr);
}

/* token is refused, with a reason holding want. */
static void
refused(const char *k, const char *token, const char *want)
{
	char *addr = (char *)"untouched";
	cw_err e = {""};

	if (cw_unsub_check(k, strlen(k), token, &addr, &e) != -1)
		fail_msg("accepted: \"%s\"", token);
	assert_null(addr);
	if (strstr(e.msg, want) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", token, e.msg, want);
}

/* jane's token with its character at i replaced by c. */
static char *
with(const char *token, size_t i, char c)
{
	char *t = cw_strdup(token);

	t[i] = c;
	return t;
}

static void
test_refusals(void **state)
{
	size_t dot = strchr(o_ex, '.') - o_ex, n = strlen(o_ex);
	char *t, *long_one;

	(void)state;
	refused(key, "", "empty");
	long_one = cw_malloc(CW_UNSUB_TOKEN_MAX + 2);
	memset(long_one, 'A', CW_UNSUB_TOKEN_MAX + 1);
	long_one[10] = '.';
	long_one[CW_UNSUB_TOKEN_MAX + 1] = '\0';
	refused(key, long_one, "longer");
	free(long_one);
	refused(key, "b0BleC5pbw", "two parts");
	refused(key, "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc.x", "two parts");
	refused(key, ".crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc", "empty");
	refused(key, "b0BleC5pbw.", "empty");

	/* Not strict base64url: padding, the standard alphabet, blanks. */
	refused(key, "b0BleC5pbw==.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc", "base64url");
	refused(key, "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc=", "base64url");
	refused(key, "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp/bvt16ZDZSEc", "base64url");
	refused(key, "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc\n", "base64url");
	refused(key, " b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc", "base64url");
	/* A part one character over a whole group cannot be base64. */
	refused(key, "b0BleC5pbwAAA.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc", "base64url");
	/*
	 * The last character of "b0BleC5pbw" carries four bits that are no
	 * data: "b0BleC5pbx" decodes to the same address, so a lax decoder
	 * would take this altered token as the genuine one. Likewise the
	 * MAC's last character, which carries two unused bits.
	 */
	t = with(o_ex, dot - 1, 'x');
	refused(key, t, "base64url");
	free(t);
	t = with(o_ex, n - 1, 'd');
	refused(key, t, "base64url");
	free(t);

	/* Altered: another address under the same MAC, or a changed MAC. */
	t = with(o_ex, dot - 2, 'a');
	refused(key, t, "does not match");
	free(t);
	t = with(o_ex, dot + 5, o_ex[dot + 5] == 'A' ? 'B' : 'A');
	refused(key, t, "does not match");
	free(t);
	/* Truncated: the MAC short of a byte or more, the address cut. */
	t = cw_strndup(o_ex, n - 1);  /* which leaves bits over, too */
	refused(key, t, "base64url");
	free(t);
	t = cw_strndup(o_ex, n - 3);
	refused(key, t, "not 32 bytes");
	free(t);
	refused(key, "b0BleC5pbw.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEcAAAA", "not 32 bytes");
	refused(key, "b0BleC5p.crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc", "does not match");
	/* Forged: made with another key. */
	refused("another-key-of-enough-length", o_ex, "does not match");

	/* Signed with the key, but not what cw_unsub_token() makes. */
	refused(key, signed_not_addr, "not an email address");
	refused(key, signed_upper, "lower case");
	refused(key, signed_nul, "NUL");
}

static void
test_keys_and_addresses(void **state)
{
	char *addr;
	cw_err e;

	(void)state;
	/* A key too short to be a secret is refused both ways. */
	assert_null(cw_unsub_token("short", 5, "o@ex.io", &e));
	assert_non_null(strstr(e.msg, "shorter than 16"));
	assert_int_equal(cw_unsub_check("", 0, o_ex, &addr, &e), -1);
	assert_null(addr);
	assert_non_null(strstr(e.msg, "shorter than 16"));
	/* No token for what is not an address; the message does not repeat it. */
	assert_null(cw_unsub_token(key, strlen(key), "not an address", &e));
	assert_non_null(strstr(e.msg, "not an email address"));
	assert_null(strstr(e.msg, "not an address"));
	assert_null(cw_unsub_token(key, strlen(key), "", &e));
	assert_null(cw_unsub_token(key, strlen(key), "a@b@example.com", &e));
}

static void
test_url(void **state)
{
	char *u;

	(void)state;
	u = cw_unsub_url("https://shop.example.com/u?t={token}&again={token}", "a.b");
	assert_string_equal(u, "https://shop.example.com/u?t=a.b&again=a.b");
	free(u);
	u = cw_unsub_url("https://shop.example.com/u/{token}", o_ex);
	assert_string_equal(u, "https://shop.example.com/u/b0BleC5pbw."
	    "crdQ7hELiZl4oJr4V9kCdEpZHRkEzQp_bvt16ZDZSEc");
	free(u);
	u = cw_unsub_url("https://shop.example.com/{tok}", "x");
	assert_string_equal(u, "https://shop.example.com/{tok}");
	free(u);
}

/* The longest address makes a token within CW_UNSUB_TOKEN_MAX, which checks. */
static void
test_longest(void **state)
{
	char addr[255], *t, *back;
	cw_err e;

	(void)state;
	/* 64 + 1 + 63 + 1 + 63 + 1 + 61 = 254 octets */
	memset(addr, 'a', 64);
	addr[64] = '@';
	memset(addr + 65, 'b', 63);
	addr[128] = '.';
	memset(addr + 129, 'c', 63);
	addr[192] = '.';
	memset(addr + 193, 'd', 61);
	addr[254] = '\0';
	t = cw_unsub_token(key, strlen(key), addr, &e);
	assert_non_null(t);
	assert_int_equal(strlen(t), CW_UNSUB_TOKEN_MAX);
	assert_int_equal(cw_unsub_check(key, strlen(key), t, &back, &e), 0);
	assert_string_equal(back, addr);
	free(back);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_keys_and_addresses),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_longest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
