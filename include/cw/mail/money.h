/* money.h: prices, quantities and a cart's subtotal as a customer's language writes them, by ICU. */
#ifndef CW_MONEY_H
#define CW_MONEY_H

#include <stddef.h>
#include "cw/core/util.h"

/*
 * Every number an email shows goes through ICU's number formatter (unumf,
 * from exact decimal text, never a double): the digits, separators, symbol
 * and its place are the customer's language's, the rounding the currency's
 * (2 places for USD and EUR, none for JPY; ties away from zero, as the
 * shop's .NET pages round). Nothing here writes a number for a customer by
 * hand.
 */

struct cw_money;  /* formatters kept per (locale, currency); not thread-safe */

/* A new cache of formatters; free with cw_money_free(). */
struct cw_money *cw_money_new(void);
void cw_money_free(struct cw_money *m);

/*
 * amount (a decimal text: optional sign, digits, optional point and
 * fraction, as the notification's unitPrice is) as money in currency (an ISO
 * 4217 code, 3 ASCII letters, any case) for the language lang (BCP 47, any
 * case, "_" taken for "-": "de-de", "ar-SA", "ja"; NULL, "" or a tag ICU
 * cannot read: "en"). currency NULL: a plain number (a quantity). Returns
 * UTF-8 the caller frees, or NULL with e when amount or currency is not such
 * a text or ICU fails.
 */
char *cw_money_format(struct cw_money *m, const char *lang, const char *currency,
    const char *amount, cw_err *e);

/* The ICU locale id for lang, as cw_money_format() picks it ("de-de" ->
 * "de_DE", "" -> "en"), into buf of n bytes. */
void cw_money_locale(const char *lang, char *buf, size_t n);

/*
 * A subtotal: the exact sum of quantity x price over order lines, in
 * integers (18 fraction digits), so that no cent is lost on the way. Each
 * operand takes up to 9 digits before the point and 9 after (trailing zeros
 * of the fraction do not count); a line that does not, or a sum that would
 * not fit, makes the total unknown.
 */
struct cw_sum {
	__int128 v;  /* the sum times 10^18 */
	int bad;     /* 1: some line was no number, or it overflowed */
};
#define CW_SUM_INIT {0, 0}

/* Adds quantity x price (decimal texts as above) to s. */
void cw_sum_add(struct cw_sum *s, const char *quantity, const char *price);

/* The sum as a decimal text without trailing zeros ("139.9"), or NULL when
 * it is unknown (s->bad). Caller frees. */
char *cw_sum_text(const struct cw_sum *s);

#endif
