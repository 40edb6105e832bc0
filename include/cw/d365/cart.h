/* cart.h: what every stage checks of a Retail Server Cart record before using it. */
#ifndef CW_CART_H
#define CW_CART_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"

/*
 * Checks the fields the stages rely on: Id a non-empty string, ModifiedDateTime
 * an ISO 8601 string (stored in *modified if not NULL), CustomerId and
 * ReceiptEmail strings or null, CartLines an array of objects whose ProductId is
 * an integer or null and whose Quantity and Price are numbers, numeric strings
 * or null. Returns 0, or -1 with a reason in e that names the field.
 */
int cw_cart_check(const json_t *cart, struct timespec *modified, cw_err *e);

/*
 * A stand-in for a cart line (len bytes of text, no newline) that spares a
 * stage parsing what it does not read: an object (owned) holding only the
 * top-level members cw_cart_check reads, those named in keys (lowercase,
 * NULL-terminated; matched ignoring case), and CartLines with only what
 * cw_cart_check reads of each line. NULL whenever the full parse and the
 * record driver might see the line otherwise (see cw_jscan), when a member
 * kept is an object, an array or an escaped string, or when the cart fails
 * cw_cart_check: the caller parses the line in full then, and gets the very
 * verdicts and messages it always had.
 */
json_t *cw_cart_slim(const char *text, size_t len, const char *const *keys);

#endif
