/* cart-fetch: the abandoned carts on Retail Server, one Cart object per line. */
#include <ctype.h>
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
#include "cw/core/series.h"
#include "cw/core/util.h"
#include "cw/d365/cartsearch.h"
#include "cw/d365/retail.h"
#include "cw/net/http.h"
#include "cw/net/keyvault.h"
#include "cw/state/ledger.h"
#include "cw/state/stores.h"
#include "cw/tool/ndjson.h"
#include "cw/tool/tool.h"

struct fetch {
	int guests;          /* Cartwatch.IncludeGuestCarts */
	int one_per_customer;
	long long channel;
	const char *currency;
	json_t *held;        /* customer key -> the latest cart, when one_per_customer */
	unsigned long seen, kept;
	const char *from, *to, *pagearg;   /* --from, --to, --page-size */
	struct timespec now;
	long long max_catch_up;  /* Cartwatch.MaxCatchUpMinutes */
	struct cw_retail_opts ro;
	struct cw_docstore_cfg sc;  /* where the last run's watermark is */
	struct cw_cart_window w;
	struct cw_retail *rs;
};

struct held {
	json_t *cart;
	struct timespec t;
};

static const struct cw_help help[] = {
	CW_HELP_CONFIG,
	{"--from ISO", "start the window at this time instead (ISO 8601), for backfills"},
	{"--to ISO", "end the window at this time instead (ISO 8601)"},
	{"--page-size N", "carts per request, 1 to 1000 (default Cartwatch.RetailServer.PageSize)"},
	CW_HELP_END
};

static void
usage(FILE *f, int code)
{
	fprintf(f, "usage: %s [-c FILE] [--from ISO] [--to ISO] [--page-size N]\n",
	    program_invocation_short_name);
	if (code == CW_EXIT_OK)
		cw_print_help(f, NULL, help);
	exit(code);
}

/* Who the cart belongs to: the customer account, or a guest's receipt email
 * (compared without case). NULL when nobody can be reminded. Caller frees. */
