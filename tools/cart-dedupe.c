/* cart-dedupe: pass only the carts still owed a reminder, claiming each; record results. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/core/quiet.h"
#include "cw/core/util.h"
#include "cw/d365/cart.h"
#include "cw/d365/retail.h"
#include "cw/net/email.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/net/unsubscribe.h"
#include "cw/notify/suppressions.h"
#include "cw/state/ledger.h"
#include "cw/state/recovery.h"
#include "cw/state/stores.h"
#include "cw/tool/checkmode.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/report.h"
#include "cw/tool/tool.h"

/*
 * Claims and results are written in groups, one store transaction and one
 * sync each: a group ends after this many records, or this long after its
 * first, or once input has been quiet for GROUP_IDLE_MS, whichever comes
 * first. A passed cart is held until its group is committed: it leaves only
 * once its claim is durable, so a kill at any moment loses nothing and
 * duplicates nothing. Input that comes slower than one line per
 * GROUP_IDLE_MS is committed line by line, which it can afford; a stream
 * read at full speed is never quiet that long between two lines.
 */
#define GROUP_RECORDS 1000
#define GROUP_MS 50
#define GROUP_IDLE_MS 10

/* A record of the group, held until it is handled (a store that reads ahead). */
struct pending {
	struct cw_rec rec;         /* text and json owned */
	struct timespec modified;  /* a cart's */
	size_t off, len;           /* its line in held, once passed */
	char key[CW_NOTIFICATION_ID_LEN + 1];  /* its claim, once passed */
};

struct dedupe {
	struct cw_ledger *l;
	struct timespec now;
	int store_failed;
	int grouped;         /* records in the open group; 0: none open */
	struct cw_buf held;  /* the carts passed in it, written once it commits */
	/* A store that reads ahead (Cosmos DB): the group's records are read
	 * ahead together, then handled, then their writes sent at its commit. */
	int ahead;
	int results;         /* --commit: the records are results */
	int bad;             /* a record failed when its group was handled */
	struct pending *pend;
	size_t npend, cappend;
	json_t *lost;        /* keys the group's commit reported lost */
	char passed[CW_NOTIFICATION_ID_LEN + 1];  /* the key hold() last held */
	/* --commit: what the run-status document will say, per channel */
	json_t *last;        /* channel -> {"t": iso, "ids": [...]} */
	int failures;        /* failed results or bad lines: no run status then */
	const char *oun;
	int resend_uncertain;
	int preview_noted;   /* said once that preview results are not recorded */
	const char *provider;  /* Cartwatch.Notify.Provider */
	struct cw_docstore_cfg sc;
	struct cw_unsub unsub;  /* suppress --token: the key that signs tokens */
	struct cw_supsource src;  /* suppress --import: the provider read */
	struct cw_tool *t;      /* its vault, for that key */
	struct cw_quiet quiet;  /* Cartwatch.QuietHours */
	int quiet_now;          /* this run is inside them: defer, claim nothing */
	unsigned long deferred;
	unsigned long imported;  /* import: run-status documents taken */
};

/* The command line, once parsed. */
struct args {
	const char *config;  /* -c */
	const char *email, *customer, *notification;
	const char *token;   /* suppress --token; "-": read from stdin */
	const char *import;  /* suppress --import: the provider */
	unsigned given;      /* the A_ options given */
	long days;           /* report --days */
	const char *since, *html;  /* report --since, --html */
	int check;           /* CW_O_CHECK or CW_O_CHECK_CONFIG; 0: neither */
};

/* Options a command may take (struct cmd) and that args says were given. */
enum { A_PERSON = 1, A_KEEP = 2, A_JSON = 4, A_COMMIT = 8, A_DRY = 16, A_TOKEN = 32,
	A_UNSUP = 64 };

/* One command of cart-dedupe: its name, the options it takes and needs, its
 * operand, its line of the synopsis (NULL: the line above names it too, or it
 * is an undocumented alias) and what it does, given the open ledger (d->l is
 * NULL for a command that does not open the store). */
struct cmd {
	const char *name;
	unsigned takes, needs;
	int operand;         /* 1: one operand (args.notification) */
	int opens;           /* 1: opens the store first */
	const char *synopsis;
	int (*run)(struct dedupe *d, const struct args *a);
};

static const struct cmd cmds[];
static int claim(struct dedupe *d, const struct cw_rec *rec);
static int record(struct dedupe *d, const struct cw_rec *rec);
static int group_ahead(struct dedupe *d);
static int stash(struct dedupe *d, const struct cw_rec *rec);

/* --help: what each command does and each option means. */
static const struct cw_help cmd_help[] = {
	{"(none)", "the filter: pass on the carts still owed a reminder, claiming each"},
	{"suppress", "add opt-outs: a person, a token's address, a provider's lists"},
	{"unsuppress", "lift an opt-out"},
	{"forget", "erase what the store holds about a person; the opt-out stays"},
	{"prune", "drop ledger entries older than Cartwatch.StateStore.RetentionDays"},
	{"status", "counts by state, live claims, opt-outs, run status"},
	{"where", "print where the store is, without opening it"},
	{"import", "read the .NET sample's run-status documents from stdin"},
	{"resend", "let the next run send a notification again"},
	{"release", "let go of this run's claims on the records read (CARTWATCH_RUN_ID)"},
	{"config", "print the effective configuration as plain JSON, secrets masked"},
	{"report", "the recovery report: reminders sent, carts recovered, revenue"},
	{NULL, NULL}
};
static const struct cw_help opt_help[] = {
	CW_HELP_CONFIG,
	{"--commit", "record results instead of filtering carts"},
	{"--dry-run", "decide as the filter does, but claim nothing"},
	{"--email ADDR", "the person, by email address (suppress, unsuppress, forget)"},
	{"--customer ID", "the person, by customer id (suppress, unsuppress, forget)"},
	{"--token TOKEN", "suppress: the address an unsubscribe token names (-: from stdin)"},
	{"--import PROVIDER", "suppress: copy the suppression lists of sendgrid or mandrill"},
	{"--keep-suppression", "forget: keep the opt-out, or make one (the default)"},
	{"--and-unsuppress", "forget: lift the opt-out too, so the person may be reminded"},
	{"--json", "status, report: one JSON object (per row) instead of text"},
	{"--days N", "report: the last N UTC days, today included (default 30)"},
	{"--since ISO", "report: every reminder since this time"},
	{"--html FILE", "report: write it as an HTML page to FILE"},
	CW_HELP_CHECK,
	CW_HELP_END
};

static void
usage(FILE *f, int code)
{
	const char *lead = "usage:";

	for (const struct cmd *c = cmds; c->name != NULL; c++)
		if (c->synopsis != NULL) {
			fprintf(f, "%s %s [-c FILE] %s\n", lead, program_invocation_short_name,
			    c->synopsis);
			lead = "      ";
		}
	if (code == CW_EXIT_OK)
		cw_print_help(f, cmd_help, opt_help);
	exit(code);
}

/* Opens a group if none is: 0, or CW_REC_STOP. */
static int
group_open(struct dedupe *d)
{
	cw_err e;

	if (d->grouped > 0)
		return CW_REC_OK;
	if (cw_ledger_group_begin(d->l, &e) != 0) {
		cw_warnx("%s", e.msg);
		d->store_failed = 1;
		return CW_REC_STOP;
	}
	return CW_REC_OK;
}

/*
 * Commits the open group, then writes out the carts it passed: the
 * driver's flush, also called when a group is full. If the commit fails
 * none of its claims were made, and its carts are dropped unwritten.
 */
