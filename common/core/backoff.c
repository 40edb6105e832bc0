/* backoff.c: waiting between retries: exponential, capped, jittered. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cw/core/backoff.h"

void
cw_backoff_init(struct cw_backoff *b, long base_ms, long max_ms)
{
	uint64_t s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)b;

	b->base_ms = base_ms;
	b->max_ms = max_ms;
	b->seed[0] = (unsigned short)s;
	b->seed[1] = (unsigned short)(s >> 16);
	b->seed[2] = (unsigned short)(s >> 32);
}

long
cw_backoff_ms(struct cw_backoff *b, int attempt)
{
	double d = (double)b->base_ms;

	for (int i = 1; i < attempt && d < (double)b->max_ms; i++)
		d *= 2;
	if (d > (double)b->max_ms)
		d = (double)b->max_ms;
	return (long)(d / 2 + erand48(b->seed) * d / 2);
}

void
cw_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
