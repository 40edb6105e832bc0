/* buf.c: growable byte strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/util.h"

static void
grow(struct cw_buf *b, size_t more)
{
	size_t need = b->len + more + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 64;
	while (b->cap < need)
		b->cap *= 2;
	b->data = cw_realloc(b->data, b->cap);
}

void
cw_buf_add(struct cw_buf *b, const void *p, size_t n)
{
	grow(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
cw_buf_adds(struct cw_buf *b, const char *s)
{
	cw_buf_add(b, s, strlen(s));
}

void
cw_buf_vaddf(struct cw_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
cw_buf_addf(struct cw_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cw_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
cw_buf_reset(struct cw_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
cw_buf_detach(struct cw_buf *b)
{
	char *s;

	if (b->data == NULL)
		return cw_strdup("");
	s = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void
cw_buf_free(struct cw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
cw_buf_wipe(struct cw_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	cw_buf_free(b);
}
