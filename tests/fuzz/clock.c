/* ISO 8601 and RFC 1123 parsing (common/core/clock.c): no crash, no undefined
 * behaviour, and what parses formats back to a time that parses the same. */
#include <time.h>

#include "cw/core/clock.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *s = fuzz_str(data, n), iso[CW_ISO8601_MAX], http[CW_RFC1123_MAX];
	struct timespec t, back;
	time_t secs, secs2;

	if (cw_iso8601_parse(s, &t) == 0) {
		cw_iso8601_format(&t, iso);
		/* Offsets can push a year 0000 or 9999 out of the four digits. */
		if (iso[0] != '-' && strlen(iso) > 4 && iso[4] == '-' &&
		    (cw_iso8601_parse(iso, &back) != 0 || cw_time_cmp(&t, &back) != 0))
			fuzz_fail("ISO 8601 \"%s\" formats as \"%s\", which parses "
			    "differently", s, iso);
	}
	if (cw_rfc1123_parse(s, &secs) == 0 &&
	    strcmp(cw_rfc1123_format(secs, http), s) != 0)
		fuzz_fail("RFC 1123 \"%s\" formats back as \"%s\"", s, http);
	/* Any time at all formats without overflow, and an HTTP-date parses. */
	if (n >= sizeof(time_t)) {
		memcpy(&secs, data, sizeof(secs));
		t.tv_sec = secs;
		t.tv_nsec = n > sizeof(time_t) ? data[sizeof(time_t)] * 3906250L : 0;
		cw_iso8601_format(&t, iso);
		if (cw_rfc1123_parse(cw_rfc1123_format(secs, http), &secs2) != 0)
			fuzz_fail("cw_rfc1123_format(%lld) = \"%s\" does not parse",
			    (long long)secs, http);
	}
	free(s);
	return 0;
}
