/* render.c: a notification made into an email's subject, text and HTML, with the mustache engine and the HTML checker. */
#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/decimal.h"
#include "cw/core/file.h"
#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/mail/mime.h"
#include "cw/mail/money.h"
#include "cw/mail/mustache.h"
#include "cw/mail/render.h"

/* The Makefile passes PREFIX/share/cartwatch/templates. */
#ifndef TEMPLATEDIR
#define TEMPLATEDIR "/usr/local/share/cartwatch/templates"
#endif

#define MAX_TEMPLATE (1024L * 1024)
/* Language tags in template names: "zh-hant-tw" and more, not a sentence. */
#define LANG_MAX 36
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* The subject: values with control characters (CR, LF, tab...) turned into
 * spaces, so that none can end the header line. */
static const char *
line_write(struct cw_buf *out, int esc, const char *s, size_t n)
{
	size_t at = out->len;

	(void)esc;
	cw_buf_add(out, s, n);
	for (size_t i = at; i < out->len; i++)
		if ((unsigned char)out->data[i] < 0x20 || out->data[i] == 0x7f)
			out->data[i] = ' ';
	return NULL;
}

static const struct cw_mustache_lang line_lang = {
	.one_line = 1,
	.write = line_write,
};

struct cw_tmpl *
cw_tmpl_parse(const char *src, size_t n, enum cw_tmpl_kind kind, const char *name,
    cw_err *e)
{
	const struct cw_mustache_lang *lang = NULL;

	if (kind == CW_TMPL_HTML)
		lang = &cw_html_lang;
	else if (kind == CW_TMPL_LINE)
		lang = &line_lang;
	return cw_mustache_parse(src, n, lang, name, e);
}

struct cw_tmpl *
cw_tmpl_load(const char *path, enum cw_tmpl_kind kind, cw_err *e)
{
	struct cw_buf b = CW_BUF_INIT;
	struct cw_tmpl *t;
	int r;

	if ((r = cw_read_file(path, MAX_TEMPLATE, CW_FILE_REGULAR, &b, e)) != 0) {
		if (r == CW_FILE_TOO_BIG)
			cw_seterr(e, "%s: larger than 1 MiB", path);
		return NULL;
	}
	/* A subject's file ends its one line as any text file does. */
	if (kind == CW_TMPL_LINE && b.len > 0 && b.data[b.len - 1] == '\n')
		b.len -= b.len > 1 && b.data[b.len - 2] == '\r' ? 2 : 1;
	t = cw_tmpl_parse(b.data, b.len, kind, path, e);
	cw_buf_free(&b);
	return t;
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

enum { PART_HTML, PART_TEXT, PART_SUBJECT, NPARTS };

/* The templates of one language; a part it lacks is NULL, and is taken
 * from the next language of the chain (de-ch, de, the default). */
struct variant {
	char tag[LANG_MAX];  /* "de-ch"; "" for the default */
	struct cw_tmpl *part[NPARTS];
};

struct cw_render {
	struct variant *v;  /* v[0]: the default, every part set */
	size_t n;
	struct cw_money *money;
	char *store_name, *logo_url;
};

void
cw_render_free(struct cw_render *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		for (int k = 0; k < NPARTS; k++)
			cw_tmpl_free(r->v[i].part[k]);
	free(r->v);
	cw_money_free(r->money);
	free(r->store_name);
	free(r->logo_url);
	free(r);
}

/* Is t a language tag as template files are named: lower case, the
 * language in 2 or 3 letters, then subtags of 1 to 8 letters or digits,
 * each after a "-" ("de", "de-ch", "zh-hant-tw")? */
static int
valid_tag(const char *t)
{
	size_t n = strspn(t, LOWER);

	if (n < 2 || n > 3)
		return 0;
	for (t += n; *t == '-'; t += n) {
		n = strspn(++t, LOWER DIGITS);
		if (n < 1 || n > 8)
			return 0;
	}
	return *t == '\0';
}

/* A record's language as such a tag ("de_CH" -> "de-ch"); "" when it is
 * none, and only the default templates fit. */
static void
lang_tag(const char *lang, char tag[LANG_MAX])
{
	size_t i;

	for (i = 0; lang != NULL && lang[i] != '\0' && i < LANG_MAX - 1; i++)
		tag[i] = lang[i] == '_' ? '-' : (char)tolower((unsigned char)lang[i]);
	tag[i] = '\0';
	if ((lang != NULL && lang[i] != '\0') || !valid_tag(tag))
		*tag = '\0';
}

/* The variant for tag, made (empty) when new. */
static struct variant *
variant(struct cw_render *r, const char *tag)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].tag, tag) == 0)
			return &r->v[i];
	r->v = cw_realloc(r->v, (r->n + 1) * sizeof(*r->v));
	memset(&r->v[r->n], 0, sizeof(*r->v));
	snprintf(r->v[r->n].tag, sizeof(r->v[r->n].tag), "%s", tag);
	return &r->v[r->n++];
}
/* For DIR/STEM.EXT at path, every DIR/STEM.TAG.EXT whose TAG is a language
 * tag, loaded as part k of that language. Read all at the start, so that a
 * broken one is a configuration error before anything is sent. */
