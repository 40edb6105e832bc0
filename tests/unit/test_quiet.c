/* test_quiet.c: quiet hours in a named zone: the hours, midnight, daylight saving, the config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/quiet.h"
#include "cw/core/util.h"
#include "scratch.h"

/* A config of one QuietHours object (JSON text); its problems in *said. */
static struct cw_config *
config(const char *quiet, struct cw_quiet *q, char **said)
{
	char *path = cw_asprintf("%s/app.json", scratch);
	FILE *f = fopen(path, "w");
	struct cw_config *c;
	cw_err e;

	assert_non_null(f);
	fprintf(f, "{\"Cartwatch\": {\"QuietHours\": %s}}\n", quiet);
	fclose(f);
	c = cw_config_load(path, &e);
	assert_non_null(c);
	cw_quiet_config(q, c);
	*said = cw_config_take_said(c);
	free(path);
	return c;
}

/* Whether UTC time iso is quiet, and (when it is) when that ends, in UTC. */
static int
inside(const struct cw_quiet *q, const char *iso, char end[CW_ISO8601_MAX])
{
	struct timespec t, until = {0, 0};
	int r;

	assert_int_equal(cw_iso8601_parse(iso, &t), 0);
	r = cw_quiet_inside(q, &t, &until);
	if (end != NULL)
		cw_iso8601_format(&until, end);
	return r;
}

static void
test_hours_across_midnight_in_berlin(void **state)
{
	struct cw_quiet q;
	char *said, end[CW_ISO8601_MAX];
	struct cw_config *c = config("{\"Start\": \"22:00\", \"End\": \"07:30\", "
	    "\"TimeZone\": \"Europe/Berlin\"}", &q, &said);

	(void)state;
	assert_string_equal(said, "");
	assert_true(q.on);
	/* Winter, UTC+1: 22:00 local is 21:00Z, 07:30 local 06:30Z. */
	assert_int_equal(inside(&q, "2026-11-24T20:59:59Z", NULL), 0);
	assert_int_equal(inside(&q, "2026-11-24T21:00:00Z", end), 1);
	assert_string_equal(end, "2026-11-25T06:30:00Z");
	assert_int_equal(inside(&q, "2026-11-25T03:00:00Z", end), 1);
	assert_string_equal(end, "2026-11-25T06:30:00Z");
	assert_int_equal(inside(&q, "2026-11-25T06:29:59Z", NULL), 1);
	assert_int_equal(inside(&q, "2026-11-25T06:30:00Z", NULL), 0);
	/* Summer, UTC+2: the same local hours, an hour earlier in UTC. */
	assert_int_equal(inside(&q, "2026-07-01T20:00:00Z", end), 1);
	assert_string_equal(end, "2026-07-02T05:30:00Z");
	assert_int_equal(inside(&q, "2026-07-02T05:30:00Z", NULL), 0);
	free(said);
	cw_config_free(c);
}

static void
test_daylight_saving_nights(void **state)
{
	struct cw_quiet q;
	char *said, end[CW_ISO8601_MAX];
	struct cw_config *c = config("{\"Start\": \"01:00\", \"End\": \"05:00\", "
	    "\"TimeZone\": \"Europe/Berlin\"}", &q, &said);

	(void)state;
	assert_string_equal(said, "");
	/* 29 March 2026: 02:00 CET becomes 03:00 CEST. Quiet from 01:00
	 * CET (00:00Z) to 05:00 CEST (03:00Z): three hours of UTC. */
	assert_int_equal(inside(&q, "2026-03-28T23:59:59Z", NULL), 0);
	assert_int_equal(inside(&q, "2026-03-29T00:00:00Z", end), 1);
	assert_string_equal(end, "2026-03-29T03:00:00Z");
	assert_int_equal(inside(&q, "2026-03-29T02:59:59Z", NULL), 1);
	assert_int_equal(inside(&q, "2026-03-29T03:00:00Z", NULL), 0);
	/* 25 October 2026: 03:00 CEST becomes 02:00 CET. Quiet from 01:00
	 * CEST (23:00Z the day before) to 05:00 CET (04:00Z): five hours. */
	assert_int_equal(inside(&q, "2026-10-24T22:59:59Z", NULL), 0);
	assert_int_equal(inside(&q, "2026-10-24T23:00:00Z", end), 1);
	assert_string_equal(end, "2026-10-25T04:00:00Z");
	assert_int_equal(inside(&q, "2026-10-25T03:59:59Z", NULL), 1);
	assert_int_equal(inside(&q, "2026-10-25T04:00:00Z", NULL), 0);
	free(said);
	cw_config_free(c);
}

