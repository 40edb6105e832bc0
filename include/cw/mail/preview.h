/* preview.h: the preview provider: each notification rendered into files, sent nowhere. */
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
 * if not wanted), or -1 with e.
 */
int cw_preview_write(const struct cw_preview_opts *o, struct cw_render *r,
    const json_t *rec, time_t date, char **html_path, cw_err *e);

#endif
