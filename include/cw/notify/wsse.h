/* wsse.h: the Emarsys X-WSSE UsernameToken (doc/DESIGN.md section 4). */
#ifndef CW_WSSE_H
#define CW_WSSE_H

/* base64(lowercase_hex(SHA1(nonce + created + secret))). Caller frees (it is
 * derived from the secret: cw_secret_free() it). */
char *cw_wsse_digest(const char *nonce, const char *created, const char *secret);

/*
 * The whole header value for user/secret with a fresh 32-hex-char nonce and
 * Created = the real clock (never CARTWATCH_NOW):
 *   UsernameToken Username="u", PasswordDigest="d", Nonce="n", Created="c"
 * Returns NULL if the RNG fails. Caller frees with cw_secret_free().
 */
char *cw_wsse_header(const char *user, const char *secret);

#endif
