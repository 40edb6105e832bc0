/* series.c: Cartwatch.Reminders read once: steps, their delays, when each is late. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/series.h"
#include "cw/core/util.h"

static void
add(struct cw_series *s, long long after_s, long long late_s, const char *event)
{
	s->step = cw_realloc(s->step, (s->n + 1) * sizeof(*s->step));
	s->step[s->n].after_s = after_s;
	s->step[s->n].late_s = late_s;
	s->step[s->n].event = event;
	s->n++;
}

/* Step i (0-based) of the configured list; 0, or -1 when it is unusable. */
static int
read_step(struct cw_series *s, struct cw_config *c, size_t i)
{
	char key[64];
	long long after, late = -1;

	snprintf(key, sizeof(key), "Cartwatch.Reminders.%zu.AfterMinutes", i);
	after = cw_config_int(c, key);
	if (after < 0) {
		cw_config_bad(c, key, "missing");
		return -1;
	}
	snprintf(key, sizeof(key), "Cartwatch.Reminders.%zu.MaxLateMinutes", i);
	if (i > 0)
		late = cw_config_get(c, key) == NULL ? after : cw_config_int(c, key);
	else if (cw_config_get(c, key) != NULL)
		cw_config_bad(c, key, "step 1 is never late: the fetch window and "
		    "Cartwatch.MaxCatchUpMinutes bound it");
	snprintf(key, sizeof(key), "Cartwatch.Reminders.%zu.ExternalEventId", i);
	add(s, after * 60, late < 0 ? -1 : late * 60, cw_config_str(c, key));
	return 0;
}

void
cw_series_config(struct cw_series *s, struct cw_config *c, const char *event)
{
	const json_t *rem = cw_config_get(c, "Cartwatch.Reminders");
	size_t i;

	memset(s, 0, sizeof(*s));
	if (rem != NULL && !json_is_null(rem)) {
		if (!json_is_array(rem) || json_array_size(rem) == 0)
			cw_config_bad(c, "Cartwatch.Reminders",
			    "expected a list of {\"AfterMinutes\": N, \"ExternalEventId\": \"...\"}");
		else
			for (i = 0; i < json_array_size(rem); i++)
				read_step(s, c, i);
		if (s->n > 0)
			return;
	}
	add(s, 60 * cw_config_int(c,
	    "RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes"),
	    -1, event);
}

void
cw_series_free(struct cw_series *s)
{
	free(s->step);
	memset(s, 0, sizeof(*s));
}

long long
cw_series_reach_s(const struct cw_series *s)
{
	long long reach = 0;
	size_t i;

	for (i = 1; i < s->n; i++)
		if (s->step[i].after_s + s->step[i].late_s > reach)
			reach = s->step[i].after_s + s->step[i].late_s;
	return reach;
}
