/* cart-notify: hand notifications to the email provider, one result per input line. */
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
#include "cw/core/util.h"
#include "cw/d365/retail.h"
#include "cw/net/email.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/net/unsubscribe.h"
#include "cw/notify/provider.h"
#include "cw/notify/purchase.h"
#include "cw/notify/registry.h"
#include "cw/notify/result.h"
#include "cw/state/docstore.h"
#include "cw/state/ledger.h"
#include "cw/state/stores.h"
#include "cw/tool/checkmode.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

/*
 * How long input may be quiet before what is queued is sent: a slow trickle
 * (a pipeline's upstream stage waiting on the network, a reminder or two at a
 * time) gets its results now rather than when a full batch has come. Long
 * enough that a stream read at full speed is never split: between two lines
 * of one, the wait is microseconds.
 */
#define IDLE_MS 200
/* Records read ahead together at most, with a store that reads ahead. */
#define AHEAD_RECORDS 100

/* A line waiting for its result; results leave in input order. */
struct line {
	json_t *rec;       /* NULL when the line was refused before sending */
	json_t *result;
};

struct notify {
	struct cw_provider *p;
	struct cw_docstore *store;  /* for opt-outs; NULL when there is none yet */
	struct cw_ledger *ledger;   /* marks claims "sending"; NULL with no store */
	struct timespec now;        /* the business clock, for the marks */
	/* What opening the store takes, at the first record (store_open). */
	struct cw_docstore_cfg sc;
	struct cw_ledger_opts lo;
	const struct cw_tool *t;
	int store_tried;
	struct line *q;
	size_t n, cap, sendable;
	struct cw_unsub unsub;      /* Cartwatch.Unsubscribe: url NULL for no links */
	int checks;        /* Cartwatch.Notify.CheckOptOuts */
	int purchases;     /* Cartwatch.StopOnPurchase, when sending for real */
	const char *to;    /* --to: a test send to this address instead */
	int in_flight;     /* Cartwatch.Notify.MaxInFlight */
	struct cw_retail_opts ro;
	struct cw_retail *rs;  /* for the order history; opened at the first check */
	int ahead;         /* the store reads ahead: opt-outs checked per batch */
	int stopped;       /* the provider cannot go on: fail the rest */
	int failed;        /* a whole request failed: exit 1 at the end */
	size_t previewed;  /* a dry run's emails written */
	char why[600];
};

static const struct cw_help help[] = {
	CW_HELP_CONFIG,
	{"--provider NAME", "emarsys, sendgrid, mandrill, smtp, webhook or preview "
	    "(default Cartwatch.Notify.Provider)"},
	{"--dry-run", "send nothing: write previews instead (--provider preview)"},
	{"--preview-dir DIR", "where the previews go; implies --dry-run"},
	{"--to ADDRESS", "a test send: every email goes to ADDRESS, nothing is recorded"},
	CW_HELP_CHECK,
	CW_HELP_END
};

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--provider NAME] [--dry-run] [--preview-dir DIR] "
	    "[--to ADDRESS]\n"
	    "       %s [-c FILE] [--provider NAME | --dry-run] --check | --check-config\n",
	    program_invocation_short_name, program_invocation_short_name);
	if (code == CW_EXIT_OK)
		cw_print_help(f, NULL, help);
	exit(code);
}

/*
 * Stop on purchase, right before the send: res[j] becomes a skipped result
 * for each of recs[0..k) whose customer ordered since the cart was modified,
 * or a failed one when Retail Server could not say. -1 with nt->why when
 * Retail Server cannot be reached at all.
 */
static int
purchases(struct notify *nt, json_t **recs, size_t k, json_t **res)
{
	json_t **out;
	const char *first = NULL;
	size_t failed;
	cw_err e;

	if (!nt->purchases || k == 0)
		return 0;
	if (nt->rs == NULL &&
	    (nt->rs = cw_retail_open(&nt->ro, nt->t->http, nt->t->vault, &e)) == NULL) {
		cw_warnx("stop on purchase: %s", e.msg);
		snprintf(nt->why, sizeof(nt->why), "stop on purchase: %s", e.msg);
		return -1;
	}
	out = cw_calloc(k, sizeof(*out));
	if ((failed = cw_purchase_check(nt->rs, recs, k, nt->p->name, nt->in_flight, out)) > 0)
		nt->failed = 1;
	for (size_t j = 0; j < k; j++) {
		if (out[j] != NULL)
			res[j] = out[j];
		/* The results say why each failed; the operator hears it once a batch. */
		if (out[j] != NULL && first == NULL && strcmp(cw_json_istr(out[j], "status"), "failed") == 0)
			first = cw_json_istr(out[j], "error");
	}
	if (failed > 0)
		cw_warnx("%zu of %zu reminders not sent: %s", failed, k, first ? first : "?");
	free(out);
	return 0;
}

