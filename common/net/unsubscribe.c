/* unsubscribe.c: the signed unsubscribe token (doc/DESIGN.md 8.6), the link made from it, its key. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/net/email.h"
#include "cw/net/keyvault.h"
#include "cw/net/unsubscribe.h"

#define MAC_LEN 32
#define MAC_CHARS 43   /* base64url of 32 bytes, unpadded */

static int
key_ok(size_t keylen, cw_err *e)
{
	if (keylen < CW_UNSUB_KEY_MIN)
		return cw_seterr(e, "the unsubscribe key is shorter than %d bytes",
		    CW_UNSUB_KEY_MIN);
	return 0;
}

char *
cw_unsub_token(const void *key, size_t keylen, const char *addr, cw_err *e)
{
	unsigned char mac[MAC_LEN];
	char *low, *a, *m, *token;
	cw_err bad;

	if (key_ok(keylen, e) != 0)
		return NULL;
	if (cw_email_check(addr, CW_EMAIL_RECIPIENT, &bad) != 0) {
		cw_seterr(e, "not an email address: %s", bad.msg);
		return NULL;
	}
	/* One token per address however it was written: the ledger, too,
	 * matches addresses without regard to case. */
	low = cw_strdup(addr);
	for (char *p = low; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	cw_hmac_sha256(key, keylen, low, strlen(low), mac);
	a = cw_base64url(low, strlen(low));
	m = cw_base64url(mac, sizeof(mac));
	token = cw_asprintf("%s.%s", a, m);
	free(low);
	free(a);
	free(m);
	return token;
}

/* Splits token: the MAC part, *alen the length of the address part before
 * it; NULL with e. */
static const char *
split(const char *token, size_t *alen, cw_err *e)
{
	size_t n = token != NULL ? strlen(token) : 0;
	const char *dot;

	if (n == 0)
		cw_seterr(e, "the token is empty");
	else if (n > CW_UNSUB_TOKEN_MAX)
		cw_seterr(e, "the token is longer than any this tool makes (%d characters)",
		    CW_UNSUB_TOKEN_MAX);
	else if ((dot = strchr(token, '.')) == NULL || strchr(dot + 1, '.') != NULL)
		cw_seterr(e, "the token is not two parts joined by one \".\"");
	else if (dot == token || dot[1] == '\0')
		cw_seterr(e, "a part of the token is empty");
	else {
		*alen = (size_t)(dot - token);
		return dot + 1;
	}
	return NULL;
}

/* The address the token names, decoded and its MAC checked; NULL with e. */
static char *
verified(const void *key, size_t keylen, const char *token, cw_err *e)
{
	unsigned char want[MAC_LEN], *got = NULL;
	char *addr = NULL;
	const char *mac;
	size_t alen = 0, n = 0, maclen = 0;

	if ((mac = split(token, &alen, e)) == NULL)
		return NULL;
	if ((addr = (char *)cw_unbase64url(token, alen, &n)) == NULL ||
	    (got = cw_unbase64url(mac, strlen(mac), &maclen)) == NULL) {
		cw_seterr(e, "the token is not base64url (unpadded, A-Z a-z 0-9 - _)");
		goto bad;
	}
	if (maclen != MAC_LEN || strlen(mac) != MAC_CHARS) {
		cw_seterr(e, "the token's signature is not %d bytes", MAC_LEN);
		goto bad;
	}
	cw_hmac_sha256(key, keylen, addr, n, want);
	if (!cw_ct_equal(want, got, MAC_LEN)) {
		cw_seterr(e, "the token's signature does not match: altered, forged, or "
		    "signed with another key");
		goto bad;
	}
	/* A C string ends at the first NUL: what it names is not what was signed. */
	if (memchr(addr, '\0', n) != NULL) {
		cw_seterr(e, "the token's address holds a NUL byte");
		goto bad;
	}
	free(got);
	return addr;
bad:
	free(addr);
	free(got);
	return NULL;
}

int
cw_unsub_check(const void *key, size_t keylen, const char *token, char **addr, cw_err *e)
{
	char *a;
	cw_err bad;

	*addr = NULL;
	if (key_ok(keylen, e) != 0 || (a = verified(key, keylen, token, e)) == NULL)
		return -1;
	/* Signed by us, yet not what cw_unsub_token() makes: refused all the
	 * same, since nothing but a copy of the key could have made it. */
	for (const char *p = a; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z') {
			free(a);
			return cw_seterr(e, "the token's address is not in lower case");
		}
	if (cw_email_check(a, CW_EMAIL_RECIPIENT, &bad) != 0) {
		free(a);
		return cw_seterr(e, "the token's address is not an email address: %s", bad.msg);
	}
	*addr = a;
	return 0;
}

char *
cw_unsub_url(const char *url, const char *token)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *p;

	while ((p = strstr(url, "{token}")) != NULL) {
		cw_buf_add(&b, url, (size_t)(p - url));
		cw_buf_adds(&b, token);
		url = p + strlen("{token}");
	}
	cw_buf_adds(&b, url);
	return cw_buf_detach(&b);
}

void
cw_unsub_config(struct cw_unsub *u, struct cw_config *c)
{
	static const char key[] = "Cartwatch.Unsubscribe.Url";
	const char *url = cw_config_str(c, key);

	u->key_name = cw_config_str(c, "Cartwatch.Unsubscribe.KeySecretName");
	u->url = url != NULL && *url != '\0' ? url : NULL;
	if (u->url == NULL)
		return;
	if (strncmp(url, "https://", 8) != 0)
		cw_config_bad(c, key, "not an https:// URL (RFC 8058 one-click needs https)");
	else if (strstr(url, "{token}") == NULL)
		cw_config_bad(c, key, "no {token} in it, where the token goes");
	else if (strlen(url) > CW_UNSUB_URL_MAX)
		cw_config_bad(c, key, "longer than %d characters", CW_UNSUB_URL_MAX);
	else
		for (const char *p = url; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
			    strchr("<>\"", *p) != NULL) {
				cw_config_bad(c, key, "a blank, a control character, '<', '>', "
				    "'\"' or non-ASCII in it (percent-encode it)");
				break;
			}
}

int
cw_unsub_open(struct cw_unsub *u, struct cw_vault *v, cw_err *e)
{
	if (cw_vault_get(v, u->key_name, &u->key, e) != 0)
		return CW_ERR_SERVICE;
	if (strlen(u->key) < CW_UNSUB_KEY_MIN) {
		cw_seterr(e, "%s: the unsubscribe key is shorter than %d bytes",
		    u->key_name, CW_UNSUB_KEY_MIN);
		return CW_ERR_CONFIG;
	}
	return 0;
}

char *
cw_unsub_link(const struct cw_unsub *u, const char *addr, cw_err *e)
{
	char *token = cw_unsub_token(u->key, strlen(u->key), addr, e), *link;

	if (token == NULL)
		return NULL;
	link = cw_unsub_url(u->url, token);
	free(token);
	return link;
}

void
cw_unsub_free(struct cw_unsub *u)
{
	cw_secret_free(u->key);
	u->key = NULL;
}
