/* preview.c: the preview provider: each notification rendered into files, and their index.html. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/dir.h"
#include "cw/core/file.h"
#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/mail/mime.h"
#include "cw/mail/preview.h"
#include "cw/mail/render.h"
#include "cw/net/email.h"

void
cw_preview_opts_config(struct cw_preview_opts *o, struct cw_config *c)
{
	const char *dir = cw_config_str(c, "Cartwatch.Notify.Preview.Dir");
	char *name, *addr;
	cw_err e;

	memset(o, 0, sizeof(*o));
	if (*dir == '\0') {
		cw_config_bad(c, "Cartwatch.Notify.Preview.Dir", "empty");
		dir = "preview";
	}
	o->dir = o->own = cw_config_resolve(c, dir);
	o->from = cw_config_str(c, "Cartwatch.Notify.Smtp.From");
	if (cw_mail_parse(o->from, &name, &addr, &e) != 0) {
		cw_config_bad(c, "Cartwatch.Notify.Smtp.From", "%s", e.msg);
		return;
	}
	free(name);
	free(addr);
}

void
cw_preview_opts_free(struct cw_preview_opts *o)
{
	free(o->own);
	memset(o, 0, sizeof(*o));
}

/* mkdir -p, 0700 for what it makes: previews hold names, addresses, carts. */
static int
make_dir(const char *dir, cw_err *e)
{
	if (*dir == '\0')
		return cw_seterr(e, "no preview directory");
	return cw_mkdir_p(dir, 0700, e);
}

/*
 * The directory, open, ours and 0700. One that group or others may read (made
 * by an older cartwatch, 0755, or by hand) is tightened rather than refused: a
 * run need not stop for it, and what is already in it is private from now on.
 * One of another user is refused: we could not keep others out of it.
 */
