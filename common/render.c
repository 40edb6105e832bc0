/* render.c: a tiny mustache that always escapes, and the email's three templates. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/config.h"
#include "cw/render.h"
#include "cw/util.h"

/* The Makefile passes PREFIX/share/cartwatch/templates. */
#ifndef TEMPLATEDIR
#define TEMPLATEDIR "/usr/local/share/cartwatch/templates"
#endif

#define MAX_DEPTH 32            /* sections inside sections */
#define MAX_NAME 128
#define MAX_TEMPLATE (1024L * 1024)

enum { N_TEXT, N_VAR, N_SECTION, N_INVERTED };
enum { ESC_NONE, ESC_HTML, ESC_URL, ESC_LINE };

struct node {
	int kind;
	int esc;            /* N_VAR: how its value is written */
	int warned;         /* said once that the name is unknown or the URL unsafe */
	unsigned line;
	char *s;            /* N_TEXT: the text; else the name */
	size_t len;         /* N_TEXT */
	struct node *kids;  /* sections */
	size_t nkids;
};

struct cw_tmpl {
	char *name;
	int kind;
	struct node root;
};

/* Where the HTML template's literal text has got to: enough of the HTML
 * tokenizer to tell text and quoted attribute values from everything else. */
enum {
	H_DATA, H_TAGOPEN, H_BANG, H_BANGDASH, H_COMMENT, H_DECL, H_ENDTAG,
	H_TAGNAME, H_INTAG, H_ATTR, H_AFTERATTR, H_BEFOREVAL, H_DQ, H_SQ, H_UNQ, H_RAW
};

struct html {
	int st;
	char tag[16];
	size_t ntag;
	char attr[32];
	size_t nattr;
	int fixed;        /* the URL in this attribute has its scheme already */
	int dashes;       /* '-' just seen in a comment */
	size_t raw;       /* chars of "</script" or "</style" matched */
};

struct parser {
	struct cw_tmpl *t;
	const char *src, *end, *p;
	const char *lp;      /* line counted up to here */
	unsigned line;
	struct html h;
	cw_err *e;
};

/* Attributes whose value the browser fetches or follows. */
static const char *const url_attrs[] = {
	"href", "src", "srcset", "action", "formaction", "poster", "background",
	"cite", "longdesc", "usemap", "data", "codebase", "manifest", "ping",
	"xlink:href", "lowsrc", "dynsrc", NULL
};

