/* report.c: the recovery report's figures as a terminal table and as a self-contained HTML page. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cw/core/util.h"
#include "cw/mail/htmlsafe.h"
#include "cw/tool/report.h"
#include "cw/tool/tool.h"

/* The skip reasons with a column of their own; any other counts as "other". */
static const char *const columns[] = {
	"purchased", "frequency-cap", "quiet-hours", "suppressed", "late", NULL
};

#define CHART_H 180   /* the bars' area, in SVG user units */
#define BAR_W 14
#define DAY_W 44

static json_int_t
num(const json_t *row, const char *key)
{
	return json_integer_value(json_object_get(row, key));
}

/* The skipped count of a column, or of every reason without one. */
static json_int_t
skipped(const json_t *row, const char *reason)
{
	const json_t *sk = json_object_get(row, "skipped"), *v;
	const char *k;
	json_int_t n = 0;
	int i;

	if (reason != NULL)
		return json_integer_value(json_object_get(sk, reason));
	json_object_foreach((json_t *)sk, k, v) {
		for (i = 0; columns[i] != NULL && strcmp(columns[i], k) != 0; i++)
			;
		if (columns[i] == NULL)
			n += json_integer_value(v);
	}
	return n;
}

/* "USD 61.49, NOK 200.00", or "-" for none. */
static void
revenue_text(struct cw_buf *b, const json_t *row)
{
	const json_t *v;
	const char *k;
	int first = 1;

	json_object_foreach((json_t *)json_object_get(row, "revenue"), k, v) {
		cw_buf_adds(b, first ? "" : ", ");
		cw_escape(b, k, strlen(k));
		cw_buf_adds(b, " ");
		cw_escape(b, json_string_value(v), strlen(json_string_value(v)));
		first = 0;
	}
	if (first)
		cw_buf_adds(b, "-");
}

/* The skipped columns' headings, in the order of columns[], then "other". */
static const char *const headings[] = {
	"purchased", "freq-cap", "quiet", "suppressed", "late", "other", NULL
};

static void
table_line(struct cw_buf *b, const json_t *row, const char *day, const char *step)
{
	double rate = json_real_value(json_object_get(row, "rate")) * 100.0;

	cw_buf_addf(b, "%-10s %4s %5" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT " %6.1f%%",
	    day, step, num(row, "sent"), num(row, "recovered"), rate);
	for (int i = 0; headings[i] != NULL; i++)
		cw_buf_addf(b, " %*" JSON_INTEGER_FORMAT, (int)strlen(headings[i]),
		    skipped(row, columns[i]));  /* columns[5] is NULL: the others */
	cw_buf_addf(b, " %6" JSON_INTEGER_FORMAT " %9" JSON_INTEGER_FORMAT "  ",
	    num(row, "failed"), num(row, "uncertain"));
	revenue_text(b, row);
	cw_buf_adds(b, "\n");
}

void
cw_report_table(struct cw_buf *b, const json_t *rows, const json_t *total,
    const char *period)
{
	static const char lead[] = "day        step  sent recovered    rate";
	const json_t *row;
	size_t i, width = 0;

	cw_buf_addf(b, "Recovery report, %s\n", period);
	for (i = 0; headings[i] != NULL; i++)
		width += 1 + strlen(headings[i]);
	cw_buf_addf(b, "%*s ", (int)strlen(lead), "");
	/* a rule over the skipped columns, " skipped " in its middle */
	for (i = 0; i < width - 10; i++)
		cw_buf_adds(b, i == (width - 10) / 2 ? "- skipped " : "-");
	cw_buf_addf(b, "\n%s", lead);
	for (i = 0; headings[i] != NULL; i++)
		cw_buf_addf(b, " %s", headings[i]);
	cw_buf_adds(b, " failed uncertain  revenue\n");
	json_array_foreach(rows, i, row) {
		char step[24];

		snprintf(step, sizeof(step), "%" JSON_INTEGER_FORMAT, num(row, "step"));
		table_line(b, row, json_string_value(json_object_get(row, "day")), step);
	}
	if (json_array_size(rows) == 0)
		cw_buf_adds(b, "(no reminders in this period)\n");
	table_line(b, total, "total", "");
}

