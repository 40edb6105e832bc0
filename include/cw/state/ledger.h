/* ledger.h: who is still owed a reminder: claims, results, opt-outs, erasure, on a docstore. */
#ifndef CW_LEDGER_H
#define CW_LEDGER_H

#include <time.h>
#include <jansson.h>
#include "cw/core/ids.h"
#include "cw/core/util.h"

struct cw_config;
struct cw_docstore;

struct cw_ledger_opts {
	const char *oun;     /* the partition of this deployment's documents */
	long lease_s;        /* how long a claim blocks its key */
	int max_attempts;    /* failed sends before giving up */
	int resend_uncertain; /* an unknown outcome counts as a failure */
	long retention_s;    /* prune: entries older than this go */
	long cap_s;          /* Cartwatch.FrequencyCap.Minutes in seconds; 0: off */
	json_t *steps;       /* [{"after": s, "late": s or -1, "event": "..."}], step 1 first
	                      * (cw/core/series.h); owned */
};

/* Cartwatch.StateStore.{LeaseMinutes (30), MaxAttempts (3), RetentionDays (90),
 * ResendUncertain (false)},
 * Cartwatch.Reminders (cw/core/series.h: default one step at the Exclude
 * delay, for event),
 * RetailServerClientOptions.OperatingUnitNumber. Problems counted in c.
 * event (borrowed, may be NULL) is the provider's campaign event: the ledger
 * reads no provider's keys, its caller does. */
void cw_ledger_config(struct cw_ledger_opts *o, struct cw_config *c, const char *event);
void cw_ledger_opts_free(struct cw_ledger_opts *o);

struct cw_ledger;  /* opaque; borrows the store and the options */

/* A ledger's claims carry a random run id of its own (claimedBy). */
struct cw_ledger *cw_ledger_new(struct cw_docstore *s, const struct cw_ledger_opts *o);
void cw_ledger_free(struct cw_ledger *l);

/* The longest run id cw_ledger_name_run takes. */
#define CW_LEDGER_RUN_MAX 32

/*
 * Names the run this ledger's claims belong to, instead of its random id:
 * run (borrowed, copied) is 1 to CW_LEDGER_RUN_MAX letters, digits, '.',
 * '_', ':' or '-', shared by the invocations of one pipeline run so that a
 * later one can release what an earlier one claimed (cw_ledger_release).
 * Not a secret: it only tells runs apart. 0, or -1 with e when run is not
 * such a name.
 */
int cw_ledger_name_run(struct cw_ledger *l, const char *run, cw_err *e);

/* A dry run decides as a real one would but writes nothing: no claim, no
 * switch-over note, no result, no hashing key. */
void cw_ledger_dry_run(struct cw_ledger *l);

/*
 * Groups claims and results (cw_ledger_claim, cw_ledger_commit) into one
 * store transaction (docstore.h's begin and commit): many writes, one sync.
 * Nothing claimed or recorded in a group may be acted on (a cart written
 * out, a result acknowledged) before cw_ledger_group_commit returns 0; when
 * it fails (-1 with e), none of the group's writes happened. In a dry run
 * both do nothing. 0, or -1 with e.
 */
int cw_ledger_group_begin(struct cw_ledger *l, cw_err *e);
/*
 * A store may hold the group's writes and send them here (Cosmos DB, many to
 * a request): then a claim or result that lost a race in the meantime is
 * reported by lost(key, ctx) (may be NULL) before this returns 0, and the
 * caller does that record again, outside any group, as if it had not been
 * tried (a claim: call cw_ledger_claim again and act on its verdict; a
 * result: cw_ledger_commit again).
 */
int cw_ledger_group_commit(struct cw_ledger *l, void (*lost)(const char *key, void *ctx),
    void *ctx, cw_err *e);

/*
 * Optional, before cw_ledger_group_begin: reads ahead, in a few requests,
 * what the group's records will look at, so that each record costs no
 * request of its own (a store that reads cheaply, SQLite, ignores it).
 * recs are carts about to be claimed, with their modified times in
 * modified[i]; or, with modified NULL, records that name a notificationId
 * (results, records about to be marked sending). What was read ahead is
 * used until written or forgotten: n 0 forgets it, as the caller must once
 * its records are done. 0, or -1 with e.
 */
