/* money.c: prices, quantities and a cart's subtotal as a customer's language writes them, by ICU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uloc.h>
#include <unicode/unumberformatter.h>
#include <unicode/ustring.h>

#include "cw/core/util.h"
#include "cw/mail/money.h"

/* Locales times currencies a run meets are few; past this many, a
 * formatter is made and dropped per number rather than kept. */
#define MAX_KEPT 32
#define MAX_AMOUNT 64

struct kept {
	char locale[ULOC_FULLNAME_CAPACITY];
	char currency[4];  /* "" for plain numbers */
	UNumberFormatter *f;
};

struct cw_money {
	struct kept k[MAX_KEPT];
	size_t n;
};

struct cw_money *
cw_money_new(void)
{
	return cw_calloc(1, sizeof(struct cw_money));
}

void
cw_money_free(struct cw_money *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
		unumf_close(m->k[i].f);
	free(m);
}

void
cw_money_locale(const char *lang, char *buf, size_t n)
{
	char tag[ULOC_FULLNAME_CAPACITY];
	UErrorCode st = U_ZERO_ERROR;
	int32_t parsed = 0, len;

	snprintf(tag, sizeof(tag), "%s", lang != NULL ? lang : "");
	for (char *p = tag; *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
	len = uloc_forLanguageTag(tag, buf, (int32_t)n, &parsed, &st);
	/* A tag read only in part ("de-de-%%") is no tag: its language may be
	 * anything, and an email must not guess. */
	if (*tag == '\0' || U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING ||
	    len <= 0 || (size_t)parsed != strlen(tag))
		snprintf(buf, n, "en");
}

/* An optional sign, digits, an optional point with digits: what a record's
 * decimals are, and all that is let through to ICU. */
static int
is_decimal(const char *s)
{
	size_t n = 0;

	if (*s == '-')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		n++;
	if (n == 0)
		return 0;
	if (*s == '.') {
		if (!(s[1] >= '0' && s[1] <= '9'))
			return 0;
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	}
	return *s == '\0';
}

static UNumberFormatter *
open_formatter(const char *locale, const char *currency, cw_err *e)
{
	UChar skel[64];
	char s[64];
	UErrorCode st = U_ZERO_ERROR;
	UNumberFormatter *f;

	/* The currency's places (2 for USD, none for JPY), its ties away from
	 * zero as .NET's "C" format rounds them, so that the email shows what
	 * the shop's own pages do; a plain number keeps up to 6 places. */
	snprintf(s, sizeof(s), *currency != '\0' ? "currency/%s rounding-mode-half-up" : "",
	    currency);
	u_uastrncpy(skel, s, (int32_t)(sizeof(skel) / sizeof(skel[0])));
	f = unumf_openForSkeletonAndLocale(skel, -1, locale, &st);
	if (U_FAILURE(st)) {
		unumf_close(f);
		cw_seterr(e, "ICU: no number format for %s%s%s: %s", locale,
		    *currency != '\0' ? " in " : "", currency, u_errorName(st));
		return NULL;
	}
	return f;
}

/* The kept formatter for (locale, currency), made when new; *owned says
 * the caller must close it (the cache was full). */
static UNumberFormatter *
formatter(struct cw_money *m, const char *locale, const char *currency, int *owned,
    cw_err *e)
{
	UNumberFormatter *f;

	*owned = 0;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->k[i].locale, locale) == 0 &&
		    strcmp(m->k[i].currency, currency) == 0)
			return m->k[i].f;
	if ((f = open_formatter(locale, currency, e)) == NULL)
		return NULL;
	if (m->n == MAX_KEPT) {
		*owned = 1;
		return f;
	}
	snprintf(m->k[m->n].locale, sizeof(m->k[m->n].locale), "%s", locale);
	snprintf(m->k[m->n].currency, sizeof(m->k[m->n].currency), "%s", currency);
	m->k[m->n++].f = f;
	return f;
}

