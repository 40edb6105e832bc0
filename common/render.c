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

/* How a value is written: as it is, or escaped for where it stands. */
enum {
	ESC_NONE,
	ESC_HTML,     /* text, a quoted attribute value, a URL after its scheme */
	ESC_COMMENT,  /* in a comment: "-" and "!" too, so that no value ends it */
	ESC_URL,      /* the start of a URL: its scheme is checked (cw_url_safe) */
	ESC_URLS,     /* inside a URL of a list (srcset, ping): blanks encoded too */
	ESC_LINE
};

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
	int quiet;          /* no warnings on stderr */
	struct node root;
};

/*
 * The HTML checker follows the template's literal text through the states of
 * the WHATWG HTML tokenizer (HTML Living Standard, section 13.2.5), so that it
 * knows, at each value and section tag, where a browser reading the rendered
 * page will be. The names are the standard's; states that differ only in what
 * they emit are merged. A value, once escaped for where it stands, cannot
 * change the state (it holds no "<", quote or "-" that counts), so the text
 * after it is read as if it were not there.
 */
enum {
	/* text (step_text) */
	H_DATA, H_RCDATA, H_RAWTEXT, H_PLAINTEXT, H_SCRIPT,
	/* "<" and the end tag that may follow in RCDATA, RAWTEXT and script data
	 * (escaped or not); h->text is the state they fall back to */
	H_TEXT_LT, H_TEXT_END_OPEN, H_TEXT_END_NAME,
	/* script data escaped and double escaped (step_script) */
	H_SCRIPT_ESC, H_SCRIPT_DESC, H_SCRIPT_ESC_START, H_SCRIPT_ESC_START_DASH, H_SCRIPT_ESC_DASH,
	H_SCRIPT_ESC_DASH_DASH, H_SCRIPT_DESC_START, H_SCRIPT_DESC_DASH,
	H_SCRIPT_DESC_DASH_DASH, H_SCRIPT_DESC_LT, H_SCRIPT_DESC_END,
	/* tags (step_tag); the self-closing start tag state is before-attribute-name's twin */
	H_TAG_OPEN, H_END_TAG_OPEN, H_TAG_NAME, H_BEFORE_ATTR, H_ATTR_NAME,
	H_AFTER_ATTR, H_BEFORE_VALUE, H_VALUE_DQ, H_VALUE_SQ, H_VALUE_UNQ,
	/* <!...> and <?...>: DOCTYPE and CDATA (outside SVG) end at the first
	 * ">" as a bogus comment does (step_comment) */
	H_MARKUP, H_MARKUP_DASH, H_BOGUS,
	H_COMMENT_START, H_COMMENT_START_DASH, H_COMMENT, H_COMMENT_LT,
	H_COMMENT_LT_BANG, H_COMMENT_LT_BANG_DASH, H_COMMENT_LT_BANG_DASH_DASH,
	H_COMMENT_END_DASH, H_COMMENT_END, H_COMMENT_END_BANG
};

/* What an attribute's value is. */
enum { A_PLAIN, A_EVENT, A_STYLE, A_SRCDOC, A_URL, A_URLS };

/* How far the URL parser has got in a URL attribute's value. */
enum {
	U_START,   /* nothing but blanks yet: a value here starts the URL */
	U_SCHEME,  /* letters that may still be a scheme */
	U_OPEN,    /* a value started the URL: a ":" after it may make a scheme */
	U_FIXED,   /* a safe scheme or a path: nothing after it changes that */
	U_DATA,    /* "data:": its media type is being read */
	U_OTHER    /* any other scheme: fine as written, but no value may follow */
};

/*
 * Everything the state depends on, and nothing else: a section must end in a
 * state equal to the one it began in (same_ctx()), so fields that no longer
 * matter are cleared on the way.
 */
struct html {
	int st;
	int text;          /* H_TEXT_* fall back to this text state */
	int end;           /* the tag is an end tag */
	char tag[16];      /* the tag's name, lower case; in text, the element's */
	char attr[64];     /* the attribute being read */
	char tmp[16];      /* an end tag's name in text; the word after "<" in script */
	int aclass;        /* A_*: the attribute's */
	int url;           /* U_*: A_URL and A_URLS only */
	char scheme[24];   /* U_SCHEME, U_OTHER: the scheme; U_DATA: the media type */
	char ref[40];      /* a character reference being read in a URL */
	int in_select;     /* a <select> is open: kept across tags (enter()) */
	int cond;          /* "[if" matched so far at a comment's start (3: all of
	                    * it, Outlook's conditional comment; -1: not it) */
};

struct parser {
	struct cw_tmpl *t;
	const char *src, *end, *p;
	const char *lp;      /* line counted up to here */
	unsigned line;
	const char *closed;  /* the last {{/name}} */
	struct html h;
	cw_err *e;
};

/* Attributes whose value the browser fetches or follows. */
static const char *const url_attrs[] = {
	"href", "src", "action", "formaction", "poster", "background", "cite",
	"longdesc", "usemap", "data", "codebase", "manifest", "xlink:href", "lowsrc",
	"dynsrc", "icon", "profile", "classid", "archive", "itemtype", "xml:base",
	"attributionsrc", NULL
};

