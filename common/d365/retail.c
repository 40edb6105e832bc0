/* retail.c: Retail Server (Commerce Scale Unit) OData calls, authenticated as the sample does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/d365/retail.h"
#include "cw/net/aad.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"

#define API_VERSION "api-version=7.3"

struct cw_retail {
	const struct cw_retail_opts *o;
	struct cw_http *h;
	struct cw_cred *cred;
	char *base;          /* RetailServerUri without trailing slashes */
	long long channel;   /* 0 until asked */
	char *currency;
	struct cw_http_gate gate;  /* a wait Retail Server asked for, kept for the run */
};

void
cw_retail_config(struct cw_retail_opts *o, struct cw_config *c)
{
	o->tenant = cw_config_need_str(c, "RetailServerClientOptions.TenantId");
	o->audience = cw_config_str(c, "RetailServerClientOptions.RetailServerAudienceId");
	o->app_id_name = cw_config_need_str(c,
	    "RetailServerClientOptions.AppIdKeyVaultSecretName");
	o->app_secret_name = cw_config_need_str(c,
	    "RetailServerClientOptions.AppSecretKeyVaultSecretName");
	o->uri = cw_config_need_str(c, "RetailServerClientOptions.RetailServerUri");
	o->oun = cw_config_need_str(c, "RetailServerClientOptions.OperatingUnitNumber");
	o->auth_scheme = cw_config_str(c, "Cartwatch.RetailServer.AuthScheme");
	if (*o->uri != '\0') {
		cw_err e;

		if (cw_http_url_allowed(o->uri, &e) != 0)
			cw_config_bad(c, "RetailServerClientOptions.RetailServerUri", "%s", e.msg);
	}
	if (strcmp(o->auth_scheme, "id_token") != 0 && strcmp(o->auth_scheme, "Bearer") != 0)
		cw_config_bad(c, "Cartwatch.RetailServer.AuthScheme",
		    "expected \"id_token\" or \"Bearer\", not \"%s\"", o->auth_scheme);
	/* An OUN goes into a header: no room for line breaks or spaces. */
	if (strpbrk(o->oun, "\r\n \t:") != NULL)
		cw_config_bad(c, "RetailServerClientOptions.OperatingUnitNumber",
		    "not an operating unit number: \"%s\"", o->oun);
}

/* The credential of the app id and secret read from the vault, and a first
 * token: NULL with e when none can be had. */
static struct cw_retail *
retail_new(const struct cw_retail_opts *o, struct cw_http *h, const char *id,
    const char *secret, cw_err *e)
{
	struct cw_retail *r = cw_calloc(1, sizeof(*r));

	r->o = o;
	r->h = h;
	r->cred = cw_cred_client_secret(h, o->tenant, id, secret);
	r->base = cw_url_trim_slash(o->uri);
	/* Fail here, before any data moves, if the app cannot get a token. */
	if (cw_cred_token(r->cred, o->audience, e) == NULL) {
		cw_retail_close(r);
		return NULL;
	}
	return r;
}

struct cw_retail *
cw_retail_open(const struct cw_retail_opts *o, struct cw_http *h, struct cw_vault *v,
    cw_err *e)
{
	struct cw_retail *r;
	char *id = NULL, *secret = NULL;

	if (cw_vault_get(v, o->app_id_name, &id, e) != 0)
		return NULL;
	if (cw_vault_get(v, o->app_secret_name, &secret, e) != 0) {
		free(id);
		return NULL;
	}
	r = retail_new(o, h, id, secret, e);
	cw_secret_free(secret);
	free(id);
	return r;
}

void
cw_retail_close(struct cw_retail *r)
{
	if (r == NULL)
		return;
	cw_cred_free(r->cred);
	free(r->base);
	free(r->currency);
	free(r);
}

/* Retail Server's own errors name an ErrorResourceId and a LocalizedMessage;
 * its OData layer answers {"error":{"code":"","message":"..."}}. */
static const struct cw_http_errfmt retail_errors = {
	{"error.code", "code", "ErrorResourceId"},
	{"error.message", "message", "LocalizedMessage"},
};

/* One call's request and what it owns, kept until its answer is read. */
struct call {
	struct cw_http_req req;
	const char *headers[5];
	char *url, *auth, *oun, *json;
};