static void
test_a_daytime_window_in_tokyo_leaves_tz_alone(void **state)
{
	struct cw_quiet q;
	char *said;
	struct cw_config *c;

	(void)state;
	setenv("TZ", "America/New_York", 1);
	c = config("{\"Start\": \"09:00\", \"End\": \"12:00\", \"TimeZone\": \"Asia/Tokyo\"}",
	    &q, &said);
	assert_int_equal(inside(&q, "2026-11-24T23:59:59Z", NULL), 0);  /* 08:59 JST */
	assert_int_equal(inside(&q, "2026-11-25T00:00:00Z", NULL), 1);  /* 09:00 */
	assert_int_equal(inside(&q, "2026-11-25T03:00:00Z", NULL), 0);  /* 12:00 */
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
	free(said);
	cw_config_free(c);
}

static void
test_off_without_a_zone(void **state)
{
	struct cw_quiet q;
	char *said;
	struct cw_config *c = config("{}", &q, &said);

	(void)state;
	assert_string_equal(said, "");
	assert_false(q.on);
	assert_int_equal(inside(&q, "2026-11-25T03:00:00Z", NULL), 0);
	free(said);
	cw_config_free(c);
}

/* Each bad configuration is refused, naming the key; the hours stay off. */
static void
test_bad_configurations(void **state)
{
	static const struct { const char *json, *says; } bad[] = {
		{"{\"Start\": \"22:00\", \"End\": \"07:00\"}",
		    "Cartwatch.QuietHours.TimeZone: missing"},
		{"{\"Start\": \"22:00\", \"End\": \"07:00\", \"TimeZone\": \"Mars/Olympus\"}",
		    "\"Mars/Olympus\" is not a time zone"},
		{"{\"Start\": \"22:00\", \"End\": \"07:00\", \"TimeZone\": \"../../etc/passwd\"}",
		    "is not a time zone"},
		{"{\"Start\": \"22:00\", \"End\": \"07:00\", \"TimeZone\": \"/etc/localtime\"}",
		    "is not a time zone"},
		{"{\"Start\": \"24:00\", \"End\": \"07:00\", \"TimeZone\": \"UTC\"}",
		    "Cartwatch.QuietHours.Start: expected a local time \"HH:MM\", not \"24:00\""},
		{"{\"Start\": \"22:00\", \"End\": \"7:00\", \"TimeZone\": \"UTC\"}",
		    "Cartwatch.QuietHours.End: expected a local time"},
		{"{\"Start\": \"22:00\", \"TimeZone\": \"UTC\"}",
		    "Cartwatch.QuietHours.End: missing"},
		{"{\"Start\": \"08:00\", \"End\": \"08:00\", \"TimeZone\": \"UTC\"}",
		    "the same as Start"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct cw_quiet q;
		char *said;
		struct cw_config *c = config(bad[i].json, &q, &said);

		if (strstr(said, bad[i].says) == NULL)
			fail_msg("%s: said \"%s\", not \"%s\"", bad[i].json, said, bad[i].says);
		assert_true(cw_config_errors(c) > 0);
		assert_false(q.on);
		free(said);
		cw_config_free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hours_across_midnight_in_berlin),
		cmocka_unit_test(test_daylight_saving_nights),
		cmocka_unit_test(test_a_daytime_window_in_tokyo_leaves_tz_alone),
		cmocka_unit_test(test_off_without_a_zone),
		cmocka_unit_test(test_bad_configurations),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
