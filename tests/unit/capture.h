/* capture.h: unit-test helper that collects what code under test writes to stderr. */
#ifndef CW_TEST_CAPTURE_H
#define CW_TEST_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int saved;
	FILE *f;
};

/* Sends fd 2 to a temporary file until capture_end(). */
static inline void
capture_begin(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(2);
	dup2(fileno(c->f), 2);
}

/* Restores fd 2 and returns what was written (caller frees). */
static inline char *
capture_end(struct capture *c)
{
	long n;
	char *s;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	n = ftell(c->f);
	s = calloc(1, (size_t)n + 1);
	rewind(c->f);
	if (n > 0 && fread(s, 1, (size_t)n, c->f) != (size_t)n)
		s[0] = '\0';
	fclose(c->f);
	return s;
}

#endif