/* Nothing more is sent this run: says why, once, and keeps it for the
 * results of the records still waiting. */
static void
stop(struct notify *nt, const char *why)
{
	cw_warnx("%s", why);
	snprintf(nt->why, sizeof(nt->why), "%s", why);
	nt->stopped = 1;
}

static int opted_out(struct notify *nt, const json_t *rec);

/*
 * A store that reads ahead (Cosmos DB): what the queued records look at,
 * their opt-outs and their entries, is read in a few requests, and their
 * opt-outs are checked here, per batch, rather than line by line.
 */
static void
check_queued(struct notify *nt)
{
	json_t **recs = cw_calloc(nt->n + 1, sizeof(*recs));
	size_t k = 0;
	cw_err e;
	int r;

	for (size_t i = 0; i < nt->n; i++)
		if (nt->q[i].result == NULL)
			recs[k++] = nt->q[i].rec;
	if (!nt->stopped && k > 0 && ((nt->checks && cw_suppressed_prefetch(nt->store,
	    (const json_t *const *)recs, k, &e) != 0) || (nt->ledger != NULL &&
	    cw_ledger_prefetch(nt->ledger, (const json_t *const *)recs, NULL, k, &nt->now,
	    &e) != 0))) {
		stop(nt, e.msg);
	}
	for (size_t i = 0; i < nt->n; i++) {
		struct line *ln = &nt->q[i];

		if (ln->result != NULL)
			continue;
		if (nt->stopped || (r = opted_out(nt, ln->rec)) < 0)
			ln->result = cw_result(ln->rec, "failed", nt->p->name, NULL, nt->why);
		else if (r > 0)
			ln->result = cw_result_skipped(ln->rec, nt->p->name, "suppressed",
			    "opted out");
	}
	free(recs);
}

/*
 * Marks rec "sending" in the ledger before its send (cw_ledger_sending). A
 * corrupt entry fails the record alone (*res); any other error stops the run.
 */
static void
mark_sending(struct notify *nt, const json_t *rec, json_t **res)
{
	cw_err e;
	int r = cw_ledger_sending(nt->ledger, cw_json_istr(rec, "notificationId"), &nt->now, &e);

	if (r == CW_LEDGER_CORRUPT) {
		cw_warnx("%s", e.msg);
		*res = cw_result(rec, "failed", nt->p->name, NULL, e.msg);
	} else if (r < 0) {
		stop(nt, e.msg);
	}
}

static void
lost_key(const char *key, void *ctx)
{
	json_object_set_new((json_t *)ctx, key, json_true());
}

/*
 * Commits the group of "sending" marks (a store that reads ahead holds them
 * until then); a mark the commit reports lost (the entry changed in between)
 * is made again on its own, as without the group. A record whose mark
 * cannot be counted on gets its failed result in res, or stops the run.
 */
static void
commit_marks(struct notify *nt, json_t **recs, size_t k, json_t **res)
{
	json_t *lost = json_object();
	cw_err e;

	if (cw_ledger_group_commit(nt->ledger, lost_key, lost, &e) != 0) {
		stop(nt, e.msg);
	}
	for (size_t j = 0; j < k && !nt->stopped; j++) {
		const char *key = cw_json_istr(recs[j], "notificationId");

		if (res[j] == NULL && key != NULL && json_object_get(lost, key) != NULL)
			mark_sending(nt, recs[j], &res[j]);
	}
	json_decref(lost);
}

/*
 * Sends the queued lines from lo on that still await a result, up to one
 * provider batch of them; returns where the next batch starts.
 */
