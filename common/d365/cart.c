/* cart.c: what every stage checks of a Retail Server Cart record before using it. */
#include "cw/core/clock.h"
#include "cw/core/decimal.h"
#include "cw/core/json.h"
#include "cw/d365/cart.h"

static int
string_or_null(const json_t *obj, const char *key)
{
	const json_t *v = cw_json_iget(obj, key);

	return v == NULL || json_is_null(v) || json_is_string(v);
}

static int
number_or_null(const json_t *obj, const char *key)
{
	const json_t *v = cw_json_iget(obj, key);

	return v == NULL || json_is_null(v) || cw_decimal_ok(v);
}

int
cw_cart_check(const json_t *cart, struct timespec *modified, cw_err *e)
{
	const char *id = cw_json_istr(cart, "Id"), *mod;
	const json_t *lines = cw_json_iget(cart, "CartLines"), *line, *pid;
	struct timespec t;
	size_t i;

	if (id == NULL || *id == '\0')
		return cw_seterr(e, "not a cart: no Id");
	if ((mod = cw_json_istr(cart, "ModifiedDateTime")) == NULL ||
	    cw_iso8601_parse(mod, &t) != 0)
		return cw_seterr(e, "cart %s: ModifiedDateTime is not an ISO 8601 time", id);
	if (!string_or_null(cart, "CustomerId") || !string_or_null(cart, "ReceiptEmail"))
		return cw_seterr(e, "cart %s: CustomerId and ReceiptEmail must be strings", id);
	if (lines != NULL && !json_is_array(lines) && !json_is_null(lines))
		return cw_seterr(e, "cart %s: CartLines is not an array", id);
	json_array_foreach(lines, i, line) {
		pid = cw_json_iget(line, "ProductId");
		if (!json_is_object(line) ||
		    (pid != NULL && !json_is_null(pid) && !json_is_integer(pid)))
			return cw_seterr(e, "cart %s: CartLines[%zu].ProductId is not a "
			    "number", id, i);
		if (!number_or_null(line, "Quantity") || !number_or_null(line, "Price"))
			return cw_seterr(e, "cart %s: CartLines[%zu]: Quantity and Price must be "
			    "numbers", id, i);
	}
	if (modified != NULL)
		*modified = t;
	return 0;
}
