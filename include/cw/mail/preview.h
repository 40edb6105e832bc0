/* preview.h: the preview provider: each notification rendered into files, and their index.html. */
#ifndef CW_PREVIEW_H
#define CW_PREVIEW_H

#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_config;
struct cw_render;

struct cw_preview_opts {
	const char *dir;   /* where the files go; made if missing. A caller may
	                    * point it at a string of its own (--preview-dir) */
	const char *from;  /* the From of the .eml */
	char *own;         /* what the options own (dir made absolute) */
};

/*
 * Cartwatch.Notify.Preview.Dir (default "preview"; relative to the config
 * file's directory) and, for the .eml, Cartwatch.Notify.Smtp.From (default
 * "cartwatch@localhost"). Problems are reported and counted in c. Free with
 * cw_preview_opts_free().
 */
void cw_preview_opts_config(struct cw_preview_opts *o, struct cw_config *c);
void cw_preview_opts_free(struct cw_preview_opts *o);

/*
 * The rows index.html is still to get: one per email written, gathered by
 * cw_preview_write() and added to the page by cw_preview_index(). Zero it
 * to start (CW_PREVIEW_ROWS_INIT); the caller frees it with
 * cw_preview_rows_free().
 */
struct cw_preview_rows {
	struct cw_buf html;  /* one "<tr id=ID>...</tr>" line per email */
	size_t n;
};
#define CW_PREVIEW_ROWS_INIT {CW_BUF_INIT, 0}
void cw_preview_rows_free(struct cw_preview_rows *rows);

/*
 * Renders rec with r and writes, in o->dir (made with mode 0700 if missing;
 * tightened to 0700 if group or others had access; refused, -1, if it belongs
 * to another user):
 *   ID.html  the HTML body: what a mail client shows, a whole document
 *   ID.txt   the plain-text body
 *   ID.eml   the whole message that SMTP would send (Date: date), for any
 *            mail client or `python3 -m email` to open
 * where ID is rec's notificationId. Each file is written to a temporary name
 * in the same directory and renamed into place, mode 0600, so a reader never
 * sees half a file and a rerun replaces the files. Nothing is written when
 * the message cannot be built (bad address, CR/LF in a header, an id that is
 * not [A-Za-z0-9._-]). Returns 0 and *html_path (caller frees; may be NULL
 * if not wanted), or -1 with e. With rows not NULL, the email's row of
 * index.html is added to it: written, it is listed once the caller passes
 * rows to cw_preview_index().
 */
int cw_preview_write(const struct cw_preview_opts *o, struct cw_render *r,
    const json_t *rec, time_t date, struct cw_preview_rows *rows, char **html_path,
    cw_err *e);

/*
 * Adds rows to o->dir's index.html, a page listing every email there (To,
 * Subject, step, language, and links to ID.html, ID.txt and ID.eml), and
 * empties rows.
 * The page is updated, not replaced: the rows of earlier runs stay, unless
 * their ID.html is gone or rows has the same id again (then the new row
 * takes its place); new rows come last. index.html is cartwatch's: what
 * else it held is not kept. Written as the emails are (a temporary name,
 * renamed, mode 0600), under a lock (flock(2) of the directory) so that two
 * processes writing to one directory do not lose each other's rows. Each
 * row is one line, '<tr id="ID">...</tr>', which is how the next run finds
 * it; the rest of the page is made anew each time. 0 (nothing to do when
 * rows is empty), or -1 with e; rows is emptied either way.
 */
int cw_preview_index(const struct cw_preview_opts *o, struct cw_preview_rows *rows,
    cw_err *e);

#endif
