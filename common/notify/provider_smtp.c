/* provider_smtp.c: one rendered multipart message per notification, over SMTP. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/mail/mime.h"
#include "cw/mail/render.h"
#include "cw/net/keyvault.h"
#include "cw/net/smtp.h"
#include "cw/notify/pace.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"
#include "cw/notify/templates.h"

struct smtp {
	struct cw_provider p;
	struct cw_smtp_opts o;
	struct cw_render *r;
	int in_flight;      /* Cartwatch.Notify.MaxInFlight: connections */
	struct cw_smtp **s; /* in_flight of them, each its connection kept */
	struct cw_pace pace;  /* Cartwatch.Notify.RequestsPerMinute: messages */
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
	m->s = cw_calloc((size_t)m->in_flight, sizeof(*m->s));
	for (int i = 0; i < m->in_flight; i++)
		if ((m->s[i] = cw_smtp_new(&m->o, password, e)) == NULL)
			break;
	cw_secret_free(password);
	return m->s[m->in_flight - 1] != NULL ? 0 : -1;
}

static void
sm_close(struct cw_provider *p)
{
	struct smtp *m = (struct smtp *)p;

	for (int i = 0; m->s != NULL && i < m->in_flight; i++)
		cw_smtp_free(m->s[i]);
	free(m->s);
	cw_render_free(m->r);
	cw_smtp_opts_free(&m->o);
	free(m);
}

/* One message of a batch, rendered, and what became of it. */
struct mjob {
	const char *rcpt;           /* borrowed from the record */
	char *msg;                  /* NULL: it could not be made (res set) */
	size_t len;
	int tried;                  /* 0: not sent, a FATAL stopped the batch */
	struct cw_smtp_result sr;
	cw_err me;
};

/* The messages of a batch and the connections that take them in turn. */
struct crew {
	struct mjob *jobs;
	size_t n, next;
	int fatal;                  /* a FATAL came: take no more */
	cw_err why;                 /* its reason */
	struct cw_pace *pace;       /* one for every connection */
	pthread_mutex_t mu;
};

struct hand {
	struct crew *c;
	struct cw_smtp *s;
};

/* Sends job j on s; 1 if the verdict stops the batch. */
static int
send_one(struct cw_smtp *s, struct mjob *j)
{
	j->tried = 1;
	return cw_smtp_send(s, j->rcpt, j->msg, j->len, &j->sr, &j->me) == CW_SMTP_FATAL;
}

/* One connection's thread: the next message not yet taken, until none is
 * left or a FATAL says every other would fail the same way. */
static void *
work(void *arg)
{
	struct hand *hd = arg;
	struct crew *c = hd->c;
	struct mjob *j;

	for (;;) {
		pthread_mutex_lock(&c->mu);
		j = !c->fatal && c->next < c->n ? &c->jobs[c->next++] : NULL;
		/* Waited out under the lock: the pace is the server's, whichever
		 * connection a message takes. */
		if (j != NULL && j->msg != NULL)
			cw_pace_wait(c->pace);
		pthread_mutex_unlock(&c->mu);
		if (j == NULL)
			return NULL;
		if (j->msg == NULL || !send_one(hd->s, j))
			continue;
		pthread_mutex_lock(&c->mu);
		if (!c->fatal)
			c->why = j->me;
		c->fatal = 1;
		pthread_mutex_unlock(&c->mu);
	}
}

/* Sends c's messages on up to in_flight connections at once, each taking
 * the next message when it is free; one connection: in this thread. */
