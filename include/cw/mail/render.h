/* render.h: a notification record made into an email's subject, HTML and text from templates. */
/* The engine is mustache.h, the HTML rules htmlsafe.h; this file joins them. */
#ifndef CW_RENDER_H
#define CW_RENDER_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/mail/mustache.h"

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
 *   HTML: the template is read as the WHATWG HTML tokenizer reads the page, and
 *     refused at load time ("NAME:LINE: why") unless every value lands where
 *     escaping keeps it data:
 *     - in text, <title> or <textarea>: & < > " ' ` escaped;
 *     - in a comment, after a blank (not in an Outlook <!--[if ...]>): the
 *       same, and - ! too, so that no value ends the comment;
 *     - in a quoted attribute value, but not in on*, style or srcdoc, nor in
 *       any attribute of script, iframe, frame, frameset, embed, object,
 *       applet, param, base, link, meta, portal;
 *     - in a URL attribute (href, src, srcset, action, formaction, poster,
 *       background, ping, cite, xlink:href, ...): either as the whole start
 *       of the URL, then the only value there, rendered through cw_url_safe()
 *       (http, https, mailto, tel, cid or relative, else "about:invalid" with
 *       a warning), or after a scheme (http:, https:, mailto:, tel:, cid:) or
 *       a "/", "?" or "#" written in the template, any number of them. In
 *       srcset and ping each blank-separated URL counts on its own, and
 *       blanks in a value are percent-encoded.
 *     Never in tag or attribute names, unquoted values, <script>, <style> or
 *     other raw text. Refused as well: javascript: and vbscript: URLs and
 *     data: URLs other than PNG, GIF, JPEG or WebP pictures written in the
 *     template (read after character references, tabs and newlines);
 *     the comment ends <!-->, <!---> and --!>; <svg>, <math>, <noscript>,
 *     <frameset>, and raw-text elements inside <select>; a section tag in
 *     a name, or a section that does not end in the very HTML state it
 *     started in (it may be rendered 0, 1 or many times).
 *   TEXT: values as they are.
 *   LINE (the subject): values with control characters (CR, LF, tab...) turned
 *     into spaces; the template itself must be one line.
 *
 * A name found nowhere in scope renders empty and is reported once per tag,
 * as "TEMPLATE:LINE: {{name}}: no such field", through cw_tmpl_warnings() or
 * cw_render_warnings(): the caller prints them. A name that is present but
 * null or empty is not reported.
 */

enum cw_tmpl_kind {
	CW_TMPL_TEXT,
	CW_TMPL_HTML,
	CW_TMPL_LINE
};

/* Compiles n bytes of src (UTF-8), which need not be NUL-terminated; the
 * caller keeps src. name is for messages ("cart.html"). NULL with e
 * ("NAME:LINE: reason") on a syntax error or, for CW_TMPL_HTML, a refusal
 * above. Render with cw_tmpl_render(), free with cw_tmpl_free() (mustache.h):
 * with them this is the whole engine, a fuzz harness needs nothing else. */
struct cw_tmpl *cw_tmpl_parse(const char *src, size_t n, enum cw_tmpl_kind kind,
    const char *name, cw_err *e);

/* Reads and compiles the file at path. NULL with e ("PATH: why" or
 * "PATH:LINE: why") when it cannot be read, is not UTF-8, or does not parse. */
struct cw_tmpl *cw_tmpl_load(const char *path, enum cw_tmpl_kind kind, cw_err *e);

/*
 * Where a shipped template file lives: the first directory holding file among
 *   $CARTWATCH_TEMPLATES (when set and not empty; then the only one tried),
 *   EXEDIR/../share/cartwatch/templates   (an installed tree, wherever it moved),
 *   EXEDIR/../templates                   (the build tree: build/TOOL),
 *   TEMPLATEDIR                           (compiled in; PREFIX/share/cartwatch/templates).
 * Returns the path (caller frees), or NULL with e naming where it looked.
 */
