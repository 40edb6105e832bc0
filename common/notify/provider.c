/* provider.c: picking the provider the configuration names. */
#include <string.h>

#include "cw/core/config.h"
#include "cw/notify/provider.h"

struct cw_provider *
cw_provider_config(const char *name, struct cw_config *c)
{
	if (strcmp(name, "emarsys") == 0)
		return cw_emarsys_config(c);
	if (strcmp(name, "sendgrid") == 0)
		return cw_sendgrid_config(c);
	if (strcmp(name, "mandrill") == 0)
		return cw_mandrill_config(c);
	if (strcmp(name, "smtp") == 0)
		return cw_smtp_config(c);
	if (strcmp(name, "webhook") == 0)
		return cw_webhook_config(c);
	if (strcmp(name, "preview") == 0)
		return cw_preview_config(c, NULL);
	cw_config_bad(c, "Cartwatch.Notify.Provider", "expected emarsys, sendgrid, mandrill, "
	    "smtp, webhook or preview, not \"%s\"", name);
	return NULL;
}
