/* suppressions.h: the suppression lists of SendGrid and Mandrill, read for import (doc/DESIGN.md 8.7). */
#ifndef CW_SUPPRESSIONS_H
#define CW_SUPPRESSIONS_H

#include <time.h>

#include <jansson.h>

#include "cw/core/util.h"

struct cw_config;
struct cw_docstore;
struct cw_http;

/* A provider whose lists are read: what cart-notify reads for it. Strings
 * borrowed from the configuration or static. */
struct cw_supsource {
	const char *provider;       /* "sendgrid" or "mandrill" */
	const char *service;        /* "SendGrid", "Mandrill": for messages */
	const char *base;           /* its BaseUrl, checked by cw_http_url_allowed() */
	const char *secret_name;    /* the vault secret with its API key */
	const char *const *lists;   /* its lists, NULL-terminated */
	int paged;                  /* 1: SendGrid's start_time, limit and offset */
	long cap;                   /* the most a list is answered with (0: all):
	                             * a list that long may have been cut */
};

/* Mandrill answers rejects/list with its newest 1000 at most, no paging. */
#define CW_MANDRILL_REJECTS_MAX 1000

/*
 * Fills s for provider from the keys cart-notify reads (BaseUrl,
 * ApiKeySecretName), a bad BaseUrl reported in c as a problem of its key.
 * -1 with e naming provider when it is neither "sendgrid" nor "mandrill".
 */
int cw_supsource_config(struct cw_supsource *s, struct cw_config *c, const char *provider,
    cw_err *e);

/*
 * Reads one of s's lists whole with the API key key, into *emails (the
 * caller's: an array of the entries' "email" values as the service wrote
 * them, JSON null for an entry without a string one; nothing is checked
 * here). SendGrid: the entries created at or after since (unix seconds; -1:
 * all), page after page of 500 (more than a million: an error). Mandrill's
 * rejects/list: the entries not expired, at most s->cap. 0, or -1 with e naming the service and
 * the list ("SendGrid bounces: HTTP 403: access forbidden (...)") and *emails
 * NULL: a refused key, an unreachable service, a reply that is not a list.
 */
int cw_supsource_read(struct cw_http *h, const struct cw_supsource *s, const char *key,
    const char *list, long long since, json_t **emails, cw_err *e);

/*
 * The store's mark for provider: the time (unix seconds) the last whole
 * import of its lists started, kept as a document of kind "cartwatch.import".
 * cw_supimport_mark: 1 with *t, 0 when there is none (or none readable), -1
 * with e when the store failed.
 * cw_supimport_set_mark: 0, or -1 with e.
 */
int cw_supimport_mark(struct cw_docstore *s, const char *provider, long long *t, cw_err *e);
int cw_supimport_set_mark(struct cw_docstore *s, const char *provider, long long t,
    cw_err *e);

#endif