static char *
owner(const json_t *cart, int guests)
{
	const char *id = cw_json_istr(cart, "CustomerId");
	const char *mail = cw_json_istr(cart, "ReceiptEmail");
	char *k;

	if (id != NULL && *id != '\0')
		return cw_asprintf("customer:%s", id);
	if (!guests || mail == NULL || *mail == '\0')
		return NULL;
	k = cw_asprintf("guest:%s", mail);
	for (char *p = k; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static void
emit(struct fetch *f, json_t *cart)
{
	json_object_set_new(cart, "channelId", json_integer(f->channel));
	json_object_set_new(cart, "currency", json_string(f->currency));
	cw_ewrite_json(stdout, cart);
}

/* The per-cart rule: what the sample keeps, then one cart per customer. */
static int
keep(json_t *cart, const struct timespec *t, void *ctx)
{
	struct fetch *f = ctx;
	json_t *lines = cw_json_iget(cart, "CartLines"), *prev;
	struct timespec pt;
	char *who;

	f->seen++;
	if (json_array_size(lines) == 0 || (who = owner(cart, f->guests)) == NULL)
		return 0;
	f->kept++;
	if (!f->one_per_customer) {
		emit(f, cart);
		free(who);
		return 0;
	}
	prev = json_object_get(f->held, who);
	/* Pages come in time order, so a tie goes to the later one, as the
	 * sample's Last() does. */
	if (prev == NULL || cw_iso8601_parse(cw_json_istr(prev, "ModifiedDateTime"), &pt) != 0 ||
	    cw_time_cmp(t, &pt) >= 0)
		json_object_set(f->held, who, cart);
	free(who);
	return 0;
}

static int
by_time(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	int c = cw_time_cmp(&x->t, &y->t);

	return c != 0 ? c : strcmp(cw_json_istr(x->cart, "Id"), cw_json_istr(y->cart, "Id"));
}

static void
emit_held(struct fetch *f)
{
	size_t n = json_object_size(f->held), i = 0;
	struct held *v = cw_calloc(n, sizeof(*v));
	const char *key;
	json_t *cart;

	json_object_foreach(f->held, key, cart) {
		v[i].cart = cart;
		cw_iso8601_parse(cw_json_istr(cart, "ModifiedDateTime"), &v[i].t);
		i++;
	}
	qsort(v, n, sizeof(*v), by_time);
	for (i = 0; i < n; i++)
		emit(f, v[i].cart);
	free(v);
}

static void
parse_time(const char *opt, const char *s, struct timespec *t)
{
	if (cw_iso8601_parse(s, t) != 0) {
		cw_warnx("%s: not an ISO 8601 time: \"%s\"", opt, s);
		usage(stderr, CW_EXIT_USAGE);
	}
}

/*
 * Reads the keys and options into f and t, and the window they make: 0, or
 * CW_ERR_CONFIG with e saying why (empty when the problem was reported as it
 * was read).
 */
static int
configure(struct fetch *f, struct cw_tool *t, cw_err *e)
{
	struct cw_config *cfg = t->cfg;
	long long include, exclude, page, reach;
	struct cw_series series;
	cw_err ce;
	int r;

	cw_retail_config(&f->ro, cfg);
	t->vault_url = cw_vault_url_config(cfg);
	include = cw_config_int(cfg,
	    "RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes");
	exclude = cw_config_int(cfg,
	    "RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes");
	if (include < exclude)
		cw_config_bad(cfg, "RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes",
		    "%lld is less than ExcludeAbandonedCartsModifiedSinceLastMinutes (%lld): "
		    "the window would be empty", include, exclude);
	cw_series_config(&series, cfg, NULL);
	reach = cw_series_reach_s(&series);
	cw_series_free(&series);
	f->max_catch_up = cw_config_int(cfg, "Cartwatch.MaxCatchUpMinutes");
	cw_docstore_config(&f->sc, cfg);
	f->guests = cw_config_bool(cfg, "Cartwatch.IncludeGuestCarts");
	f->one_per_customer = cw_config_bool(cfg, "Cartwatch.OneCartPerCustomer");
	page = cw_config_int(cfg, "Cartwatch.RetailServer.PageSize");
	if (f->pagearg != NULL)
		page = cw_eopt_int("--page-size", f->pagearg, 1, 1000);
	if (cw_now(&f->now, e) != 0) {
		cw_tool_check(t, &ce);  /* its problems are reported as they are read */
		return CW_ERR_CONFIG;
	}
	if ((r = cw_tool_check(t, e)) != 0)
		return r;
	/* Far enough back for every step of the series to be seen until it is late. */
	f->w.from = f->now;
	f->w.from.tv_sec -= include * 60 > reach ? (time_t)include * 60 : (time_t)reach;
	f->w.to = f->now;
	f->w.to.tv_sec -= (time_t)exclude * 60;
	if (f->from != NULL)
		parse_time("--from", f->from, &f->w.from);
	if (f->to != NULL)
		parse_time("--to", f->to, &f->w.to);
	if (cw_time_cmp(&f->w.from, &f->w.to) > 0) {
		cw_seterr(e, "the window is empty: its start is after its end");
		return CW_ERR_CONFIG;
	}
	f->w.include_anonymous = f->guests;
	f->w.page_size = (int)page;
	return 0;
}

/* The time the last successful run of this channel left off at, from the
 * state store if there is one: 1 with *at, 0 none, -1 with e. */
static int
last_run(struct fetch *f, struct cw_tool *t, struct timespec *at, cw_err *e)
{
	struct cw_docstore *s;
	int r;

	if (!cw_docstore_exists(&f->sc))
		return 0;  /* no run yet: opening would make the store */
	if ((s = cw_docstore_open(&f->sc, t->http, t->vault, e)) == NULL)
		return -1;
	r = cw_ledger_last_run(s, f->ro.oun, f->channel, at, e);
	cw_docstore_close(s);
	return r;
}

/* After an outage longer than the window, the window starts where the last
 * successful run left off, as the sample's does, but never earlier than
 * Cartwatch.MaxCatchUpMinutes ago. An explicit --from is left as it is. */
static int
catch_up(struct fetch *f, struct cw_tool *t, cw_err *e)
{
	struct timespec at, floor = f->now;
	char left[CW_ISO8601_MAX], since[CW_ISO8601_MAX];
	int r, clamped;

	if (f->from != NULL || (r = last_run(f, t, &at, e)) == 0)
		return 0;
	if (r < 0)
		return -1;
	cw_iso8601_format(&at, left);
	floor.tv_sec -= (time_t)f->max_catch_up * 60;
	if ((clamped = cw_time_cmp(&at, &floor) < 0))
		at = floor;
	if (cw_time_cmp(&at, &f->w.from) >= 0)
		return 0;  /* the ordinary window reaches back far enough */
	f->w.from = at;
	if (clamped)
		cw_warnx("the last successful run left off at %s, more than "
		    "Cartwatch.MaxCatchUpMinutes (%lld minutes) ago: catching up from %s only",
		    left, f->max_catch_up, cw_iso8601_format(&at, since));
	else
		cw_warnx("catching up from %s, where the last successful run left off", left);
	return 0;
}

/* The window's carts, kept by the per-cart rule; the exit code. */
static int
fetch(struct fetch *f, struct cw_tool *t)
{
	int code = CW_EXIT_OK;
	cw_err e;

	if ((f->rs = cw_retail_open(&f->ro, t->http, t->vault, &e)) == NULL ||
	    cw_retail_channel(f->rs, &f->channel, &f->currency, &e) != 0 ||
	    catch_up(f, t, &e) != 0) {
		cw_warnx("%s", e.msg);
		return CW_EXIT_FAIL;
	}
	f->held = json_object();
	if (cw_cart_search(f->rs, &f->w, keep, f, &e) != 0) {
		/* Nothing held back is written: a partial window could pick the
		 * wrong cart of a customer. */
		cw_warnx("%s", e.msg);
		code = CW_EXIT_FAIL;
	} else
		emit_held(f);
	json_decref(f->held);
	return code;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"page-size", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0}
	};
	struct fetch f = {0};
	struct cw_tool t = {0};
	const char *cfgpath = NULL;
	int ch, r;
	cw_err e;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'f': f.from = optarg; break;
		case 't': f.to = optarg; break;
		case 'p': f.pagearg = optarg; break;
		case 'h': usage(stdout, CW_EXIT_OK); break;
		case 'v': cw_print_version(); return CW_EXIT_OK;
		default: usage(stderr, CW_EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, CW_EXIT_USAGE);

	if ((r = cw_tool_load(&t, cfgpath, 0, &e)) != 0 || (r = configure(&f, &t, &e)) != 0 ||
	    (r = cw_tool_start(&t, &e)) != 0)
		r = cw_tool_exit(r, &e);
	else
		r = fetch(&f, &t);
	cw_retail_close(f.rs);
	cw_docstore_cfg_free(&f.sc);
	return cw_tool_finish(&t, r);
}
