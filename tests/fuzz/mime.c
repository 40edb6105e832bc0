/* The MIME builder (common/mail/mime.c). Input: fields split at NUL bytes (from,
 * to, display name, subject, text, HTML, id, language, unsubscribe URL). Property of every
 * message built: exactly one From, To and Subject header, CRLF line ends only
 * (no bare CR or LF), no line over 998 octets. */
#include <strings.h>
#include <time.h>

#include "cw/mail/mime.h"
#include "fuzz.h"

static void
check(const char *msg, size_t n)
{
	size_t line = 0, from = 0, to = 0, subject = 0;
	int headers = 1;

	for (size_t i = 0; i < n; i = line) {
		const char *eol = memchr(msg + i, '\n', n - i);
		size_t len;

		if (eol == NULL || eol == msg + i || eol[-1] != '\r')
			fuzz_fail("line at octet %zu does not end in CRLF", i);
		len = (size_t)(eol - msg) - 1 - i;
		if (memchr(msg + i, '\r', len) != NULL)
			fuzz_fail("bare CR in the line at octet %zu", i);
		if (len > 998)
			fuzz_fail("line at octet %zu is %zu octets long", i, len);
		if (len == 0)
			headers = 0;
		if (headers) {
			from += strncasecmp(msg + i, "From:", 5) == 0;
			to += strncasecmp(msg + i, "To:", 3) == 0;
			subject += strncasecmp(msg + i, "Subject:", 8) == 0;
		}
		line = (size_t)(eol - msg) + 1;
	}
	if (from != 1 || to != 1 || subject != 1)
		fuzz_fail("%zu From, %zu To and %zu Subject headers", from, to, subject);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	const char *f[9] = {"Shop <shop@example.com>", "ann@example.com", "Ann",
	    "You left something", "text", "<p>html</p>", "n-1", "en", NULL};
	char *s = fuzz_str(data, n), *p = s, *out;
	struct cw_mime m;
	size_t len;
	cw_err e;

	for (int i = 0; i < 9 && p <= s + n; i++, p += strlen(p) + 1)
		f[i] = p;
	m = (struct cw_mime){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7],
	    1700000000, "=_cw_fuzz", f[8]};
	if (cw_mime_build(&m, &out, &len, &e) == 0) {
		if (strlen(out) != len)
			fuzz_fail("length %zu, but %zu octets to the NUL", len, strlen(out));
		check(out, len);
		free(out);
	}
	free(s);
	return 0;
}
