/* check.c: what a read-only check (--check) found, one line per item, for the tool to print. */
#include <stdarg.h>

#include "cw/core/check.h"

static void
add(struct cw_check *k, const char *lead, const char *fmt, va_list ap)
{
	cw_buf_adds(&k->said, lead);
	cw_buf_vaddf(&k->said, fmt, ap);
	cw_buf_adds(&k->said, "\n");
}

void
cw_check_ok(struct cw_check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(k, "ok: ", fmt, ap);
	va_end(ap);
}

void
cw_check_bad(struct cw_check *k, const char *fmt, ...)
{
	va_list ap;

	k->problems++;
	va_start(ap, fmt);
	add(k, "problem: ", fmt, ap);
	va_end(ap);
}

void
cw_check_skip(struct cw_check *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(k, "not checked: ", fmt, ap);
	va_end(ap);
}

char *
cw_check_take(struct cw_check *k)
{
	return cw_buf_detach(&k->said);
}

void
cw_check_free(struct cw_check *k)
{
	cw_buf_free(&k->said);
	k->problems = 0;
}
