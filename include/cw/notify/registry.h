/* registry.h: every provider by name, the one place that knows them all. */
#ifndef CW_REGISTRY_H
#define CW_REGISTRY_H

#include "cw/notify/provider.h"

struct cw_config;

/* What a caller may choose over the configuration, for every provider: a
 * provider takes what concerns it and ignores the rest. All borrowed. */
struct cw_provider_opts {
	/* Where a provider that writes files writes them (the preview's
	 * Cartwatch.Notify.Preview.Dir); NULL: the configured place. */
	const char *dir;
};

/* Makes a provider from c (and o, which may be NULL), reading its keys and
 * touching no network. Problems are reported and counted in c. */
typedef struct cw_provider *cw_provider_maker(struct cw_config *c,
    const struct cw_provider_opts *o);

/* The provider called name, made by its maker in registry.c's table; NULL
 * (reported in c, naming every provider there is) for an unknown name.
 * Free with cw_provider_close(). */
struct cw_provider *cw_provider_config(const char *name, struct cw_config *c,
    const struct cw_provider_opts *o);

/* The makers, one per provider file, for registry.c's table alone. A new
 * provider adds its file, its maker here and its row there. */
cw_provider_maker cw_emarsys_config, cw_sendgrid_config, cw_mandrill_config,
    cw_smtp_config, cw_webhook_config, cw_preview_config;

#endif
