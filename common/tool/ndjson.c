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

#include "cw/core/clock.h"
#include "cw/core/jscan.h"
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

json_t *
cw_rec_scanload(const char *text, size_t len)
{
	json_t *v = cw_json_scanload(text, len);

	/* The scanner takes arrays too; a record is an object. */
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* One loop's state: what to call, when to flush, and what happened so far. */
struct run {
	const char *src;
	cw_rec_fn fn;
	void *ctx;
	const struct cw_loop_opts *o;
	struct cw_loop_stats st;
	int status;
	int held;          /* fn was called since the last flush */
	long long due;     /* held: when max_ms runs out (cw_monotonic_ms() time); else -1 */
};

/* Calls fn; the first call since the last flush starts the max_ms clock. */
static int
hand(struct run *rn, const struct cw_rec *rec)
{
	if (!rn->held) {
		rn->held = 1;
		if (rn->o->max_ms > 0)
			rn->due = cw_monotonic_ms() + rn->o->max_ms;
	}
	return rn->fn(rec, rn->ctx);
}

/* Lets what fn holds go (o->flush, if any): 1 when it said stop. */
static int
flush(struct run *rn)
{
	rn->held = 0;
	rn->due = -1;
	if (rn->o->flush == NULL || rn->o->flush(rn->ctx) != CW_REC_STOP)
		return 0;
	rn->status = CW_EXIT_FAIL;
	return 1;
}

/* Handles one line as read, its '\n' included or not: 1 to stop reading. */
static int
one_line(struct run *rn, const char *line, size_t len)
{
	struct cw_rec rec = {NULL, ++rn->st.lines, rn->src, NULL, NULL, 0};
	json_error_t jerr;
	char *why = NULL;
	int r;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (blank(line, len))
		return 0;
	rec.text = line;
	rec.len = len;
	if (rn->o->slim == NULL || (rec.json = rn->o->slim(line, len)) == NULL) {
		rec.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (rec.json == NULL)
			why = cw_asprintf("not JSON: %s (column %d)", jerr.text, jerr.column);
		else
			why = refused(rec.json);
	}
	if (why != NULL) {
		cw_rec_warn(&rec, "%s", why);
		json_decref(rec.json);
		rn->st.bad++;
		rn->status = CW_EXIT_FAIL;
		r = CW_REC_OK;
		if (rn->o->all) {
			/* Jansson quotes the text it stopped at: a piece of a
			 * record, which should not travel on in a result. */
			rec.why = rec.json == NULL ? "not a JSON object" : why;
			rec.json = NULL;
			r = hand(rn, &rec);
		}
		free(why);
		return r == CW_REC_STOP;
	}
	rn->st.records++;
	r = hand(rn, &rec);
	json_decref(rec.json);
	if (r == CW_REC_BAD) {
		rn->st.bad++;
		rn->status = CW_EXIT_FAIL;
	} else if (r == CW_REC_STOP) {
		rn->status = CW_EXIT_FAIL;
		return 1;
	}
	return 0;
}

static void
loop_file(FILE *in, struct run *rn)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, in)) != -1)
		if (one_line(rn, line, (size_t)n))
			break;
	if (ferror(in)) {
		cw_warn("%s: read error", rn->src);
		rn->status = CW_EXIT_FAIL;
	}
	free(line);
}

/*
 * Lines straight from a file descriptor, so that we know when none is left
 * buffered: only then may we wait for input, and only then is it quiet. Bytes
 * buf[start, end) are unread; those before scan hold no '\n'.
 */
struct reader {
	int fd;
	char *buf;
	size_t cap, start, scan, end;
	int eof, error;    /* error: an errno */
};

/*
 * Waits until r->fd can be read, for at most idle_ms (-1: no limit) and not
 * past due (an cw_monotonic_ms() time; -1: none; already past: no wait at all): 1
 * readable (or a poll error, left in r->error), 0 not in time.
 */
static int
wait_input(struct reader *r, int idle_ms, long long due)
{
	struct pollfd p = {r->fd, POLLIN, 0};
	long long end = idle_ms >= 0 ? cw_monotonic_ms() + idle_ms : -1, left;
	int n;

	if (due >= 0 && (end < 0 || due < end))
		end = due;
	for (;;) {
		left = end < 0 ? -1 : end - cw_monotonic_ms();
		if (end >= 0 && left <= 0)
			return 0;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n != -1 || errno != EINTR)
			break;
	}
	if (n == -1)
		r->error = errno;
	return n != 0;
}

