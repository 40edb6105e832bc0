/* htmlsafe.h: the HTML-context checker of templates, and the escaping it decides for each value. */
#ifndef CW_HTMLSAFE_H
#define CW_HTMLSAFE_H

#include <stddef.h>
#include "cw/core/util.h"
#include "cw/mail/mustache.h"

/*
 * The language of HTML templates for cw_mustache_parse(): it reads the
 * template's literal text as the WHATWG HTML tokenizer (HTML Living
 * Standard, section 13.2.5) reads the page, refuses at load time a template
 * in which a value or a section tag could stand where escaping does not
 * keep it data, and tells each value how it is escaped where it stands.
 * The rules are listed in render.h. It holds no state of its own: each
 * parse has its own, and it is safe to share.
 */
extern const struct cw_mustache_lang cw_html_lang;

/* Appends n bytes of s to b with & < > " ' ` escaped as character
 * references; with in_comment set, - and ! too, so that no value ends an
 * HTML comment. */
void cw_html_escape(struct cw_buf *b, const char *s, size_t n, int in_comment);

/*
 * url made safe for an HTML URL attribute (before HTML escaping): blanks
 * and controls around it and tabs and newlines in it dropped, other blanks
 * and controls percent-encoded, and a scheme other than http, https,
 * mailto, tel and cid replaced, the whole URL, by "about:invalid", setting
 * *changed. The caller frees the result.
 */
char *cw_url_safe(const char *url, int *changed);

#endif
