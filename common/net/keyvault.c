/* keyvault.c: secrets from Azure Key Vault, or from a local file: vault. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/file.h"
#include "cw/core/json.h"
#include "cw/net/aad.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"

#define VAULT_RESOURCE "https://vault.azure.net"

/* {"error":{"code":"SecretNotFound","message":"..."}} */
static const struct cw_http_errfmt vault_errors = {{"error.code"}, {"error.message"}};

struct cw_vault {
	char *url;          /* https://...; no trailing slash */
	char *shown;        /* url for messages: its password hidden */
	char *path;         /* file: vault */
	json_t *secrets;    /* file: vault contents */
	struct cw_http *h;
	struct cw_cred *cred;
};

static json_t *
load_file(const char *path, int *kind, cw_err *e)
{
	struct cw_buf b = CW_BUF_INIT;
	json_error_t jerr;
	json_t *j;
	cw_err why;
	int r;

	r = cw_read_file(path, SIZE_MAX, CW_FILE_REGULAR | CW_FILE_PRIVATE, &b, &why);
	if (r != 0) {
		*kind = r == CW_FILE_EXPOSED ? CW_ERR_CONFIG : CW_ERR_SERVICE;
		cw_seterr(e, "file vault %s", why.msg);
		return NULL;
	}
	*kind = CW_ERR_SERVICE;
	j = json_loadb(b.data, b.len, 0, &jerr);
	cw_buf_wipe(&b);
	if (!json_is_object(j)) {
		*kind = CW_ERR_CONFIG;
		/* jerr.text may quote the file: never show it, it holds secrets. */
		cw_seterr(e, "file vault %s: line %d: not a JSON object of name to value",
		    path, j == NULL ? jerr.line : 1);
		json_decref(j);
		return NULL;
	}
	return j;
}

int
cw_vault_open(const char *url, struct cw_http *h, struct cw_vault **vp, cw_err *e)
{
	struct cw_vault *v;
	int kind;

	*vp = NULL;
	if (url == NULL || *url == '\0') {
		cw_seterr(e, "no vault URL");
		return CW_ERR_CONFIG;
	}
	v = cw_calloc(1, sizeof(*v));
	v->h = h;
	if (strncmp(url, "file:", 5) == 0) {
		/* file:PATH, and file:///abs/path as a URL would say it */
		const char *p = strncmp(url, "file://", 7) == 0 ? url + 7 : url + 5;

		v->path = cw_strdup(p);
		if ((v->secrets = load_file(v->path, &kind, e)) == NULL) {
			cw_vault_close(v);
			return kind;
		}
		*vp = v;
		return 0;
	}
	if (cw_http_url_allowed(url, e) != 0) {
		char why[sizeof(e->msg)];

		memcpy(why, e->msg, sizeof(why));
		cw_seterr(e, "Key Vault URL: %s", why);
		cw_vault_close(v);
		return CW_ERR_CONFIG;
	}
	v->url = cw_url_trim_slash(url);
	v->shown = cw_url_redact(v->url);
	*vp = v;
	return 0;
}

void
cw_vault_close(struct cw_vault *v)
{
	if (v == NULL)
		return;
	free(v->url);
	free(v->shown);
	free(v->path);
	/* json_decref cannot wipe; the strings die with the process soon after. */
	json_decref(v->secrets);
	cw_cred_free(v->cred);
	free(v);
}

static int
valid_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 127)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-") == n;
}

static int
file_get(struct cw_vault *v, const char *name, char **value, cw_err *e)
{
	json_t *s = json_object_get(v->secrets, name);

	if (s == NULL)
		return cw_seterr(e, "secret '%s' not found in file vault %s", name, v->path);
	if (!json_is_string(s))
		return cw_seterr(e, "secret '%s' in file vault %s is not a string",
		    name, v->path);
	*value = cw_strdup(json_string_value(s));
	return 0;
}

/*
 * The resource a 401's challenge names, when it is one we may send a token to:
 * Key Vault in a sovereign cloud answers with its own (vault.azure.cn...). As
 * the Azure SDKs do, only a resource whose host the vault's host ends with.
 */
