/* fuzz.h: what every libFuzzer harness shares. The runs close the target's
 * stderr (-close_fd_mask=2) to silence the library's warnings; a property that
 * fails says why on a copy of stderr kept before that, then aborts. */
#ifndef CW_FUZZ_H
#define CW_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int fuzz_fd = 2;

/* libFuzzer calls this before it acts on -close_fd_mask. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((fuzz_fd = dup(2)) == -1)
		fuzz_fd = 2;
	return 0;
}

static void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(fuzz_fd, "property failed: ");
	vdprintf(fuzz_fd, fmt, ap);
	dprintf(fuzz_fd, "\n");
	va_end(ap);
	abort();
}

/* The input as a C string (caller frees): the library's parsers take those. */
static inline char *
fuzz_str(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
