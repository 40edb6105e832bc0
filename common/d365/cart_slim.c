/* cart_slim.c: the few members of a cart line a stage reads, without parsing the rest. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/jscan.h"
#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/d365/cart.h"

/* What cw_cart_check reads: of the cart, and of each of its lines. */
static const char *const cart_checked[] = {
	"id", "modifieddatetime", "customerid", "receiptemail", NULL
};
static const char *const line_checked[] = {"productid", "quantity", "price", NULL};

static int
named(const char *const *names, const char *key, size_t n)
{
	/* names are lowercase: a first byte apart is told at once. */
	for (; names != NULL && *names != NULL; names++)
		if (**names == (key[0] | ((key[0] >= 'A' && key[0] <= 'Z') ? 0x20 : 0)) &&
		    strlen(*names) == n && cw_ascii_ncasecmp(*names, key, n) == 0)
			return 1;
	return 0;
}

/* A scalar token as Jansson would have made it, or NULL if not one we take
 * (an object, an array, a string with escapes). */
static json_t *
scalar(const char *s, const struct cw_jtok *t)
{
	char num[320];

	switch (t->type) {
	case CW_J_STRING:
		return t->escaped ? NULL : json_stringn(s + t->at, t->len);
	case CW_J_INTEGER:
	case CW_J_REAL:
		memcpy(num, s + t->at, t->len);
		num[t->len] = '\0';
		return t->type == CW_J_INTEGER ? json_integer(strtoll(num, NULL, 10)) :
		    json_real(strtod(num, NULL));
	case CW_J_TRUE:
		return json_true();
	case CW_J_FALSE:
		return json_false();
	case CW_J_NULL:
		return json_null();
	}
	return NULL;
}

/* Into obj, the members of object token at that names keeps: 0, or -1 when
 * one of them is not a scalar scalar() takes. */
static int
keep(json_t *obj, const char *s, const struct cw_jtok *t, size_t at,
    const char *const *names, const char *const *more)
{
	for (size_t i = at + 1; i < t[at].end; i = t[i].end) {
		const char *key = s + t[i].key_at;
		json_t *v;

		if (!named(names, key, t[i].key_len) && !named(more, key, t[i].key_len))
			continue;
		/* The key is UTF-8 without escapes or NULs: cw_jscan checked. */
		if ((v = scalar(s, &t[i])) == NULL ||
		    json_object_setn_new_nocheck(obj, key, t[i].key_len, v) != 0)
			return -1;
	}
	return 0;
}

/* The cart's CartLines, each line with only what cw_cart_check reads: 0, or
 * -1 for anything but an array of objects (or null, kept as it is). */
static int
lines(json_t *cart, const char *s, const struct cw_jtok *t, size_t at)
{
	json_t *arr;
	int r = 0;

	if (t[at].type == CW_J_NULL)
		arr = json_null();
	else if (t[at].type != CW_J_ARRAY)
		return -1;
	else {
		arr = json_array();
		for (size_t i = at + 1; r == 0 && i < t[at].end; i = t[i].end) {
			json_t *line = json_object();

			if (t[i].type != CW_J_OBJECT ||
			    keep(line, s, t, i, line_checked, NULL) != 0)
				r = -1;
			json_array_append_new(arr, line);
		}
	}
	if (r == 0)
		r = json_object_setn_new_nocheck(cart, s + t[at].key_at, t[at].key_len, arr);
	else
		json_decref(arr);
	return r;
}

json_t *
cw_cart_slim(const char *text, size_t len, const char *const *keys)
{
	size_t max;
	struct cw_jtok *t = cw_jscan_room(len, &max);
	json_t *cart = NULL;
	cw_err e;
	int n = cw_jscan(text, len, t, max), ok = n > 0 && t[0].type == CW_J_OBJECT;

	if (ok) {
		cart = json_object();
		ok = keep(cart, text, t, 0, cart_checked, keys) == 0;
	}
	for (size_t i = 1; ok && n > 0 && i < t[0].end; i = t[i].end)
		if (t[i].key_len == 9 && cw_ascii_ncasecmp(text + t[i].key_at, "cartlines",
		    9) == 0)
			ok = lines(cart, text, t, i) == 0;
	/* A cart that fails the check is left to the full parse, which reports it. */
	if (ok)
		ok = cw_cart_check(cart, NULL, &e) == 0;
	if (!ok) {
		json_decref(cart);
		return NULL;
	}
	return cart;
}
