/* smtp_send.c: test driver: each notification on stdin rendered and sent by SMTP, or previewed. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/mail/mime.h"
#include "cw/mail/preview.h"
#include "cw/mail/render.h"
#include "cw/net/smtp.h"
#include "cw/notify/templates.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

/*
 * What cart-notify does for the smtp and preview providers, with one result
 * line per record: {"notificationId", "status": "sent" | "rejected" |
 * "transient" | "fatal" | "uncertain" | "previewed" | "failed", "code",
 * "attempts", "reply", "error", "path"}. The SMTP password comes from
 * $CW_TEST_SMTP_PASSWORD, for tests only: cart-notify reads it from the vault.
 */

static const char *const names[] = {"sent", "rejected", "transient", "fatal", "uncertain"};

struct ctx {
	struct cw_render *r;
	struct cw_smtp *smtp;
	struct cw_preview_opts po;
	const char *from;
	int preview;
	int failed;
};

static int
one(const struct cw_rec *rec, void *p)
{
	struct ctx *c = p;
	const char *id = json_string_value(json_object_get(rec->json, "notificationId"));
	const char *to = json_string_value(json_object_get(rec->json, "email"));
	json_t *out = json_pack("{s:s?}", "notificationId", id);
	struct cw_smtp_result res;
	struct cw_email m;
	char *msg = NULL, *path = NULL;
	size_t n;
	int rc = CW_REC_OK;
	cw_err e;

	if (c->preview) {
		if (cw_preview_write(&c->po, c->r, rec->json, time(NULL), NULL, &path, &e) == 0) {
			json_object_set_new(out, "status", json_string("previewed"));
			json_object_set_new(out, "path", json_string(path));
		} else {
			json_object_set_new(out, "status", json_string("failed"));
			json_object_set_new(out, "error", json_string(e.msg));
			c->failed = 1;
		}
		free(path);
		cw_warn_lines(cw_render_warnings(c->r));
		goto done;
	}
	cw_render_email(c->r, rec->json, &m);
	cw_warn_lines(cw_render_warnings(c->r));
	if (cw_mime_notification(&m, rec->json, c->from, time(NULL), &msg, &n, &e) != 0) {
		json_object_set_new(out, "status", json_string("failed"));
		json_object_set_new(out, "error", json_string(e.msg));
		c->failed = 1;
		cw_email_free(&m);
		goto done;
	}
	cw_email_free(&m);
	cw_smtp_send(c->smtp, to ? to : "", msg, n, &res, &e);
	free(msg);
	json_object_set_new(out, "status", json_string(names[res.status]));
	json_object_set_new(out, "code", json_integer(res.code));
	json_object_set_new(out, "attempts", json_integer(res.attempts));
	json_object_set_new(out, "reply", json_string(res.reply));
	if (res.status != CW_SMTP_SENT) {
		json_object_set_new(out, "error", json_string(e.msg));
		cw_rec_warn(rec, "%s", e.msg);
		c->failed = 1;
	}
	/* Every other message would fail the same way. */
	if (res.status == CW_SMTP_FATAL)
		rc = CW_REC_STOP;
done:
	cw_ewrite_json(stdout, out);
	json_decref(out);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"preview", no_argument, NULL, 'p'},
		{NULL, 0, NULL, 0}
	};
	struct cw_smtp_opts so;
	struct ctx c;
	struct cw_config *cfg;
	const char *path = NULL, *pw;
	int ch, code;
	cw_err e;

	memset(&c, 0, sizeof(c));
	while ((ch = getopt_long(argc, argv, "c:p", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'p':
			c.preview = 1;
			break;
		default:
			fprintf(stderr, "usage: %s [-c FILE] [--preview]\n",
			    program_invocation_short_name);
			return CW_EXIT_USAGE;
		}
	}
	cw_output_init();
	cfg = cw_etool_config(path, 0);
	cw_smtp_opts_default(&so);
	if (c.preview)
		cw_preview_opts_config(&c.po, cfg);
	else
		cw_smtp_opts_config(&so, cfg);
	c.r = cw_templates_config(cfg, &e);
	if (c.r == NULL)
		warnx("%s", e.msg);
	cw_warn_lines(cw_config_take_said(cfg));
	if (c.r == NULL || cw_config_errors(cfg) != 0) {
		cw_render_free(c.r);
		cw_smtp_opts_free(&so);
		cw_preview_opts_free(&c.po);
		cw_config_free(cfg);
		return CW_EXIT_USAGE;
	}
	if (!c.preview) {
		c.from = so.from;
		pw = so.user != NULL && *so.user != '\0' ? getenv("CW_TEST_SMTP_PASSWORD") : NULL;
		if ((c.smtp = cw_smtp_new(&so, pw, &e)) == NULL)
			errx(CW_EXIT_USAGE, "%s", e.msg);
	}
	code = cw_ndjson_loop(stdin, "<stdin>", one, &c, NULL);
	cw_smtp_free(c.smtp);
	cw_render_free(c.r);
	cw_smtp_opts_free(&so);
	cw_preview_opts_free(&c.po);
	cw_config_free(cfg);
	cw_eoutput_finish();
	return c.failed ? CW_EXIT_FAIL : code;
}
