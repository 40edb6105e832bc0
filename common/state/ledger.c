/* ledger.c: who is still owed a reminder: claims, results, opt-outs, erasure, on a docstore. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/json.h"
#include "cw/core/series.h"
#include "cw/state/docstore.h"
#include "cw/state/ledger.h"

#define KIND_REMINDER "cartwatch.reminder"
#define KIND_SUPPRESSION "cartwatch.suppression"
#define KIND_SWITCH "cartwatch.switch"
#define KIND_CAP "cartwatch.cap"
/* Opt-outs hold for every operating unit: one partition of their own. */
#define SUPPRESSION_PK "*"
/* Read-modify-write rounds before a commit gives up on a hot key. */
#define CAS_ROUNDS 20

struct cw_ledger {
	struct cw_docstore *s;
	const struct cw_ledger_opts *o;
	char run[CW_LEDGER_RUN_MAX + 1];  /* this run's claims */
	json_t *switches;    /* channel -> switch document, read once */
	int dry;             /* decide, write nothing */
	int ahead;           /* the group's keys were read ahead (cw_ledger_prefetch) */
};

static const char *const verdicts[] = {
	"pass", "done", "busy", "suppressed", "before-switch", "not-due", "skipped",
	"deferred"
};

const char *
cw_verdict_name(int v)
{
	return v >= 0 && v <= CW_DEFERRED ? verdicts[v] : "error";
}

void
cw_ledger_config(struct cw_ledger_opts *o, struct cw_config *c, const char *event)
{
	struct cw_series series;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->oun = cw_config_need_str(c, "RetailServerClientOptions.OperatingUnitNumber");
	o->lease_s = 60 * (long)cw_config_int(c, "Cartwatch.StateStore.LeaseMinutes");
	o->max_attempts = (int)cw_config_int(c, "Cartwatch.StateStore.MaxAttempts");
	o->resend_uncertain = cw_config_bool(c, "Cartwatch.StateStore.ResendUncertain");
	o->retention_s = 86400L * (long)cw_config_int(c, "Cartwatch.StateStore.RetentionDays");
	o->cap_s = 60 * (long)cw_config_int(c, "Cartwatch.FrequencyCap.Minutes");
	cw_series_config(&series, c, event);
	o->steps = json_array();
	for (i = 0; i < series.n; i++)
		json_array_append_new(o->steps, json_pack("{s:I,s:I,s:s?}",
		    "after", (json_int_t)series.step[i].after_s,
		    "late", (json_int_t)series.step[i].late_s, "event", series.step[i].event));
	cw_series_free(&series);
}

void
cw_ledger_opts_free(struct cw_ledger_opts *o)
{
	json_decref(o->steps);
	o->steps = NULL;
}

struct cw_ledger *
cw_ledger_new(struct cw_docstore *s, const struct cw_ledger_opts *o)
{
	struct cw_ledger *l = cw_calloc(1, sizeof(*l));

	l->s = s;
	l->o = o;
	if (cw_random_hex(l->run, 16) != 0)
		snprintf(l->run, sizeof(l->run), "pid%ld", (long)getpid());
	l->switches = json_object();
	return l;
}

