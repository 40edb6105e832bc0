/* json.c: small Jansson helpers shared by the tools. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/json.h"
#include "cw/core/util.h"

#define FEW 8  /* up to this many keys, comparing every pair is cheapest */

struct key {
	const char *k;
	const json_t *v;
	size_t at;  /* place in the object */
};

/* By folded key, then by place: twins end up side by side, first one first. */
static int
keycmp(const void *x, const void *y)
{
	const struct key *a = x, *b = y;
	int c = cw_ascii_casecmp(a->k, b->k);

	if (c != 0)
		return c;
	return a->at < b->at ? -1 : a->at > b->at;
}

/* Twins whose values are equal mislead no reader, whichever one it takes:
 * Retail Server's "ChannelId" beside the "channelId" cart-fetch adds. */
static int
twins_differ(const struct key *x, const struct key *y)
{
	return cw_ascii_casecmp(x->k, y->k) == 0 && !json_equal((json_t *)x->v, (json_t *)y->v);
}

/* The twins of one object, not looking inside its members: of all pairs, the
 * one whose second key comes first in the object. */
static int
twins_here(const json_t *obj, const char **a, const char **b)
{
	size_t n = json_object_size(obj), i = 0, j, g, best = (size_t)-1;
	struct key few[FEW], *keys;
	const char *k;
	json_t *v;

	keys = n <= FEW ? few : cw_calloc(n, sizeof(*keys));
	json_object_foreach((json_t *)obj, k, v) {
		keys[i].k = k;
		keys[i].v = v;
		keys[i].at = i;
		i++;
	}
	n = i;  /* what was filled in, whatever the size said */
	if (n > FEW)
		qsort(keys, n, sizeof(*keys), keycmp);
	/* Few keys: every pair. Many: only pairs within a run of twins, which
	 * the sort put side by side (in place order), so O(n log n). */
	for (i = 0; i < n; i = g) {
		for (g = i + 1; g < n && (n <= FEW || cw_ascii_casecmp(keys[i].k, keys[g].k) == 0); g++)
			;
		for (j = i + 1; j < g; j++)
			for (size_t m = i; m < j && keys[j].at < best; m++)
				if (twins_differ(&keys[m], &keys[j])) {
					*a = keys[m].k;
					*b = keys[j].k;
					best = keys[j].at;
				}
	}
	if (keys != few)
		free(keys);
	return best != (size_t)-1;
}

static void
cut(struct cw_buf *b, size_t len)
{
	b->len = len;
	b->data[len] = '\0';
}

/* "[i]": the path is made on every way down, found or not, and printf
 * there was a third of what checking a record cost. */
static void
index_to(struct cw_buf *b, size_t i)
{
	char d[24], *p = d + sizeof(d);

	*--p = ']';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) > 0);
	*--p = '[';
	cw_buf_add(b, p, (size_t)(d + sizeof(d) - p));
}

static int
twins(const json_t *v, const char **a, const char **b, struct cw_buf *where)
{
	size_t i, len = where->len;
	const char *k;
	json_t *m;

	if (json_is_object(v)) {
		if (twins_here(v, a, b))
			return 1;
		json_object_foreach((json_t *)v, k, m) {
			if (!json_is_object(m) && !json_is_array(m))
				continue;
			if (len > 0)
				cw_buf_add(where, ".", 1);
			cw_buf_adds(where, k);
			if (twins(m, a, b, where))
				return 1;
			cut(where, len);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (!json_is_object(m) && !json_is_array(m))
				continue;
			index_to(where, i);
			if (twins(m, a, b, where))
				return 1;
			cut(where, len);
		}
	}
	return 0;
}

int
cw_json_case_twins(const json_t *v, const char **a, const char **b, char **where)
{
	struct cw_buf path = CW_BUF_INIT;
	int r;

	cw_buf_add(&path, "", 0);
	r = twins(v, a, b, &path);
	if (r && where != NULL)
		*where = cw_buf_detach(&path);
	cw_buf_free(&path);
	return r;
}

/* An ASCII letter folded: most keys differ from the one looked up in their
 * first byte, told here without a call. */
static unsigned char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : (unsigned char)c;
}

json_t *
cw_json_iget(const json_t *obj, const char *key)
{
	void *it, *found = NULL;
	const char *k;

	if (!json_is_object(obj) || key == NULL)
		return NULL;
	/*
	 * Jansson iterates in insertion order, so the last match is the one
	 * written last. A record never has two (the record driver refuses it,
	 * cw_json_case_twins); a service's reply could. Iterators rather than
	 * json_object_foreach, which makes twice the calls per key.
	 */
	for (it = json_object_iter((json_t *)obj); it != NULL;
	    it = json_object_iter_next((json_t *)obj, it)) {
		k = json_object_iter_key(it);
		if (lower(*k) == lower(*key) && cw_ascii_casecmp(k, key) == 0)
			found = it;
	}
	return found != NULL ? json_object_iter_value(found) : NULL;
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
