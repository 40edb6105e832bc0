/*
 * The template engine and its HTML-context checker (common/mail/render.c).
 * Input: a template, then NUL-separated values. Every template the checker
 * accepts is rendered with data built from the values, each string ending in
 * a canary; the output is read by an HTML tokenizer of our own, closer to the
 * HTML standard's than the checker's. Property: no canary (no value) inside
 * <script> or <style>, an on*, style or srcdoc attribute, or a URL attribute
 * whose scheme, entities decoded, is javascript:, data: or vbscript:. The same
 * template as a subject (LINE) must render without CR or LF.
 */
#include <ctype.h>
#include <strings.h>

#include <jansson.h>

#include "cw/mail/render.h"
#include "fuzz.h"

#define CANARY "zqxcanary"

static const char *const names[] = {
	"a", "b", "s", "url", "firstName", "returnToCartUrl", "orderDetails",
	"productImage", "viewPortImages", "defaultImage", "media", "altText",
	"productName", "language", "currency", "quantity", NULL
};
static const char *const url_attrs[] = {
	"href", "src", "srcset", "action", "formaction", "poster", "background",
	"cite", "longdesc", "usemap", "data", "codebase", "manifest", "ping",
	"xlink:href", "lowsrc", "dynsrc", "icon", "archive", "classid", NULL
};

/* The values take turns; "[" makes an array of two objects, "{" an object,
 * "!" false, "" an empty string (false too), anything else a string. */
static json_t *
scope(char **v, int nv, int depth)
{
	json_t *o = json_object();

	for (int i = 0; names[i] != NULL; i++) {
		const char *s = v[(i + depth * 5) % nv];
		json_t *x;

		if ((*s == '[' || *s == '{') && depth < 2) {
			x = *s == '{' ? scope(v, nv, depth + 1) : json_pack("[oo]",
			    scope(v, nv, depth + 1), scope(v, nv, depth + 2));
		} else if (strcmp(s, "!") == 0)
			x = json_false();
		else if (*s == '\0')
			x = json_string("");
		else {
			char *t = malloc(strlen(s) + sizeof(CANARY));

			strcpy(t, s);
			strcat(t, CANARY);
			x = json_string_nocheck(t);
			free(t);
		}
		json_object_set_new(o, names[i], x);
	}
	return o;
}

