/* backoff.h: waiting between retries: exponential, capped, jittered. */
#ifndef CW_BACKOFF_H
#define CW_BACKOFF_H

/* The state of one retrier's jitter; embed it, start it with cw_backoff_init. */
struct cw_backoff {
	long base_ms;   /* the first wait before jitter */
	long max_ms;    /* cap of one wait */
	unsigned short seed[3];
};

/* Seeds the jitter from the clock, the pid and self: independent between
 * processes, which is all jitter needs (no secrecy). */
void cw_backoff_init(struct cw_backoff *b, long base_ms, long max_ms);

/* The wait after failed try number attempt (1 for the first): base doubled
 * per try, capped, with "equal jitter" (half fixed, half random) so that
 * retrying processes spread out yet never retry at once. */
long cw_backoff_ms(struct cw_backoff *b, int attempt);

/* Sleeps ms milliseconds, through signals. */
void cw_sleep_ms(long ms);

#endif