static int
load_variants(struct cw_render *r, const char *path, int k, enum cw_tmpl_kind kind,
    cw_err *e)
{
	const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
	const char *dot = strrchr(base, '.'), *ext = dot != NULL ? dot : "";
	size_t stem = dot != NULL ? (size_t)(dot - base) : strlen(base), xn = strlen(ext);
	char *dir = slash == NULL ? cw_strdup(".") :
	    cw_strndup(path, slash == path ? 1 : (size_t)(slash - path));
	char tag[LANG_MAX], *p;
	struct dirent *de;
	struct cw_tmpl *t;
	DIR *d = opendir(dir);
	int rc = 0;

	while (d != NULL && rc == 0 && (de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), tn = len - stem - 1 - xn;

		if (len <= stem + 1 + xn || tn >= LANG_MAX ||
		    strncmp(de->d_name, base, stem) != 0 || de->d_name[stem] != '.' ||
		    strcmp(de->d_name + len - xn, ext) != 0)
			continue;
		memcpy(tag, de->d_name + stem + 1, tn);
		tag[tn] = '\0';
		if (!valid_tag(tag))
			continue;
		p = cw_asprintf("%s/%s", dir, de->d_name);
		if ((t = cw_tmpl_load(p, kind, e)) == NULL)
			rc = -1;
		else
			variant(r, tag)->part[k] = t;
		free(p);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return rc;
}

/* Part k in every language: the file at path, or the shipped one named
 * shipped when path is NULL, as the default, and its variants beside it. */
static int
load_part(struct cw_render *r, const char *path, const char *shipped, int k,
    enum cw_tmpl_kind kind, cw_err *e)
{
	char *found = NULL;
	int rc = -1;

	if (path == NULL && (path = found = cw_template_path(shipped, e)) == NULL)
		return -1;
	if ((r->v[0].part[k] = cw_tmpl_load(path, kind, e)) != NULL)
		rc = load_variants(r, path, k, kind, e);
	free(found);
	return rc;
}

static char *
dup_set(const char *s)
{
	return s != NULL && *s != '\0' ? cw_strdup(s) : NULL;
}

struct cw_render *
cw_render_new(const struct cw_render_opts *o, cw_err *e)
{
	struct cw_render *r = cw_calloc(1, sizeof(*r));
	int rc;

	variant(r, "");
	r->money = cw_money_new();
	r->store_name = dup_set(o->store_name);
	r->logo_url = dup_set(o->logo_url);
	rc = load_part(r, o->html, "cart.html", PART_HTML, CW_TMPL_HTML, e);
	if (rc == 0)
		rc = load_part(r, o->text, "cart.txt", PART_TEXT, CW_TMPL_TEXT, e);
	/* A subject written in the configuration is every language's. */
	if (rc == 0 && o->subject != NULL)
		rc = (r->v[0].part[PART_SUBJECT] = cw_tmpl_parse(o->subject, strlen(o->subject),
		    CW_TMPL_LINE, o->subject_name != NULL ? o->subject_name : "subject",
		    e)) != NULL ? 0 : -1;
	else if (rc == 0)
		rc = load_part(r, o->subject_file, "cart.subject", PART_SUBJECT,
		    CW_TMPL_LINE, e);
	if (rc != 0) {
		cw_render_free(r);
		return NULL;
	}
	return r;
}

/* Part k for a customer whose language is tag: the first language of the
 * chain (de-ch, then de) that has it, else the default. */
static struct cw_tmpl *
pick(const struct cw_render *r, const char *tag, int k)
{
	char t[LANG_MAX], *dash;

	snprintf(t, sizeof(t), "%s", tag);
	while (*t != '\0') {
		for (size_t i = 1; i < r->n; i++)
			if (r->v[i].part[k] != NULL && strcmp(r->v[i].tag, t) == 0)
				return r->v[i].part[k];
		if ((dash = strrchr(t, '-')) == NULL)
			break;
		*dash = '\0';
	}
	return r->v[0].part[k];
}

static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		s++;
	return *s == '\0';
}

