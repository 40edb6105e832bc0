/* test_email: the one address check, and the two places that use it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cw/mail/mime.h"
#include "cw/net/email.h"
#include "cw/notify/result.h"

/* n copies of c */
static char *
rep(char *dst, int c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
	return dst;
}

static void
test_good(void **state)
{
	static const char *const good[] = {
		"a@example.com",
		"olivia.smith@example.com",
		"a.b+tag@mail.example.co.uk",
		"!#$%&'*+-/=?^_`{|}~@example.com",      /* every atext character */
		"user@xn--bcher-kva.example",           /* an IDN in its ASCII form */
		"user@xn--80ak6aa92e.xn--p1ai",
		"x@a-b.example",
		"1234@1.example",
		"o'brien@example.ie",
		"UPPER@EXAMPLE.COM",
	};
	cw_err why;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		if (cw_email_check(good[i], CW_EMAIL_RECIPIENT, &why) != 0)
			fail_msg("refused \"%s\": %s", good[i], why.msg);
		assert_int_equal(cw_email_valid(good[i]), 1);
	}
}

static void
test_bad(void **state)
{
	/* address, what the reason must say */
	static const char *const bad[][2] = {
		{"bad;addr@example.com", "\";\" in the local part"},
		{"", "empty"},
		{"no-at.example.com", "no \"@\""},
		{"@example.com", "nothing before the \"@\""},
		{"a@", "nothing after the \"@\""},
		{"a@b@example.com", "\"@\" in the local part"},
		{"\"quoted\"@example.com", "a quoted local part"},
		{"\"a b\"@example.com", "a quoted local part"},
		{"a b@example.com", "a space in the local part"},
		{"a,b@example.com", "\",\" in the local part"},
		{"a<b@example.com", "\"<\" in the local part"},
		{"a(b)@example.com", "\"(\" in the local part"},
		{"a\\b@example.com", "\"\\\" in the local part"},
		{".a@example.com", "a dot at the start or end"},
		{"a.@example.com", "a dot at the start or end"},
		{"a..b@example.com", "two dots in a row"},
		{"zoë@example.com", "a non-ASCII local part"},
		{"user@bücher.example", "a non-ASCII domain"},
		{"user@xn--bcher-kva.example\xc2\xa0", "a non-ASCII domain"},
		{"a@localhost", "a domain of one label"},
		{"a@example", "a domain of one label"},
		{"a@exa_mple.com", "\"_\" in the domain"},
		{"a@exa mple.com", "a space in the domain"},
		{"a@example.com.", "an empty label"},
		{"a@.example.com", "an empty label"},
		{"a@b..example", "an empty label"},
		{"a@-example.com", "starts or ends with a hyphen"},
		{"a@example-.com", "starts or ends with a hyphen"},
		{"a@192.0.2.1", "last label is all digits"},
		{"a@[192.0.2.1]", "an address literal"},
		{"a@example.com\r\nBcc: victim@example.com", "control characters (byte 0x0d)"},
		{"a\tb@example.com", "control characters (byte 0x09)"},
		{"a@example.com\x7f", "control characters (byte 0x7f)"},
		{"<a@example.com>", "\"<\" in the local part"},
	};
	cw_err why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (cw_email_check(bad[i][0], CW_EMAIL_RECIPIENT, &why) == 0)
			fail_msg("accepted \"%s\"", bad[i][0]);
		if (strstr(why.msg, bad[i][1]) == NULL)
			fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i][0], why.msg, bad[i][1]);
		assert_int_equal(cw_email_valid(bad[i][0]), 0);
	}
	assert_int_equal(cw_email_valid(NULL), 0);
}

