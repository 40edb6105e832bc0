/* test_file.c: cw_read_file, the one whole-file reader, and its refusals. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cw/core/file.h"
#include "cw/core/util.h"
#include "scratch.h"

/* A file in scratch holding n bytes of s (repeated), with mode; caller frees. */
static char *
make(const char *name, const char *s, size_t n, mode_t mode)
{
	char *path = cw_asprintf("%s/%s", scratch, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc(s[i % strlen(s)], f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/* cw_read_file's answer, and e.msg with path replaced by "PATH". */
static int
read_it(const char *path, size_t max, int flags, struct cw_buf *b, char *msg, size_t n)
{
	cw_err e = {""};
	int r = cw_read_file(path, max, flags, b, &e);
	size_t k = strlen(path);

	if (strncmp(e.msg, path, k) == 0)
		snprintf(msg, n, "PATH%s", e.msg + k);
	else
		snprintf(msg, n, "%s", e.msg);
	return r;
}

static void
test_reads(void **state)
{
	struct cw_buf b = CW_BUF_INIT;
	char msg[300], *path;

	(void)state;
	path = make("some", "abc", 20000, 0600);
	assert_int_equal(read_it(path, 20000, CW_FILE_REGULAR | CW_FILE_PRIVATE, &b,
	    msg, sizeof(msg)), 0);
	assert_int_equal(b.len, 20000);
	assert_int_equal(strlen(b.data), 20000);
	assert_memory_equal(b.data + 19998, "ab", 2);
	cw_buf_free(&b);
	free(path);
	/* An empty file is data too: a string, not NULL. */
	path = make("empty", "x", 0, 0644);
	assert_int_equal(read_it(path, 10, 0, &b, msg, sizeof(msg)), 0);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	cw_buf_free(&b);
	free(path);
}

static void
test_refusals(void **state)
{
	struct cw_buf b = CW_BUF_INIT;
	char msg[300], *path, *missing;

	(void)state;
	missing = cw_asprintf("%s/nope", scratch);
	assert_int_equal(read_it(missing, 10, 0, &b, msg, sizeof(msg)), CW_FILE_FAILED);
	assert_string_equal(msg, "PATH: No such file or directory");
	free(missing);

	/* A directory: the system's word for it, or refused as not a file. */
	assert_int_equal(read_it(scratch, 10, 0, &b, msg, sizeof(msg)), CW_FILE_FAILED);
	assert_string_equal(msg, "PATH: Is a directory");
	assert_int_equal(read_it(scratch, 10, CW_FILE_REGULAR, &b, msg, sizeof(msg)),
	    CW_FILE_FAILED);
	assert_string_equal(msg, "PATH: not a regular file");
	assert_null(b.data);

	/* Exactly max is fine, one byte more is not: known from its size, or
	 * found out while reading what has none. */
	path = make("big", "x", 11, 0600);
	assert_int_equal(read_it(path, 11, CW_FILE_REGULAR, &b, msg, sizeof(msg)), 0);
	cw_buf_free(&b);
	assert_int_equal(read_it(path, 10, CW_FILE_REGULAR, &b, msg, sizeof(msg)),
	    CW_FILE_TOO_BIG);
	assert_string_equal(msg, "PATH: File too large");
	assert_int_equal(read_it(path, 10, 0, &b, msg, sizeof(msg)), CW_FILE_TOO_BIG);
	assert_string_equal(msg, "PATH: File too large");
	assert_null(b.data);
	free(path);
	assert_int_equal(read_it("/dev/zero", 100000, 0, &b, msg, sizeof(msg)),
	    CW_FILE_TOO_BIG);
	assert_string_equal(msg, "PATH: File too large");
	assert_int_equal(read_it("/dev/zero", 100000, CW_FILE_REGULAR, &b, msg,
	    sizeof(msg)), CW_FILE_FAILED);
	assert_string_equal(msg, "PATH: not a regular file");
	assert_null(b.data);
}

static void
test_private(void **state)
{
	struct cw_buf b = CW_BUF_INIT;
	char msg[300], want[600], *path;

	(void)state;
	path = make("secrets", "{}", 2, 0640);
	assert_int_equal(read_it(path, 10, CW_FILE_PRIVATE, &b, msg, sizeof(msg)),
	    CW_FILE_EXPOSED);
	snprintf(want, sizeof(want), "PATH: readable by group or others (mode 640); "
	    "fix with: chmod 600 %s", path);
	assert_string_equal(msg, want);
	assert_null(b.data);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(read_it(path, 10, CW_FILE_PRIVATE, &b, msg, sizeof(msg)),
	    CW_FILE_EXPOSED);
	/* Without the flag the mode is the caller's business. */
	assert_int_equal(read_it(path, 10, 0, &b, msg, sizeof(msg)), 0);
	assert_string_equal(b.data, "{}");
	cw_buf_free(&b);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_private),
	};

	return cmocka_run_group_tests(tests, scratch_setup, scratch_teardown);
}
