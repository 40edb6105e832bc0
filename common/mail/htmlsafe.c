/* htmlsafe.c: where a value stands in an HTML template, read as a browser reads it, and how it is escaped there. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/mail/mustache.h"

/* How a value is written: escaped for where it stands. */
enum {
	ESC_HTML,     /* text, a quoted attribute value, a URL after its scheme */
	ESC_COMMENT,  /* in a comment: "-" and "!" too, so that no value ends it */
	ESC_URL,      /* the start of a URL: its scheme is checked (cw_url_safe) */
	ESC_URLS      /* inside a URL of a list (srcset, ping): blanks encoded too */
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

/* A parse's state: where the tokenizer is, where each open section began,
 * and, when the template is refused, where and why. */
struct parser {
	struct html h;
	struct html open[CW_MUSTACHE_MAX_DEPTH];
	const char *at;
	cw_err *why;
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

static int perr(struct parser *, const char *, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(struct parser *ps, const char *pos, const char *fmt, ...)
{
	va_list ap;

	ps->at = pos;
	if (ps->why == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ps->why->msg, sizeof(ps->why->msg), fmt, ap);
	va_end(ap);
	return -1;
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

/* "<", "</" and the tag's name. */
static int
step_tag_open(struct parser *ps, int c, const char *pos)
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
	default:  /* H_TAG_NAME */
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
	}
}

/* A tag's attributes, up to its ">". */
static int
step_tag(struct parser *ps, int c, const char *pos)
{
	struct html *h = &ps->h;

	switch (h->st) {
	case H_TAG_OPEN:
	case H_END_TAG_OPEN:
	case H_TAG_NAME:
		return step_tag_open(ps, c, pos);
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

static int
section_moved(struct parser *ps, int sigil, const char *name, unsigned line,
    const struct html *at_open)
{
	char a[96], b[96];
	const char *was = ctx_name(at_open, a, sizeof(a)), *is = ctx_name(&ps->h, b,
	    sizeof(b));

	if (strcmp(was, is) == 0)
		return perr(ps, NULL, "{{%c%s}} (line %u) does not end where it starts "
		    "(at another point of %s): the HTML after it would depend on %s", sigil,
		    name, line, was, name);
	return perr(ps, NULL, "{{%c%s}} (line %u) does not end where it starts "
	    "(in %s, then in %s): the HTML after it would depend on %s", sigil, name,
	    line, was, is, name);
}

static void *
hs_begin(void)
{
	struct parser *ps = cw_calloc(1, sizeof(*ps));

	ps->h.st = H_DATA;
	return ps;
}

static void
hs_end(void *st)
{
	free(st);
}

static int
hs_text(void *st, const char *s, size_t n, const char **at, cw_err *why)
{
	struct parser *ps = st;

	ps->why = why;
	if (feed(ps, s, n) != 0) {
		*at = ps->at;
		return -1;
	}
	return 0;
}

static int
hs_value(void *st, int *esc, cw_err *why)
{
	struct parser *ps = st;

	ps->why = why;
	return html_esc(ps, NULL, esc);
}

static int
hs_open(void *st, int sigil, const char *name, int depth, cw_err *why)
{
	struct parser *ps = st;

	ps->why = why;
	if (section_at(ps, NULL, sigil, name) != 0)
		return -1;
	ps->open[depth] = ps->h;
	return 0;
}

/* Rendered 0, 1 or more times, a section must leave the HTML as it found it. */
static int
hs_close(void *st, int sigil, const char *name, unsigned line, int depth, cw_err *why)
{
	struct parser *ps = st;

	ps->why = why;
	if (section_at(ps, NULL, '/', name) != 0)
		return -1;
	if (!same_ctx(&ps->open[depth], &ps->h))
		return section_moved(ps, sigil, name, line, &ps->open[depth]);
	return 0;
}

void
cw_html_escape(struct cw_buf *b, const char *s, size_t n, int in_comment)
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
		case '-': rep = in_comment ? "&#45;" : NULL; break;
		case '!': rep = in_comment ? "&#33;" : NULL; break;
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

/* "%XX", as printf's "%%%02X" would write it. */
static void
percent(struct cw_buf *b, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char pc[3] = { '%', hex[c >> 4], hex[c & 15] };

	cw_buf_add(b, pc, 3);
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
	while (s < end) {
		unsigned char c = (unsigned char)*s;
		size_t run;

		/* Bytes that stay as they are, a run at a time (a call per byte
		 * showed in a preview's profile). */
		for (run = 0; s + run < end && (unsigned char)s[run] > 0x20 &&
		    s[run] != 0x7f; run++)
			;
		if (run > 0) {
			cw_buf_add(&b, s, run);
			s += run;
			continue;
		}
		if (c != '\t' && c != '\n' && c != '\r')
			percent(&b, c);
		s++;
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

static const char *
hs_write(struct cw_buf *out, int esc, const char *s, size_t n)
{
	char *safe;
	int changed;

	switch (esc) {
	case ESC_URLS:
		/* a blank would end this URL of the list and start another */
		for (size_t i = 0, run; i < n; i += run) {
			for (run = 0; i + run < n && (unsigned char)s[i + run] > 0x20 &&
			    s[i + run] != 0x7f; run++)
				;
			if (run > 0)
				cw_html_escape(out, s + i, run, 0);
			else {
				percent(out, (unsigned char)s[i]);
				run = 1;
			}
		}
		return NULL;
	case ESC_URL:
		safe = cw_url_safe(s, &changed);
		cw_html_escape(out, safe, strlen(safe), 0);
		free(safe);
		/* The URL itself is not told: it may carry a token. */
		return changed ? "a URL with an unsafe scheme was replaced by "
		    "about:invalid" : NULL;
	default:
		cw_html_escape(out, s, n, esc == ESC_COMMENT);
		return NULL;
	}
}

const struct cw_mustache_lang cw_html_lang = {
	.one_line = 0,
	.begin = hs_begin,
	.end = hs_end,
	.text = hs_text,
	.value = hs_value,
	.open = hs_open,
	.close = hs_close,
	.write = hs_write,
};