/* Builds c's request; 0, or -1 with e when no token could be had. */
static int
call_begin(struct cw_retail *r, struct call *c, const char *what, const char *path,
    const json_t *body, cw_err *e)
{
	const char *token;
	cw_err te;

	memset(c, 0, sizeof(*c));
	if ((token = cw_cred_token(r->cred, r->o->audience, &te)) == NULL)
		return cw_seterr(e, "Retail Server %s: %s", what, te.msg);
	c->url = cw_asprintf("%s/%s%s" API_VERSION, r->base, path,
	    strchr(path, '?') ? "&" : "?");
	c->auth = cw_asprintf("Authorization: %s %s", r->o->auth_scheme, token);
	c->oun = cw_asprintf("OUN: %s", r->o->oun);
	c->headers[0] = c->auth;
	c->headers[1] = c->oun;
	c->headers[2] = "Accept: application/json";
	c->headers[3] = body ? "Content-Type: application/json; charset=utf-8" : NULL;
	c->headers[4] = NULL;
	c->req.service = "Retail Server";
	c->req.method = body ? "POST" : "GET";
	c->req.url = c->url;
	c->req.headers = c->headers;
	if (body != NULL) {
		c->json = json_dumps(body, JSON_COMPACT);
		c->req.body = c->json;
		c->req.body_len = strlen(c->json);
	}
	return 0;
}

/* Reads the answer to c (rc and te as cw_http_do gave them) into *reply and
 * frees c and resp: 0, or -1 with e saying which call failed and why. */
static int
call_end(struct call *c, const char *what, int rc, struct cw_http_resp *resp,
    const cw_err *te, json_t **reply, cw_err *e)
{
	char why[400];

	*reply = NULL;
	if (rc != 0) {
		rc = cw_seterr(e, "Retail Server %s: %s", what, te->msg);
	} else if (resp->status < 200 || resp->status > 299) {
		rc = cw_seterr(e, "Retail Server %s: %s%s", what,
		    cw_http_describe(resp, &retail_errors, why, sizeof(why)),
		    resp->status == 401 || resp->status == 403 ?
		    " (is the app registered in Commerce headquarters?)" : "");
	} else if ((*reply = cw_json_parse(resp->body, resp->body_len)) == NULL) {
		rc = cw_seterr(e, "Retail Server %s: HTTP %ld with a reply that is not JSON",
		    what, resp->status);
	}
	cw_http_resp_free(resp);
	free(c->json);
	free(c->oun);
	cw_secret_free(c->auth);
	free(c->url);
	return rc;
}

int
cw_retail_call(struct cw_retail *r, const char *what, const char *path,
    const json_t *body, json_t **reply, cw_err *e)
{
	struct cw_http_resp resp;
	struct call c;
	cw_err te;
	int rc;

	*reply = NULL;
	if (call_begin(r, &c, what, path, body, e) != 0)
		return -1;
	rc = cw_http_do(r->h, &c.req, &resp, &te);
	return call_end(&c, what, rc, &resp, &te, reply, e);
}

int
cw_retail_call_many(struct cw_retail *r, struct cw_retail_job *jobs, size_t n,
    int max_in_flight)
{
	struct cw_http_job *hj = cw_calloc(n ? n : 1, sizeof(*hj));
	struct call *c = cw_calloc(n ? n : 1, sizeof(*c));
	size_t i, m = 0;
	int failed = 0;

	for (i = 0; i < n; i++) {
		jobs[i].reply = NULL;
		jobs[i].status = 0;
		if ((jobs[i].rc = call_begin(r, &c[m], jobs[i].what, jobs[i].path,
		    jobs[i].body, &jobs[i].e)) == 0) {
			hj[m].req = &c[m].req;
			m++;
		}
	}
	cw_http_do_many(r->h, hj, m, max_in_flight, &r->gate);
	for (i = 0, m = 0; i < n; i++) {
		if (jobs[i].rc == 0) {
			jobs[i].status = hj[m].rc == 0 ? hj[m].resp.status : 0;
			jobs[i].rc = call_end(&c[m], jobs[i].what, hj[m].rc, &hj[m].resp,
			    &hj[m].e, &jobs[i].reply, &jobs[i].e);
			m++;
		}
		failed += jobs[i].rc != 0;
	}
	free(c);
	free(hj);
	return failed;
}

int
cw_retail_collection(struct cw_retail *r, const char *what, const char *path,
    const json_t *body, json_t **value, cw_err *e)
{
	json_t *reply, *v;

	*value = NULL;
	if (cw_retail_call(r, what, path, body, &reply, e) != 0)
		return -1;
	v = json_object_get(reply, "value");
	if (!json_is_array(v)) {
		json_decref(reply);
		return cw_seterr(e, "Retail Server %s: the reply has no \"value\" array", what);
	}
	*value = json_incref(v);
	json_decref(reply);
	return 0;
}

