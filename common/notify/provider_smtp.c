/* provider_smtp.c: one rendered multipart message per notification, over SMTP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/mail/mime.h"
#include "cw/mail/render.h"
#include "cw/net/keyvault.h"
#include "cw/net/smtp.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"
#include "cw/notify/templates.h"

struct smtp {
	struct cw_provider p;
	struct cw_smtp_opts o;
	struct cw_render *r;
	struct cw_smtp *s;
};

static int
sm_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	struct smtp *m = (struct smtp *)p;
	char *password = NULL;

	(void)h;
	if (m->o.user != NULL && *m->o.user != '\0' &&
	    cw_vault_get(v, m->o.password_secret, &password, e) != 0)
		return -1;
	m->s = cw_smtp_new(&m->o, password, e);
	cw_secret_free(password);
	return m->s != NULL ? 0 : -1;
}

static void
sm_close(struct cw_provider *p)
{
	struct smtp *m = (struct smtp *)p;

	cw_smtp_free(m->s);
	cw_render_free(m->r);
	cw_smtp_opts_free(&m->o);
	free(m);
}

static int
sm_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct smtp *m = (struct smtp *)p;
	struct cw_smtp_result sr;
	struct cw_email mail;
	char *msg = NULL, mid[300];
	size_t len;
	int rc = 0;
	cw_err me;

	for (size_t i = 0; i < n; i++) {
		const char *id = cw_json_istr(recs[i], "notificationId");

		cw_render_email(m->r, recs[i], &mail);
		cw_provider_say(p, cw_render_warnings(m->r));
		if (cw_mime_notification(&mail, recs[i], m->o.from, time(NULL), &msg, &len,
		    &me) != 0) {
			res[i] = cw_result(recs[i], "failed", "smtp", NULL, me.msg);
		} else if (cw_smtp_send(m->s, cw_json_istr(recs[i], "email"), msg, len, &sr,
		    &me) == CW_SMTP_SENT) {
			snprintf(mid, sizeof(mid), "%s", id);
			res[i] = cw_result(recs[i], "sent", "smtp", mid, NULL);
		} else if (sr.status == CW_SMTP_UNCERTAIN) {
			/* The server may have it: the ledger must not send it
			 * again by itself (DESIGN.md 8.1). */
			res[i] = cw_result_uncertain(recs[i], "smtp", me.msg);
			if (rc == 0) {
				cw_seterr(e, "%s", me.msg);
				rc = 1;
			}
		} else {
			res[i] = cw_result(recs[i], "failed", "smtp", NULL, me.msg);
			if (sr.status == CW_SMTP_TRANSIENT && rc == 0) {
				cw_seterr(e, "%s", me.msg);
				rc = 1;
			} else if (sr.status == CW_SMTP_FATAL) {
				/* Every other message would fail the same way. */
				cw_seterr(e, "%s", me.msg);
				rc = -1;
				for (size_t j = i + 1; j < n; j++)
					res[j] = cw_result(recs[j], "failed", "smtp", NULL, me.msg);
				free(msg);
				cw_email_free(&mail);
				break;
			}
		}
		free(msg);
		msg = NULL;
		cw_email_free(&mail);
	}
	return rc;
}

struct cw_provider *
cw_smtp_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	struct smtp *m = cw_calloc(1, sizeof(*m));
	cw_err e;

	(void)o;  /* nothing to choose over the configuration */
	m->p.name = "smtp";
	m->p.batch = 1;
	m->p.open = sm_open;
	m->p.send = sm_send;
	m->p.close = sm_close;
	cw_smtp_opts_config(&m->o, c);
	/* Templates are read now: a broken one is a configuration error. */
	if ((m->r = cw_templates_config(c, &e)) == NULL)
		cw_config_bad(c, "Cartwatch.Notify.Smtp.Template", "%s", e.msg);
	return &m->p;
}
