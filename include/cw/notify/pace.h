/* pace.h: keeping requests under a per-minute ceiling. */
#ifndef CW_PACE_H
#define CW_PACE_H

#include <time.h>

/* Keeps requests under a per-minute ceiling (0: none) by sleeping before
 * each one as needed. Zero-initialised, the first request does not wait. */
struct cw_pace {
	long per_minute;
	struct timespec last;
};
void cw_pace_wait(struct cw_pace *p);

#endif