static int
listed(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* The scheme of an attribute value as a browser sees it: entities decoded,
 * blanks and controls around it dropped, tabs and newlines inside removed. */
static int
unsafe_url(const char *v, size_t n)
{
	static const char *const ents[][2] = {
		{"colon;", ":"}, {"tab;", "\t"}, {"newline;", "\n"}, {"amp;", "&"},
		{"sol;", "/"}, {"lpar;", "("}, {"nbsp;", " "}, {NULL, NULL}
	};
	char u[64];
	size_t k = 0;

	for (size_t i = 0; i < n && k < sizeof(u) - 1; i++) {
		int c = (unsigned char)v[i];

		if (c == '&' && i + 1 < n && v[i + 1] == '#') {
			int hex = i + 2 < n && (v[i + 2] | 0x20) == 'x';
			size_t j = i + 2 + (size_t)hex;
			long cp = 0;

			for (; j < n && (hex ? isxdigit((unsigned char)v[j]) :
			    isdigit((unsigned char)v[j])) && cp < 0x110000; j++)
				cp = cp * (hex ? 16 : 10) + (isdigit((unsigned char)v[j]) ?
				    v[j] - '0' : (v[j] | 0x20) - 'a' + 10);
			c = cp < 128 ? (int)cp : '?';
			i = j < n && v[j] == ';' ? j : j - 1;
		} else if (c == '&') {
			for (int e = 0; ents[e][0] != NULL; e++)
				if (strncasecmp(v + i + 1, ents[e][0], strlen(ents[e][0])) == 0 &&
				    i + 1 + strlen(ents[e][0]) <= n) {
					c = ents[e][1][0];
					i += strlen(ents[e][0]);
					break;
				}
		}
		if (c == '\t' || c == '\n' || c == '\r' || (k == 0 && c <= ' '))
			continue;
		u[k++] = (char)tolower(c);
	}
	u[k] = '\0';
	return strncmp(u, "javascript:", 11) == 0 || strncmp(u, "data:", 5) == 0 ||
	    strncmp(u, "vbscript:", 9) == 0;
}

static void
found(const char *out, size_t from, size_t to, const char *where)
{
	if (to > from && memmem(out + from, to - from, CANARY, strlen(CANARY)) != NULL)
		fuzz_fail("a value landed in %s: \"%.*s\"\n--- output:\n%s", where,
		    (int)(to - from > 300 ? 300 : to - from), out + from, out);
}

static void
attr_value(const char *out, const char *attr, size_t from, size_t to)
{
	if (strncmp(attr, "on", 2) == 0 || strcmp(attr, "style") == 0 ||
	    strcmp(attr, "srcdoc") == 0)
		found(out, from, to, "a script, style or srcdoc attribute");
	else if (listed(url_attrs, attr) && unsafe_url(out + from, to - from))
		found(out, from, to, "an unsafe URL");
}

static const char *const rawtext[] = {
	"xmp", "iframe", "noembed", "noframes", "noscript", "textarea", "title", NULL
};

enum {
	DATA, TAGOPEN, ENDOPEN, TAGNAME, BEFOREATTR, ATTR, AFTERATTR, BEFOREVAL,
	DQ, SQ, UNQ, AFTERVAL, SELFCLOSE, BOGUS, CSTART, CSTARTDASH, COMMENT,
	CENDDASH, CEND, CENDBANG, RAW, RAWLT, RAWEND, ESC, ESCDASH, ESCDASH2,
	ESCLT, ESCEND, DBLSTART, DBL, DBLDASH, DBLDASH2, DBLLT, DBLEND
};

/* The HTML standard's tokenizer, reduced to where text, attribute values and
 * raw text begin and end (script data with its escaped states included). */
static void
scan(const char *out, size_t n)
{
	int st = DATA, endtag = 0, ret = 0, script = 0, chk = 0;
	char tag[16] = "", attr[32] = "", buf[16] = "";
	size_t nt = 0, na = 0, nb = 0, vstart = 0, rstart = 0, lt = 0;

	for (size_t i = 0; i <= n; i++) {
		int c = i < n ? (unsigned char)out[i] : -1;
		int ws = c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
		int alpha = c != -1 && isalpha(c);
#define TO(s) do { st = (s); goto again; } while (0)
#define ADD(b, k, ch) do { if ((k) + 1 < sizeof(b)) { (b)[(k)++] = (char)tolower(ch); (b)[k] = '\0'; } } while (0)
again:
		if (c == -1 && (st >= RAW || st == DQ || st == SQ || st == UNQ))
			c = 0;  /* the end closes what is open, for the checks below */
		switch (st) {
		case DATA: if (c == '<') st = TAGOPEN; break;
		case TAGOPEN:
			if (c == '!') {
				if (i + 2 < n && out[i + 1] == '-' && out[i + 2] == '-')
					st = CSTART, i += 2;
				else
					st = BOGUS;
			} else if (c == '/') st = ENDOPEN;
			else if (alpha) { endtag = 0; nt = 0; tag[0] = '\0'; TO(TAGNAME); }
			else if (c == '?') st = BOGUS;
			else TO(DATA);
			break;
		case ENDOPEN:
			if (alpha) { endtag = 1; nt = 0; tag[0] = '\0'; TO(TAGNAME); }
			st = c == '>' ? DATA : BOGUS;
			break;
		case BOGUS: if (c == '>') st = DATA; break;
		case TAGNAME:
			if (ws) st = BEFOREATTR;
			else if (c == '/') st = SELFCLOSE;
			else if (c == '>') goto emit;
			else ADD(tag, nt, c);
			break;
		case BEFOREATTR:
			if (ws) break;
			if (c == '/' || c == '>') TO(AFTERATTR);
			na = 0; attr[0] = '\0';
			if (c == '=') { ADD(attr, na, c); st = ATTR; break; }
			TO(ATTR);
		case ATTR:
			if (ws || c == '/' || c == '>') TO(AFTERATTR);
			if (c == '=') st = BEFOREVAL;
			else ADD(attr, na, c);
			break;
		case AFTERATTR:
			if (ws) break;
			if (c == '/') st = SELFCLOSE;
			else if (c == '=') st = BEFOREVAL;
			else if (c == '>') goto emit;
			else { na = 0; attr[0] = '\0'; TO(ATTR); }
			break;
		case BEFOREVAL:
			vstart = i + 1;
			if (ws) break;
			if (c == '"') st = DQ;
			else if (c == '\'') st = SQ;
			else if (c == '>') goto emit;
			else { vstart = i; TO(UNQ); }
			break;
		case DQ: case SQ:
			if (c == (st == DQ ? '"' : '\'') || c == 0) {
				attr_value(out, attr, vstart, i);
				st = AFTERVAL;
			}
			break;
		case UNQ:
			if (ws || c == '>' || c == 0) {
				attr_value(out, attr, vstart, i);
				if (c == '>') goto emit;
				st = BEFOREATTR;
			}
			break;
		case AFTERVAL:
			if (ws) st = BEFOREATTR;
			else if (c == '/') st = SELFCLOSE;
			else if (c == '>') goto emit;
			else TO(BEFOREATTR);
			break;
		case SELFCLOSE:
			if (c == '>') goto emit;
			TO(BEFOREATTR);
		case CSTART: st = c == '-' ? CSTARTDASH : c == '>' ? DATA : COMMENT; break;
		case CSTARTDASH: st = c == '-' ? CEND : c == '>' ? DATA : COMMENT; break;
		case COMMENT: if (c == '-') st = CENDDASH; break;
		case CENDDASH: st = c == '-' ? CEND : COMMENT; break;
		case CEND: st = c == '>' ? DATA : c == '!' ? CENDBANG : c == '-' ? CEND : COMMENT; break;
		case CENDBANG: st = c == '-' ? CENDDASH : c == '>' ? DATA : COMMENT; break;
		/* Raw text: ret is the state an end tag that is not ours returns to. */
		case RAW: case ESC: case DBL:
			if (c == 0) {
				if (chk)
					found(out, rstart, i, "<script> or <style>");
				st = DATA;
				break;
			}
			if (c == '<') { lt = i; ret = st; st = st == DBL ? DBLLT : st == ESC ? ESCLT : RAWLT; }
			else if (c == '-' && st != RAW) st = st == ESC ? ESCDASH : DBLDASH;
			break;
		case RAWLT:
			if (c == '/') { nb = 0; buf[0] = '\0'; st = RAWEND; }
			else if (c == '!' && script && i + 2 < n && out[i + 1] == '-' &&
			    out[i + 2] == '-') { st = ESCDASH2; i += 2; }
			else TO(ret);
			break;
		case ESCDASH: case DBLDASH:
			if (c == '-') st = st == ESCDASH ? ESCDASH2 : DBLDASH2;
			else TO(st == ESCDASH ? ESC : DBL);
			break;
		case ESCDASH2: case DBLDASH2:
			if (c == '>') st = RAW;
			else if (c != '-') TO(st == ESCDASH2 ? ESC : DBL);
			break;
		case ESCLT:
			if (c == '/') { nb = 0; buf[0] = '\0'; st = ESCEND; }
			else if (alpha) { nb = 0; buf[0] = '\0'; TO(DBLSTART); }
			else TO(ESC);
			break;
		case RAWEND: case ESCEND:
			if (alpha) { ADD(buf, nb, c); break; }
			if ((ws || c == '/' || c == '>') && strcmp(buf, tag) == 0) {
				if (chk)
					found(out, rstart, lt, "<script> or <style>");
				endtag = 1;
				st = ws ? BEFOREATTR : c == '/' ? SELFCLOSE : DATA;
				tag[0] = '\0';
				break;
			}
			TO(ret);
		case DBLSTART: case DBLEND:
			if (alpha) { ADD(buf, nb, c); break; }
			if (ws || c == '/' || c == '>')
				st = strcmp(buf, "script") == 0 ? (st == DBLSTART ? DBL : ESC) :
				    (st == DBLSTART ? ESC : DBL);
			else TO(st == DBLSTART ? ESC : DBL);
			break;
		case DBLLT:
			if (c == '/') { nb = 0; buf[0] = '\0'; st = DBLEND; }
			else TO(DBL);
			break;
		}
		continue;
emit:
		st = DATA;
		if (endtag)
			continue;
		/* Elements whose content is raw text up to their end tag; only
		 * script has the escaped states, only script and style matter. */
		script = strcmp(tag, "script") == 0;
		chk = script || strcmp(tag, "style") == 0;
		if (chk || listed(rawtext, tag)) {
			st = RAW;
			rstart = i + 1;
		}
	}
}

static void
render(const char *src, size_t len, char **v, int nv)
{
	json_t *data = scope(v, nv, 0);
	struct cw_tmpl *t;
	cw_err e;
	char *out;

	if ((t = cw_tmpl_parse(src, len, CW_TMPL_HTML, "fuzz.html", &e)) != NULL) {
		out = cw_tmpl_render(t, data);
		scan(out, strlen(out));
		free(out);
		cw_tmpl_free(t);
	}
	if ((t = cw_tmpl_parse(src, len, CW_TMPL_LINE, "subject", &e)) != NULL) {
		out = cw_tmpl_render(t, data);
		if (strpbrk(out, "\r\n") != NULL)
			fuzz_fail("a subject with a line break: \"%s\"", out);
		free(out);
		cw_tmpl_free(t);
	}
	json_decref(data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static char *dflt[] = {"javascript:alert(1)", "[", "x", "{", "!", ""};
	char *s = fuzz_str(data, n), *v[16], *p;
	size_t len = strlen(s);
	int nv = 0;

	/* The canary must come from a value, never from the template. */
	if (memmem(s, len, CANARY, strlen(CANARY)) == NULL) {
		for (p = s + len + 1; p <= s + n && len < n && nv < 16; p += strlen(p) + 1)
			v[nv++] = p;
		if (nv == 0)
			render(s, len, dflt, 6);
		else
			render(s, len, v, nv);
	}
	free(s);
	return 0;
}
