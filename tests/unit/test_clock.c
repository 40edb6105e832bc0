/* test_clock.c: ISO 8601 and RFC 1123 parsing and formatting, and the CARTWATCH_NOW business clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cw/core/clock.h"
#include "cw/core/util.h"

#define T0 1714558830	/* 2024-05-01T10:20:30Z */

static void
parses(const char *s, time_t sec, long nsec)
{
	struct timespec t = { -1, -1 };

	if (cw_iso8601_parse(s, &t) != 0)
		fail_msg("rejected \"%s\"", s);
	if (t.tv_sec != sec || t.tv_nsec != nsec)
		fail_msg("\"%s\": got %lld.%09ld, want %lld.%09ld", s,
		    (long long)t.tv_sec, t.tv_nsec, (long long)sec, nsec);
}

static void
rejects(const char *s)
{
	struct timespec t = { 42, 43 };

	if (cw_iso8601_parse(s, &t) == 0)
		fail_msg("accepted \"%s\"", s != NULL ? s : "(null)");
	/* A failed parse leaves the caller's value alone. */
	assert_int_equal(t.tv_sec, 42);
	assert_int_equal(t.tv_nsec, 43);
}

static void
test_iso_parse_forms(void **state)
{
	(void)state;
	/* As Retail Server writes them. */
	parses("2024-05-01T10:20:30.1234567+00:00", T0, 123456700);
	parses("2024-05-01T10:20:30Z", T0, 0);
	parses("2024-05-01T10:20:30.123Z", T0, 123000000);
	/* No zone is UTC; a space may stand for the T. */
	parses("2024-05-01T10:20:30", T0, 0);
	parses("2024-05-01 10:20:30Z", T0, 0);
	parses("2024-05-01 10:20:30.5", T0, 500000000);
	parses("1970-01-01T00:00:00Z", 0, 0);
	parses("2001-09-09T01:46:40Z", 1000000000, 0);
	parses("9999-12-31T23:59:59Z", (time_t)253402300799LL, 0);
}

static void
test_iso_parse_offsets(void **state)
{
	(void)state;
	parses("2024-05-01T12:20:30+02:00", T0, 0);
	parses("2024-05-01T12:20:30+0200", T0, 0);
	parses("2024-05-01T04:50:30-05:30", T0, 0);
	parses("2024-05-01T04:50:30-0530", T0, 0);
	parses("2024-05-01T10:20:30-00:00", T0, 0);
	parses("2024-05-01T10:20:30+00:00", T0, 0);
	parses("2024-05-01T12:20:30.25+02:00", T0, 250000000);
	parses("2024-05-02T09:20:30+23:00", T0, 0);
	parses("2024-04-30T11:19:30-23:01", T0, 0);
	/* Offsets move across day, month and year ends. */
	parses("2024-01-01T01:00:00+02:00", 1704063600, 0);	/* 2023-12-31T23:00Z */
	parses("2023-12-31T20:00:00-05:00", 1704070800, 0);	/* 2024-01-01T01:00Z */
}

static void
test_iso_parse_fractions(void **state)
{
	(void)state;
	parses("2024-05-01T10:20:30.1Z", T0, 100000000);
	parses("2024-05-01T10:20:30.120Z", T0, 120000000);
	parses("2024-05-01T10:20:30.1234567Z", T0, 123456700);
	parses("2024-05-01T10:20:30.123456789Z", T0, 123456789);
	parses("2024-05-01T10:20:30.000000001Z", T0, 1);
	parses("2024-05-01T10:20:30.000000000Z", T0, 0);
	parses("2024-05-01T10:20:30.999999999Z", T0, 999999999);
	/* More than 9 digits: truncated, never rounded up into the next second. */
	parses("2024-05-01T10:20:30.1234567891Z", T0, 123456789);
	parses("2024-05-01T10:20:30.99999999999999999999999999Z", T0, 999999999);
	parses("2024-05-01T10:20:30.123456789123+02:00", T0 - 7200, 123456789);
}

