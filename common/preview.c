/* preview.c: the preview provider: each notification rendered into files, sent nowhere. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/config.h"
#include "cw/mime.h"
#include "cw/preview.h"
#include "cw/render.h"
#include "cw/util.h"

void
cw_preview_opts_config(struct cw_preview_opts *o, struct cw_config *c)
{
	const char *dir = cw_config_str(c, "Cartwatch.Notify.Preview.Dir", "preview");
	char *name, *addr;
	cw_err e;

	memset(o, 0, sizeof(*o));
	if (*dir == '\0') {
		cw_config_bad(c, "Cartwatch.Notify.Preview.Dir", "empty");
		dir = "preview";
	}
	o->dir = o->own = cw_config_resolve(c, dir);
	o->from = cw_config_str(c, "Cartwatch.Notify.Smtp.From", "cartwatch@localhost");
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

/* mkdir -p, 0755 for what it makes. */
static int
make_dir(const char *dir, cw_err *e)
{
	char *p, *s;
	int r = 0;

	if (*dir == '\0')
		return cw_seterr(e, "no preview directory");
	p = cw_strdup(dir);
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char save = *s;

			*s = '\0';
			if (mkdir(p, 0755) == -1 && errno != EEXIST) {
				r = cw_seterr(e, "%s: %s", p, strerror(errno));
				break;
			}
			*s = save;
		}
		if (*s == '\0')
			break;
	}
	free(p);
	return r;
}

/* Writes dir/name through a temporary file and rename(2). */
static int
write_file(const char *dir, const char *name, const char *data, size_t n, cw_err *e)
{
	char *path = cw_asprintf("%s/%s", dir, name);
	char *tmp = cw_asprintf("%s/.%s.XXXXXX", dir, name);
	int fd, r = -1;
	size_t off = 0;
	ssize_t w;

	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		cw_seterr(e, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	/* mkstemp makes 0600; a preview is for anyone who may read the directory. */
	if (fchmod(fd, 0644) == -1)
		goto fail;
	while (off < n) {
		if ((w = write(fd, data + off, n - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	r = 0;
	goto out;
fail:
	cw_seterr(e, "%s: %s", path, strerror(errno));
	if (fd != -1)
		close(fd);
	unlink(tmp);
out:
	free(path);
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

int
cw_preview_write(const struct cw_preview_opts *o, struct cw_render *r,
    const json_t *rec, time_t date, char **html_path, cw_err *e)
{
	const char *id = json_string_value(json_object_get(rec, "notificationId"));
	struct cw_email m = {NULL, NULL, NULL};
	char *msg = NULL, *name;
	size_t n;
	int rc = -1;

	if (html_path != NULL)
		*html_path = NULL;
	if (!good_name(id))
		return cw_seterr(e, "notificationId \"%.60s\" cannot name a file "
		    "(letters, digits, '.', '_' and '-' only)", id ? id : "");
	cw_render_email(r, rec, &m);
	if (cw_mime_notification(&m, rec, o->from, date, &msg, &n, e) != 0 ||
	    make_dir(o->dir, e) != 0)
		goto out;
	name = cw_asprintf("%s.eml", id);
	rc = write_file(o->dir, name, msg, n, e);
	free(name);
	if (rc != 0)
		goto out;
	name = cw_asprintf("%s.txt", id);
	rc = write_file(o->dir, name, m.text, strlen(m.text), e);
	free(name);
	if (rc != 0)
		goto out;
	/* The .html last: a reader waiting for it finds the others there too. */
	name = cw_asprintf("%s.html", id);
	rc = write_file(o->dir, name, m.html, strlen(m.html), e);
	free(name);
	if (rc == 0 && html_path != NULL)
		*html_path = cw_asprintf("%s/%s.html", o->dir, id);
out:
	free(msg);
	cw_email_free(&m);
	return rc;
}
