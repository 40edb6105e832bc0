/* jscan.c: a JSON line cut into tokens in place, without building values, for a fast path. */
#include <stdlib.h>
#include <string.h>

#include "cw/core/jscan.h"
#include "cw/core/util.h"

#define MAX_DEPTH 32
#define MAX_MEMBERS 512     /* a power of two */
#define MAX_INTEGER_DIGITS 18   /* always within a json_int_t */
#define MAX_NUMBER 300          /* no exponent: far from overflowing a double */

struct scan {
	const char *s;
	size_t n, p;
	struct cw_jtok *t;
	size_t used, max;
	int depth;
};

static void
skip_ws(struct scan *sc)
{
	while (sc->p < sc->n && (sc->s[sc->p] == ' ' || sc->s[sc->p] == '\t' ||
	    sc->s[sc->p] == '\n' || sc->s[sc->p] == '\r'))
		sc->p++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One UTF-8 character of two to four bytes at sc->p, as Jansson's utf.c
 * takes them: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int
utf8_char(struct scan *sc)
{
	const unsigned char *u = (const unsigned char *)sc->s + sc->p;
	size_t left = sc->n - sc->p, size;
	unsigned v;

	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		size = 2;
		v = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		size = 3;
		v = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		size = 4;
		v = u[0] & 0x07;
	} else
		return -1;
	if (left < size)
		return -1;
	for (size_t i = 1; i < size; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return -1;
		v = v << 6 | (u[i] & 0x3f);
	}
	if ((size == 3 && v < 0x800) || (size == 4 && v < 0x10000) || v > 0x10ffff ||
	    (v >= 0xd800 && v <= 0xdfff))
		return -1;
	sc->p += size;
	return 0;
}

/* A string at sc->p (its opening quote): *at, *len its text inside the
 * quotes, *escaped whether it holds a backslash escape. */
static int
string(struct scan *sc, uint32_t *at, uint32_t *len, unsigned char *escaped)
{
	*escaped = 0;
	*at = (uint32_t)++sc->p;
	while (sc->p < sc->n) {
		unsigned char c = (unsigned char)sc->s[sc->p];

		if (c == '"') {
			*len = (uint32_t)(sc->p - *at);
			sc->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c >= 0x80) {
			if (utf8_char(sc) != 0)
				return -1;
			continue;
		}
		if (c != '\\') {
			sc->p++;
			continue;
		}
		*escaped = 1;
		if (sc->p + 1 >= sc->n)
			return -1;
		c = (unsigned char)sc->s[sc->p + 1];
		if (c == 'u') {
			unsigned v = 0;

			if (sc->n - sc->p < 6)
				return -1;
			for (int i = 2; i < 6; i++) {
				int h = hexval((unsigned char)sc->s[sc->p + i]);

				if (h < 0)
					return -1;
				v = v << 4 | (unsigned)h;
			}
			/* NUL and surrogate pairs: Jansson's own rules, not ours. */
			if (v == 0 || (v >= 0xd800 && v <= 0xdfff))
				return -1;
			sc->p += 6;
		} else if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			sc->p += 2;
		else
			return -1;
	}
	return -1;
}

static size_t
digits(struct scan *sc)
{
	size_t from = sc->p;

	while (sc->p < sc->n && sc->s[sc->p] >= '0' && sc->s[sc->p] <= '9')
		sc->p++;
	return sc->p - from;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)? ; an exponent is left to Jansson. */
static int
number(struct scan *sc, struct cw_jtok *t)
{
	size_t from = sc->p, d;

	if (sc->s[sc->p] == '-')
		sc->p++;
	if (sc->p >= sc->n || (d = digits(sc)) == 0 ||
	    (d > 1 && sc->s[sc->p - d] == '0'))
		return -1;
	t->type = CW_J_INTEGER;
	if (sc->p < sc->n && sc->s[sc->p] == '.') {
		sc->p++;
		if (digits(sc) == 0)
			return -1;
		t->type = CW_J_REAL;
	} else if (d > MAX_INTEGER_DIGITS)
		return -1;
	if (sc->p < sc->n && (sc->s[sc->p] == 'e' || sc->s[sc->p] == 'E'))
		return -1;
	t->at = (uint32_t)from;
	t->len = (uint32_t)(sc->p - from);
	return t->len <= MAX_NUMBER ? 0 : -1;
}

static int
literal(struct scan *sc, const char *word, int type, struct cw_jtok *t)
{
	size_t k = strlen(word);

	if (sc->n - sc->p < k || memcmp(sc->s + sc->p, word, k) != 0)
		return -1;
	t->type = (unsigned char)type;
	t->at = (uint32_t)sc->p;
	t->len = (uint32_t)k;
	sc->p += k;
	return 0;
}

