/* ascii.c: names compared with ASCII letters folded, and digits checked, whatever the locale. */
#include <stddef.h>

#include "cw/core/util.h"

static unsigned char
fold(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

int
cw_ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = fold((unsigned char)a[i]), y = fold((unsigned char)b[i]);

		if (x != y || x == '\0')
			return (int)x - (int)y;
	}
	return 0;
}

int
cw_ascii_casecmp(const char *a, const char *b)
{
	return cw_ascii_ncasecmp(a, b, (size_t)-1);
}

int
cw_ascii_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}
