/* render.h: a notification record made into an email's subject, HTML and text from templates. */
#ifndef CW_RENDER_H
#define CW_RENDER_H

#include <stddef.h>
#include <jansson.h>
#include "cw/util.h"

/*
 * The template language: a small, logic-less subset of mustache.
 *
 *   {{name}}           the value of name: a string, a number, true/false, or ""
 *                      for null, objects and arrays. name may be dotted
 *                      (productImage.altText); "." is the current item.
 *   {{#name}}..{{/name}}  a section: rendered once per item of a non-empty
 *                      array, once with an object (its fields come into scope),
 *                      once for any other true value (true, a non-empty string,
 *                      a number other than 0); skipped for a missing name,
 *                      null, false, "", 0 and [].
 *   {{^name}}..{{/name}}  inverted: rendered only when the section would not be.
 *   {{! comment }}     nothing.
 *
 * Names are looked up from the innermost section outwards, so {{currency}}
 * works inside {{#orderDetails}}. A line holding only a section, inverted,
 * closing or comment tag (and blanks) leaves no line behind.
 *
 * Output is always escaped; there is no raw form: {{{x}}}, {{&x}}, partials
 * ({{>x}}) and delimiter changes ({{=x}}) are syntax errors.
 *   HTML: every value has & < > " ' ` escaped. The template is read as HTML:
 *     a value may stand in text, in a comment, or inside a quoted attribute
 *     value; anywhere else (tag or attribute names, unquoted values, <script>
 *     or <style>, on* and style attributes) the template is refused. A value
 *     that starts a URL attribute (href, src, srcset, action, background,
 *     poster, cite, ...) must be http, https, mailto, tel, cid or relative;
 *     other schemes (javascript:, data:, vbscript:, ...) become "about:invalid"
 *     with a warning; blanks are trimmed and inner ones percent-encoded.
 *   TEXT: values as they are.
 *   LINE (the subject): values with control characters (CR, LF, tab...) turned
 *     into spaces; the template itself must be one line.
 *
 * A name found nowhere in scope renders empty and is reported once per tag, on
 * stderr, as "TOOL: TEMPLATE:LINE: {{name}}: no such field". A name that is
 * present but null or empty is not reported.
 */

enum cw_tmpl_kind {
	CW_TMPL_TEXT,
	CW_TMPL_HTML,
	CW_TMPL_LINE
};

struct cw_tmpl;  /* opaque: a compiled template */

/* Compiles n bytes of src (UTF-8). name is for messages ("cart.html").
 * NULL with e ("NAME:LINE: reason") on a syntax error. Free with cw_tmpl_free(). */
struct cw_tmpl *cw_tmpl_parse(const char *src, size_t n, enum cw_tmpl_kind kind,
    const char *name, cw_err *e);

/* Reads and compiles the file at path. NULL with e ("PATH: why" or
 * "PATH:LINE: why") when it cannot be read, is not UTF-8, or does not parse. */
struct cw_tmpl *cw_tmpl_load(const char *path, enum cw_tmpl_kind kind, cw_err *e);

/* Renders t with data as the outermost scope. Never fails; the caller frees
 * the result. t is not const: it remembers which tags it has warned about. */
char *cw_tmpl_render(struct cw_tmpl *t, const json_t *data);

/* With quiet set, cw_tmpl_render() warns about nothing (unknown names,
 * unsafe URLs): for callers such as fuzzers that render many records. */
void cw_tmpl_quiet(struct cw_tmpl *t, int quiet);

void cw_tmpl_free(struct cw_tmpl *t);

/* url made safe for an HTML URL attribute (before HTML escaping): see above.
 * *changed is set when the scheme was refused. Caller frees. */
char *cw_url_safe(const char *url, int *changed);

/*
 * Where a shipped template file lives: the first directory holding file among
 *   $CARTWATCH_TEMPLATES (when set and not empty; then the only one tried),
 *   EXEDIR/../share/cartwatch/templates   (an installed tree, wherever it moved),
 *   EXEDIR/../templates                   (the build tree: build/TOOL),
 *   TEMPLATEDIR                           (compiled in; PREFIX/share/cartwatch/templates).
 * Returns the path (caller frees), or NULL with e naming where it looked.
 */
char *cw_template_path(const char *file, cw_err *e);

/* The default subject template. */
#define CW_SUBJECT_DEFAULT \
	"{{#firstName}}{{firstName}}, you{{/firstName}}{{^firstName}}You{{/firstName}}" \
	" left something in your cart"

/* An email's three rendered parts, UTF-8, owned by whoever holds the struct;
 * release with cw_email_free(). */
struct cw_email {
	char *subject;  /* one line */
	char *html;     /* a full HTML document with the shipped template */
	char *text;
};

struct cw_render;  /* opaque: the three templates of an email */

/* Loads the HTML and text templates from files and compiles subject (a
 * one-line template string). NULL with e when one of them cannot be used. */
struct cw_render *cw_render_new(const char *html_path, const char *text_path,
    const char *subject, cw_err *e);

struct cw_config;

/*
 * The templates the configuration names:
 *   Cartwatch.Notify.Smtp.Template.Html     file, relative to the config file's
 *   Cartwatch.Notify.Smtp.Template.Text     directory; default: cart.html and
 *                                           cart.txt by cw_template_path()
 *   Cartwatch.Notify.Smtp.Template.Subject  the subject template string
 *                                           (default CW_SUBJECT_DEFAULT)
 * The smtp and preview providers share them. A key of the wrong type is
 * reported and counted in c; a template that cannot be loaded gives NULL with e
 * (the caller exits CW_EXIT_USAGE).
 */
struct cw_render *cw_render_config(struct cw_config *c, cw_err *e);

void cw_render_free(struct cw_render *r);

/*
 * Renders a notification record (DESIGN.md section 3) into m, which the caller
 * frees with cw_email_free(). The templates see the record as it is, except
 * that in orderDetails[].productImage viewport images with an empty url are
 * dropped (an image left with none becomes null: no picture), and
 * "defaultImage" is added: the first viewport image with useForDefaultImageTag
 * true, else the last one. rec itself is not changed.
 */
void cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m);

void cw_email_free(struct cw_email *m);

#endif
