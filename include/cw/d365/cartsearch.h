/* cartsearch.h: paging Carts/Search through a time window, each cart exactly once. */
#ifndef CW_CARTSEARCH_H
#define CW_CARTSEARCH_H

#include <time.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_retail;

struct cw_cart_window {
	struct timespec from;   /* inclusive */
	struct timespec to;     /* inclusive */
	int include_anonymous;
	int page_size;
};

/* Called once per cart in the window, in ModifiedDateTime order. cart is
 * borrowed (incref to keep); modified is its parsed ModifiedDateTime. Return 0
 * to go on, -1 to stop the search (cw_cart_search then returns -1 too). */
typedef int (*cw_cart_fn)(json_t *cart, const struct timespec *modified, void *ctx);

/*
 * Pages through Carts/Search (CartTypeValue 1, ordered by ModifiedDateTime) as
 * the sample does: each page starts at the last ModifiedDateTime seen, skipping
 * the carts already seen at exactly that time, so carts that share a time
 * across a page boundary are neither lost nor repeated, and carts modified
 * while we page do not shift the ones still to come. Carts with no or an
 * unparsable ModifiedDateTime, or outside the window, are passed over.
 * A server that caps pages below page_size is paged to the end all the same
 * (a short first page costs one more request, which comes back empty).
 * Returns 0, or -1 with e set when a call fails.
 */
int cw_cart_search(struct cw_retail *r, const struct cw_cart_window *w,
    cw_cart_fn fn, void *ctx, cw_err *e);

#endif
