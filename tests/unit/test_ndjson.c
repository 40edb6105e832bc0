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
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

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
	cw_ewrite_json(f, j);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "{\"price\":49.99,\"q\":19.9,\"x\":1234.5678}\n");
	json_decref(j);
	fclose(f);
}

/* Runs cw_ewrite_json in a child against fd; returns its exit status. */
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
			cw_ewrite_json(out, j);
		fflush(out);
		cw_ewrite_json(out, j);
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

/* A JSON object of n keys k0..k(n-1), then the extra members. */
static char *
many_keys(int n, const char *extra)
{
	struct cw_buf b = CW_BUF_INIT;

	cw_buf_adds(&b, "{");
	for (int i = 0; i < n; i++)
		cw_buf_addf(&b, "%s\"k%d\":%d", i > 0 ? "," : "", i, i);
	cw_buf_addf(&b, "%s}", extra);
	return cw_buf_detach(&b);
}

static void
test_case_twins_are_bad_lines(void **state)
{
	char *big_ok = many_keys(300, ",\"Ab\":1,\"aC\":2,\"K_\":3");
	char *big_bad = many_keys(300, ",\"x\":{\"a\":1},\"K150\":1");
	struct cw_buf in = CW_BUF_INIT;
	struct cw_loop_stats st;
	struct capture cap;
	struct seen s = {0};
	FILE *f;
	char *err;

	(void)state;
	cw_buf_adds(&in, "{\"email\":\"a@example.com\",\"EMAIL\":\"b@example.com\"}\n"
	    "{\"NotificationId\":\"n1\",\"notificationId\":\"n2\"}\n"
	    "{\"a\":1,\"b\":{\"c\":2}}\n"
	    "{\"Id\":\"c\",\"CartLines\":[{\"ProductId\":1,\"productid\":2}]}\n"
	    "{\"x\":{\"y\":[1,[{\"K\":1,\"k\":2}]]}}\n"
	    "{\"a\":1,\"a\":2}\n"
	    /* twins of equal value mislead no one: Retail Server's ChannelId
	     * beside cart-fetch's channelId */
	    "{\"ChannelId\":7,\"channelId\":7,\"o\":{\"k\":[1]},\"O\":{\"k\":[1]}}\n"
	    "{\"ChannelId\":7,\"channelId\":8}\n");
	cw_buf_addf(&in, "%s\n%s\n", big_ok, big_bad);
	f = input(in.data, in.len);
	capture_begin(&cap);
	assert_int_equal(cw_ndjson_loop(f, "<stdin>", collect, &s, &st), CW_EXIT_FAIL);
	err = capture_end(&cap);
	/* only the good records reach the stage; the rest of the stream flows */
	assert_int_equal(s.n, 3);
	assert_int_equal(s.lines[0], 3);
	assert_int_equal(s.lines[1], 7);
	assert_int_equal(s.lines[2], 9);
	assert_int_equal(st.bad, 7);
	assert_non_null(strstr(err, "test_ndjson: <stdin>:1: keys \"email\" and \"EMAIL\" "
	    "differ only in case\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:2: keys \"NotificationId\" and "
	    "\"notificationId\" differ only in case\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:4: keys \"ProductId\" and "
	    "\"productid\" differ only in case (in CartLines[0])\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:5: keys \"K\" and \"k\" differ only "
	    "in case (in x.y[1][0])\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:6: not JSON: duplicate object key"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:8: keys \"ChannelId\" and \"channelId\" "
	    "differ only in case\n"));
	assert_non_null(strstr(err, "test_ndjson: <stdin>:10: keys \"k150\" and \"K150\" differ "
	    "only in case\n"));
	assert_int_equal(count_lines(err), 7);
	free(err);
	fclose(f);
	cw_buf_free(&in);
	free(big_ok);
	free(big_bad);
}

struct refusals {
	int calls;
	char why[256];
};

static int
note_refusal(const struct cw_rec *rec, void *ctx)
{
	struct refusals *r = ctx;

	r->calls++;
	if (rec->json == NULL)
		snprintf(r->why, sizeof(r->why), "%s", rec->why);
	return CW_REC_OK;
}

