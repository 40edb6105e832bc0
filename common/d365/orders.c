/* orders.c: a customer's orders from Retail Server's GetOrderHistory, paged from the newest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/decimal.h"
#include "cw/core/json.h"
#include "cw/d365/orders.h"
#include "cw/d365/retail.h"

#define STATUS_CANCELED 7  /* SalesStatus.Canceled: not a purchase */

/* The fields we use of one SalesOrder, or NULL when it has no time we can read. */
static json_t *
order(const json_t *so, struct timespec *created)
{
	const char *t = cw_json_istr(so, "CreatedDateTime");
	const json_t *st = cw_json_iget(so, "StatusValue");
	const json_t *ch = cw_json_iget(so, "ChannelId");
	char amount[CW_DECIMAL_MAX];

	if (t == NULL || cw_iso8601_parse(t, created) != 0)
		return NULL;
	if (cw_decimal_text(cw_json_iget(so, "TotalAmount"), amount) != 0)
		snprintf(amount, sizeof(amount), "0");
	return json_pack("{s:s?,s:s,s:s,s:s?,s:b,s:O?}",
	    "id", cw_json_istr(so, "Id"), "created", t, "amount", amount,
	    "currency", cw_json_istr(so, "CurrencyCode"),
	    "canceled", json_is_integer(st) && json_integer_value(st) == STATUS_CANCELED,
	    "channelId", json_is_integer(ch) ? ch : NULL);
}

/* Takes a page's orders into a; 1 when the next page is needed too. */
static int
take_page(struct cw_orders_ask *a, const json_t *value, int page)
{
	const json_t *so;
	struct timespec created;
	size_t i;
	int older = 0;

	json_array_foreach(value, i, so) {
		json_t *o = order(so, &created);

		if (o == NULL)
			continue;
		if (cw_time_cmp(&created, &a->since) < 0) {
			older = 1;
			json_decref(o);
			continue;
		}
		json_array_append_new(a->orders, o);
	}
	a->skip += json_array_size(value);
	return !older && json_array_size(value) >= (size_t)page;
}

/* The request path of a's next page: the account as an OData string key,
 * a quote in it doubled, percent-encoded inside the quotes (as
 * encodeURIComponent leaves them); caller frees. */
static char *
page_path(const struct cw_orders_ask *a, int page)
{
	struct cw_buf key = CW_BUF_INIT;
	char *enc, *p;

	for (const char *c = a->account; *c != '\0'; c++)
		cw_buf_add(&key, *c == '\'' ? "''" : c, *c == '\'' ? 2 : 1);
	cw_buf_add(&key, "", 1);
	enc = cw_urlencode(key.data);
	p = cw_asprintf("Customers('%s')/GetOrderHistory?$top=%d&$skip=%zu", enc, page, a->skip);
	free(enc);
	cw_buf_free(&key);
	return p;
}

size_t
cw_orders_fetch(struct cw_retail *r, struct cw_orders_ask *asks, size_t n, int page,
    int max_in_flight)
{
	struct cw_retail_job *jobs = cw_calloc(n ? n : 1, sizeof(*jobs));
	struct cw_orders_ask **who = cw_calloc(n ? n : 1, sizeof(*who));
	json_t *empty = json_object();
	size_t i, m, failed = 0;

	for (i = 0; i < n; i++) {
		asks[i].orders = json_array();
		asks[i].rc = 0;
		asks[i].skip = 0;
		who[i] = &asks[i];
	}
	for (m = n; m > 0; ) {
		size_t next = 0;

		for (i = 0; i < m; i++) {
			jobs[i].what = "GetOrderHistory";
			jobs[i].path = page_path(who[i], page);
			jobs[i].body = empty;
		}
		cw_retail_call_many(r, jobs, m, max_in_flight);
		for (i = 0; i < m; i++) {
			struct cw_orders_ask *a = who[i];
			const json_t *v = json_object_get(jobs[i].reply, "value");

			free((char *)jobs[i].path);
			/* CRT's CustomerNotFound: a customer (deleted, or of another
			 * unit) with no history here to check. Any other 404 (a
			 * wrong RetailServerUri) is a failure. */
			if (jobs[i].rc != 0 && jobs[i].status == 404 &&
			    strstr(jobs[i].e.msg, "CustomerNotFound") != NULL) {
				json_decref(jobs[i].reply);
				continue;
			}
			if (jobs[i].rc == 0 && !json_is_array(v))
				jobs[i].rc = cw_seterr(&jobs[i].e, "Retail Server GetOrderHistory: "
				    "the reply has no \"value\" array");
			if (jobs[i].rc != 0) {
				cw_seterr(&a->e, "customer %s: %s", a->account, jobs[i].e.msg);
				a->rc = -1;
				json_decref(a->orders);
				a->orders = NULL;
				failed++;
			} else if (take_page(a, v, page))
				who[next++] = a;
			json_decref(jobs[i].reply);
		}
		m = next;
	}
	json_decref(empty);
	free(who);
	free(jobs);
	return failed;
}

const json_t *
cw_orders_first(const json_t *orders, const struct timespec *from, const struct timespec *to)
{
	const json_t *o, *best = NULL;
	struct timespec t, bt = {0, 0};
	size_t i;

	json_array_foreach(orders, i, o) {
		if (json_is_true(json_object_get(o, "canceled")) ||
		    cw_iso8601_parse(json_string_value(json_object_get(o, "created")), &t) != 0 ||
		    cw_time_cmp(&t, from) < 0 || (to != NULL && cw_time_cmp(&t, to) > 0))
			continue;
		if (best == NULL || cw_time_cmp(&t, &bt) < 0) {
			best = o;
			bt = t;
		}
	}
	return best;
}
