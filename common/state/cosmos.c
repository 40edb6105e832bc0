/* cosmos.c: Azure Cosmos DB master-key request signatures. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/state/cosmos.h"

/* ASCII only, so that no locale can change what gets signed. */
static void
addlower(struct cw_buf *b, const char *s)
{
	char c;

	for (; *s != '\0'; s++) {
		c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
		cw_buf_add(b, &c, 1);
	}
}

char *
cw_cosmos_auth(const char *key_b64, const char *verb, const char *type,
    const char *link, const char *date)
{
	struct cw_buf m = CW_BUF_INIT;
	unsigned char *key, mac[32];
	size_t keylen;
	char *sig, *tok, *out;

	if ((key = cw_unbase64(key_b64, &keylen)) == NULL)
		return NULL;
	/* The resource link keeps its case: ids are case-sensitive. */
	addlower(&m, verb);
	cw_buf_adds(&m, "\n");
	addlower(&m, type);
	cw_buf_adds(&m, "\n");
	cw_buf_adds(&m, link);
	cw_buf_adds(&m, "\n");
	addlower(&m, date);
	cw_buf_adds(&m, "\n\n");
	cw_hmac_sha256(key, keylen, m.data, m.len, mac);
	explicit_bzero(key, keylen);
	free(key);
	cw_buf_free(&m);

	sig = cw_base64(mac, sizeof(mac));
	tok = cw_asprintf("type=master&ver=1.0&sig=%s", sig);
	out = cw_urlencode(tok);
	free(sig);
	free(tok);
	return out;
}
