/* ndjson.c: the record driver and checked output shared by every stage. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

void
cw_rec_warn(const struct cw_rec *rec, const char *fmt, ...)
{
	struct cw_buf msg = CW_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	cw_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cw_buf_add(&msg, "", 0);
	cw_warnx("%s:%lu: %s", rec->src, rec->line, msg.data);
	cw_buf_free(&msg);
}

/*
 * Why a parsed line is not a record, or NULL. Every stage looks keys up
 * ignoring case, as Retail Server does, so {"email":A,"EMAIL":B} would be A to
 * one reader and B to another: the envelope to one address, To: to the other.
 */
static char *
refused(const json_t *obj)
{
	const char *a, *b;
	char *where, *why;

	if (!json_is_object(obj))
		return cw_strdup("not a JSON object");
	if (!cw_json_case_twins(obj, &a, &b, &where))
		return NULL;
	why = cw_asprintf("keys \"%.100s\" and \"%.100s\" differ only in case%s%.200s%s",
	    a, b, *where != '\0' ? " (in " : "", where, *where != '\0' ? ")" : "");
	free(where);
	return why;
}

/*
 * Hands one line (len bytes, without its newline) to fn if it is a record,
 * or reports it (and, with all, hands it over as refused). Counts it in st,
 * sets *status to CW_EXIT_FAIL when something failed, and *called when fn
 * was called. 1 when fn said stop, else 0.
 */
static int
one_line(const char *src, char *line, size_t len, cw_rec_fn fn, void *ctx, int all,
    struct cw_loop_stats *st, int *status, int *called)
{
	struct cw_rec rec = {NULL, ++st->lines, src, NULL, NULL, 0};
	json_error_t jerr;
	char *why = NULL;
	int r = CW_REC_OK;

	*called = 0;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (blank(line, len))
		return 0;
	rec.text = line;
	rec.len = len;
	rec.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec.json == NULL)
		why = cw_asprintf("not JSON: %s (column %d)", jerr.text, jerr.column);
	else
		why = refused(rec.json);
	if (why != NULL) {
		cw_rec_warn(&rec, "%s", why);
		json_decref(rec.json);
		st->bad++;
		*status = CW_EXIT_FAIL;
		if (all) {
			/* Jansson quotes the text it stopped at: a piece of a
			 * record, which should not travel on in a result. */
			rec.why = rec.json == NULL ? "not a JSON object" : why;
			rec.json = NULL;
			r = fn(&rec, ctx);
			*called = 1;
		}
		free(why);
		return r == CW_REC_STOP;
	}
	st->records++;
	r = fn(&rec, ctx);
	*called = 1;
	json_decref(rec.json);
	if (r == CW_REC_BAD) {
		st->bad++;
		*status = CW_EXIT_FAIL;
	} else if (r == CW_REC_STOP)
		*status = CW_EXIT_FAIL;
	return r == CW_REC_STOP;
}

