/* clock.h: the business clock and the time formats on the wire, all in UTC. */
#ifndef CW_CLOCK_H
#define CW_CLOCK_H

#include <time.h>
#include "cw/core/util.h"

/* "2024-05-01T10:20:30.1234567Z": room for 9 fractional digits and the NUL. */
#define CW_ISO8601_MAX 40
/* "Tue, 01 Nov 1994 08:12:31 GMT" and the NUL. */
#define CW_RFC1123_MAX 30
/* "Tue, 01 Nov 1994 08:12:31 +0000" and the NUL. */
#define CW_RFC5322_MAX 32

/*
 * The business "now" (doc/DESIGN.md section 7.2): $CARTWATCH_NOW (ISO 8601) when
 * set, else the real clock. It moves the window, leases, schedules and retention,
 * never what goes on the wire. Returns 0, or -1 with e naming CARTWATCH_NOW when
 * it does not parse.
 */
int cw_now(struct timespec *out, cw_err *e);

/*
 * Parses ISO 8601 date-times as Retail Server and our users write them:
 * YYYY-MM-DDTHH:MM:SS, optional fraction of 1 to 9 digits (more are accepted and
 * truncated), then Z, +HH:MM, -HH:MM, +HHMM or nothing (taken as UTC). A space
 * may stand for the T. Returns 0, or -1 if s is not such a time.
 */
int cw_iso8601_parse(const char *s, struct timespec *out);

/* Formats t as UTC ending in Z; the fraction is printed only when not zero, with
 * trailing zeros dropped. Returns buf. */
char *cw_iso8601_format(const struct timespec *t, char buf[CW_ISO8601_MAX]);

/* RFC 1123 (HTTP-date, Cosmos x-ms-date), independent of the locale. Returns buf. */
char *cw_rfc1123_format(time_t t, char buf[CW_RFC1123_MAX]);
int cw_rfc1123_parse(const char *s, time_t *out);

/* The same time as an RFC 5322 date-time (an email's Date:), zone +0000.
 * Returns buf. */
char *cw_rfc5322_format(time_t t, char buf[CW_RFC5322_MAX]);

/* Compares two times: <0, 0, >0. */
int cw_time_cmp(const struct timespec *a, const struct timespec *b);

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC): for deadlines and
 * intervals within a run, never for the business clock (cw_now). */
long long cw_monotonic_ms(void);

#endif
