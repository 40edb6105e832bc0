/* recovery.c: the recovery report: orders attributed to sent reminders, and the figures per day and step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/decimal.h"
#include "cw/core/json.h"
#include "cw/d365/orders.h"
#include "cw/state/docstore.h"
#include "cw/state/recovery.h"

#define KIND_REMINDER "cartwatch.reminder"  /* ledger.c's entries */
#define ORDERS_PAGE 100   /* most customers have a handful in a week */
#define CAS_ROUNDS 3
#define DAY_S 86400L

/* The skip reasons every row names, even at 0 (doc/DESIGN.md section 8 item 8). */
static const char *const reasons[] = {
	"purchased", "frequency-cap", "quiet-hours", "suppressed", "late", NULL
};

static int
is_state(const json_t *doc, const char *s)
{
	const char *st = cw_json_istr(doc, "state");

	return st != NULL && strcmp(st, s) == 0;
}

/* When doc counts in the report: a sent reminder when it was sent, "sentAt"
 * (entries older than it: "updated"); anything else when it last changed.
 * 0, or -1 when it has no readable time. */
static int
report_time(const json_t *doc, struct timespec *t)
{
	const char *at = is_state(doc, "sent") ? cw_json_istr(doc, "sentAt") : NULL;

	if (at == NULL)
		at = cw_json_istr(doc, "updated");
	return at != NULL && cw_iso8601_parse(at, t) == 0 ? 0 : -1;
}

struct reading {
	const char *oun;
	struct timespec since;
	json_t *entries;
};

static int
take(const json_t *doc, const char *etag, void *ctx)
{
	struct reading *rd = ctx;
	const char *oun = cw_json_istr(doc, "oun");
	struct timespec t;

	if (oun == NULL || strcmp(oun, rd->oun) != 0 || report_time(doc, &t) != 0 ||
	    cw_time_cmp(&t, &rd->since) < 0)
		return 0;
	json_array_append_new(rd->entries, json_pack("{s:O,s:s}", "doc", doc, "etag", etag));
	return 0;
}

int
cw_recovery_read(struct cw_docstore *s, const char *oun, const struct timespec *since,
    json_t **entries, cw_err *e)
{
	struct reading rd = {oun, *since, json_array()};

	*entries = NULL;
	if (s->query(s, "kind", KIND_REMINDER, take, &rd, e) != 0) {
		json_decref(rd.entries);
		return -1;
	}
	*entries = rd.entries;
	return 0;
}

/* A sent reminder of a registered customer whose attribution is still open;
 * *sent and *end its window. */
static int
open_window(const json_t *doc, long days, struct timespec *sent, struct timespec *end)
{
	const char *cust = cw_json_istr(doc, "customerId");
	const char *until = cw_json_istr(doc, "recoveryCheckedUntil");
	struct timespec u;

	if (!is_state(doc, "sent") || cust == NULL || *cust == '\0' ||
	    json_is_object(json_object_get(doc, "recovery")) || report_time(doc, sent) != 0)
		return 0;
	*end = *sent;
	end->tv_sec += days * DAY_S;
	return until == NULL || cw_iso8601_parse(until, &u) != 0 || cw_time_cmp(&u, end) < 0;
}

/* The customers to ask, each once, from the earliest send of theirs:
 * {customerId: index into the returned asks}; *n how many. */
static struct cw_orders_ask *
asks_for(const json_t *entries, long days, json_t *index, size_t *n)
{
	struct cw_orders_ask *asks = cw_calloc(json_array_size(entries) + 1, sizeof(*asks));
	struct timespec sent, end;
	const json_t *en;
	size_t i;

	*n = 0;
	json_array_foreach(entries, i, en) {
		const json_t *doc = json_object_get(en, "doc");
		const char *cust = cw_json_istr(doc, "customerId");
		json_t *at;

		if (!open_window(doc, days, &sent, &end))
			continue;
		if ((at = json_object_get(index, cust)) == NULL) {
			json_object_set_new(index, cust, json_integer((json_int_t)*n));
			asks[*n].account = json_string_value(json_object_get(doc, "customerId"));
			asks[(*n)++].since = sent;
		} else if (cw_time_cmp(&sent, &asks[json_integer_value(at)].since) < 0)
			asks[json_integer_value(at)].since = sent;
	}
	return asks;
}

