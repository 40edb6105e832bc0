/* quiet.h: quiet hours: local times of day, in an IANA time zone, when nothing is sent. */
#ifndef CW_QUIET_H
#define CW_QUIET_H

#include <time.h>

struct cw_config;

struct cw_quiet {
	int on;          /* 0 without Cartwatch.QuietHours.TimeZone: never quiet */
	int start, end;  /* minutes after local midnight; end < start spans midnight */
	char zone[128];  /* an IANA name of the system's time zone database */
};

/*
 * Reads Cartwatch.QuietHours: Start and End ("HH:MM", local) and TimeZone
 * (an IANA name, "Europe/Berlin", that the system's zoneinfo holds: $TZDIR,
 * else /usr/share/zoneinfo). Without TimeZone, off. Problems (a malformed
 * time, Start equal to End, an unknown zone, Start or End missing) are
 * counted in c, and q is left off.
 */
void cw_quiet_config(struct cw_quiet *q, struct cw_config *c);

/*
 * 1 when t, read as local time in q's zone, is in [Start, End); 0 outside
 * (or off). Daylight-saving changes are the time zone database's: an hour
 * that a change skips is never quiet, one it repeats is quiet twice. When 1
 * and until is not NULL, *until is when these quiet hours end. Sets and
 * restores TZ: not for threads that read local time meanwhile.
 */
int cw_quiet_inside(const struct cw_quiet *q, const struct timespec *t, struct timespec *until);

#endif
