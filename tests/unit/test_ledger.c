/* test_ledger.c: the ledger's options, read from a configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/state/ledger.h"

/* A configuration of text, from a file removed again at once. */
static struct cw_config *
config(const char *text)
{
	const char *t = getenv("TMPDIR");
	char *path = cw_asprintf("%s/cwledger.XXXXXX", t != NULL && *t != '\0' ? t : "/tmp");
	int fd = mkstemp(path);
	struct cw_config *c;
	cw_err e;

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = cw_config_load(path, &e);
	unlink(path);
	free(path);
	if (c == NULL)
		fail_msg("%s", e.msg);
	return c;
}

/*
 * Without Cartwatch.Reminders there is one step, at the Exclude delay, for
 * the event the caller gives: the ledger reads no provider's section, so an
 * ExternalEventId it could not use is not its problem (a tool that reads it
 * says so).
 */
static void
test_default_step_event(void **state)
{
	struct cw_config *c = config("{\"RetailServerClientOptions\": "
	    "{\"OperatingUnitNumber\": \"128\", "
	    "\"ExcludeAbandonedCartsModifiedSinceLastMinutes\": 15}, "
	    "\"EmarsysClientOptions\": {\"ExternalEventId\": {\"not\": \"a string\"}}}");
	struct cw_ledger_opts o;
	json_t *step;
	char *said;

	(void)state;
	cw_ledger_config(&o, c, "4242");
	said = cw_config_take_said(c);
	assert_string_equal(said, "");
	assert_int_equal(cw_config_errors(c), 0);
	assert_int_equal(json_array_size(o.steps), 1);
	step = json_array_get(o.steps, 0);
	assert_int_equal(json_integer_value(json_object_get(step, "after")), 15 * 60);
	assert_string_equal(json_string_value(json_object_get(step, "event")), "4242");
	assert_string_equal(o.oun, "128");
	free(said);
	cw_ledger_opts_free(&o);

	cw_ledger_config(&o, c, NULL);
	assert_int_equal(cw_config_errors(c), 0);
	assert_true(json_is_null(json_object_get(json_array_get(o.steps, 0), "event")));
	cw_ledger_opts_free(&o);
	cw_config_free(c);
}

/* With Cartwatch.Reminders, each step says its own; event is not used. */
static void
test_reminder_steps(void **state)
{
	struct cw_config *c = config("{\"RetailServerClientOptions\": "
	    "{\"OperatingUnitNumber\": \"128\"}, \"Cartwatch\": {\"Reminders\": ["
	    "{\"AfterMinutes\": 10, \"ExternalEventId\": \"1\"}, {\"AfterMinutes\": 60}]}}");
	struct cw_ledger_opts o;

	(void)state;
	cw_ledger_config(&o, c, "4242");
	assert_int_equal(cw_config_errors(c), 0);
	assert_int_equal(json_array_size(o.steps), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(o.steps, 0),
	    "event")), "1");
	assert_true(json_is_null(json_object_get(json_array_get(o.steps, 1), "event")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(o.steps, 1),
	    "after")), 3600);
	cw_ledger_opts_free(&o);
	cw_config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_step_event),
		cmocka_unit_test(test_reminder_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
