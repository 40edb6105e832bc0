/* render.c: a notification made into an email's subject, text and HTML, with the mustache engine and the HTML checker. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/config.h"
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
	const char *v = cw_config_str(c, key);

	if (v != NULL && *v != '\0')
		return cw_config_resolve(c, v);
	return cw_template_path(shipped, e);
}

struct cw_render *
cw_render_config(struct cw_config *c, cw_err *e)
{
	const char *subject = cw_config_str(c, "Cartwatch.Notify.Smtp.Template.Subject");
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

void
cw_render_email(struct cw_render *r, const json_t *rec, struct cw_email *m)
{
	json_t *d = json_deep_copy(rec), *line;
	size_t i;
	char *s, *a, *z;

	/* as cw_malloc() does: allocation cannot fail */
	if (d == NULL)
		errx(CW_EXIT_FAIL, "out of memory");
	json_array_foreach(json_object_get(d, "orderDetails"), i, line)
		fix_image(line);
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