static void
send_all(struct smtp *m, struct crew *c)
{
	size_t k = c->n < (size_t)m->in_flight ? c->n : (size_t)m->in_flight, started;
	struct hand *hd = cw_calloc(k, sizeof(*hd));
	pthread_t *t = cw_calloc(k, sizeof(*t));

	for (size_t i = 0; i < k; i++)
		hd[i] = (struct hand){c, m->s[i]};
	if (k <= 1) {
		work(&hd[0]);
		k = 0;
	}
	for (started = 0; started < k; started++)
		if (pthread_create(&t[started], NULL, work, &hd[started]) != 0)
			break;
	if (k > 0 && started == 0)
		work(&hd[0]);  /* no thread to be had: one connection it is */
	for (size_t i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(hd);
	free(t);
}

/* res[i] for job j of recs[i]; *rc and e as sm_send() returns them. */
static void
judge(const struct crew *c, const struct mjob *j, json_t *rec, json_t **res, int *rc,
    cw_err *e)
{
	char mid[300];

	if (!j->tried) {
		/* Not sent: a FATAL says every message would fail the same way. */
		*res = cw_result(rec, "failed", "smtp", NULL, c->why.msg);
	} else if (j->sr.status == CW_SMTP_SENT) {
		snprintf(mid, sizeof(mid), "%s", cw_json_istr(rec, "notificationId"));
		*res = cw_result(rec, "sent", "smtp", mid, NULL);
	} else if (j->sr.status == CW_SMTP_UNCERTAIN) {
		/* The server may have it: the ledger must not send it again by
		 * itself (doc/DESIGN.md 8.1). */
		*res = cw_result_uncertain(rec, "smtp", j->me.msg);
	} else {
		*res = cw_result(rec, "failed", "smtp", NULL, j->me.msg);
	}
	if (j->tried && j->sr.status != CW_SMTP_SENT && j->sr.status != CW_SMTP_REJECTED &&
	    j->sr.status != CW_SMTP_FATAL && *rc == 0) {
		cw_seterr(e, "%s", j->me.msg);
		*rc = 1;
	}
}

static int
sm_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res, cw_err *e)
{
	struct smtp *m = (struct smtp *)p;
	struct crew c = {.n = n, .pace = &m->pace};
	struct cw_email mail;
	int rc = 0;
	cw_err me;

	if (n == 0)
		return 0;
	c.jobs = cw_calloc(n, sizeof(*c.jobs));
	pthread_mutex_init(&c.mu, NULL);
	for (size_t i = 0; i < n; i++) {
		cw_render_email(m->r, recs[i], &mail);
		cw_provider_say(p, cw_render_warnings(m->r));
		c.jobs[i].rcpt = cw_json_istr(recs[i], "email");
		c.jobs[i].tried = 1;
		if (cw_mime_notification(&mail, recs[i], m->o.from, time(NULL), &c.jobs[i].msg,
		    &c.jobs[i].len, &me) != 0) {
			c.jobs[i].msg = NULL;
			res[i] = cw_result(recs[i], "failed", "smtp", NULL, me.msg);
		} else {
			c.jobs[i].tried = 0;
		}
		cw_email_free(&mail);
	}
	send_all(m, &c);
	for (size_t i = 0; i < n; i++) {
		if (c.jobs[i].msg != NULL)
			judge(&c, &c.jobs[i], recs[i], &res[i], &rc, e);
		free(c.jobs[i].msg);
	}
	if (c.fatal) {
		cw_seterr(e, "%s", c.why.msg);
		rc = -1;
	}
	pthread_mutex_destroy(&c.mu);
	free(c.jobs);
	return rc;
}

/* One connection up to AUTH and a NOOP: no message goes out. */
static void
sm_check(struct cw_provider *p, struct cw_check *k)
{
	struct smtp *m = (struct smtp *)p;
	int auth = m->o.user != NULL && *m->o.user != '\0';
	cw_err e;

	if (cw_smtp_ping(m->s[0], &e) != 0)
		cw_check_bad(k, "smtp server: %s", e.msg);
	else
		cw_check_ok(k, "smtp server %s (EHLO%s%s, NOOP, QUIT; nothing sent)",
		    m->o.url, auth ? ", AUTH as " : "", auth ? m->o.user : "");
}

struct cw_provider *
cw_smtp_config(struct cw_config *c, const struct cw_provider_opts *o)
{
	struct smtp *m = cw_calloc(1, sizeof(*m));
	cw_err e;

	(void)o;  /* nothing to choose over the configuration */
	m->p.name = "smtp";
	m->in_flight = (int)cw_config_int(c, "Cartwatch.Notify.MaxInFlight");
	m->pace.per_minute = cw_config_int(c, "Cartwatch.Notify.RequestsPerMinute");
	/* A few messages for each connection: at a batch's end every
	 * connection waits for the slowest, and the next batch's first messages
	 * reach the server all at once; with one message each, that was every
	 * message. 1 in flight: one message after another, as before. */
	m->p.batch = (size_t)m->in_flight * CW_BATCHES_IN_FLIGHT;
	m->p.open = sm_open;
	m->p.send = sm_send;
	m->p.close = sm_close;
	m->p.check = sm_check;
	cw_smtp_opts_config(&m->o, c);
	/* Templates are read now: a broken one is a configuration error. */
	if ((m->r = cw_templates_config(c, &e)) == NULL)
		cw_config_bad(c, "Cartwatch.Notify.Smtp.Template", "%s", e.msg);
	return &m->p;
}
