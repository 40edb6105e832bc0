/* file.h: a whole file read into memory, within a size limit. */
#ifndef CW_FILE_H
#define CW_FILE_H

#include <stddef.h>
#include "cw/core/util.h"

/* Flags of cw_read_file(); the file opened is checked, not its name again. */
#define CW_FILE_REGULAR 0x1  /* refuse a directory, a FIFO, a device */
#define CW_FILE_PRIVATE 0x2  /* refuse a file group or others may read: it holds secrets */

/* What cw_read_file() returns when it fails. */
#define CW_FILE_FAILED  (-1)  /* cannot open or read it, or not a regular file */
#define CW_FILE_TOO_BIG (-2)  /* more than max bytes */
#define CW_FILE_EXPOSED (-3)  /* CW_FILE_PRIVATE refused it */

/*
 * Reads all of path into b, which must be empty. Returns 0 with the bytes in b
 * (b->data never NULL, NUL-terminated; the caller frees b), or one of the
 * CW_FILE_* above with b empty again (wiped: it may have held secrets) and e
 * saying "PATH: why": the system's reason ("No such file or directory", "Is a
 * directory" when read without CW_FILE_REGULAR), "not a regular file", "File
 * too large", or "readable by group or others (mode 644); fix with: chmod 600
 * PATH". A file whose size is unknown (a pipe, /dev/stdin) is read to its end
 * unless CW_FILE_REGULAR refuses it.
 */
int cw_read_file(const char *path, size_t max, int flags, struct cw_buf *b, cw_err *e);

#endif
