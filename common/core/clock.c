/* clock.c: the business clock (CARTWATCH_NOW) and ISO 8601 / RFC 1123 / RFC 5322 times in UTC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw/core/clock.h"
#include "cw/core/util.h"

/*
 * Calendar arithmetic is done here rather than with timegm/gmtime_r: it is
 * exact for any year, needs no TZ or locale, and cannot fail on times that
 * struct tm cannot hold.
 */

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define RFC1123_MIN ((time_t)-62167219200LL)
#define RFC1123_MAX ((time_t)253402300799LL)

static const char *const wdays[7] = {
	"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
};
static const char *const months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

struct civil {
	long long year;
	int mon;	/* 1-12 */
	int mday;	/* 1-31 */
	int hour, min, sec;
	int wday;	/* 0 = Sunday */
};

static int
isleap(long long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
mdays(long long y, int m)
{
	static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && isleap(y) ? 29 : n[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_secs(time_t t, struct civil *c)
{
	long long s = (long long)t, days, rem, z, era, doe, yoe, doy, mp;

	/* Floor division, so that times before 1970 land on the right day. */
	days = s / 86400;
	rem = s % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	c->hour = (int)(rem / 3600);
	c->min = (int)(rem / 60 % 60);
	c->sec = (int)(rem % 60);
	c->wday = (int)((days % 7 + 11) % 7);	/* 1970-01-01 was a Thursday */

	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->mon <= 2);
}

/* Exactly n decimal digits at *s, which is moved past them. */
static int
digits(const char **s, int n, int *out)
{
	int v = 0;

	for (; n > 0; n--, (*s)++) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
	}
	*out = v;
	return 0;
}

static int
expect(const char **s, char c)
{
	if (**s != c)
		return -1;
	(*s)++;
	return 0;
}

/* Checks the ranges and converts a UTC civil time to seconds since the epoch. */
static int
to_secs(int y, int mo, int d, int h, int mi, int se, time_t *out)
{
	/*
	 * Seconds stop at 59: time_t has no leap seconds, and neither .NET's
	 * DateTimeOffset (what Retail Server writes) nor Cosmos ever produce
	 * ":60". Folding it into the next minute would make parse and format
	 * disagree, so it is refused as malformed.
	 */
	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 ||
	    mi > 59 || se > 59)
		return -1;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + se);
	return 0;
}

int
cw_iso8601_parse(const char *s, struct timespec *out)
{
	int y, mo, d, h, mi, se, oh, om, sign, n;
	long nsec = 0;
	const char *frac;
	time_t t;

	if (s == NULL ||
	    digits(&s, 4, &y) || expect(&s, '-') || digits(&s, 2, &mo) ||
	    expect(&s, '-') || digits(&s, 2, &d))
		return -1;
	if (*s != 'T' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) || expect(&s, ':') || digits(&s, 2, &mi) ||
	    expect(&s, ':') || digits(&s, 2, &se))
		return -1;
	if (*s == '.') {
		frac = ++s;
		/* Digits past the ninth are finer than a nanosecond: dropped. */
		for (n = 0; *s >= '0' && *s <= '9'; s++)
			if (n < 9) {
				nsec = nsec * 10 + (*s - '0');
				n++;
			}
		if (s == frac)
			return -1;
		for (; n < 9; n++)
			nsec *= 10;
	}
	oh = om = 0;
	sign = 1;
	if (*s == 'Z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		s++;
		if (digits(&s, 2, &oh))
			return -1;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
	}
	if (*s != '\0')
		return -1;
	if (to_secs(y, mo, d, h, mi, se, &t))
		return -1;
	/* Local time = UTC + offset, so UTC = local - offset. */
	out->tv_sec = t - sign * (oh * 3600 + om * 60);
	out->tv_nsec = nsec;
	return 0;
}

