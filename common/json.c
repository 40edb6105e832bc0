/* json.c: small Jansson helpers shared by the tools. */
#include <string.h>

#include <jansson.h>

#include "cw/json.h"

/* ASCII only: strcasecmp(3) follows the locale, and key matching must not. */
static int
ieq(const char *a, const char *b)
{
	unsigned char x, y;

	for (;; a++, b++) {
		x = (unsigned char)*a;
		y = (unsigned char)*b;
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
		if (x == '\0')
			return 1;
	}
}

json_t *
cw_json_iget(const json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj) || key == NULL)
		return NULL;
	/*
	 * Jansson iterates in insertion order, so the last match is the one
	 * written last, as .NET's configuration lets a later key override.
	 * (An exact repeat of a key keeps its first place: {"a":1,"A":2,"a":3}
	 * gives 2. Such a file is an error to .NET anyway.)
	 */
	json_object_foreach((json_t *)obj, k, v)
		if (ieq(k, key))
			found = v;
	return found;
}

const char *
cw_json_istr(const json_t *obj, const char *key)
{
	return json_string_value(cw_json_iget(obj, key));
}

json_t *
cw_json_parse(const char *s, size_t n)
{
	if (s == NULL)
		return NULL;
	/* Any value is a document; callers that need an object check for it. */
	return json_loadb(s, n, JSON_DECODE_ANY, NULL);
}