size_t
cw_recovery_unsettled(const json_t *entries, long days)
{
	json_t *index = json_object();
	size_t n;

	free(asks_for(entries, days, index, &n));
	json_decref(index);
	return n;
}

/* What attribution settles on doc, or NULL when nothing yet: the first order
 * within its window, or the window's end when it is over without one. */
static json_t *
settle(const json_t *orders, const struct timespec *sent, const struct timespec *end,
    const struct timespec *now)
{
	const json_t *o = cw_orders_first(orders, sent, end);
	char iso[CW_ISO8601_MAX];

	if (o != NULL)
		return json_pack("{s:{s:O?,s:O,s:O,s:s}}", "recovery",
		    "orderId", json_object_get(o, "id"), "created", json_object_get(o, "created"),
		    "amount", json_object_get(o, "amount"), "currency",
		    cw_json_istr(o, "currency") ? cw_json_istr(o, "currency") : "XXX");
	if (cw_time_cmp(now, end) < 0)
		return NULL;
	return json_pack("{s:s}", "recoveryCheckedUntil", cw_iso8601_format(end, iso));
}

/*
 * Writes the fields of set into the entry en ({"doc", "etag"}) in the store,
 * if the etag still matches; else reads it again and, if it is still the
 * same sent reminder unsettled, tries again. 0 (written, or the entry moved
 * on: nothing to write), or -1 with e.
 */
static int
write_back(struct cw_docstore *s, json_t *en, json_t *set, cw_err *e)
{
	const json_t *old = json_object_get(en, "doc");
	json_t *doc = json_deep_copy(old);
	const char *oun = cw_json_istr(old, "oun"), *id = cw_json_istr(old, "id");
	const char *was = cw_json_istr(old, "sentAt");
	char *etag = strdup(json_string_value(json_object_get(en, "etag")));
	int r = 0, written = 0;

	for (int round = 0; round < CAS_ROUNDS; round++) {
		json_object_update(doc, set);
		if ((r = s->replace(s, oun, id, doc, etag, e)) != 0) {
			written = r == 1;
			break;
		}
		json_decref(doc);
		free(etag);
		doc = NULL;
		etag = NULL;
		if ((r = s->read(s, oun, id, &doc, &etag, e)) != 1 || !is_state(doc, "sent") ||
		    json_object_get(doc, "recovery") != NULL ||
		    (was != NULL && (cw_json_istr(doc, "sentAt") == NULL ||
		    strcmp(was, cw_json_istr(doc, "sentAt")) != 0)))
			break;  /* gone, corrupt, failed, or no longer that reminder */
		r = 0;
	}
	if (written)
		json_object_set(en, "doc", doc);
	json_decref(doc);
	free(etag);
	return r == -1 ? -1 : 0;
}

/* A write the group's commit reports lost: another run changed the entry
 * meanwhile. It stays unsettled in the store and is asked about again by the
 * next report, which finds the same order. */
static void
lost_write(const char *pk, const char *id, void *ctx)
{
	(void)pk;
	(void)id;
	(void)ctx;
}

/* Settles what the asks answered, entry by entry, in one store group. */
static long
settle_all(struct cw_docstore *s, json_t *entries, const struct cw_orders_ask *asks,
    const json_t *index, long days, const struct timespec *now, cw_err *e)
{
	struct timespec sent, end;
	json_t *en;
	size_t i;

	if (s->begin(s, e) != 0)
		return -1;
	json_array_foreach(entries, i, en) {
		const json_t *doc = json_object_get(en, "doc");
		const struct cw_orders_ask *a;
		json_t *set;
		int r;

		if (!open_window(doc, days, &sent, &end))
			continue;
		a = &asks[json_integer_value(json_object_get(index, cw_json_istr(doc, "customerId")))];
		if (a->rc != 0 || (set = settle(a->orders, &sent, &end, now)) == NULL)
			continue;
		r = write_back(s, en, set, e);
		json_decref(set);
		if (r != 0) {
			cw_err ignored;

			s->commit(s, lost_write, NULL, &ignored);
			return -1;
		}
	}
	return s->commit(s, lost_write, NULL, e) != 0 ? -1 : 0;
}

