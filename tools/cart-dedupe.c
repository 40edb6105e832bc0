/* cart-dedupe: pass only the carts still owed a reminder, claiming each; record results. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/cart.h"
#include "cw/clock.h"
#include "cw/config.h"
#include "cw/docstore.h"
#include "cw/http.h"
#include "cw/json.h"
#include "cw/keyvault.h"
#include "cw/ledger.h"
#include "cw/ndjson.h"
#include "cw/tool.h"
#include "cw/util.h"

struct dedupe {
	struct cw_ledger *l;
	struct timespec now;
	int store_failed;
	/* --commit: what the run-status document will say, per channel */
	json_t *last;        /* channel -> {"t": iso, "ids": [...]} */
	int failures;        /* failed results or bad lines: no run status then */
	const char *oun;
	int resend_uncertain;
	int preview_noted;   /* said once that preview results are not recorded */
};

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--commit | --dry-run]\n"
	    "       %s [-c FILE] suppress|unsuppress [--email ADDR | --customer ID]\n"
	    "       %s [-c FILE] forget --email ADDR | --customer ID [--keep-suppression]\n"
	    "       %s [-c FILE] prune | status [--json] | where | import\n"
	    "       %s [-c FILE] resend NOTIFICATION-ID\n",
	    program_invocation_short_name, program_invocation_short_name,
	    program_invocation_short_name, program_invocation_short_name,
	    program_invocation_short_name);
	exit(code);
}

