/* test_ndjson: the record driver and checked output. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/ndjson.h"
#include "cw/tool.h"
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

		freopen("/dev/null", "w", stderr);
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

/* Names the record's Id in a warning, as the stages name a cart. */
static int
name_cart(const struct cw_rec *rec, void *ctx)
{
	(void)ctx;
	cw_rec_warn(rec, "cart %s: bad", json_string_value(json_object_get(rec->json, "Id")));
	return CW_REC_BAD;
}

/* How many bytes of s a terminal would act on: C0 but the line ends, DEL, C1. */
static int
controls(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n = 0;

	for (; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7F ||
		    (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
			n++;
	return n;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_record_data_cannot_forge_a_line(void **state)
{
	/* A newline to forge a line, ESC and C1 CSI to drive the terminal, a bidi
	 * override to reorder it; letters of other scripts and \ stay as they are. */
	static const char in[] =
	    "{\"Id\":\"x\\ntest_ndjson: forged\"}\n"
	    "{\"Id\":\"\\u001b[2J\\r\\t\\u007f\"}\n"
	    "{\"Id\":\"\\u009b31m\\u0085\\u202eevil\\u2028\"}\n"
	    "{\"Id\":\"Zo\u00eb \\\\n \u65e5\"}\n"
	    "{\"Id\":\"\x1b]0;raw\"}\n";
	struct capture cap;
	FILE *f = input(in, sizeof(in) - 1);
	char *err;

	(void)state;
	capture_begin(&cap);
	assert_int_equal(cw_ndjson_loop(f, "<stdin>", name_cart, NULL, NULL), CW_EXIT_FAIL);
	err = capture_end(&cap);
	assert_int_equal(count_lines(err), 5);
	assert_int_equal(controls(err), 0);
	assert_null(strstr(err, "\ntest_ndjson: forged"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:1: cart x\\ntest_ndjson: forged: bad\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:2: cart \\x1b[2J\\r\\t\\x7f: bad\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:3: cart \\u009b31m\\u0085\\u202eevil\\u2028: bad\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:4: cart Zo\u00eb \\n \u65e5: bad\n"));
	/* not JSON (a raw control byte in a string): Jansson quotes the line */
	assert_non_null(strstr(err, "test_ndjson: <stdin>:5: not JSON: "));
	free(err);
	fclose(f);
}

static char *
escaped(const char *s, size_t n)
{
	struct cw_buf b = CW_BUF_INIT;

	cw_escape(&b, s, n);
	return cw_buf_detach(&b);
}

static void
test_escape(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "plain text: 100%", 16, "plain text: 100%" },
		{ "a\0b", 3, "a\\x00b" },
		{ "\x01\x1f\x7f", 3, "\\x01\\x1f\\x7f" },
		{ "not UTF-8: \xff\xfe", 13, "not UTF-8: \\xff\\xfe" },
		{ "overlong LF \xc0\x8a", 14, "overlong LF \\xc0\\x8a" },
		{ "surrogate \xed\xa0\x80", 13, "surrogate \\xed\\xa0\\x80" },
		{ "cut \xe2\x82", 6, "cut \\xe2\\x82" },
		{ "past U+10FFFF \xf4\x90\x80\x80", 18, "past U+10FFFF \\xf4\\x90\\x80\\x80" },
		{ "\xc2\x9b\xc2\xa0", 4, "\\u009b\xc2\xa0" },  /* CSI escaped, NBSP kept */
		{ "\xe2\x80\x8f\xe2\x81\xa6\xd8\x9c", 8, "\\u200f\\u2066\\u061c" },
		{ "\xf0\x9f\x9b\x92 \xe2\x82\xac", 8, "\xf0\x9f\x9b\x92 \xe2\x82\xac" },
		{ "C:\\x1b", 6, "C:\\x1b" },  /* a backslash stays: escaping twice is a no-op */
	};
	char *once, *twice;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		once = escaped(cases[i].in, cases[i].n);
		assert_string_equal(once, cases[i].out);
		twice = escaped(once, strlen(once));
		assert_string_equal(twice, once);
		free(once);
		free(twice);
	}
}

static void
test_messages_are_one_line(void **state)
{
	struct capture cap;
	char *err, big[5000];

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[100] = '\n';
	capture_begin(&cap);
	cw_warnx("server said: %s", big);
	errno = ENOENT;
	cw_warn("%s", "a\nb");
	err = capture_end(&cap);
	assert_int_equal(count_lines(err), 2);
	assert_true(strncmp(err, "test_ndjson: server said: yyy", 29) == 0);
	assert_non_null(strstr(err, "yyy\\nyyy"));
	assert_non_null(strstr(err, "y...\ntest_ndjson: a\\nb: No such file or directory\n"));
	assert_true(strlen(err) < 2200);  /* cut, not 5 KB */
	free(err);
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
		cmocka_unit_test(test_record_data_cannot_forge_a_line),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_messages_are_one_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
