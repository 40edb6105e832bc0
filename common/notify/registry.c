/* registry.c: the providers by name; adding one adds its row here. */
#include <string.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/notify/registry.h"

static const struct {
	const char *name;
	cw_provider_maker *make;
} providers[] = {
	{"emarsys", cw_emarsys_config},
	{"sendgrid", cw_sendgrid_config},
	{"mandrill", cw_mandrill_config},
	{"smtp", cw_smtp_config},
	{"webhook", cw_webhook_config},
	{"preview", cw_preview_config},
};

#define NPROVIDERS (sizeof(providers) / sizeof(*providers))

struct cw_provider *
cw_provider_config(const char *name, struct cw_config *c, const struct cw_provider_opts *o)
{
	static const struct cw_provider_opts none;
	struct cw_buf names = CW_BUF_INIT;
	size_t i;

	for (i = 0; i < NPROVIDERS; i++)
		if (strcmp(name, providers[i].name) == 0)
			return providers[i].make(c, o != NULL ? o : &none);
	/* "a, b, c or d": the message lists the table, whatever it holds. */
	for (i = 0; i < NPROVIDERS; i++)
		cw_buf_addf(&names, "%s%s", i == 0 ? "" : i + 1 < NPROVIDERS ? ", " : " or ",
		    providers[i].name);
	cw_config_bad(c, "Cartwatch.Notify.Provider", "expected %s, not \"%s\"", names.data,
	    name);
	cw_buf_free(&names);
	return NULL;
}
