/* templates.h: the email templates the configuration names, for the providers that render. */
#ifndef CW_TEMPLATES_H
#define CW_TEMPLATES_H

#include "cw/core/util.h"
#include "cw/mail/render.h"

struct cw_config;

/*
 * The templates the configuration names:
 *   Cartwatch.Notify.Smtp.Template.Html     file, relative to the config file's
 *   Cartwatch.Notify.Smtp.Template.Text     directory; default: cart.html and
 *                                           cart.txt by cw_template_path()
 *   Cartwatch.Notify.Smtp.Template.Subject  the subject template string
 *                                           (default CW_SUBJECT_DEFAULT)
 * The smtp and preview providers share them. A key of the wrong type is
 * reported and counted in c; a template that cannot be loaded gives NULL with
 * e (the caller reports it as a configuration error). Free with
 * cw_render_free().
 */
struct cw_render *cw_templates_config(struct cw_config *c, cw_err *e);

#endif