char *cw_template_path(const char *file, cw_err *e);

/* An email's three rendered parts, UTF-8, owned by whoever holds the struct;
 * release with cw_email_free(). */
struct cw_email {
	char *subject;  /* one line */
	char *html;     /* a full HTML document with the shipped template */
	char *text;
};

struct cw_render;  /* opaque: the three templates of an email */

/* What an email's templates are, all borrowed; NULL for each default. */
struct cw_render_opts {
	const char *html;          /* HTML template file; NULL: the shipped cart.html,
	                            * found by cw_template_path() */
	const char *text;          /* text template file; NULL: the shipped cart.txt */
	const char *subject;       /* the one-line subject template itself, every
	                            * language's; NULL: subject_file's */
	const char *subject_name;  /* what messages call the subject
	                            * ("NAME:1: why"); NULL: "subject" */
	const char *subject_file;  /* a file holding the one-line subject template
	                            * (a final newline is not part of it); NULL:
	                            * the shipped cart.subject */
	const char *store_name;    /* {{storeName}}; NULL or "": null */
	const char *logo_url;      /* {{logoUrl}}; NULL or "": null */
};

/*
 * Languages: each template file DIR/STEM.EXT (cart.html) may have variants
 * beside it, DIR/STEM.TAG.EXT, TAG a lower-case language tag (cart.de.html,
 * cart.de-ch.html, cart.ar.subject). An email takes each of its three parts
 * from the first of the chain that has it: the record's language as a tag
 * (lower case, "_" read as "-": "de_CH" -> "de-ch"), then that tag less its
 * last subtag, and so on ("de"), then the file itself. A language without a
 * variant, or a record without a language, gets the file itself. A subject
 * given as a string (subject) has no variants.
 *
 * Loads every variant of the three files; NULL with e when one of them
 * cannot be found or used ("DIR/cart.de.html:12: why"). Free with
 * cw_render_free(). Not for use by two threads at once.
 */
struct cw_render *cw_render_new(const struct cw_render_opts *o, cw_err *e);

void cw_render_free(struct cw_render *r);

/*
 * Renders a notification record (doc/DESIGN.md section 3) into m, which the caller
 * frees with cw_email_free(), in the templates of the record's language (see
 * cw_render_new()). The templates see the record as it is, except that:
 *  - in orderDetails[].productImage viewport images with an empty url are
 *    dropped (an image left with none becomes null: no picture), and
 *    "defaultImage" is added: the first viewport image with
 *    useForDefaultImageTag true, else the last one;
 *  - a missing unsubscribeUrl is null (no link, no warning);
 *  - storeName and logoUrl are the options' (null when unset);
 *  - each line of orderDetails gains formattedQuantity, formattedUnitPrice
 *    and formattedLineTotal (quantity x unitPrice), and the record
 *    formattedSubtotal (the lines' total), each written by ICU (money.h) for
 *    the record's language in its currency: "1.234,57 $" for de-de in USD.
 *    A quantity or price that is no number stays as the record has it
 *    ("Not Specified"), and the totals it is part of are null.
 * rec itself is not changed.
 */
void cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m);

/* The warnings of the emails rendered since the last call (cw_tmpl_warnings()
 * of the three templates), for the caller to print; NULL when there are
 * none. The caller frees the text. */
char *cw_render_warnings(struct cw_render *r);

void cw_email_free(struct cw_email *m);

/*
 * cw_mime_build() (mime.h) for a notification record: To is rec's email with
 * "firstName lastName" as the display name (control characters in the names
 * become spaces), the id its notificationId, the language its language, the
 * List-Unsubscribe URL its unsubscribeUrl (when it has one); m holds the
 * rendered parts.
 */
int cw_mime_notification(const struct cw_email *m, const json_t *rec,
    const char *from, time_t date, char **out, size_t *n, cw_err *e);

#endif