static void
test_lengths(void **state)
{
	char local[80], l1[70], l2[70], l3[70], addr[400];
	cw_err why;

	(void)state;
	/* the local part: 64 octets, not 65 */
	snprintf(addr, sizeof(addr), "%s@example.com", rep(local, 'x', 64));
	assert_int_equal(cw_email_check(addr, CW_EMAIL_RECIPIENT, &why), 0);
	snprintf(addr, sizeof(addr), "%s@example.com", rep(local, 'x', 65));
	assert_int_equal(cw_email_check(addr, CW_EMAIL_RECIPIENT, &why), -1);
	assert_non_null(strstr(why.msg, "local part longer than 64 octets"));

	/* the whole: 254 octets (64 + 1 + 63.63.61), not 255 */
	snprintf(addr, sizeof(addr), "%s@%s.%s.%s", rep(local, 'x', 64), rep(l1, 'a', 63),
	    rep(l2, 'b', 63), rep(l3, 'c', 61));
	assert_int_equal(strlen(addr), 254);
	if (cw_email_check(addr, CW_EMAIL_RECIPIENT, &why) != 0)
		fail_msg("254 octets refused: %s", why.msg);
	snprintf(addr, sizeof(addr), "%s@%s.%s.%s", rep(local, 'x', 64), rep(l1, 'a', 63),
	    rep(l2, 'b', 63), rep(l3, 'c', 62));
	assert_int_equal(strlen(addr), 255);
	assert_int_equal(cw_email_check(addr, CW_EMAIL_RECIPIENT, &why), -1);
	assert_non_null(strstr(why.msg, "longer than 254 octets"));

	/* a label: 63 octets, not 64 */
	snprintf(addr, sizeof(addr), "a@%s.com", rep(l1, 'a', 63));
	assert_int_equal(cw_email_check(addr, CW_EMAIL_RECIPIENT, &why), 0);
	snprintf(addr, sizeof(addr), "a@%s.com", rep(l1, 'a', 64));
	assert_int_equal(cw_email_check(addr, CW_EMAIL_RECIPIENT, &why), -1);
	assert_non_null(strstr(why.msg, "label longer than 63 octets"));
}

/* Our own sender may be cartwatch@localhost or an address literal; nothing else
 * is looser. */
static void
test_sender(void **state)
{
	static const char *const good[] = {
		"cartwatch@localhost", "a@[192.0.2.1]", "a@[IPv6:2001:db8::1]", "a@example.com",
	};
	static const char *const bad[] = {
		"bad;addr@localhost", "a@[192.0.2.256]", "a@[IPv6:zz::1]", "a@[example.com]",
		"a@[192.0.2.1", "\"q\"@localhost", "a@1234",
	};
	cw_err why;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (cw_email_check(good[i], CW_EMAIL_SENDER, &why) != 0)
			fail_msg("refused \"%s\": %s", good[i], why.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (cw_email_check(bad[i], CW_EMAIL_SENDER, &why) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
}

/* The record check and the MIME builder both use it: they can no longer
 * disagree about an address. */
static void
test_users(void **state)
{
	json_t *rec = json_pack("{s:s,s:s,s:s,s:[]}", "notificationId", "n1", "cartId", "c1",
	    "email", "bad;addr@example.com", "orderDetails");
	cw_err why;
	cw_err e;

	(void)state;
	assert_int_equal(cw_notification_check(rec, &why), -1);
	assert_string_equal(why.msg, "not an email address: \";\" in the local part");
	/* e may be NULL: cw_email_valid() asks only yes or no */
	assert_int_equal(cw_email_check("a;b@example.com", CW_EMAIL_RECIPIENT, NULL), -1);
	assert_int_equal(cw_mail_addr_check("bad;addr@example.com", &e), -1);
	assert_string_equal(e.msg, "not an email address: \";\" in the local part");
	json_object_set_new(rec, "email", json_string("good.addr@example.com"));
	assert_int_equal(cw_notification_check(rec, &why), 0);
	assert_int_equal(cw_mail_addr_check("good.addr@example.com", &e), 0);
	json_decref(rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_users),
	};

	return cmocka_run_group_tests_name("email", tests, NULL, NULL);
}