static int
open_dir(const char *dir, cw_err *e)
{
	struct stat st;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return cw_seterr(e, "%s: %s", dir, strerror(errno));
	if (fstat(fd, &st) == -1) {
		cw_seterr(e, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		cw_seterr(e, "%s: belongs to another user; previews hold personal data "
		    "and go only in a directory of our own", dir);
		goto fail;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) == -1) {
		cw_seterr(e, "%s: cannot make it private (chmod 700): %s", dir,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Writes name in the directory dfd through a temporary file, 0600 whatever the
 * umask, and rename(2): a reader never sees half a file. The temporary name is
 * made with O_EXCL and O_NOFOLLOW, so a link planted there is never followed.
 * No fsync: a preview is for looking at, nothing is owed if a crash loses it,
 * and a sync per file made it the slowest part of a preview run.
 */
static int
write_file(int dfd, const char *dir, const char *name, const char *data, size_t n,
    cw_err *e)
{
	static unsigned serial;
	char *tmp = NULL;
	int fd = -1, r = -1, tries;
	size_t off = 0;
	ssize_t w;

	for (tries = 0; fd == -1 && tries < 100; tries++) {
		free(tmp);
		tmp = cw_asprintf(".%s.%ld.%u", name, (long)getpid(), serial++);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		cw_seterr(e, "%s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < n) {
		if ((w = write(fd, data + off, n - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1)
		goto fail;
	r = 0;
	goto out;
fail:
	cw_seterr(e, "%s/%s: %s", dir, name, strerror(errno));
	if (fd != -1)
		close(fd);
	unlinkat(dfd, tmp, 0);
out:
	free(tmp);
	return r;
}

/* The id names files: nothing that could leave the directory or hide. */
static int
good_name(const char *id)
{
	size_t n = id != NULL ? strlen(id) : 0;

	return n > 0 && n <= 200 && id[0] != '.' && strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

#define INDEX "index.html"
/* The largest index.html read back: some two million rows. */
#define INDEX_MAX ((size_t)512 << 20)

void
cw_preview_rows_free(struct cw_preview_rows *rows)
{
	cw_buf_free(&rows->html);
	rows->n = 0;
}

/* A cell of s, HTML-escaped, each control character a space: a row is one
 * line, which is how the next run finds it in the page. */
static void
add_cell(struct cw_buf *b, const char *s)
{
	char *t = cw_strdup(s != NULL ? s : "");

	for (char *p = t; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	cw_buf_adds(b, "<td>");
	cw_html_escape(b, t, strlen(t), 0);
	cw_buf_adds(b, "</td>");
	free(t);
}

/* rec's row of index.html: To as the .eml has it, the subject, the step,
 * the language (which template), the links. id is a good_name(), safe in
 * an attribute and a URL as is. */
static void
add_row(struct cw_preview_rows *rows, const char *id, const json_t *rec,
    const char *subject)
{
	const char *first = json_string_value(json_object_get(rec, "firstName"));
	const char *last = json_string_value(json_object_get(rec, "lastName"));
	const char *email = json_string_value(json_object_get(rec, "email"));
	const json_t *step = json_object_get(rec, "step");
	char *name = cw_asprintf("%s%s%s", first ? first : "",
	    first && *first && last && *last ? " " : "", last ? last : "");
	char *to = *name != '\0' ? cw_asprintf("%s <%s>", name, email ? email : "") :
	    cw_strdup(email ? email : "");
	char *nth = json_is_integer(step) ? cw_asprintf("%" JSON_INTEGER_FORMAT,
	    json_integer_value(step)) : cw_strdup("");
	struct cw_buf *b = &rows->html;

	cw_buf_addf(b, "<tr id=\"%s\">", id);
	add_cell(b, to);
	add_cell(b, subject);
	add_cell(b, nth);
	add_cell(b, json_string_value(json_object_get(rec, "language")));
	cw_buf_addf(b, "<td><a href=\"%s.html\">HTML</a> <a href=\"%s.txt\">text</a> "
	    "<a href=\"%s.eml\">.eml</a></td></tr>\n", id, id, id);
	rows->n++;
	free(name);
	free(to);
	free(nth);
}

int
cw_preview_write(const struct cw_preview_opts *o, struct cw_render *r,
    const json_t *rec, time_t date, struct cw_preview_rows *rows, char **html_path,
    cw_err *e)
{
	const char *id = json_string_value(json_object_get(rec, "notificationId"));
	struct cw_email m = {NULL, NULL, NULL};
	char *msg = NULL, *name;
	size_t n;
	int rc = -1, dfd = -1;

	if (html_path != NULL)
		*html_path = NULL;
	if (!good_name(id))
		return cw_seterr(e, "notificationId \"%.60s\" cannot name a file "
		    "(letters, digits, '.', '_' and '-' only)", id ? id : "");
	cw_render_email(r, rec, &m);
	if (cw_mime_notification(&m, rec, o->from, date, &msg, &n, e) != 0 ||
	    make_dir(o->dir, e) != 0 || (dfd = open_dir(o->dir, e)) == -1)
		goto out;
	name = cw_asprintf("%s.eml", id);
	rc = write_file(dfd, o->dir, name, msg, n, e);
	free(name);
	if (rc != 0)
		goto out;
	name = cw_asprintf("%s.txt", id);
	rc = write_file(dfd, o->dir, name, m.text, strlen(m.text), e);
	free(name);
	if (rc != 0)
		goto out;
	/* The .html last: a reader waiting for it finds the others there too. */
	name = cw_asprintf("%s.html", id);
	rc = write_file(dfd, o->dir, name, m.html, strlen(m.html), e);
	free(name);
	if (rc == 0 && rows != NULL)
		add_row(rows, id, rec, m.subject);
	if (rc == 0 && html_path != NULL)
		*html_path = cw_asprintf("%s/%s.html", o->dir, id);
out:
	if (dfd != -1)
		close(dfd);
	free(msg);
	cw_email_free(&m);
	return rc;
}

/*
 * The id of a row of index.html, a line '<tr id="ID">...</tr>' as add_row()
 * writes it, into id (at least 201 bytes); 0 for any other line.
 */
static int
row_id(const char *line, size_t n, char *id)
{
	static const char open[] = "<tr id=\"", close[] = "</tr>";
	const char *p = line + sizeof(open) - 1, *q;

	if (n < sizeof(open) + sizeof(close) || strncmp(line, open, sizeof(open) - 1) != 0 ||
	    strncmp(line + n - (sizeof(close) - 1), close, sizeof(close) - 1) != 0 ||
	    (q = memchr(p, '"', n - (sizeof(open) - 1))) == NULL || q - p > 200)
		return 0;
	memcpy(id, p, (size_t)(q - p));
	id[q - p] = '\0';
	return good_name(id);
}

/*
 * Appends to body each row of text that is to be listed. With last 0, text
 * is index.html as it was: the rows whose id the new rows do not have and
 * whose ID.html is still there. With last 1, text is the new rows: each
 * id's last one (ids maps an id to its last new row's number). Returns how
 * many it appended.
 */
static size_t
keep_rows(int dfd, const char *text, json_t *ids, int last, struct cw_buf *body)
{
	char id[256], *file;
	const char *p, *eol;
	size_t n, kept = 0, no = 0;
	struct stat st;
	int keep;

	for (p = text; p != NULL && *p != '\0'; p = eol != NULL ? eol + 1 : p + n) {
		eol = strchr(p, '\n');
		n = eol != NULL ? (size_t)(eol - p) : strlen(p);
		if (!row_id(p, n, id))
			continue;
		if (last) {
			keep = json_integer_value(json_object_get(ids, id)) == (json_int_t)no++;
		} else {
			file = cw_asprintf("%s.html", id);
			keep = json_object_get(ids, id) == NULL &&
			    fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0;
			free(file);
		}
		if (keep) {
			cw_buf_add(body, p, n);
			cw_buf_adds(body, "\n");
			kept++;
		}
	}
	return kept;
}

/* index.html as it is, into b; b left empty when there is none yet. */
static int
read_index(int dfd, const char *dir, struct cw_buf *b, cw_err *e)
{
	struct stat st;
	char *path;
	int r;

	if (fstatat(dfd, INDEX, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : cw_seterr(e, "%s/%s: %s", dir, INDEX,
		    strerror(errno));
	path = cw_asprintf("%s/%s", dir, INDEX);
	r = cw_read_file(path, INDEX_MAX, CW_FILE_REGULAR, b, e);
	free(path);
	return r == 0 ? 0 : -1;
}

/* The page around the rows: no script, nothing fetched, styles inline. */
static void
add_page(struct cw_buf *page, const struct cw_buf *body, size_t n)
{
	cw_buf_adds(page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	    "style-src 'unsafe-inline'\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>cartwatch previews</title>\n<style>\n"
	    "body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }\n"
	    "table { border-collapse: collapse; width: 100%; }\n"
	    "th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #ddd; "
	    "vertical-align: top; overflow-wrap: anywhere; }\n"
	    "td a { margin-right: .6em; white-space: nowrap; }\n"
	    "</style>\n</head>\n<body>\n<h1>cartwatch previews</h1>\n");
	cw_buf_addf(page, "<p>%zu email%s, rendered and not sent; the newest last.</p>\n",
	    n, n == 1 ? "" : "s");
	cw_buf_adds(page, "<table>\n<thead><tr><th>To</th><th>Subject</th><th>Step</th>"
	    "<th>Language</th><th>Open</th></tr></thead>\n<tbody>\n");
	if (body->len > 0)
		cw_buf_add(page, body->data, body->len);
	cw_buf_adds(page, "</tbody>\n</table>\n</body>\n</html>\n");
}

int
cw_preview_index(const struct cw_preview_opts *o, struct cw_preview_rows *rows,
    cw_err *e)
{
	struct cw_buf old = CW_BUF_INIT, body = CW_BUF_INIT, page = CW_BUF_INIT;
	json_t *ids = json_object();
	char id[256];
	const char *p, *eol;
	size_t n, no = 0, listed;
	int dfd, rc = -1;

	if (rows->n == 0) {
		rc = 0;
		goto out;
	}
	/* Each id's last new row, by its number among them. */
	for (p = rows->html.data; p != NULL && *p != '\0'; p = eol + 1) {
		if ((eol = strchr(p, '\n')) == NULL)
			break;  /* add_row() ends every row */
		n = (size_t)(eol - p);
		if (row_id(p, n, id))
			json_object_set_new(ids, id, json_integer((json_int_t)no++));
	}
	if ((dfd = open_dir(o->dir, e)) == -1)
		goto out;
	/* Two writers of one directory take turns: each reads the other's rows. */
	if (flock(dfd, LOCK_EX) == -1)
		cw_seterr(e, "%s: flock: %s", o->dir, strerror(errno));
	else if (read_index(dfd, o->dir, &old, e) == 0) {
		listed = keep_rows(dfd, old.data, ids, 0, &body);
		listed += keep_rows(dfd, rows->html.data, ids, 1, &body);
		add_page(&page, &body, listed);
		rc = write_file(dfd, o->dir, INDEX, page.data, page.len, e);
	}
	close(dfd);  /* and the lock with it */
out:
	json_decref(ids);
	cw_buf_free(&old);
	cw_buf_free(&body);
	cw_buf_free(&page);
	cw_buf_reset(&rows->html);
	rows->n = 0;
	return rc;
}