/* ...and those that hold a list of URLs, split at blanks (and commas). */
static const char *const url_list_attrs[] = {
	"srcset", "imagesrcset", "ping", NULL
};

static const char *const url_schemes[] = {
	"http", "https", "mailto", "tel", "cid", NULL
};

/* The media types a literal data: URL may have: pictures that run nothing. */
static const char *const data_images[] = {
	"image/png", "image/gif", "image/jpeg", "image/jpg", "image/webp", NULL
};

/* Elements whose attributes load or run code, or change how the page is
 * read: no value in any of their attributes. */
static const char *const active_tags[] = {
	"script", "iframe", "frame", "frameset", "embed", "object", "applet", "param",
	"base", "link", "meta", "portal", NULL
};

/* Foreign content, parsed by other rules (CDATA sections, no raw text). */
static const char *const foreign_tags[] = { "svg", "math", NULL };

/* Start tags that end an open <select>. */
static const char *const select_closers[] = {
	"input", "keygen", "textarea", NULL
};

static const char *const rcdata_tags[] = { "title", "textarea", NULL };

static const char *const rawtext_tags[] = {
	"style", "xmp", "iframe", "noembed", "noframes", NULL
};

/* The named character references that can matter to a URL's scheme: those
 * of ":", "/", "?", "#", blanks the URL parser drops, and scheme letters. */
static const struct { const char *name, *text; } url_refs[] = {
	{ "colon", ":" }, { "sol", "/" }, { "quest", "?" }, { "num", "#" },
	{ "Tab", "\t" }, { "NewLine", "\n" }, { "period", "." }, { "plus", "+" },
	{ "fjlig", "fj" }, { "amp", "&" }, { "AMP", "&" }, { NULL, NULL }
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
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
listed(const char *const *list, const char *s, size_t n)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncasecmp(*list, s, n) == 0)
			return 1;
	return 0;
}

static int
in(const char *const *list, const char *s)
{
	return listed(list, s, strlen(s));
}

/* Appends c in lower case while there is room. A name cut short still starts
 * as it did (so "on..." stays an event handler) and never equals a shorter
 * name of the lists above. */
static void
add(char *buf, size_t cap, int c)
{
	size_t n = strlen(buf);

	if (n + 1 < cap) {
		buf[n] = (char)lower(c);
		buf[n + 1] = '\0';
	}
}

/* Enters st with nothing of before kept but what the tree builder holds:
 * the state after a tag or comment. */
static void
enter(struct html *h, int st)
{
	int in_select = h->in_select;

	memset(h, 0, sizeof(*h));
	h->st = st;
	h->in_select = in_select;
}

/* Enters st keeping only the tag's name, which ends the element's text. */
static void
enter_keeping_tag(struct html *h, int st)
{
	char tag[sizeof(h->tag)];

	memcpy(tag, h->tag, sizeof(tag));
	enter(h, st);
	memcpy(h->tag, tag, sizeof(tag));
}

/* RCDATA, RAWTEXT or script data, as a "<" there falls back to. */
static void
set_text(struct html *h, int st)
{
	h->st = h->text = st;
	h->tmp[0] = '\0';
}

static void
clear_attr(struct html *h)
{
	h->attr[0] = h->scheme[0] = h->ref[0] = '\0';
	h->aclass = A_PLAIN;
	h->url = U_START;
}

static int
is_comment(int st)
{
	return st >= H_COMMENT_START && st <= H_COMMENT_END_BANG;
}

/* The end of a tag: the tree builder switches the tokenizer for the text of
 * a few elements. */
static void
emit(struct html *h)
{
	int text = H_DATA;

	if (!h->end && in(rcdata_tags, h->tag))
		text = H_RCDATA;
	else if (!h->end && in(rawtext_tags, h->tag))
		text = H_RAWTEXT;
	else if (!h->end && strcmp(h->tag, "script") == 0)
		text = H_SCRIPT;
	else if (!h->end && strcmp(h->tag, "plaintext") == 0) {
		enter(h, H_PLAINTEXT);
		return;
	}
	if (text == H_DATA) {
		enter(h, H_DATA);
		return;
	}
	/* Its end tag must name it: keep the tag for the text that follows. */
	enter_keeping_tag(h, text);
	h->text = text;
}

/* Where h is, for messages. */
static const char *
ctx_name(const struct html *h, char *buf, size_t cap)
{
	switch (h->st) {
	case H_DATA:
		return h->in_select ? "text inside <select>" : "text";
	case H_PLAINTEXT:
		return "<plaintext>";
	case H_TAG_OPEN:
	case H_END_TAG_OPEN:
	case H_TAG_NAME:
		return "a tag name";
	case H_BEFORE_ATTR:
		return "a tag, between attributes";
	case H_ATTR_NAME:
	case H_AFTER_ATTR:
		return "an attribute name";
	case H_BEFORE_VALUE:
	case H_VALUE_UNQ:
		return "an unquoted attribute value";
	case H_VALUE_DQ:
	case H_VALUE_SQ:
		snprintf(buf, cap, "the \"%s\" attribute's value", h->attr);
		return buf;
	case H_MARKUP:
	case H_MARKUP_DASH:
	case H_BOGUS:
		return "a <!...> declaration";
	default:
		if (is_comment(h->st))
			return "a comment";
		snprintf(buf, cap, "<%s>", h->tag);
		return buf;
	}
}

