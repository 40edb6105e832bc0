/* aad.h: Microsoft Entra ID (Azure AD) tokens: client secret, workload identity, managed identity. */
#ifndef CW_AAD_H
#define CW_AAD_H

#include "cw/core/util.h"

struct cw_http;
struct cw_cred;  /* opaque; caches tokens per resource until shortly before expiry */

/* Client credentials with a secret for tenant/client_id. Copies its arguments
 * (the secret is wiped on free). The http client is borrowed and must outlive
 * the credential. */
struct cw_cred *cw_cred_client_secret(struct cw_http *h, const char *tenant,
    const char *client_id, const char *secret);

/*
 * The chain Key Vault uses, like DefaultAzureCredential: environment
 * (AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET), then workload
 * identity (AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_FEDERATED_TOKEN_FILE,
 * re-read for every token), then managed identity (IDENTITY_ENDPOINT +
 * IDENTITY_HEADER, else IMDS; AZURE_CLIENT_ID picks a user-assigned identity).
 * The first kind whose variables are set is used; the authority is
 * $AZURE_AUTHORITY_HOST or https://login.microsoftonline.com/. IMDS is
 * http://169.254.169.254 unless $AZURE_POD_IDENTITY_AUTHORITY_HOST names
 * another host, as in the Azure SDKs.
 */
struct cw_cred *cw_cred_default(struct cw_http *h);

void cw_cred_free(struct cw_cred *c);

/*
 * An access token for resource (e.g. "https://vault.azure.net"; client
 * credentials ask for "<resource>/.default"). Borrowed: valid until the next
 * call on c or cw_cred_free(). NULL with e set on failure; the message says
 * which kinds of credential were tried and why each failed.
 */
const char *cw_cred_token(struct cw_cred *c, const char *resource, cw_err *e);

/* Who the credential is, for messages: "environment credential (client id
 * 1234...)". Never a secret. Borrowed from c. */
const char *cw_cred_describe(const struct cw_cred *c);

#endif