static int
group_commit(void *ctx)
{
	struct dedupe *d = ctx;
	cw_err e;
	int r = CW_REC_OK;

	if (d->grouped == 0)
		return CW_REC_OK;
	d->grouped = 0;
	if (d->ahead)
		return group_ahead(d);
	if (cw_ledger_group_commit(d->l, NULL, NULL, &e) != 0) {
		cw_warnx("%s", e.msg);
		d->store_failed = 1;
		r = CW_REC_STOP;
	} else
		cw_ewrite_lines(stdout, d->held.data, d->held.len);
	cw_buf_reset(&d->held);
	return r;
}

/* When the record driver ends a group (group_commit); results read as the
 * full parse would, only faster (cw_rec_scanload). */
static const struct cw_loop_opts grouping = {
	.flush = group_commit, .idle_ms = GROUP_IDLE_MS, .max_ms = GROUP_MS,
	.slim = cw_rec_scanload
};

/*
 * What claim() reads of a cart besides what cw_cart_check does: the ledger's
 * fields (cw_ledger_claim, its entry) and hold()'s. Matched ignoring case.
 */
static const char *const cart_keys[] = {
	"customerid", "email", "receiptemail", "cartid", "channelid", "id",
	"notificationid", "step", NULL
};

/* The filter's stand-in for a cart (cw_cart_slim): only what claim() reads.
 * A cart that names notificationId or step is serialised whole by hold(). */
static json_t *
slim_cart(const char *text, size_t len)
{
	json_t *cart = cw_cart_slim(text, len, cart_keys);

	if (cart != NULL && (cw_json_iget(cart, "notificationId") != NULL ||
	    cw_json_iget(cart, "step") != NULL)) {
		json_decref(cart);
		return NULL;
	}
	return cart;
}

/* The filter's grouping, on carts parsed only as far as claim() reads. */
static const struct cw_loop_opts filtering = {
	.flush = group_commit, .idle_ms = GROUP_IDLE_MS, .max_ms = GROUP_MS,
	.slim = slim_cart
};

/* A record is in the open group: ends the group once it is full. */
static int
grouped(struct dedupe *d, int r)
{
	if (++d->grouped >= GROUP_RECORDS && group_commit(d) != CW_REC_OK)
		return CW_REC_STOP;
	return r;
}

/* The filter, per cart: claim it or drop it. */
static int
filter(const struct cw_rec *rec, void *ctx)
{
	struct dedupe *d = ctx;

	if (d->ahead)
		return stash(d, rec);
	if (group_open(d) != CW_REC_OK)
		return CW_REC_STOP;
	return grouped(d, claim(d, rec));
}

/*
 * Holds a passed cart for its group's commit, with its claim's key and step
 * added: its line as it came, the two fields spliced in before the closing
 * brace, rather than the parsed cart serialised again. A line that already
 * names either field (it would name it twice) is serialised as before.
 */
static void
hold(struct dedupe *d, const struct cw_rec *rec, const char *key, int step)
{
	size_t n = rec->len;

	while (n > 0 && strchr(" \t\r", rec->text[n - 1]) != NULL)
		n--;
	if (n < 2 || rec->text[n - 1] != '}' ||
	    cw_json_iget(rec->json, "notificationId") != NULL ||
	    cw_json_iget(rec->json, "step") != NULL) {
		json_object_set_new(rec->json, "notificationId", json_string(key));
		json_object_set_new(rec->json, "step", json_integer(step));
		cw_json_line(&d->held, rec->json);
		snprintf(d->passed, sizeof(d->passed), "%s", key);
		return;
	}
	cw_buf_add(&d->held, rec->text, n - 1);
	cw_buf_addf(&d->held, "%s\"notificationId\":\"%s\",\"step\":%d}\n",
	    json_object_size(rec->json) > 0 ? "," : "", key, step);
	snprintf(d->passed, sizeof(d->passed), "%s", key);
}

/* Claims a cart, holding it for the group's commit if it passes. */
static int
claim(struct dedupe *d, const struct cw_rec *rec)
{
	char key[CW_NOTIFICATION_ID_LEN + 1];
	struct timespec modified;
	int v, step = 1;
	cw_err e;

	if (cw_cart_check(rec->json, &modified, &e) != 0) {
		cw_rec_warn(rec, "%s; not claimed", e.msg);
		return CW_REC_BAD;
	}
	v = d->quiet_now ? cw_ledger_defer(d->l, rec->json, &modified, &d->now, &e) :
	    cw_ledger_claim(d->l, rec->json, &modified, &d->now, key, &step, &e);
	d->deferred += v == CW_DEFERRED;
	if (v == CW_LEDGER_CORRUPT) {
		cw_rec_warn(rec, "%s; not claimed", e.msg);
		return CW_REC_BAD;
	}
	if (v < 0) {
		cw_warnx("%s", e.msg);
		d->store_failed = 1;
		return CW_REC_STOP;
	}
	if (v != CW_PASS)
		return CW_REC_OK;
	hold(d, rec, key, step);
	return CW_REC_OK;
}

/* Keeps the latest modifiedDateTime of each channel and the carts at it. */
static void
remember(struct dedupe *d, const json_t *res)
{
	const json_t *ch = cw_json_iget(res, "channelId");
	const char *mod = cw_json_istr(res, "modifiedDateTime");
	const char *cart = cw_json_istr(res, "cartId");
	struct timespec t, cur;
	json_t *slot;
	char key[32];
	int c;

	if (!json_is_integer(ch) || mod == NULL || cart == NULL ||
	    cw_iso8601_parse(mod, &t) != 0)
		return;
	snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT, json_integer_value(ch));
	slot = json_object_get(d->last, key);
	if (slot != NULL) {
		cw_iso8601_parse(json_string_value(json_object_get(slot, "t")), &cur);
		if ((c = cw_time_cmp(&t, &cur)) < 0)
			return;
		if (c == 0) {
			json_array_append_new(json_object_get(slot, "ids"), json_string(cart));
			return;
		}
	}
	json_object_set_new(d->last, key, json_pack("{s:s,s:[s]}", "t", mod, "ids", cart));
}

/* --commit, per result. */
static int
commit(const struct cw_rec *rec, void *ctx)
{
	struct dedupe *d = ctx;

	if (d->ahead)
		return stash(d, rec);
	if (group_open(d) != CW_REC_OK)
		return CW_REC_STOP;
	return grouped(d, record(d, rec));
}

/* Records a result in the open group. */
static int
record(struct dedupe *d, const struct cw_rec *rec)
{
	const char *status = cw_json_istr(rec->json, "status");
	int gave_up, bad;
	cw_err e;

	if (cw_ledger_commit(d->l, rec->json, &d->now, &gave_up, &bad, &e) != 0) {
		if (bad) {
			cw_rec_warn(rec, "%s", e.msg);
			d->failures = 1;
			return CW_REC_BAD;
		}
		cw_warnx("%s", e.msg);
		d->store_failed = 1;
		return CW_REC_STOP;
	}
	if (!cw_ledger_records(rec->json) && !d->preview_noted) {
		d->preview_noted = 1;
		cw_warnx("note: results of the preview provider and of test sends "
		    "(cart-notify --to) are not recorded: their carts stay owed");
	}
	if (json_is_true(cw_json_iget(rec->json, "uncertain")) && !d->resend_uncertain)
		cw_rec_warn(rec, "notification %s (cart %s) may or may not have been "
		    "delivered: kept as uncertain, not sent again by itself (cart-dedupe "
		    "resend %s sends it again)", cw_json_istr(rec->json, "notificationId"),
		    cw_json_istr(rec->json, "cartId") ? cw_json_istr(rec->json, "cartId") : "?",
		    cw_json_istr(rec->json, "notificationId"));
	if (gave_up)
		cw_rec_warn(rec, "giving up on notification %s (cart %s): it failed too often; "
		    "last error: %s", cw_json_istr(rec->json, "notificationId"),
		    cw_json_istr(rec->json, "cartId") ? cw_json_istr(rec->json, "cartId") : "?",
		    cw_json_istr(rec->json, "error") ? cw_json_istr(rec->json, "error") : "none");
	if (strcmp(status, "failed") == 0)
		d->failures = 1;
	else if (cw_ledger_records(rec->json))  /* no watermark from a preview */
		remember(d, rec->json);
	return CW_REC_OK;
}