long
cw_recovery_attribute(struct cw_docstore *s, struct cw_retail *r, json_t *entries,
    long days, int max_in_flight, const struct timespec *now, size_t *asked, cw_err *e)
{
	json_t *index = json_object();
	struct cw_orders_ask *asks = asks_for(entries, days, index, asked);
	long failed = (long)cw_orders_fetch(r, asks, *asked, ORDERS_PAGE, max_in_flight);
	cw_err first = {{0}};

	for (size_t i = 0; i < *asked; i++)
		if (asks[i].rc != 0 && first.msg[0] == '\0')
			first = asks[i].e;
	if (settle_all(s, entries, asks, index, days, now, e) != 0)
		failed = -1;
	else if (failed > 0)
		*e = first;
	for (size_t i = 0; i < *asked; i++)
		json_decref(asks[i].orders);
	free(asks);
	json_decref(index);
	return failed;
}

/* A row with every figure at zero. */
static json_t *
row_new(const char *day, json_int_t step)
{
	json_t *skipped = json_object();

	for (int i = 0; reasons[i] != NULL; i++)
		json_object_set_new(skipped, reasons[i], json_integer(0));
	return json_pack("{s:s?,s:I,s:i,s:i,s:f,s:o,s:o,s:i,s:i}", "day", day, "step", step,
	    "sent", 0, "recovered", 0, "rate", 0.0, "revenue", json_object(),
	    "skipped", skipped, "failed", 0, "uncertain", 0);
}

static void
bump(json_t *obj, const char *key, json_int_t by)
{
	json_object_set_new(obj, key, json_integer(
	    json_integer_value(json_object_get(obj, key)) + by));
}

/* Adds amount to revenue[currency], exactly; sums start from "0.00". */
static void
add_revenue(json_t *revenue, const char *currency, const char *amount)
{
	const char *cur = json_string_value(json_object_get(revenue, currency));
	char sum[CW_DECIMAL_MAX];

	if (cw_decimal_add(cur != NULL ? cur : "0.00", amount, sum) == 0)
		json_object_set_new(revenue, currency, json_string(sum));
}

/* Counts doc in row. */
static void
count(json_t *row, const json_t *doc)
{
	const json_t *rec = json_object_get(doc, "recovery");
	const char *reason = cw_json_istr(doc, "reason");

	if (is_state(doc, "sent")) {
		bump(row, "sent", 1);
		if (json_is_object(rec) && cw_json_istr(rec, "amount") != NULL) {
			bump(row, "recovered", 1);
			add_revenue(json_object_get(row, "revenue"), cw_json_istr(rec, "currency") ?
			    cw_json_istr(rec, "currency") : "XXX", cw_json_istr(rec, "amount"));
		}
	} else if (is_state(doc, "skipped") || is_state(doc, "deferred"))
		bump(json_object_get(row, "skipped"), reason != NULL ? reason : "other", 1);
	else if (is_state(doc, "failed") || is_state(doc, "gaveup"))
		bump(row, "failed", 1);
	else if (is_state(doc, "uncertain"))
		bump(row, "uncertain", 1);
}

static void
set_rate(json_t *row)
{
	json_int_t sent = json_integer_value(json_object_get(row, "sent"));
	json_int_t rec = json_integer_value(json_object_get(row, "recovered"));
	/* ten-thousandths, a share to a hundredth of a percent, rounded half
	 * up in integers (no libm) */
	json_int_t bp = sent > 0 ? (rec * 20000 + sent) / (2 * sent) : 0;

	json_object_set_new(row, "rate", json_real((double)bp / 10000.0));
}

