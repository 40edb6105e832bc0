/* crypto.c: base64, SHA-1, HMAC-SHA256, random hex and percent-encoding over OpenSSL. */
#include <err.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cw/core/crypto.h"
#include "cw/core/util.h"

/*
 * EVP_EncodeBlock and EVP_DecodeBlock take int lengths, so long inputs go
 * through in chunks that keep the 3-byte / 4-char groups whole.
 */
#define ENC_CHUNK (3 * 16384)
#define DEC_CHUNK (4 * 16384)

static const char hexdig[] = "0123456789abcdef";

static void
tohex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[p[i] >> 4];
		out[2 * i + 1] = hexdig[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

char *
cw_base64(const void *data, size_t n)
{
	const unsigned char *p = data;
	char *out, *o;
	size_t k;

	out = cw_malloc((n + 2) / 3 * 4 + 1);
	o = out;
	*o = '\0';
	while (n > 0) {
		k = n < ENC_CHUNK ? n : ENC_CHUNK;
		o += EVP_EncodeBlock((unsigned char *)o, p, (int)k);
		p += k;
		n -= k;
	}
	return out;
}

static int
isb64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

unsigned char *
cw_unbase64(const char *s, size_t *n)
{
	unsigned char *out;
	size_t len, pad, i, k, done;
	int r;

	if (s == NULL)
		return NULL;
	/*
	 * EVP_DecodeBlock skips whitespace, ignores where '=' sits and counts
	 * padding as data, so the shape is checked here first: whole groups,
	 * the alphabet, and at most two '=' only at the very end.
	 */
	len = strlen(s);
	if (len % 4 != 0)
		return NULL;
	pad = 0;
	while (pad < len && s[len - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return NULL;
	for (i = 0; i < len - pad; i++)
		if (!isb64((unsigned char)s[i]))
			return NULL;

	out = cw_malloc(len / 4 * 3 + 1);
	done = 0;
	for (i = 0; i < len; i += k) {
		k = len - i < DEC_CHUNK ? len - i : DEC_CHUNK;
		r = EVP_DecodeBlock(out + done, (const unsigned char *)s + i,
		    (int)k);
		if (r < 0 || (size_t)r != k / 4 * 3) {
			free(out);
			return NULL;
		}
		done += (size_t)r;
	}
	done -= pad;	/* each '=' decoded as a zero byte that is not data */
	out[done] = '\0';
	if (n != NULL)
		*n = done;
	return out;
}

char *
cw_base64url(const void *data, size_t n)
{
	char *s = cw_base64(data, n), *p;

	for (p = s; *p != '\0' && *p != '='; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	*p = '\0';
	return s;
}

static int
b64url_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

unsigned char *
cw_unbase64url(const char *s, size_t len, size_t *n)
{
	unsigned char *out;
	unsigned long acc = 0;
	size_t o = 0;
	int bits = 0, v;

	/* One character over carries 6 bits: no whole byte, never an encoding. */
	if (len % 4 == 1)
		return NULL;
	out = cw_malloc(len / 4 * 3 + 3);
	for (size_t i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits set: another string that decodes to the same bytes. */
	if ((acc & ((1UL << bits) - 1)) != 0) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	if (n != NULL)
		*n = o;
	return out;
}

int
cw_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/*
 * The ledger hashes two values per cart, so the per-call setup of the
 * one-shot EVP_Digest and HMAC (fetching the algorithm, making a context,
 * keying it) cost more than the hashing itself. Each thread keeps a fetched
 * SHA-1 and its context, and an HMAC context keyed with the key last used
 * (a copy of which it keeps to see whether the next call's is the same:
 * the ledger's is the same for a whole run). Released at exit only.
 */
#define HMAC_KEEP 64  /* longer keys are keyed per call */

static _Thread_local struct {
	EVP_MD *sha1;
	EVP_MD_CTX *sha1_ctx;
	EVP_MAC_CTX *mac;
	size_t keylen;       /* of key, when mac is keyed with it */
	unsigned char key[HMAC_KEEP];
} kept;

void
cw_sha1_hex(const void *data, size_t n, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (kept.sha1 == NULL && (kept.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) == NULL)
		errx(CW_EXIT_FAIL, "SHA-1: not available from OpenSSL");
	if (kept.sha1_ctx == NULL && (kept.sha1_ctx = EVP_MD_CTX_new()) == NULL)
		errx(CW_EXIT_FAIL, "SHA-1: out of memory");
	/* A NULL pointer for an empty message upsets some providers. */
	if (EVP_DigestInit_ex(kept.sha1_ctx, kept.sha1, NULL) != 1 ||
	    EVP_DigestUpdate(kept.sha1_ctx, n > 0 ? data : "", n) != 1 ||
	    EVP_DigestFinal_ex(kept.sha1_ctx, md, &mdlen) != 1 || mdlen != 20)
		errx(CW_EXIT_FAIL, "SHA-1: not available from OpenSSL");
	tohex(md, 20, out);
}

/* The kept HMAC-SHA256 context, keyed with key: made or rekeyed if need be. */
static EVP_MAC_CTX *
hmac_ctx(const unsigned char *key, size_t keylen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end()
	};
	EVP_MAC *mac;

	if (kept.mac == NULL) {
		if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
		    (kept.mac = EVP_MAC_CTX_new(mac)) == NULL)
			errx(CW_EXIT_FAIL, "HMAC-SHA256: not available from OpenSSL");
		EVP_MAC_free(mac);
		kept.keylen = (size_t)-1;
	}
	if (keylen == kept.keylen && memcmp(key, kept.key, keylen) == 0)
		return EVP_MAC_init(kept.mac, NULL, 0, NULL) == 1 ? kept.mac : NULL;
	explicit_bzero(kept.key, sizeof(kept.key));
	kept.keylen = (size_t)-1;
	if (EVP_MAC_init(kept.mac, key, keylen, params) != 1)
		return NULL;
	if (keylen <= HMAC_KEEP) {
		memcpy(kept.key, key, keylen);
		kept.keylen = keylen;
	}
	return kept.mac;
}

void
cw_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
    unsigned char out[32])
{
	static const unsigned char empty[1];
	EVP_MAC_CTX *c;
	size_t len = 0;

	/* Never hand OpenSSL a NULL pointer for an empty key or message. */
	if ((c = hmac_ctx(keylen > 0 ? key : empty, keylen)) == NULL ||
	    EVP_MAC_update(c, n > 0 ? msg : empty, n) != 1 ||
	    EVP_MAC_final(c, out, &len, 32) != 1 || len != 32)
		errx(CW_EXIT_FAIL, "HMAC-SHA256: not available from OpenSSL");
}

void
cw_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t n,
    char out[65])
{
	unsigned char mac[32];

	cw_hmac_sha256(key, keylen, msg, n, mac);
	tohex(mac, sizeof(mac), out);
}

int
cw_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	size_t k;

	while (nbytes > 0) {
		k = nbytes < sizeof(b) ? nbytes : sizeof(b);
		if (RAND_bytes(b, (int)k) != 1) {
			explicit_bzero(b, sizeof(b));
			*out = '\0';
			return -1;
		}
		tohex(b, k, out);
		out += 2 * k;
		nbytes -= k;
	}
	*out = '\0';
	/* Nonces are not secret, but the same buffer may one day mint keys. */
	explicit_bzero(b, sizeof(b));
	return 0;
}

char *
cw_urlencode(const char *s)
{
	static const char up[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *out, *o;

	out = cw_malloc(3 * strlen(s) + 1);
	o = out;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = up[*p >> 4];
			*o++ = up[*p & 0xf];
		}
	}
	*o = '\0';
	return out;
}
