/* docstore.c: choosing and opening the state store the configuration names. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/state/docstore.h"

void
cw_docstore_config(struct cw_docstore_cfg *o, struct cw_config *c)
{
	memset(o, 0, sizeof(*o));
	o->kind = cw_config_str(c, "Cartwatch.StateStore.Kind");
	if (strcmp(o->kind, "sqlite") == 0) {
		o->path = cw_config_resolve(c, cw_config_str(c, "Cartwatch.StateStore.Path"));
	} else if (strcmp(o->kind, "cosmos") == 0) {
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
	} else {
		cw_config_bad(c, "Cartwatch.StateStore.Kind",
		    "expected \"sqlite\" or \"cosmos\", not \"%s\"", o->kind);
	}
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
	struct cw_docstore *s;
	char *key = NULL;

	if (strcmp(o->kind, "cosmos") != 0)
		return cw_sqlite_open(o->path, e);
	if (o->key_secret != NULL && *o->key == '\0') {
		if (v == NULL) {
			cw_seterr(e, "Cartwatch.StateStore.PrimaryKeySecretName needs "
			    "KeyVaultOptions.KeyVaultUrl");
			return NULL;
		}
		if (cw_vault_get(v, o->key_secret, &key, e) != 0)
			return NULL;
	}
	s = cw_cosmos_open(h, o->endpoint, key != NULL ? key : o->key, o->database,
	    o->container, e);
	cw_secret_free(key);
	return s;
}

int
cw_docstore_needs_vault(const struct cw_docstore_cfg *o)
{
	return strcmp(o->kind, "cosmos") == 0 && o->key_secret != NULL && *o->key == '\0';
}

char *
cw_docstore_where(const struct cw_docstore_cfg *o)
{
	if (strcmp(o->kind, "cosmos") == 0)
		return cw_cosmos_where(o->endpoint, o->database, o->container);
	return cw_sqlite_where(o->path);
}

int
cw_docstore_exists(const struct cw_docstore_cfg *o)
{
	if (strcmp(o->kind, "cosmos") == 0)
		return 1;
	return cw_sqlite_exists(o->path);
}