static char *
challenge_resource(const struct cw_vault *v, const struct cw_http_resp *resp)
{
	const char *ch = cw_http_header(resp, "WWW-Authenticate"), *p, *q;
	const char *vhost, *rhost, *rend;
	size_t vlen, rlen;

	if (ch == NULL || (p = strstr(ch, "resource=\"")) == NULL)
		return NULL;
	p += strlen("resource=\"");
	if ((q = strchr(p, '"')) == NULL || strncmp(p, "https://", 8) != 0)
		return NULL;
	rhost = p + 8;
	for (rend = rhost; rend < q && *rend != '/'; rend++)
		;
	rlen = (size_t)(rend - rhost);
	vhost = strstr(v->url, "://") + 3;
	vlen = strcspn(vhost, "/:");
	if (rlen == 0 || vlen <= rlen || vhost[vlen - rlen - 1] != '.' ||
	    strncasecmp(vhost + vlen - rlen, rhost, rlen) != 0)
		return NULL;
	return cw_strndup(p, (size_t)(q - p));
}

static int
http_get(struct cw_vault *v, const char *name, char **value, cw_err *e)
{
	struct cw_http_req req = {0};
	struct cw_http_resp resp;
	char *url, *hdr = NULL, *resource = NULL, *q;
	const char *headers[3], *token, *val;
	char why[400];
	json_t *j;
	int r = -1;

	if (!valid_name(name))
		return cw_seterr(e, "Key Vault %s: '%s' is not a secret name "
		    "(1 to 127 letters, digits and dashes)", v->shown, name);
	if (v->cred == NULL)
		v->cred = cw_cred_default(v->h);
	q = cw_urlencode(name);
	url = cw_asprintf("%s/secrets/%s?api-version=7.4", v->url, q);
	free(q);
	req.service = "Key Vault";
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	for (int tries = 0; tries < 2; tries++) {
		token = cw_cred_token(v->cred, resource ? resource : VAULT_RESOURCE, e);
		if (token == NULL)
			goto out;
		cw_secret_free(hdr);
		hdr = cw_asprintf("Authorization: Bearer %s", token);
		headers[0] = hdr;
		headers[1] = "Accept: application/json";
		headers[2] = NULL;
		if (cw_http_do(v->h, &req, &resp, e) != 0) {
			cw_http_resp_free(&resp);
			goto out;
		}
		if (resp.status != 401 || resource != NULL ||
		    (resource = challenge_resource(v, &resp)) == NULL)
			break;
		cw_http_resp_free(&resp);
	}
	switch (resp.status) {
	case 200:
		j = cw_json_parse(resp.body, resp.body_len);
		if ((val = cw_json_istr(j, "value")) == NULL)
			cw_seterr(e, "Key Vault %s: secret '%s': the reply has no string "
			    "value", v->shown, name);
		else {
			*value = cw_strdup(val);
			r = 0;
		}
		json_decref(j);
		break;
	case 404:
		cw_seterr(e, "Key Vault %s: secret '%s' not found (%s)", v->shown, name,
		    cw_http_describe(&resp, &vault_errors, why, sizeof(why)));
		break;
	case 401:
	case 403:
		cw_seterr(e, "Key Vault %s: secret '%s': access denied to %s (%s)", v->shown,
		    name, cw_cred_describe(v->cred),
		    cw_http_describe(&resp, &vault_errors, why, sizeof(why)));
		break;
	default:
		cw_seterr(e, "Key Vault %s: secret '%s': %s (after %d attempt%s)", v->shown,
		    name, cw_http_describe(&resp, &vault_errors, why, sizeof(why)), resp.attempts,
		    resp.attempts == 1 ? "" : "s");
		break;
	}
	cw_http_resp_free(&resp);
out:
	cw_secret_free(hdr);
	free(resource);
	free(url);
	return r;
}

int
cw_vault_get(struct cw_vault *v, const char *name, char **value, cw_err *e)
{
	*value = NULL;
	return v->secrets != NULL ? file_get(v, name, value, e) : http_get(v, name, value, e);
}

char *
cw_vault_url_config(struct cw_config *c)
{
	const char *url = cw_config_need_str(c, "KeyVaultOptions.KeyVaultUrl");
	char *abs, *r;

	if (*url == '\0')
		return NULL;
	if (strncmp(url, "file:", 5) != 0 || strncmp(url, "file://", 7) == 0)
		return cw_strdup(url);
	abs = cw_config_resolve(c, url + 5);
	r = cw_asprintf("file:%s", abs);
	free(abs);
	return r;
}