static void
esc(struct cw_buf *b, const char *s)
{
	cw_html_escape(b, s, strlen(s), 0);
}

/* One row of the page's table: figures in cells named by their class. */
static void
html_row(struct cw_buf *b, const json_t *row, const json_t *all, int total)
{
	const json_t *v;
	const char *k;

	if (total)
		cw_buf_adds(b, "<tr class=\"total\"><th colspan=\"2\">Total</th>");
	else
		cw_buf_addf(b, "<tr class=\"figures\"><td class=\"day\">%s</td>"
		    "<td class=\"step\">%" JSON_INTEGER_FORMAT "</td>",
		    json_string_value(json_object_get(row, "day")), num(row, "step"));
	cw_buf_addf(b, "<td class=\"sent\">%" JSON_INTEGER_FORMAT "</td>"
	    "<td class=\"recovered\">%" JSON_INTEGER_FORMAT "</td>"
	    "<td class=\"rate\" data-value=\"%.4f\">%.1f%%</td><td class=\"revenue\">",
	    num(row, "sent"), num(row, "recovered"),
	    json_real_value(json_object_get(row, "rate")),
	    json_real_value(json_object_get(row, "rate")) * 100.0);
	json_object_foreach((json_t *)json_object_get(row, "revenue"), k, v) {
		cw_buf_adds(b, "<span data-currency=\"");
		esc(b, k);
		cw_buf_adds(b, "\">");
		esc(b, k);
		cw_buf_adds(b, " ");
		esc(b, json_string_value(v));
		cw_buf_adds(b, "</span> ");
	}
	cw_buf_adds(b, "</td>");
	/* the total's reasons are every row's: one column each */
	json_object_foreach((json_t *)json_object_get(all, "skipped"), k, v) {
		cw_buf_adds(b, "<td class=\"skipped\" data-reason=\"");
		esc(b, k);
		cw_buf_addf(b, "\">%" JSON_INTEGER_FORMAT "</td>",
		    json_integer_value(json_object_get(json_object_get(row, "skipped"), k)));
	}
	cw_buf_addf(b, "<td class=\"failed\">%" JSON_INTEGER_FORMAT "</td>"
	    "<td class=\"uncertain\">%" JSON_INTEGER_FORMAT "</td></tr>\n",
	    num(row, "failed"), num(row, "uncertain"));
}

/* The days of rows, each with its sent and recovered over every step:
 * [[day, sent, recovered], ...] in order. */
static json_t *
per_day(const json_t *rows, json_int_t *most)
{
	json_t *days = json_array(), *last = NULL;
	const json_t *row;
	size_t i;

	*most = 0;
	json_array_foreach(rows, i, row) {
		const char *day = json_string_value(json_object_get(row, "day"));

		if (last == NULL || strcmp(json_string_value(json_array_get(last, 0)), day) != 0) {
			last = json_pack("[s,I,I]", day, (json_int_t)0, (json_int_t)0);
			json_array_append_new(days, last);
		}
		for (int k = 1; k <= 2; k++) {
			json_int_t n = json_integer_value(json_array_get(last, (size_t)k)) +
			    num(row, k == 1 ? "sent" : "recovered");

			json_array_set_new(last, (size_t)k, json_integer(n));
			if (n > *most)
				*most = n;
		}
	}
	return days;
}

/* One bar of the chart, with its count above it. */
static void
bar(struct cw_buf *b, int x, json_int_t n, json_int_t most, const char *colour,
    const char *what)
{
	int h = most > 0 ? (int)(n * CHART_H / most) : 0;

	cw_buf_addf(b, "<rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
	    "fill=\"%s\"><title>%" JSON_INTEGER_FORMAT " %s</title></rect>"
	    "<text x=\"%d\" y=\"%d\" class=\"n\">%" JSON_INTEGER_FORMAT "</text>\n",
	    what, x, 20 + CHART_H - h, BAR_W, h, colour, n, what, x + BAR_W / 2,
	    20 + CHART_H - h - 4, n);
}

