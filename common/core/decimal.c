/* decimal.c: Retail Server decimals as the text an email shows. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/decimal.h"

/* Drops trailing zeros of a fraction, and the point if nothing is left. */
static void
trim(char *s)
{
	char *dot = strchr(s, '.'), *end;

	if (dot == NULL)
		return;
	end = s + strlen(s);
	while (end > dot + 1 && end[-1] == '0')
		*--end = '\0';
	if (end == dot + 1)
		*dot = '\0';
}

/* A double from_double writes: under 1e21, its text is at most a sign, 21
 * digits, a point and 40 decimals, which fits CW_DECIMAL_MAX. */
static int
writable(double d)
{
	return isfinite(d) && fabs(d) < 1e21;
}

static int
from_double(double d, char buf[CW_DECIMAL_MAX])
{
	char tmp[CW_DECIMAL_MAX];
	int digits, n;

	if (!writable(d))
		return -1;
	if (d == 0) {
		strcpy(buf, "0");
		return 0;
	}
	/* %.15g decides the significant digits; %f then writes them without an
	 * exponent, with as many decimals as they reach. */
	snprintf(tmp, sizeof(tmp), "%.14e", d);
	digits = 14 - (int)strtol(strchr(tmp, 'e') + 1, NULL, 10);
	if (digits < 0)
		digits = 0;
	if (digits > 40)
		digits = 40;
	n = snprintf(buf, CW_DECIMAL_MAX, "%.*f", digits, d);
	if (n < 0 || n >= CW_DECIMAL_MAX)
		return -1;
	trim(buf);
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	return 0;
}

int
cw_decimal_text(const json_t *v, char buf[CW_DECIMAL_MAX])
{
	const char *s;
	char *end;
	double d;

	if (json_is_integer(v)) {
		snprintf(buf, CW_DECIMAL_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (json_is_real(v))
		return from_double(json_real_value(v), buf);
	if (!json_is_string(v))
		return -1;
	/* OData writes decimals as strings when asked to be IEEE754Compatible:
	 * keep their digits as they are, only trimmed. */
	s = json_string_value(v);
	if (*s == '-' || *s == '+')
		s++;
	/* strtod reads hexadecimal too, but "0x1A" is no price. */
	if (!isdigit((unsigned char)*s) || strpbrk(s, "xX") != NULL)
		return -1;
	d = strtod(json_string_value(v), &end);
	if (*end != '\0' || !isfinite(d))
		return -1;
	if (strpbrk(json_string_value(v), "eE") != NULL)
		return from_double(d, buf);
	if (strlen(json_string_value(v)) >= CW_DECIMAL_MAX)
		return -1;
	strcpy(buf, json_string_value(v)[0] == '+' ? json_string_value(v) + 1 :
	    json_string_value(v));
	trim(buf);
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	return 0;
}

int
cw_decimal_ok(const json_t *v)
{
	char buf[CW_DECIMAL_MAX];

	/* Numbers, the common case, without writing them out. */
	if (json_is_integer(v))
		return 1;
	if (json_is_real(v))
		return writable(json_real_value(v));
	return cw_decimal_text(v, buf) == 0;
}
