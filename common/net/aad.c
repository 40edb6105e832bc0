/* aad.c: Microsoft Entra ID tokens: client secret, workload identity, managed identity. */
#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cw/core/crypto.h"
#include "cw/core/file.h"
#include "cw/core/json.h"
#include "cw/net/aad.h"
#include "cw/net/http.h"

#define DEFAULT_AUTHORITY "https://login.microsoftonline.com/"
#define DEFAULT_IMDS "http://169.254.169.254"
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Entra ID and IMDS refuse as OAuth2 does (error, error_description); App
 * Service's IDENTITY_ENDPOINT with a bare message. */
static const struct cw_http_errfmt token_errors = {
	{"error", "error.code", "code"},
	{"error_description", "error.message", "message"},
};

enum kind { SECRET, WORKLOAD, APPSERVICE, IMDS };

struct token {
	char *resource;
	char *value;
	time_t refresh;  /* ask again from this time on */
};

struct cw_cred {
	struct cw_http *h;
	enum kind kind;
	char *tenant;
	char *client_id;     /* for managed identity: a user-assigned one, or NULL */
	char *secret;
	char *token_file;
	char *authority;     /* no trailing slash */
	char *endpoint;      /* managed identity endpoint */
	char *idheader;
	char desc[256];
	char skipped[512];   /* the chain's kinds passed over, and why */
	struct token *tok;
	size_t ntok;
};

static char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? cw_strdup(v) : NULL;
}

static char *
authority(void)
{
	const char *a = getenv("AZURE_AUTHORITY_HOST");

	return cw_url_trim_slash(a != NULL && *a != '\0' ? a : DEFAULT_AUTHORITY);
}

static struct cw_cred *
new_cred(struct cw_http *h, enum kind kind)
{
	struct cw_cred *c = cw_calloc(1, sizeof(*c));

	c->h = h;
	c->kind = kind;
	return c;
}

struct cw_cred *
cw_cred_client_secret(struct cw_http *h, const char *tenant, const char *client_id,
    const char *secret)
{
	struct cw_cred *c = new_cred(h, SECRET);

	c->tenant = cw_strdup(tenant);
	c->client_id = cw_strdup(client_id);
	c->secret = cw_strdup(secret);
	c->authority = authority();
	snprintf(c->desc, sizeof(c->desc), "app %.80s in tenant %.80s",
	    client_id, tenant);
	return c;
}

struct cw_cred *
cw_cred_default(struct cw_http *h)
{
	char *tenant = env("AZURE_TENANT_ID");
	char *client = env("AZURE_CLIENT_ID");
	char *secret = env("AZURE_CLIENT_SECRET");
	char *file = env("AZURE_FEDERATED_TOKEN_FILE");
	struct cw_buf skipped = CW_BUF_INIT;
	struct cw_cred *c;

	if (tenant != NULL && client != NULL && secret != NULL) {
		c = cw_cred_client_secret(h, tenant, client, secret);
		snprintf(c->desc, sizeof(c->desc),
		    "environment credential (client id %.80s, tenant %.80s)", client, tenant);
		goto out;
	}
	cw_buf_adds(&skipped, "environment credential (needs AZURE_TENANT_ID, "
	    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET)");
	if (tenant != NULL && client != NULL && file != NULL) {
		c = new_cred(h, WORKLOAD);
		c->tenant = tenant;
		c->client_id = client;
		c->token_file = file;
		tenant = client = file = NULL;
		c->authority = authority();
		snprintf(c->desc, sizeof(c->desc),
		    "workload identity (client id %.80s, tenant %.80s)", c->client_id, c->tenant);
		goto out;
	}
	cw_buf_adds(&skipped, ", workload identity (needs AZURE_TENANT_ID, "
	    "AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE)");
	if (getenv("IDENTITY_ENDPOINT") != NULL && getenv("IDENTITY_HEADER") != NULL) {
		c = new_cred(h, APPSERVICE);
		c->endpoint = env("IDENTITY_ENDPOINT");
		c->idheader = env("IDENTITY_HEADER");
		snprintf(c->desc, sizeof(c->desc), "managed identity (IDENTITY_ENDPOINT%s%.80s)",
		    client ? ", client id " : "", client ? client : "");
	} else {
		const char *host = getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST");

		c = new_cred(h, IMDS);
		c->endpoint = cw_url_trim_slash(host != NULL && *host != '\0' ? host :
		    DEFAULT_IMDS);
		snprintf(c->desc, sizeof(c->desc), "managed identity (IMDS%s%.80s)",
		    client ? ", client id " : "", client ? client : "");
		cw_buf_adds(&skipped, ", App Service managed identity (needs "
		    "IDENTITY_ENDPOINT and IDENTITY_HEADER)");
	}
	c->client_id = client;
	client = NULL;
out:
	snprintf(c->skipped, sizeof(c->skipped), "%s", skipped.data ? skipped.data : "");
	cw_buf_free(&skipped);
	free(tenant);
	free(client);
	cw_secret_free(secret);
	free(file);
	return c;
}