static size_t
send_from(struct notify *nt, size_t lo)
{
	size_t batch = nt->p->batch > 0 ? nt->p->batch : 1;
	json_t **recs = cw_calloc(batch + 1, sizeof(*recs));
	json_t **res = cw_calloc(batch + 1, sizeof(*res));
	size_t *at = cw_calloc(batch + 1, sizeof(*at));
	size_t i, j, k = 0;
	int group = 0;
	cw_err e;

	for (i = lo; i < nt->n && k < batch; i++)
		if (nt->q[i].result == NULL) {
			at[k] = i;
			recs[k++] = nt->q[i].rec;
		}
	lo = i;
	if (!nt->stopped && purchases(nt, recs, k, res) != 0)
		nt->stopped = 1;
	/* Durably "sending" before the provider sees them: a run killed after
	 * this leaves them uncertain, not owed (cw_ledger_sending). A record
	 * whose mark cannot be written is not sent. A store that reads ahead
	 * makes them in a group, sent at its commit. */
	if (nt->ahead && nt->ledger != NULL && k > 0 && !nt->stopped) {
		if (cw_ledger_group_begin(nt->ledger, &e) != 0) {
			stop(nt, e.msg);
		} else
			group = 1;
	}
	for (j = 0; j < k && nt->ledger != NULL && !nt->stopped; j++)
		if (res[j] == NULL)  /* else bought already: not sent */
			mark_sending(nt, recs[j], &res[j]);
	if (group)
		commit_marks(nt, recs, k, res);
	/* Those that failed their mark leave the batch. */
	for (i = j = 0; j < k; j++) {
		if (res[j] != NULL) {
			nt->q[at[j]].result = res[j];
			res[j] = NULL;
			continue;
		}
		at[i] = at[j];
		recs[i++] = recs[j];
	}
	k = i;
	if (k > 0 && !nt->stopped) {
		int r = cw_provider_send(nt->p, recs, k, res, &e);

		cw_warn_lines(cw_buf_detach(&nt->p->said));

		if (r != 0)
			cw_warnx("%s", e.msg);
		if (r > 0)
			nt->failed = 1;  /* those records failed; the stream goes on */
		if (r < 0) {
			snprintf(nt->why, sizeof(nt->why), "%s", e.msg);
			nt->stopped = 1;
		}
	}
	for (j = 0; j < k; j++) {
		nt->q[at[j]].result = res[j] != NULL ? res[j] :
		    cw_result(recs[j], "failed", nt->p->name, NULL, nt->why);
		if (nt->p->dry && res[j] != NULL &&
		    strcmp(cw_json_istr(res[j], "status"), "skipped") == 0)
			nt->previewed++;
	}
	free(recs);
	free(res);
	free(at);
	return lo;
}

/* Sends what is queued, a provider batch at a time, then writes every
 * queued result in order. */
static int
flush(struct notify *nt)
{
	cw_err e;

	if (nt->ahead)
		check_queued(nt);
	for (size_t lo = 0; lo < nt->n; )
		lo = send_from(nt, lo);
	for (size_t i = 0; i < nt->n; i++) {
		if (nt->to != NULL)  /* the ledger records no test send */
			json_object_set_new(nt->q[i].result, "test", json_true());
		cw_ewrite_json(stdout, nt->q[i].result);
		json_decref(nt->q[i].result);
		json_decref(nt->q[i].rec);
	}
	nt->n = nt->sendable = 0;
	/* What was read ahead served these records only. */
	if (nt->ahead)
		nt->store->prefetch(nt->store, NULL, NULL, 0, &e);
	return CW_REC_OK;
}

/* Records queued before they are sent: a provider batch; with a store that
 * reads ahead, enough whole batches for about AHEAD_RECORDS, read ahead in
 * one go (their marks and sends still go a batch at a time). */
static size_t
window(const struct notify *nt)
{
	size_t b = nt->p->batch > 0 ? nt->p->batch : 1;

	return nt->ahead && b < AHEAD_RECORDS ? (AHEAD_RECORDS + b - 1) / b * b : b;
}

/* Input went quiet, or ended: send what is queued (cw_flush_fn). */
static int
flush_queued(void *ctx)
{
	struct notify *nt = ctx;

	return nt->n > 0 ? flush(nt) : CW_REC_OK;
}

static void
push(struct notify *nt, json_t *rec, json_t *result)
{
	if (nt->n == nt->cap) {
		nt->cap = nt->cap ? nt->cap * 2 : 64;
		nt->q = cw_realloc(nt->q, nt->cap * sizeof(*nt->q));
	}
	nt->q[nt->n].rec = rec;
	nt->q[nt->n].result = result;
	nt->n++;
	if (result == NULL)
		nt->sendable++;
}