/*
 * What a 404 to GetOrgUnitConfiguration() means: Retail Server found no
 * channel for the OUN header (its ErrorResourceId ends in
 * ChannelConfigurationNotFound), or nothing that is Retail Server answers
 * that path at RetailServerUri (an OData or web server 404, no Commerce
 * runtime error): the configuration's to fix, CW_ERR_CONFIG with e naming the
 * key. Any other error of Retail Server's own is its trouble: CW_ERR_SERVICE.
 * why is the call's own message.
 */
static int
channel_404(const struct cw_retail *r, const char *why, cw_err *e)
{
	if (strstr(why, "ChannelConfigurationNotFound") != NULL) {
		cw_seterr(e, "RetailServerClientOptions.OperatingUnitNumber: Retail Server has "
		    "no channel with operating unit number \"%s\" (%s)", r->o->oun, why);
		return CW_ERR_CONFIG;
	}
	if (strstr(why, "Microsoft_Dynamics_Commerce_Runtime_") != NULL)
		return cw_seterr(e, "%s", why);
	cw_seterr(e, "RetailServerClientOptions.RetailServerUri: no Retail Server API at "
	    "%s (it ends in /Commerce) (%s)", r->base, why);
	return CW_ERR_CONFIG;
}

int
cw_retail_channel(struct cw_retail *r, long long *record_id, const char **currency,
    cw_err *e)
{
	struct cw_retail_job job = {.what = "OrgUnits/GetOrgUnitConfiguration",
	    .path = "OrgUnits/GetOrgUnitConfiguration()"};
	json_t *id;
	const char *cur;

	if (r->channel == 0) {
		if (cw_retail_call_many(r, &job, 1, 1) != 0) {
			if (job.status == 404)
				return channel_404(r, job.e.msg, e);
			return cw_seterr(e, "%s", job.e.msg);
		}
		id = cw_json_iget(job.reply, "RecordId");
		cur = cw_json_istr(job.reply, "Currency");
		if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
		    cur == NULL || *cur == '\0') {
			json_decref(job.reply);
			return cw_seterr(e, "Retail Server OrgUnits/GetOrgUnitConfiguration: "
			    "the reply lacks RecordId or Currency");
		}
		r->channel = json_integer_value(id);
		r->currency = cw_strdup(cur);
		json_decref(job.reply);
	}
	*record_id = r->channel;
	*currency = r->currency;
	return 0;
}

/* Reads the secret called name into *value for cw_retail_check: 0 with a line
 * that it was read, or -1 with a problem. */
static int
check_secret(struct cw_vault *v, const char *key, const char *name, char **value,
    struct cw_check *k)
{
	cw_err e;

	if (cw_vault_get(v, name, value, &e) != 0) {
		cw_check_bad(k, "%s: %s", key, e.msg);
		return -1;
	}
	cw_check_ok(k, "vault secret %s (%s) readable", name, key);
	return 0;
}

int
cw_retail_check(const struct cw_retail_opts *o, struct cw_http *h, struct cw_vault *v,
    struct cw_check *k)
{
	struct cw_retail *r = NULL;
	char *id = NULL, *secret = NULL;
	const char *currency = "";
	long long channel = 0;
	int before = k->problems;
	cw_err e;

	check_secret(v, "RetailServerClientOptions.AppIdKeyVaultSecretName", o->app_id_name,
	    &id, k);
	check_secret(v, "RetailServerClientOptions.AppSecretKeyVaultSecretName",
	    o->app_secret_name, &secret, k);
	if (id == NULL || secret == NULL)
		cw_check_skip(k, "Retail Server token and channel (the app's secrets "
		    "are not readable)");
	else if ((r = retail_new(o, h, id, secret, &e)) == NULL)
		cw_check_bad(k, "Retail Server token: %s", e.msg);
	else {
		cw_check_ok(k, "Retail Server token for %s", o->audience);
		if (cw_retail_channel(r, &channel, &currency, &e) != 0)
			cw_check_bad(k, "%s", e.msg);
		else
			cw_check_ok(k, "Retail Server channel %lld (operating unit %s, "
			    "currency %s)", channel, o->oun, currency);
	}
	cw_secret_free(secret);
	free(id);
	cw_retail_close(r);
	return k->problems != before ? -1 : 0;
}