void
cw_cred_free(struct cw_cred *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ntok; i++) {
		free(c->tok[i].resource);
		cw_secret_free(c->tok[i].value);
	}
	free(c->tok);
	free(c->tenant);
	free(c->client_id);
	cw_secret_free(c->secret);
	free(c->token_file);
	free(c->authority);
	free(c->endpoint);
	cw_secret_free(c->idheader);
	free(c);
}

const char *
cw_cred_describe(const struct cw_cred *c)
{
	return c->desc;
}

static void
form(struct cw_buf *b, const char *name, const char *value)
{
	char *v = cw_urlencode(value);

	cw_buf_addf(b, "%s%s=%s", b->len ? "&" : "", name, v);
	explicit_bzero(v, strlen(v));
	free(v);
}

/* Reads the federated token: Kubernetes rotates the file, so read it every time. */
static char *
read_assertion(const char *path, cw_err *e)
{
	struct cw_buf b = CW_BUF_INIT;
	cw_err why;

	if (cw_read_file(path, SIZE_MAX, 0, &b, &why) != 0) {
		cw_seterr(e, "cannot read AZURE_FEDERATED_TOKEN_FILE %s", why.msg);
		return NULL;
	}
	while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
	    b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	if (b.len == 0) {
		cw_buf_free(&b);
		cw_seterr(e, "AZURE_FEDERATED_TOKEN_FILE %s is empty", path);
		return NULL;
	}
	return cw_buf_detach(&b);
}

/* expires_in (seconds from now) or expires_on (epoch), as numbers or strings. */
static int
expiry(json_t *j, time_t now, time_t *at)
{
	static const char *const keys[] = {"expires_in", "expires_on"};

	for (int i = 0; i < 2; i++) {
		json_t *v = cw_json_iget(j, keys[i]);
		long long n;
		char *end;

		if (json_is_integer(v))
			n = json_integer_value(v);
		else if (json_is_real(v))
			n = (long long)json_real_value(v);
		else if (json_is_string(v)) {
			errno = 0;
			n = strtoll(json_string_value(v), &end, 10);
			if (errno != 0 || *end != '\0' || end == json_string_value(v))
				continue;
		} else
			continue;
		*at = i == 0 ? now + (time_t)n : (time_t)n;
		return 0;
	}
	return -1;
}

