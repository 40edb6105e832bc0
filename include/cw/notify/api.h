/* api.h: what the providers that call a web API share: a secret from the vault, a pacer, a POST. */
#ifndef CW_API_H
#define CW_API_H

#include "cw/core/util.h"
#include "cw/net/http.h"
#include "cw/notify/pace.h"
#include "cw/notify/provider.h"

struct cw_config;
struct cw_vault;

/*
 * The first member of such a provider's struct. The provider's maker fills
 * in p and secret_name (borrowed from the config); open() reads the secret.
 */
struct cw_api {
	struct cw_provider p;
	const char *secret_name;  /* the vault secret cw_api_open() reads */
	char *secret;             /* owned; wiped and freed by cw_api_close() */
	struct cw_http *h;        /* borrowed from open() */
	struct cw_pace pace;      /* zero: no ceiling */
};

/*
 * A provider struct of size bytes that begins with a struct cw_api, zeroed,
 * with its name, batch and send filled in and cw_api_open() and
 * cw_api_close() as open() and close() (a provider that owns more replaces
 * them). Free with cw_provider_close().
 */
void *cw_api_new(size_t size, const char *name, size_t batch,
    int (*send)(struct cw_provider *, json_t *const *, size_t, json_t **, cw_err *));

/* open() and close() for a struct that begins with a struct cw_api and owns
 * nothing more: keeps h and reads secret_name into secret; wipes the secret
 * and frees the struct. */
int cw_api_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e);
void cw_api_close(struct cw_provider *p);

/*
 * POSTs body (NUL-terminated) to url with headers (NULL-terminated "Name:
 * value" lines) once a's pacer allows, for service (as messages name it),
 * retried as retry says. resp and the result as cw_http_do(); the caller
 * frees resp with cw_http_resp_free() in every case.
 */
int cw_api_post(struct cw_api *a, const char *service, const char *url,
    const char *const *headers, const char *body, enum cw_retry retry,
    struct cw_http_resp *resp, cw_err *e);

/*
 * GETs url with headers (as cw_api_post) for a read-only check, retried as
 * any read is; resp and the result as cw_http_do().
 */
int cw_api_get(struct cw_api *a, const char *service, const char *url,
    const char *const *headers, struct cw_http_resp *resp, cw_err *e);

/*
 * A provider that sends through a template kept at the service (SendGrid,
 * Mandrill): the same settings, each under the provider's own key. All
 * strings borrowed from the config.
 */
struct cw_template_api {
	struct cw_api api;
	const char *base;       /* the service's URL, checked by cw_http_url_allowed() */
	const char *template;   /* the template's id or name (required) */
	const char *from;       /* the sender's address (required) */
	const char *from_name;  /* "" for none */
};

/* The keys a struct cw_template_api is read from. */
struct cw_template_keys {
	const char *base, *template, *from, *from_name, *secret_name;
};

/* Makes one (cw_api_new()) and reads k's keys and
 * Cartwatch.Notify.RequestsPerMinute into it, problems reported in c. */
struct cw_provider *cw_template_api_config(struct cw_config *c,
    const struct cw_template_keys *k, const char *name, size_t batch,
    int (*send)(struct cw_provider *, json_t *const *, size_t, json_t **, cw_err *));

#endif
