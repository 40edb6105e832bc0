/* report.h: the recovery report's figures as a terminal table and as a self-contained HTML page. */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <jansson.h>
#include "cw/core/util.h"

/*
 * rows and total are cw_recovery_figures's and cw_recovery_total's
 * (cw/state/recovery.h); period says which days they cover, in words
 * ("since 2026-11-20 (UTC)"). All borrowed.
 */

/* Appends the figures to b as a table for a terminal, one line per day
 * and step and a total line; what came from the store escaped (cw_escape). */
void cw_report_table(struct cw_buf *b, const json_t *rows, const json_t *total,
    const char *period);

/*
 * Appends the figures to b as one HTML page that needs nothing else: inline
 * CSS, an inline SVG chart of reminders sent against carts recovered per
 * day, the table; no script and no address of anything outside it. Each
 * figure cell carries its class ("sent", "recovered", ...) and, where the
 * text is rounded (the rate), the exact value in data-value, so that a
 * program can read the page's figures back.
 */
void cw_report_html(struct cw_buf *b, const json_t *rows, const json_t *total,
    const char *period);

/* The two colours of the chart's bars, for tests that look for them. */
#define CW_REPORT_SENT_COLOUR "#3b6fd4"
#define CW_REPORT_RECOVERED_COLOUR "#e8833a"

/*
 * Writes n bytes of page to path, whole or not at all (a temporary file
 * beside it, renamed over it). The page holds counts and sums only, no
 * personal data: it is made 0666 less the umask, to be shared as any
 * document. 0, or -1 with e.
 */
int cw_report_write(const char *path, const char *page, size_t n, cw_err *e);

#endif
