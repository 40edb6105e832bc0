/* jdump.c: JSON written out as Jansson's compact dump writes it, without its per-token callbacks. */
#include <stdio.h>
#include <string.h>

#include "cw/core/jdump.h"

/* Jansson's dump_string without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH: the
 * quote, the backslash and control characters escaped, all else as it is. */
static void
string(struct cw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t from = 0;

	cw_buf_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t k = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		cw_buf_add(b, s + from, i - from);
		from = i + 1;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			k = 6;
		}
		cw_buf_add(b, esc, k);
	}
	cw_buf_add(b, s + from, n - from);
	cw_buf_add(b, "\"", 1);
}

/* Jansson's jsonp_dtostr: %.*g, ".0" if that reads as an integer, and the
 * exponent without a '+' or leading zeros. */
static int
real(struct cw_buf *b, double d, int precision)
{
	char buf[100], *start, *end;
	int ret = snprintf(buf, sizeof(buf), "%.*g", precision, d);
	size_t len;

	if (ret < 0 || (size_t)ret >= sizeof(buf))
		return -1;
	len = (size_t)ret;
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
		if (len + 3 >= sizeof(buf))
			return -1;
		memcpy(buf + len, ".0", 3);
		len += 2;
	}
	if ((start = strchr(buf, 'e')) != NULL) {
		start++;
		end = start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		if (end != start) {
			memmove(start, end, len - (size_t)(end - buf));
			len -= (size_t)(end - start);
		}
	}
	cw_buf_add(b, buf, len);
	return 0;
}

static int
value(struct cw_buf *b, const json_t *v, int precision, int depth)
{
	char num[32];
	const char *k;
	json_t *m;
	size_t i, klen;
	int n;

	/* Deeper than any parsed text can be: left to Jansson. */
	if (depth > 2048)
		return -1;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		cw_buf_add(b, "{", 1);
		i = 0;
		json_object_keylen_foreach((json_t *)v, k, klen, m) {
			if (i++ > 0)
				cw_buf_add(b, ",", 1);
			string(b, k, klen);
			cw_buf_add(b, ":", 1);
			if (value(b, m, precision, depth + 1) != 0)
				return -1;
		}
		cw_buf_add(b, "}", 1);
		return 0;
	case JSON_ARRAY:
		cw_buf_add(b, "[", 1);
		json_array_foreach(v, i, m) {
			if (i > 0)
				cw_buf_add(b, ",", 1);
			if (value(b, m, precision, depth + 1) != 0)
				return -1;
		}
		cw_buf_add(b, "]", 1);
		return 0;
	case JSON_STRING:
		string(b, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		cw_buf_add(b, num, (size_t)n);
		return 0;
	case JSON_REAL:
		return real(b, json_real_value(v), precision);
	case JSON_TRUE:
		cw_buf_add(b, "true", 4);
		return 0;
	case JSON_FALSE:
		cw_buf_add(b, "false", 5);
		return 0;
	case JSON_NULL:
		cw_buf_add(b, "null", 4);
		return 0;
	}
	return -1;
}

int
cw_json_dump_compact(struct cw_buf *b, const json_t *v, int precision)
{
	if (!json_is_object(v) && !json_is_array(v))
		return -1;
	return value(b, v, precision, 0);
}
