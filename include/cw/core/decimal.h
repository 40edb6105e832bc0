/* decimal.h: Retail Server decimals as the text an email shows. */
#ifndef CW_DECIMAL_H
#define CW_DECIMAL_H

#include <stddef.h>
#include <jansson.h>

#define CW_DECIMAL_MAX 64

/*
 * The decimal text of v, a JSON number or a string of one, without trailing
 * zeros and never in exponent form: 19.90 -> "19.9", 2.0 -> "2", 1234.5678 ->
 * "1234.5678". Reals are taken to 15 significant digits, which every decimal of
 * up to 15 digits survives exactly (a C# decimal's 28 do not fit a double; no
 * price needs them). Returns 0, or -1 if v is not a finite number.
 */
int cw_decimal_text(const json_t *v, char buf[CW_DECIMAL_MAX]);

/* 1 if cw_decimal_text(v) would succeed, 0 if not; cheaper for a number. */
int cw_decimal_ok(const json_t *v);

/*
 * The exact sum of two decimal texts (an optional sign, digits, an optional
 * point and fraction; no exponent, as cw_decimal_text writes them) into sum,
 * which may be a or b: as many fraction digits as the longer of the two's,
 * so that sums started from "0.00" keep cents ("19.9" + "0.00" -> "19.90").
 * No double on the way: money adds up to the cent. Returns 0, or -1 if
 * either is not such a text or the sum does not fit (sum then unchanged).
 */
int cw_decimal_add(const char *a, const char *b, char sum[CW_DECIMAL_MAX]);

#endif
