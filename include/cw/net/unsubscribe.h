/* unsubscribe.h: the signed unsubscribe token (doc/DESIGN.md 8.6), the link made from it, its key. */
#ifndef CW_UNSUBSCRIBE_H
#define CW_UNSUBSCRIBE_H

#include <stddef.h>
#include "cw/core/util.h"

struct cw_config;
struct cw_vault;

/*
 * A token is base64url(address) "." base64url(HMAC-SHA256(key, address)),
 * without padding, the address in lower case: whoever holds it may stop the
 * reminders to that one address, and nobody without the key can make one.
 */

/* The shortest key taken: 16 bytes, so that a guessable one is refused. */
#define CW_UNSUB_KEY_MIN 16
/* The longest token: a 254-octet address (email.h) and a 32-byte MAC. */
#define CW_UNSUB_TOKEN_MAX ((254 * 4 + 2) / 3 + 1 + 43)
/* The longest Cartwatch.Unsubscribe.Url: with the longest token in place of
 * {token}, the List-Unsubscribe line stays far below the 998 octets a mail
 * line may have. */
#define CW_UNSUB_URL_MAX 500

/*
 * The token for addr, lowercased first (ASCII letters: addresses are ASCII,
 * email.h), for the caller to free. NULL with e when addr is not a
 * recipient's address by cw_email_check() (e names what is wrong, never the
 * address) or the key is shorter than CW_UNSUB_KEY_MIN. key is borrowed.
 */
char *cw_unsub_token(const void *key, size_t keylen, const char *addr, cw_err *e);

/*
 * Checks token against key. 0 with *addr (for the caller to free) the
 * address it was made for; -1 with *addr NULL and e saying why, without the
 * token or the address, when the token is empty or longer than
 * CW_UNSUB_TOKEN_MAX, is not two non-empty parts joined by one ".", a part
 * is not strict base64url (padding, '+', '/', whitespace, leftover bits set:
 * cw_unbase64url()), the MAC is not 32 bytes or not the key's for the
 * address (compared in constant time), or the address is not lowercase or
 * not a recipient's address. The key's length is checked as in
 * cw_unsub_token().
 */
int cw_unsub_check(const void *key, size_t keylen, const char *token, char **addr,
    cw_err *e);

/* url with each "{token}" in it replaced by token, for the caller to free.
 * A token is base64url and a ".": nothing in it needs escaping in a URL. */
char *cw_unsub_url(const char *url, const char *token);

/*
 * What a tool needs for unsubscribe links: the configured URL and the key
 * from the vault. Zero one, cw_unsub_config() it (no network), cw_unsub_open()
 * it once the vault is open, and cw_unsub_free() it, which wipes the key.
 * The key never leaves this struct except into an HMAC: it is never in a
 * message, a record or a file.
 */
struct cw_unsub {
	const char *url;        /* Cartwatch.Unsubscribe.Url; NULL: no links (borrowed
	                         * from the configuration) */
	const char *key_name;   /* Cartwatch.Unsubscribe.KeySecretName (borrowed) */
	char *key;              /* after cw_unsub_open(); owned, wiped when freed */
};

/*
 * Reads Cartwatch.Unsubscribe.Url and .KeySecretName into u. A URL that is
 * not https (RFC 8058 wants https for one-click), lacks "{token}", is longer
 * than CW_UNSUB_URL_MAX or holds a blank, a control character, '<', '>',
 * '"' or non-ASCII is reported as a problem of c (cw_config_bad).
 */
void cw_unsub_config(struct cw_unsub *u, struct cw_config *c);

/*
 * Reads the key from v into u. 0; or CW_ERR_SERVICE with e when the vault
 * cannot give it, CW_ERR_CONFIG when it is shorter than CW_UNSUB_KEY_MIN
 * (e names the secret, never its value).
 */
int cw_unsub_open(struct cw_unsub *u, struct cw_vault *v, cw_err *e);

/* The link for addr: u->url with addr's token, for the caller to free. NULL
 * with e as cw_unsub_token(). u must be open. */
char *cw_unsub_link(const struct cw_unsub *u, const char *addr, cw_err *e);

/* Wipes and frees u's key; u may be all zero. */
void cw_unsub_free(struct cw_unsub *u);

#endif