static void
test_iso_parse_calendar(void **state)
{
	(void)state;
	parses("2024-02-29T00:00:00Z", 1709164800, 0);	/* leap year */
	parses("2000-02-29T12:00:00Z", 951825600, 0);	/* divisible by 400 */
	parses("2023-01-31T00:00:00Z", 1675123200, 0);
	parses("2023-04-30T00:00:00Z", 1682812800, 0);
	parses("2023-12-31T23:59:59Z", 1704067199, 0);
	rejects("2023-02-29T00:00:00Z");	/* not a leap year */
	rejects("1900-02-29T00:00:00Z");	/* divisible by 100 */
	rejects("2024-02-30T00:00:00Z");
	rejects("2024-04-31T00:00:00Z");
	rejects("2024-06-31T00:00:00Z");
	rejects("2024-01-32T00:00:00Z");
	rejects("2024-13-01T00:00:00Z");
	rejects("2024-00-01T00:00:00Z");
	rejects("2024-01-00T00:00:00Z");
	rejects("2024-01-01T24:00:00Z");
	rejects("2024-01-01T23:60:00Z");
	rejects("2024-01-01T23:59:60Z");	/* no leap seconds in time_t */
	rejects("2024-01-01T99:99:99Z");
}

static void
test_iso_parse_garbage(void **state)
{
	(void)state;
	rejects("");
	rejects("garbage");
	rejects("now");
	rejects("1714558830");
	rejects("2024-05-01");			/* date only */
	rejects("2024-05-01T10:20Z");		/* missing seconds */
	rejects("2024-05-01T10:20");
	rejects("2024-05-01T10Z");
	rejects("2024-5-01T10:20:30Z");		/* short fields */
	rejects("2024-05-1T10:20:30Z");
	rejects("2024-05-01T1:20:30Z");
	rejects("24-05-01T10:20:30Z");
	rejects("20240501T102030Z");		/* basic format */
	rejects("2024/05/01T10:20:30Z");
	rejects("2024-05-01X10:20:30Z");
	rejects("2024-05-01T10:20:30Zjunk");	/* trailing junk */
	rejects("2024-05-01T10:20:30Z ");
	rejects("2024-05-01T10:20:30 ");
	rejects("2024-05-01T10:20:30\n");
	rejects(" 2024-05-01T10:20:30Z");	/* leading space */
	rejects("+2024-05-01T10:20:30Z");
	rejects("2024-05-01T10:20:30.Z");	/* dot without digits */
	rejects("2024-05-01T10:20:30.");
	rejects("2024-05-01T10:20:30,5Z");	/* comma fraction */
	rejects("2024-05-01T10:20:30.5.5Z");
	rejects("2024-05-01T10:20:30+02");	/* hour-only offset */
	rejects("2024-05-01T10:20:30+2:00");
	rejects("2024-05-01T10:20:30+02:0");
	rejects("2024-05-01T10:20:30+02:000");
	rejects("2024-05-01T10:20:30+020");
	rejects("2024-05-01T10:20:30+24:00");	/* offset out of range */
	rejects("2024-05-01T10:20:30+02:60");
	rejects("2024-05-01T10:20:30+02:00Z");
	rejects("2024-05-01T10:20:30Z+02:00");
	rejects("2024-05-01t10:20:30z");	/* lowercase is not what we document */
	rejects("2024-05-01T10:20:30 UTC");
	rejects("2024-05-01T10:-1:30Z");
	rejects(NULL);
}

static void
formats(time_t sec, long nsec, const char *want)
{
	struct timespec t = { sec, nsec };
	char buf[CW_ISO8601_MAX];

	assert_ptr_equal(cw_iso8601_format(&t, buf), buf);
	assert_string_equal(buf, want);
}

static void
test_iso_format(void **state)
{
	(void)state;
	formats(T0, 0, "2024-05-01T10:20:30Z");
	formats(T0, 123000000, "2024-05-01T10:20:30.123Z");
	formats(T0, 123456700, "2024-05-01T10:20:30.1234567Z");
	formats(T0, 123456789, "2024-05-01T10:20:30.123456789Z");
	formats(T0, 500000000, "2024-05-01T10:20:30.5Z");
	formats(T0, 1, "2024-05-01T10:20:30.000000001Z");
	formats(T0, 10, "2024-05-01T10:20:30.00000001Z");
	formats(0, 0, "1970-01-01T00:00:00Z");
	formats(1709164800, 0, "2024-02-29T00:00:00Z");
	formats(1704063600, 0, "2023-12-31T23:00:00Z");
	formats((time_t)253402300799LL, 999999999, "9999-12-31T23:59:59.999999999Z");
	/* Before 1970: not needed, but right. */
	formats(-1, 0, "1969-12-31T23:59:59Z");
	formats((time_t)-62135596800LL, 0, "0001-01-01T00:00:00Z");
}