static const char *const url_schemes[] = {
	"http", "https", "mailto", "tel", "cid", NULL
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

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static void
put(char *buf, size_t cap, size_t *n, int c)
{
	if (*n + 1 < cap)
		buf[(*n)++] = (char)lower(c);
	buf[*n] = '\0';
}

/* The end of a start tag: <script> and <style> hold no HTML until their end tag. */
static void
tag_end(struct html *h)
{
	if (strcmp(h->tag, "script") == 0 || strcmp(h->tag, "style") == 0) {
		h->st = H_RAW;
		h->raw = 0;
	} else
		h->st = H_DATA;
}

static void
new_attr(struct html *h, int c)
{
	h->nattr = 0;
	put(h->attr, sizeof(h->attr), &h->nattr, c);
	h->st = H_ATTR;
}

static void
feed(struct html *h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		switch (h->st) {
		case H_DATA:
			if (c == '<')
				h->st = H_TAGOPEN;
			break;
		case H_TAGOPEN:
			if (c == '!')
				h->st = H_BANG;
			else if (c == '/')
				h->st = H_ENDTAG;
			else if (c == '?')
				h->st = H_DECL;
			else if (is_alpha(c)) {
				h->ntag = 0;
				put(h->tag, sizeof(h->tag), &h->ntag, c);
				h->st = H_TAGNAME;
			} else
				h->st = c == '<' ? H_TAGOPEN : H_DATA;
			break;
		case H_BANG:
			h->st = c == '-' ? H_BANGDASH : c == '>' ? H_DATA : H_DECL;
			break;
		case H_BANGDASH:
			h->dashes = 0;
			h->st = c == '-' ? H_COMMENT : c == '>' ? H_DATA : H_DECL;
			break;
		case H_COMMENT:
			if (c == '>' && h->dashes >= 2)
				h->st = H_DATA;
			h->dashes = c == '-' ? h->dashes + 1 : 0;
			break;
		case H_DECL:
		case H_ENDTAG:
			if (c == '>')
				h->st = H_DATA;
			break;
		case H_TAGNAME:
			if (is_space(c) || c == '/')
				h->st = H_INTAG;
			else if (c == '>')
				tag_end(h);
			else
				put(h->tag, sizeof(h->tag), &h->ntag, c);
			break;
		case H_INTAG:
			if (c == '>')
				tag_end(h);
			else if (!is_space(c) && c != '/')
				new_attr(h, c);
			break;
		case H_ATTR:
			if (is_space(c))
				h->st = H_AFTERATTR;
			else if (c == '=')
				h->st = H_BEFOREVAL;
			else if (c == '>')
				tag_end(h);
			else if (c == '/')
				h->st = H_INTAG;
			else
				put(h->attr, sizeof(h->attr), &h->nattr, c);
			break;
		case H_AFTERATTR:
			if (c == '=')
				h->st = H_BEFOREVAL;
			else if (c == '>')
				tag_end(h);
			else if (c == '/')
				h->st = H_INTAG;
			else if (!is_space(c))
				new_attr(h, c);
			break;
		case H_BEFOREVAL:
			h->fixed = 0;
			if (c == '"')
				h->st = H_DQ;
			else if (c == '\'')
				h->st = H_SQ;
			else if (c == '>')
				tag_end(h);
			else if (!is_space(c))
				h->st = H_UNQ;
			break;
		case H_DQ:
		case H_SQ:
			if (c == (h->st == H_DQ ? '"' : '\''))
				h->st = H_INTAG;
			else if (strchr(":/?#", c) != NULL)
				h->fixed = 1;
			break;
		case H_UNQ:
			if (is_space(c))
				h->st = H_INTAG;
			else if (c == '>')
				tag_end(h);
			break;
		case H_RAW: {
			/* "</" then the tag's name ends the raw text */
			size_t k = h->raw;

			if (k == 0 && c == '<')
				h->raw = 1;
			else if (k == 1 && c == '/')
				h->raw = 2;
			else if (k >= 2 && k - 2 < h->ntag && lower(c) == h->tag[k - 2])
				h->raw++;
			else
				h->raw = c == '<' ? 1 : 0;
			if (h->raw == h->ntag + 2)
				h->st = H_ENDTAG;
			break;
		}
		}
	}
}

static int
listed(const char *const *list, const char *s, size_t n)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncasecmp(*list, s, n) == 0)
			return 1;
	return 0;
}

/* How a value at the parser's position in an HTML template is written. */
static int
html_esc(struct parser *ps, const char *pos, int *esc)
{
	struct html *h = &ps->h;

	switch (h->st) {
	case H_DATA:
	case H_COMMENT:
		*esc = ESC_HTML;
		return 0;
	case H_DQ:
	case H_SQ:
		if (strncmp(h->attr, "on", 2) == 0 || strcmp(h->attr, "style") == 0)
			return perr(ps, pos, "a value may not stand in a \"%s\" attribute "
			    "(script or style)", h->attr);
		*esc = ESC_HTML;
		if (listed(url_attrs, h->attr, strlen(h->attr)) && !h->fixed) {
			*esc = ESC_URL;
			h->fixed = 1;
		}
		return 0;
	case H_RAW:
		return perr(ps, pos, "a value may not stand inside <%s>", h->tag);
	case H_UNQ:
	case H_BEFOREVAL:
		return perr(ps, pos, "a value in the \"%s\" attribute must be in quotes",
		    h->attr);
	default:
		return perr(ps, pos, "a value may stand only in text or inside a "
		    "quoted attribute value");
	}
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

static void
add_text(struct parser *ps, struct node *parent, const char *s, size_t n)
{
	struct node *t;

	if (n == 0)
		return;
	if (ps->t->kind == CW_TMPL_HTML)
		feed(&ps->h, s, n);
	t = add_node(parent, N_TEXT, 0);
	t->s = cw_strndup(s, n);
	t->len = n;
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
		} else if (is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')
			seg++;
		else
			return 0;
	}
	return seg > 0;
}

