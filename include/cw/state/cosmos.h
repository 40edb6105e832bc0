/* cosmos.h: Azure Cosmos DB REST (NoSQL API) master-key authorization. */
#ifndef CW_COSMOS_H
#define CW_COSMOS_H

/*
 * The Authorization header value for a request: HMAC-SHA256 under the
 * base64-decoded key of "lower(verb)\nlower(type)\nlink\nlower(date)\n\n",
 * as urlencode("type=master&ver=1.0&sig=" + base64(sig)). date is the request's
 * x-ms-date (RFC 1123). Returns NULL if key is not base64. Caller frees.
 */
char *cw_cosmos_auth(const char *key_b64, const char *verb, const char *type,
    const char *link, const char *date);

#endif
