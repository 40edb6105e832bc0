/* cart-enrich: turn each cart into the content of an email, one notification per line. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/config.h"
#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/d365/cart.h"
#include "cw/d365/lookup.h"
#include "cw/d365/retail.h"
#include "cw/mail/notification.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

/*
 * How long input may be quiet before the carts held are looked up and
 * written: a trickle moves on now rather than when a full batch has come;
 * a stream read at full speed is never quiet that long between two lines.
 */
#define IDLE_MS 200

struct queued {
	json_t *cart;
	struct cw_rec where;   /* for messages about it */
};

struct enrich {
	struct cw_notify_opts no;
	struct cw_retail *rs;
	struct cw_lookup *lookup;
	struct queued *q;
	size_t n, batch;
	unsigned long written, skipped;
	struct cw_retail_opts ro;
};

static const struct cw_help help[] = {
	CW_HELP_CONFIG,
	{"--batch-size N", "carts per lookup, 1 to 1000 (default Cartwatch.Enrich.BatchSize)"},
	CW_HELP_END
};

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--batch-size N]\n", program_invocation_short_name);
	if (code == CW_EXIT_OK)
		cw_print_help(f, NULL, help);
	exit(code);
}

/* The channel of a batch: carts from cart-fetch carry it; others ask Retail Server. */
static int
channel(struct enrich *en, long long *id, const char **currency, cw_err *e)
{
	const json_t *ch = cw_json_iget(en->q[0].cart, "channelId");
	const char *cur = cw_json_istr(en->q[0].cart, "currency");

	if (json_is_integer(ch) && cur != NULL && *cur != '\0') {
		*id = json_integer_value(ch);
		*currency = cur;
		return 0;
	}
	return cw_retail_channel(en->rs, id, currency, e);
}

/* Looks up the batch's customers and products, then writes its notifications
 * in input order. CW_REC_STOP if Retail Server failed. */
static int
flush(struct enrich *en)
{
	json_t *accounts = json_array(), *ids = json_array(), *seen = json_object();
	json_t *customers = NULL, *line;
	const char *currency;
	long long chan;
	int rc = CW_REC_OK;
	cw_err e;
	size_t i, j;

	if (en->n == 0)
		goto out;
	for (i = 0; i < en->n; i++) {
		const char *acct = cw_json_istr(en->q[i].cart, "CustomerId");
		char k[32];

		if (acct != NULL && *acct != '\0' && json_object_get(seen, acct) == NULL) {
			json_object_set_new(seen, acct, json_true());
			json_array_append_new(accounts, json_string(acct));
		}
		json_array_foreach(cw_json_iget(en->q[i].cart, "CartLines"), j, line) {
			const json_t *pid = cw_json_iget(line, "ProductId");

			if (!json_is_integer(pid))
				continue;
			snprintf(k, sizeof(k), "#%" JSON_INTEGER_FORMAT, json_integer_value(pid));
			if (json_object_get(seen, k) == NULL) {
				json_object_set_new(seen, k, json_true());
				json_array_append(ids, (json_t *)pid);
			}
		}
	}
	if (channel(en, &chan, &currency, &e) != 0 ||
	    cw_lookup_customers(en->lookup, accounts, &customers, &e) != 0 ||
	    cw_lookup_products(en->lookup, chan, ids, &e) != 0) {
		cw_warnx("%s", e.msg);
		rc = CW_REC_STOP;
		goto out;
	}
	for (i = 0; i < en->n; i++) {
		const json_t *cart = en->q[i].cart, *cust = NULL;
		const char *acct = cw_json_istr(cart, "CustomerId");
		json_t *rec;

		if (acct != NULL && *acct != '\0' &&
		    (cust = json_object_get(customers, acct)) == NULL) {
			/* The sample throws here and loses the run; we skip one cart. */
			cw_rec_warn(&en->q[i].where, "cart %s: customer %s not found on "
			    "Retail Server; skipped", cw_json_istr(cart, "Id"), acct);
			en->skipped++;
			continue;
		}
		rec = cw_notify_build(&en->no, cart, cust, en->lookup, chan, currency, &e);
		if (rec == NULL) {
			cw_rec_warn(&en->q[i].where, "%s; skipped", e.msg);
			en->skipped++;
			continue;
		}
		cw_ewrite_json(stdout, rec);
		json_decref(rec);
		en->written++;
	}
out:
	for (i = 0; i < en->n; i++)
		json_decref(en->q[i].cart);
	en->n = 0;
	json_decref(customers);
	json_decref(accounts);
	json_decref(ids);
	json_decref(seen);
	return rc;
}

