/* wsse.c: the Emarsys X-WSSE UsernameToken and its password digest. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/notify/wsse.h"

char *
cw_wsse_digest(const char *nonce, const char *created, const char *secret)
{
	size_t nn = strlen(nonce), nc = strlen(created), ns = strlen(secret);
	char hex[41];
	char *m, *d;

	/* One exact allocation: a growing buffer would leave copies behind. */
	m = cw_malloc(nn + nc + ns);
	memcpy(m, nonce, nn);
	memcpy(m + nn, created, nc);
	memcpy(m + nn + nc, secret, ns);
	cw_sha1_hex(m, nn + nc + ns, hex);
	explicit_bzero(m, nn + nc + ns);
	free(m);
	/* Emarsys digests the hex text, not the 20 raw bytes. */
	d = cw_base64(hex, 40);
	explicit_bzero(hex, sizeof(hex));
	return d;
}

char *
cw_wsse_header(const char *user, const char *secret)
{
	struct timespec now;
	char nonce[33], created[CW_ISO8601_MAX];
	char *d, *h;

	if (cw_random_hex(nonce, 16) != 0)
		return NULL;
	/*
	 * The real clock, whole seconds: Emarsys checks Created against its
	 * own clock (5 minutes), so the business clock must never leak in.
	 */
	now.tv_sec = time(NULL);
	now.tv_nsec = 0;
	cw_iso8601_format(&now, created);
	d = cw_wsse_digest(nonce, created, secret);
	h = cw_asprintf("UsernameToken Username=\"%s\", PasswordDigest=\"%s\", "
	    "Nonce=\"%s\", Created=\"%s\"", user, d, nonce, created);
	cw_secret_free(d);
	return h;
}
