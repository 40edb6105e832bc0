/* ndjson.c: the record driver and checked output shared by every stage. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* One loop's state: what to call, and what happened so far. */
struct run {
	const char *src;
	cw_rec_fn fn;
	void *ctx;
	int all;           /* refused lines go to fn too */
	struct cw_loop_stats st;
	int status;
};

/* Handles one line as read, its '\n' included or not: 1 to stop reading. */
static int
one_line(struct run *rn, const char *line, size_t len)
{
	struct cw_rec rec = {NULL, ++rn->st.lines, rn->src, NULL};
	json_error_t jerr;
	char *why = NULL;
	int r;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (blank(line, len))
		return 0;
	rec.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec.json == NULL)
		why = cw_asprintf("not JSON: %s (column %d)", jerr.text, jerr.column);
	else
		why = refused(rec.json);
	if (why != NULL) {
		cw_rec_warn(&rec, "%s", why);
		json_decref(rec.json);
		rn->st.bad++;
		rn->status = CW_EXIT_FAIL;
		r = CW_REC_OK;
		if (rn->all) {
			/* Jansson quotes the text it stopped at: a piece of a
			 * record, which should not travel on in a result. */
			rec.why = rec.json == NULL ? "not a JSON object" : why;
			rec.json = NULL;
			r = rn->fn(&rec, rn->ctx);
		}
		free(why);
		return r == CW_REC_STOP;
	}
	rn->st.records++;
	r = rn->fn(&rec, rn->ctx);
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
	int eof;
};

enum { R_LINE, R_EOF, R_ERR, R_QUIET };

/* Reads more into r: 0, or -1 with errno. */
static int
fill(struct reader *r)
{
	ssize_t n;

	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->end == r->cap) {
		r->cap = r->cap > 0 ? r->cap * 2 : 65536;
		r->buf = cw_realloc(r->buf, r->cap);
	}
	if ((n = read(r->fd, r->buf + r->end, r->cap - r->end)) == -1)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		r->eof = 1;
	r->end += (size_t)n;
	return 0;
}

/*
 * The next line in *line and *len ('\n' included; borrowed until the next
 * call): R_LINE, R_EOF, or R_ERR. When no whole line is buffered and wait_ms
 * >= 0, waits at most that long for input, else R_QUIET.
 */
static int
next_line(struct reader *r, int wait_ms, const char **line, size_t *len)
{
	struct pollfd p = {r->fd, POLLIN, 0};
	char *nl;
	int k;

	for (;;) {
		nl = r->end == r->scan ? NULL :
		    memchr(r->buf + r->scan, '\n', r->end - r->scan);
		r->scan = nl != NULL ? (size_t)(nl - r->buf) + 1 : r->end;
		if (nl != NULL || (r->eof && r->end > r->start)) {
			*line = r->buf + r->start;
			*len = r->scan - r->start;
			r->start = r->scan;
			return R_LINE;
		}
		if (r->eof)
			return R_EOF;
		if (wait_ms >= 0) {
			if ((k = poll(&p, 1, wait_ms)) == 0)
				return R_QUIET;
			if (k == -1 && errno == EINTR)
				continue;
			wait_ms = -1;  /* readable, or an error read() reports */
		}
		if (fill(r) != 0)
			return R_ERR;
	}
}

static void
loop_fd(int fd, struct run *rn, const struct cw_loop_opts *o)
{
	struct reader r = {fd, NULL, 0, 0, 0, 0, 0};
	int idle = o->idle != NULL && o->idle_ms > 0, k;
	unsigned long since = 0;   /* lines since idle() was last called */
	const char *line;
	size_t len;

	while ((k = next_line(&r, idle && since > 0 ? o->idle_ms : -1, &line, &len)) != R_EOF) {
		if (k == R_ERR) {
			cw_warn("%s: read error", rn->src);
			rn->status = CW_EXIT_FAIL;
			break;
		}
		if (k == R_QUIET) {
			since = 0;
			if (o->idle(rn->ctx) == CW_REC_STOP) {
				rn->status = CW_EXIT_FAIL;
				break;
			}
			continue;
		}
		since++;
		if (one_line(rn, line, len))
			break;
	}
	free(r.buf);
}

int
cw_ndjson_loop_idle(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    const struct cw_loop_opts *o, struct cw_loop_stats *stats)
{
	struct run rn = {src, fn, ctx, o->all, {0, 0, 0}, CW_EXIT_OK};
	int fd = fileno(in);

	/* A stream without a descriptor (fmemopen) never waits: no idle. */
	if (fd == -1)
		loop_file(in, &rn);
	else
		loop_fd(fd, &rn, o);
	if (stats != NULL)
		*stats = rn.st;
	return rn.status;
}

int
cw_ndjson_loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	struct run rn = {src, fn, ctx, 0, {0, 0, 0}, CW_EXIT_OK};

	loop_file(in, &rn);
	if (stats != NULL)
		*stats = rn.st;
	return rn.status;
}

int
cw_ndjson_loop_all(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats)
{
	struct run rn = {src, fn, ctx, 1, {0, 0, 0}, CW_EXIT_OK};

	loop_file(in, &rn);
	if (stats != NULL)
		*stats = rn.st;
	return rn.status;
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

static int
dump_cb(const char *buf, size_t n, void *data)
{
	FILE *out = data;

	return fwrite(buf, 1, n, out) == n ? 0 : -1;
}

/*
 * Reals are printed with 15 significant digits, not Jansson's 17: a price read
 * as 49.99 must leave as 49.99, not 49.990000000000002, and every decimal with
 * up to 15 digits survives the trip through a double exactly.
 */
void
cw_ewrite_json(FILE *out, const json_t *obj)
{
	if (json_dump_callback(obj, dump_cb, out, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0 ||
	    putc('\n', out) == EOF)
		write_failed();
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
