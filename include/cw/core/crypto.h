/* crypto.h: the digests, MACs, encodings and random numbers the wire protocols need (OpenSSL). */
#ifndef CW_CRYPTO_H
#define CW_CRYPTO_H

#include <stddef.h>

/* Standard base64 with padding, no line breaks. Caller frees. */
char *cw_base64(const void *data, size_t n);

/* Decodes standard base64 (padding required, no whitespace). Returns a buffer
 * the caller frees (NUL-terminated for convenience, *n excludes the NUL), or
 * NULL if s is not valid base64. */
unsigned char *cw_unbase64(const char *s, size_t *n);

/* base64url (RFC 4648 section 5: '-' and '_' for '+' and '/') without
 * padding. Caller frees. */
char *cw_base64url(const void *data, size_t n);

/*
 * Decodes s[0..len) as base64url without padding, strictly: only the
 * alphabet (no '=', no whitespace, no '+' or '/'), not a length that leaves
 * one character over, and the bits a last partial group does not use all
 * zero, so that each byte string has exactly one encoding. Returns a buffer
 * the caller frees (NUL-terminated for convenience, *n excludes the NUL), or
 * NULL when s is not such an encoding.
 */
unsigned char *cw_unbase64url(const char *s, size_t len, size_t *n);

/* 1 if a[0..n) and b[0..n) are equal, else 0, in a time that does not
 * depend on where they differ: for comparing MACs. */
int cw_ct_equal(const void *a, const void *b, size_t n);

/* Lowercase hex SHA-1 of data, 40 chars and a NUL. */
void cw_sha1_hex(const void *data, size_t n, char out[41]);

/* HMAC-SHA256 of msg under key. */
void cw_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
    unsigned char out[32]);

/* Lowercase hex of HMAC-SHA256, 64 chars and a NUL. */
void cw_hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t n,
    char out[65]);

/* nbytes from the system CSPRNG as 2*nbytes lowercase hex chars and a NUL in
 * out (which must hold 2*nbytes+1). Returns 0, or -1 if the RNG failed. */
int cw_random_hex(char *out, size_t nbytes);

/* Percent-encodes everything but RFC 3986 unreserved characters, with
 * uppercase hex. Caller frees. */
char *cw_urlencode(const char *s);

#endif
