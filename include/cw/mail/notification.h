/* notification.h: the email's content built from a cart, its customer and its products. */
#ifndef CW_NOTIFICATION_H
#define CW_NOTIFICATION_H

#include <stddef.h>
#include <jansson.h>
#include "cw/core/util.h"

struct cw_config;
struct cw_lookup;

struct cw_notify_opts {
	const char *return_url;    /* RetailServerClientOptions.ReturnToCartUrl */
	const json_t *return_params; /* Cartwatch.ReturnToCartParameters: name -> value */
	const char *image_server;  /* MediaOptions.ImageServerUrl */
	const json_t *viewports;   /* MediaOptions.ImageViewPorts (or the sample's three) */
	json_t *own;               /* what the options own; freed by cw_notify_free */
};

/* Reads the options; problems are reported and counted in c. Borrowed strings
 * live as long as c. */
void cw_notify_config(struct cw_notify_opts *o, struct cw_config *c);
void cw_notify_free(struct cw_notify_opts *o);

/*
 * The productImage of a product: {altText, viewPortImages[{url, media,
 * useForDefaultImageTag}]} by the sample's rule, or JSON null when the product
 * has no image. New reference.
 */
json_t *cw_notify_image(const struct cw_notify_opts *o, const json_t *product);

/* The return-to-cart URL for a cart: ReturnToCartUrl with {cartId} replaced
 * and the tracking parameters appended, all URL-encoded. Caller frees. */
char *cw_notify_return_url(const struct cw_notify_opts *o, const char *cart_id);

/*
 * The notification record (doc/DESIGN.md section 3) for a checked cart. customer
 * is the Retail Server Customer, or NULL for a guest cart. Products come from
 * l's cache. Returns a new object, or NULL with the reason the cart is skipped
 * in e (not a cart, no email, no line with a known product).
 */
json_t *cw_notify_build(const struct cw_notify_opts *o, const json_t *cart,
    const json_t *customer, const struct cw_lookup *l, long long channel,
    const char *currency, cw_err *e);

#endif
