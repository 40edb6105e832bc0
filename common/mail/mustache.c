/* mustache.c: a tiny logic-less mustache; a language (struct cw_mustache_lang) decides what values may be. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/util.h"
#include "cw/mail/mustache.h"

#define MAX_NAME 128

enum { N_TEXT, N_VAR, N_SECTION, N_INVERTED };

struct node {
	int kind;
	int esc;            /* N_VAR: the language's code for how it is written */
	int warned;         /* said once that the name is unknown or the value changed */
	unsigned line;
	char *s;            /* N_TEXT: the text; else the name */
	size_t len;         /* N_TEXT */
	struct node *kids;  /* sections */
	size_t nkids;
};

struct cw_tmpl {
	char *name;
	const struct cw_mustache_lang *lang;  /* NULL: values as they are */
	int quiet;            /* collect no warnings */
	struct cw_buf warnings;
	struct node root;
};

struct parser {
	struct cw_tmpl *t;
	const char *src, *end, *p;
	const char *lp;      /* line counted up to here */
	unsigned line;
	const char *closed;  /* the last {{/name}} */
	void *st;            /* the language's state */
	cw_err *e;
};

/* A tag, as read between "{{" and "}}". */
struct tag {
	const char *at;       /* its "{{" */
	int sigil;            /* # ^ / ! or 0 */
	unsigned line;
	char name[MAX_NAME + 1];
};

static unsigned
line_at(struct parser *ps, const char *pos)
{
	for (; ps->lp < pos; ps->lp++)
		if (*ps->lp == '\n')
			ps->line++;
	return ps->line;
}