/* Per record: check the cart, queue it, look up a full batch at once. */
static int
enrich(const struct cw_rec *rec, void *ctx)
{
	struct enrich *en = ctx;
	cw_err e;

	if (cw_cart_check(rec->json, NULL, &e) != 0) {
		cw_rec_warn(rec, "%s", e.msg);
		return CW_REC_BAD;
	}
	en->q[en->n].cart = json_incref(rec->json);
	en->q[en->n].where = *rec;
	en->n++;
	return en->n == en->batch ? flush(en) : CW_REC_OK;
}

/* Input went quiet, or ended: look up and write the carts held (cw_flush_fn). */
static int
flush_held(void *ctx)
{
	return flush(ctx);
}

/* Reads the keys and --batch-size into en and t: 0, or CW_ERR_CONFIG.
 * cache[0], cache[1]: the products and the customers kept for the run. */
static int
configure(struct enrich *en, struct cw_tool *t, const char *batcharg, size_t cache[2],
    cw_err *e)
{
	long long batch;
	int r;

	cw_retail_config(&en->ro, t->cfg);
	cw_notify_config(&en->no, t->cfg);
	t->vault_url = cw_vault_url_config(t->cfg);
	batch = cw_config_int(t->cfg, "Cartwatch.Enrich.BatchSize");
	cache[0] = (size_t)cw_config_int(t->cfg, "Cartwatch.Enrich.ProductCacheSize");
	cache[1] = (size_t)cw_config_int(t->cfg, "Cartwatch.Enrich.CustomerCacheSize");
	if (batcharg != NULL)
		batch = cw_eopt_int("--batch-size", batcharg, 1, 1000);
	if ((r = cw_tool_check(t, e)) != 0)
		return r;
	en->batch = (size_t)batch;
	en->q = cw_calloc(en->batch, sizeof(*en->q));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"batch-size", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	struct cw_loop_opts lo = {.flush = flush_held, .idle_ms = IDLE_MS};
	struct enrich en = {0};
	struct cw_tool t = {0};
	const char *cfgpath = NULL, *batcharg = NULL;
	size_t cache[2];
	int ch, code;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'b': batcharg = optarg; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); return CW_EXIT_OK;
		default: usage(stderr, CW_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, CW_EXIT_USAGE);

	if ((code = cw_tool_load(&t, cfgpath, 0, &e)) != 0 ||
	    (code = configure(&en, &t, batcharg, cache, &e)) != 0 ||
	    (code = cw_tool_start(&t, &e)) != 0)
		code = cw_tool_exit(code, &e);
	else if ((en.rs = cw_retail_open(&en.ro, t.http, t.vault, &e)) == NULL)
		code = cw_tool_exit(CW_ERR_SERVICE, &e);
	else {
		/* Ids per request are not the carts per batch: as many as
		 * Retail Server answers at once, each asked for once a run. */
		en.lookup = cw_lookup_new(en.rs, 0, cache[0], cache[1]);
		code = cw_ndjson_loop_flush(stdin, "<stdin>", enrich, &en, &lo, NULL);
		cw_lookup_free(en.lookup);
		cw_retail_close(en.rs);
	}
	free(en.q);
	cw_notify_free(&en.no);
	return cw_tool_finish(&t, code);
}
