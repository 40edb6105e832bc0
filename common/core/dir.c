/* dir.c: directories made on the way to a file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cw/core/dir.h"
#include "cw/core/util.h"

int
cw_mkdir_p(const char *path, mode_t mode, cw_err *e)
{
	char *p = cw_strdup(path), *s, save;
	int r = 0;

	/* Each prefix ending before a slash, then the whole path; the root
	 * (a leading slash) is never made. */
	for (s = *p == '/' ? p + 1 : p; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		save = *s;
		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST) {
			r = cw_seterr(e, "%s: %s", p, strerror(errno));
			break;
		}
		*s = save;
		if (save == '\0')
			break;
	}
	free(p);
	return r;
}