static int
loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx, struct cw_loop_stats *stats,
    int all)
{
	struct cw_loop_stats st = {0, 0, 0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = CW_EXIT_OK, called;

	while ((n = getline(&line, &cap, in)) != -1) {
		size_t len = (size_t)n;

		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (one_line(src, line, len, fn, ctx, all, &st, &status, &called))
			break;
	}
	if (ferror(in)) {
		cw_warn("%s: read error", src);
		status = CW_EXIT_FAIL;
	}
	free(line);
	if (stats != NULL)
		*stats = st;
	return status;
}

/* Input read from a file descriptor, so that a wait for it can time out. */
struct reader {
	int fd;
	char *buf;
	size_t start, end, cap;  /* the bytes not handed out yet: buf[start, end) */
	size_t scanned;          /* buf[start, scanned) holds no newline */
	int eof, error;          /* error: an errno */
};

static long long
ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits until r->fd can be read or deadline (ms_now() time; -1: none)
 * passes: 1 readable, 0 timed out. */
static int
wait_input(struct reader *r, long long deadline)
{
	struct pollfd p = {r->fd, POLLIN, 0};
	long long left;
	int n;

	do {
		left = deadline < 0 ? -1 : deadline - ms_now();
		if (deadline >= 0 && left <= 0)
			return 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		r->error = errno;
	return n != 0;
}

/*
 * The next line, without its newline, in *line (r's own, valid until the
 * next call) and *len: 1; 0 at the end of input or on a read error; -1 when
 * no whole line came before deadline (-1: wait as long as it takes).
 */
static int
next_line(struct reader *r, long long deadline, char **line, size_t *len)
{
	for (;;) {
		char *nl = r->end > r->scanned ?
		    memchr(r->buf + r->scanned, '\n', r->end - r->scanned) : NULL;
		ssize_t n;

		if (nl != NULL || ((r->eof || r->error) && r->start < r->end)) {
			*line = r->buf + r->start;
			*len = nl != NULL ? (size_t)(nl - *line) : r->end - r->start;
			r->start = r->scanned = nl != NULL ? (size_t)(nl + 1 - r->buf) : r->end;
			return 1;
		}
		if (r->eof || r->error)
			return 0;
		r->scanned = r->end;
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->scanned -= r->start;
			r->start = 0;
		}
		if (r->end == r->cap)
			r->buf = cw_realloc(r->buf, r->cap = r->cap ? 2 * r->cap : 65536);
		if (deadline >= 0 && !wait_input(r, deadline))
			return -1;
		if ((n = read(r->fd, r->buf + r->end, r->cap - r->end)) > 0)
			r->end += (size_t)n;
		else if (n == 0)
			r->eof = 1;
		else if (errno == EAGAIN)
			wait_input(r, -1);  /* a non-blocking descriptor */
		else if (errno != EINTR)
			r->error = errno;
	}
}

int
cw_ndjson_loop_flush(FILE *in, const char *src, cw_rec_fn fn, cw_flush_fn flush,
    int flush_ms, void *ctx, struct cw_loop_stats *stats)
{
	struct cw_loop_stats st = {0, 0, 0};
	struct reader r = {fileno(in), NULL, 0, 0, 0, 0, 0, 0};
	long long due = -1;  /* when the records handed since the last flush are */
	int status = CW_EXIT_OK, stop = 0, got, called;
	char *line;
	size_t len;

	while (!stop && (got = next_line(&r, due, &line, &len)) != 0) {
		if (got > 0) {
			stop = one_line(src, line, len, fn, ctx, 0, &st, &status, &called);
			if (called && due < 0)
				due = ms_now() + flush_ms;
		}
		if (due >= 0 && (got < 0 || stop || ms_now() >= due)) {
			due = -1;
			if (flush(ctx) == CW_REC_STOP) {
				status = CW_EXIT_FAIL;
				stop = 1;
			}
		}
	}
	if (due >= 0 && flush(ctx) == CW_REC_STOP)
		status = CW_EXIT_FAIL;
	if (r.error != 0) {
		errno = r.error;
		cw_warn("%s: read error", src);
		status = CW_EXIT_FAIL;
	}
	free(r.buf);
	if (stats != NULL)
		*stats = st;
	return status;
}

int
cw_ndjson_loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	return loop(in, src, fn, ctx, stats, 0);
}

int
cw_ndjson_loop_all(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	return loop(in, src, fn, ctx, stats, 1);
}

void
cw_output_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* A record leaves as soon as its outcome is known: the next stage starts
	 * on it at once, and a killed stage loses no record it has decided. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static void
write_failed(void)
{
	/* EPIPE and ENOSPC end the tool: nobody can read what we would write. */
	cw_warn("write error");
	exit(CW_EXIT_FAIL);
}

void
cw_ewrite_line(FILE *out, const char *s, size_t n)
{
	if (fwrite(s, 1, n, out) != n || putc('\n', out) == EOF)
		write_failed();
}

void
cw_ewrite_lines(FILE *out, const char *s, size_t n)
{
	if (n > 0 && fwrite(s, 1, n, out) != n)
		write_failed();
}

static int
dump_cb(const char *buf, size_t n, void *data)
{
	cw_buf_add(data, buf, n);
	return 0;
}

/*
 * Reals are printed with 15 significant digits, not Jansson's 17: a price read
 * as 49.99 must leave as 49.99, not 49.990000000000002, and every decimal with
 * up to 15 digits survives the trip through a double exactly.
 */
void
cw_json_line(struct cw_buf *b, const json_t *obj)
{
	json_dump_callback(obj, dump_cb, b, JSON_COMPACT | JSON_REAL_PRECISION(15));
	cw_buf_add(b, "\n", 1);
}

/* One fwrite per record: a line-buffered stream would otherwise take the
 * dump's many small pieces one by one. */
void
cw_ewrite_json(FILE *out, const json_t *obj)
{
	struct cw_buf b = CW_BUF_INIT;

	cw_json_line(&b, obj);
	cw_ewrite_lines(out, b.data, b.len);
	cw_buf_free(&b);
}

int
cw_output_check(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cw_warn("write error");
		return -1;
	}
	return 0;
}

void
cw_eoutput_finish(void)
{
	if (cw_output_check() != 0)
		exit(CW_EXIT_FAIL);
}
