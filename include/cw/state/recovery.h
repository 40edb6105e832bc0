/* recovery.h: the recovery report: orders attributed to sent reminders, and the figures per day and step. */
#ifndef CW_RECOVERY_H
#define CW_RECOVERY_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_docstore;
struct cw_retail;

/*
 * The reminder entries of operating unit oun whose report day (the send
 * time, "sentAt" or for older entries "updated", of a sent one; "updated" of
 * any other) is at or after since. *entries becomes an array of
 * {"doc": entry, "etag": its etag} (caller decrefs). 0, or -1 with e.
 */
int cw_recovery_read(struct cw_docstore *s, const char *oun, const struct timespec *since,
    json_t **entries, cw_err *e);

/*
 * How many registered customers have a sent reminder among entries whose
 * attribution is not settled yet: no "recovery" found, and not checked
 * through its whole window (sent time + days). Guests never count: their
 * orders cannot be read with an application token (doc/DESIGN.md section 8
 * item 4), so they are never recovered.
 */
size_t cw_recovery_unsettled(const json_t *entries, long days);

/*
 * Attribution (doc/DESIGN.md section 8 item 4): asks Retail Server (r) for the
 * orders of those customers, max_in_flight requests at once, and gives each
 * unsettled sent reminder the first order that is not canceled made within
 * [sent time, sent time + days]: "recovery": {"orderId", "created",
 * "amount", "currency"}, final. One that has none when its window is over
 * by *now gets "recoveryCheckedUntil" (the window's end) and is not asked
 * about again. What is settled is written back to its entry in s (replace
 * if the etag still matches, else read again and retried), and into
 * entries. *asked counts the customers asked. Returns the number of
 * customers whose orders could not be read (e names the first; their
 * reminders stay unsettled, asked again next time), or -1 with e when the
 * store fails.
 */
long cw_recovery_attribute(struct cw_docstore *s, struct cw_retail *r, json_t *entries,
    long days, int max_in_flight, const struct timespec *now, size_t *asked, cw_err *e);

/*
 * The figures of doc/DESIGN.md section 8 item 8, one object per UTC day and
 * step that has any, by day then step: {"day": "YYYY-MM-DD", "step": n,
 * "sent", "recovered", "rate" (recovered / sent, 0 with nothing sent),
 * "revenue": {currency: exact decimal text, at least two decimals},
 * "skipped": {reason: count; purchased, frequency-cap, quiet-hours,
 * suppressed and late always, others as seen, "other" for none given},
 * "failed" (failed and given up), "uncertain"}. Deferred entries count
 * as skipped for their reason. Caller decrefs.
 */
json_t *cw_recovery_figures(const json_t *entries);

/* The totals of rows (as cw_recovery_figures makes them) in one row of
 * the same shape, without "day" and "step". Caller decrefs. */
json_t *cw_recovery_total(const json_t *rows);

#endif
