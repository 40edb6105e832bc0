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

#endif
