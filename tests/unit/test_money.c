/* test_money: prices by ICU for a language and currency, and the exact subtotal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cw/core/util.h"
#include "cw/mail/money.h"

static void
money_is(struct cw_money *m, const char *lang, const char *cur, const char *amount,
    const char *want)
{
	cw_err e;
	char *got = cw_money_format(m, lang, cur, amount, &e);

	if (got == NULL)
		fail_msg("%s %s %s: %s", lang, cur, amount, e.msg);
	if (strcmp(got, want) != 0)
		fail_msg("%s %s %s: \"%s\", not \"%s\"", lang, cur, amount, got, want);
	free(got);
}

/* A few of ICU's own answers (CLDR 42, ICU 72), to see the plumbing is
 * right: tests/0053-email.t compares many more with PyICU's. */
static void
test_format(void **state)
{
	struct cw_money *m = cw_money_new();

	(void)state;
	money_is(m, "en-us", "USD", "1234.5678", "$1,234.57");
	money_is(m, "de-de", "USD", "1234.5678", "1.234,57\xc2\xa0$");
	money_is(m, "de-DE", "eur", "19.9", "19,90\xc2\xa0\xe2\x82\xac");
	money_is(m, "de_de", "EUR", "0", "0,00\xc2\xa0\xe2\x82\xac");
	/* no decimals in yen; ties away from zero, as .NET's "C" rounds */
	money_is(m, "ja-jp", "JPY", "1234.5", "\xef\xbf\xa5" "1,235");
	money_is(m, "en-us", "USD", "0.125", "$0.13");
	money_is(m, "en-us", "USD", "-0.125", "-$0.13");
	money_is(m, "en-us", "USD", "0.135", "$0.14");
	/* beyond a double's 15-17 digits, still exact */
	money_is(m, "en-us", "USD", "123456789012345678.905", "$123,456,789,012,345,678.91");
	money_is(m, "en-us", "USD", "-5", "-$5.00");
	/* no language, or none ICU can read: English */
	money_is(m, "", "USD", "49.99", "$49.99");
	money_is(m, NULL, "USD", "49.99", "$49.99");
	money_is(m, "%%bad", "USD", "49.99", "$49.99");
	/* a plain number */
	money_is(m, "de-de", NULL, "1234.5", "1.234,5");
	money_is(m, "ar-sa", NULL, "2", "\xd9\xa2");
	cw_money_free(m);
}

static void
test_refused(void **state)
{
	struct cw_money *m = cw_money_new();
	static const char *const bad[] = { "Not Specified", "", "1e3", "1.", ".5", "--1",
	    "1,5", " 1", "0x10", "NaN", "inf" };
	cw_err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cw_money_format(m, "en", "USD", bad[i], &e) != NULL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(e.msg, "not a decimal number"));
	}
	assert_null(cw_money_format(m, "en", "US", "1", &e));
	assert_string_equal(e.msg, "not a currency code: US");
	assert_null(cw_money_format(m, "en", "U$D", "1", &e));
	assert_null(cw_money_format(m, "en", "USDX", "1", &e));
	assert_null(cw_money_format(m, "en", "USD", NULL, &e));
	cw_money_free(m);
}

/* More locales than the cache keeps: still right, nothing leaked. */
static void
test_many(void **state)
{
	static const char *const langs[] = { "en", "de", "fr", "es", "nl", "it", "pt", "sv" };
	static const char *const curs[] = { "USD", "EUR", "GBP", "JPY", "CHF" };
	struct cw_money *m = cw_money_new();
	cw_err e;

	(void)state;
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < 8; i++)
			for (size_t j = 0; j < 5; j++) {
				char *s = cw_money_format(m, langs[i], curs[j], "1", &e);

				assert_non_null(s);
				free(s);
			}
	money_is(m, "en-us", "USD", "2", "$2.00");
	cw_money_free(m);
}

static void
sum_is(const char *const *pairs, size_t n, const char *want)
{
	struct cw_sum s = CW_SUM_INIT;
	char *got;

	for (size_t i = 0; i + 1 < n; i += 2)
		cw_sum_add(&s, pairs[i], pairs[i + 1]);
	got = cw_sum_text(&s);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("a sum \"%s\" where none was due", got);
		return;
	}
	if (got == NULL)
		fail_msg("no sum, \"%s\" due", want);
	assert_string_equal(got, want);
	free(got);
}

static void
test_sum(void **state)
{
	(void)state;
	/* 0.1 + 0.2 is 0.3, not 0.30000000000000004 */
	sum_is((const char *[]){ "1", "0.1", "1", "0.2" }, 4, "0.3");
	sum_is((const char *[]){ "2", "89.5", "1", "49.99" }, 4, "228.99");
	sum_is((const char *[]){ "1", "1234.5678", "1", "99999999.99", "3", "0.1", "1", "0" },
	    8, "100001234.8578");
	sum_is((const char *[]){ "1.5", "0.333333333" }, 2, "0.4999999995");
	sum_is((const char *[]){ "1", "-5", "1", "2" }, 4, "-3");
	sum_is((const char *[]){ "0", "5" }, 2, "0");
	sum_is((const char *[]){ "1", "5.000000000000" }, 2, "5");
	sum_is((const char *[]){ "999999999", "999999999.999999999" }, 2,
	    "999999998999999999.000000001");
	sum_is(NULL, 0, "0");
	/* a line that is no number, or too long: no subtotal */
	sum_is((const char *[]){ "1", "Not Specified", "1", "24" }, 4, NULL);
	sum_is((const char *[]){ "Not specified", "24" }, 2, NULL);
	sum_is((const char *[]){ "1", "1000000000" }, 2, NULL);
	sum_is((const char *[]){ "1", "0.0000000001" }, 2, NULL);
}

/* The running sum's overflow is caught, not wrapped. */
static void
test_sum_overflow(void **state)
{
	struct cw_sum s = CW_SUM_INIT;

	(void)state;
	for (int i = 0; i < 1000 && !s.bad; i++)
		cw_sum_add(&s, "999999999", "999999999");
	assert_true(s.bad);
	assert_null(cw_sum_text(&s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_sum),
		cmocka_unit_test(test_sum_overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