/*
 * The group of a store that reads ahead. Records are kept (stash) until the
 * group ends; then what they will look at is read ahead in a few requests,
 * each is claimed or recorded as usual, and the commit sends the group's
 * writes. A claim or result the commit reports lost (another run got there
 * between the reading ahead and the commit, or a batch retried after its
 * answer was lost met its own writes) is done again on its own, so that it
 * ends exactly as it would have without the group.
 */
static int
stash(struct dedupe *d, const struct cw_rec *rec)
{
	struct pending *p;
	struct timespec modified = {0, 0};
	cw_err e;

	if (!d->results && cw_cart_check(rec->json, &modified, &e) != 0) {
		cw_rec_warn(rec, "%s; not claimed", e.msg);
		return CW_REC_BAD;
	}
	if (d->npend == d->cappend) {
		d->cappend = d->cappend ? 2 * d->cappend : 64;
		d->pend = cw_realloc(d->pend, d->cappend * sizeof(*d->pend));
	}
	p = &d->pend[d->npend++];
	memset(p, 0, sizeof(*p));
	p->rec = *rec;
	p->rec.json = json_incref(rec->json);
	p->rec.text = memcpy(cw_calloc(1, rec->len + 1), rec->text, rec->len);
	p->modified = modified;
	return grouped(d, CW_REC_OK);
}

static void
lost_key(const char *key, void *ctx)
{
	json_object_set_new((json_t *)ctx, key, json_true());
}

/* Each kept record, claimed or recorded in the open group: 0, or STOP. */
static int
handle_all(struct dedupe *d)
{
	int r = CW_REC_OK;

	for (size_t i = 0; i < d->npend && r != CW_REC_STOP; i++) {
		struct pending *p = &d->pend[i];
		const char *key;

		*d->passed = '\0';
		p->off = d->held.len;
		r = d->results ? record(d, &p->rec) : claim(d, &p->rec);
		p->len = d->held.len - p->off;
		key = d->results ? cw_json_istr(p->rec.json, "notificationId") : d->passed;
		snprintf(p->key, sizeof(p->key), "%s", key != NULL ? key : "");
		if (r == CW_REC_BAD)
			d->bad = 1;
	}
	return r;
}

/* After the commit: the lines of the claims that held, then those of lost
 * ones claimed again; a lost result recorded again. 0, or STOP. */
static int
redo_lost(struct dedupe *d, const struct cw_buf *out)
{
	int gave_up, bad, r = CW_REC_OK;
	cw_err e;

	for (size_t i = 0; i < d->npend; i++) {
		struct pending *p = &d->pend[i];
		int lost = *p->key != '\0' && json_object_get(d->lost, p->key) != NULL;

		if (!lost && p->len > 0)
			cw_ewrite_lines(stdout, out->data + p->off, p->len);
		if (!lost || r == CW_REC_STOP)
			continue;
		if (!d->results) {
			r = claim(d, &p->rec);
		} else if (cw_ledger_commit(d->l, p->rec.json, &d->now, &gave_up, &bad, &e) != 0) {
			cw_warnx("%s", e.msg);
			d->store_failed = 1;
			r = CW_REC_STOP;
		}
	}
	if (d->held.len > 0)
		cw_ewrite_lines(stdout, d->held.data, d->held.len);
	return r;
}

static int
group_ahead(struct dedupe *d)
{
	json_t **recs = cw_calloc(d->npend, sizeof(*recs));
	struct timespec *mods = cw_calloc(d->npend, sizeof(*mods));
	struct cw_buf out = CW_BUF_INIT;
	int r;
	cw_err e;

	for (size_t i = 0; i < d->npend; i++) {
		recs[i] = d->pend[i].rec.json;
		mods[i] = d->pend[i].modified;
	}
	if (d->lost == NULL)
		d->lost = json_object();
	json_object_clear(d->lost);
	if (cw_ledger_prefetch(d->l, (const json_t *const *)recs, d->results ? NULL : mods,
	    d->npend, &d->now, &e) != 0) {
		cw_warnx("%s", e.msg);
		r = CW_REC_STOP;
	} else if ((r = group_open(d)) == CW_REC_OK) {
		/* A store that failed midway still commits what came before. */
		r = handle_all(d);
		if (cw_ledger_group_commit(d->l, lost_key, d->lost, &e) != 0) {
			cw_warnx("%s", e.msg);
			r = CW_REC_STOP;
		} else {
			out = d->held;
			d->held = (struct cw_buf)CW_BUF_INIT;
			if (redo_lost(d, &out) == CW_REC_STOP)
				r = CW_REC_STOP;
		}
	}
	if (r == CW_REC_STOP)
		d->store_failed = 1;
	cw_ledger_prefetch(d->l, NULL, NULL, 0, &d->now, &e);  /* this group's only */
	cw_buf_free(&out);
	cw_buf_reset(&d->held);
	for (size_t i = 0; i < d->npend; i++) {
		json_decref(d->pend[i].rec.json);
		free((char *)d->pend[i].rec.text);
	}
	d->npend = 0;
	free(recs);
	free(mods);
	return r == CW_REC_STOP ? CW_REC_STOP : CW_REC_OK;
}

static int
write_run_status(struct dedupe *d)
{
	const char *key;
	json_t *slot, *id;
	size_t i;
	cw_err e;

	json_object_foreach(d->last, key, slot) {
		struct cw_buf ids = CW_BUF_INIT;
		int r;

		json_array_foreach(json_object_get(slot, "ids"), i, id)
			cw_buf_addf(&ids, "%s%s", i ? "," : "", json_string_value(id));
		r = cw_ledger_run_status(d->l, strtoll(key, NULL, 10),
		    json_string_value(json_object_get(slot, "t")), ids.data ? ids.data : "", &e);
		cw_buf_free(&ids);
		if (r != 0) {
			cw_warnx("%s", e.msg);
			return CW_EXIT_FAIL;
		}
	}
	return CW_EXIT_OK;
}

/* suppress and unsuppress, of one person or from NDJSON: what they did. */
struct bulk {
	struct dedupe *d;
	int add;
	unsigned long emails, customers;  /* people named */
	unsigned long changed;  /* opt-outs made (suppress) or lifted (unsuppress) */
};

/*
 * Suppresses or unsuppresses one person (on is "email" or "customer"),
 * counted in b: 0, or -1 with e. Asks first whether the opt-out is there,
 * so that the count says what changed, not what was asked.
 */
static int
opt_out(struct bulk *b, const char *on, const char *value, cw_err *e)
{
	int was = cw_suppressed(cw_ledger_store(b->d->l), on, value, e);

	if (was < 0 || cw_ledger_suppress(b->d->l, on, value, b->add, &b->d->now, e) != 0)
		return -1;
	if (strcmp(on, "email") == 0)
		b->emails++;
	else
		b->customers++;
	b->changed += b->add ? !was : was;
	return 0;
}

/* "suppressed 2 email addresses and 1 customer id: 2 new, 1 already
 * suppressed", on stderr. */
static void
say_opt_outs(const struct bulk *b)
{
	char people[100] = "";

	if (b->emails > 0 || b->customers == 0)
		snprintf(people, sizeof(people), "%lu email address%s%s", b->emails,
		    b->emails == 1 ? "" : "es", b->customers > 0 ? " and " : "");
	if (b->customers > 0)
		snprintf(people + strlen(people), sizeof(people) - strlen(people),
		    "%lu customer id%s", b->customers, b->customers == 1 ? "" : "s");
	fprintf(stderr, "%s: %s %s: %lu %s, %lu %s\n", program_invocation_short_name,
	    b->add ? "suppressed" : "unsuppressed", people, b->changed,
	    b->add ? "new" : b->changed == 1 ? "opt-out lifted" : "opt-outs lifted",
	    b->emails + b->customers - b->changed, b->add ? "already suppressed" : "had none");
}