/* The filter, per cart: claim it or drop it. */
static int
filter(const struct cw_rec *rec, void *ctx)
{
	struct dedupe *d = ctx;
	char why[256], key[CW_NOTIFICATION_ID_LEN + 1];
	struct timespec modified;
	int v, step = 1;
	cw_err e;

	if (cw_cart_check(rec->json, &modified, why, sizeof(why)) != 0) {
		cw_rec_warn(rec, "%s; not claimed", why);
		return CW_REC_BAD;
	}
	v = cw_ledger_claim(d->l, rec->json, &modified, &d->now, key, &step, &e);
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
	json_object_set_new(rec->json, "notificationId", json_string(key));
	json_object_set_new(rec->json, "step", json_integer(step));
	cw_ndjson_write(stdout, rec->json);
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
	const char *status = cw_json_istr(rec->json, "status");
	const char *provider = cw_json_istr(rec->json, "provider");
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
	if (provider != NULL && strcmp(provider, "preview") == 0 && !d->preview_noted) {
		d->preview_noted = 1;
		cw_warnx("note: results of the preview provider are not recorded: a preview "
		    "sends nothing, so its carts stay owed");
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
	else
		remember(d, rec->json);
	return CW_REC_OK;
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

/* suppress/unsuppress from NDJSON: {"email": ...} or {"customerId": ...} per line. */
struct bulk {
	struct dedupe *d;
	int add;
};

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
	if (cw_ledger_suppress(b->d->l, email ? "email" : "customer", email ? email : cust,
	    b->add, &b->d->now, &e) != 0) {
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
	return CW_REC_OK;
}

static void
print_status(const json_t *st)
{
	const json_t *counts = json_object_get(st, "counts"), *v, *r;
	const char *k;
	size_t i;

	printf("store: %s\n", json_string_value(json_object_get(st, "store")));
	json_object_foreach((json_t *)counts, k, v)
		printf("%s: %" JSON_INTEGER_FORMAT "\n", k, json_integer_value(v));
	printf("live claims: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "liveClaims")));
	printf("expired claims: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "expiredClaims")));
	printf("oldest live claim: %s\n", json_is_string(json_object_get(st, "oldestLiveClaim")) ?
	    json_string_value(json_object_get(st, "oldestLiveClaim")) : "none");
	printf("suppressions: %" JSON_INTEGER_FORMAT "\n",
	    json_integer_value(json_object_get(st, "suppressions")));
	json_array_foreach(json_object_get(st, "runStatus"), i, r)
		printf("run status %s: last %s, carts %s\n", cw_json_istr(r, "id"),
		    cw_json_istr(r, "lastSuceessfulCompletionDateTime"),
		    cw_json_istr(r, "lastProcessedCartIds"));
}

int
main(int argc, char *argv[])
{
	enum { O_EMAIL = 256, O_CUSTOMER, O_KEEP, O_JSON, O_COMMIT, O_DRY };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"commit", no_argument, NULL, O_COMMIT},
		{"dry-run", no_argument, NULL, O_DRY},
		{"email", required_argument, NULL, O_EMAIL},
		{"customer", required_argument, NULL, O_CUSTOMER},
		{"keep-suppression", no_argument, NULL, O_KEEP},
		{"json", no_argument, NULL, O_JSON},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	struct dedupe d = {0};
	struct cw_docstore_cfg sc;
	struct cw_ledger_opts lo;
	struct cw_http_opts ho;
	struct cw_docstore *store = NULL;
	struct cw_vault *vault = NULL;
	struct cw_http *http = NULL;
	char *url = NULL;
	struct cw_config *cfg;
	const char *cfgpath = NULL, *email = NULL, *customer = NULL, *cmd = "filter";
	const char *notification = NULL, *provider;
	int ch, code = CW_EXIT_OK, keep = 0, json = 0, docommit = 0, dry = 0;
	unsigned long removed = 0;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case O_COMMIT: docommit = 1; break;
		case O_DRY: dry = 1; break;
		case O_EMAIL: email = optarg; break;
		case O_CUSTOMER: customer = optarg; break;
		case O_KEEP: keep = 1; break;
		case O_JSON: json = 1; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); return CW_EXIT_OK;
		default: usage(stderr, CW_EXIT_USAGE);
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	if (strcmp(cmd, "resend") == 0 && optind < argc)
		notification = argv[optind++];
	if (optind != argc || (strcmp(cmd, "resend") == 0 && notification == NULL) || (docommit && strcmp(cmd, "filter") != 0) ||
	    (dry && (docommit || strcmp(cmd, "filter") != 0)))
		usage(stderr, CW_EXIT_USAGE);
	if (docommit)
		cmd = "commit";
	/* Each option belongs to its commands; anything else is a mistake. */
	int person = strcmp(cmd, "suppress") == 0 || strcmp(cmd, "unsuppress") == 0 ||
	    strcmp(cmd, "forget") == 0;
	if ((email != NULL && customer != NULL) || ((email || customer) && !person) ||
	    (keep && strcmp(cmd, "forget") != 0) || (json && strcmp(cmd, "status") != 0) ||
	    (strcmp(cmd, "forget") == 0 && email == NULL && customer == NULL) ||
	    (!person && strcmp(cmd, "filter") != 0 && strcmp(cmd, "commit") != 0 &&
	    strcmp(cmd, "prune") != 0 && strcmp(cmd, "status") != 0 &&
	    strcmp(cmd, "where") != 0 && strcmp(cmd, "import") != 0 &&
	    strcmp(cmd, "resend") != 0))
		usage(stderr, CW_EXIT_USAGE);

	cfg = cw_tool_config(cfgpath, 0);
	cw_docstore_config(&sc, cfg);
	cw_ledger_config(&lo, cfg);
	provider = cw_config_str(cfg, "Cartwatch.Notify.Provider", "emarsys");
	/* The vault only when the store's key lives there. */
	if (cw_docstore_needs_vault(&sc))
		url = cw_vault_url_config(cfg);
	cw_http_opts_default(&ho);
	cw_http_opts_config(&ho, cfg);
	if (cw_now(&d.now, &e) != 0) {
		cw_warnx("%s", e.msg);
		code = CW_EXIT_USAGE;
	}
	if (code != CW_EXIT_OK || cw_config_errors(cfg) != 0) {
		code = CW_EXIT_USAGE;
		goto out;
	}
	if (strcmp(cmd, "where") == 0) {
		/* Where the state lives, without opening it: for scripts. */
		char *where = cw_docstore_where(&sc);

		printf("%s\n", where);
		free(where);
		cw_output_finish();
		goto out;
	}
	cw_output_init();
	http = cw_http_new(&ho);
	if (url != NULL && (vault = cw_vault_open(url, http, &code, &e)) == NULL) {
		cw_warnx("%s", e.msg);
		goto out;
	}
	if ((store = cw_docstore_open(&sc, http, vault, &e)) == NULL) {
		cw_warnx("%s", e.msg);
		code = CW_EXIT_FAIL;
		goto out;
	}
	d.l = cw_ledger_new(store, &lo);
	d.resend_uncertain = lo.resend_uncertain;
	/* A preview sends nothing: it must not use up the ledger (claims would
	 * block, results would mark the carts done), whatever the flags say. */
	if (!dry && (strcmp(cmd, "filter") == 0 || strcmp(cmd, "commit") == 0) &&
	    strcmp(provider, "preview") == 0) {
		cw_warnx("note: Cartwatch.Notify.Provider is \"preview\": a dry run for the "
		    "ledger, %s", strcmp(cmd, "filter") == 0 ? "nothing is claimed" :
		    "nothing is recorded");
		dry = 1;
	}
	if (dry)
		cw_ledger_dry_run(d.l);
	d.last = json_object();

	d.oun = lo.oun;
	if (strcmp(cmd, "filter") == 0) {
		code = cw_ndjson_loop(stdin, "<stdin>", filter, &d, NULL);
	} else if (strcmp(cmd, "import") == 0) {
		code = cw_ndjson_loop(stdin, "<stdin>", import_line, &d, NULL);
	} else if (strcmp(cmd, "commit") == 0) {
		code = cw_ndjson_loop(stdin, "<stdin>", commit, &d, NULL);
		if (!d.failures && !d.store_failed && code == CW_EXIT_OK)
			code = write_run_status(&d);
	} else if (person && (email != NULL || customer != NULL)) {
		const char *on = email ? "email" : "customer", *who = email ? email : customer;
		int r;

		if (strcmp(cmd, "forget") == 0)
			r = cw_ledger_forget(d.l, on, who, keep, &d.now, &removed, &e);
		else
			r = cw_ledger_suppress(d.l, on, who, strcmp(cmd, "suppress") == 0,
			    &d.now, &e);
		if (r != 0) {
			cw_warnx("%s", e.msg);
			code = CW_EXIT_FAIL;
		} else if (strcmp(cmd, "forget") == 0)
			fprintf(stderr, "%s: forgot %lu record%s\n", program_invocation_short_name,
			    removed, removed == 1 ? "" : "s");
	} else if (person) {
		struct bulk b = {&d, strcmp(cmd, "suppress") == 0};

		code = cw_ndjson_loop(stdin, "<stdin>", bulk_line, &b, NULL);
	} else if (strcmp(cmd, "resend") == 0) {
		const char *was;
		int r = cw_ledger_resend(d.l, notification, &d.now, &was, &e);

		if (r < 0) {
			cw_warnx("%s", e.msg);
			code = CW_EXIT_FAIL;
		} else if (r == 0) {
			cw_warnx("no entry for notification %s", notification);
			code = CW_EXIT_FAIL;
		} else
			fprintf(stderr, "%s: notification %s (%s) is owed again: the next run "
			    "sends it if its cart is still in the window\n",
			    program_invocation_short_name, notification, was);
	} else if (strcmp(cmd, "prune") == 0) {
		if (cw_ledger_prune(d.l, &d.now, &removed, &e) != 0) {
			cw_warnx("%s", e.msg);
			code = CW_EXIT_FAIL;
		} else
			fprintf(stderr, "%s: pruned %lu record%s\n", program_invocation_short_name,
			    removed, removed == 1 ? "" : "s");
	} else {
		json_t *st;

		if (cw_ledger_status(d.l, &d.now, &st, &e) != 0) {
			cw_warnx("%s", e.msg);
			code = CW_EXIT_FAIL;
		} else {
			if (json)
				cw_ndjson_write(stdout, st);
			else
				print_status(st);
			json_decref(st);
		}
	}
	if (d.store_failed)
		code = CW_EXIT_FAIL;
	json_decref(d.last);
	cw_ledger_free(d.l);
	store->close(store);
	cw_output_finish();
out:
	cw_vault_close(vault);
	free(url);
	cw_http_free(http);
	cw_ledger_opts_free(&lo);
	cw_docstore_cfg_free(&sc);
	cw_config_free(cfg);
	return code;
}