/*
 * The next line, its '\n' included if it has one, in *line (r's own, valid
 * until the next call) and *len: 1; 0 at the end of input or on a read error
 * (r->error). When no whole line is buffered and idle_ms or due is given, -1
 * if no input came in time (wait_input): the input is quiet, or due.
 */
static int
next_line(struct reader *r, int idle_ms, long long due, const char **line, size_t *len)
{
	for (;;) {
		char *nl = r->end > r->scan ?
		    memchr(r->buf + r->scan, '\n', r->end - r->scan) : NULL;
		ssize_t n;

		r->scan = nl != NULL ? (size_t)(nl + 1 - r->buf) : r->end;
		if (nl != NULL || ((r->eof || r->error) && r->start < r->end)) {
			*line = r->buf + r->start;
			*len = r->scan - r->start;
			r->start = r->scan;
			return 1;
		}
		if (r->eof || r->error)
			return 0;
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->scan -= r->start;
			r->start = 0;
		}
		if (r->end == r->cap)
			r->buf = cw_realloc(r->buf, r->cap = r->cap ? 2 * r->cap : 65536);
		/* Bytes of a line are input too: each read starts idle_ms anew. */
		if ((idle_ms >= 0 || due >= 0) && !wait_input(r, idle_ms, due))
			return -1;
		if (r->error)
			continue;
		if ((n = read(r->fd, r->buf + r->end, r->cap - r->end)) > 0)
			r->end += (size_t)n;
		else if (n == 0)
			r->eof = 1;
		else if (errno == EAGAIN)
			wait_input(r, -1, -1);  /* a non-blocking descriptor */
		else if (errno != EINTR)
			r->error = errno;
	}
}

/* Reads fd, flushing when input is quiet with something held, or due. */
static void
loop_fd(int fd, struct run *rn)
{
	struct reader r = {fd, NULL, 0, 0, 0, 0, 0, 0};
	int idle_ms = rn->o->flush != NULL && rn->o->idle_ms > 0 ? rn->o->idle_ms : -1;
	int stop = 0, got;
	const char *line;
	size_t len;

	while (!stop && (got = next_line(&r, rn->held ? idle_ms : -1, rn->due,
	    &line, &len)) != 0) {
		if (got > 0)
			stop = one_line(rn, line, len);
		if (rn->held && (got < 0 || (rn->due >= 0 && cw_monotonic_ms() >= rn->due)))
			stop = flush(rn) || stop;
	}
	if (r.error != 0) {
		errno = r.error;
		cw_warn("%s: read error", rn->src);
		rn->status = CW_EXIT_FAIL;
	}
	free(r.buf);
}

/* The one loop: timed reads the descriptor of in, to be able to wait. */
static int
drive(FILE *in, const char *src, cw_rec_fn fn, void *ctx, const struct cw_loop_opts *o,
    int timed, struct cw_loop_stats *stats)
{
	struct run rn = {src, fn, ctx, o, {0, 0, 0}, CW_EXIT_OK, 0, -1};
	int fd = fileno(in);

	/* A stream without a descriptor (fmemopen) cannot be waited on: what
	 * fn holds is let go at its end only. */
	if (timed && fd != -1)
		loop_fd(fd, &rn);
	else
		loop_file(in, &rn);
	if (rn.held)
		flush(&rn);
	if (stats != NULL)
		*stats = rn.st;
	return rn.status;
}

int
cw_ndjson_loop_flush(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    const struct cw_loop_opts *o, struct cw_loop_stats *stats)
{
	return drive(in, src, fn, ctx, o, 1, stats);
}

int
cw_ndjson_loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	static const struct cw_loop_opts o = {0, NULL, 0, 0, NULL};

	return drive(in, src, fn, ctx, &o, 0, stats);
}

int
cw_ndjson_loop_all(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	static const struct cw_loop_opts o = {1, NULL, 0, 0, NULL};

	return drive(in, src, fn, ctx, &o, 0, stats);
}

void
cw_output_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* A record leaves as soon as its outcome is known: the next stage starts
	 * on it at once, and a killed stage loses no record it has decided. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* cw_output_reader_may_stop() was called. */
static int reader_may_stop;

void
cw_output_reader_may_stop(void)
{
	signal(SIGPIPE, SIG_IGN);  /* an EPIPE to tell from other errors */
	reader_may_stop = 1;
}

static void
write_failed(void)
{
	if (reader_may_stop && errno == EPIPE)
		exit(CW_EXIT_OK);
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
		if (reader_may_stop && errno == EPIPE)
			return 0;
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