static int
same_ctx(const struct html *a, const struct html *b)
{
	return a->st == b->st && a->text == b->text && a->end == b->end &&
	    a->aclass == b->aclass && a->url == b->url &&
	    strcmp(a->tag, b->tag) == 0 && strcmp(a->attr, b->attr) == 0 &&
	    strcmp(a->tmp, b->tmp) == 0 && strcmp(a->scheme, b->scheme) == 0 &&
	    strcmp(a->ref, b->ref) == 0 && a->cond == b->cond &&
	    a->in_select == b->in_select;
}

/* RCDATA, RAWTEXT, PLAINTEXT, script data and data, and the end tag that
 * ends the first three: "</" + the element's name + a blank, "/" or ">". */
static int
step_text(struct html *h, int c)
{
	switch (h->st) {
	case H_DATA:
		if (c == '<')
			h->st = H_TAG_OPEN;
		return 1;
	case H_PLAINTEXT:
		return 1;
	case H_RCDATA:
	case H_RAWTEXT:
	case H_SCRIPT:
		if (c == '<')
			h->st = H_TEXT_LT;
		return 1;
	case H_TEXT_LT:
		if (c == '/') {
			h->tmp[0] = '\0';
			h->st = H_TEXT_END_OPEN;
			return 1;
		}
		if (c == '!' && h->text == H_SCRIPT) {
			h->st = H_SCRIPT_ESC_START;
			return 1;
		}
		if (is_alpha(c) && h->text == H_SCRIPT_ESC) {
			h->tmp[0] = '\0';
			h->st = H_SCRIPT_DESC_START;
			return 0;
		}
		set_text(h, h->text);
		return 0;
	case H_TEXT_END_OPEN:
		if (is_alpha(c)) {
			h->st = H_TEXT_END_NAME;
			return 0;
		}
		set_text(h, h->text);
		return 0;
	default:  /* H_TEXT_END_NAME */
		if (is_alpha(c)) {
			add(h->tmp, sizeof(h->tmp), c);
			return 1;
		}
		if ((is_space(c) || c == '/' || c == '>') && strcmp(h->tmp, h->tag) == 0) {
			enter_keeping_tag(h, H_BEFORE_ATTR);
			h->end = 1;
			if (c == '>')
				emit(h);
			return 1;
		}
		/* "</scriptx", "</script1": text after all */
		set_text(h, h->text);
		return 0;
	}
}

/* <!-- in a script: an escaped script, in which a further <script> starts
 * a double-escaped part that its </script> only ends. */
static int
step_script(struct html *h, int c)
{
	switch (h->st) {
	case H_SCRIPT_ESC_START:
		if (c == '-') {
			h->st = H_SCRIPT_ESC_START_DASH;
			return 1;
		}
		set_text(h, H_SCRIPT);
		return 0;
	case H_SCRIPT_ESC_START_DASH:
		if (c == '-') {
			set_text(h, H_SCRIPT_ESC);
			h->st = H_SCRIPT_ESC_DASH_DASH;
			return 1;
		}
		set_text(h, H_SCRIPT);
		return 0;
	case H_SCRIPT_ESC:
	case H_SCRIPT_ESC_DASH:
	case H_SCRIPT_ESC_DASH_DASH:
		if (c == '-')
			h->st = h->st == H_SCRIPT_ESC ? H_SCRIPT_ESC_DASH : H_SCRIPT_ESC_DASH_DASH;
		else if (c == '<')
			h->st = H_TEXT_LT;
		else if (c == '>' && h->st == H_SCRIPT_ESC_DASH_DASH)
			set_text(h, H_SCRIPT);
		else
			h->st = H_SCRIPT_ESC;
		return 1;
	case H_SCRIPT_DESC_START:
	case H_SCRIPT_DESC_END:
		if (is_space(c) || c == '/' || c == '>') {
			int script = strcmp(h->tmp, "script") == 0;

			if (h->st == H_SCRIPT_DESC_START)
				set_text(h, script ? H_SCRIPT_DESC : H_SCRIPT_ESC);
			else
				set_text(h, script ? H_SCRIPT_ESC : H_SCRIPT_DESC);
			return 1;
		}
		if (is_alpha(c)) {
			add(h->tmp, sizeof(h->tmp), c);
			return 1;
		}
		set_text(h, h->st == H_SCRIPT_DESC_START ? H_SCRIPT_ESC : H_SCRIPT_DESC);
		return 0;
	case H_SCRIPT_DESC_LT:
		if (c == '/') {
			h->tmp[0] = '\0';
			h->st = H_SCRIPT_DESC_END;
			return 1;
		}
		h->st = H_SCRIPT_DESC;
		return 0;
	default:  /* H_SCRIPT_DESC, _DASH, _DASH_DASH */
		if (c == '-')
			h->st = h->st == H_SCRIPT_DESC ? H_SCRIPT_DESC_DASH :
			    H_SCRIPT_DESC_DASH_DASH;
		else if (c == '<')
			h->st = H_SCRIPT_DESC_LT;
		else if (c == '>' && h->st == H_SCRIPT_DESC_DASH_DASH)
			set_text(h, H_SCRIPT);
		else
			h->st = H_SCRIPT_DESC;
		return 1;
	}
}

