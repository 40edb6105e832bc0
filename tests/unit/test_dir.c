/* test_dir.c: cw_mkdir_p, the one mkdir -p of the preview directory and the SQLite store. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cw/core/dir.h"
#include "cw/core/util.h"
#include "scratch.h"

/* The mode bits of path, or -1 if it is not a directory. */
static int
dirmode(const char *fmt, const char *arg)
{
	char *path = cw_asprintf(fmt, scratch, arg);
	struct stat st;
	int r = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? (int)(st.st_mode & 07777) : -1;

	free(path);
	return r;
}

static void
test_makes_each_missing_level(void **state)
{
	char *p = cw_asprintf("%s/a/b/c", scratch);
	mode_t old = umask(022);
	cw_err e;

	(void)state;
	assert_int_equal(cw_mkdir_p(p, 0700, &e), 0);
	assert_int_equal(dirmode("%s/%s", "a"), 0700);
	assert_int_equal(dirmode("%s/%s", "a/b"), 0700);
	assert_int_equal(dirmode("%s/%s", "a/b/c"), 0700);
	/* Again: what is there is fine, and is left as it is. */
	chmod(p, 0755);
	assert_int_equal(cw_mkdir_p(p, 0700, &e), 0);
	assert_int_equal(dirmode("%s/%s", "a/b/c"), 0755);
	umask(old);
	free(p);
}

static void
test_slashes(void **state)
{
	char *p = cw_asprintf("%s//d/e/", scratch);
	cw_err e;

	(void)state;
	assert_int_equal(cw_mkdir_p(p, 0700, &e), 0);
	assert_int_not_equal(dirmode("%s/%s", "d/e"), -1);
	free(p);
	assert_int_equal(cw_mkdir_p("/", 0700, &e), 0);
}

/* The message names the first directory that could not be made, not the last. */
static void
test_names_what_failed(void **state)
{
	char *file = cw_asprintf("%s/f", scratch), *p = cw_asprintf("%s/g/h", file);
	char *want = cw_asprintf("%s/g: %s", file, strerror(ENOTDIR));
	char longname[300];
	FILE *f = fopen(file, "w");
	cw_err e;

	(void)state;
	assert_non_null(f);
	fclose(f);
	assert_int_equal(cw_mkdir_p(p, 0700, &e), -1);
	assert_string_equal(e.msg, want);
	free(p);
	free(want);

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	p = cw_asprintf("%s/i/%s/j", scratch, longname);
	want = cw_asprintf("%s/i/%s: %s", scratch, longname, strerror(ENAMETOOLONG));
	assert_int_equal(cw_mkdir_p(p, 0700, &e), -1);
	assert_string_equal(e.msg, want);
	assert_int_not_equal(dirmode("%s/%s", "i"), -1);
	free(p);
	free(want);
	free(file);

	want = cw_asprintf(": %s", strerror(ENOENT));
	assert_int_equal(cw_mkdir_p("", 0700, &e), -1);
	assert_string_equal(e.msg, want);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_makes_each_missing_level),
		cmocka_unit_test(test_slashes),
		cmocka_unit_test(test_names_what_failed),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