int cw_ledger_prefetch(struct cw_ledger *l, const json_t *const *recs,
    const struct timespec *modified, size_t n, const struct timespec *now, cw_err *e);

/* 1 if cw_ledger_prefetch does anything on this ledger's store. */
int cw_ledger_reads_ahead(const struct cw_ledger *l);

/* What the filter decides for a cart. */
enum cw_verdict {
	CW_PASS,            /* claimed for us: send it */
	CW_DONE,            /* reminded (or given up, or skipped) already */
	CW_BUSY,            /* another run holds a live claim */
	CW_SUPPRESSED,      /* the customer or email opted out */
	CW_BEFORE_SWITCH,   /* reminded by the .NET sample before we took over */
	CW_NOT_DUE,         /* the next step's delay has not passed */
	CW_SKIPPED,         /* a step skipped now (late, frequency cap); no later one due */
	CW_DEFERRED         /* quiet hours: the due step waits (cw_ledger_defer) */
};
const char *cw_verdict_name(int v);

/* A ledger entry (or opt-out) that is not one of ours: e names its key; the
 * store works and the other keys can go on. */
#define CW_LEDGER_CORRUPT (-2)

/*
 * Decides whether cart (checked, modified at *modified) is owed a reminder at
 * business time *now, and if so claims its key atomically. On CW_PASS, key and
 * *step name the claim. Returns a verdict, CW_LEDGER_CORRUPT with e, or -1
 * with e when the store fails.
 *
 * On the way it records, final, a due step after the first that is late
 * (more than its "late" after its moment: "skipped", reason "late") and,
 * with a frequency cap, a step whose person (customer id, or keyed email
 * hash) had another reminder claimed within cap_s ("skipped", reason
 * "frequency-cap"); then it looks at the next step. A claim notes itself on
 * the person's cap documents (kind "cartwatch.cap").
 */
int cw_ledger_claim(struct cw_ledger *l, const json_t *cart,
    const struct timespec *modified, const struct timespec *now,
    char key[CW_NOTIFICATION_ID_LEN + 1], int *step, cw_err *e);

/*
 * Quiet hours: what cw_ledger_claim would claim waits instead. The due step's
 * entry is made in state "deferred" (reason "quiet-hours") when it has none,
 * so that the report sees it; a later cw_ledger_claim takes it over. Late
 * steps are skipped as cw_ledger_claim skips them. CW_DEFERRED or another
 * verdict, CW_LEDGER_CORRUPT with e, or -1 with e.
 */
int cw_ledger_defer(struct cw_ledger *l, const json_t *cart,
    const struct timespec *modified, const struct timespec *now, cw_err *e);

/*
 * Records one result record (doc/DESIGN.md section 3): sent, failed (the claim is
 * released; after max_attempts the key is given up and *gave_up set), or
 * skipped. A failed result marked "uncertain": true (the send may have taken
 * effect) makes the key "uncertain", final like sent, unless resend_uncertain:
 * then it is an ordinary failure. A result cw_ledger_records refuses, or any
 * in a dry run, is checked and not recorded. 0, or -1 with e (the store
 * failed, or the record is malformed or its entry corrupt: then *bad is set).
 */
/* 0 for a result the ledger does not record: the preview provider's (it
 * sent nothing) and a test send's ("test": true, cart-notify --to); else 1. */
int cw_ledger_records(const json_t *result);

int cw_ledger_commit(struct cw_ledger *l, const json_t *result,
    const struct timespec *now, int *gave_up, int *bad, cw_err *e);

/*
 * Marks the live claim of notification key "sending", durably, just before a
 * provider is handed the record: a run killed after this point may have
 * delivered it, so when its lease runs out the key becomes "uncertain" rather
 * than being taken over and sent again (unless resend_uncertain). A key
 * claimed but never marked was never handed over, and is taken over as
 * before. 1 marked, 0 nothing to mark (no entry: a stage run by hand; or not
 * claimed; or a dry run), CW_LEDGER_CORRUPT or -1 with e.
 */