/* An order line's productImage as the templates see it: viewport images
 * without a URL dropped, none left making it null, and defaultImage added. */
static void
fix_image(json_t *line)
{
	json_t *img = json_object_get(line, "productImage"), *vps, *vp, *pick;
	size_t j, n;

	vps = json_object_get(img, "viewPortImages");
	/* An image without a URL is no image: <img src=""> fetches the page. */
	for (j = json_array_size(vps); j > 0; j--)
		if (blank(json_string_value(json_object_get(json_array_get(vps, j - 1),
		    "url"))))
			json_array_remove(vps, j - 1);
	if (json_is_array(vps) && json_array_size(vps) == 0) {
		json_object_set_new(line, "productImage", json_null());
		return;
	}
	if ((n = json_array_size(vps)) == 0 || json_object_get(img, "defaultImage"))
		return;
	pick = json_array_get(vps, n - 1);
	json_array_foreach(vps, j, vp)
		if (json_is_true(json_object_get(vp, "useForDefaultImageTag"))) {
			pick = vp;
			break;
		}
	json_object_set(img, "defaultImage", pick);
}

/* A shallow copy of what obj holds at key, put in its place: obj's own to
 * change from now on. Nothing when it is not an object or an array. */
static json_t *
own(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key), *c;

	if (!json_is_object(v) && !json_is_array(v))
		return NULL;
	if ((c = json_copy(v)) == NULL || json_object_set_new(obj, key, c) != 0)
		errx(CW_EXIT_FAIL, "out of memory");
	return c;
}

/*
 * What the templates see: rec with its order lines' images fixed. Only what
 * fix_image() may change is copied (the object, orderDetails, each line, its
 * productImage and viewPortImages), the rest shared with rec: a deep copy of
 * every record was a good part of a preview's CPU.
 */
