/* templates.c: the email templates the configuration names, for the providers that render. */
#include <stdlib.h>

#include "cw/core/config.h"
#include "cw/notify/templates.h"

/* A configured file, resolved against the config file's directory; NULL
 * (the shipped one) when unset or empty. Caller frees. */
static char *
template_file(struct cw_config *c, const char *key)
{
	const char *v = cw_config_str(c, key);

	return v != NULL && *v != '\0' ? cw_config_resolve(c, v) : NULL;
}

struct cw_render *
cw_templates_config(struct cw_config *c, cw_err *e)
{
	struct cw_render_opts o = {
		.subject = cw_config_str(c, "Cartwatch.Notify.Smtp.Template.Subject"),
		.subject_name = "Cartwatch.Notify.Smtp.Template.Subject",
	};
	char *html = template_file(c, "Cartwatch.Notify.Smtp.Template.Html");
	char *text = template_file(c, "Cartwatch.Notify.Smtp.Template.Text");
	struct cw_render *r;

	if (o.subject != NULL && *o.subject == '\0')
		o.subject = NULL;
	o.html = html;
	o.text = text;
	r = cw_render_new(&o, e);
	free(html);
	free(text);
	return r;
}
