/* lookup.h: customers and products from Retail Server, batched, products cached for the run. */
#ifndef CW_LOOKUP_H
#define CW_LOOKUP_H

#include <stddef.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_retail;
struct cw_lookup;  /* opaque: owns the product cache */

/* r is borrowed. batch: ids per request; cache_max: products kept at most
 * (past it the cache starts over). Free with cw_lookup_free(). */
struct cw_lookup *cw_lookup_new(struct cw_retail *r, size_t batch, size_t cache_max);
void cw_lookup_free(struct cw_lookup *l);

/* Customers/GetByAccountNumbers for accounts (a JSON array of strings), in
 * batches. *found maps AccountNumber -> Customer (new reference; caller
 * decrefs); accounts Retail Server does not know are absent. 0, or -1 with e. */
int cw_lookup_customers(struct cw_lookup *l, const json_t *accounts, json_t **found,
    cw_err *e);

/* Products/Search in the channel for every id in ids (a JSON array of
 * integers) not cached yet, in batches; ids it does not return are cached as
 * unknown. 0, or -1 with e. */
int cw_lookup_products(struct cw_lookup *l, long long channel, const json_t *ids,
    cw_err *e);

/* The cached product with this RecordId; NULL if unknown or not looked up.
 * Borrowed until the next cw_lookup_products(). */
const json_t *cw_lookup_product(const struct cw_lookup *l, long long id);

/* Requests made so far, for the run summary. */
unsigned long cw_lookup_requests(const struct cw_lookup *l);

#endif
