/* tool.c: the parts of main() every tool shares: --help, --version, config, messages. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw/core/config.h"
#include "cw/core/util.h"
#include "cw/core/version.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

#define MSGMAX 2048  /* bytes of a message before escaping */

void
cw_print_version(void)
{
	printf("%s (cartwatch) %s\n", program_invocation_short_name, CW_VERSION);
}

static int
help_width(const struct cw_help *h)
{
	int width = 0;

	for (; h != NULL && h->opt != NULL; h++)
		if ((int)strlen(h->opt) > width)
			width = (int)strlen(h->opt);
	return width;
}

void
cw_print_help(FILE *f, const struct cw_help *cmds, const struct cw_help *opts)
{
	int width = help_width(cmds) > help_width(opts) ? help_width(cmds) : help_width(opts);

	if (cmds != NULL)
		fprintf(f, "\ncommands:\n");
	for (const struct cw_help *h = cmds; h != NULL && h->opt != NULL; h++)
		fprintf(f, "  %-*s  %s\n", width, h->opt, h->text);
	fprintf(f, "\noptions:\n");
	for (const struct cw_help *h = opts; h->opt != NULL; h++)
		fprintf(f, "  %-*s  %s\n", width, h->opt, h->text);
	fprintf(f, "\nSee %s(1).\n", program_invocation_short_name);
}

struct cw_config *
cw_etool_config(const char *path, int optional)
{
	struct cw_tool t = {0};
	cw_err e;

	if (cw_tool_load(&t, path, optional, &e) != 0)
		cw_errx(CW_EXIT_USAGE, "%s", e.msg);
	return t.cfg;
}

int
cw_tool_load(struct cw_tool *t, const char *path, int optional, cw_err *e)
{
	const char *file = cw_config_default_path(path);

	if (optional && path == NULL && access(file, F_OK) == -1 && errno == ENOENT) {
		t->cfg = cw_config_empty();
		return 0;
	}
	if ((t->cfg = cw_config_load(file, e)) == NULL)
		return CW_ERR_CONFIG;
	return 0;
}

int
cw_tool_check(struct cw_tool *t, cw_err *e)
{
	cw_http_opts_default(&t->ho);
	cw_http_opts_config(&t->ho, t->cfg);
	cw_warn_lines(cw_config_take_said(t->cfg));
	if (cw_config_errors(t->cfg) != 0) {
		e->msg[0] = '\0';
		return CW_ERR_CONFIG;
	}
	return 0;
}

int
cw_tool_start(struct cw_tool *t, cw_err *e)
{
	cw_output_init();
	t->started = 1;
	t->http = cw_http_new(&t->ho);
	if (t->vault_url != NULL)
		return cw_vault_open(t->vault_url, t->http, &t->vault, e);
	return 0;
}

int
cw_tool_exit(int kind, const cw_err *e)
{
	if (e->msg[0] != '\0')
		cw_warnx("%s", e->msg);
	return kind == CW_ERR_CONFIG ? CW_EXIT_USAGE : CW_EXIT_FAIL;
}

int
cw_tool_finish(struct cw_tool *t, int code)
{
	if (t->started && cw_output_check() != 0)
		code = CW_EXIT_FAIL;
	cw_vault_close(t->vault);
	cw_http_free(t->http);
	free(t->vault_url);
	if (t->cfg != NULL)  /* what was found after the check */
		cw_warn_lines(cw_config_take_said(t->cfg));
	cw_config_free(t->cfg);
	memset(t, 0, sizeof(*t));
	return code;
}

long long
cw_eopt_int(const char *opt, const char *arg, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
		cw_errx(CW_EXIT_USAGE, "%s: expected a whole number from %lld to %lld, not \"%s\"",
		    opt, min, max, arg);
	return v;
}

/*
 * The code point of the UTF-8 sequence at s (at most n bytes) and its length,
 * or 0 when it is not well-formed UTF-8 (overlong, a surrogate, past U+10FFFF,
 * cut short): RFC 3629's table, not the lax decoders that let \xC0\x8A be a LF.
 */
static size_t
utf8(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2, c = s[0] & 0x1F, min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3, c = s[0] & 0x0F, min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* Characters that are not controls but move or cut text on a screen. */
static int
reorders(unsigned long c)
{
	return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0x2028 || c == 0x2029;
}

void
cw_escape(struct cw_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, len;
	unsigned long c;

	/* Runs of plain text are copied whole; only what needs escaping is cut. */
	while (i + run < n) {
		const unsigned char *q = p + i + run;

		if (*q >= 0x20 && *q < 0x7F) {
			run++;
			continue;
		}
		if (*q >= 0x80 && (len = utf8(q, n - i - run, &c)) != 0 &&
		    c > 0x9F && !reorders(c)) {
			run += len;
			continue;
		}
		cw_buf_add(b, p + i, run);
		i += run;
		run = 0;
		if (*q == '\n')
			cw_buf_adds(b, "\\n");
		else if (*q == '\r')
			cw_buf_adds(b, "\\r");
		else if (*q == '\t')
			cw_buf_adds(b, "\\t");
		else if (*q < 0x80 || (len = utf8(q, n - i, &c)) == 0) {
			cw_buf_addf(b, "\\x%02x", *q);
			i++;
			continue;
		} else {
			cw_buf_addf(b, "\\u%04lx", c);
			i += len;
			continue;
		}
		i++;
	}
	cw_buf_add(b, p + i, run);
}

/* "TOOL: MESSAGE[: strerror]\n", escaped, in one write. */
static void
say(int with_errno, const char *fmt, va_list ap)
{
	struct cw_buf out = CW_BUF_INIT;
	char msg[MSGMAX];
	int saved = errno, n;
	size_t len, off;
	ssize_t w;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	len = n < 0 ? 0 : (size_t)n;
	if (len >= sizeof(msg)) {
		/* cut on a character boundary, so the cut adds no \x escapes */
		len = sizeof(msg) - 4;
		while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80)
			len--;
		memcpy(msg + len, "...", 4);
		len += 3;
	}
	cw_buf_adds(&out, program_invocation_short_name);
	cw_buf_adds(&out, ": ");
	cw_escape(&out, msg, len);
	if (with_errno) {
		cw_buf_adds(&out, ": ");
		cw_buf_adds(&out, strerror(saved));
	}
	cw_buf_add(&out, "\n", 1);
	/* After whatever stdio still holds for stderr (a usage text), not before. */
	fflush(stderr);
	for (off = 0; off < out.len; off += (size_t)w)
		if ((w = write(STDERR_FILENO, out.data + off, out.len - off)) == -1) {
			if (errno != EINTR)
				break;
			w = 0;
		}
	cw_buf_free(&out);
	errno = saved;
}

void
cw_vwarnx(const char *fmt, va_list ap)
{
	say(0, fmt, ap);
}

void
cw_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(0, fmt, ap);
	va_end(ap);
}

void
cw_warn_lines(char *text)
{
	for (const char *p = text, *nl; p != NULL && (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		cw_warnx("%.*s", (int)(nl - p), p);
	free(text);
}

void
cw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(1, fmt, ap);
	va_end(ap);
}

void
cw_errx(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(0, fmt, ap);
	va_end(ap);
	exit(code);
}