static void
test_loop_all_says_why(void **state)
{
	static const char in[] = "{\"email\":\"a@example.com\",\"Email\":\"b@example.com\"}\n";
	struct refusals r = {0, ""};
	struct capture cap;
	FILE *f = input(in, sizeof(in) - 1);

	(void)state;
	capture_begin(&cap);
	assert_int_equal(cw_ndjson_loop_all(f, "<stdin>", note_refusal, &r, NULL), CW_EXIT_FAIL);
	free(capture_end(&cap));
	assert_int_equal(r.calls, 1);
	assert_string_equal(r.why, "keys \"email\" and \"Email\" differ only in case");
	fclose(f);
}

/* Small objects compare every pair, big ones sort: the same pair either way. */
static void
test_case_twins_first_pair(void **state)
{
	static const char *const docs[] = {
		"{\"b\":1,\"A\":2,\"B\":3,\"a\":4}",
		"{\"p0\":0,\"p1\":0,\"p2\":0,\"p3\":0,\"p4\":0,\"p5\":0,\"p6\":0,\"p7\":0,"
		    "\"p8\":0,\"b\":1,\"A\":2,\"B\":3,\"a\":4}",
		"{\"c\":1,\"C\":1,\"b\":1,\"B\":3}",
		"{\"p0\":0,\"p1\":0,\"p2\":0,\"p3\":0,\"p4\":0,\"p5\":0,\"p6\":0,\"p7\":0,"
		    "\"P0\":0,\"b\":1,\"c\":1,\"C\":1,\"B\":3}",
	};
	const char *a, *b;
	char *where;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
		json_t *j = json_loads(docs[i], 0, NULL);

		assert_int_equal(cw_json_case_twins(j, &a, &b, &where), 1);
		assert_string_equal(a, "b");
		assert_string_equal(b, "B");
		assert_string_equal(where, "");
		free(where);
		json_decref(j);
	}
	/* where they are, through objects and arrays, every digit of an index */
	{
		json_t *j = json_loads("{\"o\":{\"L\":[0,1,2,3,4,5,6,7,8,9,10,11,"
		    "[{\"x\":[]},{\"Q\":1,\"q\":2}]]}}", 0, NULL);

		assert_int_equal(cw_json_case_twins(j, &a, &b, &where), 1);
		assert_string_equal(where, "o.L[12][1]");
		free(where);
		json_decref(j);
	}
	/* negative: keys alike but for more than ASCII case are not twins */
	{
		json_t *j = json_loads("{\"a_b\":1,\"A-B\":2,\"\\u00e9\":3,\"\\u00c9\":4,\"ab\":5}",
		    0, NULL);

		assert_int_equal(cw_json_case_twins(j, &a, &b, NULL), 0);
		json_decref(j);
	}
}

/* The timed loop reads its own way (from the descriptor): the same records,
 * line numbers and verdicts, a last line without '\n', lines past its buffer. */
static void
test_flush_loop_reads_alike(void **state)
{
	static const char in[] = "{\"a\":1}\r\n\n   \n{nope\n{\"c\":3}";
	struct cw_loop_opts o = {0, NULL, 0, 0, NULL};
	size_t big = 300 * 1024, n = big + 32;
	char *text = malloc(n);
	struct cw_loop_stats st;
	struct capture cap;
	struct seen s = {0};
	FILE *f = input(in, sizeof(in) - 1);
	char *said;
	int k;

	(void)state;
	capture_begin(&cap);
	assert_int_equal(cw_ndjson_loop_flush(f, "<stdin>", collect, &s, &o, &st), CW_EXIT_FAIL);
	said = capture_end(&cap);
	assert_non_null(strstr(said, "<stdin>:4: not JSON"));
	free(said);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.lines[0], 1);
	assert_int_equal(s.lines[1], 5);
	assert_int_equal(st.lines, 5);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.bad, 1);
	fclose(f);

	memset(&s, 0, sizeof(s));
	k = snprintf(text, n, "{\"big\":\"");
	memset(text + k, 'x', big);
	k += (int)big;
	k += snprintf(text + k, n - (size_t)k, "\"}\n{\"a\":1}\n");
	f = input(text, (size_t)k);
	assert_int_equal(cw_ndjson_loop_flush(f, "<stdin>", collect, &s, &o, NULL), CW_EXIT_OK);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.biglen, big);
	fclose(f);
	free(text);
}

