/* ndjson.h: the one record driver every stage uses, and checked output. */
#ifndef CW_NDJSON_H
#define CW_NDJSON_H

#include <stdio.h>
#include <jansson.h>
#include "cw/core/util.h"

/* One input record. json is borrowed: valid only during the callback
 * (json_incref() it to keep it). */
struct cw_rec {
	json_t *json;          /* always a JSON object */
	unsigned long line;    /* 1-based line number in src */
	const char *src;       /* "<stdin>" or a file name */
	const char *why;       /* json NULL (cw_ndjson_loop_all): why the line
	                        * was refused ("not a JSON object", or a reason
	                        * about the record's keys); else NULL */
	const char *text;      /* the line as read (len bytes, no newline):
	                        * for a stage that passes it on unchanged */
	size_t len;
};

/* What a per-record function returns. */
enum {
	CW_REC_OK = 0,    /* handled */
	CW_REC_BAD = 1,   /* this record failed and was reported; go on */
	CW_REC_STOP = 2   /* something outside the record failed; stop reading */
};

typedef int (*cw_rec_fn)(const struct cw_rec *rec, void *ctx);

struct cw_loop_stats {
	unsigned long lines;    /* lines read, blank ones included */
	unsigned long records;  /* records handed to the callback */
	unsigned long bad;      /* lines that were not JSON objects + CW_REC_BAD */
};

/*
 * Reads NDJSON from in until EOF: lines of any length, a trailing CR dropped,
 * blank lines skipped. A line that is not a record is reported as
 * "TOOL: SRC:LINE: reason", counted, and skipped: one that is not a JSON
 * object, or has an object (at any depth) with a key twice or two keys that
 * differ only in case ("email" and "EMAIL") and hold different values, since
 * every stage looks keys up ignoring case. Calls fn for each record.
 * Returns CW_EXIT_OK when every record was handled, CW_EXIT_FAIL when some
 * line was bad, fn said BAD or STOP, or reading failed. stats may be NULL.
 */
int cw_ndjson_loop(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats);

/* Like cw_ndjson_loop, but also calls fn for a line that is not a record,
 * after reporting it, with rec->json NULL and rec->why: for stages that answer
 * every input line with an output line. */
int cw_ndjson_loop_all(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    struct cw_loop_stats *stats);

/*
 * What cw_ndjson_loop_flush() calls to let go what fn holds back (a batch,
 * a group of claims): send it, commit it, write it. Returns CW_REC_OK, or
 * CW_REC_STOP to stop reading (the loop then returns CW_EXIT_FAIL).
 */
typedef int (*cw_flush_fn)(void *ctx);

struct cw_loop_opts {
	int all;           /* refused lines go to fn too, as cw_ndjson_loop_all() */
	cw_flush_fn flush; /* may be NULL: never called */
	int idle_ms;       /* > 0: flush once input has been quiet this long */
	int max_ms;        /* > 0: flush this long after the first call of fn
	                    * since the last flush, input waiting or not */
	/* May be NULL. A cheaper stand-in for the parsed line (len bytes, no
	 * newline), handed to fn as rec->json and freed after: an object
	 * (owned) with every member fn reads, or NULL to have the line parsed
	 * and checked in full. It must return NULL for any line the full parse
	 * or the driver's checks would refuse (cw_cart_slim does). */
	json_t *(*slim)(const char *text, size_t len);
};

/* A stand-in for cw_loop_opts.slim: the whole record, the same tree the full
 * parse makes, built from cw_jscan's tokens when it vouches for the line. */
json_t *cw_rec_scanload(const char *text, size_t len);

/*
 * cw_ndjson_loop() or, with o->all, cw_ndjson_loop_all(), for a stage that
 * holds records back and must not keep them waiting on a slow input. Once fn
 * has been called since the last flush (the records held), calls
 * o->flush(ctx): when input has been quiet for idle_ms (no byte came that
 * long and no whole line is left unhandled); when max_ms have passed since
 * the first of those calls (between two records, or while waiting for
 * input); and at the end of input, or after fn or flush said STOP. Never
 * twice without a call of fn between. So no record waits much longer than
 * max_ms plus one call of fn, nor than idle_ms past the last input.
 * in is read through its file descriptor, not through stdio: nothing may
 * have been read from it with stdio before, and nothing should be after. A
 * stream without a descriptor (fmemopen) is read as cw_ndjson_loop() reads
 * it, flushed only at its end.
 */
int cw_ndjson_loop_flush(FILE *in, const char *src, cw_rec_fn fn, void *ctx,
    const struct cw_loop_opts *o, struct cw_loop_stats *stats);

/* Reports a problem with one record as "TOOL: SRC:LINE: message", escaped
 * as cw_warnx() escapes it: record data cannot forge a line. */
void cw_rec_warn(const struct cw_rec *rec, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets up checked output: SIGPIPE ignored, so a closed reader shows up as EPIPE
 * on write and the tool exits 1 with a message rather than dying silently; and
 * stdout line-buffered, so each record leaves as soon as it is written. */
void cw_output_init(void);

/*
 * For a command whose output is for people and their pagers, not for the
 * next stage (cart-dedupe status, report, where): a reader that stops early
 * (status | head -1) ends the command quietly with CW_EXIT_OK, as the
 * reader got all it wanted: the cw_ewrite functions exit so at once. Call after cw_output_init(), if that is called. A
 * stage must not: its reader stopping is a failure of the pipeline, which
 * the next write's EPIPE reports. Only a write error that is EPIPE is quiet.
 */
void cw_output_reader_may_stop(void);

/* Writes obj as one compact line on out. A write error (EPIPE, ENOSPC) is
 * fatal: it reports and exits CW_EXIT_FAIL. */
void cw_ewrite_json(FILE *out, const json_t *obj);

/* Appends obj to b as one compact line, newline included, exactly as
 * cw_ewrite_json writes it: for output held back and written at once. */
void cw_json_line(struct cw_buf *b, const json_t *obj);

/* Writes n bytes of whole lines (each ending in '\n') on out, fatal on error
 * like above. */
void cw_ewrite_lines(FILE *out, const char *s, size_t n);

/* Writes a plain line (s plus '\n') on out, fatal on error like above. */
void cw_ewrite_line(FILE *out, const char *s, size_t n);

/* Flushes and checks stdout: 0, or -1 after reporting the write error (0
 * for the EPIPE of a reader that may stop: cw_output_reader_may_stop). */
int cw_output_check(void);

/* cw_output_check(), exiting CW_EXIT_FAIL on a write error. */
void cw_eoutput_finish(void);

#endif
