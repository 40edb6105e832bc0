/* purchase.h: stop on purchase: did the customer order since the cart was last modified? */
#ifndef CW_PURCHASE_H
#define CW_PURCHASE_H

#include <stddef.h>
#include <jansson.h>

struct cw_retail;

/*
 * Cartwatch.StopOnPurchase, right before a batch is sent: for each
 * notification recs[i] of a registered customer (a customerId), asks Retail
 * Server for the customer's orders made at or after the cart's
 * modifiedDateTime (cw/d365/orders.h), up to max_in_flight requests at once.
 * out[i] becomes a skipped result (reason "purchased", naming the order) when
 * one that is not canceled exists; a failed result when the question could
 * not be answered (nothing is sent unasked; the next run asks again); and
 * stays NULL otherwise, guests included: an application token cannot read a
 * guest's orders (doc/DESIGN.md section 8 item 4). recs are borrowed; the caller
 * owns what lands in out. Returns how many questions failed.
 */
size_t cw_purchase_check(struct cw_retail *rs, json_t *const *recs, size_t n,
    const char *provider, int max_in_flight, json_t **out);

#endif