/* What the flush on a quiet input saw, and the pipe it feeds. */
struct quiet {
	struct seen s;
	int wfd;           /* the pipe's write end, -1 once closed */
	int calls;
	int at[4];         /* records seen at each call */
	int stop;          /* answer CW_REC_STOP */
};

static int
on_quiet(void *ctx)
{
	struct quiet *q = ctx;
	static const char rest[] = ":3}\n";

	q->at[q->calls++] = q->s.n;
	if (q->stop)
		return CW_REC_STOP;
	if (q->calls == 1)
		assert_int_equal(write(q->wfd, rest, sizeof(rest) - 1), sizeof(rest) - 1);
	else {
		close(q->wfd);
		q->wfd = -1;
	}
	return CW_REC_OK;
}

static int
collect_quiet(const struct cw_rec *rec, void *ctx)
{
	return collect(rec, &((struct quiet *)ctx)->s);
}

/* Input open but quiet: flush is called once every whole line is handled (a
 * half line waits), once per quiet spell, not at the end with nothing held
 * since, and may stop the loop. */
static void
test_flush_when_input_is_quiet(void **state)
{
	static const char in[] = "{\"a\":1}\n{\"b\":2}\n{\"c\"";
	struct cw_loop_opts o = {0, on_quiet, 20, 0, NULL};
	struct quiet q = {0};
	int fds[2];
	FILE *f;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], in, sizeof(in) - 1), sizeof(in) - 1);
	q.wfd = fds[1];
	f = fdopen(fds[0], "r");
	assert_int_equal(cw_ndjson_loop_flush(f, "<stdin>", collect_quiet, &q, &o, NULL),
	    CW_EXIT_OK);
	assert_int_equal(q.calls, 2);
	assert_int_equal(q.at[0], 2);  /* the half line was not a record yet */
	assert_int_equal(q.at[1], 3);
	assert_int_equal(q.s.n, 3);
	fclose(f);

	memset(&q, 0, sizeof(q));
	q.stop = 1;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], in, 8), 8);
	f = fdopen(fds[0], "r");
	assert_int_equal(cw_ndjson_loop_flush(f, "<stdin>", collect_quiet, &q, &o, NULL),
	    CW_EXIT_FAIL);
	assert_int_equal(q.calls, 1);
	assert_int_equal(q.s.n, 1);
	close(fds[1]);
	fclose(f);
}

/* cw_ndjson_loop_flush: the order of records (r) and flushes (f), and the
 * pipe that tells the writer a flush came. */
struct order {
	char ev[16];
	int n;
	int told;          /* write end: "a flush came" */
	int stop_at_flush; /* the flush that answers STOP (1-based; 0 none) */
	int flushes;
	int rec_ms;        /* how long each record takes */
};

static int
order_rec(const struct cw_rec *rec, void *ctx)
{
	struct order *o = ctx;

	assert_non_null(rec->text);
	assert_int_equal(rec->text[rec->len - 1], '}');  /* the line, no newline */
	o->ev[o->n++] = 'r';
	if (o->rec_ms > 0)
		nanosleep(&(struct timespec){0, o->rec_ms * 1000000L}, NULL);
	return CW_REC_OK;
}

static int
order_flush(void *ctx)
{
	struct order *o = ctx;

	o->ev[o->n++] = 'f';
	if (o->told >= 0 && o->flushes == 0)  /* the writer hears of the first only */
		(void)!write(o->told, "f", 1);      /* EPIPE if it gave up waiting */
	return ++o->flushes == o->stop_at_flush ? CW_REC_STOP : CW_REC_OK;
}

