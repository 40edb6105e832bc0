/* keyvault.h: secrets from Azure Key Vault, or from a local file: vault. */
#ifndef CW_KEYVAULT_H
#define CW_KEYVAULT_H

#include "cw/util.h"

struct cw_http;
struct cw_vault;  /* opaque */

/*
 * Opens the vault at url: "https://NAME.vault.azure.net" (or any allowed URL;
 * the credential chain of cw_cred_default() is used lazily), or "file:PATH",
 * a JSON object of name -> value that group and others must not be able to
 * read. Returns NULL with e set when the URL or file cannot be used; *exit_code
 * is then CW_EXIT_USAGE (a bad URL, a readable secrets file, a file that is not
 * a JSON object) or CW_EXIT_FAIL (an unreadable file); on success *exit_code
 * is left alone. h is borrowed and must outlive the vault.
 */
struct cw_vault *cw_vault_open(const char *url, struct cw_http *h, int *exit_code,
    cw_err *e);

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