static int perr(struct parser *, const char *, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(struct parser *ps, const char *pos, const char *fmt, ...)
{
	char why[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return cw_seterr(ps->e, "%s:%u: %s", ps->t->name, line_at(ps, pos), why);
}

/* The language refused the template at pos, for why. */
static int
refused(struct parser *ps, const char *pos, const cw_err *why)
{
	return perr(ps, pos, "%s", why->msg);
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static struct node *
add_node(struct node *parent, int kind, unsigned line)
{
	struct node *n;

	parent->kids = cw_realloc(parent->kids, (parent->nkids + 1) * sizeof(*n));
	n = &parent->kids[parent->nkids++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = line;
	return n;
}

static int
add_text(struct parser *ps, struct node *parent, const char *s, size_t n)
{
	const struct cw_mustache_lang *l = ps->t->lang;
	const char *at = s;
	struct node *t;
	cw_err why;

	if (n == 0)
		return 0;
	if (l != NULL && l->text != NULL && l->text(ps->st, s, n, &at, &why) != 0)
		return refused(ps, at, &why);
	t = add_node(parent, N_TEXT, 0);
	t->s = cw_strndup(s, n);
	t->len = n;
	return 0;
}

static int
good_name(const char *s, size_t n)
{
	int seg = 0;

	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 0 || n > MAX_NAME)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '.') {
			if (seg == 0)
				return 0;
			seg = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-')
			seg++;
		else
			return 0;
	}
	return seg > 0;
}

/* Reads the tag at tg->at, whose "}}" is at close, into tg. */
static int
read_tag(struct parser *ps, struct tag *tg, const char *close)
{
	const char *in = tg->at + 2, *inend = close;
	char shown[64];
	size_t len;

	tg->sigil = 0;
	if (in < close && strchr("#^/!{&>=", *in) != NULL)
		tg->sigil = *in++;
	while (in < inend && is_space(*in))
		in++;
	while (inend > in && is_space(inend[-1]))
		inend--;
	len = (size_t)(inend - in);
	snprintf(shown, sizeof(shown), "%.*s", len > 40 ? 40 : (int)len, in);
	if (tg->sigil == '{' || tg->sigil == '&')
		return perr(ps, tg->at, "{{%c}}: values are always escaped; write {{name}}",
		    tg->sigil);
	if (tg->sigil == '>' || tg->sigil == '=')
		return perr(ps, tg->at, "{{%c}}: partials and delimiter changes are not "
		    "supported", tg->sigil);
	tg->name[0] = '\0';
	if (tg->sigil == '!')
		return 0;
	if (!good_name(in, len))
		return perr(ps, tg->at, "bad tag name \"%s\"", shown);
	memcpy(tg->name, in, len);
	tg->name[len] = '\0';
	return 0;
}

/* A tag other than a value alone on its line takes the line with it: where
 * the text before it ends (*text_end) and the text after it starts (*next). */
static void
standalone(struct parser *ps, const struct tag *tg, const char **text_end,
    const char **next)
{
	const char *ls, *q;
	int alone = 0;

	if (tg->sigil == 0)
		return;
	for (ls = tg->at; ls > ps->src && (ls[-1] == ' ' || ls[-1] == '\t'); ls--)
		;
	for (q = *next; q < ps->end && (*q == ' ' || *q == '\t'); q++)
		;
	if ((ls == ps->src || ls[-1] == '\n') && ls >= ps->p) {
		if (q == ps->end)
			alone = 1;
		else if (*q == '\n')
			alone = 1, q++;
		else if (*q == '\r' && q + 1 < ps->end && q[1] == '\n')
			alone = 1, q += 2;
	}
	if (alone) {
		*text_end = ls;
		*next = q;
	}
}

static int parse_block(struct parser *, struct node *, const char *, int);

static int
parse_section(struct parser *ps, struct node *parent, const struct tag *tg, int depth)
{
	const struct cw_mustache_lang *l = ps->t->lang;
	struct node *n;
	cw_err why;

	if (depth >= CW_MUSTACHE_MAX_DEPTH)
		return perr(ps, tg->at, "sections nested deeper than %d",
		    CW_MUSTACHE_MAX_DEPTH);
	if (l != NULL && l->open != NULL &&
	    l->open(ps->st, tg->sigil, tg->name, depth, &why) != 0)
		return refused(ps, tg->at, &why);
	n = add_node(parent, tg->sigil == '#' ? N_SECTION : N_INVERTED, tg->line);
	n->s = cw_strdup(tg->name);
	if (parse_block(ps, n, n->s, depth + 1) != 0)
		return -1;
	if (l != NULL && l->close != NULL &&
	    l->close(ps->st, tg->sigil, tg->name, tg->line, depth, &why) != 0)
		return refused(ps, ps->closed, &why);
	return 0;
}

static int
parse_value(struct parser *ps, struct node *parent, const struct tag *tg)
{
	const struct cw_mustache_lang *l = ps->t->lang;
	struct node *n = add_node(parent, N_VAR, tg->line);
	cw_err why;

	n->s = cw_strdup(tg->name);
	if (l != NULL && l->value != NULL && l->value(ps->st, &n->esc, &why) != 0)
		return refused(ps, tg->at, &why);
	return 0;
}

/* The text after the last tag, up to the end of the template. */
static int
parse_end(struct parser *ps, struct node *parent, const char *open)
{
	if (open != NULL)
		return cw_seterr(ps->e, "%s:%u: {{#%s}} is never closed", ps->t->name,
		    parent->line, open);
	if (add_text(ps, parent, ps->p, (size_t)(ps->end - ps->p)) != 0)
		return -1;
	ps->p = ps->end;
	return 0;
}

/* Parses up to the {{/open}} that closes a section (or the end when open is
 * NULL) into parent. */
static int
parse_block(struct parser *ps, struct node *parent, const char *open, int depth)
{
	for (;;) {
		const char *close, *text_end, *next;
		struct tag tg;

		tg.at = memmem(ps->p, (size_t)(ps->end - ps->p), "{{", 2);
		if (tg.at == NULL)
			return parse_end(ps, parent, open);
		tg.line = line_at(ps, tg.at);
		close = memmem(tg.at + 2, (size_t)(ps->end - tg.at - 2), "}}", 2);
		if (close == NULL)
			return perr(ps, tg.at, "{{ without }}");
		if (read_tag(ps, &tg, close) != 0)
			return -1;
		text_end = tg.at;
		next = close + 2;
		standalone(ps, &tg, &text_end, &next);
		if (add_text(ps, parent, ps->p, (size_t)(text_end - ps->p)) != 0)
			return -1;
		ps->p = next;

		if (tg.sigil == '/') {
			if (open == NULL)
				return perr(ps, tg.at, "{{/%s}} closes nothing", tg.name);
			if (strcmp(tg.name, open) != 0)
				return perr(ps, tg.at, "{{/%s}} closes {{#%s}}", tg.name, open);
			ps->closed = tg.at;
			return 0;
		}
		if ((tg.sigil == '#' || tg.sigil == '^') &&
		    parse_section(ps, parent, &tg, depth) != 0)
			return -1;
		if (tg.sigil == 0 && parse_value(ps, parent, &tg) != 0)
			return -1;
	}
}

static void
free_nodes(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		free_nodes(&n->kids[i]);
	free(n->kids);
	free(n->s);
}

void
cw_tmpl_quiet(struct cw_tmpl *t, int quiet)
{
	t->quiet = quiet;
}

void
cw_tmpl_free(struct cw_tmpl *t)
{
	if (t == NULL)
		return;
	free_nodes(&t->root);
	cw_buf_free(&t->warnings);
	free(t->name);
	free(t);
}

/* Offset of the first byte that is not well-formed UTF-8, or n. */
static size_t
utf8_bad(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return i;
		for (unsigned k = 1; k <= need; k++) {
			if (i + k >= n || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return n;
}

/* What any template must be before its tags are read. */
static int
good_source(struct parser *ps, const char *src, size_t n)
{
	size_t bad;

	if ((bad = utf8_bad((const unsigned char *)src, n)) != n)
		return perr(ps, src + bad, "not UTF-8");
	if (memchr(src, '\0', n) != NULL)
		return perr(ps, (const char *)memchr(src, '\0', n), "a NUL byte");
	if (ps->t->lang != NULL && ps->t->lang->one_line &&
	    (memchr(src, '\n', n) || memchr(src, '\r', n)))
		return cw_seterr(ps->e, "%s: must be one line", ps->t->name);
	return 0;
}

struct cw_tmpl *
cw_mustache_parse(const char *src, size_t n, const struct cw_mustache_lang *lang,
    const char *name, cw_err *e)
{
	struct cw_tmpl *t = cw_calloc(1, sizeof(*t));
	struct parser ps;
	int rc;

	t->name = cw_strdup(name);
	t->lang = lang;
	memset(&ps, 0, sizeof(ps));
	ps.t = t;
	ps.src = ps.p = ps.lp = src;
	ps.end = src + n;
	ps.line = 1;
	ps.e = e;
	if (good_source(&ps, src, n) != 0) {
		cw_tmpl_free(t);
		return NULL;
	}
	if (lang != NULL && lang->begin != NULL)
		ps.st = lang->begin();
	rc = parse_block(&ps, &t->root, NULL, 0);
	if (lang != NULL && lang->end != NULL)
		lang->end(ps.st);
	if (rc != 0) {
		cw_tmpl_free(t);
		return NULL;
	}
	return t;
}

/* The scope chain while rendering: the data, then each section's value. */
struct scope {
	const json_t *v[CW_MUSTACHE_MAX_DEPTH + 2];
	size_t n;
};

/* The value of name in scope; *found tells a missing first segment from a
 * value that is null or has no such field further down. */
static const json_t *
lookup(const struct scope *sc, const char *name, int *found)
{
	const char *seg = name, *dot;
	const json_t *v = NULL;
	size_t len;

	*found = 1;
	if (strcmp(name, ".") == 0)
		return sc->v[sc->n - 1];
	dot = strchr(seg, '.');
	len = dot ? (size_t)(dot - seg) : strlen(seg);
	for (size_t i = sc->n; i > 0 && v == NULL; i--)
		if (json_is_object(sc->v[i - 1]))
			v = json_object_getn(sc->v[i - 1], seg, len);
	if (v == NULL) {
		*found = 0;
		return NULL;
	}
	while (dot != NULL && v != NULL) {
		seg = dot + 1;
		dot = strchr(seg, '.');
		len = dot ? (size_t)(dot - seg) : strlen(seg);
		v = json_is_object(v) ? json_object_getn(v, seg, len) : NULL;
	}
	return v;
}

static int
truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	default:
		return 1;
	}
}

/* Notes a warning about n, once per tag. */
static void
warn_once(struct cw_tmpl *t, struct node *n, const char *what)
{
	if (n->warned || t->quiet)
		return;
	cw_buf_addf(&t->warnings, "%s:%u: {{%s}}: %s\n", t->name, n->line, n->s, what);
	n->warned = 1;
}

static void
put_value(struct cw_tmpl *t, struct node *n, const json_t *v, struct cw_buf *out)
{
	char num[64];
	const char *s = "", *changed;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		s = json_string_value(v);
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		s = num;
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		s = num;
		break;
	case JSON_TRUE:
		s = "true";
		break;
	case JSON_FALSE:
		s = "false";
		break;
	default:
		break;
	}
	if (t->lang == NULL) {
		cw_buf_adds(out, s);
		return;
	}
	if ((changed = t->lang->write(out, n->esc, s, strlen(s))) != NULL)
		warn_once(t, n, changed);
}

static void render(struct cw_tmpl *, struct node *, size_t, struct scope *,
    struct cw_buf *);

/* A section's body once per item of an array, else once with v in scope. */
static void
render_section(struct cw_tmpl *t, struct node *n, const json_t *v, struct scope *sc,
    struct cw_buf *out)
{
	const json_t *item;
	size_t j;

	if (!json_is_array(v)) {
		sc->v[sc->n++] = v;
		render(t, n->kids, n->nkids, sc, out);
		sc->n--;
		return;
	}
	json_array_foreach(v, j, item) {
		sc->v[sc->n++] = item;
		render(t, n->kids, n->nkids, sc, out);
		sc->n--;
	}
}

static void
render(struct cw_tmpl *t, struct node *kids, size_t nkids, struct scope *sc,
    struct cw_buf *out)
{
	for (size_t i = 0; i < nkids; i++) {
		struct node *n = &kids[i];
		const json_t *v;
		int found;

		if (n->kind == N_TEXT) {
			cw_buf_add(out, n->s, n->len);
			continue;
		}
		v = lookup(sc, n->s, &found);
		if (!found)
			warn_once(t, n, "no such field");
		if (n->kind == N_VAR)
			put_value(t, n, v, out);
		else if (n->kind == N_INVERTED && !truthy(v))
			render(t, n->kids, n->nkids, sc, out);
		else if (n->kind == N_SECTION && truthy(v))
			render_section(t, n, v, sc, out);
	}
}

char *
cw_tmpl_render(struct cw_tmpl *t, const json_t *data)
{
	struct cw_buf out = CW_BUF_INIT;
	struct scope sc;

	sc.v[0] = data;
	sc.n = 1;
	render(t, t->root.kids, t->root.nkids, &sc, &out);
	return cw_buf_detach(&out);
}

char *
cw_tmpl_warnings(struct cw_tmpl *t)
{
	if (t->warnings.len == 0)
		return NULL;
	return cw_buf_detach(&t->warnings);
}