int cw_ledger_sending(struct cw_ledger *l, const char *key, const struct timespec *now,
    cw_err *e);

/*
 * Releases the claim on notification key if this ledger's run (see
 * cw_ledger_name_run) still holds it: its lease ends now, as if it had run
 * out, so the next run takes the key over at once rather than after
 * Cartwatch.StateStore.LeaseMinutes (a claim marked "sending" becomes
 * "uncertain" then, as after a kill). For a record that never got a result:
 * dropped by a stage, or a stage that did not start. 1 released, 0 nothing
 * to release (no entry, final, another run's claim, expired; or a dry run),
 * CW_LEDGER_CORRUPT or -1 with e.
 */
int cw_ledger_release(struct cw_ledger *l, const char *key, const struct timespec *now,
    cw_err *e);

/* Upserts the sample's run-status document "<oun>:<channel>" (not in a dry run). */
int cw_ledger_run_status(struct cw_ledger *l, long long channel, const char *last,
    const char *cart_ids, cw_err *e);

/*
 * Where the last successful run of channel left off: the time in its
 * run-status document (the sample's watermark, which cw_ledger_run_status
 * writes). 1 with *at set; 0 when there is no such document or time; -1
 * with e. Reads s only: a store without a ledger (cart-fetch's) will do.
 */
int cw_ledger_last_run(struct cw_docstore *s, const char *oun, long long channel,
    struct timespec *at, cw_err *e);

/* on is "email" or "customer". suppress adds (add=1) or removes an opt-out. */
int cw_ledger_suppress(struct cw_ledger *l, const char *on, const char *value, int add,
    const struct timespec *now, cw_err *e);

/* 1 if the customer id or email (on is "customer" or "email") has opted out,
 * 0 if not, -1 with e. Needs no ledger: cart-notify asks it too, for the
 * registered customers whose email only enrichment revealed. */
int cw_suppressed(struct cw_docstore *s, const char *on, const char *value, cw_err *e);

/* Reads ahead (docstore.h's prefetch) the opt-outs that cw_suppressed will
 * look at for recs[0..n-1] (their "email" or "ReceiptEmail", and their
 * "customerId"), in a few requests; used until the store's next commit or
 * forgotten with s->prefetch(s, NULL, NULL, 0, e). 0, or -1 with e. */
int cw_suppressed_prefetch(struct cw_docstore *s, const json_t *const *recs, size_t n,
    cw_err *e);

/* Erases every entry about the person; keeps (or makes) only an opt-out if
 * keep_suppression. *removed counts documents erased. */
int cw_ledger_forget(struct cw_ledger *l, const char *on, const char *value,
    int keep_suppression, const struct timespec *now, unsigned long *removed, cw_err *e);

/*
 * Removes the entry of notification key (this operating unit's), whatever
 * its state, even a corrupt one, so that the next run passes the cart again
 * if it is still owed; refuses (-1 with e) while a run holds a live claim on
 * it. 1 removed (*was: its state, "corrupt" or "?" if unknown; static), 0 no
 * such entry, -1 with e.
 */
int cw_ledger_resend(struct cw_ledger *l, const char *key, const struct timespec *now,
    const char **was, cw_err *e);

/* Drops entries last changed before now - retention (never live claims nor
 * opt-outs). */
int cw_ledger_prune(struct cw_ledger *l, const struct timespec *now,
    unsigned long *removed, cw_err *e);

/* Counts by state, the oldest live claim, the run-status documents. */
int cw_ledger_status(struct cw_ledger *l, const struct timespec *now, json_t **out,
    cw_err *e);

/* The store the ledger keeps its entries in (borrowed): for readers of
 * the entries that are not the ledger's own business, as the recovery
 * report (recovery.h). */
struct cw_docstore *cw_ledger_store(const struct cw_ledger *l);

#endif