char *
cw_iso8601_format(const struct timespec *t, char buf[CW_ISO8601_MAX])
{
	struct civil c;
	char frac[11] = "";
	long ns = t->tv_nsec;
	int n = 9;

	civil_from_secs(t->tv_sec, &c);
	if (ns > 0 && ns < 1000000000L) {
		while (ns % 10 == 0) {
			ns /= 10;
			n--;
		}
		snprintf(frac, sizeof(frac), ".%0*ld", n, ns);
	}
	/* Years outside 0-9999 cannot be parsed back, but must not overflow. */
	snprintf(buf, CW_ISO8601_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ",
	    c.year, c.mon, c.mday, c.hour, c.min, c.sec, frac);
	return buf;
}

/* v (0 <= v < 10^width) as exactly width digits; returns the end. */
static char *
putnum(char *p, int v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/* s and its NUL at p; returns the position of the NUL. */
static char *
putstr(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n + 1);
	return p + n;
}

/* "Tue, 01 Nov 1994 08:12:31 " and zone into buf, which has room for it. */
static char *
day_and_time(time_t t, const char *zone, char *buf)
{
	struct civil c;
	char *p;

	/*
	 * Both dates have a 4-digit year: times outside 0000-9999 are
	 * clamped to its ends, so the result is always a valid date.
	 */
	if (t < RFC1123_MIN)
		t = RFC1123_MIN;
	if (t > RFC1123_MAX)
		t = RFC1123_MAX;
	civil_from_secs(t, &c);
	/* Built by hand: every field has a fixed width, and snprintf's
	 * truncation warnings cannot see that the year now has four digits. */
	p = putstr(buf, wdays[c.wday]);
	p = putstr(p, ", ");
	p = putnum(p, c.mday, 2);
	p = putstr(p, " ");
	p = putstr(p, months[c.mon - 1]);
	p = putstr(p, " ");
	p = putnum(p, (int)c.year, 4);
	p = putstr(p, " ");
	p = putnum(p, c.hour, 2);
	p = putstr(p, ":");
	p = putnum(p, c.min, 2);
	p = putstr(p, ":");
	p = putnum(p, c.sec, 2);
	p = putstr(p, " ");
	putstr(p, zone);
	return buf;
}

char *
cw_rfc1123_format(time_t t, char buf[CW_RFC1123_MAX])
{
	return day_and_time(t, "GMT", buf);
}

char *
cw_rfc5322_format(time_t t, char buf[CW_RFC5322_MAX])
{
	/* RFC 5322 forbids writing "GMT" (obs-zone): a numeric zone. */
	return day_and_time(t, "+0000", buf);
}

/* Index of the 3-letter name at s in names, moving s past it; -1 if none. */
static int
name(const char **s, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strncmp(*s, names[i], 3) == 0) {
			*s += 3;
			return i;
		}
	return -1;
}

int
cw_rfc1123_parse(const char *s, time_t *out)
{
	struct civil c;
	int wd, mo, d, y, h, mi, se;
	time_t t;

	/* Only the IMF-fixdate form: names are case-sensitive (RFC 7231). */
	if (s == NULL || (wd = name(&s, wdays, 7)) < 0 || expect(&s, ',') ||
	    expect(&s, ' ') || digits(&s, 2, &d) || expect(&s, ' ') ||
	    (mo = name(&s, months, 12)) < 0 || expect(&s, ' ') ||
	    digits(&s, 4, &y) || expect(&s, ' ') || digits(&s, 2, &h) ||
	    expect(&s, ':') || digits(&s, 2, &mi) || expect(&s, ':') ||
	    digits(&s, 2, &se) || strcmp(s, " GMT") != 0)
		return -1;
	if (to_secs(y, mo + 1, d, h, mi, se, &t))
		return -1;
	/* A day name that contradicts the date means the date is wrong too. */
	civil_from_secs(t, &c);
	if (c.wday != wd)
		return -1;
	*out = t;
	return 0;
}

int
cw_now(struct timespec *out, cw_err *e)
{
	const char *v = getenv("CARTWATCH_NOW");

	if (v == NULL || *v == '\0') {
		clock_gettime(CLOCK_REALTIME, out);
		return 0;
	}
	if (cw_iso8601_parse(v, out) != 0)
		return cw_seterr(e, "CARTWATCH_NOW: not an ISO 8601 time: \"%s\"",
		    v);
	return 0;
}

int
cw_time_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

long long
cw_monotonic_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
