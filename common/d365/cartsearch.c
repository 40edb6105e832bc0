/* cartsearch.c: paging Carts/Search through a time window, each cart exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/json.h"
#include "cw/d365/cartsearch.h"
#include "cw/d365/retail.h"

static json_t *
criteria(const struct cw_cart_window *w, const struct timespec *from)
{
	char f[CW_ISO8601_MAX], t[CW_ISO8601_MAX];

	return json_pack("{s:{s:i,s:s,s:s,s:b}}", "cartSearchCriteria",
	    "CartTypeValue", 1,   /* CartType.Shopping */
	    "LastModifiedDateTimeFrom", cw_iso8601_format(from, f),
	    "LastModifiedDateTimeTo", cw_iso8601_format(&w->to, t),
	    "IncludeAnonymous", w->include_anonymous);
}

static int
modified(const json_t *cart, struct timespec *t)
{
	const char *s = cw_json_istr(cart, "ModifiedDateTime");

	return s != NULL && cw_iso8601_parse(s, t) == 0 ? 0 : -1;
}

int
cw_cart_search(struct cw_retail *r, const struct cw_cart_window *w, cw_cart_fn fn,
    void *ctx, cw_err *e)
{
	/* The keyset: the latest time seen, and the ids seen at exactly it. */
	struct timespec from = w->from;
	json_t *seen = json_object();
	size_t skip = 0, longest = 0;
	int rc = 0;

	for (;;) {
		json_t *body = criteria(w, &from), *page;
		struct timespec last = from;
		size_t before = json_object_size(seen), n, i;
		char path[128];

		snprintf(path, sizeof(path),
		    "Carts/Search?$top=%d&$skip=%zu&$orderby=ModifiedDateTime",
		    w->page_size, skip);
		rc = cw_retail_collection(r, "Carts/Search", path, body, &page, e);
		json_decref(body);
		if (rc != 0)
			break;
		n = json_array_size(page);
		for (i = 0; i < n && rc == 0; i++) {
			json_t *cart = json_array_get(page, i);
			const char *id = cw_json_istr(cart, "Id");
			struct timespec t;

			if (!json_is_object(cart) || id == NULL || modified(cart, &t) != 0)
				continue;
			if (cw_time_cmp(&t, &last) > 0) {
				last = t;
				json_object_clear(seen);
			}
			if (cw_time_cmp(&t, &last) == 0) {
				if (json_object_get(seen, id) != NULL)
					continue;  /* seen on the page before */
				json_object_set_new(seen, id, json_true());
			}
			if (cw_time_cmp(&t, &w->from) < 0 || cw_time_cmp(&t, &w->to) > 0)
				continue;  /* the server's edges are not ours to trust */
			if (fn(cart, &t, ctx) != 0)
				rc = -1;
		}
		json_decref(page);
		/* A page shorter than asked is the last one -- unless the server
		 * caps pages below our $top (Retail Server's maxPageSize is
		 * configurable and the cap is silent): a short page counts as the
		 * last only when an earlier one was longer, or it is empty. */
		if (rc != 0 || n == 0 || (n < (size_t)w->page_size && n < longest))
			break;
		if (n > longest)
			longest = n;
		if (cw_time_cmp(&last, &from) == 0) {
			/* The whole page shared the time we started from: skip the
			 * carts seen at it, or, if the server's order of ties shifted
			 * and nothing was new, step past this page all the same. */
			skip = json_object_size(seen) > before ? json_object_size(seen) :
			    skip + n;
		} else {
			from = last;
			skip = json_object_size(seen);
		}
	}
	json_decref(seen);
	return rc;
}
