/* quiet.c: quiet hours in a named time zone, read from the system's tz database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cw/core/config.h"
#include "cw/core/quiet.h"
#include "cw/core/util.h"

/* "HH:MM" as minutes after midnight, or -1. */
static int
minutes(const char *s)
{
	if (s == NULL || strlen(s) != 5 || s[2] != ':' || !cw_ascii_digits(s, 2) ||
	    !cw_ascii_digits(s + 3, 2))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');

	return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* 1 when name is a zone the database holds: a plain relative path of
 * letters, digits, '_', '+', '-' and '/', no "..", naming a file there. */
static int
known_zone(const char *name)
{
	const char *dir = getenv("TZDIR");
	struct stat st;
	char *path;
	int ok;

	if (*name == '\0' || *name == '/' || strstr(name, "..") != NULL ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_+-/") != strlen(name))
		return 0;
	path = cw_asprintf("%s/%s", dir != NULL && *dir != '\0' ? dir : "/usr/share/zoneinfo",
	    name);
	ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return ok;
}

static int
read_time(struct cw_config *c, const char *key)
{
	const char *s = cw_config_str(c, key);
	int m;

	if (s == NULL || *s == '\0') {
		cw_config_bad(c, key, "missing: quiet hours need Start and End");
		return -1;
	}
	if ((m = minutes(s)) < 0)
		cw_config_bad(c, key, "expected a local time \"HH:MM\", not \"%s\"", s);
	return m;
}

void
cw_quiet_config(struct cw_quiet *q, struct cw_config *c)
{
	const char *zone = cw_config_str(c, "Cartwatch.QuietHours.TimeZone");

	memset(q, 0, sizeof(*q));
	if (zone == NULL || *zone == '\0') {
		if (cw_config_get(c, "Cartwatch.QuietHours.Start") != NULL ||
		    cw_config_get(c, "Cartwatch.QuietHours.End") != NULL)
			cw_config_bad(c, "Cartwatch.QuietHours.TimeZone",
			    "missing: Start and End are local times, in which zone?");
		return;
	}
	q->start = read_time(c, "Cartwatch.QuietHours.Start");
	q->end = read_time(c, "Cartwatch.QuietHours.End");
	if (!known_zone(zone) || strlen(zone) >= sizeof(q->zone)) {
		cw_config_bad(c, "Cartwatch.QuietHours.TimeZone",
		    "\"%s\" is not a time zone of the system's database (an IANA name such "
		    "as \"Europe/Berlin\"; is tzdata installed?)", zone);
		return;
	}
	if (q->start < 0 || q->end < 0)
		return;
	if (q->start == q->end) {
		cw_config_bad(c, "Cartwatch.QuietHours.End", "the same as Start: no quiet hours");
		return;
	}
	snprintf(q->zone, sizeof(q->zone), "%s", zone);
	q->on = 1;
}

/* Sets TZ to q's zone; returns what it was (caller passes it to tz_leave). */
static char *
tz_enter(const struct cw_quiet *q)
{
	char *old = getenv("TZ") != NULL ? cw_strdup(getenv("TZ")) : NULL;

	setenv("TZ", q->zone, 1);
	tzset();
	return old;
}

/* Puts TZ back as tz_enter found it, and frees old. */
static void
tz_leave(char *old)
{
	if (old != NULL)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

int
cw_quiet_inside(const struct cw_quiet *q, const struct timespec *t, struct timespec *until)
{
	struct tm tm;
	char *old;
	int now, inside;

	if (!q->on)
		return 0;
	old = tz_enter(q);
	localtime_r(&t->tv_sec, &tm);
	tz_leave(old);
	now = tm.tm_hour * 60 + tm.tm_min;
	inside = q->start < q->end ? now >= q->start && now < q->end :
	    now >= q->start || now < q->end;
	if (inside && until != NULL) {
		/* End, today or tomorrow in local time; mktime normalises the
		 * day and picks the offset in force then. */
		if (now >= q->end)
			tm.tm_mday++;
		tm.tm_hour = q->end / 60;
		tm.tm_min = q->end % 60;
		tm.tm_sec = 0;
		tm.tm_isdst = -1;
		until->tv_nsec = 0;
		old = tz_enter(q);
		until->tv_sec = mktime(&tm);
		tz_leave(old);
	}
	return inside;
}
