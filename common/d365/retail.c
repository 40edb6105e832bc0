/* retail.c: Retail Server (Commerce Scale Unit) OData calls, authenticated as the sample does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

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

struct cw_retail *
cw_retail_open(const struct cw_retail_opts *o, struct cw_http *h, struct cw_vault *v,
    cw_err *e)
{
	struct cw_retail *r;
	char *id = NULL, *secret = NULL;
	size_t n;

	if (cw_vault_get(v, o->app_id_name, &id, e) != 0)
		return NULL;
	if (cw_vault_get(v, o->app_secret_name, &secret, e) != 0) {
		free(id);
		return NULL;
	}
	r = cw_calloc(1, sizeof(*r));
	r->o = o;
	r->h = h;
	r->cred = cw_cred_client_secret(h, o->tenant, id, secret);
	cw_secret_free(secret);
	free(id);
	r->base = cw_strdup(o->uri);
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/')
		r->base[--n] = '\0';
	/* Fail here, before any data moves, if the app cannot get a token. */
	if (cw_cred_token(r->cred, o->audience, e) == NULL) {
		cw_retail_close(r);
		return NULL;
	}
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

int
cw_retail_call(struct cw_retail *r, const char *what, const char *path,
    const json_t *body, json_t **reply, cw_err *e)
{
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	const char *headers[5], *token;
	char *url, *auth, *oun, *json = NULL;
	char why[400];
	cw_err te;
	int rc = -1;

	*reply = NULL;
	if ((token = cw_cred_token(r->cred, r->o->audience, &te)) == NULL)
		return cw_seterr(e, "Retail Server %s: %s", what, te.msg);
	url = cw_asprintf("%s/%s%s" API_VERSION, r->base, path,
	    strchr(path, '?') ? "&" : "?");
	auth = cw_asprintf("Authorization: %s %s", r->o->auth_scheme, token);
	oun = cw_asprintf("OUN: %s", r->o->oun);
	headers[0] = auth;
	headers[1] = oun;
	headers[2] = "Accept: application/json";
	headers[3] = body ? "Content-Type: application/json; charset=utf-8" : NULL;
	headers[4] = NULL;
	req.service = "Retail Server";
	req.method = body ? "POST" : "GET";
	req.url = url;
	req.headers = headers;
	if (body != NULL) {
		json = json_dumps(body, JSON_COMPACT);
		req.body = json;
		req.body_len = strlen(json);
	}
	if (cw_http_do(r->h, &req, &resp, &te) != 0) {
		cw_seterr(e, "Retail Server %s: %s", what, te.msg);
	} else if (resp.status < 200 || resp.status > 299) {
		cw_seterr(e, "Retail Server %s: %s%s", what,
		    cw_http_describe(&resp, why, sizeof(why)),
		    resp.status == 401 || resp.status == 403 ?
		    " (is the app registered in Commerce headquarters?)" : "");
	} else if ((*reply = cw_json_parse(resp.body, resp.body_len)) == NULL) {
		cw_seterr(e, "Retail Server %s: HTTP %ld with a reply that is not JSON",
		    what, resp.status);
	} else {
		rc = 0;
	}
	cw_http_resp_free(&resp);
	free(json);
	free(oun);
	cw_secret_free(auth);
	free(url);
	return rc;
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

int
cw_retail_channel(struct cw_retail *r, long long *record_id, const char **currency,
    cw_err *e)
{
	json_t *cfg, *id;
	const char *cur;

	if (r->channel == 0) {
		if (cw_retail_call(r, "OrgUnits/GetOrgUnitConfiguration",
		    "OrgUnits/GetOrgUnitConfiguration()", NULL, &cfg, e) != 0)
			return -1;
		id = cw_json_iget(cfg, "RecordId");
		cur = cw_json_istr(cfg, "Currency");
		if (!json_is_integer(id) || json_integer_value(id) <= 0 ||
		    cur == NULL || *cur == '\0') {
			json_decref(cfg);
			return cw_seterr(e, "Retail Server OrgUnits/GetOrgUnitConfiguration: "
			    "the reply lacks RecordId or Currency");
		}
		r->channel = json_integer_value(id);
		r->currency = cw_strdup(cur);
		json_decref(cfg);
	}
	*record_id = r->channel;
	*currency = r->currency;
	return 0;
}
