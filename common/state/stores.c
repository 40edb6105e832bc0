/* stores.c: the state stores there are, by Cartwatch.StateStore.Kind: their keys, opening one. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/check.h"
#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/state/store_cosmos.h"
#include "cw/state/store_sqlite.h"
#include "cw/state/stores.h"

static void
sqlite_config(struct cw_docstore_cfg *o, struct cw_config *c)
{
	o->path = cw_config_resolve(c, cw_config_str(c, "Cartwatch.StateStore.Path"));
}

static struct cw_docstore *
sqlite_open(const struct cw_docstore_cfg *o, struct cw_http *h, const char *key, cw_err *e)
{
	(void)h;
	(void)key;
	return cw_sqlite_open(o->path, e);
}

static char *
sqlite_where(const struct cw_docstore_cfg *o)
{
	return cw_sqlite_where(o->path);
}

static int
sqlite_exists(const struct cw_docstore_cfg *o)
{
	return cw_sqlite_exists(o->path);
}

static void
cosmos_config(struct cw_docstore_cfg *o, struct cw_config *c)
{
	cw_err e;

	/* The sample's section and defaults. */
	o->endpoint = cw_config_str(c, "AzureCosmosOptions.EndPointUri");
	/* The sample keeps the key in the file; ours may name a vault
	 * secret instead, so that the file holds no secret at all. */
	o->key_secret = cw_config_str(c, "Cartwatch.StateStore.PrimaryKeySecretName");
	o->key = o->key_secret != NULL ? cw_config_str(c, "AzureCosmosOptions.PrimaryKey") :
	    cw_config_need_str(c, "AzureCosmosOptions.PrimaryKey");
	o->database = cw_config_str(c, "AzureCosmosOptions.DatabaseId");
	o->container = cw_config_str(c, "AzureCosmosOptions.ContainerId");
	if (cw_http_url_allowed(o->endpoint, &e) != 0)
		cw_config_bad(c, "AzureCosmosOptions.EndPointUri", "%s", e.msg);
	if (*o->key != '\0') {
		size_t n;
		unsigned char *k = cw_unbase64(o->key, &n);

		if (k == NULL)
			cw_config_bad(c, "AzureCosmosOptions.PrimaryKey", "not base64");
		else
			explicit_bzero(k, n);
		free(k);
	}
}

static void
sqlite_check(const struct cw_docstore_cfg *o, struct cw_http *h, const char *key,
    struct cw_check *k)
{
	cw_err e;
	int r = cw_sqlite_check(o->path, &e);

	(void)h;
	(void)key;
	if (r < 0)
		cw_check_bad(k, "%s", e.msg);
	else if (r == 0)
		cw_check_ok(k, "state store %s: none yet; the first run makes it", o->path);
	else
		cw_check_ok(k, "state store %s opens", o->path);
}

static struct cw_docstore *
cosmos_open(const struct cw_docstore_cfg *o, struct cw_http *h, const char *key, cw_err *e)
{
	return cw_cosmos_open(h, o->endpoint, key, o->database, o->container, e);
}

static char *
cosmos_where(const struct cw_docstore_cfg *o)
{
	return cw_cosmos_where(o->endpoint, o->database, o->container);
}

static void
cosmos_check(const struct cw_docstore_cfg *o, struct cw_http *h, const char *key,
    struct cw_check *k)
{
	char *where = cw_cosmos_where(o->endpoint, o->database, o->container);
	cw_err e;
	int r = cw_cosmos_check(h, o->endpoint, key, o->database, o->container, &e);

	if (r < 0)
		cw_check_bad(k, "%s", e.msg);
	else if (r == 0)
		cw_check_ok(k, "state store %s: the key is taken; no container yet, the "
		    "first run makes it", where);
	else
		cw_check_ok(k, "state store %s readable", where);
	free(where);
}

/* Only a request could tell, and opening the container makes it when missing. */
static int
cosmos_exists(const struct cw_docstore_cfg *o)
{
	(void)o;
	return 1;
}

/* The stores, the default first: each reads its keys into the configuration,
 * opens (given its key, from the file or the vault), says where it is and
 * whether it exists yet, and checks it for --check. */