static void
test_iso_format_extremes(void **state)
{
	static const time_t odd[] = {
		(time_t)INT64_MAX, (time_t)INT64_MIN, (time_t)INT64_MIN + 1,
		(time_t)-86401, (time_t)253402300800LL
	};
	struct timespec t, back;
	char buf[CW_ISO8601_MAX];
	size_t i;

	(void)state;
	/* Whatever they print, out-of-range times must not crash or overflow. */
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		t.tv_sec = odd[i];
		t.tv_nsec = 999999999;
		cw_iso8601_format(&t, buf);
		assert_true(strlen(buf) < CW_ISO8601_MAX);
		assert_int_equal(buf[strlen(buf) - 1], 'Z');
	}
	/* A tv_nsec out of range is not printed as a fraction. */
	formats(T0, -5, "2024-05-01T10:20:30Z");
	formats(T0, 1000000000L, "2024-05-01T10:20:30Z");
	/* Year 10000 cannot be read back: rejected, not misread. */
	t.tv_sec = (time_t)253402300800LL;
	t.tv_nsec = 0;
	cw_iso8601_format(&t, buf);
	assert_string_equal(buf, "10000-01-01T00:00:00Z");
	assert_int_not_equal(cw_iso8601_parse(buf, &back), 0);
}

static void
test_iso_roundtrip(void **state)
{
	struct timespec t, back;
	struct tm tm;
	char buf[CW_ISO8601_MAX], want[64];
	unsigned long long x = 88172645463325252ULL;
	int i;

	(void)state;
	/* Pseudo-random times from 1970 to 9999, checked against libc's gmtime_r. */
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t.tv_sec = (time_t)(x % 253402300800ULL);
		t.tv_nsec = i % 3 == 0 ? 0 : (long)((x >> 20) % 1000000000ULL);
		cw_iso8601_format(&t, buf);
		assert_non_null(gmtime_r(&t.tv_sec, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		assert_memory_equal(buf, want, 19);
		assert_int_equal(cw_iso8601_parse(buf, &back), 0);
		assert_int_equal(back.tv_sec, t.tv_sec);
		assert_int_equal(back.tv_nsec, t.tv_nsec);
		assert_int_equal(cw_time_cmp(&back, &t), 0);
	}
	/* Every day of a leap and a common year, via the string side too. */
	for (i = 0; i < 2 * 366; i++) {
		t.tv_sec = 1704067200 + (time_t)i * 86400 + 43199;
		t.tv_nsec = 0;
		cw_iso8601_format(&t, buf);
		assert_int_equal(cw_iso8601_parse(buf, &back), 0);
		assert_int_equal(back.tv_sec, t.tv_sec);
	}
}

static void
test_rfc1123(void **state)
{
	char buf[CW_RFC1123_MAX];
	time_t t;

	(void)state;
	/* The Cosmos DB vector's date (doc/DESIGN.md section 4). */
	assert_ptr_equal(cw_rfc1123_format(783677551, buf), buf);
	assert_string_equal(buf, "Tue, 01 Nov 1994 08:12:31 GMT");
	t = 0;
	assert_int_equal(cw_rfc1123_parse("Tue, 01 Nov 1994 08:12:31 GMT", &t), 0);
	assert_int_equal(t, 783677551);

	assert_string_equal(cw_rfc1123_format(0, buf),
	    "Thu, 01 Jan 1970 00:00:00 GMT");
	assert_string_equal(cw_rfc1123_format(T0, buf),
	    "Wed, 01 May 2024 10:20:30 GMT");
	assert_string_equal(cw_rfc1123_format(1709164800, buf),
	    "Thu, 29 Feb 2024 00:00:00 GMT");
	assert_string_equal(cw_rfc1123_format(1704067199, buf),
	    "Sun, 31 Dec 2023 23:59:59 GMT");
	assert_string_equal(cw_rfc1123_format(-1, buf),
	    "Wed, 31 Dec 1969 23:59:59 GMT");
	assert_int_equal(cw_rfc1123_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_int_equal(t, 784111777);
	assert_int_equal(cw_rfc1123_parse("Thu, 29 Feb 2024 00:00:00 GMT", &t), 0);
	assert_int_equal(t, 1709164800);
}

/* An email's Date: the same day and time, and the zone RFC 5322 wants. */
static void
test_rfc5322(void **state)
{
	char buf[CW_RFC5322_MAX];

	(void)state;
	assert_ptr_equal(cw_rfc5322_format(783677551, buf), buf);
	assert_string_equal(buf, "Tue, 01 Nov 1994 08:12:31 +0000");
	assert_string_equal(cw_rfc5322_format(1709164800, buf),
	    "Thu, 29 Feb 2024 00:00:00 +0000");
	assert_string_equal(cw_rfc5322_format(253402300799LL, buf),
	    "Fri, 31 Dec 9999 23:59:59 +0000");
}

static void
test_rfc1123_reject(void **state)
{
	static const char *const bad[] = {
		"",
		"Xyz, 01 Nov 1994 08:12:31 GMT",	/* bad day name */
		"Tue, 01 Noo 1994 08:12:31 GMT",	/* bad month */
		"Mon, 01 Nov 1994 08:12:31 GMT",	/* day name contradicts date */
		"tue, 01 nov 1994 08:12:31 gmt",	/* names are case-sensitive */
		"TUE, 01 NOV 1994 08:12:31 GMT",
		"Tuesday, 01-Nov-94 08:12:31 GMT",	/* RFC 850 */
		"Tue Nov  1 08:12:31 1994",		/* asctime */
		"Tue, 1 Nov 1994 08:12:31 GMT",
		"Tue, 01 Nov 94 08:12:31 GMT",
		"Tue, 01 Nov 1994 08:12 GMT",
		"Tue, 01 Nov 1994 08:12:31 UTC",
		"Tue, 01 Nov 1994 08:12:31 +0000",
		"Tue, 01 Nov 1994 08:12:31",
		"Tue, 01 Nov 1994 08:12:31 GMT ",
		" Tue, 01 Nov 1994 08:12:31 GMT",
		"Tue,  01 Nov 1994 08:12:31 GMT",
		"Tue 01 Nov 1994 08:12:31 GMT",
		"Wed, 31 Nov 1994 08:12:31 GMT",	/* no 31 November */
		"Sun, 29 Feb 2023 00:00:00 GMT",	/* not a leap year */
		"Tue, 01 Nov 1994 24:00:00 GMT",
		"Tue, 01 Nov 1994 08:60:00 GMT",
		"Tue, 01 Nov 1994 08:12:60 GMT",
		"Tue",
		NULL
	};
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		t = 42;
		if (cw_rfc1123_parse(bad[i], &t) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42);
	}
	assert_int_not_equal(cw_rfc1123_parse(NULL, &t), 0);
}

static void
test_rfc1123_roundtrip(void **state)
{
	static const char *const wd[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	char buf[CW_RFC1123_MAX];
	struct tm tm;
	time_t t, back;
	int i;

	(void)state;
	/* Every ~37 hours for 60 years: weekday from libc, round trip through us. */
	for (i = 0; i < 15000; i++) {
		t = (time_t)i * 133331 + 7;
		cw_rfc1123_format(t, buf);
		assert_non_null(gmtime_r(&t, &tm));
		assert_memory_equal(buf, wd[tm.tm_wday], 3);
		assert_int_equal(cw_rfc1123_parse(buf, &back), 0);
		assert_int_equal(back, t);
	}
	/* Times beyond a 4-digit year are clamped to a valid date. */
	assert_string_equal(cw_rfc1123_format((time_t)INT64_MAX, buf),
	    "Fri, 31 Dec 9999 23:59:59 GMT");
	assert_int_equal(cw_rfc1123_parse(buf, &back), 0);
	assert_int_equal(back, (time_t)253402300799LL);
	assert_string_equal(cw_rfc1123_format((time_t)253402300800LL, buf),
	    "Fri, 31 Dec 9999 23:59:59 GMT");
	assert_string_equal(cw_rfc1123_format((time_t)INT64_MIN, buf),
	    "Sat, 01 Jan 0000 00:00:00 GMT");
	assert_int_equal(cw_rfc1123_parse(buf, &back), 0);
	assert_int_equal(back, (time_t)-62167219200LL);
}

static void
test_time_cmp(void **state)
{
	struct timespec a = { 10, 5 }, b = { 10, 5 };

	(void)state;
	assert_int_equal(cw_time_cmp(&a, &b), 0);
	b.tv_nsec = 6;
	assert_true(cw_time_cmp(&a, &b) < 0);
	assert_true(cw_time_cmp(&b, &a) > 0);
	b.tv_sec = 9;
	b.tv_nsec = 999999999;
	assert_true(cw_time_cmp(&a, &b) > 0);	/* seconds come first */
	assert_true(cw_time_cmp(&b, &a) < 0);
}

static void
test_now(void **state)
{
	struct timespec t, real;
	cw_err e;

	(void)state;
	/* Unset: the real clock. */
	unsetenv("CARTWATCH_NOW");
	clock_gettime(CLOCK_REALTIME, &real);
	assert_int_equal(cw_now(&t, &e), 0);
	assert_in_range(t.tv_sec, real.tv_sec, real.tv_sec + 2);

	/* Empty counts as unset. */
	setenv("CARTWATCH_NOW", "", 1);
	assert_int_equal(cw_now(&t, &e), 0);
	assert_in_range(t.tv_sec, real.tv_sec, real.tv_sec + 2);

	/* Set: taken as given, and read again on every call. */
	setenv("CARTWATCH_NOW", "2001-09-09T01:46:40Z", 1);
	assert_int_equal(cw_now(&t, &e), 0);
	assert_int_equal(t.tv_sec, 1000000000);
	assert_int_equal(t.tv_nsec, 0);
	setenv("CARTWATCH_NOW", "2024-05-01T12:20:30.25+02:00", 1);
	assert_int_equal(cw_now(&t, &e), 0);
	assert_int_equal(t.tv_sec, T0);
	assert_int_equal(t.tv_nsec, 250000000);

	/* Malformed: an error naming the variable and the value. */
	setenv("CARTWATCH_NOW", "yesterday", 1);
	memset(&e, 0, sizeof(e));
	assert_int_equal(cw_now(&t, &e), -1);
	assert_string_equal(e.msg,
	    "CARTWATCH_NOW: not an ISO 8601 time: \"yesterday\"");
	setenv("CARTWATCH_NOW", "2023-02-29T00:00:00Z", 1);
	assert_int_equal(cw_now(&t, &e), -1);
	assert_string_equal(e.msg,
	    "CARTWATCH_NOW: not an ISO 8601 time: \"2023-02-29T00:00:00Z\"");
	assert_int_equal(cw_now(&t, NULL), -1);	/* e is optional */

	/* And back to the real clock once it is gone. */
	unsetenv("CARTWATCH_NOW");
	assert_int_equal(cw_now(&t, &e), 0);
	assert_in_range(t.tv_sec, real.tv_sec, real.tv_sec + 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_parse_forms),
		cmocka_unit_test(test_iso_parse_offsets),
		cmocka_unit_test(test_iso_parse_fractions),
		cmocka_unit_test(test_iso_parse_calendar),
		cmocka_unit_test(test_iso_parse_garbage),
		cmocka_unit_test(test_iso_format),
		cmocka_unit_test(test_iso_format_extremes),
		cmocka_unit_test(test_iso_roundtrip),
		cmocka_unit_test(test_rfc1123),
		cmocka_unit_test(test_rfc1123_reject),
		cmocka_unit_test(test_rfc5322),
		cmocka_unit_test(test_rfc1123_roundtrip),
		cmocka_unit_test(test_time_cmp),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