/* <!, <!-, <?, bogus comments and comments. Comment ends that are parse
 * errors ("<!-->", "<!--->", "--!>") are refused: parsers have disagreed on
 * them, and a reader that misses one reads what follows as a comment. */
static int
step_comment(struct parser *ps, int c, const char *pos)
{
	struct html *h = &ps->h;

	switch (h->st) {
	case H_MARKUP:
	case H_MARKUP_DASH:
		if (c == '-') {
			if (h->st == H_MARKUP)
				h->st = H_MARKUP_DASH;
			else
				enter(h, H_COMMENT_START);
			return 1;
		}
		h->st = H_BOGUS;
		return 0;
	case H_BOGUS:
		if (c == '>')
			enter(h, H_DATA);
		return 1;
	case H_COMMENT_START:
	case H_COMMENT_START_DASH:
		if (c == '>')
			return perr(ps, pos, "\"%s\" ends a comment in HTML5 but not in every "
			    "reader: write \"<!-- -->\"", h->st == H_COMMENT_START ? "<!-->" :
			    "<!--->");
		if (c == '-' && h->st == H_COMMENT_START) {
			h->st = H_COMMENT_START_DASH;
			return 1;
		}
		h->st = c == '-' ? H_COMMENT_END : H_COMMENT;
		return c == '-';
	case H_COMMENT:
		if (c == '<')
			h->st = H_COMMENT_LT;
		else if (c == '-')
			h->st = H_COMMENT_END_DASH;
		return 1;
	case H_COMMENT_LT:
		if (c == '!')
			h->st = H_COMMENT_LT_BANG;
		else if (c != '<')
			h->st = H_COMMENT;
		return c == '!' || c == '<';
	case H_COMMENT_LT_BANG:
		h->st = c == '-' ? H_COMMENT_LT_BANG_DASH : H_COMMENT;
		return c == '-';
	case H_COMMENT_LT_BANG_DASH:
		h->st = c == '-' ? H_COMMENT_LT_BANG_DASH_DASH : H_COMMENT_END_DASH;
		return c == '-';
	case H_COMMENT_LT_BANG_DASH_DASH:
		h->st = H_COMMENT_END;
		return 0;
	case H_COMMENT_END_DASH:
		h->st = c == '-' ? H_COMMENT_END : H_COMMENT;
		return c == '-';
	case H_COMMENT_END:
		if (c == '>')
			enter(h, H_DATA);
		else if (c == '!')
			h->st = H_COMMENT_END_BANG;
		else if (c != '-') {
			h->st = H_COMMENT;
			return 0;
		}
		return 1;
	default:  /* H_COMMENT_END_BANG */
		if (c == '>')
			return perr(ps, pos, "\"--!>\" ends a comment in HTML5 but not in every "
			    "reader: write \"-->\"");
		h->st = c == '-' ? H_COMMENT_END_DASH : H_COMMENT;
		return c == '-';
	}
}

/* The end of a scheme in a URL attribute's literal text. */
static int
scheme_end(struct parser *ps, const char *pos)
{
	struct html *h = &ps->h;

	if (in(url_schemes, h->scheme)) {
		h->url = U_FIXED;
		h->scheme[0] = '\0';
	} else if (strcmp(h->scheme, "javascript") == 0 || strcmp(h->scheme, "vbscript") == 0)
		return perr(ps, pos, "a %s: URL in the \"%s\" attribute", h->scheme, h->attr);
	else if (strcmp(h->scheme, "data") == 0) {
		h->url = U_DATA;
		h->scheme[0] = '\0';
	} else
		h->url = U_OTHER;
	return 0;
}

/* The end of a data: URL's media type. */
static int
data_end(struct parser *ps, const char *pos)
{
	struct html *h = &ps->h;

	if (!in(data_images, h->scheme))
		return perr(ps, pos, "a data: URL in the \"%s\" attribute that is not a PNG, "
		    "GIF, JPEG or WebP picture", h->attr);
	snprintf(h->scheme, sizeof(h->scheme), "data");
	h->url = U_OTHER;
	return 0;
}

/* A character of a URL attribute's literal value, character references
 * decoded, as the URL parser takes it. */
