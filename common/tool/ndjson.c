/* ndjson.c: the record driver and checked output shared by every stage. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int
loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx, struct cw_loop_stats *stats,
    int all)
{
	struct cw_loop_stats st = {0, 0, 0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = CW_EXIT_OK;

	while ((n = getline(&line, &cap, in)) != -1) {
		struct cw_rec rec = {NULL, ++st.lines, src, NULL};
		json_error_t jerr;
		size_t len = (size_t)n;
		char *why = NULL;
		int r;

		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (blank(line, len))
			continue;
		rec.json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		if (rec.json == NULL)
			why = cw_asprintf("not JSON: %s (column %d)", jerr.text, jerr.column);
		else
			why = refused(rec.json);
		if (why != NULL) {
			cw_rec_warn(&rec, "%s", why);
			json_decref(rec.json);
			st.bad++;
			status = CW_EXIT_FAIL;
			r = CW_REC_OK;
			if (all) {
				/* Jansson quotes the text it stopped at: a piece of a
				 * record, which should not travel on in a result. */
				rec.why = rec.json == NULL ? "not a JSON object" : why;
				rec.json = NULL;
				r = fn(&rec, ctx);
			}
			free(why);
			if (r == CW_REC_STOP)
				break;
			continue;
		}
		st.records++;
		r = fn(&rec, ctx);
		json_decref(rec.json);
		if (r == CW_REC_BAD) {
			st.bad++;
			status = CW_EXIT_FAIL;
		} else if (r == CW_REC_STOP) {
			status = CW_EXIT_FAIL;
			break;
		}
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