/* Sent against recovered per day, as bars. */
static void
chart(struct cw_buf *b, const json_t *rows)
{
	json_int_t most;
	json_t *days = per_day(rows, &most), *d;
	int w = 40 + (int)json_array_size(days) * DAY_W;
	size_t i;

	cw_buf_addf(b, "<svg class=\"chart\" role=\"img\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" aria-label=\"Reminders sent and carts recovered per day\">\n",
	    w, CHART_H + 60, w, CHART_H + 60);
	cw_buf_addf(b, "<line x1=\"30\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n",
	    20 + CHART_H, w - 4, 20 + CHART_H);
	json_array_foreach(days, i, d) {
		int x = 36 + (int)i * DAY_W;

		bar(b, x, json_integer_value(json_array_get(d, 1)), most,
		    CW_REPORT_SENT_COLOUR, "sent");
		bar(b, x + BAR_W + 2, json_integer_value(json_array_get(d, 2)), most,
		    CW_REPORT_RECOVERED_COLOUR, "recovered");
		/* MM-DD under the pair of bars */
		cw_buf_addf(b, "<text x=\"%d\" y=\"%d\" class=\"d\">%s</text>\n",
		    x + BAR_W, 20 + CHART_H + 16, json_string_value(json_array_get(d, 0)) + 5);
	}
	cw_buf_adds(b, "</svg>\n");
	json_decref(days);
}

static const char style[] =
	"body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
	"table{border-collapse:collapse;margin-top:1em}"
	"th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
	"th,td{white-space:nowrap}.revenue span{display:block}"
	"th{background:#f2f2f2}tr.total{font-weight:bold;background:#fafafa}"
	".chart text{font-size:11px;text-anchor:middle;fill:#444}"
	".legend span{display:inline-block;width:1em;height:1em;vertical-align:middle;"
	"margin:0 .3em 0 1em}";

void
cw_report_html(struct cw_buf *b, const json_t *rows, const json_t *total,
    const char *period)
{
	const json_t *row;
	const char *k;
	const json_t *v;
	size_t i;

	cw_buf_addf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<title>Cart recovery report</title>\n<style>%s</style></head><body>\n"
	    "<h1>Cart recovery report</h1>\n<p class=\"period\">", style);
	esc(b, period);
	cw_buf_addf(b, "</p>\n<p class=\"legend\"><span style=\"background:%s\"></span>"
	    "reminders sent<span style=\"background:%s\"></span>carts recovered</p>\n",
	    CW_REPORT_SENT_COLOUR, CW_REPORT_RECOVERED_COLOUR);
	if (json_array_size(rows) == 0)
		cw_buf_adds(b, "<p class=\"empty\">No reminders in this period.</p>\n");
	else
		chart(b, rows);
	cw_buf_adds(b, "<table>\n<tr><th>Day (UTC)</th><th>Step</th><th>Sent</th>"
	    "<th>Recovered</th><th>Rate</th><th>Revenue</th>");
	json_object_foreach((json_t *)json_object_get(total, "skipped"), k, v) {
		cw_buf_adds(b, "<th>Skipped: ");
		esc(b, k);
		cw_buf_adds(b, "</th>");
	}
	cw_buf_adds(b, "<th>Failed</th><th>Uncertain</th></tr>\n");
	json_array_foreach(rows, i, row)
		html_row(b, row, total, 0);
	html_row(b, total, total, 1);
	cw_buf_adds(b, "</table>\n</body></html>\n");
}

int
cw_report_write(const char *path, const char *page, size_t n, cw_err *e)
{
	char *tmp = cw_asprintf("%s.%ld.tmp", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	size_t off = 0;
	ssize_t w = 0;
	int ok;

	if (fd == -1) {
		cw_seterr(e, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	while (off < n && (w = write(fd, page + off, n - off)) > 0)
		off += (size_t)w;
	ok = off == n && fsync(fd) == 0;
	if (close(fd) != 0 || (ok && rename(tmp, path) != 0))
		ok = 0;
	if (!ok) {
		cw_seterr(e, "%s: %s", path, off < n && w == 0 ? "short write" : strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
