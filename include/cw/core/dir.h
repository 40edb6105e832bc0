/* dir.h: directories made on the way to a file. */
#ifndef CW_DIR_H
#define CW_DIR_H

#include <sys/types.h>
#include "cw/core/util.h"

/*
 * mkdir -p: makes path and each missing directory above it with mode (less
 * the umask); what is there already is left as it is (a file by that name too:
 * opening it as a directory tells). 0, or -1 with e saying "DIR: why" for the
 * first DIR that could not be made.
 */
int cw_mkdir_p(const char *path, mode_t mode, cw_err *e);

#endif
