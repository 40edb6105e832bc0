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

/* A decimal text taken apart: its digits without the point, as many
 * fraction digits as it has, and its sign. */
struct digits {
	char d[CW_DECIMAL_MAX];
	size_t len, frac;
	int neg;
};

static int
split(const char *s, struct digits *x)
{
	const char *dot;

	x->neg = *s == '-';
	if (*s == '-' || *s == '+')
		s++;
	dot = strchr(s, '.');
	x->len = x->frac = 0;
	if (!isdigit((unsigned char)*s) || (dot != NULL && dot[1] == '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (s == dot)
			continue;
		if (!isdigit((unsigned char)*s) || x->len + 1 >= CW_DECIMAL_MAX)
			return -1;
		x->d[x->len++] = *s;
		if (dot != NULL && s > dot)
			x->frac++;
	}
	return 0;
}

/* The digit of x at position i counted from the last fraction digit of a
 * number with frac fraction digits (0 beyond its ends). */
static int
digit_at(const struct digits *x, size_t frac, size_t i)
{
	size_t shift = frac - x->frac;

	if (i < shift || i - shift >= x->len)
		return 0;
	return x->d[x->len - 1 - (i - shift)] - '0';
}

/* |x| - |y| or |x| + |y| into out (reversed digits); |x| >= |y| when
 * subtracting. Returns the number of digits. */
static size_t
magnitude(const struct digits *x, const struct digits *y, size_t frac, int sub, char *out)
{
	size_t n = 0, width = (x->len - x->frac > y->len - y->frac ?
	    x->len - x->frac : y->len - y->frac) + frac;
	int carry = 0;

	for (size_t i = 0; i < width; i++) {
		int v = digit_at(x, frac, i) + (sub ? -digit_at(y, frac, i) : digit_at(y, frac, i)) +
		    carry;

		carry = v < 0 ? -1 : v > 9 ? 1 : 0;
		out[n++] = (char)('0' + v - 10 * carry);
	}
	if (carry > 0)
		out[n++] = '1';
	while (n > frac + 1 && out[n - 1] == '0')
		n--;
	return n;
}

/* Which of |x|, |y| is larger: <0, 0, >0, with frac fraction digits. */
static int
compare(const struct digits *x, const struct digits *y, size_t frac)
{
	size_t width = (x->len > y->len ? x->len : y->len) + frac;

	for (size_t i = width; i-- > 0; )
		if (digit_at(x, frac, i) != digit_at(y, frac, i))
			return digit_at(x, frac, i) - digit_at(y, frac, i);
	return 0;
}

int
cw_decimal_add(const char *a, const char *b, char sum[CW_DECIMAL_MAX])
{
	struct digits x, y;
	char rev[2 * CW_DECIMAL_MAX], out[2 * CW_DECIMAL_MAX];
	size_t frac, n, k = 0;
	int sub, neg;

	if (split(a, &x) != 0 || split(b, &y) != 0)
		return -1;
	frac = x.frac > y.frac ? x.frac : y.frac;
	sub = x.neg != y.neg;
	if (sub && compare(&x, &y, frac) < 0) {
		struct digits t = x;

		x = y;
		y = t;
	}
	n = magnitude(&x, &y, frac, sub, rev);
	neg = x.neg;
	for (size_t i = 0; i < n; i++)
		if (rev[i] != '0')
			break;
		else if (i + 1 == n)
			neg = 0;  /* no "-0" */
	if (neg)
		out[k++] = '-';
	for (size_t i = n; i-- > 0; ) {
		out[k++] = rev[i];
		if (i == frac && frac > 0)
			out[k++] = '.';
	}
	if (k >= CW_DECIMAL_MAX)
		return -1;
	memcpy(sum, out, k);
	sum[k] = '\0';
	return 0;
}