/*
 * Opens the state store, once, when the first record comes rather than at
 * start: in a pipeline cart-dedupe upstream makes a new SQLite store, and
 * may not have made it yet when this stage starts; by the time a record
 * arrives it has. A SQLite store that still does not exist holds no opt-out
 * and no claim: it is not made as a side effect of sending. 0, or -1 with
 * nt->why set.
 */
static int
store_open(struct notify *nt)
{
	cw_err e;

	if (nt->store_tried)
		return 0;
	nt->store_tried = 1;
	if (!cw_docstore_exists(&nt->sc))
		return 0;
	if ((nt->store = cw_docstore_open(&nt->sc, nt->t->http, nt->t->vault, &e)) == NULL) {
		cw_warnx("%s", e.msg);
		snprintf(nt->why, sizeof(nt->why), "%s", e.msg);
		return -1;
	}
	/* Claims exist only where cart-dedupe ran, and it needs the operating
	 * unit: a config without one (a stage run on its own) marks nothing. */
	if (nt->lo.oun != NULL && !nt->p->dry)
		nt->ledger = cw_ledger_new(nt->store, &nt->lo);
	nt->ahead = nt->store->prefetch != NULL;
	return 0;
}

/*
 * 1 if the person opted out. cart-dedupe already drops carts whose customer
 * or receipt email opted out, but a registered customer's email is known only
 * once cart-enrich looked it up: this is where an email opt-out catches it.
 */
static int
opted_out(struct notify *nt, const json_t *rec)
{
	const char *email = cw_json_istr(rec, "email"), *cust = cw_json_istr(rec, "customerId");
	int r = 0;
	cw_err e;

	if (nt->store == NULL || !nt->checks)
		return 0;
	if ((r = cw_suppressed(nt->store, "email", email, &e)) == 0 && cust != NULL &&
	    *cust != '\0')
		r = cw_suppressed(nt->store, "customer", cust, &e);
	if (r < 0) {
		stop(nt, e.msg);
	}
	return r;
}

/*
 * Gives rec its signed unsubscribe link (doc/DESIGN.md 8.6), or takes away one it
 * came with, in any case of the name: only a link signed here may become a
 * List-Unsubscribe header or reach a provider's template. 0, or -1 with e.
 */
static int
unsub_link(struct notify *nt, json_t *rec, cw_err *e)
{
	const char *k;
	char *link;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(rec, tmp, k, v)
		if (cw_ascii_casecmp(k, "unsubscribeUrl") == 0)
			json_object_del(rec, k);
	if (nt->unsub.url == NULL)
		return 0;
	if ((link = cw_unsub_link(&nt->unsub, cw_json_istr(rec, "email"), e)) == NULL)
		return -1;
	json_object_set_new(rec, "unsubscribeUrl", json_string(link));
	free(link);
	return 0;
}

/* Per line: refuse what cannot be sent with a failed result, queue the rest. */
static int
notify(const struct cw_rec *rec, void *ctx)
{
	struct notify *nt = ctx;
	char why[300];
	cw_err e;
	int r;

	if (rec->json == NULL) {
		/* One result per input line, always: even for a broken one. */
		snprintf(why, sizeof(why), "%s:%lu: %s", rec->src, rec->line, rec->why);
		push(nt, NULL, json_pack("{s:n,s:s,s:s,s:s}", "notificationId", "status",
		    "failed", "provider", nt->p->name, "error", why));
		return CW_REC_OK;
	}
	/* A test send goes to the marketer, and so does its unsubscribe link. */
	if (nt->to != NULL && json_is_object(rec->json))
		json_object_set_new(rec->json, "email", json_string(nt->to));
	if (cw_notification_check(rec->json, &e) != 0 || unsub_link(nt, rec->json, &e) != 0) {
		cw_rec_warn(rec, "%s", e.msg);
		push(nt, json_incref(rec->json),
		    cw_result(rec->json, "failed", nt->p->name, NULL, e.msg));
		return CW_REC_OK;
	}
	if (nt->to != NULL) {
		/* A test send: no store, no opt-outs, no claims marked
		 * (nothing opens the store). */
		push(nt, json_incref(rec->json), NULL);
		return nt->sendable >= window(nt) ? flush(nt) : CW_REC_OK;
	}
	/* Once the provider or the store cannot go on, every further line
	 * still gets its result -- failed, so --commit releases its claim now
	 * instead of leaving it to the lease -- and nothing more is sent. */
	if (!nt->stopped && store_open(nt) != 0)
		nt->stopped = 1;
	if (nt->stopped || (r = nt->ahead ? 0 : opted_out(nt, rec->json)) < 0) {
		push(nt, json_incref(rec->json),
		    cw_result(rec->json, "failed", nt->p->name, NULL, nt->why));
		return CW_REC_OK;
	}
	if (r > 0) {
		/* Skipped, not failed: --commit makes it final for this key. */
		push(nt, json_incref(rec->json),
		    cw_result_skipped(rec->json, nt->p->name, "suppressed", "opted out"));
		return CW_REC_OK;
	}
	push(nt, json_incref(rec->json), NULL);
	return nt->sendable >= window(nt) ? flush(nt) : CW_REC_OK;
}

