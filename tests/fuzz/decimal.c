/* Decimals (common/core/decimal.c): what is accepted comes out as plain decimal
 * text (-?digits[.digits], no trailing zero, no exponent) of the same value. */
#include <math.h>

#include <jansson.h>

#include "cw/core/decimal.h"
#include "fuzz.h"

static void
check(json_t *v, double want, const char *what)
{
	char buf[CW_DECIMAL_MAX], *end;
	size_t i;
	double got;

	if (v == NULL || cw_decimal_text(v, buf) != 0) {
		json_decref(v);
		return;
	}
	i = buf[0] == '-';
	if (strspn(buf + i, "0123456789") == 0 ||
	    buf[i + strspn(buf + i, "0123456789.")] != '\0' ||
	    strchr(buf + i, '.') != strrchr(buf + i, '.') ||
	    (strchr(buf, '.') != NULL && (buf[strlen(buf) - 1] == '0' ||
	    buf[strlen(buf) - 1] == '.')))
		fuzz_fail("%s gives \"%s\": not plain decimal text", what, buf);
	got = strtod(buf, &end);
	if (fabs(got - want) > fabs(want) * 1e-14 + 1e-40)
		fuzz_fail("%s gives \"%s\": %.17g, not %.17g", what, buf, got, want);
	json_decref(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char *s = fuzz_str(data, n);
	double d;
	json_int_t k;

	check(json_stringn_nocheck(s, n), strtod(s, NULL), "the string");
	if (n >= sizeof(d)) {
		memcpy(&d, data, sizeof(d));
		check(json_real(d), d, "a real");
		memcpy(&k, data, sizeof(k));
		check(json_integer(k), (double)k, "an integer");
	}
	free(s);
	return 0;
}