/*
 * A writer that sends one line, waits (up to 5 s) to hear of a flush, then
 * sends a second and closes: a quiet input is flushed without waiting for
 * more, by idle_ms or by max_ms alone, and the end of input flushes what
 * came since.
 */
static void
test_flush_on_quiet_input(void **state)
{
	static const struct cw_loop_opts opts[] = {
		{0, order_flush, 20, 0, NULL},
		{0, order_flush, 0, 20, NULL},
	};
	int data[2], told[2];
	char c;
	pid_t pid;
	FILE *in;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct order o = {.told = -1};

		assert_int_equal(pipe(data), 0);
		assert_int_equal(pipe(told), 0);
		if ((pid = fork()) == 0) {
			struct timeval tv = {5, 0};
			fd_set fds;

			close(data[0]);
			close(told[1]);
			if (write(data[1], "{\"a\":1}\n", 8) != 8)
				_exit(1);
			FD_ZERO(&fds);
			FD_SET(told[0], &fds);
			if (select(told[0] + 1, &fds, NULL, NULL, &tv) == 1)
				(void)!read(told[0], &c, 1);
			(void)!write(data[1], "{\"b\":2}", 7);  /* the last line, no newline */
			_exit(0);
		}
		close(data[1]);
		close(told[0]);
		o.told = told[1];
		assert_non_null(in = fdopen(data[0], "r"));
		assert_int_equal(cw_ndjson_loop_flush(in, "<stdin>", order_rec, &o, &opts[i],
		    NULL), CW_EXIT_OK);
		close(told[1]);
		fclose(in);
		waitpid(pid, NULL, 0);
		assert_string_equal(o.ev, "rfrf");
	}
}

/* Three lines at once, each record taking longer than max_ms: a flush after
 * each, though the next line waits; a flush that says STOP stops reading;
 * without max_ms, and from a stream without a descriptor, one flush at the
 * end. */
static void
test_flush_while_input_waits(void **state)
{
	static const char lines[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
	struct cw_loop_opts lo = {0, order_flush, 1000, 10, NULL};
	struct order o = {.told = -1, .rec_ms = 25};
	FILE *in;

	(void)state;
	in = input(lines, sizeof(lines) - 1);
	assert_int_equal(cw_ndjson_loop_flush(in, "<stdin>", order_rec, &o, &lo, NULL),
	    CW_EXIT_OK);
	assert_string_equal(o.ev, "rfrfrf");
	fclose(in);

	o = (struct order){.told = -1, .rec_ms = 25, .stop_at_flush = 1};
	in = input(lines, sizeof(lines) - 1);
	assert_int_equal(cw_ndjson_loop_flush(in, "<stdin>", order_rec, &o, &lo, NULL),
	    CW_EXIT_FAIL);
	assert_string_equal(o.ev, "rf");
	fclose(in);

	o = (struct order){.told = -1, .rec_ms = 25};
	lo.max_ms = 0;
	in = input(lines, sizeof(lines) - 1);
	assert_int_equal(cw_ndjson_loop_flush(in, "<stdin>", order_rec, &o, &lo, NULL),
	    CW_EXIT_OK);
	assert_string_equal(o.ev, "rrrf");
	fclose(in);

	o = (struct order){.told = -1, .rec_ms = 25};
	lo.max_ms = 10;
	assert_non_null(in = fmemopen((void *)lines, sizeof(lines) - 1, "r"));
	assert_int_equal(cw_ndjson_loop_flush(in, "<stdin>", order_rec, &o, &lo, NULL),
	    CW_EXIT_OK);
	assert_string_equal(o.ev, "rrrf");
	fclose(in);
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
		cmocka_unit_test(test_case_twins_are_bad_lines),
		cmocka_unit_test(test_loop_all_says_why),
		cmocka_unit_test(test_case_twins_first_pair),
		cmocka_unit_test(test_flush_loop_reads_alike),
		cmocka_unit_test(test_flush_when_input_is_quiet),
		cmocka_unit_test(test_flush_on_quiet_input),
		cmocka_unit_test(test_flush_while_input_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
