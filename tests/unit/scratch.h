/* scratch.h: unit-test helper, one temporary directory per test program that
 * holds every file its tests make, so that a failed test leaves nothing. */
#ifndef CW_TEST_SCRATCH_H
#define CW_TEST_SCRATCH_H

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw/core/util.h"

/* The directory, set by scratch_setup (under $TMPDIR, else /tmp). */
static char *scratch;

static int
scratch_rmone(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* cmocka group setup and teardown: make scratch, then remove it and all in it. */
static int
scratch_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	scratch = cw_asprintf("%s/cwtest.XXXXXX", t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		print_error("%s: %s\n", scratch, strerror(errno));
		return -1;
	}
	return 0;
}

static int
scratch_teardown(void **state)
{
	int r;

	(void)state;
	r = nftw(scratch, scratch_rmone, 8, FTW_DEPTH | FTW_PHYS);
	free(scratch);
	return r;
}

#endif