/* Builds and sends the token request of c's kind for resource into resp. */
static int
request(struct cw_cred *c, const char *resource, struct cw_http_resp *resp, cw_err *e)
{
	struct cw_buf body = CW_BUF_INIT, url = CW_BUF_INIT, hdr = CW_BUF_INIT;
	const char *headers[4] = {NULL};
	struct cw_http_req req = {0};
	char *res = cw_url_trim_slash(resource), *q, *assertion = NULL;
	int r = -1;

	req.method = "GET";
	if (c->kind == SECRET || c->kind == WORKLOAD) {
		char *scope;

		req.service = "Entra ID";
		req.method = "POST";
		q = cw_urlencode(c->tenant);
		cw_buf_addf(&url, "%s/%s/oauth2/v2.0/token", c->authority, q);
		free(q);
		scope = strstr(res, "/.default") ? cw_strdup(res) :
		    cw_asprintf("%s/.default", res);
		form(&body, "grant_type", "client_credentials");
		form(&body, "client_id", c->client_id);
		if (c->kind == SECRET) {
			form(&body, "client_secret", c->secret);
		} else {
			if ((assertion = read_assertion(c->token_file, e)) == NULL) {
				free(scope);
				goto out;
			}
			form(&body, "client_assertion_type", ASSERTION_TYPE);
			form(&body, "client_assertion", assertion);
		}
		form(&body, "scope", scope);
		free(scope);
		headers[0] = "Content-Type: application/x-www-form-urlencoded";
		headers[1] = "Accept: application/json";
		req.body = body.data;
		req.body_len = body.len;
	} else {
		req.service = c->kind == APPSERVICE ? "IDENTITY_ENDPOINT" : "IMDS";
		q = cw_urlencode(res);
		if (c->kind == APPSERVICE) {
			cw_buf_addf(&url, "%s%sapi-version=2019-08-01&resource=%s", c->endpoint,
			    strchr(c->endpoint, '?') ? "&" : "?", q);
			cw_buf_addf(&hdr, "X-IDENTITY-HEADER: %s", c->idheader);
			headers[0] = hdr.data;
		} else {
			cw_buf_addf(&url, "%s/metadata/identity/oauth2/token"
			    "?api-version=2018-02-01&resource=%s", c->endpoint, q);
			headers[0] = "Metadata: true";
			/* Off Azure nothing answers at IMDS: find out quickly. */
			req.connect_timeout_ms = 1000;
		}
		free(q);
		if (c->client_id != NULL) {
			q = cw_urlencode(c->client_id);
			cw_buf_addf(&url, "&client_id=%s", q);
			free(q);
		}
		headers[1] = "Accept: application/json";
	}
	req.url = url.data;
	req.headers = headers;
	r = cw_http_do(c->h, &req, resp, e);
out:
	cw_secret_free(assertion);
	cw_buf_wipe(&body);
	cw_buf_wipe(&hdr);
	cw_buf_free(&url);
	free(res);
	return r;
}

static void
fail(struct cw_cred *c, const char *resource, cw_err *e, const char *why)
{
	char w[sizeof(e->msg)];

	snprintf(w, sizeof(w), "%s", why);
	cw_seterr(e, "no token for %s from %s: %s%s%s", resource, c->desc, w,
	    c->skipped[0] ? "; not configured: " : "", c->skipped);
}

const char *
cw_cred_token(struct cw_cred *c, const char *resource, cw_err *e)
{
	struct cw_http_resp resp = {0};
	struct token *t = NULL;
	const char *tok, *result = NULL;
	time_t now = time(NULL), at;
	json_t *j = NULL;
	char why[400];
	cw_err herr = {""};

	for (size_t i = 0; i < c->ntok; i++)
		if (strcmp(c->tok[i].resource, resource) == 0)
			t = &c->tok[i];
	if (t != NULL && t->value != NULL && now < t->refresh)
		return t->value;

	if (request(c, resource, &resp, &herr) != 0) {
		fail(c, resource, e, herr.msg);
		cw_http_resp_free(&resp);
		return NULL;
	}
	if (resp.status != 200) {
		fail(c, resource, e, cw_http_describe(&resp, &token_errors, why, sizeof(why)));
		cw_http_resp_free(&resp);
		return NULL;
	}
	j = cw_json_parse(resp.body, resp.body_len);
	tok = cw_json_istr(j, "access_token");
	if (tok == NULL || *tok == '\0') {
		fail(c, resource, e, "the reply has no access_token");
		goto out;
	}
	if (expiry(j, now, &at) != 0)
		at = now;  /* no expiry given: use it once, never cache it */
	if (t == NULL) {
		c->tok = cw_realloc(c->tok, (c->ntok + 1) * sizeof(*c->tok));
		t = &c->tok[c->ntok++];
		t->resource = cw_strdup(resource);
		t->value = NULL;
	}
	cw_secret_free(t->value);
	t->value = cw_strdup(tok);
	/* Refresh five minutes early, or halfway for short-lived tokens. */
	t->refresh = at - ((at - now) / 2 < 300 ? (at - now) / 2 : 300);
	result = t->value;
out:
	json_decref(j);
	cw_http_resp_free(&resp);
	return result;
}