static int
bulk_line(const struct cw_rec *rec, void *ctx)
{
	struct bulk *b = ctx;
	const char *email = cw_json_istr(rec->json, "email");
	const char *cust = cw_json_istr(rec->json, "customerId");
	cw_err e;

	if (cust == NULL)
		cust = cw_json_istr(rec->json, "CustomerId");
	if ((email == NULL || *email == '\0') == (cust == NULL || *cust == '\0')) {
		cw_rec_warn(rec, "expected one of \"email\" or \"customerId\"");
		return CW_REC_BAD;
	}
	/* An opt-out of what is no address would hold nobody back; one made by an
	 * earlier version can still be lifted. */
	if (b->add && email != NULL && cw_email_check(email, CW_EMAIL_RECIPIENT, &e) != 0) {
		cw_rec_warn(rec, "\"email\" is not an address (%s); not suppressed", e.msg);
		return CW_REC_BAD;
	}
	if (opt_out(b, email ? "email" : "customer", email ? email : cust, &e) != 0) {
		cw_warnx("%s", e.msg);
		b->d->store_failed = 1;
		return CW_REC_STOP;
	}
	return CW_REC_OK;
}

/*
 * import, per line: the .NET sample's run-status document, as exported from
 * its Cosmos DB container, made the store's own so that the first filter run
 * honours its watermark on any store.
 */
static int
import_line(const struct cw_rec *rec, void *ctx)
{
	struct dedupe *d = ctx;
	const char *id = cw_json_istr(rec->json, "id"), *oun = cw_json_istr(rec->json, "oun");
	const char *last = cw_json_istr(rec->json, "lastSuceessfulCompletionDateTime");
	const char *ids = cw_json_istr(rec->json, "lastProcessedCartIds"), *colon;
	struct timespec t;
	char *end;
	long long channel;
	cw_err e;

	colon = id != NULL ? strrchr(id, ':') : NULL;
	channel = colon != NULL ? strtoll(colon + 1, &end, 10) : 0;
	if (colon == NULL || *end != '\0' || channel <= 0 || oun == NULL ||
	    strlen(oun) != (size_t)(colon - id) || strncmp(id, oun, strlen(oun)) != 0 ||
	    last == NULL || cw_iso8601_parse(last, &t) != 0) {
		cw_rec_warn(rec, "not the sample's run-status document: needs \"id\": "
		    "\"<OUN>:<channel>\", \"oun\" and \"lastSuceessfulCompletionDateTime\"");
		return CW_REC_BAD;
	}
	if (strcmp(oun, d->oun) != 0) {
		cw_rec_warn(rec, "operating unit %s is not this configuration's (%s)", oun, d->oun);
		return CW_REC_BAD;
	}
	if (cw_ledger_run_status(d->l, channel, last, ids ? ids : "", &e) != 0) {
		cw_warnx("%s", e.msg);
		d->store_failed = 1;
		return CW_REC_STOP;
	}
	d->imported++;
	return CW_REC_OK;
}

