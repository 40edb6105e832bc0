/* mustache.h: logic-less templates over a JSON object; what a value's place means is a language's business. */
#ifndef CW_MUSTACHE_H
#define CW_MUSTACHE_H

#include <stddef.h>
#include <jansson.h>
#include "cw/core/util.h"

/*
 * The template language, a small subset of mustache, is described in
 * render.h. This engine parses it and renders it; it knows no output
 * language. A struct cw_mustache_lang, when given, reads the template's
 * literal text as the output will be read, decides how each value is
 * written where it stands, and refuses what it cannot make safe; without
 * one, values are written as they are.
 */

#define CW_MUSTACHE_MAX_DEPTH 32   /* sections inside sections */

struct cw_mustache_lang {
	int one_line;   /* the template itself must hold no CR or LF */
	/* A parse's state: begin() makes it, end() frees it. NULL: none. */
	void *(*begin)(void);
	void (*end)(void *st);
	/*
	 * The hooks below may be NULL. Each returns 0, or -1 with why (no
	 * "NAME:LINE: " in front: the engine adds it) when the template is
	 * refused.
	 *   text     the literal text s[0..n); *at the byte refused
	 *   value    a {{name}}: *esc, a code of the language's own, says how
	 *            it is written (given to write() at render time)
	 *   open     {{#name}} or {{^name}} (sigil '#' or '^'), depth sections
	 *            inside others (0 at the top)
	 *   close    the {{/name}} of that section, which began on line
	 */
	int (*text)(void *st, const char *s, size_t n, const char **at, cw_err *why);
	int (*value)(void *st, int *esc, cw_err *why);
	int (*open)(void *st, int sigil, const char *name, int depth, cw_err *why);
	int (*close)(void *st, int sigil, const char *name, unsigned line, int depth,
	    cw_err *why);
	/* Appends s[0..n) to out as esc says. Returns what was changed, for a
	 * warning ("a URL ... was replaced"), or NULL. Never NULL itself. */
	const char *(*write)(struct cw_buf *out, int esc, const char *s, size_t n);
};

struct cw_tmpl;  /* opaque: a compiled template */

/*
 * Compiles n bytes of src (UTF-8), which need not be NUL-terminated; the
 * caller keeps src, and lang (NULL: values as they are), which must outlive
 * the template. name is for messages ("cart.html"). NULL with e
 * ("NAME:LINE: reason") on a syntax error or a refusal of lang. Free with
 * cw_tmpl_free().
 */
struct cw_tmpl *cw_mustache_parse(const char *src, size_t n,
    const struct cw_mustache_lang *lang, const char *name, cw_err *e);

/* Renders t with data as the outermost scope. Never fails; the caller frees
 * the result. t is not const: it collects warnings, each tag's once. */
char *cw_tmpl_render(struct cw_tmpl *t, const json_t *data);

/*
 * The warnings of the renders since the last call, one a line, each
 * "TEMPLATE:LINE: {{name}}: what" ("no such field" for a name found nowhere
 * in scope, or what lang's write() changed); NULL when there are none. The
 * caller frees the text and decides whether to print it: the engine never
 * prints.
 */
char *cw_tmpl_warnings(struct cw_tmpl *t);

/* With quiet set, t collects no warnings: for callers such as fuzzers that
 * render many records. */
void cw_tmpl_quiet(struct cw_tmpl *t, int quiet);

void cw_tmpl_free(struct cw_tmpl *t);

#endif