static int
by_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* row[field] with its keys in order, first (NULL-ended) ones first, the rest
 * sorted: rows read the same whatever order the store gave the entries in. */
static void
order_keys(json_t *row, const char *field, const char *const *first)
{
	json_t *old = json_object_get(row, field), *sorted = json_object();
	const char **keys = cw_calloc(json_object_size(old) + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t n = 0;

	for (; first != NULL && *first != NULL; first++)
		json_object_set(sorted, *first, json_object_get(old, *first));
	json_object_foreach(old, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), by_text);
	for (size_t i = 0; i < n; i++)
		if (json_object_get(sorted, keys[i]) == NULL)
			json_object_set(sorted, keys[i], json_object_get(old, keys[i]));
	free(keys);
	json_object_set_new(row, field, sorted);
}

static void
finish(json_t *row)
{
	set_rate(row);
	order_keys(row, "revenue", NULL);
	order_keys(row, "skipped", reasons);
}

static int
by_day_step(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(cw_json_istr(x, "day"), cw_json_istr(y, "day"));
	json_int_t sx = json_integer_value(json_object_get(x, "step"));
	json_int_t sy = json_integer_value(json_object_get(y, "step"));

	return c != 0 ? c : (sx > sy) - (sx < sy);
}

json_t *
cw_recovery_figures(const json_t *entries)
{
	json_t *rows = json_object(), *out = json_array(), *row, **list;
	const json_t *en;
	const char *key;
	size_t i, n = 0;

	json_array_foreach(entries, i, en) {
		const json_t *doc = json_object_get(en, "doc");
		const json_t *stepv = json_object_get(doc, "step");
		json_int_t step = json_is_integer(stepv) ? json_integer_value(stepv) : 1;
		char day[CW_ISO8601_MAX], k[64];
		struct timespec t;

		if (!is_state(doc, "sent") && !is_state(doc, "skipped") &&
		    !is_state(doc, "deferred") && !is_state(doc, "failed") &&
		    !is_state(doc, "gaveup") && !is_state(doc, "uncertain"))
			continue;  /* claimed or sending: under way */
		if (report_time(doc, &t) != 0)
			continue;
		cw_iso8601_format(&t, day);
		day[10] = '\0';  /* YYYY-MM-DD of the UTC time */
		snprintf(k, sizeof(k), "%s/%" JSON_INTEGER_FORMAT, day, step);
		if ((row = json_object_get(rows, k)) == NULL)
			json_object_set_new(rows, k, row = row_new(day, step));
		count(row, doc);
	}
	list = cw_calloc(json_object_size(rows) + 1, sizeof(*list));
	json_object_foreach(rows, key, row) {
		finish(row);
		list[n++] = row;
	}
	qsort(list, n, sizeof(*list), by_day_step);
	for (i = 0; i < n; i++)
		json_array_append(out, list[i]);
	free(list);
	json_decref(rows);
	return out;
}

json_t *
cw_recovery_total(const json_t *rows)
{
	json_t *total = row_new(NULL, 0), *v;
	const json_t *row;
	const char *k;
	size_t i;

	json_object_del(total, "day");
	json_object_del(total, "step");
	json_array_foreach(rows, i, row) {
		bump(total, "sent", json_integer_value(json_object_get(row, "sent")));
		bump(total, "recovered", json_integer_value(json_object_get(row, "recovered")));
		bump(total, "failed", json_integer_value(json_object_get(row, "failed")));
		bump(total, "uncertain", json_integer_value(json_object_get(row, "uncertain")));
		json_object_foreach((json_t *)json_object_get(row, "revenue"), k, v)
			add_revenue(json_object_get(total, "revenue"), k, json_string_value(v));
		json_object_foreach((json_t *)json_object_get(row, "skipped"), k, v)
			bump(json_object_get(total, "skipped"), k, json_integer_value(v));
	}
	finish(total);
	return total;
}
