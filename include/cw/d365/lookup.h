/* lookup.h: customers and products from Retail Server, batched, cached for the run. */
#ifndef CW_LOOKUP_H
#define CW_LOOKUP_H

#include <stddef.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_retail;
struct cw_lookup;  /* opaque: owns the product cache */

/* Ids per request at most: Retail Server's documented maximum page size
 * (doc/DESIGN.md 8.3), which caps $top and so what one request can return. */
#define CW_LOOKUP_BATCH_MAX 1000

/* r is borrowed. batch: ids per request (0: CW_LOOKUP_BATCH_MAX); cache_max,
 * customers_max: products and customers kept at most, 0 for no bound (past
 * it that cache starts over). Free with cw_lookup_free(). */
struct cw_lookup *cw_lookup_new(struct cw_retail *r, size_t batch, size_t cache_max,
    size_t customers_max);
void cw_lookup_free(struct cw_lookup *l);

/* Customers/GetByAccountNumbers for the accounts (a JSON array of strings)
 * not cached yet, in batches; accounts it does not return are cached as
 * unknown, so each account is asked for once while the cache holds it.
 * *found maps AccountNumber -> Customer, only the fields a notification uses
 * (AccountNumber, FirstName, LastName, Email, Language; new reference, caller
 * decrefs); accounts Retail Server does not know are absent. 0, or -1 with e
 * (*found NULL). */
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
