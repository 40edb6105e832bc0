/* templates.h: the email templates the configuration names, for the providers that render. */
#ifndef CW_TEMPLATES_H
#define CW_TEMPLATES_H

#include "cw/core/util.h"
#include "cw/mail/render.h"

struct cw_config;

/*
 * The templates the configuration names:
 *   Cartwatch.Notify.Smtp.Template.Html         files, relative to the config
 *   Cartwatch.Notify.Smtp.Template.Text         file's directory, each with its
 *   Cartwatch.Notify.Smtp.Template.SubjectFile  language variants beside it;
 *                                               default: the shipped cart.html,
 *                                               cart.txt, cart.subject
 *   Cartwatch.Notify.Smtp.Template.Subject      a subject template string for
 *                                               every language (over SubjectFile)
 *   Cartwatch.Email.StoreName                   {{storeName}}
 *   Cartwatch.Email.LogoUrl                     {{logoUrl}}: an http or https URL
 * The smtp and preview providers share them. A key of the wrong type, or a
 * logo URL that is not http(s), is reported and counted in c; a template
 * that cannot be loaded gives NULL with e (the caller reports it as a
 * configuration error). Free with cw_render_free().
 */
struct cw_render *cw_templates_config(struct cw_config *c, cw_err *e);

#endif