/* The formatted number as UTF-8, or NULL with e. */
static char *
format_with(const UNumberFormatter *f, const char *amount, cw_err *e)
{
	UErrorCode st = U_ZERO_ERROR;
	UFormattedNumber *r = unumf_openResult(&st);
	UChar u[128];
	int32_t un = 0, n = 0;
	char *out = NULL;

	unumf_formatDecimal(f, amount, -1, r, &st);
	if (U_SUCCESS(st))
		un = unumf_resultToString(r, u, (int32_t)(sizeof(u) / sizeof(u[0])), &st);
	if (U_SUCCESS(st))
		u_strToUTF8(NULL, 0, &n, u, un, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR) {  /* the preflight's answer */
		st = U_ZERO_ERROR;
		out = cw_malloc((size_t)n + 1);
		u_strToUTF8(out, n + 1, NULL, u, un, &st);
	}
	unumf_closeResult(r);
	if (U_FAILURE(st) || out == NULL) {
		free(out);
		cw_seterr(e, "ICU: cannot format %s: %s", amount, u_errorName(st));
		return NULL;
	}
	return out;
}

/* s upper-cased into cur, or -1 unless it is 3 ASCII letters. */
static int
currency_code(const char *s, char cur[4])
{
	for (int i = 0; i < 3; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return -1;
		cur[i] = c;
	}
	cur[3] = '\0';
	return s[3] == '\0' ? 0 : -1;
}

char *
cw_money_format(struct cw_money *m, const char *lang, const char *currency,
    const char *amount, cw_err *e)
{
	char locale[ULOC_FULLNAME_CAPACITY], cur[4] = "";
	UNumberFormatter *f;
	char *out;
	int owned;

	if (amount == NULL || strlen(amount) > MAX_AMOUNT || !is_decimal(amount)) {
		cw_seterr(e, "not a decimal number: %s", amount != NULL ? amount : "(none)");
		return NULL;
	}
	if (currency != NULL && currency_code(currency, cur) != 0) {
		cw_seterr(e, "not a currency code: %s", currency);
		return NULL;
	}
	cw_money_locale(lang, locale, sizeof(locale));
	if ((f = formatter(m, locale, cur, &owned, e)) == NULL)
		return NULL;
	out = format_with(f, amount, e);
	if (owned)
		unumf_close(f);
	return out;
}

#define SCALE 9
#define MAX_DIGITS 9

/* s as an integer times 10^SCALE into *v; -1 unless s is a decimal text of
 * at most MAX_DIGITS digits either side of the point (trailing zeros of the
 * fraction aside). */
static int
fixed(const char *s, __int128 *v)
{
	int neg = 0, n = 0, frac;
	const char *end;
	__int128 x = 0;

	if (s == NULL || !is_decimal(s))
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > 0 || *s != '0')
			n++;
		x = x * 10 + (*s - '0');
	}
	if (n > MAX_DIGITS)
		return -1;
	frac = 0;
	if (*s == '.') {
		for (end = s + strlen(s); end[-1] == '0'; end--)
			;
		for (s++; s < end; s++, frac++) {
			if (frac == SCALE)
				return -1;
			x = x * 10 + (*s - '0');
		}
	}
	for (; frac < SCALE; frac++)
		x *= 10;
	*v = neg ? -x : x;
	return 0;
}

void
cw_sum_add(struct cw_sum *s, const char *quantity, const char *price)
{
	__int128 q, p, prod;

	if (s->bad)
		return;
	/* Each below 10^18: their product below 10^36, far from the 1.7e38 an
	 * __int128 holds; only the running sum can overflow. */
	if (fixed(quantity, &q) != 0 || fixed(price, &p) != 0 ||
	    __builtin_add_overflow(s->v, q * p, &prod)) {
		s->bad = 1;
		return;
	}
	s->v = prod;
}

char *
cw_sum_text(const struct cw_sum *s)
{
	char digits[64], *p = digits + sizeof(digits) - 1, *dot;
	unsigned __int128 x;
	int place = 0;

	if (s->bad)
		return NULL;
	x = s->v < 0 ? -(unsigned __int128)s->v : (unsigned __int128)s->v;
	*p = '\0';
	/* The digits backwards, with a point 2 * SCALE places from the right. */
	do {
		*--p = (char)('0' + (int)(x % 10));
		x /= 10;
		if (++place == 2 * SCALE)
			*--p = '.';
	} while (x != 0 || place <= 2 * SCALE);
	if (s->v < 0)
		*--p = '-';
	/* Trailing zeros of the fraction, and a point left alone, go. */
	dot = strchr(p, '.');
	for (char *z = p + strlen(p) - 1; z > dot && *z == '0'; z--)
		*z = '\0';
	if (dot[1] == '\0')
		*dot = '\0';
	return cw_strdup(p);
}
