/* file.c: a whole file read into memory, within a size limit. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cw/core/file.h"
#include "cw/core/util.h"

/* Checks the open file fd against flags; 0 or a CW_FILE_* failure. */
static int
check(int fd, const char *path, size_t max, int flags, cw_err *e)
{
	struct stat st;

	if (flags == 0)
		return 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cw_seterr(e, "%s: not a regular file", path);
		return CW_FILE_FAILED;
	}
	if ((flags & CW_FILE_PRIVATE) && (st.st_mode & 077) != 0) {
		cw_seterr(e, "%s: readable by group or others (mode %03o); fix with: "
		    "chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
		return CW_FILE_EXPOSED;
	}
	/* Said before reading a byte of it; the read checks again as it grows. */
	if ((unsigned long long)st.st_size > max) {
		cw_seterr(e, "%s: %s", path, strerror(EFBIG));
		return CW_FILE_TOO_BIG;
	}
	return 0;
}

int
cw_read_file(const char *path, size_t max, int flags, struct cw_buf *b, cw_err *e)
{
	char chunk[8192];
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cw_seterr(e, "%s: %s", path, strerror(errno)), CW_FILE_FAILED;
	if ((r = check(fd, path, max, flags, e)) != 0) {
		close(fd);
		return r;
	}
	cw_buf_add(b, "", 0);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cw_seterr(e, "%s: %s", path, strerror(errno));
			r = CW_FILE_FAILED;
			break;
		}
		if (b->len + (size_t)n > max) {
			cw_seterr(e, "%s: %s", path, strerror(EFBIG));
			r = CW_FILE_TOO_BIG;
			break;
		}
		cw_buf_add(b, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	if (r != 0)
		cw_buf_wipe(b);
	return r;
}