static int
url_char(struct parser *ps, int c, const char *pos)
{
	struct html *h = &ps->h;

	/* A list is split before its URLs are parsed: a tab or newline there
	 * starts the next URL, it is not dropped. */
	if (h->aclass == A_URLS && (is_space(c) || c == ',')) {
		if (h->url == U_DATA && data_end(ps, pos) != 0)
			return -1;
		h->url = U_START;
		h->scheme[0] = '\0';
		return 0;
	}
	if (c == '\t' || c == '\n' || c == '\r')
		return 0;  /* dropped anywhere else: "java\tscript:" is javascript: */
	switch (h->url) {
	case U_START:
		if (c <= 0x20)
			break;  /* leading blanks and controls are dropped too */
		if (c == '/' || c == '?' || c == '#')
			h->url = U_FIXED;
		else if (c == ':')
			h->url = U_OTHER;
		else {
			h->url = U_SCHEME;
			add(h->scheme, sizeof(h->scheme), c);
		}
		break;
	case U_SCHEME:
		if (c == ':')
			return scheme_end(ps, pos);
		if (c == '/' || c == '?' || c == '#') {
			h->url = U_FIXED;
			h->scheme[0] = '\0';
		} else
			add(h->scheme, sizeof(h->scheme), c);
		break;
	case U_OPEN:
		if (c == ':')
			return perr(ps, pos, "\":\" after a value that starts the \"%s\" URL "
			    "would make the value a scheme", h->attr);
		if (c == '/' || c == '?' || c == '#')
			h->url = U_FIXED;
		break;
	case U_DATA:
		if (c == ';' || c == ',')
			return data_end(ps, pos);
		add(h->scheme, sizeof(h->scheme), c);
		break;
	default:
		break;
	}
	return 0;
}

static int
url_chars(struct parser *ps, const char *s, const char *pos)
{
	for (; *s != '\0'; s++)
		if (url_char(ps, (unsigned char)*s, pos) != 0)
			return -1;
	return 0;
}

/* The end of the character reference in h->ref: its character, or its text
 * when it is none. A character outside ASCII stands for itself as 0x80: it is
 * neither a blank nor a scheme's letter. */
static int
ref_end(struct parser *ps, const char *pos)
{
	struct html *h = &ps->h;
	char ref[sizeof(h->ref)];
	size_t n;

	memcpy(ref, h->ref, sizeof(ref));
	h->ref[0] = '\0';
	n = strlen(ref);
	if (ref[1] == '#') {
		int hex = ref[2] == 'x' || ref[2] == 'X';
		const char *d = ref + 2 + hex;

		if (hex ? is_xdigit(*d) : is_digit(*d)) {
			unsigned long cp = strtoul(d, NULL, hex ? 16 : 10);

			return url_char(ps, cp > 0 && cp < 0x80 ? (int)cp : 0x80, pos);
		}
	} else if (n > 2 && ref[n - 1] == ';') {
		for (size_t i = 0; url_refs[i].name != NULL; i++)
			if (strlen(url_refs[i].name) == n - 2 &&
			    strncmp(url_refs[i].name, ref + 1, n - 2) == 0)
				return url_chars(ps, url_refs[i].text, pos);
	}
	return url_chars(ps, ref, pos);
}

/* May c go on the character reference in ref (n characters so far)? */
static int
ref_goes_on(const char *ref, size_t n, int c)
{
	if (n == 1)
		return c == '#' || is_alpha(c) || is_digit(c);
	if (ref[1] != '#')
		return is_alpha(c) || is_digit(c);
	if (n == 2)
		return c == 'x' || c == 'X' || is_digit(c);
	return ref[2] == 'x' || ref[2] == 'X' ? is_xdigit(c) : is_digit(c);
}

/* A literal character of a URL attribute's value, before the tokenizer
 * decodes character references. */
static int
url_literal(struct parser *ps, int c, const char *pos)
{
	struct html *h = &ps->h;
	size_t n = strlen(h->ref);

	/* past a safe scheme or a path nothing matters, but in a list */
	if (h->url == U_FIXED && h->aclass == A_URL)
		return 0;
	if (n == 0) {
		if (c != '&')
			return url_char(ps, c, pos);
		h->ref[0] = '&';
		h->ref[1] = '\0';
		return 0;
	}
	if ((c == ';' || ref_goes_on(h->ref, n, c)) && n + 2 < sizeof(h->ref)) {
		h->ref[n] = (char)c;
		h->ref[n + 1] = '\0';
		return c == ';' ? ref_end(ps, pos) : 0;
	}
	if (ref_end(ps, pos) != 0)
		return -1;
	return url_literal(ps, c, pos);
}

static void
value_start(struct html *h)
{
	const char *a = h->attr;

	h->aclass = strncmp(a, "on", 2) == 0 ? A_EVENT : strcmp(a, "style") == 0 ?
	    A_STYLE : strcmp(a, "srcdoc") == 0 ? A_SRCDOC : in(url_list_attrs, a) ?
	    A_URLS : in(url_attrs, a) ? A_URL : A_PLAIN;
	h->url = U_START;
	h->st = H_BEFORE_VALUE;
}

