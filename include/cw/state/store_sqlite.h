/* store_sqlite.h: the embedded state store, one SQLite file; for stores.c and tests. */
#ifndef CW_STORE_SQLITE_H
#define CW_STORE_SQLITE_H

#include "cw/core/util.h"
#include "cw/state/docstore.h"

/* Opens the store at path (an absolute path), making the file 0600 and its
 * directories 0700 when missing. NULL with e set on failure. */
struct cw_docstore *cw_sqlite_open(const char *path, cw_err *e);

/* Where the store at path is, for people and scripts. Caller frees. */
char *cw_sqlite_where(const char *path);

/* 1 when the file is there (someone opened it), without making it. */
int cw_sqlite_exists(const char *path);

/*
 * --check: whether a run could open the store at path, making and writing
 * nothing. A file there must open read-write as a SQLite database (its
 * schema read, nothing written): 1. No file yet: 0 when the nearest
 * directory on its way that exists may get it (the first run makes the rest),
 * -1 with e otherwise, and for a file that will not open.
 */
int cw_sqlite_check(const char *path, cw_err *e);

#endif
