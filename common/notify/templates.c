/* templates.c: the email templates the configuration names, for the providers that render. */
#include <stdlib.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/notify/templates.h"

/* A configured file, resolved against the config file's directory; NULL
 * (the shipped one) when unset or empty. Caller frees. */
static char *
template_file(struct cw_config *c, const char *key)
{
	const char *v = cw_config_str(c, key);

	return v != NULL && *v != '\0' ? cw_config_resolve(c, v) : NULL;
}

/* Cartwatch.Email.LogoUrl: an image a mail client fetches, so a web URL;
 * NULL when unset or refused (reported in c). */
static const char *
logo_url(struct cw_config *c)
{
	const char *key = "Cartwatch.Email.LogoUrl", *v = cw_config_str(c, key);

	if (v == NULL || *v == '\0')
		return NULL;
	if (cw_ascii_ncasecmp(v, "https://", 8) != 0 && cw_ascii_ncasecmp(v, "http://", 7) != 0) {
		cw_config_bad(c, key, "not an http or https URL: %s", v);
		return NULL;
	}
	return v;
}

struct cw_render *
cw_templates_config(struct cw_config *c, cw_err *e)
{
	struct cw_render_opts o = {
		.subject = cw_config_str(c, "Cartwatch.Notify.Smtp.Template.Subject"),
		.subject_name = "Cartwatch.Notify.Smtp.Template.Subject",
		.store_name = cw_config_str(c, "Cartwatch.Email.StoreName"),
		.logo_url = logo_url(c),
	};
	char *html = template_file(c, "Cartwatch.Notify.Smtp.Template.Html");
	char *text = template_file(c, "Cartwatch.Notify.Smtp.Template.Text");
	char *subject = template_file(c, "Cartwatch.Notify.Smtp.Template.SubjectFile");
	struct cw_render *r;

	if (o.subject != NULL && *o.subject == '\0')
		o.subject = NULL;
	o.html = html;
	o.text = text;
	o.subject_file = subject;
	r = cw_render_new(&o, e);
	free(html);
	free(text);
	free(subject);
	return r;
}
