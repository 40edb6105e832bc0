/* provider.h: the email providers cart-notify hands notifications to (the sample's IEmailProvider). */
#ifndef CW_PROVIDER_H
#define CW_PROVIDER_H

#include <stddef.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_check;
struct cw_http;
struct cw_vault;

/*
 * Providers with several requests in flight (MaxInFlight) take batches of
 * this many requests per place: inside a batch a place takes the next
 * request as soon as it is free; at a batch's end every place waits for the
 * slowest. Bigger batches end less often, but each is marked "sending" in
 * the ledger whole before it goes: a run killed mid-batch leaves that many
 * uncertain.
 */
#define CW_BATCHES_IN_FLIGHT 4

/*
 * One provider. cw_provider_config() (registry.h) makes it from the
 * configuration, reading every key it needs (problems counted in the config)
 * and touching no network; open() then reads its secrets from the vault;
 * send() hands over a batch. Results are made with result.h.
 */
struct cw_provider {
	const char *name;
	size_t batch;   /* most records one send() takes */
	/* 1: nothing leaves the machine (a dry run): no secret to read, and
	 * no delivery to claim in the ledger. */
	int dry;
	/* A provider that writes files (the preview): their directory, for
	 * the tool to name at the end; NULL for the others. The provider's. */
	const char *dir;
	/* Warnings of the sends so far (a template's missing field), one line
	 * each, for the caller to take (cw_buf_detach) and print: the library
	 * never prints. cw_provider_close() frees what is left. */
	struct cw_buf said;
	int (*open)(struct cw_provider *p, struct cw_http *h, struct cw_vault *v, cw_err *e);
	/*
	 * Sends recs[0..n) (checked notifications, borrowed) and stores a new
	 * result object (cw_result) in res[i] for every i, whatever happens: a
	 * request that fails marks its own records failed. Returns 0 when every
	 * record got its own outcome (per-record refusals included); 1 when a
	 * whole request failed (the service down after retries, refused
	 * credentials: e says why, the stream goes on); -1 when the provider
	 * cannot go on at all (e says why). res is filled in every case but 2.
	 *
	 * 2: the service refused the whole batch for its content (SendGrid's
	 * 400 naming personalizations.N): nothing was delivered. res[i] holds
	 * a failed result for each record the provider knows to be at fault
	 * and NULL for every other; e says why. Only the records' content may
	 * cause a 2, never the configuration or the service's health, which
	 * are the same for every batch. Callers use cw_provider_send(), which
	 * sends the NULL ones again.
	 */
	int (*send)(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res,
	    cw_err *e);
	void (*close)(struct cw_provider *p);
	/*
	 * --check, after a successful open(): asks the service, read-only,
	 * whether it takes the credentials (doc/DESIGN.md 8.9: Emarsys's settings,
	 * SendGrid's scopes, Mandrill's ping2, SMTP up to AUTH and a NOOP),
	 * sending and changing nothing, and adds what it found to k
	 * (cw/core/check.h): "ok: ...", "problem: ...", or "not checked: ..."
	 * where no call could check without delivering. NULL: the provider has
	 * no check, and the caller says so.
	 */
	void (*check)(struct cw_provider *p, struct cw_check *k);
};

/*
 * p->send() of recs[0..n), res as there, but a batch the service refuses
 * whole (2) is split until each bad record is alone: the records the
 * provider blamed fail, the rest go again as one batch, and a refusal that
 * blames no record is sent again in halves, down to a batch of one, which
 * then fails with e's reason. So a bad record fails alone and costs about
 * 2·log2(n) more requests (one, when the provider names it); a good record
 * is never failed for another's sake. Returns 0, 1 or -1 as send() does,
 * never 2; res is always filled.
 */
int cw_provider_send(struct cw_provider *p, json_t *const *recs, size_t n, json_t **res,
    cw_err *e);

/* Adds text (lines ending "\n"; NULL: none) to p->said, and frees it. */
void cw_provider_say(struct cw_provider *p, char *text);

/* Frees p->said, then p->close(p). p may be NULL. */
void cw_provider_close(struct cw_provider *p);

#endif
