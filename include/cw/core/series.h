/* series.h: Cartwatch.Reminders, the reminder series, read once for every stage that needs it. */
#ifndef CW_SERIES_H
#define CW_SERIES_H

#include <stddef.h>

struct cw_config;

struct cw_step {
	long long after_s;  /* the step is due this long after the cart's modification */
	long long late_s;   /* and late (skipped, not sent) this long after that; -1: never */
	const char *event;  /* the step's Emarsys event, or NULL; borrowed from the config */
};

struct cw_series {
	size_t n;               /* at least 1 after cw_series_config */
	struct cw_step *step;   /* step[0] is step 1; owned, freed by cw_series_free */
};

/*
 * Reads Cartwatch.Reminders: each step's AfterMinutes (required) and
 * MaxLateMinutes (steps 2 and later; default the step's own AfterMinutes;
 * step 1 is never late: the fetch window and Cartwatch.MaxCatchUpMinutes
 * bound it). Without the key, one step at the Exclude delay
 * (RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes)
 * with event, the provider's campaign event (borrowed; may be NULL).
 * Problems are counted in c; the series then holds the steps that were good,
 * or the default step when none was. Strings are borrowed from c and event.
 */
void cw_series_config(struct cw_series *s, struct cw_config *c, const char *event);
void cw_series_free(struct cw_series *s);

/*
 * How far back from now a fetch window must start so that every step after
 * the first is seen until it is late: the largest after_s + late_s of steps 2
 * and later, in seconds; 0 for a series of one step.
 */
long long cw_series_reach_s(const struct cw_series *s);

#endif