static int value(struct scan *sc, uint32_t key_at, uint32_t key_len);

/* Two members of one object, their keys alike but for ASCII case: allowed
 * only when their values are the same text (Jansson refuses two keys alike
 * in every byte). */
static int
twin_ok(const struct scan *sc, const struct cw_jtok *a, const struct cw_jtok *b)
{
	return memcmp(sc->s + a->key_at, sc->s + b->key_at, a->key_len) != 0 &&
	    a->type == b->type && a->len == b->len &&
	    memcmp(sc->s + a->at, sc->s + b->at, a->len) == 0;
}

static unsigned
fold_hash(const char *k, size_t n)
{
	unsigned h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	return h;
}

/* The m members of the object token obj, looked at once it is scanned:
 * keys hashed folded into a table of member indices (plus one; 0 is free)
 * at most half full. */
static int
twins(const struct scan *sc, size_t obj, size_t m)
{
	unsigned slot[2 * MAX_MEMBERS], mask = 15;

	while (mask + 1 < 2 * m)
		mask = 2 * mask + 1;
	memset(slot, 0, (mask + 1) * sizeof(*slot));

	for (size_t i = obj + 1; i < sc->used; i = sc->t[i].end) {
		const struct cw_jtok *t = &sc->t[i];
		unsigned h = fold_hash(sc->s + t->key_at, t->key_len) & mask;

		for (; slot[h] != 0; h = (h + 1) & mask) {
			const struct cw_jtok *o = &sc->t[slot[h] - 1];

			if (o->key_len == t->key_len && cw_ascii_ncasecmp(sc->s + o->key_at,
			    sc->s + t->key_at, t->key_len) == 0 && !twin_ok(sc, o, t))
				return -1;
		}
		slot[h] = (unsigned)i + 1;
	}
	return 0;
}

/* After a member or an element: a ',' and another follows (1), the closing
 * bracket close (0), or anything else (-1). */
static int
after_item(struct scan *sc, char close)
{
	skip_ws(sc);
	if (sc->p < sc->n && sc->s[sc->p] == ',') {
		sc->p++;
		skip_ws(sc);
		return 1;
	}
	if (sc->p < sc->n && sc->s[sc->p] == close) {
		sc->p++;
		return 0;
	}
	return -1;
}

static int
object(struct scan *sc)
{
	size_t self = sc->used - 1, m = 0;
	uint32_t key_at, key_len;
	unsigned char escaped;
	int r;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->n && sc->s[sc->p] == '}') {
		sc->p++;
		return 0;
	}
	for (;;) {
		if (sc->p >= sc->n || sc->s[sc->p] != '"' || m++ == MAX_MEMBERS ||
		    string(sc, &key_at, &key_len, &escaped) != 0 || escaped)
			return -1;
		skip_ws(sc);
		if (sc->p >= sc->n || sc->s[sc->p] != ':')
			return -1;
		sc->p++;
		skip_ws(sc);
		if (value(sc, key_at, key_len) != 0)
			return -1;
		if ((r = after_item(sc, '}')) != 1)
			return r == 0 ? twins(sc, self, m) : -1;
	}
}

static int
array(struct scan *sc)
{
	int r;

	sc->p++;
	skip_ws(sc);
	if (sc->p < sc->n && sc->s[sc->p] == ']') {
		sc->p++;
		return 0;
	}
	for (;;) {
		if (value(sc, 0, 0) != 0)
			return -1;
		if ((r = after_item(sc, ']')) != 1)
			return r;
	}
}

/* The value at sc->p, as the next token, its members after it. */
static int
value(struct scan *sc, uint32_t key_at, uint32_t key_len)
{
	struct cw_jtok *t;
	size_t self = sc->used;
	int r;

	if (sc->p >= sc->n || sc->used == sc->max)
		return -1;
	t = &sc->t[sc->used++];
	memset(t, 0, sizeof(*t));
	t->key_at = key_at;
	t->key_len = key_len;
	switch (sc->s[sc->p]) {
	case '{':
	case '[':
		if (++sc->depth > MAX_DEPTH)
			return -1;
		t->type = sc->s[sc->p] == '{' ? CW_J_OBJECT : CW_J_ARRAY;
		t->at = (uint32_t)sc->p;
		r = t->type == CW_J_OBJECT ? object(sc) : array(sc);
		sc->depth--;
		sc->t[self].len = (uint32_t)(sc->p - sc->t[self].at);
		break;
	case '"':
		t->type = CW_J_STRING;
		r = string(sc, &t->at, &t->len, &t->escaped);
		break;
	case 't':
		r = literal(sc, "true", CW_J_TRUE, t);
		break;
	case 'f':
		r = literal(sc, "false", CW_J_FALSE, t);
		break;
	case 'n':
		r = literal(sc, "null", CW_J_NULL, t);
		break;
	default:
		r = number(sc, t);
		break;
	}
	sc->t[self].end = (uint32_t)sc->used;
	return r;
}

