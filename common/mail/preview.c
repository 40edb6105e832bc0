/* preview.c: the preview provider: each notification rendered into files, sent nowhere. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/dir.h"
#include "cw/core/util.h"
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

int
cw_preview_write(const struct cw_preview_opts *o, struct cw_render *r,
    const json_t *rec, time_t date, char **html_path, cw_err *e)
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
	if (rc == 0 && html_path != NULL)
		*html_path = cw_asprintf("%s/%s.html", o->dir, id);
out:
	if (dfd != -1)
		close(dfd);
	free(msg);
	cw_email_free(&m);
	return rc;
}