static int
value_end(struct parser *ps, const char *pos)
{
	struct html *h = &ps->h;

	if (h->aclass == A_URL || h->aclass == A_URLS) {
		if (h->ref[0] != '\0' && ref_end(ps, pos) != 0)
			return -1;
		if (h->url == U_DATA && data_end(ps, pos) != 0)
			return -1;
	}
	clear_attr(h);
	h->st = H_BEFORE_ATTR;
	return 0;
}

/* A tag's name is read: refuse the elements whose content the checker
 * cannot follow, and keep track of <select>. */
static int
tag_named(struct parser *ps, const char *pos)
{
	struct html *h = &ps->h;

	if (h->end) {
		if (strcmp(h->tag, "select") == 0)
			h->in_select = 0;
		return 0;
	}
	if (in(foreign_tags, h->tag))
		return perr(ps, pos, "<%s> is not supported: SVG and MathML are read by "
		    "other rules", h->tag);
	if (strcmp(h->tag, "noscript") == 0)
		return perr(ps, pos, "<noscript> is not supported: it is read two ways, "
		    "with and without script");
	if (strcmp(h->tag, "frameset") == 0)
		return perr(ps, pos, "<frameset> is not supported: in it, parsers ignore "
		    "the tags that start raw text");
	if (h->in_select) {
		/* these close the <select>; "select" too */
		if (in(select_closers, h->tag))
			h->in_select = 0;
		else if (in(rcdata_tags, h->tag) || in(rawtext_tags, h->tag) ||
		    strcmp(h->tag, "plaintext") == 0)
			return perr(ps, pos, "<%s> inside <select>: some parsers ignore it "
			    "and read what follows as HTML, others as text", h->tag);
	}
	if (strcmp(h->tag, "select") == 0)
		h->in_select = !h->in_select;
	return 0;
}

static int
step_tag(struct parser *ps, int c, const char *pos)
{
	struct html *h = &ps->h;

	switch (h->st) {
	case H_TAG_OPEN:
	case H_END_TAG_OPEN:
		if (is_alpha(c)) {
			int end = h->st == H_END_TAG_OPEN;

			enter(h, H_TAG_NAME);
			h->end = end;
			return 0;
		}
		if (h->st == H_TAG_OPEN && (c == '!' || c == '/')) {
			h->st = c == '!' ? H_MARKUP : H_END_TAG_OPEN;
			return 1;
		}
		if (h->st == H_END_TAG_OPEN && c == '>') {
			enter(h, H_DATA);
			return 1;
		}
		if (h->st == H_END_TAG_OPEN || c == '?') {
			h->st = H_BOGUS;
			return 0;
		}
		enter(h, H_DATA);
		return 0;
	case H_TAG_NAME:
		if (is_space(c) || c == '/' || c == '>') {
			if (tag_named(ps, pos) != 0)
				return -1;
			if (c == '>')
				emit(h);
			else
				h->st = H_BEFORE_ATTR;
		} else
			add(h->tag, sizeof(h->tag), c);
		return 1;
	case H_BEFORE_ATTR:
		if (c == '>')
			emit(h);
		else if (!is_space(c) && c != '/') {
			h->st = H_ATTR_NAME;
			if (c != '=')
				return 0;
			add(h->attr, sizeof(h->attr), c);
		}
		return 1;
	case H_ATTR_NAME:
		if (is_space(c) || c == '/' || c == '>') {
			h->st = H_AFTER_ATTR;
			return 0;
		}
		if (c == '=')
			value_start(h);
		else
			add(h->attr, sizeof(h->attr), c);
		return 1;
	case H_AFTER_ATTR:
		if (c == '=')
			value_start(h);
		else if (c == '>')
			emit(h);
		else if (!is_space(c)) {
			clear_attr(h);
			h->st = c == '/' ? H_BEFORE_ATTR : H_ATTR_NAME;
			return c == '/';
		}
		return 1;
	case H_BEFORE_VALUE:
		if (c == '"' || c == '\'')
			h->st = c == '"' ? H_VALUE_DQ : H_VALUE_SQ;
		else if (c == '>')
			emit(h);
		else if (!is_space(c)) {
			h->st = H_VALUE_UNQ;
			return 0;
		}
		return 1;
	default:  /* H_VALUE_DQ, H_VALUE_SQ, H_VALUE_UNQ */
		if ((h->st == H_VALUE_DQ && c == '"') || (h->st == H_VALUE_SQ && c == '\'') ||
		    (h->st == H_VALUE_UNQ && (is_space(c) || c == '>'))) {
			if (value_end(ps, pos) != 0)
				return -1;
			if (c == '>')
				emit(h);
			return 1;
		}
		if ((h->aclass == A_URL || h->aclass == A_URLS) && url_literal(ps, c, pos) != 0)
			return -1;
		return 1;
	}
}

/* One character of literal text: 1 when it is consumed, 0 when the new state
 * reads it again (the standard's "reconsume"), -1 when it is refused. */
static int
step(struct parser *ps, int c, const char *pos)
{
	int st = ps->h.st;

	if (st <= H_TEXT_END_NAME)
		return step_text(&ps->h, c);
	if (st <= H_SCRIPT_DESC_END)
		return step_script(&ps->h, c);
	if (st <= H_VALUE_UNQ)
		return step_tag(ps, c, pos);
	return step_comment(ps, c, pos);
}