int
cw_jscan(const char *s, size_t n, struct cw_jtok *t, size_t max)
{
	struct scan sc = {s, n, 0, t, 0, max, 0};

	if (n >= UINT32_MAX || max >= UINT32_MAX)
		return -1;
	skip_ws(&sc);
	/* Jansson takes an object or an array only, without JSON_DECODE_ANY. */
	if (sc.p >= n || (s[sc.p] != '{' && s[sc.p] != '[') || value(&sc, 0, 0) != 0)
		return -1;
	skip_ws(&sc);
	if (sc.p != sc.n || sc.used > INT32_MAX)
		return -1;
	return (int)sc.used;
}

/* Tokens at most: one takes two bytes of text or more, but the first; a
 * longer text is left to Jansson. */
#define MOST_TOKENS 8192

static _Thread_local struct cw_jtok *room;

struct cw_jtok *
cw_jscan_room(size_t n, size_t *max)
{
	if (room == NULL)
		room = cw_calloc(MOST_TOKENS, sizeof(*room));
	*max = n / 2 + 2 < MOST_TOKENS ? n / 2 + 2 : MOST_TOKENS;
	return room;
}

/* Writes code point v (no NUL, no surrogate: cw_jscan checked) as UTF-8. */
static size_t
put_utf8(char *o, unsigned v)
{
	if (v < 0x80) {
		o[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		o[0] = (char)(0xc0 | v >> 6);
		o[1] = (char)(0x80 | (v & 0x3f));
		return 2;
	}
	o[0] = (char)(0xe0 | v >> 12);
	o[1] = (char)(0x80 | (v >> 6 & 0x3f));
	o[2] = (char)(0x80 | (v & 0x3f));
	return 3;
}

/* A string token with escapes, decoded: never longer than its text. */
static json_t *
unescaped(const char *s, size_t n)
{
	char small[256] = "", *buf = n < sizeof(small) ? small : cw_malloc(n + 1), *o = buf;
	json_t *v;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		switch (s[++i]) {
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			o += put_utf8(o, (unsigned)strtoul((char[5]){s[i + 1], s[i + 2],
			    s[i + 3], s[i + 4], '\0'}, NULL, 16));
			i += 4;
			break;
		default: *o++ = s[i]; break;  /* the quote, the backslash, the slash */
		}
	}
	v = json_stringn_nocheck(buf, (size_t)(o - buf));
	if (buf != small)
		free(buf);
	return v;
}

static json_t *
number_value(const char *s, const struct cw_jtok *t)
{
	char num[MAX_NUMBER + 1];

	memcpy(num, s + t->at, t->len);
	num[t->len] = '\0';
	return t->type == CW_J_INTEGER ? json_integer(strtoll(num, NULL, 10)) :
	    json_real(strtod(num, NULL));
}

/* The value of token i, its members built from the tokens after it. */
static json_t *
build(const char *s, const struct cw_jtok *t, size_t i)
{
	json_t *v = NULL, *m;

	switch (t[i].type) {
	case CW_J_OBJECT:
	case CW_J_ARRAY:
		v = t[i].type == CW_J_OBJECT ? json_object() : json_array();
		for (size_t j = i + 1; v != NULL && j < t[i].end; j = t[j].end) {
			/* Keys and strings are UTF-8 without NULs: cw_jscan checked. */
			if ((m = build(s, t, j)) == NULL || (t[i].type == CW_J_OBJECT ?
			    json_object_setn_new_nocheck(v, s + t[j].key_at, t[j].key_len, m) :
			    json_array_append_new(v, m)) != 0) {
				json_decref(v);
				v = NULL;
			}
		}
		return v;
	case CW_J_STRING:
		return t[i].escaped ? unescaped(s + t[i].at, t[i].len) :
		    json_stringn_nocheck(s + t[i].at, t[i].len);
	case CW_J_INTEGER:
	case CW_J_REAL:
		return number_value(s, &t[i]);
	case CW_J_TRUE:
		return json_true();
	case CW_J_FALSE:
		return json_false();
	default:
		return json_null();
	}
}

json_t *
cw_json_scanload(const char *s, size_t n)
{
	size_t max;
	struct cw_jtok *t = cw_jscan_room(n, &max);

	return cw_jscan(s, n, t, max) > 0 ? build(s, t, 0) : NULL;
}