/* status as text: its lines, written at once (an EPIPE seen as it happens). */
static void
print_status(const json_t *st)
{
	const json_t *counts = json_object_get(st, "counts"), *v, *r;
	struct cw_buf b = CW_BUF_INIT;
	const char *k;
	size_t i;

	cw_buf_addf(&b, "store: %s\n", json_string_value(json_object_get(st, "store")));
	json_object_foreach((json_t *)counts, k, v)
		cw_buf_addf(&b, "%s: %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
	cw_buf_addf(&b, "live claims: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "liveClaims")));
	cw_buf_addf(&b, "expired claims: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "expiredClaims")));
	cw_buf_addf(&b, "oldest live claim: %s\n",
	    json_is_string(json_object_get(st, "oldestLiveClaim")) ?
	    json_string_value(json_object_get(st, "oldestLiveClaim")) : "none");
	cw_buf_addf(&b, "suppressions: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "suppressions")));
	json_array_foreach(json_object_get(st, "runStatus"), i, r)
		cw_buf_addf(&b, "run status %s: last %s, carts %s\n", cw_json_istr(r, "id"),
		    cw_json_istr(r, "lastSuceessfulCompletionDateTime"),
		    cw_json_istr(r, "lastProcessedCartIds"));
	cw_ewrite_lines(stdout, b.data, b.len);
	cw_buf_free(&b);
}

/*
 * A preview sends nothing: it must not use up the ledger (claims would block,
 * results would mark the carts done), whatever the flags say.
 */
static void
dry_run(struct dedupe *d, const struct args *a, const char *nothing)
{
	int dry = (a->given & A_DRY) != 0;

	if (!dry && strcmp(d->provider, "preview") == 0) {
		cw_warnx("note: Cartwatch.Notify.Provider is \"preview\": a dry run for the "
		    "ledger, %s", nothing);
		dry = 1;
	}
	if (dry)
		cw_ledger_dry_run(d->l);
}

static int
run_commit(struct dedupe *d, const struct args *a)
{
	int code;

	dry_run(d, a, "nothing is recorded");
	d->ahead = cw_ledger_reads_ahead(d->l);
	d->results = 1;
	code = cw_ndjson_loop_flush(stdin, "<stdin>", commit, d, &grouping, NULL);
	if (!d->failures && !d->store_failed && code == CW_EXIT_OK)
		code = write_run_status(d);
	return code;
}

/*
 * The run named in CARTWATCH_RUN_ID (pipeline.sh names each run), for
 * claims that a later release of the same run may let go: 0 when it is
 * unset and not needed, or named; else a message and CW_EXIT_USAGE.
 */
static int
name_run(struct dedupe *d, int needed)
{
	const char *run = getenv("CARTWATCH_RUN_ID");
	cw_err e;

	if (run == NULL && !needed)
		return CW_EXIT_OK;
	if (run == NULL) {
		cw_warnx("CARTWATCH_RUN_ID is not set: it names the run whose claims to release");
		return CW_EXIT_USAGE;
	}
	if (cw_ledger_name_run(d->l, run, &e) != 0) {
		cw_warnx("CARTWATCH_RUN_ID: %s", e.msg);
		return CW_EXIT_USAGE;
	}
	return CW_EXIT_OK;
}

static int
run_filter(struct dedupe *d, const struct args *a)
{
	struct timespec until;
	char end[CW_ISO8601_MAX];
	int code;

	if (a->given & A_COMMIT)
		return run_commit(d, a);
	if ((code = name_run(d, 0)) != CW_EXIT_OK)
		return code;
	dry_run(d, a, "nothing is claimed");
	d->ahead = cw_ledger_reads_ahead(d->l);
	if ((d->quiet_now = cw_quiet_inside(&d->quiet, &d->now, &until)))
		cw_warnx("quiet hours (Cartwatch.QuietHours) until %s: nothing is claimed",
		    cw_iso8601_format(&until, end));
	code = cw_ndjson_loop_flush(stdin, "<stdin>", filter, d, &filtering, NULL);
	if (d->quiet_now)
		cw_warnx("%lu reminder%s wait for the end of the quiet hours", d->deferred,
		    d->deferred == 1 ? "" : "s");
	return code;
}

/*
 * The token of suppress --token, from the argument or, for "-", standard
 * input: one line, where no other user of the machine can read it as they
 * can read argv. NULL with e when stdin cannot be read (CW_EXIT_FAIL in *code)
 * or holds more than the longest token and a CRLF, which no token does
 * (CW_EXIT_USAGE).
 */
static char *
token_arg(const char *arg, int *code, cw_err *e)
{
	/* room for the longest token, CRLF, and one byte more to tell */
	char buf[CW_UNSUB_TOKEN_MAX + 4];
	size_t n;

	if (strcmp(arg, "-") != 0)
		return cw_strdup(arg);
	n = fread(buf, 1, sizeof(buf) - 1, stdin);
	if (ferror(stdin)) {
		*code = CW_EXIT_FAIL;
		cw_seterr(e, "<stdin>: %s", strerror(errno));
		return NULL;
	}
	if (n == sizeof(buf) - 1) {
		*code = CW_EXIT_USAGE;
		cw_seterr(e, "token refused: the token is longer than any this tool makes "
		    "(%d characters); nothing suppressed", CW_UNSUB_TOKEN_MAX);
		return NULL;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return cw_strdup(buf);
}

/*
 * suppress --token: the address a token signed with the vault's key names
 * (doc/DESIGN.md 8.6) is suppressed. A token refused for what it is (altered,
 * forged, malformed) exits CW_EXIT_USAGE with nothing suppressed: asking
 * again will not help; a vault or store that failed exits CW_EXIT_FAIL.
 */
static int
suppress_token(struct dedupe *d, const char *arg)
{
	struct bulk b = {d, 1, 0, 0, 0};
	char *token, *addr = NULL;
	int r, code = CW_EXIT_USAGE;
	cw_err e;

	if ((r = cw_unsub_open(&d->unsub, d->t->vault, &e)) != 0)
		return cw_tool_exit(r, &e);
	if ((token = token_arg(arg, &code, &e)) == NULL) {
		cw_warnx("%s", e.msg);
		return code;
	}
	if (cw_unsub_check(d->unsub.key, strlen(d->unsub.key), token, &addr, &e) != 0) {
		cw_warnx("token refused: %s; nothing suppressed", e.msg);
		free(token);
		return CW_EXIT_USAGE;
	}
	r = opt_out(&b, "email", addr, &e);
	if (r != 0)
		cw_warnx("%s", e.msg);
	else  /* not the address: the page that calls this may log what it says */
		fprintf(stderr, "%s: suppressed the address the token names: %s\n",
		    program_invocation_short_name, b.changed ? "new" : "it was already");
	free(addr);
	free(token);
	return r != 0 ? CW_EXIT_FAIL : CW_EXIT_OK;
}

/*
 * How far back each import asks SendGrid again, before the last one started:
 * an entry SendGrid writes with an earlier "created" than when it shows up is
 * still read. Suppressing an address twice is harmless.
 */
#define IMPORT_OVERLAP_S 3600

/* What one list of an import did, for its line of the summary. */
struct imported {
	unsigned long addresses, fresh, invalid;
};

/*
 * Suppresses each valid address of emails (what list of the provider
 * holds), counting in *n those not suppressed before. An invalid one is
 * skipped with a warning naming the list, not the address (personal data).
 * 0, or -1 when the store failed (said).
 */
static int
import_list(struct dedupe *d, const char *list, const json_t *emails,
    struct imported *n)
{
	struct cw_docstore *store = cw_ledger_store(d->l);
	const json_t *v;
	size_t i;
	int r;
	cw_err e;

	json_array_foreach(emails, i, v) {
		const char *m = json_string_value(v);

		if (cw_email_check(m != NULL ? m : "", CW_EMAIL_RECIPIENT, &e) != 0) {
			cw_warnx("%s %s: entry %zu skipped: not an address (%s)",
			    d->src.provider, list, i + 1, m != NULL ? e.msg : "no \"email\"");
			n->invalid++;
			continue;
		}
		n->addresses++;
		if ((r = cw_suppressed(store, "email", m, &e)) == 0)
			r = cw_ledger_suppress(d->l, "email", m, 1, &d->now, &e) != 0 ? -1 : 2;
		if (r < 0) {
			cw_warnx("%s", e.msg);
			return -1;
		}
		n->fresh += r == 2;
	}
	if (d->src.cap > 0 && json_array_size(emails) >= (size_t)d->src.cap)
		cw_warnx("%s %s: %ld entries, the most it answers with: older ones may "
		    "be left out", d->src.provider, list, d->src.cap);
	return 0;
}

/* Reads every list of d->src (lists[i] into got[i]) with key: 0, or -1 said. */
static int
import_read(struct dedupe *d, const char *key, json_t **got)
{
	const char *const *lists = d->src.lists;
	long long since = -1;
	int r;
	cw_err e;

	if ((r = cw_supimport_mark(cw_ledger_store(d->l), d->src.provider, &since, &e)) < 0) {
		cw_warnx("%s", e.msg);
		return -1;
	}
	since = r == 1 ? since - IMPORT_OVERLAP_S : -1;
	for (size_t i = 0; lists[i] != NULL; i++)
		if (cw_supsource_read(d->t->http, &d->src, key, lists[i], since, &got[i],
		    &e) != 0) {
			cw_warnx("%s; nothing imported", e.msg);
			return -1;
		}
	return 0;
}

/* A write the store held in the group and then could not make. */
static void
import_lost(const char *key, void *ctx)
{
	(void)key;
	(*(unsigned long *)ctx)++;
}

/*
 * Suppresses what got holds (d->src's lists, counted into n) in one store
 * group: one sync for a list of any length, and on SQLite all or nothing.
 * The mark moves to when this import started only once the group is
 * durable. 0, or -1 said.
 */
static int
import_all(struct dedupe *d, json_t *const *got, struct imported *n)
{
	const char *const *lists = d->src.lists;
	unsigned long lost = 0;
	cw_err e;

	if (cw_ledger_group_begin(d->l, &e) != 0) {
		cw_warnx("%s", e.msg);
		return -1;
	}
	for (size_t i = 0; lists[i] != NULL; i++)
		if (import_list(d, lists[i], got[i], &n[i]) != 0)
			return -1;  /* the group is dropped as the store closes */
	if (cw_ledger_group_commit(d->l, import_lost, &lost, &e) != 0) {
		cw_warnx("%s", e.msg);
		return -1;
	}
	/* The mark stays: the next import reads what this one read again. */
	if (lost > 0) {
		cw_warnx("%s: %lu write%s of the import did not take: run it again",
		    cw_ledger_store(d->l)->where, lost, lost == 1 ? "" : "s");
		return -1;
	}
	if (cw_supimport_set_mark(cw_ledger_store(d->l), d->src.provider,
	    (long long)d->now.tv_sec, &e) != 0) {
		cw_warnx("%s", e.msg);
		return -1;
	}
	return 0;
}

/*
 * suppress --import: every list of the provider read whole first, so that a
 * refused key or a service down imports nothing; then every address
 * suppressed and the mark moved, together.
 */
static int
suppress_import(struct dedupe *d)
{
	json_t *got[8] = {NULL};
	struct imported n[8] = {{0, 0, 0}};
	const char *const *lists = d->src.lists;
	char *key = NULL;
	int code = CW_EXIT_FAIL;
	size_t i;
	cw_err e;

	if (cw_vault_get(d->t->vault, d->src.secret_name, &key, &e) != 0)
		cw_warnx("%s; nothing imported", e.msg);
	else if (import_read(d, key, got) == 0 && import_all(d, got, n) == 0)
		code = CW_EXIT_OK;
	for (i = 0; lists[i] != NULL && code == CW_EXIT_OK; i++) {
		char bad[48] = "";

		if (n[i].invalid > 0)
			snprintf(bad, sizeof(bad), ", %lu invalid skipped", n[i].invalid);
		fprintf(stderr, "%s: %s %s: %lu address%s, %lu new%s\n",
		    program_invocation_short_name, d->src.provider, lists[i],
		    n[i].addresses, n[i].addresses == 1 ? "" : "es", n[i].fresh, bad);
	}
	for (i = 0; lists[i] != NULL; i++)
		json_decref(got[i]);
	cw_secret_free(key);
	return code;
}

/* suppress, unsuppress: one person from the options, or NDJSON on stdin. */
static int
run_suppress(struct dedupe *d, const struct args *a, int add)
{
	struct bulk b = {d, add, 0, 0, 0};
	int code = CW_EXIT_OK;
	cw_err e;

	if (a->token != NULL)
		return suppress_token(d, a->token);
	if (a->import != NULL)
		return suppress_import(d);
	if (a->email == NULL && a->customer == NULL)
		code = cw_ndjson_loop(stdin, "<stdin>", bulk_line, &b, NULL);
	else if (opt_out(&b, a->email ? "email" : "customer",
	    a->email ? a->email : a->customer, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	if (!d->store_failed)
		say_opt_outs(&b);
	return code;
}

static int
run_add(struct dedupe *d, const struct args *a)
{
	return run_suppress(d, a, 1);
}

static int
run_remove(struct dedupe *d, const struct args *a)
{
	return run_suppress(d, a, 0);
}

/* What prune says when it is done: "pruned 3 records". */
static int
removed_ok(const char *verb, unsigned long removed)
{
	fprintf(stderr, "%s: %s %lu record%s\n", program_invocation_short_name, verb,
	    removed, removed == 1 ? "" : "s");
	return CW_EXIT_OK;
}

/*
 * forget keeps (or makes) the opt-out unless --and-unsuppress: erasing the
 * ledger makes every cart of the person owed again, and a person erased on
 * request does not want the next run's reminder.
 */
static int
run_forget(struct dedupe *d, const struct args *a)
{
	const char *on = a->email ? "email" : "customer";
	const char *who = a->email ? a->email : a->customer;
	int keep = (a->given & A_UNSUP) == 0;
	unsigned long removed = 0;
	int was;
	cw_err e;

	if ((was = cw_suppressed(cw_ledger_store(d->l), on, who, &e)) < 0 ||
	    cw_ledger_forget(d->l, on, who, keep, &d->now, &removed, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	fprintf(stderr, "%s: forgot %lu record%s; %s\n", program_invocation_short_name,
	    removed, removed == 1 ? "" : "s",
	    !keep ? "no opt-out is left: later carts may be reminded" :
	    was ? "the opt-out is kept: never reminded again" :
	    "an opt-out is made: never reminded again");
	return CW_EXIT_OK;
}

static int
run_prune(struct dedupe *d, const struct args *a)
{
	unsigned long removed = 0;
	cw_err e;

	(void)a;
	if (cw_ledger_prune(d->l, &d->now, &removed, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	return removed_ok("pruned", removed);
}

static int
run_status(struct dedupe *d, const struct args *a)
{
	json_t *st;
	cw_err e;

	if (cw_ledger_status(d->l, &d->now, &st, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	if (a->given & A_JSON)
		cw_ewrite_json(stdout, st);
	else
		print_status(st);
	json_decref(st);
	return CW_EXIT_OK;
}

/* Where the state lives, without opening it: for scripts. */
static int
run_where(struct dedupe *d, const struct args *a)
{
	char *where = cw_docstore_where(&d->sc);

	(void)a;
	cw_ewrite_line(stdout, where, strlen(where));
	free(where);
	cw_eoutput_finish();
	return CW_EXIT_OK;
}

/*
 * config: the effective configuration as plain JSON (cw_config_effective:
 * comments gone, defaults filled in, secrets masked), for cartwatch-run
 * --print-config and jq. Opens nothing.
 */
static int
run_config(struct dedupe *d, const struct args *a)
{
	json_t *doc = cw_config_effective(d->t->cfg);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	(void)a;
	if (text == NULL)
		cw_errx(CW_EXIT_FAIL, "out of memory");
	cw_ewrite_line(stdout, text, strlen(text));
	cw_eoutput_finish();
	free(text);
	json_decref(doc);
	return CW_EXIT_OK;
}

static int
run_import(struct dedupe *d, const struct args *a)
{
	int code = cw_ndjson_loop(stdin, "<stdin>", import_line, d, NULL);

	(void)a;
	if (!d->store_failed)
		fprintf(stderr, "%s: imported %lu run-status document%s\n",
		    program_invocation_short_name, d->imported, d->imported == 1 ? "" : "s");
	return code;
}

/* release: what it let go of, and what it left. */
struct release {
	struct dedupe *d;
	unsigned long released, left;
};

/* release, per record: the claim on its notificationId, if this run holds it. */
static int
release_line(const struct cw_rec *rec, void *ctx)
{
	struct release *n = ctx;
	const char *key = cw_json_istr(rec->json, "notificationId");
	cw_err e;
	int r;

	if (key == NULL || *key == '\0') {
		cw_rec_warn(rec, "expected a \"notificationId\"");
		return CW_REC_BAD;
	}
	if ((r = cw_ledger_release(n->d->l, key, &n->d->now, &e)) == CW_LEDGER_CORRUPT) {
		cw_rec_warn(rec, "%s; not released", e.msg);
		return CW_REC_BAD;
	}
	if (r < 0) {
		cw_warnx("%s", e.msg);
		n->d->store_failed = 1;
		return CW_REC_STOP;
	}
	if (r == 1)
		n->released++;
	else
		n->left++;
	return CW_REC_OK;
}

/*
 * release: the claims this run (CARTWATCH_RUN_ID) still holds on the
 * records read, which will get no result (a stage dropped them or did not
 * start), let go now rather than when their lease runs out.
 */
static int
run_release(struct dedupe *d, const struct args *a)
{
	struct release n = {d, 0, 0};
	int code;

	(void)a;
	if ((code = name_run(d, 1)) != CW_EXIT_OK)
		return code;
	code = cw_ndjson_loop(stdin, "<stdin>", release_line, &n, NULL);
	fprintf(stderr, "%s: released %lu claim%s of run %s; %lu not held by it\n",
	    program_invocation_short_name, n.released, n.released == 1 ? "" : "s",
	    getenv("CARTWATCH_RUN_ID"), n.left);
	return code;
}

static int
run_resend(struct dedupe *d, const struct args *a)
{
	const char *was;
	cw_err e;
	int r = cw_ledger_resend(d->l, a->notification, &d->now, &was, &e);

	if (r < 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	if (r == 0) {
		cw_warnx("no entry for notification %s", a->notification);
		return CW_EXIT_FAIL;
	}
	fprintf(stderr, "%s: notification %s (%s) is owed again: the next run sends it if "
	    "its cart is still in the window\n", program_invocation_short_name,
	    a->notification, was);
	return CW_EXIT_OK;
}

/*
 * report: the recovery report (doc/DESIGN.md section 8 item 8). Its options, in
 * the bits above those of the other commands'.
 */
enum { A_REPORT = 0x100, A_IMPORT = 0x200 };
enum { O_DAYS = 0x1000, O_SINCE, O_HTML, O_IMPORT = 0x2000 };
#define IMPORT_OPTION {"import", required_argument, NULL, O_IMPORT}
#define REPORT_OPTIONS \
	{"days", required_argument, NULL, O_DAYS}, \
	{"since", required_argument, NULL, O_SINCE}, \
	{"html", required_argument, NULL, O_HTML}
#define REPORT_DAYS 30  /* without --days or --since */

/* One of report's options, or a usage error. */
static void
report_option(int ch, struct args *a)
{
	if (ch == O_IMPORT) {  /* suppress --import, not report's */
		a->import = optarg;
		a->given |= A_IMPORT;
		return;
	}
	switch (ch) {
	case O_DAYS: a->days = (long)cw_eopt_int("--days", optarg, 1, 3650); break;
	case O_SINCE: a->since = optarg; break;
	case O_HTML: a->html = optarg; break;
	default: usage(stderr, CW_EXIT_USAGE);
	}
	a->given |= A_REPORT;
}

/* Where the report starts, and its period in words, from the options. */
static void
report_since(const struct dedupe *d, const struct args *a, struct timespec *since,
    char *period, size_t n)
{
	char from[CW_ISO8601_MAX], now[CW_ISO8601_MAX];

	if ((a->days != 0 && a->since != NULL) || (a->html != NULL && (a->given & A_JSON)))
		usage(stderr, CW_EXIT_USAGE);
	cw_iso8601_format(&d->now, now);
	if (a->since != NULL) {
		if (cw_iso8601_parse(a->since, since) != 0)
			cw_errx(CW_EXIT_USAGE, "--since: not an ISO 8601 time: \"%s\"", a->since);
		snprintf(period, n, "reminders since %s, as of %s", cw_iso8601_format(since, from),
		    now);
		return;
	}
	/* the last N UTC days, today included */
	since->tv_sec = d->now.tv_sec - d->now.tv_sec % 86400 -
	    (a->days != 0 ? a->days - 1 : REPORT_DAYS - 1) * 86400L;
	since->tv_nsec = 0;
	cw_iso8601_format(since, from);
	from[10] = '\0';
	snprintf(period, n, "reminders of the UTC days since %s, as of %s", from, now);
}

/*
 * Attribution, the report's own (cart-dedupe(1) REPORT): asks Retail Server
 * for the orders of the customers whose sent reminders are not settled yet,
 * and keeps what it learns in the store. 0, or CW_EXIT_USAGE or
 * CW_EXIT_FAIL having said why; *failed set when some orders could not be
 * read (the figures are still made, without them).
 */
static int
attribute(struct dedupe *d, json_t *entries, int *failed)
{
	struct cw_config *cfg = d->t->cfg;
	long days = (long)cw_config_int(cfg, "Cartwatch.Report.AttributionDays");
	int in_flight = (int)cw_config_int(cfg, "Cartwatch.Notify.MaxInFlight");
	struct cw_retail_opts ro = {0};
	struct cw_vault *vault = d->t->vault;
	struct cw_retail *rs = NULL;
	size_t asked = 0;
	long r = 0;
	char *url = NULL;
	cw_err e;

	if (cw_recovery_unsettled(entries, days) > 0) {
		cw_retail_config(&ro, cfg);
		if (vault == NULL)
			url = cw_vault_url_config(cfg);
		cw_warn_lines(cw_config_take_said(cfg));
		if (cw_config_errors(cfg) != 0) {
			free(url);
			return CW_EXIT_USAGE;
		}
		if ((url != NULL && cw_vault_open(url, d->t->http, &vault, &e) != 0) ||
		    (rs = cw_retail_open(&ro, d->t->http, vault, &e)) == NULL) {
			/* the figures still come, with what the store knows */
			cw_warnx("%s; no recoveries looked up", e.msg);
			*failed = 1;
		} else
			r = cw_recovery_attribute(cw_ledger_store(d->l), rs, entries, days,
			    in_flight, &d->now, &asked, &e);
		cw_retail_close(rs);
		if (url != NULL)
			cw_vault_close(vault);
		free(url);
	}
	cw_warnx("asked Retail Server for %zu customer%s orders", asked,
	    asked == 1 ? "'s" : "s'");
	if (r < 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	if (r > 0) {
		cw_warnx("the orders of %ld customer%s could not be read (%s): their reminders "
		    "count as not recovered until a later report reads them", r, r == 1 ? "" : "s",
		    e.msg);
		*failed = 1;
	}
	return 0;
}

static int
run_report(struct dedupe *d, const struct args *a)
{
	struct timespec since;
	char period[200];
	json_t *entries, *rows, *total, *row;
	struct cw_buf out = CW_BUF_INIT;
	int failed = 0, code;
	size_t i;
	cw_err e;

	report_since(d, a, &since, period, sizeof(period));
	if (cw_recovery_read(cw_ledger_store(d->l), d->oun, &since, &entries, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	if ((code = attribute(d, entries, &failed)) != 0) {
		json_decref(entries);
		return code;
	}
	rows = cw_recovery_figures(entries);
	total = cw_recovery_total(rows);
	if (a->given & A_JSON)
		json_array_foreach(rows, i, row)
			cw_ewrite_json(stdout, row);
	else if (a->html != NULL) {
		cw_report_html(&out, rows, total, period);
		if (cw_report_write(a->html, out.data, out.len, &e) != 0) {
			cw_warnx("%s", e.msg);
			failed = 1;
		} else
			fprintf(stderr, "%s: wrote the report to %s\n",
			    program_invocation_short_name, a->html);
	} else {
		cw_report_table(&out, rows, total, period);
		cw_ewrite_lines(stdout, out.data, out.len);
	}
	cw_buf_free(&out);
	json_decref(total);
	json_decref(rows);
	json_decref(entries);
	return failed ? CW_EXIT_FAIL : CW_EXIT_OK;
}

/*
 * --check-config, --check (the stage's, with or without --commit): the keys
 * the stage reads, then whether a run could open its store. The row does not
 * open the store (d->l is NULL): the check makes nothing.
 */
enum { A_CHECK = 0x400 };

static int
run_check(struct dedupe *d, const struct args *a)
{
	struct cw_check k = CW_CHECK_INIT;

	if (cw_tool_check_open(d->t, a->check, &k) == 0)
		cw_docstore_check(&d->sc, d->t->http, d->t->vault, &k);
	return cw_tool_check_done(&k);
}

/* In the order of the manual's synopsis; "filter" is the default, "check"
 * the default with --check or --check-config. */
static const struct cmd cmds[] = {
	{"filter", A_COMMIT | A_DRY, 0, 0, 1, "[--commit | --dry-run]", run_filter},
	{"check", A_CHECK | A_COMMIT | A_DRY, A_CHECK, 0, 0,
	    "[--commit] --check | --check-config", run_check},
	{"commit", 0, 0, 0, 1, NULL, run_commit},
	{"suppress", A_PERSON | A_TOKEN | A_IMPORT, 0, 0, 1,
	    "suppress [--email ADDR | --customer ID | --token TOKEN |\n"
	    "           --import sendgrid | mandrill]", run_add},
	{"unsuppress", A_PERSON, 0, 0, 1, "unsuppress [--email ADDR | --customer ID]",
	    run_remove},
	{"forget", A_PERSON | A_KEEP | A_UNSUP, A_PERSON, 0, 1,
	    "forget --email ADDR | --customer ID [--and-unsuppress]", run_forget},
	{"prune", 0, 0, 0, 1, "prune", run_prune},
	{"status", A_JSON, 0, 0, 1, "status [--json]", run_status},
	{"where", 0, 0, 0, 0, "where | import", run_where},
	{"import", 0, 0, 0, 1, NULL, run_import},
	{"resend", 0, 0, 1, 1, "resend NOTIFICATION-ID", run_resend},
	{"release", 0, 0, 0, 1, "release < RECORDS", run_release},
	{"config", 0, 0, 0, 0, "config", run_config},
	{"report", A_JSON | A_REPORT, 0, 0, 1,
	    "report [--days N | --since ISO] [--json | --html FILE]", run_report},
	{NULL, 0, 0, 0, 0, NULL, NULL}
};

/* Commands whose output people read, maybe through head(1), rather than a
 * stage: cw_output_reader_may_stop. */
static int
for_people(const struct cmd *c)
{
	return c->run == run_status || c->run == run_where || c->run == run_report ||
	    c->run == run_config;
}

/* The options behind each A_ bit, for a usage error to name them. */
static const struct {
	unsigned bit;
	const char *opts;
} bit_opts[] = {
	{A_PERSON, "--email or --customer"}, {A_KEEP, "--keep-suppression"},
	{A_JSON, "--json"}, {A_COMMIT, "--commit"}, {A_DRY, "--dry-run"},
	{A_TOKEN, "--token"}, {A_UNSUP, "--and-unsuppress"},
	{A_REPORT, "--days, --since or --html"}, {A_IMPORT, "--import"},
	{A_CHECK, "--check or --check-config"}, {0, NULL}
};

/* What is wrong with the options and operands a gives c, in words (in buf),
 * or NULL when they fit. */
static const char *
misuse(const struct cmd *c, const struct args *a, char *buf, size_t n)
{
	const char *name = c->run == run_filter ? "the filter" : c->name;
	unsigned one = a->given & (A_TOKEN | A_PERSON | A_IMPORT);

	if (c->operand && a->notification == NULL)
		snprintf(buf, n, "%s: needs a notification id", name);
	else if (a->email != NULL && a->customer != NULL)
		snprintf(buf, n, "%s: --email or --customer, not both", name);
	else if ((one & (one - 1)) != 0)
		snprintf(buf, n, "%s: one of --email, --customer, --token or --import", name);
	else if ((a->given & A_COMMIT) && (a->given & A_DRY))
		snprintf(buf, n, "--commit or --dry-run, not both");
	else if ((a->given & A_KEEP) && (a->given & A_UNSUP))
		snprintf(buf, n, "%s: --keep-suppression or --and-unsuppress, not both", name);
	else
		*buf = '\0';
	for (size_t i = 0; *buf == '\0' && bit_opts[i].opts != NULL; i++)
		if (a->given & ~c->takes & bit_opts[i].bit)
			snprintf(buf, n, "%s: not an option of %s", bit_opts[i].opts, name);
		else if (c->needs & ~a->given & bit_opts[i].bit)
			snprintf(buf, n, "%s: needs %s", name, bit_opts[i].opts);
	return *buf != '\0' ? buf : NULL;
}

/* The command argv names (or the filter), if its options and operands fit it. */
static const struct cmd *
command(int argc, char *argv[], struct args *a)
{
	const char *name = optind < argc ? argv[optind++] : a->check ? "check" : "filter";
	const struct cmd *c;
	char why[120];
	cw_err e;

	for (c = cmds; c->name != NULL && strcmp(c->name, name) != 0; c++)
		;
	if (c->name == NULL) {
		cw_warnx("unknown command: %s", name);
		usage(stderr, CW_EXIT_USAGE);
	}
	if (c->operand && optind < argc)
		a->notification = argv[optind++];
	if (optind < argc) {
		cw_warnx("%s: unexpected argument: %s", c->name, argv[optind]);
		usage(stderr, CW_EXIT_USAGE);
	}
	if (misuse(c, a, why, sizeof(why)) != NULL) {
		cw_warnx("%s", why);
		usage(stderr, CW_EXIT_USAGE);
	}
	/* An opt-out needs an address that could be mailed; unsuppress and forget
	 * take any, to undo what an earlier version accepted. */
	if (c->run == run_add && a->email != NULL &&
	    cw_email_check(a->email, CW_EMAIL_RECIPIENT, &e) != 0)
		cw_errx(CW_EXIT_USAGE, "--email: not an email address: \"%s\" (%s); nothing "
		    "suppressed", a->email, e.msg);
	return c;
}

/* Reads the keys d and t need: 0, or CW_ERR_CONFIG with e saying why. */
static int
configure(struct dedupe *d, struct cw_tool *t, const struct args *a,
    struct cw_ledger_opts *lo, cw_err *e)
{
	cw_err ce;

	cw_docstore_config(&d->sc, t->cfg);
	/* The default step's event is Emarsys's; the ledger reads no provider keys. */
	cw_ledger_config(lo, t->cfg, cw_config_str(t->cfg, "EmarsysClientOptions.ExternalEventId"));
	d->provider = cw_config_str(t->cfg, "Cartwatch.Notify.Provider");
	cw_quiet_config(&d->quiet, t->cfg);
	/* The vault only when the store's key lives there, or for the key
	 * that signs unsubscribe tokens. */
	if (a->given & A_TOKEN)
		cw_unsub_config(&d->unsub, t->cfg);
	if ((a->given & A_IMPORT) && cw_supsource_config(&d->src, t->cfg, a->import, e) != 0)
		return CW_ERR_CONFIG;
	if (cw_docstore_needs_vault(&d->sc) || (a->given & (A_TOKEN | A_IMPORT)))
		t->vault_url = cw_vault_url_config(t->cfg);
	d->t = t;
	if (cw_now(&d->now, e) != 0) {
		cw_tool_check(t, &ce);  /* its problems are reported as they are read */
		return CW_ERR_CONFIG;
	}
	d->oun = lo->oun;
	d->resend_uncertain = lo->resend_uncertain;
	return cw_tool_check(t, e);
}

static void
dedupe_free(struct dedupe *d)
{
	json_decref(d->last);
	json_decref(d->lost);
	free(d->pend);
	cw_buf_free(&d->held);
	cw_ledger_free(d->l);
	cw_unsub_free(&d->unsub);
}

/* Parses the options into a (getopt's optind after them), or a usage error. */
static void
options(int argc, char *argv[], struct args *a)
{
	enum { O_EMAIL = 256, O_CUSTOMER, O_KEEP, O_JSON, O_COMMIT, O_DRY, O_TOKEN, O_UNSUP };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"commit", no_argument, NULL, O_COMMIT},
		{"dry-run", no_argument, NULL, O_DRY},
		{"email", required_argument, NULL, O_EMAIL},
		{"customer", required_argument, NULL, O_CUSTOMER},
		{"token", required_argument, NULL, O_TOKEN}, IMPORT_OPTION,
		{"keep-suppression", no_argument, NULL, O_KEEP},
		{"and-unsuppress", no_argument, NULL, O_UNSUP},
		{"json", no_argument, NULL, O_JSON}, REPORT_OPTIONS,
		{"check-config", no_argument, NULL, CW_O_CHECK_CONFIG},
		{"check", no_argument, NULL, CW_O_CHECK},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case O_COMMIT: a->given |= A_COMMIT; break;
		case O_DRY: a->given |= A_DRY; break;
		case O_EMAIL: a->email = optarg; a->given |= A_PERSON; break;
		case O_CUSTOMER: a->customer = optarg; a->given |= A_PERSON; break;
		case O_TOKEN: a->token = optarg; a->given |= A_TOKEN; break;
		case O_KEEP: a->given |= A_KEEP; break;
		case O_UNSUP: a->given |= A_UNSUP; break;
		case O_JSON: a->given |= A_JSON; break;
		case CW_O_CHECK: case CW_O_CHECK_CONFIG: a->check = ch; a->given |= A_CHECK; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); exit(CW_EXIT_OK);
		default: report_option(ch, a);
		}
	}
}

int
main(int argc, char *argv[])
{
	struct dedupe d = {0};
	struct args a = {0};
	struct cw_ledger_opts lo = {0};
	struct cw_docstore *store = NULL;
	struct cw_tool t = {0};
	const struct cmd *c;
	int code;
	cw_err e;

	options(argc, argv, &a);
	c = command(argc, argv, &a);
	if (for_people(c))
		cw_output_reader_may_stop();
	d.last = json_object();
	if ((code = cw_tool_load(&t, a.config, 0, &e)) != 0 ||
	    (code = configure(&d, &t, &a, &lo, &e)) != 0 ||
	    (c->opens && (code = cw_tool_start(&t, &e)) != 0))
		code = cw_tool_exit(code, &e);
	else if (c->opens && (store = cw_docstore_open(&d.sc, t.http, t.vault, &e)) == NULL)
		code = cw_tool_exit(CW_ERR_SERVICE, &e);
	else {
		d.l = store != NULL ? cw_ledger_new(store, &lo) : NULL;
		code = c->run(&d, &a);
		if (d.store_failed || d.bad)
			code = CW_EXIT_FAIL;
	}
	dedupe_free(&d);
	cw_docstore_close(store);
	cw_ledger_opts_free(&lo);
	cw_docstore_cfg_free(&d.sc);
	return cw_tool_finish(&t, code);
}
