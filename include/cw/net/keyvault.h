/* keyvault.h: secrets from Azure Key Vault, or from a local file: vault. */
#ifndef CW_KEYVAULT_H
#define CW_KEYVAULT_H

#include "cw/core/util.h"

struct cw_http;
struct cw_vault;  /* opaque */

/*
 * Opens the vault at url into *v: "https://NAME.vault.azure.net" (or any
 * allowed URL; the credential chain of cw_cred_default() is used lazily), or
 * "file:PATH", a JSON object of name -> value that group and others must not
 * be able to read. Returns 0, or with e set and *v NULL: CW_ERR_CONFIG (no or
 * a bad URL, a secrets file others can read, a file that is not a JSON
 * object) or CW_ERR_SERVICE (a file that cannot be read). h is borrowed and
 * must outlive the vault; close *v with cw_vault_close().
 */
int cw_vault_open(const char *url, struct cw_http *h, struct cw_vault **v, cw_err *e);

/*
 * Reads secret name into *value (NUL-terminated; caller frees with
 * cw_secret_free()). Returns 0, or -1 with e naming the secret and the vault
 * (and the identity, on 401/403): not found, access denied, service down after
 * retries, a malformed reply.
 */
int cw_vault_get(struct cw_vault *v, const char *name, char **value, cw_err *e);

void cw_vault_close(struct cw_vault *v);

struct cw_config;

/* KeyVaultOptions.KeyVaultUrl from c (reported as missing if absent), with a
 * relative file: path made absolute against the config file's directory.
 * Caller frees; NULL when missing. */
char *cw_vault_url_config(struct cw_config *c);

#endif