/* Where a dry run's emails went, said last: with cartwatch-run, where no
 * --preview-dir names the directory, this is how the user learns it. */
static void
say_previews(const struct notify *nt)
{
	if (nt->p->dry && nt->p->dir != NULL && nt->previewed > 0)
		cw_warnx("dry run: %zu email%s previewed in %s; the list: %s/index.html",
		    nt->previewed, nt->previewed == 1 ? "" : "s", nt->p->dir, nt->p->dir);
}

/*
 * Reads the keys and options into nt and t: the provider (name, --dry-run or
 * --preview-dir may choose it), the store, the ledger, the business clock.
 * 0, or CW_ERR_CONFIG with e saying why (empty when reported as read).
 */
static int
configure(struct notify *nt, struct cw_tool *t, const char *name, int dry, const char *dir,
    cw_err *e)
{
	struct cw_config *cfg = t->cfg;
	struct cw_provider_opts po = {.dir = dir};
	int r;

	if (nt->to != NULL && !cw_email_valid(nt->to)) {
		cw_seterr(e, "--to: not an email address the providers accept: \"%s\"", nt->to);
		return CW_ERR_CONFIG;
	}
	if (dry || dir != NULL)
		name = "preview";
	else if (name == NULL)
		name = cw_config_str(cfg, "Cartwatch.Notify.Provider");
	nt->p = cw_provider_config(name, cfg, &po);
	cw_docstore_config(&nt->sc, cfg);
	/* Without an operating unit there are no claims to mark (store_open). */
	if (cw_config_get(cfg, "RetailServerClientOptions.OperatingUnitNumber") != NULL)
		cw_ledger_config(&nt->lo, cfg, cw_config_str(cfg,
		    "EmarsysClientOptions.ExternalEventId"));
	/* A dry run needs no secret, so no vault, unless the store's key
	 * lives there or it shows unsubscribe links, which the vault's key
	 * signs. */
	cw_unsub_config(&nt->unsub, cfg);
	if ((nt->p != NULL && !nt->p->dry) || cw_docstore_needs_vault(&nt->sc) ||
	    nt->unsub.url != NULL)
		t->vault_url = cw_vault_url_config(cfg);
	nt->checks = cw_config_bool(cfg, "Cartwatch.Notify.CheckOptOuts");
	nt->in_flight = (int)cw_config_int(cfg, "Cartwatch.Notify.MaxInFlight");
	/* A preview asks nobody: it shows what the templates make. */
	if (nt->p != NULL && !nt->p->dry && nt->to == NULL &&
	    cw_config_bool(cfg, "Cartwatch.StopOnPurchase")) {
		nt->purchases = 1;
		if (cw_config_get(cfg, "RetailServerClientOptions.RetailServerUri") == NULL)
			cw_config_bad(cfg, "Cartwatch.StopOnPurchase", "true (the default), "
			    "but RetailServerClientOptions names no Retail Server to ask for "
			    "the customers' orders; set it to false to send without asking");
		else
			cw_retail_config(&nt->ro, cfg);
	}
	if ((r = cw_tool_check(t, e)) != 0)
		return r;
	if (nt->p == NULL) {
		e->msg[0] = '\0';  /* cw_provider_config said why */
		return CW_ERR_CONFIG;
	}
	return cw_now(&nt->now, e) != 0 ? CW_ERR_CONFIG : 0;
}