static json_t *
view(const json_t *rec)
{
	json_t *d = json_copy((json_t *)rec), *lines, *line, *copy, *img;
	size_t i;

	/* as cw_malloc() does: allocation cannot fail */
	if (d == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	if (!json_is_object(d))
		return d;
	/* json_is_array() names its argument twice: own() is called once. */
	lines = own(d, "orderDetails");
	if (!json_is_array(lines))
		return d;
	json_array_foreach(lines, i, line) {
		if (!json_is_object(line))
			continue;
		if ((copy = json_copy(line)) == NULL || json_array_set_new(lines, i, copy) != 0)
			errx(CW_EXIT_FAIL, "out of memory");
		img = own(copy, "productImage");
		if (json_is_object(img))
			own(img, "viewPortImages");
		fix_image(copy);
	}
	return d;
}

/* obj[key]: amount (a decimal text, or NULL) as the customer's language
 * writes it, as money in cur, or a plain number when cur is NULL. What ICU
 * cannot format stays as the record has it (raw: "Not Specified"), with the
 * currency code after it; nothing at all is null. */
static void
set_number(struct cw_render *r, json_t *obj, const char *key, const char *lang,
    const char *cur, const char *amount, const json_t *raw)
{
	const char *had = json_string_value(raw) != NULL ? json_string_value(raw) : amount;
	char *s = NULL;

	if (amount != NULL)
		s = cw_money_format(r->money, lang, cur, amount, NULL);
	if (s == NULL && had != NULL)
		s = cur != NULL && *cur != '\0' && amount != NULL ?
		    cw_asprintf("%s %s", had, cur) : cw_strdup(had);
	json_object_set_new(obj, key, s != NULL ? json_string(s) : json_null());
	free(s);
}

/* An order line's quantity, unit price and line total for the customer
 * (formattedQuantity, formattedUnitPrice, formattedLineTotal); the line
 * added to sum. */
static void
line_money(struct cw_render *r, json_t *line, const char *lang, const char *cur,
    struct cw_sum *sum)
{
	const json_t *qv = json_object_get(line, "quantity");
	const json_t *pv = json_object_get(line, "unitPrice");
	char qb[CW_DECIMAL_MAX], pb[CW_DECIMAL_MAX], *total;
	const char *q = cw_decimal_text(qv, qb) == 0 ? qb : NULL;
	const char *p = cw_decimal_text(pv, pb) == 0 ? pb : NULL;
	struct cw_sum one = CW_SUM_INIT;

	set_number(r, line, "formattedQuantity", lang, NULL, q, qv);
	set_number(r, line, "formattedUnitPrice", lang, cur, p, pv);
	cw_sum_add(&one, q, p);
	cw_sum_add(sum, q, p);
	total = cw_sum_text(&one);
	set_number(r, line, "formattedLineTotal", lang, cur, total, NULL);
	free(total);
}

/* What the templates see beyond the record: the store, and every number
 * formatted for the customer's language in the channel's currency
 * (formattedSubtotal: null unless every line has a price and quantity). */
static void
dress(struct cw_render *r, json_t *d)
{
	const char *lang = json_string_value(json_object_get(d, "language"));
	const char *cur = json_string_value(json_object_get(d, "currency"));
	json_t *lines = json_object_get(d, "orderDetails"), *line;
	struct cw_sum sum = CW_SUM_INIT;
	char *subtotal;
	size_t i;

	json_object_set_new(d, "storeName", r->store_name != NULL ?
	    json_string(r->store_name) : json_null());
	json_object_set_new(d, "logoUrl", r->logo_url != NULL ?
	    json_string(r->logo_url) : json_null());
	/* No currency: the amounts as plain numbers, still the customer's. */
	if (cur != NULL && *cur == '\0')
		cur = NULL;
	json_array_foreach(lines, i, line)
		if (json_is_object(line))
			line_money(r, line, lang, cur, &sum);
		else
			sum.bad = 1;
	subtotal = json_array_size(lines) > 0 ? cw_sum_text(&sum) : NULL;
	set_number(r, d, "formattedSubtotal", lang, cur, subtotal, NULL);
	free(subtotal);
}

void
cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m)
{
	json_t *d = view(rec);
	char tag[LANG_MAX], *s, *a, *z;

	/* A record has it only with Cartwatch.Unsubscribe.Url: its absence is
	 * no template's mistake, and the section renders nothing. */
	if (json_object_get(d, "unsubscribeUrl") == NULL)
		json_object_set_new(d, "unsubscribeUrl", json_null());
	if (json_is_object(d))
		dress(r, d);
	lang_tag(json_string_value(json_object_get(d, "language")), tag);
	m->html = cw_tmpl_render(pick(r, tag, PART_HTML), d);
	m->text = cw_tmpl_render(pick(r, tag, PART_TEXT), d);
	/* Blanks around the subject come from empty values: drop them. */
	s = cw_tmpl_render(pick(r, tag, PART_SUBJECT), d);
	for (a = s; *a == ' '; a++)
		;
	for (z = a + strlen(a); z > a && z[-1] == ' '; z--)
		;
	m->subject = cw_strndup(a, (size_t)(z - a));
	free(s);
	json_decref(d);
}

char *
cw_render_warnings(struct cw_render *r)
{
	struct cw_buf b = CW_BUF_INIT;

	for (size_t i = 0; i < r->n; i++)
		for (int k = 0; k < NPARTS; k++) {
			char *w = r->v[i].part[k] != NULL ?
			    cw_tmpl_warnings(r->v[i].part[k]) : NULL;

			if (w != NULL)
				cw_buf_adds(&b, w);
			free(w);
		}
	return b.len > 0 ? cw_buf_detach(&b) : NULL;
}

int
cw_mime_notification(const struct cw_email *em, const json_t *rec, const char *from,
    time_t date, char **out, size_t *n, cw_err *e)
{
	const char *to = json_string_value(json_object_get(rec, "email"));
	const char *first = json_string_value(json_object_get(rec, "firstName"));
	const char *last = json_string_value(json_object_get(rec, "lastName"));
	struct cw_mime m;
	char *name;
	int r;

	if (to == NULL || *to == '\0')
		return cw_seterr(e, "the record has no email");
	name = cw_asprintf("%s%s%s", first ? first : "",
	    first && *first && last && *last ? " " : "", last ? last : "");
	/* A name is only shown: a line break in it is noise, not a reason to
	 * fail the email (an address with one is refused, though). */
	for (char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = to;
	m.to_name = name;
	m.subject = em->subject;
	m.text = em->text;
	m.html = em->html;
	m.id = json_string_value(json_object_get(rec, "notificationId"));
	m.language = json_string_value(json_object_get(rec, "language"));
	m.date = date;
	m.unsubscribe = json_string_value(json_object_get(rec, "unsubscribeUrl"));
	r = cw_mime_build(&m, out, n, e);
	free(name);
	return r;
}

void
cw_email_free(struct cw_email *m)
{
	free(m->subject);
	free(m->html);
	free(m->text);
	memset(m, 0, sizeof(*m));
}