/* Parses up to the {{/open}} that closes a section (or the end when open is
 * NULL) into parent. */
static int
parse_block(struct parser *ps, struct node *parent, const char *open, int depth)
{
	for (;;) {
		const char *tag, *close, *in, *inend, *text_end, *next, *ls, *q;
		int sigil = 0, standalone = 0;
		char name[MAX_NAME + 1], shown[64];
		struct node *n;
		unsigned line;
		size_t len;

		tag = memmem(ps->p, (size_t)(ps->end - ps->p), "{{", 2);
		if (tag == NULL) {
			if (open != NULL)
				return cw_seterr(ps->e, "%s:%u: {{#%s}} is never closed",
				    ps->t->name, parent->line, open);
			add_text(ps, parent, ps->p, (size_t)(ps->end - ps->p));
			ps->p = ps->end;
			return 0;
		}
		line = line_at(ps, tag);
		close = memmem(tag + 2, (size_t)(ps->end - tag - 2), "}}", 2);
		if (close == NULL)
			return perr(ps, tag, "{{ without }}");
		in = tag + 2;
		if (in < close && strchr("#^/!{&>=", *in) != NULL)
			sigil = *in++;
		inend = close;
		while (in < inend && is_space(*in))
			in++;
		while (inend > in && is_space(inend[-1]))
			inend--;
		len = (size_t)(inend - in);
		snprintf(shown, sizeof(shown), "%.*s", len > 40 ? 40 : (int)len, in);
		if (sigil == '{' || sigil == '&')
			return perr(ps, tag, "{{%c}}: values are always escaped; write {{name}}",
			    sigil);
		if (sigil == '>' || sigil == '=')
			return perr(ps, tag, "{{%c}}: partials and delimiter changes are not "
			    "supported", sigil);
		if (sigil != '!' && !good_name(in, len))
			return perr(ps, tag, "bad tag name \"%s\"", shown);
		if (sigil != '!') {
			memcpy(name, in, len);
			name[len] = '\0';
		}

		/* A tag alone on its line takes the line with it. */
		text_end = tag;
		next = close + 2;
		if (sigil != 0) {
			for (ls = tag; ls > ps->src && (ls[-1] == ' ' || ls[-1] == '\t'); ls--)
				;
			for (q = next; q < ps->end && (*q == ' ' || *q == '\t'); q++)
				;
			if ((ls == ps->src || ls[-1] == '\n') && ls >= ps->p) {
				if (q == ps->end)
					standalone = 1;
				else if (*q == '\n')
					standalone = 1, q++;
				else if (*q == '\r' && q + 1 < ps->end && q[1] == '\n')
					standalone = 1, q += 2;
			}
			if (standalone) {
				text_end = ls;
				next = q;
			}
		}
		add_text(ps, parent, ps->p, (size_t)(text_end - ps->p));
		ps->p = next;

		switch (sigil) {
		case '!':
			break;
		case '/':
			if (open == NULL)
				return perr(ps, tag, "{{/%s}} closes nothing", name);
			if (strcmp(name, open) != 0)
				return perr(ps, tag, "{{/%s}} closes {{#%s}}", name, open);
			return 0;
		case '#':
		case '^':
			if (depth >= MAX_DEPTH)
				return perr(ps, tag, "sections nested deeper than %d", MAX_DEPTH);
			n = add_node(parent, sigil == '#' ? N_SECTION : N_INVERTED, line);
			n->s = cw_strdup(name);
			if (parse_block(ps, n, n->s, depth + 1) != 0)
				return -1;
			break;
		default:
			n = add_node(parent, N_VAR, line);
			n->s = cw_strdup(name);
			n->esc = ps->t->kind == CW_TMPL_TEXT ? ESC_NONE :
			    ps->t->kind == CW_TMPL_LINE ? ESC_LINE : ESC_HTML;
			if (ps->t->kind == CW_TMPL_HTML && html_esc(ps, tag, &n->esc) != 0)
				return -1;
			break;
		}
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
cw_tmpl_free(struct cw_tmpl *t)
{
	if (t == NULL)
		return;
	free_nodes(&t->root);
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

struct cw_tmpl *
cw_tmpl_parse(const char *src, size_t n, enum cw_tmpl_kind kind, const char *name,
    cw_err *e)
{
	struct cw_tmpl *t = cw_calloc(1, sizeof(*t));
	struct parser ps;
	size_t bad;

	t->name = cw_strdup(name);
	t->kind = kind;
	memset(&ps, 0, sizeof(ps));
	ps.t = t;
	ps.src = ps.p = ps.lp = src;
	ps.end = src + n;
	ps.line = 1;
	ps.e = e;
	ps.h.st = H_DATA;
	if ((bad = utf8_bad((const unsigned char *)src, n)) != n) {
		perr(&ps, src + bad, "not UTF-8");
		goto fail;
	}
	if (memchr(src, '\0', n) != NULL) {
		perr(&ps, (const char *)memchr(src, '\0', n), "a NUL byte");
		goto fail;
	}
	if (kind == CW_TMPL_LINE && (memchr(src, '\n', n) || memchr(src, '\r', n))) {
		cw_seterr(e, "%s: must be one line", name);
		goto fail;
	}
	if (parse_block(&ps, &t->root, NULL, 0) != 0)
		goto fail;
	return t;
fail:
	cw_tmpl_free(t);
	return NULL;
}

struct cw_tmpl *
cw_tmpl_load(const char *path, enum cw_tmpl_kind kind, cw_err *e)
{
	struct cw_tmpl *t;
	struct stat st;
	char *buf;
	ssize_t r;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return cw_seterr(e, "%s: %s", path, strerror(errno)), NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > MAX_TEMPLATE) {
		cw_seterr(e, "%s: %s", path, !S_ISREG(st.st_mode) ? "not a regular file" :
		    "larger than 1 MiB");
		close(fd);
		return NULL;
	}
	buf = cw_malloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	    (r = read(fd, buf + got, (size_t)st.st_size - got)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cw_seterr(e, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	t = cw_tmpl_parse(buf, got, kind, path, e);
	free(buf);
	return t;
}

/* The scope chain while rendering: the data, then each section's value. */
struct scope {
	const json_t *v[MAX_DEPTH + 2];
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

static void
html_escape(struct cw_buf *b, const char *s, size_t n)
{
	size_t run = 0;

	for (size_t i = 0; i < n; i++) {
		const char *rep;

		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '`': rep = "&#96;"; break;
		default: continue;
		}
		cw_buf_add(b, s + run, i - run);
		cw_buf_adds(b, rep);
		run = i + 1;
	}
	cw_buf_add(b, s + run, n - run);
}

char *
cw_url_safe(const char *url, int *changed)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *s = url, *end = url + strlen(url);
	size_t k;

	*changed = 0;
	/* Browsers drop these around a URL, and tabs and newlines inside it:
	 * "java\tscript:" is javascript:. */
	while (s < end && (unsigned char)*s <= 0x20)
		s++;
	while (end > s && (unsigned char)end[-1] <= 0x20)
		end--;
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c <= 0x20 || c == 0x7f)
			cw_buf_addf(&b, "%%%02X", c);
		else
			cw_buf_add(&b, s, 1);
	}
	if (b.data == NULL)
		return cw_strdup("");
	k = strcspn(b.data, ":/?#");
	if (b.data[k] == ':' && !listed(url_schemes, b.data, k)) {
		cw_buf_free(&b);
		*changed = 1;
		return cw_strdup("about:invalid");
	}
	return cw_buf_detach(&b);
}

static void
put_value(struct cw_tmpl *t, struct node *n, const json_t *v, struct cw_buf *out)
{
	char num[64], *safe;
	const char *s = "";
	size_t len, at;
	int changed;

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
	len = strlen(s);
	switch (n->esc) {
	case ESC_NONE:
		cw_buf_add(out, s, len);
		break;
	case ESC_HTML:
		html_escape(out, s, len);
		break;
	case ESC_URL:
		safe = cw_url_safe(s, &changed);
		if (changed && !n->warned) {
			/* The URL itself is not shown: it may carry a token. */
			warnx("%s:%u: {{%s}}: a URL with an unsafe scheme was replaced by "
			    "about:invalid", t->name, n->line, n->s);
			n->warned = 1;
		}
		html_escape(out, safe, strlen(safe));
		free(safe);
		break;
	case ESC_LINE:
		at = out->len;
		cw_buf_add(out, s, len);
		for (size_t i = at; i < out->len; i++)
			if ((unsigned char)out->data[i] < 0x20 || out->data[i] == 0x7f)
				out->data[i] = ' ';
		break;
	}
}

static void
render(struct cw_tmpl *t, struct node *kids, size_t nkids, struct scope *sc,
    struct cw_buf *out)
{
	for (size_t i = 0; i < nkids; i++) {
		struct node *n = &kids[i];
		const json_t *v, *item;
		size_t j;
		int found;

		if (n->kind == N_TEXT) {
			cw_buf_add(out, n->s, n->len);
			continue;
		}
		v = lookup(sc, n->s, &found);
		if (!found && !n->warned) {
			warnx("%s:%u: {{%s}}: no such field", t->name, n->line, n->s);
			n->warned = 1;
		}
		switch (n->kind) {
		case N_VAR:
			put_value(t, n, v, out);
			break;
		case N_INVERTED:
			if (!truthy(v))
				render(t, n->kids, n->nkids, sc, out);
			break;
		case N_SECTION:
			if (!truthy(v))
				break;
			if (json_is_array(v)) {
				json_array_foreach(v, j, item) {
					sc->v[sc->n++] = item;
					render(t, n->kids, n->nkids, sc, out);
					sc->n--;
				}
			} else {
				sc->v[sc->n++] = v;
				render(t, n->kids, n->nkids, sc, out);
				sc->n--;
			}
			break;
		}
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

static char *
in_dir(const char *dir, const char *file)
{
	char *p = cw_asprintf("%s/%s", dir, file), *real;

	if (access(p, R_OK) != 0) {
		int err = errno;

		free(p);
		errno = err;  /* for the caller's message */
		return NULL;
	}
	/* A tidy path for messages, without the "bin/.." of the lookup. */
	if ((real = realpath(p, NULL)) != NULL) {
		free(p);
		p = cw_strdup(real);
		free(real);
	}
	return p;
}

char *
cw_template_path(const char *file, cw_err *e)
{
	const char *env = getenv("CARTWATCH_TEMPLATES");
	char exe[PATH_MAX], *slash, *dir, *p;
	ssize_t n;

	if (env != NULL && *env != '\0') {
		if ((p = in_dir(env, file)) == NULL)
			cw_seterr(e, "%s/%s: %s (from $CARTWATCH_TEMPLATES)", env, file,
			    strerror(errno));
		return p;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
		dir = cw_asprintf("%s/../share/cartwatch/templates", exe);
		p = in_dir(dir, file);
		free(dir);
		if (p != NULL)
			return p;
		dir = cw_asprintf("%s/../templates", exe);
		p = in_dir(dir, file);
		free(dir);
		if (p != NULL)
			return p;
	}
	if ((p = in_dir(TEMPLATEDIR, file)) != NULL)
		return p;
	cw_seterr(e, "template %s not found in $CARTWATCH_TEMPLATES (unset), "
	    "%s/../share/cartwatch/templates, %s/../templates, nor %s", file,
	    n > 0 ? exe : "(program directory)", n > 0 ? exe : "(program directory)",
	    TEMPLATEDIR);
	return NULL;
}

struct cw_render {
	struct cw_tmpl *html, *text, *subject;
};

struct cw_render *
cw_render_new(const char *html_path, const char *text_path, const char *subject,
    cw_err *e)
{
	struct cw_render *r = cw_calloc(1, sizeof(*r));

	if ((r->html = cw_tmpl_load(html_path, CW_TMPL_HTML, e)) == NULL ||
	    (r->text = cw_tmpl_load(text_path, CW_TMPL_TEXT, e)) == NULL ||
	    (r->subject = cw_tmpl_parse(subject, strlen(subject), CW_TMPL_LINE,
	    "Cartwatch.Notify.Smtp.Template.Subject", e)) == NULL) {
		cw_render_free(r);
		return NULL;
	}
	return r;
}

/* A template file: the configured one, else the shipped one. Caller frees. */
static char *
template_file(struct cw_config *c, const char *key, const char *shipped, cw_err *e)
{
	const char *v = cw_config_str(c, key, NULL);

	if (v != NULL && *v != '\0')
		return cw_config_resolve(c, v);
	return cw_template_path(shipped, e);
}

struct cw_render *
cw_render_config(struct cw_config *c, cw_err *e)
{
	const char *subject = cw_config_str(c, "Cartwatch.Notify.Smtp.Template.Subject",
	    NULL);
	struct cw_render *r = NULL;
	char *html, *text = NULL;

	if (subject == NULL || *subject == '\0')
		subject = CW_SUBJECT_DEFAULT;
	if ((html = template_file(c, "Cartwatch.Notify.Smtp.Template.Html", "cart.html",
	    e)) != NULL && (text = template_file(c, "Cartwatch.Notify.Smtp.Template.Text",
	    "cart.txt", e)) != NULL)
		r = cw_render_new(html, text, subject, e);
	free(html);
	free(text);
	return r;
}

void
cw_render_free(struct cw_render *r)
{
	if (r == NULL)
		return;
	cw_tmpl_free(r->html);
	cw_tmpl_free(r->text);
	cw_tmpl_free(r->subject);
	free(r);
}

static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	while (is_space(*s))
		s++;
	return *s == '\0';
}

void
cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m)
{
	json_t *d = json_deep_copy(rec), *line, *img, *vps, *vp, *pick;
	size_t i, j, n;
	char *s, *a, *z;

	if (d == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	json_array_foreach(json_object_get(d, "orderDetails"), i, line) {
		img = json_object_get(line, "productImage");
		vps = json_object_get(img, "viewPortImages");
		/* An image without a URL is no image: <img src=""> fetches the page. */
		for (j = json_array_size(vps); j > 0; j--)
			if (blank(json_string_value(json_object_get(json_array_get(vps, j - 1),
			    "url"))))
				json_array_remove(vps, j - 1);
		if (json_is_array(vps) && json_array_size(vps) == 0) {
			json_object_set_new(line, "productImage", json_null());
			continue;
		}
		if ((n = json_array_size(vps)) == 0 || json_object_get(img, "defaultImage"))
			continue;
		pick = json_array_get(vps, n - 1);
		json_array_foreach(vps, j, vp)
			if (json_is_true(json_object_get(vp, "useForDefaultImageTag"))) {
				pick = vp;
				break;
			}
		json_object_set(img, "defaultImage", pick);
	}
	m->html = cw_tmpl_render(r->html, d);
	m->text = cw_tmpl_render(r->text, d);
	/* Blanks around the subject come from empty values: drop them. */
	s = cw_tmpl_render(r->subject, d);
	for (a = s; *a == ' '; a++)
		;
	for (z = a + strlen(a); z > a && z[-1] == ' '; z--)
		;
	m->subject = cw_strndup(a, (size_t)(z - a));
	free(s);
	json_decref(d);
}

void
cw_email_free(struct cw_email *m)
{
	free(m->subject);
	free(m->html);
	free(m->text);
	memset(m, 0, sizeof(*m));
}
