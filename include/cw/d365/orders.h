/* orders.h: a customer's orders on Retail Server (GetOrderHistory), for stop on purchase and recovery. */
#ifndef CW_ORDERS_H
#define CW_ORDERS_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_retail;

/*
 * One customer's question: which orders were made at or after since.
 * doc/DESIGN.md section 8 item 4: POST Customers('{account}')/GetOrderHistory
 * with $top and $skip, newest first, no date filter: pages are read until one
 * is short or reaches back before since.
 */
struct cw_orders_ask {
	const char *account;     /* the customer's AccountNumber; borrowed */
	struct timespec since;
	json_t *orders;          /* out: the orders made at or after since, newest
	                          * first, each {"id", "created" (ISO 8601 as sent),
	                          * "amount" (exact decimal text), "currency",
	                          * "canceled" (bool), "channelId"}; caller decrefs */
	int rc;                  /* out: 0, or -1 with e */
	cw_err e;
	size_t skip;             /* private: the next page's $skip */
};

/*
 * Answers asks[0..n), up to max_in_flight requests under way at once, page
 * by page (page orders a request, 1 to 1000). Orders without a readable
 * CreatedDateTime are left out. Returns how many asks failed (their rc -1,
 * e naming the customer and why; their orders NULL).
 */
size_t cw_orders_fetch(struct cw_retail *r, struct cw_orders_ask *asks, size_t n,
    int page, int max_in_flight);

/*
 * The first order in orders (as cw_orders_fetch gives them) that is not
 * canceled and was made within [from, to] (to NULL: no end), the earliest
 * such; borrowed from orders, or NULL.
 */
const json_t *cw_orders_first(const json_t *orders, const struct timespec *from,
    const struct timespec *to);

#endif
