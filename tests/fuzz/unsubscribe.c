/* Unsubscribe tokens (common/net/unsubscribe.c) and strict base64url
 * (common/core/crypto.c): one spelling per value. A token accepted is the very
 * one cw_unsub_token() makes for its address; an address that gets a token
 * gets it back from the check; base64url accepted re-encodes to itself. */
#include "cw/core/crypto.h"
#include "cw/core/util.h"
#include "cw/net/unsubscribe.h"
#include "fuzz.h"

static const char key[] = "fuzz-unsubscribe-key-0123456789abcdef";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *s = fuzz_str(data, n), *addr = NULL, *t, *back;
	unsigned char *d;
	size_t len;
	cw_err e;

	if (cw_unsub_check(key, strlen(key), s, &addr, &e) == 0) {
		t = cw_unsub_token(key, strlen(key), addr, &e);
		if (t == NULL || strcmp(t, s) != 0)
			fuzz_fail("\"%s\" accepted, but its address's token is \"%s\"", s,
			    t ? t : "(none)");
		free(t);
	}
	free(addr);
	if ((t = cw_unsub_token(key, strlen(key), s, &e)) != NULL) {
		if (cw_unsub_check(key, strlen(key), t, &addr, &e) != 0)
			fuzz_fail("the token of \"%s\" is refused: %s", s, e.msg);
		free(addr);
		free(t);
	}
	if ((d = cw_unbase64url(s, n, &len)) != NULL) {
		back = cw_base64url(d, len);
		if (strlen(back) != n || memcmp(back, data, n) != 0)
			fuzz_fail("base64url \"%s\" decodes, but re-encodes as \"%s\"", s, back);
		free(back);
		free(d);
	}
	free(s);
	return 0;
}
