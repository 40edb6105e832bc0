/* api.c: what the providers that call a web API share: a secret from the vault, a pacer, a POST. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/net/keyvault.h"
#include "cw/notify/api.h"

void *
cw_api_new(size_t size, const char *name, size_t batch,
    int (*send)(struct cw_provider *, json_t *const *, size_t, json_t **, cw_err *))
{
	struct cw_api *a = cw_calloc(1, size);

	a->p.name = name;
	a->p.batch = batch;
	a->p.open = cw_api_open;
	a->p.send = send;
	a->p.close = cw_api_close;
	return a;
}

int
cw_api_open(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e)
{
	struct cw_api *a = (struct cw_api *)p;

	a->h = h;
	return cw_vault_get(v, a->secret_name, &a->secret, e);
}

void
cw_api_close(struct cw_provider *p)
{
	struct cw_api *a = (struct cw_api *)p;

	cw_secret_free(a->secret);
	free(a);
}

int
cw_api_post(struct cw_api *a, const char *service, const char *url,
    const char *const *headers, const char *body, enum cw_retry retry,
    struct cw_http_resp *resp, cw_err *e)
{
	struct cw_http_req req = {
		.service = service,
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = strlen(body),
		.retry = retry,
	};

	cw_pace_wait(&a->pace);
	return cw_http_do(a->h, &req, resp, e);
}

int
cw_api_get(struct cw_api *a, const char *service, const char *url,
    const char *const *headers, struct cw_http_resp *resp, cw_err *e)
{
	struct cw_http_req req = {
		.service = service,
		.method = "GET",
		.url = url,
		.headers = headers,
	};

	return cw_http_do(a->h, &req, resp, e);
}

struct cw_provider *
cw_template_api_config(struct cw_config *c, const struct cw_template_keys *k,
    const char *name, size_t batch,
    int (*send)(struct cw_provider *, json_t *const *, size_t, json_t **, cw_err *))
{
	struct cw_template_api *t = cw_api_new(sizeof(*t), name, batch, send);
	cw_err e;

	t->base = cw_config_str(c, k->base);
	t->template = cw_config_need_str(c, k->template);
	t->from = cw_config_need_str(c, k->from);
	t->from_name = cw_config_str(c, k->from_name);
	t->api.secret_name = cw_config_str(c, k->secret_name);
	t->api.pace.per_minute = cw_config_int(c, "Cartwatch.Notify.RequestsPerMinute");
	if (cw_http_url_allowed(t->base, &e) != 0)
		cw_config_bad(c, k->base, "%s", e.msg);
	return &t->api.p;
}
