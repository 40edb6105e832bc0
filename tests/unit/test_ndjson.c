/* test_ndjson: the record driver and checked output. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/ndjson.h"
#include "cw/util.h"

struct seen {
	int n;
	unsigned long lines[16];
	int ret[16];       /* what the callback answers for record i */
	size_t biglen;
};

static int
collect(const struct cw_rec *rec, void *ctx)
{
	struct seen *s = ctx;
	json_t *big = json_object_get(rec->json, "big");

	if (big != NULL)
		s->biglen = json_string_length(big);
	s->lines[s->n] = rec->line;
	return s->ret[s->n++];
}

static FILE *
input(const char *s, size_t n)
{
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	rewind(f);
	return f;
}

static void
test_good_stream(void **state)
{
	static const char in[] = "{\"a\":1}\r\n\n   \n{\"b\":2}\n{\"c\":3}";
	struct cw_loop_stats st;
	struct seen s = {0};
	FILE *f = input(in, sizeof(in) - 1);

	(void)state;
	assert_int_equal(cw_ndjson_loop(f, "<stdin>", collect, &s, &st), CW_EXIT_OK);
	assert_int_equal(s.n, 3);
	/* Blank lines count in the numbering: errors must point at the real line. */
	assert_int_equal(s.lines[0], 1);
	assert_int_equal(s.lines[1], 4);
	assert_int_equal(s.lines[2], 5);  /* no final newline */
	assert_int_equal(st.lines, 5);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.bad, 0);
	fclose(f);
}

static void
test_bad_lines_reported_and_skipped(void **state)
{
	static const char in[] = "{\"a\":1}\n{nope\n[1,2]\n{\"b\":2}\n";
	struct cw_loop_stats st;
	struct capture cap;
	struct seen s = {0};
	FILE *f = input(in, sizeof(in) - 1);
	char *err;

	(void)state;
	capture_begin(&cap);
	assert_int_equal(cw_ndjson_loop(f, "<stdin>", collect, &s, &st), CW_EXIT_FAIL);
	err = capture_end(&cap);
	assert_int_equal(s.n, 2);  /* the good lines after the bad ones still flow */
	assert_int_equal(s.lines[1], 4);
	assert_int_equal(st.bad, 2);
	assert_non_null(strstr(err, "test_ndjson: <stdin>:2: not JSON"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:3: not a JSON object"));
	assert_null(strstr(err, "<stdin>:1:"));
	assert_null(strstr(err, "<stdin>:4:"));
	free(err);
	fclose(f);
}

static void
test_callback_verdicts(void **state)
{
	static const char in[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n";
	struct cw_loop_stats st;
	struct seen s = {.ret = {CW_REC_OK, CW_REC_BAD, CW_REC_STOP, CW_REC_OK}};
	FILE *f = input(in, sizeof(in) - 1);

	(void)state;
	assert_int_equal(cw_ndjson_loop(f, "in.ndjson", collect, &s, &st), CW_EXIT_FAIL);
	assert_int_equal(s.n, 3);  /* STOP ends the stream */
	assert_int_equal(st.bad, 1);
	fclose(f);

	/* negative: all OK is OK */
	memset(&s, 0, sizeof(s));
	f = input(in, sizeof(in) - 1);
	assert_int_equal(cw_ndjson_loop(f, "in.ndjson", collect, &s, NULL), CW_EXIT_OK);
	assert_int_equal(s.n, 4);
	fclose(f);
}

static void
test_line_past_one_mib(void **state)
{
	size_t big = 3 * 1024 * 1024 / 2, n = big + 32;
	char *in = malloc(n);
	struct seen s = {0};
	FILE *f;
	int k;

	(void)state;
	k = snprintf(in, n, "{\"big\":\"");
	memset(in + k, 'x', big);
	k += (int)big;
	k += snprintf(in + k, n - (size_t)k, "\"}\n{\"a\":1}\n");
	f = input(in, (size_t)k);
	assert_int_equal(cw_ndjson_loop(f, "<stdin>", collect, &s, NULL), CW_EXIT_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.biglen, big);
	fclose(f);
	free(in);
}

static void
test_reals_keep_their_decimals(void **state)
{
	json_t *j = json_pack("{s:f,s:f,s:f}", "price", 49.99, "q", 19.9, "x", 1234.5678);
	FILE *f = tmpfile();
	char line[256] = "";

	(void)state;
	cw_ndjson_write(f, j);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "{\"price\":49.99,\"q\":19.9,\"x\":1234.5678}\n");
	json_decref(j);
	fclose(f);
}

/* Runs cw_ndjson_write in a child against fd; returns its exit status. */
static int
write_in_child(int fd)
{
	pid_t pid = fork();
	int status;

	assert_true(pid != -1);
	if (pid == 0) {
		FILE *out = fdopen(fd, "w");
		json_t *j = json_pack("{s:s}", "k", "v");

		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(98);
		cw_output_init();
		for (int i = 0; i < 100000; i++)
			cw_ndjson_write(out, j);
		fflush(out);
		cw_ndjson_write(out, j);
		if (fflush(out) == EOF)
			_exit(99);  /* write errors must have exited already */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_write_errors_are_fatal(void **state)
{
	int p[2], status, fd;

	(void)state;
	/* EPIPE: the reader went away; exit 1, not death by SIGPIPE. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	status = write_in_child(p[1]);
	close(p[1]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CW_EXIT_FAIL);

	/* ENOSPC */
	fd = open("/dev/full", O_WRONLY);
	assert_true(fd >= 0);
	status = write_in_child(fd);
	close(fd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), CW_EXIT_FAIL);

	/* negative: a writable sink exits 0 */
	fd = open("/dev/null", O_WRONLY);
	status = write_in_child(fd);
	close(fd);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_stream),
		cmocka_unit_test(test_bad_lines_reported_and_skipped),
		cmocka_unit_test(test_callback_verdicts),
		cmocka_unit_test(test_line_past_one_mib),
		cmocka_unit_test(test_reals_keep_their_decimals),
		cmocka_unit_test(test_write_errors_are_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