static int
feed(struct parser *ps, const char *s, size_t n)
{
	struct html *h = &ps->h;
	size_t i = 0;

	while (i < n) {
		int c = (unsigned char)s[i], was = is_comment(h->st), r;

		if ((r = step(ps, c, s + i)) < 0)
			return -1;
		if (r > 0) {
			if (was && is_comment(h->st) && h->cond >= 0 && h->cond < 3)
				h->cond = lower(c) == "[if"[h->cond] ? h->cond + 1 : -1;
			i++;
		}
	}
	return 0;
}

/* How a value in a URL attribute is written, if it may stand there. */
static int
url_esc(struct parser *ps, const char *pos, int *esc)
{
	struct html *h = &ps->h;

	if (h->ref[0] != '\0')
		return perr(ps, pos, "a value right after \"&\" in the \"%s\" URL could "
		    "complete a character reference", h->attr);
	switch (h->url) {
	case U_START:
		*esc = ESC_URL;
		h->url = U_OPEN;
		return 0;
	case U_FIXED:
		*esc = h->aclass == A_URLS ? ESC_URLS : ESC_HTML;
		return 0;
	case U_SCHEME:
		return perr(ps, pos, "a value in the \"%s\" URL must start it or follow "
		    "a scheme (https:) or a path (/, ?, #) written before it, not \"%s\"",
		    h->attr, h->scheme);
	case U_OPEN:
		return perr(ps, pos, "a second value in the \"%s\" URL: a value that starts "
		    "a URL must be its only one", h->attr);
	default:
		return perr(ps, pos, "a value in a %s: URL (the \"%s\" attribute): only "
		    "http, https, mailto, tel and cid URLs take values", h->url == U_DATA ?
		    "data" : h->scheme, h->attr);
	}
}

/* How a value in an attribute is written, if it may stand there. */
static int
attr_esc(struct parser *ps, const char *pos, int *esc)
{
	struct html *h = &ps->h;

	if (h->aclass == A_EVENT || h->aclass == A_STYLE)
		return perr(ps, pos, "a value may not stand in a \"%s\" attribute "
		    "(script or style)", h->attr);
	if (h->aclass == A_SRCDOC)
		return perr(ps, pos, "a value may not stand in a \"srcdoc\" attribute "
		    "(its value is HTML)");
	if (in(active_tags, h->tag))
		return perr(ps, pos, "a value may not stand in an attribute of <%s> "
		    "(it loads or runs code, or changes how the page is read)", h->tag);
	if (h->st != H_VALUE_DQ && h->st != H_VALUE_SQ)
		return perr(ps, pos, "a value in the \"%s\" attribute must be in quotes",
		    h->attr);
	if (h->aclass == A_URL || h->aclass == A_URLS)
		return url_esc(ps, pos, esc);
	*esc = ESC_HTML;
	return 0;
}

/* How a value at the parser's position in an HTML template is written. */
static int
html_esc(struct parser *ps, const char *pos, int *esc)
{
	struct html *h = &ps->h;

	*esc = ESC_HTML;
	switch (h->st) {
	case H_DATA:
	case H_RCDATA:
	case H_PLAINTEXT:
		return 0;
	case H_COMMENT:
		if (h->cond == 3)
			return perr(ps, pos, "a value may not stand in a conditional comment "
			    "(<!--[if ...]>): Outlook reads it as HTML");
		*esc = ESC_COMMENT;
		return 0;
	case H_BEFORE_VALUE:
	case H_VALUE_DQ:
	case H_VALUE_SQ:
	case H_VALUE_UNQ:
		return attr_esc(ps, pos, esc);
	case H_RAWTEXT:
	case H_SCRIPT:
	case H_SCRIPT_ESC:
	case H_SCRIPT_DESC:
		return perr(ps, pos, "a value may not stand inside <%s>", h->tag);
	default:
		if (is_comment(h->st))
			return perr(ps, pos, "a value in a comment may not follow \"<!--\", "
			    "\"<\", \"-\" or \"!\": put a blank before it");
		if (h->st <= H_SCRIPT_DESC_END)
			return perr(ps, pos, "a value may not stand inside <%s>%s", h->tag,
			    h->text == H_RCDATA ? " right after \"<\" or \"</\"" : "");
		return perr(ps, pos, "a value may stand only in text or inside a quoted "
		    "attribute value");
	}
}

/* A section tag may stand only where the HTML is text or a whole attribute,
 * or inside a quoted value, a comment or a script; never in a name. */
