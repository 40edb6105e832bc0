/* purchase.c: stop on purchase, asked of Retail Server's order history right before sending. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/json.h"
#include "cw/d365/orders.h"
#include "cw/notify/purchase.h"
#include "cw/notify/result.h"

/* Orders a request: most customers have a handful since their cart, so the
 * first page answers nearly every question. */
#define ORDERS_PAGE 100

size_t
cw_purchase_check(struct cw_retail *rs, json_t *const *recs, size_t n,
    const char *provider, int max_in_flight, json_t **out)
{
	struct cw_orders_ask *asks = cw_calloc(n ? n : 1, sizeof(*asks));
	size_t *at = cw_calloc(n ? n : 1, sizeof(*at));
	size_t i, k = 0, failed;

	for (i = 0; i < n; i++) {
		const char *cust = cw_json_istr(recs[i], "customerId");
		const char *mod = cw_json_istr(recs[i], "modifiedDateTime");

		out[i] = NULL;
		if (cust == NULL || *cust == '\0' || mod == NULL ||
		    cw_iso8601_parse(mod, &asks[k].since) != 0)
			continue;  /* a guest's orders cannot be read */
		asks[k].account = cust;
		at[k++] = i;
	}
	failed = cw_orders_fetch(rs, asks, k, ORDERS_PAGE, max_in_flight);
	for (i = 0; i < k; i++) {
		const json_t *o;
		char why[300];

		if (asks[i].rc != 0) {
			snprintf(why, sizeof(why), "stop on purchase: %s", asks[i].e.msg);
			out[at[i]] = cw_result(recs[at[i]], "failed", provider, NULL, why);
		} else if ((o = cw_orders_first(asks[i].orders, &asks[i].since, NULL)) != NULL) {
			snprintf(why, sizeof(why), "the customer ordered since the cart was "
			    "modified (order %s at %s)",
			    json_string_value(json_object_get(o, "id")) ?
			    json_string_value(json_object_get(o, "id")) : "?",
			    json_string_value(json_object_get(o, "created")));
			out[at[i]] = cw_result_skipped(recs[at[i]], provider, "purchased", why);
			if (json_object_get(o, "id") != NULL)
				json_object_set(out[at[i]], "orderId", json_object_get(o, "id"));
		}
		json_decref(asks[i].orders);
	}
	free(asks);
	free(at);
	return failed;
}
