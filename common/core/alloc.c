/* alloc.c: allocation that cannot fail, error text, secret wiping. */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/util.h"

static void *
checked(void *p)
{
	if (p == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	return p;
}

void *
cw_malloc(size_t n)
{
	return checked(malloc(n ? n : 1));
}

void *
cw_calloc(size_t n, size_t size)
{
	return checked(calloc(n ? n : 1, size ? size : 1));
}

void *
cw_realloc(void *p, size_t n)
{
	return checked(realloc(p, n ? n : 1));
}

char *
cw_strdup(const char *s)
{
	return checked(strdup(s));
}

char *
cw_strndup(const char *s, size_t n)
{
	return checked(strndup(s, n));
}

char *
cw_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		errx(CW_EXIT_FAIL, "out of memory");
	return s;
}

int
cw_seterr(cw_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e != NULL) {
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

void
cw_secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