static const struct kind {
	const char *name;
	void (*config)(struct cw_docstore_cfg *o, struct cw_config *c);
	struct cw_docstore *(*open)(const struct cw_docstore_cfg *o, struct cw_http *h,
	    const char *key, cw_err *e);
	char *(*where)(const struct cw_docstore_cfg *o);
	int (*exists)(const struct cw_docstore_cfg *o);
	void (*check)(const struct cw_docstore_cfg *o, struct cw_http *h, const char *key,
	    struct cw_check *k);
} kinds[] = {
	{"sqlite", sqlite_config, sqlite_open, sqlite_where, sqlite_exists, sqlite_check},
	{"cosmos", cosmos_config, cosmos_open, cosmos_where, cosmos_exists, cosmos_check},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind *
kind_of(const struct cw_docstore_cfg *o)
{
	for (size_t i = 0; o->kind != NULL && i < NKINDS; i++)
		if (strcmp(kinds[i].name, o->kind) == 0)
			return &kinds[i];
	return NULL;
}

void
cw_docstore_config(struct cw_docstore_cfg *o, struct cw_config *c)
{
	const struct kind *k;
	struct cw_buf names = CW_BUF_INIT;

	memset(o, 0, sizeof(*o));
	o->kind = cw_config_str(c, "Cartwatch.StateStore.Kind");
	if ((k = kind_of(o)) != NULL) {
		k->config(o, c);
		return;
	}
	/* "a", "b" or "c" */
	for (size_t i = 0; i < NKINDS; i++)
		cw_buf_addf(&names, "%s\"%s\"", i == 0 ? "" : i + 1 == NKINDS ? " or " : ", ",
		    kinds[i].name);
	cw_config_bad(c, "Cartwatch.StateStore.Kind", "expected %s, not \"%s\"",
	    names.data, o->kind);
	cw_buf_free(&names);
}

void
cw_docstore_cfg_free(struct cw_docstore_cfg *o)
{
	free(o->path);
	o->path = NULL;
}

struct cw_docstore *
cw_docstore_open(const struct cw_docstore_cfg *o, struct cw_http *h, struct cw_vault *v,
    cw_err *e)
{
	const struct kind *k = kind_of(o);
	struct cw_docstore *s;
	char *key = NULL;

	if (k == NULL) {
		cw_seterr(e, "Cartwatch.StateStore.Kind: no such store \"%s\"",
		    o->kind != NULL ? o->kind : "");
		return NULL;
	}
	if (cw_docstore_needs_vault(o)) {
		if (v == NULL) {
			cw_seterr(e, "Cartwatch.StateStore.PrimaryKeySecretName needs "
			    "KeyVaultOptions.KeyVaultUrl");
			return NULL;
		}
		if (cw_vault_get(v, o->key_secret, &key, e) != 0)
			return NULL;
	}
	s = k->open(o, h, key != NULL ? key : o->key, e);
	cw_secret_free(key);
	return s;
}

void
cw_docstore_close(struct cw_docstore *s)
{
	if (s == NULL)
		return;
	explicit_bzero(&s->hk, sizeof(s->hk));
	s->close(s);
}

int
cw_docstore_needs_vault(const struct cw_docstore_cfg *o)
{
	return o->key_secret != NULL && (o->key == NULL || *o->key == '\0');
}

char *
cw_docstore_where(const struct cw_docstore_cfg *o)
{
	const struct kind *k = kind_of(o);

	return k != NULL ? k->where(o) : NULL;
}

int
cw_docstore_exists(const struct cw_docstore_cfg *o)
{
	const struct kind *k = kind_of(o);

	return k != NULL && k->exists(o);
}

void
cw_docstore_check(const struct cw_docstore_cfg *o, struct cw_http *h, struct cw_vault *v,
    struct cw_check *k)
{
	const struct kind *kd = kind_of(o);
	char *key = NULL;
	cw_err e;

	if (kd == NULL) {
		cw_check_bad(k, "Cartwatch.StateStore.Kind: no such store \"%s\"",
		    o->kind != NULL ? o->kind : "");
		return;
	}
	if (cw_docstore_needs_vault(o)) {
		if (v == NULL || cw_vault_get(v, o->key_secret, &key, &e) != 0) {
			cw_check_bad(k, "Cartwatch.StateStore.PrimaryKeySecretName: %s",
			    v == NULL ? "needs KeyVaultOptions.KeyVaultUrl" : e.msg);
			return;
		}
		cw_check_ok(k, "vault secret %s (Cartwatch.StateStore.PrimaryKeySecretName) "
		    "readable", o->key_secret);
	}
	kd->check(o, h, key != NULL ? key : o->key, k);
	cw_secret_free(key);
}