static int
section_at(struct parser *ps, const char *pos, int sigil, const char *name)
{
	struct html *h = &ps->h;
	char buf[96];

	switch (h->st) {
	case H_VALUE_DQ:
	case H_VALUE_SQ:
		if (h->aclass == A_SRCDOC)
			return perr(ps, pos, "{{%c%s}}: no tag may stand in a \"srcdoc\" "
			    "attribute (its value is HTML)", sigil, name);
		/* FALLTHROUGH */
	case H_DATA:
	case H_RCDATA:
	case H_RAWTEXT:
	case H_PLAINTEXT:
	case H_SCRIPT:
	case H_SCRIPT_ESC:
	case H_SCRIPT_DESC:
	case H_BEFORE_ATTR:
	case H_COMMENT:
		return 0;
	default:
		return perr(ps, pos, "{{%c%s}}: a section tag may not stand in %s", sigil,
		    name, ctx_name(h, buf, sizeof(buf)));
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

static int
add_text(struct parser *ps, struct node *parent, const char *s, size_t n)
{
	struct node *t;

	if (n == 0)
		return 0;
	if (ps->t->kind == CW_TMPL_HTML && feed(ps, s, n) != 0)
		return -1;
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
		} else if (is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-')
			seg++;
		else
			return 0;
	}
	return seg > 0;
}

static int
section_moved(struct parser *ps, int sigil, const char *name, unsigned line,
    const struct html *at_open)
{
	char a[96], b[96];
	const char *was = ctx_name(at_open, a, sizeof(a)), *is = ctx_name(&ps->h, b,
	    sizeof(b));

	if (strcmp(was, is) == 0)
		return perr(ps, ps->closed, "{{%c%s}} (line %u) does not end where it starts "
		    "(at another point of %s): the HTML after it would depend on %s", sigil,
		    name, line, was, name);
	return perr(ps, ps->closed, "{{%c%s}} (line %u) does not end where it starts "
	    "(in %s, then in %s): the HTML after it would depend on %s", sigil, name,
	    line, was, is, name);
}

/* Parses up to the {{/open}} that closes a section (or the end when open is
 * NULL) into parent. */
static int
parse_block(struct parser *ps, struct node *parent, const char *open, int depth)
{
	for (;;) {
		const char *tag, *close, *in, *inend, *text_end, *next, *ls, *q;
		int sigil = 0, standalone = 0, html = ps->t->kind == CW_TMPL_HTML;
		char name[MAX_NAME + 1], shown[64];
		struct html at_open;
		struct node *n;
		unsigned line;
		size_t len;

		tag = memmem(ps->p, (size_t)(ps->end - ps->p), "{{", 2);
		if (tag == NULL) {
			if (open != NULL)
				return cw_seterr(ps->e, "%s:%u: {{#%s}} is never closed",
				    ps->t->name, parent->line, open);
			if (add_text(ps, parent, ps->p, (size_t)(ps->end - ps->p)) != 0)
				return -1;
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
		if (add_text(ps, parent, ps->p, (size_t)(text_end - ps->p)) != 0)
			return -1;
		ps->p = next;

		switch (sigil) {
		case '!':
			break;
		case '/':
			if (open == NULL)
				return perr(ps, tag, "{{/%s}} closes nothing", name);
			if (strcmp(name, open) != 0)
				return perr(ps, tag, "{{/%s}} closes {{#%s}}", name, open);
			ps->closed = tag;
			if (html && section_at(ps, tag, '/', name) != 0)
				return -1;
			return 0;
		case '#':
		case '^':
			if (depth >= MAX_DEPTH)
				return perr(ps, tag, "sections nested deeper than %d", MAX_DEPTH);
			if (html && section_at(ps, tag, sigil, name) != 0)
				return -1;
			at_open = ps->h;
			n = add_node(parent, sigil == '#' ? N_SECTION : N_INVERTED, line);
			n->s = cw_strdup(name);
			if (parse_block(ps, n, n->s, depth + 1) != 0)
				return -1;
			/* Rendered 0, 1 or more times, it must leave the HTML as it found it. */
			if (html && !same_ctx(&at_open, &ps->h))
				return section_moved(ps, sigil, name, line, &at_open);
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

/* Escapes s for HTML text and quoted attribute values; in a comment (esc
 * ESC_COMMENT) "-" and "!" too, so that no value can end it. */
static void
html_escape(struct cw_buf *b, const char *s, size_t n, int esc)
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
		case '-': rep = esc == ESC_COMMENT ? "&#45;" : NULL; break;
		case '!': rep = esc == ESC_COMMENT ? "&#33;" : NULL; break;
		default: continue;
		}
		if (rep == NULL)
			continue;
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
	case ESC_COMMENT:
		html_escape(out, s, len, n->esc);
		break;
	case ESC_URLS:
		/* a blank would end this URL of the list and start another */
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c <= 0x20 || c == 0x7f)
				cw_buf_addf(out, "%%%02X", c);
			else
				html_escape(out, s + i, 1, ESC_HTML);
		}
		break;
	case ESC_URL:
		safe = cw_url_safe(s, &changed);
		if (changed && !n->warned && !t->quiet) {
			/* The URL itself is not shown: it may carry a token. */
			warnx("%s:%u: {{%s}}: a URL with an unsafe scheme was replaced by "
			    "about:invalid", t->name, n->line, n->s);
			n->warned = 1;
		}
		html_escape(out, safe, strlen(safe), ESC_HTML);
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
		if (!found && !n->warned && !t->quiet) {
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