/*
 * --check-config, --check: the provider's secrets and its read-only call,
 * the key that signs unsubscribe links, and for stop on purchase Retail
 * Server's. The store is cart-dedupe's to check.
 */
static int
check(struct notify *nt, struct cw_tool *t, int mode)
{
	struct cw_check k = CW_CHECK_INIT;
	cw_err e;

	if (cw_tool_check_open(t, mode, &k) != 0)
		return cw_tool_check_done(&k);
	if (nt->p->open(nt->p, t->http, t->vault, &e) != 0)
		cw_check_bad(&k, "%s", e.msg);
	else {
		if (!nt->p->dry)
			cw_check_ok(&k, "%s: its secrets are readable in the vault",
			    nt->p->name);
		if (nt->p->check != NULL)
			nt->p->check(nt->p, &k);
		else
			cw_check_skip(&k, "%s: no read-only call to check it with", nt->p->name);
	}
	if (nt->unsub.url != NULL && cw_unsub_open(&nt->unsub, t->vault, &e) != 0)
		cw_check_bad(&k, "Cartwatch.Unsubscribe.KeySecretName: %s", e.msg);
	else if (nt->unsub.url != NULL)
		cw_check_ok(&k, "vault secret %s (Cartwatch.Unsubscribe.KeySecretName) "
		    "readable", nt->unsub.key_name);
	if (nt->purchases)
		cw_retail_check(&nt->ro, t->http, t->vault, &k);
	return cw_tool_check_done(&k);
}

static void
notify_free(struct notify *nt)
{
	free(nt->q);
	if (nt->p != NULL)
		cw_provider_close(nt->p);
	cw_ledger_free(nt->ledger);
	cw_retail_close(nt->rs);
	cw_ledger_opts_free(&nt->lo);
	cw_docstore_close(nt->store);
	cw_docstore_cfg_free(&nt->sc);
	cw_unsub_free(&nt->unsub);
}

int
main(int argc, char *argv[])
{
	enum { O_PROVIDER = 256, O_DRY, O_DIR, O_TO };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"provider", required_argument, NULL, O_PROVIDER},
		{"dry-run", no_argument, NULL, O_DRY},
		{"preview-dir", required_argument, NULL, O_DIR},
		{"to", required_argument, NULL, O_TO},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{"check-config", no_argument, NULL, CW_O_CHECK_CONFIG},
		{"check", no_argument, NULL, CW_O_CHECK},
		{NULL, 0, NULL, 0}
	};
	struct cw_loop_opts lo = {.all = 1, .flush = flush_queued, .idle_ms = IDLE_MS};
	struct notify nt = {0};
	struct cw_tool t = {0};
	const char *cfgpath = NULL, *name = NULL, *dir = NULL;
	int ch, code, dry = 0, mode = 0;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case O_PROVIDER: name = optarg; break;
		case O_DRY: dry = 1; break;
		case O_DIR: dir = optarg; break;
		case O_TO: nt.to = optarg; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); return CW_EXIT_OK;
		case CW_O_CHECK: case CW_O_CHECK_CONFIG: mode = ch; break;
		default: usage(stderr, CW_EXIT_USAGE);
		}
	}
	if (optind != argc || (dry && name != NULL && strcmp(name, "preview") != 0))
		usage(stderr, CW_EXIT_USAGE);

	nt.t = &t;
	if ((code = cw_tool_load(&t, cfgpath, 0, &e)) != 0 ||
	    (code = configure(&nt, &t, name, dry, dir, &e)) != 0 ||
	    (mode == 0 && ((code = cw_tool_start(&t, &e)) != 0 || (nt.unsub.url != NULL &&
	    (code = cw_unsub_open(&nt.unsub, t.vault, &e)) != 0))))
		code = cw_tool_exit(code, &e);
	else if (mode != 0)
		code = check(&nt, &t, mode);
	else if (nt.p->open(nt.p, t.http, t.vault, &e) != 0)
		code = cw_tool_exit(CW_ERR_SERVICE, &e);
	else {
		code = cw_ndjson_loop_flush(stdin, "<stdin>", notify, &nt, &lo, NULL);
		if (nt.stopped || nt.failed)
			code = CW_EXIT_FAIL;
		say_previews(&nt);
	}
	notify_free(&nt);
	return cw_tool_finish(&t, code);
}
