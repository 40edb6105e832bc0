/* retail.h: Retail Server (Commerce Scale Unit) OData calls, authenticated as the sample does. */
#ifndef CW_RETAIL_H
#define CW_RETAIL_H

#include <jansson.h>
#include "cw/core/util.h"

struct cw_config;
struct cw_http;
struct cw_vault;

/* RetailServerClientOptions, and our Cartwatch.RetailServer.AuthScheme.
 * Strings are borrowed from the config. */
struct cw_retail_opts {
	const char *tenant;          /* TenantId */
	const char *audience;        /* RetailServerAudienceId */
	const char *app_id_name;     /* AppIdKeyVaultSecretName */
	const char *app_secret_name; /* AppSecretKeyVaultSecretName */
	const char *uri;             /* RetailServerUri (alias RetailServerUrl), ends in /Commerce */
	const char *oun;             /* OperatingUnitNumber, a number or a string */
	const char *auth_scheme;     /* "id_token" (default) or "Bearer" */
};

/* Reads the options from c; a missing or malformed key is reported and
 * counted in c (check cw_config_errors() before any network call). */
void cw_retail_config(struct cw_retail_opts *o, struct cw_config *c);

struct cw_retail;  /* opaque: the credential and the channel, cached */

/*
 * Reads the app id and secret from vault v and gets a token for
 * "{audience}/.default" in the tenant. NULL with e set when either fails. o, h
 * and v are borrowed and must outlive the result. Free with cw_retail_close().
 */
struct cw_retail *cw_retail_open(const struct cw_retail_opts *o, struct cw_http *h,
    struct cw_vault *v, cw_err *e);
void cw_retail_close(struct cw_retail *r);

/*
 * One call: path is relative to RetailServerUri ("Carts/Search?$top=3");
 * api-version=7.3 is appended, the OUN and Authorization headers added. body
 * NULL means GET, else POST of its JSON. On a 2xx reply that is JSON, stores it
 * in *reply (caller decrefs) and returns 0; else -1 with e saying which call
 * (what, e.g. "Carts/Search") failed and why.
 */
int cw_retail_call(struct cw_retail *r, const char *what, const char *path,
    const json_t *body, json_t **reply, cw_err *e);

/* One call of cw_retail_call_many(): what, path and body as cw_retail_call's
 * (borrowed); reply, rc and e as its *reply, return value and e; status the
 * HTTP status of the answer (0: none came). */
struct cw_retail_job {
	const char *what, *path;
	const json_t *body;
	json_t *reply;  /* caller decrefs */
	int rc;
	long status;
	cw_err e;
};

/*
 * Makes the calls jobs[0..n) as cw_retail_call makes one, up to max_in_flight
 * (at least 1) under way at once (cw_http_do_many: a wait Retail Server asks
 * for holds back every call of r). Returns how many failed.
 */
int cw_retail_call_many(struct cw_retail *r, struct cw_retail_job *jobs, size_t n,
    int max_in_flight);

/* Like cw_retail_call for calls that answer a collection: *value is the
 * reply's "value" array (a new reference; caller decrefs). */
int cw_retail_collection(struct cw_retail *r, const char *what, const char *path,
    const json_t *body, json_t **value, cw_err *e);

/* The channel's RecordId and Currency (GetOrgUnitConfiguration, asked once).
 * *currency is borrowed from r. 0; CW_ERR_CONFIG when the answer is a 404,
 * with e naming the key to fix (OperatingUnitNumber: no channel has that
 * OUN; RetailServerUri: no Retail Server API there); else CW_ERR_SERVICE. */
int cw_retail_channel(struct cw_retail *r, long long *record_id,
    const char **currency, cw_err *e);

/*
 * --check's read-only calls, each a line in k (cw/core/check.h), going on
 * after a problem: the app id and secret readable in vault v, a token for
 * the audience, the channel (GetOrgUnitConfiguration). -1 if any of them
 * added a problem, else 0. Claims, reads or writes no record.
 */
struct cw_check;
int cw_retail_check(const struct cw_retail_opts *o, struct cw_http *h, struct cw_vault *v,
    struct cw_check *k);

#endif
