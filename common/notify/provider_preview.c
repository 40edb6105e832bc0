/* provider_preview.c: the dry run: each email rendered into files, nothing sent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/mail/preview.h"
#include "cw/mail/render.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"
#include "cw/notify/templates.h"

struct preview {
	struct cw_provider p;
	struct cw_preview_opts o;
	struct cw_render *r;
	struct cw_preview_rows rows;  /* index.html's, until the batch ends */
};

/*
 * Records one send() takes: the index is written once per batch, so a
 * batch big enough that rewriting it stays a small part of a large preview
 * run, and cart-notify's idle flush (200 ms) still ends a slow trickle's.
 */
#define PREVIEW_BATCH 256

static int
pv_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	(void)p;
	(void)h;
	(void)v;
	(void)e;
	return 0;
}

static void
pv_close(struct cw_provider *p)
{
	struct preview *v = (struct preview *)p;

	cw_render_free(v->r);
	cw_preview_rows_free(&v->rows);
	cw_preview_opts_free(&v->o);
	free(v);
}

static void
pv_check(struct cw_provider *p, struct cw_check *k)
{
	struct preview *v = (struct preview *)p;

	cw_check_skip(k, "preview: no service to ask; each email is written under %s",
	    v->o.dir != NULL ? v->o.dir : "the preview directory");
}

/*
 * A result shaped like a sent one, status skipped: nothing left the machine.
 * The batch's emails then join index.html; the index failing fails no email
 * (each is written and has its result), so it is said, not counted.
 */
static int
pv_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct preview *v = (struct preview *)p;
	char *path = NULL;
	cw_err we;

	(void)e;
	for (size_t i = 0; i < n; i++) {
		if (cw_preview_write(&v->o, v->r, recs[i], time(NULL), &v->rows, &path,
		    &we) != 0)
			res[i] = cw_result(recs[i], "failed", "preview", NULL, we.msg);
		else
			res[i] = cw_result(recs[i], "skipped", "preview", path, NULL);
		cw_provider_say(p, cw_render_warnings(v->r));
		free(path);
		path = NULL;
	}
	if (cw_preview_index(&v->o, &v->rows, &we) != 0)
		cw_provider_say(p, cw_asprintf("preview: index not updated: %s\n", we.msg));
	return 0;
}

struct cw_provider *
cw_preview_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	struct preview *v = cw_calloc(1, sizeof(*v));
	cw_err e;

	v->p.name = "preview";
	v->p.batch = PREVIEW_BATCH;
	v->p.dry = 1;
	v->p.open = pv_open;
	v->p.send = pv_send;
	v->p.close = pv_close;
	v->p.check = pv_check;
	cw_preview_opts_config(&v->o, c);
	if (o->dir != NULL)
		v->o.dir = o->dir;
	v->p.dir = v->o.dir;
	if ((v->r = cw_templates_config(c, &e)) == NULL)
		cw_config_bad(c, "Cartwatch.Notify.Smtp.Template", "%s", e.msg);
	return &v->p;
}
