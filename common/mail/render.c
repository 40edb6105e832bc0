/* render.c: a notification made into an email's subject, text and HTML, with the mustache engine and the HTML checker. */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/file.h"
#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/mail/mime.h"
#include "cw/mail/mustache.h"
#include "cw/mail/render.h"

/* The Makefile passes PREFIX/share/cartwatch/templates. */
#ifndef TEMPLATEDIR
#define TEMPLATEDIR "/usr/local/share/cartwatch/templates"
#endif

#define MAX_TEMPLATE (1024L * 1024)

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

struct cw_render {
	struct cw_tmpl *html, *text, *subject;
};

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

/* The template at path, or the shipped file of that name when path is NULL. */
static struct cw_tmpl *
load(const char *path, const char *shipped, enum cw_tmpl_kind kind, cw_err *e)
{
	struct cw_tmpl *t = NULL;
	char *found = NULL;

	if (path != NULL || (path = found = cw_template_path(shipped, e)) != NULL)
		t = cw_tmpl_load(path, kind, e);
	free(found);
	return t;
}

struct cw_render *
cw_render_new(const struct cw_render_opts *o, cw_err *e)
{
	struct cw_render *r = cw_calloc(1, sizeof(*r));
	const char *subject = o->subject != NULL ? o->subject : CW_SUBJECT_DEFAULT;

	if ((r->html = load(o->html, "cart.html", CW_TMPL_HTML, e)) == NULL ||
	    (r->text = load(o->text, "cart.txt", CW_TMPL_TEXT, e)) == NULL ||
	    (r->subject = cw_tmpl_parse(subject, strlen(subject), CW_TMPL_LINE,
	    o->subject_name != NULL ? o->subject_name : "subject", e)) == NULL) {
		cw_render_free(r);
		return NULL;
	}
	return r;
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

void
cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m)
{
	json_t *d = view(rec);
	char *s, *a, *z;

	/* A record has it only with Cartwatch.Unsubscribe.Url: its absence is
	 * no template's mistake, and the section renders nothing. */
	if (json_object_get(d, "unsubscribeUrl") == NULL)
		json_object_set_new(d, "unsubscribeUrl", json_null());
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

char *
cw_render_warnings(struct cw_render *r)
{
	struct cw_tmpl *t[3] = { r->html, r->text, r->subject };
	struct cw_buf b = CW_BUF_INIT;

	for (size_t i = 0; i < 3; i++) {
		char *w = cw_tmpl_warnings(t[i]);

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