int
cw_ledger_name_run(struct cw_ledger *l, const char *run, cw_err *e)
{
	size_t n = strlen(run);

	if (n == 0 || n > CW_LEDGER_RUN_MAX || n != strspn(run, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-"))
		return cw_seterr(e, "a run id is 1 to %d letters, digits, '.', '_', ':' or '-'",
		    CW_LEDGER_RUN_MAX);
	snprintf(l->run, sizeof(l->run), "%s", run);
	return 0;
}

void
cw_ledger_dry_run(struct cw_ledger *l)
{
	l->dry = 1;
}

int
cw_ledger_reads_ahead(const struct cw_ledger *l)
{
	return l->s->prefetch != NULL;
}

int
cw_ledger_group_begin(struct cw_ledger *l, cw_err *e)
{
	return l->dry ? 0 : l->s->begin(l->s, e);
}

/* The store's lost(pk, id) as the caller's lost(key): every write a group
 * holds is an entry of this operating unit. */
struct lost_keys {
	void (*fn)(const char *key, void *ctx);
	void *ctx;
};

static void
lost_key(const char *pk, const char *id, void *ctx)
{
	struct lost_keys *lk = ctx;

	(void)pk;
	if (lk->fn != NULL)
		lk->fn(id, lk->ctx);
}

int
cw_ledger_group_commit(struct cw_ledger *l, void (*lost)(const char *key, void *ctx),
    void *ctx, cw_err *e)
{
	struct lost_keys lk = {lost, ctx};

	l->ahead = 0;
	if (l->dry)
		return l->s->prefetch != NULL ? l->s->prefetch(l->s, NULL, NULL, 0, e) : 0;
	return l->s->commit(l->s, lost_key, &lk, e);
}

void
cw_ledger_free(struct cw_ledger *l)
{
	if (l == NULL)
		return;
	json_decref(l->switches);
	free(l);
}

/*
 * Personal data goes into the store only hashed: an email (lowercased) or a
 * customer id as HMAC-SHA256, under a random 32-byte key of the store's own,
 * of its SHA-1 hex. Enough to match and to erase, not to read, and a list of
 * candidate addresses run through SHA-1 finds nobody. The SHA-1 step is what
 * earlier versions stored: their rows are rewritten under the key without the
 * address (migrate below).
 *
 * The key is a document of its own, made create-if-absent so that racing
 * instances agree, read once per open store (the docstore keeps it for us),
 * and never printed.
 */
#define KIND_HASHKEY "cartwatch.hashkey"
#define HASHKEY_ID "cartwatch:hashkey"

enum { HK_UNREAD, HK_NONE, HK_KEYED, HK_MIGRATED };  /* docstore hk.state */

static void
legacy_hash(const char *value, int fold, char out[41])
{
	char *v = cw_strdup(value);

	if (fold)
		for (char *p = v; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	cw_sha1_hex(v, strlen(v), out);
	free(v);
}

/* The keyed hash of a legacy one; "" without a key (nothing is written then). */
static void
rekey(const struct cw_docstore *s, const char *legacy, char out[65])
{
	*out = '\0';
	if (s->hk.state >= HK_KEYED)
		cw_hmac_sha256_hex(s->hk.key, sizeof(s->hk.key), legacy, strlen(legacy), out);
}

static void
hash(const struct cw_docstore *s, const char *value, int fold, char out[65])
{
	char h[41];

	legacy_hash(value, fold, h);
	rekey(s, h, out);
}

/* The value of one hex digit that is_hex has let through. */
static int
nibble(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static int
is_hex(const char *h, size_t n)
{
	return h != NULL && strlen(h) == n && strspn(h, "0123456789abcdef") == n;
}

/* "suppress:<on>:<legacy SHA-1>": the suppression id of earlier versions? */
static int
legacy_suppression(const char *id)
{
	const char *c = id != NULL && strncmp(id, "suppress:", 9) == 0 ?
	    strchr(id + 9, ':') : NULL;

	return c != NULL && is_hex(c + 1, 40);
}

/*
 * Rewrites what earlier versions hashed with SHA-1 alone under the key:
 * emailHash of ledger entries (compare-and-swap, as commits do), and the ids
 * of opt-outs (the new one is made before the old one goes, so that a reader
 * looking at the old id first, then the new, always finds one). Safe to run
 * in several instances at once.
 */
struct collect {
	json_t *docs;
	const char *kind;
};

static int collect(const json_t *doc, const char *etag, void *ctx);

static int
migrate(struct cw_docstore *s, cw_err *e)
{
	struct collect c = {json_array(), NULL};
	const json_t *d;
	size_t i;
	int r;

	if ((r = s->query(s, NULL, NULL, collect, &c, e)) != 0)
		goto out;
	json_array_foreach(c.docs, i, d) {
		const char *kind = cw_json_istr(d, "kind"), *id = cw_json_istr(d, "id");
		const char *pk = cw_json_istr(d, "oun");
		char h[65];

		if (kind == NULL || id == NULL || pk == NULL)
			continue;
		if (strcmp(kind, KIND_SUPPRESSION) == 0 && legacy_suppression(id)) {
			const char *old = strrchr(id, ':') + 1;
			char *nid;
			json_t *nd = json_deep_copy(d);

			rekey(s, old, h);
			nid = cw_asprintf("%.*s%s", (int)(old - id), id, h);
			json_object_set_new(nd, "id", json_string(nid));
			if ((r = s->create(s, pk, nid, nd, e)) >= 0)
				r = s->remove(s, pk, id, e);
			json_decref(nd);
			free(nid);
		} else if (strcmp(kind, KIND_REMINDER) == 0 &&
		    is_hex(cw_json_istr(d, "emailHash"), 40)) {
			for (int round = 0; round < CAS_ROUNDS; round++) {
				json_t *cur;
				char *etag;

				if ((r = s->read(s, pk, id, &cur, &etag, e)) <= 0)
					break;  /* gone: nothing to rewrite */
				if (is_hex(cw_json_istr(cur, "emailHash"), 40)) {
					rekey(s, cw_json_istr(cur, "emailHash"), h);
					json_object_set_new(cur, "emailHash", json_string(h));
					r = s->replace(s, pk, id, cur, etag, e);
				}
				json_decref(cur);
				free(etag);
				if (r != 0)
					break;
			}
		}
		if (r < 0)
			goto out;
		r = 0;
	}
out:
	json_decref(c.docs);
	return r < 0 ? -1 : 0;
}

/*
 * Makes s->hk current: HK_NONE (no key yet), HK_KEYED (rows of earlier
 * versions may remain) or HK_MIGRATED, which is kept for good. With make,
 * a missing key is created and the store migrated, so HK_MIGRATED follows.
 * 0, or -1 with e.
 */
static int
hashkey(struct cw_docstore *s, int make, const struct timespec *now, cw_err *e)
{
	json_t *doc = NULL;
	char *etag = NULL, iso[CW_ISO8601_MAX];
	const char *hex;
	int r = 0;

	for (int round = 0; s->hk.state != HK_MIGRATED && round < CAS_ROUNDS; round++) {
		if ((r = s->read(s, SUPPRESSION_PK, HASHKEY_ID, &doc, &etag, e)) < 0)
			break;
		if (r == 0) {
			char k[65];

			s->hk.state = HK_NONE;
			if (!make)
				break;
			if (cw_random_hex(k, 32) != 0) {
				r = cw_seterr(e, "state store %s: no random numbers for its "
				    "hashing key", s->where);
				break;
			}
			doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", HASHKEY_ID, "oun",
			    SUPPRESSION_PK, "kind", KIND_HASHKEY, "key", k, "created",
			    cw_iso8601_format(now, iso), "migrated", 0);
			explicit_bzero(k, sizeof(k));
			r = s->create(s, SUPPRESSION_PK, HASHKEY_ID, doc, e);
			json_decref(doc);
			doc = NULL;
			if (r < 0)
				break;
			continue;  /* ours or a racer's: read what won */
		}
		hex = cw_json_istr(doc, "key");
		if (!is_hex(hex, 64)) {
			r = cw_seterr(e, "state store %s: document %s/%s is corrupt: no "
			    "hashing key", s->where, SUPPRESSION_PK, HASHKEY_ID);
			break;
		}
		for (size_t i = 0; i < sizeof(s->hk.key); i++)
			s->hk.key[i] = (unsigned char)(nibble(hex[2 * i]) << 4 |
			    nibble(hex[2 * i + 1]));
		s->hk.state = json_is_true(json_object_get(doc, "migrated")) ? HK_MIGRATED :
		    HK_KEYED;
		if (s->hk.state == HK_KEYED && make) {
			if ((r = migrate(s, e)) != 0)
				break;
			json_object_set_new(doc, "migrated", json_true());
			if ((r = s->replace(s, SUPPRESSION_PK, HASHKEY_ID, doc, etag, e)) < 0)
				break;
			/* 0: another instance marked it first; read again. */
		}
		if (!make)
			break;
		json_decref(doc);
		free(etag);
		doc = NULL;
		etag = NULL;
	}
	json_decref(doc);
	free(etag);
	if (r < 0) {
		s->hk.state = HK_UNREAD;
		return -1;
	}
	return 0;
}

/* Every write of the ledger goes through here first (cheap once done). */
static int
ready(struct cw_ledger *l, const struct timespec *now, cw_err *e)
{
	if (l->s->hk.state == HK_MIGRATED)
		return 0;
	return hashkey(l->s, !l->dry, now, e);
}

static char *
suppression_id(const struct cw_docstore *s, const char *on, const char *value)
{
	char h[65];

	hash(s, value, strcmp(on, "email") == 0, h);
	return cw_asprintf("suppress:%s:%s", on, h);
}

static int
exists(struct cw_docstore *s, const char *id, cw_err *e)
{
	json_t *doc;
	char *etag;
	int r = s->read(s, SUPPRESSION_PK, id, &doc, &etag, e);

	if (r == 1) {
		json_decref(doc);
		free(etag);
	}
	return r == CW_DOC_CORRUPT ? CW_LEDGER_CORRUPT : r;
}

/* cw_suppressed, with the keyed hash of value if known already (NULL:
 * hashed here): every cart's email is hashed for its entry too. */
static int
suppressed(struct cw_docstore *s, const char *on, const char *value, const char *keyed,
    cw_err *e)
{
	struct timespec now = {0, 0};
	char *id;
	int r = 0;

	if (s->hk.state != HK_MIGRATED && hashkey(s, 0, &now, e) != 0)
		return -1;
	/* Until the store is migrated, its opt-out may still be under the old
	 * id; the old one first, as migrate() makes the new before it drops it. */
	if (s->hk.state != HK_MIGRATED) {
		char h[41];

		legacy_hash(value, strcmp(on, "email") == 0, h);
		id = cw_asprintf("suppress:%s:%s", on, h);
		r = exists(s, id, e);
		free(id);
	}
	if (r == 0 && s->hk.state >= HK_KEYED) {
		id = keyed != NULL && *keyed != '\0' ?
		    cw_asprintf("suppress:%s:%s", on, keyed) : suppression_id(s, on, value);
		r = exists(s, id, e);
		free(id);
	}
	return r;
}

int
cw_suppressed(struct cw_docstore *s, const char *on, const char *value, cw_err *e)
{
	return suppressed(s, on, value, NULL, e);
}

static const char *
record_email(const json_t *rec)
{
	const char *m = cw_json_istr(rec, "email");

	if (m == NULL || *m == '\0')
		m = cw_json_istr(rec, "ReceiptEmail");
	return m != NULL && *m != '\0' ? m : NULL;
}

/*
 * The switch-over document of a channel: made on the first run that sees the
 * channel, from the .NET sample's run-status document if there is one. From
 * then on carts at or before the sample's watermark count as reminded, exactly
 * as the sample's next run would have skipped them.
 */
static json_t *
switch_doc(struct cw_ledger *l, long long channel, cw_err *e)
{
	char key[32], *id, *etag;
	json_t *doc = NULL, *sample = NULL;
	int r;

	snprintf(key, sizeof(key), "%lld", channel);
	if ((doc = json_object_get(l->switches, key)) != NULL)
		return doc;
	id = cw_asprintf("cartwatch:switch:%s:%lld", l->o->oun, channel);
	for (int round = 0; round < 2; round++) {
		if ((r = l->s->read(l->s, l->o->oun, id, &doc, &etag, e)) == 1) {
			free(etag);
			break;
		}
		if (r < 0)
			goto out;
		char *sid = cw_asprintf("%s:%lld", l->o->oun, channel);
		r = l->s->read(l->s, l->o->oun, sid, &sample, &etag, e);
		free(sid);
		if (r < 0)
			goto out;
		if (r == 1)
			free(etag);
		doc = json_pack("{s:s,s:s,s:s,s:O?,s:O?}", "id", id, "oun", l->o->oun,
		    "kind", KIND_SWITCH,
		    "watermark", cw_json_iget(sample, "lastSuceessfulCompletionDateTime"),
		    "cartIds", cw_json_iget(sample, "lastProcessedCartIds"));
		json_decref(sample);
		sample = NULL;
		if (l->dry)
			break;  /* what the note would say, kept in memory only */
		if ((r = l->s->create(l->s, l->o->oun, id, doc, e)) < 0) {
			json_decref(doc);
			doc = NULL;
			goto out;
		}
		if (r == 1)
			break;
		json_decref(doc);  /* another run made it first: read theirs */
		doc = NULL;
	}
	if (doc != NULL)
		json_object_set_new(l->switches, key, doc);
out:
	free(id);
	return doc;
}

/* 1 if the sample reminded this cart before we took over, 0 if not, -1 error. */
static int
before_switch(struct cw_ledger *l, const json_t *cart, const struct timespec *modified,
    cw_err *e)
{
	const json_t *ch = cw_json_iget(cart, "channelId");
	const char *wm, *ids, *id = cw_json_istr(cart, "Id");
	struct timespec w;
	json_t *doc;
	int c;

	if (!json_is_integer(ch))
		return 0;
	if ((doc = switch_doc(l, json_integer_value(ch), e)) == NULL)
		return -1;
	wm = cw_json_istr(doc, "watermark");
	if (wm == NULL || cw_iso8601_parse(wm, &w) != 0)
		return 0;
	if ((c = cw_time_cmp(modified, &w)) != 0)
		return c < 0;
	/* At the watermark itself the sample had done the ids it listed. */
	ids = cw_json_istr(doc, "cartIds");
	for (const char *p = ids; p != NULL && *p != '\0'; ) {
		size_t n = strcspn(p, ",");

		if (n == strlen(id) && strncmp(p, id, n) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* A new entry for rec; eh is the keyed hash of its email if known already
 * (NULL: hashed here). */
static json_t *
entry(struct cw_ledger *l, const char *key, const json_t *rec, const struct timespec *modified,
    int step, const char *state, const struct timespec *now, const char *eh)
{
	const char *email = record_email(rec);
	const char *cart = cw_json_istr(rec, "cartId");
	char iso[CW_ISO8601_MAX], up[CW_ISO8601_MAX], h[65] = "";

	if (eh != NULL)
		snprintf(h, sizeof(h), "%s", eh);
	else if (email != NULL)
		hash(l->s, email, 1, h);
	if (cart == NULL)
		cart = cw_json_istr(rec, "Id");
	return json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s,s:s,s:i,s:s,s:i,s:I,s:s,s:s,s:I}",
	    "id", key, "oun", l->o->oun, "kind", KIND_REMINDER,
	    "cartId", cart,
	    "customerId", cw_json_istr(rec, "customerId") ? cw_json_istr(rec, "customerId") :
	    cw_json_istr(rec, "CustomerId") ? cw_json_istr(rec, "CustomerId") : "",
	    "emailHash", h,
	    "modifiedDateTime", cw_iso8601_format(modified, iso),
	    "step", step, "state", state, "attempts", 0,
	    "leaseUntil", (json_int_t)0, "claimedBy", "",
	    "updated", cw_iso8601_format(now, up), "updatedEpoch", (json_int_t)now->tv_sec);
}

static void
touch(json_t *doc, const struct timespec *now)
{
	char up[CW_ISO8601_MAX];

	json_object_set_new(doc, "updated", json_string(cw_iso8601_format(now, up)));
	json_object_set_new(doc, "updatedEpoch", json_integer(now->tv_sec));
}

static const char *
str_or(const json_t *doc, const char *key)
{
	const char *v = cw_json_istr(doc, key);

	return v != NULL ? v : "";
}

static int
is_state(const json_t *doc, const char *s)
{
	const char *st = cw_json_istr(doc, "state");

	return st != NULL && strcmp(st, s) == 0;
}

/* Held by a run: claimed, or claimed and handed to the provider. */
static int
is_claim(const json_t *doc)
{
	return is_state(doc, "claimed") || is_state(doc, "sending");
}

static int
claim_live(const json_t *doc, const struct timespec *now)
{
	return is_claim(doc) &&
	    json_integer_value(json_object_get(doc, "leaseUntil")) > now->tv_sec;
}

/* A claim whose run was killed after handing the record to the provider:
 * it may have been delivered, so it is not sent again by itself. */
static int
interrupted_send(const struct cw_ledger *l, const json_t *doc, const struct timespec *now)
{
	return is_state(doc, "sending") && !claim_live(doc, now) && !l->o->resend_uncertain;
}

/* The states of an entry; "sending": claimed and handed to the provider;
 * "uncertain": a send whose outcome is unknown. */
static const char *const states[] = {
	"claimed", "sending", "sent", "failed", "gaveup", "skipped", "uncertain", "deferred"
};

/*
 * 0 if doc is a ledger entry we could have written; else CW_LEDGER_CORRUPT
 * with e naming the key. Guessing would make the key look busy for ever, or
 * free when it is not.
 */
static int
check_entry(const char *key, const json_t *doc, cw_err *e)
{
	const char *st = cw_json_istr(doc, "state"), *why = NULL;
	const json_t *n = json_object_get(doc, "attempts");
	size_t i;

	for (i = 0; st != NULL && i < sizeof(states) / sizeof(*states); i++)
		if (strcmp(st, states[i]) == 0)
			break;
	if (!json_is_object(doc))
		why = "not a JSON object";
	else if (st == NULL || i == sizeof(states) / sizeof(*states))
		why = "its state is not one of ours";
	else if (!json_is_integer(n) || json_integer_value(n) < 0)
		why = "attempts is not a whole number";
	else if (!json_is_integer(json_object_get(doc, "leaseUntil")))
		why = "leaseUntil is not a whole number";
	if (why == NULL)
		return 0;
	cw_seterr(e, "ledger entry %s is corrupt: %s; left alone (cart-dedupe resend %s "
	    "removes it)", key, why, key);
	return CW_LEDGER_CORRUPT;
}

/* Final: no run sends the key again by itself. */
static int
is_final(const json_t *doc)
{
	return is_state(doc, "sent") || is_state(doc, "skipped") || is_state(doc, "uncertain");
}

/* A step given up ends its series: a customer we could not reach with the
 * first reminder is not sent the second. Internal to claim_step's answers. */
#define GAVE_UP (CW_DEFERRED + 1)

/* Tries to claim key for step: CW_PASS, CW_DONE (sent, skipped or
 * uncertain: look at the next step), GAVE_UP, CW_BUSY, CW_LEDGER_CORRUPT or
 * -1. */
static int
claim_step(struct cw_ledger *l, const char *key, const json_t *cart,
    const struct timespec *modified, int step, const struct timespec *now, const char *eh,
    cw_err *e)
{
	json_t *doc = entry(l, key, cart, modified, step, "claimed", now, eh), *cur;
	int verdict = CW_BUSY, r;
	char *etag;

	json_object_set_new(doc, "leaseUntil", json_integer(now->tv_sec + l->o->lease_s));
	json_object_set_new(doc, "claimedBy", json_string(l->run));
	for (int round = 0; round < 2; round++) {
		if (l->dry) {
			/* Absent means it would be ours; the rest as below. */
			if ((r = l->s->read(l->s, l->o->oun, key, &cur, &etag, e)) <= 0) {
				verdict = r == 0 ? CW_PASS : r == CW_DOC_CORRUPT ?
				    CW_LEDGER_CORRUPT : -1;
				break;
			}
			verdict = check_entry(key, cur, e) != 0 ? CW_LEDGER_CORRUPT :
			    is_final(cur) || interrupted_send(l, cur, now) ? CW_DONE :
			    is_state(cur, "gaveup") ? GAVE_UP :
			    claim_live(cur, now) ? CW_BUSY : CW_PASS;
			json_decref(cur);
			free(etag);
			break;
		}
		/* Read ahead, an entry costs nothing to look at: create only
		 * when there is none. */
		r = l->ahead ? l->s->read(l->s, l->o->oun, key, &cur, &etag, e) : 0;
		if (r == 0 && (r = l->s->create(l->s, l->o->oun, key, doc, e)) != 0) {
			verdict = r == 1 ? CW_PASS : -1;
			break;
		}
		if (r == 0 && (r = l->s->read(l->s, l->o->oun, key, &cur, &etag, e)) == 0)
			continue;  /* deleted since: try creating again */
		if (r < 0) {
			verdict = r == CW_DOC_CORRUPT ? CW_LEDGER_CORRUPT : -1;
			break;
		}
		if (check_entry(key, cur, e) != 0)
			verdict = CW_LEDGER_CORRUPT;
		else if (is_final(cur))
			verdict = CW_DONE;
		else if (is_state(cur, "gaveup"))
			verdict = GAVE_UP;
		else if (claim_live(cur, now) && strcmp(str_or(cur, "claimedBy"), l->run) == 0)
			verdict = CW_PASS;  /* our own create, retried after its reply was lost */
		else if (claim_live(cur, now))
			verdict = CW_BUSY;
		else if (interrupted_send(l, cur, now)) {
			json_t *u = json_deep_copy(cur);

			json_object_set_new(u, "state", json_string("uncertain"));
			json_object_set_new(u, "leaseUntil", json_integer(0));
			json_object_set_new(u, "error", json_string("the run sending it was "
			    "interrupted: the outcome is unknown"));
			touch(u, now);
			r = l->s->replace(l->s, l->o->oun, key, u, etag, e);
			json_decref(u);
			verdict = r == 1 ? CW_DONE : r == 0 ? CW_BUSY : -1;
		} else {
			/* A failed send, or a claim whose lease ran out (its run
			 * was killed): take it over, keeping the attempt count. */
			json_object_set(doc, "attempts", json_object_get(cur, "attempts"));
			r = l->s->replace(l->s, l->o->oun, key, doc, etag, e);
			verdict = r == 1 ? CW_PASS : r == 0 ? CW_BUSY : -1;
		}
		json_decref(cur);
		free(etag);
		break;
	}
	json_decref(doc);
	return verdict;
}

/* What an entry in mark_step's way says: CW_LEDGER_CORRUPT, CW_DONE (final,
 * given up, or an interrupted send), CW_BUSY (a live claim), or 0 when it may
 * be overwritten. */
static int
in_the_way(const struct cw_ledger *l, const char *key, const json_t *cur,
    const struct timespec *now, cw_err *e)
{
	if (check_entry(key, cur, e) != 0)
		return CW_LEDGER_CORRUPT;
	if (is_final(cur) || is_state(cur, "gaveup") || interrupted_send(l, cur, now))
		return CW_DONE;
	return claim_live(cur, now) ? CW_BUSY : 0;
}

/*
 * Records step of cart as reason says, unless its entry is final already or
 * held by a live claim: state "skipped" (final: late, frequency-cap), or
 * "deferred" (quiet-hours: claimable later, made only when absent). A verdict
 * (CW_SKIPPED, CW_DEFERRED, CW_DONE, CW_BUSY), CW_LEDGER_CORRUPT or -1.
 */
static int
mark_step(struct cw_ledger *l, const char *key, const json_t *cart,
    const struct timespec *modified, int step, const char *state, const char *reason,
    const struct timespec *now, const char *eh, cw_err *e)
{
	int ok = strcmp(state, "deferred") == 0 ? CW_DEFERRED : CW_SKIPPED, r, w;
	json_t *doc = entry(l, key, cart, modified, step, state, now, eh), *cur = NULL;
	char *etag = NULL;

	json_object_set_new(doc, "reason", json_string(reason));
	r = l->dry ? 0 : l->s->create(l->s, l->o->oun, key, doc, e);
	if (r == 0)  /* there is an entry (or, in a dry run, may be) */
		r = l->s->read(l->s, l->o->oun, key, &cur, &etag, e);
	else if (r == 1)
		r = 0;   /* made: nothing more to look at */
	if (r < 0)
		r = r == CW_DOC_CORRUPT ? CW_LEDGER_CORRUPT : -1;
	else if (r == 1 && (w = in_the_way(l, key, cur, now, e)) != 0)
		r = w;
	else if (r == 1 && ok == CW_SKIPPED && !l->dry)
		r = (w = l->s->replace(l->s, l->o->oun, key, doc, etag, e)) < 0 ? -1 :
		    w == 1 ? ok : CW_BUSY;
	else
		r = ok;  /* made, absent, or a deferral, which writes only a new entry */
	json_decref(cur);
	json_decref(doc);
	free(etag);
	return r;
}

/* The frequency cap's documents of cart: its customer's and its address's
 * (keyed hash), in ids[0..2); how many. Caller frees each. */
static int
cap_ids(const struct cw_ledger *l, const json_t *cart, const char *eh, char *ids[2])
{
	const char *customer = cw_json_istr(cart, "CustomerId");
	int n = 0;

	if (customer != NULL && *customer != '\0')
		ids[n++] = cw_asprintf("cartwatch:cap:%s:customer:%s", l->o->oun, customer);
	if (*eh != '\0')
		ids[n++] = cw_asprintf("cartwatch:cap:%s:email:%s", l->o->oun, eh);
	return n;
}

/* 1 when another reminder of the same person was claimed within the cap;
 * 0; -1 with e. */
static int
capped(struct cw_ledger *l, const json_t *cart, const char *key, const char *eh,
    const struct timespec *now, cw_err *e)
{
	char *ids[2], *etag;
	int n = cap_ids(l, cart, eh, ids), r = 0;
	json_t *doc;

	for (int i = 0; i < n; i++) {
		int found = r == 0 ? l->s->read(l->s, l->o->oun, ids[i], &doc, &etag, e) : 0;

		if (found < 0)
			r = -1;
		if (found == 1) {
			r = strcmp(str_or(doc, "notificationId"), key) != 0 &&
			    json_integer_value(json_object_get(doc, "lastClaim")) >
			    (json_int_t)(now->tv_sec - l->o->cap_s);
			json_decref(doc);
			free(etag);
		}
		free(ids[i]);
	}
	return r;
}

/* Notes key's claim on the person's cap documents: 0, or -1 with e. */
static int
note_cap(struct cw_ledger *l, const json_t *cart, const char *key, const char *eh,
    const struct timespec *now, cw_err *e)
{
	char *ids[2], up[CW_ISO8601_MAX];
	int n = cap_ids(l, cart, eh, ids), r = 0;

	for (int i = 0; i < n; i++) {
		json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "id", ids[i],
		    "oun", l->o->oun, "kind", KIND_CAP, "notificationId", key,
		    "lastClaim", (json_int_t)now->tv_sec, "updated", cw_iso8601_format(now, up));

		if (r == 0 && !l->dry && l->s->upsert(l->s, l->o->oun, ids[i], doc, e) < 0)
			r = -1;
		json_decref(doc);
		free(ids[i]);
	}
	return r;
}

/* The policies of one due step: late, the frequency cap, then the claim
 * (or, in quiet hours, a deferral). A verdict of claim_step's or mark_step's. */
static int
decide_step(struct cw_ledger *l, const char *key, const json_t *cart,
    const struct timespec *modified, int k, long long age, int defer,
    const struct timespec *now, const char *eh, cw_err *e)
{
	const json_t *st = json_array_get(l->o->steps, (size_t)k - 1);
	json_int_t after = json_integer_value(json_object_get(st, "after"));
	json_int_t late = json_integer_value(json_object_get(st, "late"));
	int r;

	if (late >= 0 && age > after + late)
		return mark_step(l, key, cart, modified, k, "skipped", "late", now, eh, e);
	if (defer)
		return mark_step(l, key, cart, modified, k, "deferred", "quiet-hours", now, eh, e);
	if (l->o->cap_s > 0 && (r = capped(l, cart, key, eh, now, e)) != 0)
		return r < 0 ? -1 :
		    mark_step(l, key, cart, modified, k, "skipped", "frequency-cap", now, eh, e);
	r = claim_step(l, key, cart, modified, k, now, eh, e);
	if (r == CW_PASS && l->o->cap_s > 0 && note_cap(l, cart, key, eh, now, e) != 0)
		return -1;
	return r;
}

static int
claim_or_defer(struct cw_ledger *l, const json_t *cart, const struct timespec *modified,
    const struct timespec *now, char key[CW_NOTIFICATION_ID_LEN + 1], int *step,
    int defer, cw_err *e)
{
	const char *customer = cw_json_istr(cart, "CustomerId"), *email = record_email(cart);
	const char *id = cw_json_istr(cart, "Id");
	long long age = (long long)now->tv_sec - (long long)modified->tv_sec;
	size_t n = json_array_size(l->o->steps);
	char eh[65] = "";
	int r;

	if (ready(l, now, e) != 0)
		return -1;
	if (email != NULL)
		hash(l->s, email, 1, eh);
	if (customer != NULL && *customer != '\0' &&
	    (r = cw_suppressed(l->s, "customer", customer, e)) != 0)
		return r < 0 ? r : CW_SUPPRESSED;
	if (email != NULL && (r = suppressed(l->s, "email", email, eh, e)) != 0)
		return r < 0 ? r : CW_SUPPRESSED;
	if ((r = before_switch(l, cart, modified, e)) != 0)
		return r < 0 ? -1 : CW_BEFORE_SWITCH;
	for (size_t k = 1; k <= n; k++) {
		if (age < json_integer_value(json_object_get(json_array_get(l->o->steps, k - 1),
		    "after")))
			return CW_NOT_DUE;
		cw_notification_id(id, modified, (int)k, key);
		r = decide_step(l, key, cart, modified, (int)k, age, defer, now, eh, e);
		if (r == GAVE_UP)
			return CW_DONE;
		/* A step skipped now ends nothing: the next may be due. */
		if (r != CW_DONE && r != CW_SKIPPED) {
			*step = (int)k;
			return r;
		}
	}
	return CW_DONE;
}

int
cw_ledger_claim(struct cw_ledger *l, const json_t *cart, const struct timespec *modified,
    const struct timespec *now, char key[CW_NOTIFICATION_ID_LEN + 1], int *step, cw_err *e)
{
	return claim_or_defer(l, cart, modified, now, key, step, 0, e);
}

int
cw_ledger_defer(struct cw_ledger *l, const json_t *cart, const struct timespec *modified,
    const struct timespec *now, cw_err *e)
{
	char key[CW_NOTIFICATION_ID_LEN + 1];
	int step;

	return claim_or_defer(l, cart, modified, now, key, &step, 1, e);
}

/* Adds to ids (n of them so far) the opt-out ids a claim of cart looks at,
 * as suppressed() does: the old id until the store is migrated, the keyed
 * one once it has a key. */
static void
ahead_optouts(const struct cw_docstore *s, const json_t *cart, char **ids, size_t *n)
{
	const char *customer = cw_json_istr(cart, "CustomerId"), *email = record_email(cart);
	const char *on[2] = {"customer", "email"}, *value[2] = {customer, email};
	char h[41];

	if (customer != NULL && *customer == '\0')
		value[0] = NULL;
	for (int i = 0; i < 2; i++) {
		if (value[i] == NULL)
			continue;
		if (s->hk.state != HK_MIGRATED) {
			legacy_hash(value[i], i == 1, h);
			ids[(*n)++] = cw_asprintf("suppress:%s:%s", on[i], h);
		}
		if (s->hk.state >= HK_KEYED)
			ids[(*n)++] = suppression_id(s, on[i], value[i]);
	}
}

/* Adds to keys the entries a claim of cart looks at: one per step due. */
static void
ahead_steps(const struct cw_ledger *l, const json_t *cart, const struct timespec *modified,
    const struct timespec *now, char **keys, size_t *n)
{
	long long age = (long long)now->tv_sec - (long long)modified->tv_sec;
	const char *id = cw_json_istr(cart, "Id");
	char key[CW_NOTIFICATION_ID_LEN + 1];

	for (size_t k = 1; id != NULL && k <= json_array_size(l->o->steps); k++) {
		if (age < json_integer_value(json_object_get(json_array_get(l->o->steps,
		    k - 1), "after")))
			break;
		cw_notification_id(id, modified, (int)k, key);
		keys[(*n)++] = cw_strdup(key);
	}
}

static void
free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
cw_suppressed_prefetch(struct cw_docstore *s, const json_t *const *recs, size_t n,
    cw_err *e)
{
	struct timespec now = {0, 0};
	char **ids;
	size_t ni = 0;
	int r;

	if (s->prefetch == NULL || n == 0)
		return 0;
	if (s->hk.state != HK_MIGRATED && hashkey(s, 0, &now, e) != 0)
		return -1;
	ids = cw_calloc(4 * n + 1, sizeof(*ids));
	ids[ni++] = cw_strdup(HASHKEY_ID);
	for (size_t i = 0; i < n; i++)
		ahead_optouts(s, recs[i], ids, &ni);
	r = s->prefetch(s, SUPPRESSION_PK, (const char *const *)ids, ni, e);
	free_ids(ids, ni);
	return r;
}

int
cw_ledger_prefetch(struct cw_ledger *l, const json_t *const *recs,
    const struct timespec *modified, size_t n, const struct timespec *now, cw_err *e)
{
	struct cw_docstore *s = l->s;
	size_t steps = json_array_size(l->o->steps), ns = 0, nk = 0;
	char **optouts, **keys;
	int r = 0;

	if (s->prefetch == NULL)
		return 0;
	if (n == 0)
		return s->prefetch(s, NULL, NULL, 0, e);
	/* Keys alone (results, sending marks) need no hashing key: none is
	 * made for them. */
	if (modified != NULL && ready(l, now, e) != 0)
		return -1;
	optouts = cw_calloc(4 * n + 1, sizeof(*optouts));
	keys = cw_calloc((steps > 0 ? steps : 1) * n, sizeof(*keys));
	optouts[ns++] = cw_strdup(HASHKEY_ID);
	for (size_t i = 0; i < n && r == 0; i++) {
		const json_t *ch = cw_json_iget(recs[i], "channelId");
		const char *key = cw_json_istr(recs[i], "notificationId");

		if (modified == NULL) {
			if (key != NULL && *key != '\0')
				keys[nk++] = cw_strdup(key);
			continue;
		}
		ahead_optouts(s, recs[i], optouts, &ns);
		ahead_steps(l, recs[i], &modified[i], now, keys, &nk);
		/* Made now, before the group: its create is not held. */
		if (json_is_integer(ch) && switch_doc(l, json_integer_value(ch), e) == NULL)
			r = -1;
	}
	if (r == 0 && modified != NULL)
		r = s->prefetch(s, SUPPRESSION_PK, (const char *const *)optouts, ns, e);
	if (r == 0 && nk > 0)
		r = s->prefetch(s, l->o->oun, (const char *const *)keys, nk, e);
	l->ahead = r == 0;
	free_ids(optouts, ns);
	free_ids(keys, nk);
	return r;
}

/*
 * A result record is well-formed: a key, a status of sent, failed or skipped,
 * an ISO 8601 modifiedDateTime if any (into *m), and "uncertain" only as true
 * or false, true only on a failed send. 0, or -1 with e.
 */
static int
check_result(const json_t *result, struct timespec *m, cw_err *e)
{
	const char *key = cw_json_istr(result, "notificationId");
	const char *status = cw_json_istr(result, "status");
	const char *mod = cw_json_istr(result, "modifiedDateTime");
	const json_t *unsure = cw_json_iget(result, "uncertain");

	if (key == NULL || *key == '\0' || status == NULL || (strcmp(status, "sent") != 0 &&
	    strcmp(status, "failed") != 0 && strcmp(status, "skipped") != 0))
		return cw_seterr(e, "not a result: needs notificationId and a status of "
		    "sent, failed or skipped");
	if (mod != NULL && cw_iso8601_parse(mod, m) != 0)
		return cw_seterr(e, "result %s: modifiedDateTime is not an ISO 8601 time", key);
	if (unsure != NULL && !json_is_boolean(unsure))
		return cw_seterr(e, "result %s: uncertain is not true or false", key);
	if (json_is_true(unsure) && strcmp(status, "failed") != 0)
		return cw_seterr(e, "result %s: only a failed send can be uncertain", key);
	return 0;
}

/*
 * What entry cur becomes with result recorded (owned), or NULL when cur is
 * final (sent, uncertain) and result is no success: a late failure of a
 * duplicate changes nothing. *gave_up is set when this failure was the last
 * attempt.
 */
static json_t *
settled(const struct cw_ledger *l, const json_t *cur, const json_t *result,
    const struct timespec *now, int *gave_up)
{
	const char *status = cw_json_istr(result, "status");
	const char *provider = cw_json_istr(result, "provider");
	const char *msgid = cw_json_istr(result, "providerMessageId");
	const char *error = cw_json_istr(result, "error");
	json_t *doc;

	if ((is_state(cur, "sent") || is_state(cur, "uncertain")) &&
	    strcmp(status, "sent") != 0)
		return NULL;
	doc = json_deep_copy(cur);
	if (json_is_true(cw_json_iget(result, "uncertain")) && !l->o->resend_uncertain) {
		/* It may have reached the customer: not sent again by
		 * itself, nor counted as an attempt. */
		json_object_set_new(doc, "state", json_string("uncertain"));
	} else if (strcmp(status, "failed") == 0) {
		json_int_t n = json_integer_value(json_object_get(cur, "attempts")) + 1;

		json_object_set_new(doc, "attempts", json_integer(n));
		*gave_up = n >= l->o->max_attempts;
		json_object_set_new(doc, "state", json_string(*gave_up ? "gaveup" : "failed"));
	} else
		json_object_set_new(doc, "state", json_string(status));
	json_object_set_new(doc, "leaseUntil", json_integer(0));
	json_object_set_new(doc, "provider", json_string(provider ? provider : ""));
	if (msgid != NULL)
		json_object_set_new(doc, "providerMessageId", json_string(msgid));
	if (error != NULL)
		json_object_set_new(doc, "error", json_string(error));
	if (cw_json_istr(result, "reason") != NULL)  /* why skipped, for the report */
		json_object_set_new(doc, "reason", json_string(cw_json_istr(result, "reason")));
	if (strcmp(status, "sent") == 0) {
		char at[CW_ISO8601_MAX];

		json_object_set_new(doc, "sentAt", json_string(cw_iso8601_format(now, at)));
	}
	touch(doc, now);
	return doc;
}

int
cw_ledger_records(const json_t *result)
{
	const char *provider = cw_json_istr(result, "provider");

	/* A preview sends nothing: it must not use a key up (it would stay
	 * skipped, and the real provider would never send it). A test send
	 * (cart-notify --to) went to somebody else. */
	return !(provider != NULL && strcmp(provider, "preview") == 0) &&
	    !json_is_true(cw_json_iget(result, "test"));
}

int
cw_ledger_commit(struct cw_ledger *l, const json_t *result, const struct timespec *now,
    int *gave_up, int *bad, cw_err *e)
{
	const char *key = cw_json_istr(result, "notificationId");
	const json_t *stepv = cw_json_iget(result, "step");
	struct timespec m = {0, 0};
	json_t *doc, *cur;
	char *etag;
	int r;

	*gave_up = *bad = 0;
	if (check_result(result, &m, e) != 0) {
		*bad = 1;
		return -1;
	}
	if (l->dry || !cw_ledger_records(result))
		return 0;
	if (ready(l, now, e) != 0)
		return -1;
	for (int round = 0; round < CAS_ROUNDS; round++) {
		int found = l->s->read(l->s, l->o->oun, key, &cur, &etag, e);

		if (found == CW_DOC_CORRUPT)
			*bad = 1;
		if (found < 0)
			return -1;
		if (found == 1 && check_entry(key, cur, e) != 0) {
			*bad = 1;
			json_decref(cur);
			free(etag);
			return -1;
		}
		if (found == 0) {
			/* A send nobody claimed (a stage run by hand): record it. */
			cur = entry(l, key, result, &m, json_is_integer(stepv) ?
			    (int)json_integer_value(stepv) : 1, "claimed", now, NULL);
			etag = NULL;
		}
		if ((doc = settled(l, cur, result, now, gave_up)) == NULL) {
			r = 0;
		} else {
			r = etag == NULL ? l->s->create(l->s, l->o->oun, key, doc, e) :
			    l->s->replace(l->s, l->o->oun, key, doc, etag, e);
			r = r == 1 ? 0 : r == 0 ? 1 : -1;  /* 1: lost a race, read again */
		}
		json_decref(doc);
		json_decref(cur);
		free(etag);
		if (r <= 0)
			return r;
	}
	return cw_seterr(e, "result %s: the entry kept changing under us", key);
}

/*
 * The entry at key, when wanted(l, cur, now) holds, written back changed by
 * change(doc) under compare-and-swap, read again after a lost race: 1
 * written, 0 no entry or not wanted, -1 or CW_LEDGER_CORRUPT with e.
 */
static int
update_entry(struct cw_ledger *l, const char *key, const struct timespec *now,
    int (*wanted)(const struct cw_ledger *, const json_t *, const struct timespec *),
    void (*change)(json_t *), cw_err *e)
{
	json_t *cur, *doc;
	char *etag;
	int r = 0;

	if (l->dry)
		return 0;
	for (int round = 0; round < CAS_ROUNDS; round++) {
		if ((r = l->s->read(l->s, l->o->oun, key, &cur, &etag, e)) <= 0)
			return r == CW_DOC_CORRUPT ? CW_LEDGER_CORRUPT : r;
		if ((r = check_entry(key, cur, e)) == 0 && wanted(l, cur, now)) {
			doc = json_deep_copy(cur);
			change(doc);
			touch(doc, now);
			r = l->s->replace(l->s, l->o->oun, key, doc, etag, e);
			json_decref(doc);
			r = r == 1 ? 1 : r == 0 ? 2 : -1;  /* 2: lost a race, read again */
		}
		json_decref(cur);
		free(etag);
		if (r != 2)
			return r;
	}
	return cw_seterr(e, "notification %s: the entry kept changing under us", key);
}

static int
still_claimed(const struct cw_ledger *l, const json_t *cur, const struct timespec *now)
{
	(void)l;
	(void)now;
	return is_state(cur, "claimed");
}

static void
to_sending(json_t *doc)
{
	json_object_set_new(doc, "state", json_string("sending"));
}

int
cw_ledger_sending(struct cw_ledger *l, const char *key, const struct timespec *now,
    cw_err *e)
{
	return update_entry(l, key, now, still_claimed, to_sending, e);
}

static int
claimed_by_this_run(const struct cw_ledger *l, const json_t *cur, const struct timespec *now)
{
	return claim_live(cur, now) && strcmp(str_or(cur, "claimedBy"), l->run) == 0;
}

static void
lease_ended(json_t *doc)
{
	json_object_set_new(doc, "leaseUntil", json_integer(0));
}

int
cw_ledger_release(struct cw_ledger *l, const char *key, const struct timespec *now,
    cw_err *e)
{
	return update_entry(l, key, now, claimed_by_this_run, lease_ended, e);
}

int
cw_ledger_run_status(struct cw_ledger *l, long long channel, const char *last,
    const char *cart_ids, cw_err *e)
{
	char *id;
	json_t *doc;
	int r;

	if (l->dry)
		return 0;
	id = cw_asprintf("%s:%lld", l->o->oun, channel);
	/* The sample's document, its misspelling included. */
	doc = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "oun", l->o->oun,
	    "lastSuceessfulCompletionDateTime", last, "lastProcessedCartIds", cart_ids);
	r = l->s->upsert(l->s, l->o->oun, id, doc, e);

	json_decref(doc);
	free(id);
	return r < 0 ? -1 : 0;
}

int
cw_ledger_last_run(struct cw_docstore *s, const char *oun, long long channel,
    struct timespec *at, cw_err *e)
{
	char *id = cw_asprintf("%s:%lld", oun, channel), *etag;
	const char *wm;
	json_t *doc;
	int r = s->read(s, oun, id, &doc, &etag, e);

	free(id);
	if (r != 1)
		return r < 0 ? -1 : 0;
	free(etag);
	wm = cw_json_istr(doc, "lastSuceessfulCompletionDateTime");
	r = wm != NULL && cw_iso8601_parse(wm, at) == 0;
	json_decref(doc);
	return r;
}

int
cw_ledger_suppress(struct cw_ledger *l, const char *on, const char *value, int add,
    const struct timespec *now, cw_err *e)
{
	char *id, iso[CW_ISO8601_MAX];
	json_t *doc;
	int r;

	if (l->dry)
		return 0;
	if (ready(l, now, e) != 0)
		return -1;
	id = suppression_id(l->s, on, value);
	if (!add) {
		r = l->s->remove(l->s, SUPPRESSION_PK, id, e);
	} else {
		doc = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "oun", SUPPRESSION_PK,
		    "kind", KIND_SUPPRESSION, "on", on, "since", cw_iso8601_format(now, iso));
		r = l->s->upsert(l->s, SUPPRESSION_PK, id, doc, e);
		json_decref(doc);
	}
	free(id);
	return r < 0 ? -1 : 0;
}

static int
collect(const json_t *doc, const char *etag, void *ctx)
{
	struct collect *c = ctx;
	const char *k = cw_json_istr(doc, "kind");

	(void)etag;
	if (c->kind == NULL || (k != NULL && strcmp(k, c->kind) == 0))
		json_array_append(c->docs, (json_t *)doc);
	return 0;
}

static int
remove_all(struct cw_ledger *l, json_t *docs, unsigned long *removed, cw_err *e)
{
	const json_t *d;
	size_t i;

	json_array_foreach(docs, i, d) {
		int r = l->s->remove(l->s, cw_json_istr(d, "oun"), cw_json_istr(d, "id"), e);

		if (r < 0)
			return -1;
		*removed += (unsigned long)r;
	}
	return 0;
}

int
cw_ledger_forget(struct cw_ledger *l, const char *on, const char *value,
    int keep_suppression, const struct timespec *now, unsigned long *removed, cw_err *e)
{
	struct collect c = {json_array(), KIND_REMINDER};
	char h[65], *sid;
	int r;

	*removed = 0;
	if (ready(l, now, e) != 0) {
		json_decref(c.docs);
		return -1;
	}
	if (strcmp(on, "email") == 0) {
		hash(l->s, value, 1, h);
		r = l->s->query(l->s, "emailHash", h, collect, &c, e);
	} else
		r = l->s->query(l->s, "customerId", value, collect, &c, e);
	if (r == 0)
		r = remove_all(l, c.docs, removed, e);
	json_decref(c.docs);
	if (r != 0)
		return -1;
	if (keep_suppression)
		return cw_ledger_suppress(l, on, value, 1, now, e);
	sid = suppression_id(l->s, on, value);
	r = l->s->remove(l->s, SUPPRESSION_PK, sid, e);
	free(sid);
	if (r > 0)
		(*removed)++;
	return r < 0 ? -1 : 0;
}

int
cw_ledger_resend(struct cw_ledger *l, const char *key, const struct timespec *now,
    const char **was, cw_err *e)
{
	json_t *cur = NULL;
	char *etag = NULL;
	int r = l->s->read(l->s, l->o->oun, key, &cur, &etag, e);

	*was = "?";
	if (r == 1 && check_entry(key, cur, e) == 0) {
		for (size_t i = 0; i < sizeof(states) / sizeof(*states); i++)
			if (is_state(cur, states[i]))
				*was = states[i];
		if (claim_live(cur, now))
			r = cw_seterr(e, "notification %s is being sent: a run holds it until "
			    "its lease runs out", key);
	} else if (r == 1 || r == CW_DOC_CORRUPT) {
		*was = "corrupt";
		r = 1;
	}
	json_decref(cur);
	free(etag);
	if (r != 1)
		return r < 0 ? -1 : 0;
	/* Removed rather than marked: the next claim starts it afresh. */
	return l->s->remove(l->s, l->o->oun, key, e) < 0 ? -1 : 1;
}

int
cw_ledger_prune(struct cw_ledger *l, const struct timespec *now, unsigned long *removed,
    cw_err *e)
{
	struct collect c = {json_array(), KIND_REMINDER};
	json_t *old = json_array(), *d;
	size_t i;
	int r;

	*removed = 0;
	r = l->s->query(l->s, "kind", KIND_REMINDER, collect, &c, e);
	json_array_foreach(c.docs, i, d)
		if (json_integer_value(json_object_get(d, "updatedEpoch")) <
		    now->tv_sec - l->o->retention_s && !claim_live(d, now))
			json_array_append(old, d);
	if (r == 0)
		r = remove_all(l, old, removed, e);
	json_decref(old);
	json_decref(c.docs);
	return r;
}

int
cw_ledger_status(struct cw_ledger *l, const struct timespec *now, json_t **out, cw_err *e)
{
	struct collect c = {json_array(), NULL};
	json_t *counts = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "claimed", 0,
	    "sending", 0, "sent", 0, "failed", 0, "gaveup", 0, "skipped", 0, "uncertain", 0);
	json_t *runs = json_array(), *d, *oldest = NULL;
	json_int_t live = 0, expired = 0, supp = 0;
	size_t i;

	*out = NULL;
	if (l->s->query(l->s, NULL, NULL, collect, &c, e) != 0) {
		json_decref(c.docs);
		json_decref(counts);
		json_decref(runs);
		return -1;
	}
	json_array_foreach(c.docs, i, d) {
		const char *kind = cw_json_istr(d, "kind"), *st = cw_json_istr(d, "state");

		if (cw_json_iget(d, "lastSuceessfulCompletionDateTime") != NULL)
			json_array_append(runs, d);
		if (kind != NULL && strcmp(kind, KIND_SUPPRESSION) == 0)
			supp++;
		if (kind == NULL || strcmp(kind, KIND_REMINDER) != 0 || st == NULL)
			continue;
		json_object_set_new(counts, st, json_integer(
		    json_integer_value(json_object_get(counts, st)) + 1));
		if (!is_claim(d))
			continue;
		if (!claim_live(d, now)) {
			expired++;
			continue;
		}
		live++;
		if (oldest == NULL || json_integer_value(json_object_get(d, "updatedEpoch")) <
		    json_integer_value(json_object_get(oldest, "updatedEpoch")))
			oldest = d;
	}
	*out = json_pack("{s:s,s:o,s:I,s:I,s:O?,s:I,s:o}", "store", l->s->where,
	    "counts", counts, "liveClaims", live, "expiredClaims", expired,
	    "oldestLiveClaim", oldest ? json_object_get(oldest, "updated") : NULL,
	    "suppressions", supp, "runStatus", runs);
	json_decref(c.docs);
	return 0;
}

struct cw_docstore *
cw_ledger_store(const struct cw_ledger *l)
{
	return l->s;
}
