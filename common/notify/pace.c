/* pace.c: keeping requests under a per-minute ceiling. */
#include <errno.h>
#include <time.h>

#include "cw/notify/pace.h"

void
cw_pace_wait(struct cw_pace *p)
{
	struct timespec now, until;
	long gap_ns;

	if (p->per_minute <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (p->last.tv_sec != 0 || p->last.tv_nsec != 0) {
		gap_ns = 60000000000L / p->per_minute;
		until.tv_sec = p->last.tv_sec + gap_ns / 1000000000L;
		until.tv_nsec = p->last.tv_nsec + gap_ns % 1000000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
			;
		now = until.tv_sec > now.tv_sec ||
		    (until.tv_sec == now.tv_sec && until.tv_nsec > now.tv_nsec) ? until : now;
	}
	p->last = now;
}
