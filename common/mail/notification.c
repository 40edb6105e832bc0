/* notification.c: the email's content built from a cart, its customer and its products. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cw/core/clock.h"
#include "cw/core/config.h"
#include "cw/core/crypto.h"
#include "cw/core/decimal.h"
#include "cw/core/ids.h"
#include "cw/core/json.h"
#include "cw/core/util.h"
#include "cw/d365/cart.h"
#include "cw/d365/lookup.h"
#include "cw/mail/notification.h"

/* The sample's appsettings.json ships these three. */
static const char default_viewports[] =
    "[{\"viewport\":\"(max-width:768px)\",\"imageWidth\":80,\"imageHeight\":80,"
    "\"useForDefaultImageTag\":false},"
    "{\"viewport\":\"(min-width:769px) and (max-width:1599px)\",\"imageWidth\":183,"
    "\"imageHeight\":183,\"useForDefaultImageTag\":false},"
    "{\"viewport\":\"(min-width:1600px)\",\"imageWidth\":315,\"imageHeight\":315,"
    "\"useForDefaultImageTag\":true}]";

/* Normalises one configured viewport to {viewport, w, h, default}; NULL if bad. */
static json_t *
viewport(struct cw_config *c, const json_t *vp, size_t i)
{
	const char *media = cw_json_istr(vp, "viewport");
	long long w, h;
	char key[80];
	int def;

	snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu", i);
	if (!json_is_object(vp) || media == NULL || cw_json_iget(vp, "imageWidth") == NULL ||
	    cw_json_iget(vp, "imageHeight") == NULL) {
		cw_config_bad(c, key, "expected {\"viewport\": \"...\", \"imageWidth\": N, "
		    "\"imageHeight\": N, \"useForDefaultImageTag\": true|false}");
		return NULL;
	}
	snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu.imageWidth", i);
	w = cw_config_int(c, key);
	snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu.imageHeight", i);
	h = cw_config_int(c, key);
	snprintf(key, sizeof(key), "MediaOptions.ImageViewPorts.%zu.useForDefaultImageTag", i);
	def = cw_config_bool(c, key);
	return json_pack("{s:s,s:I,s:I,s:b}", "viewport", media, "w", (json_int_t)w,
	    "h", (json_int_t)h, "default", def);
}

void
cw_notify_config(struct cw_notify_opts *o, struct cw_config *c)
{
	const json_t *vps = cw_config_get(c, "MediaOptions.ImageViewPorts"), *vp, *p, *v;
	json_t *norm = json_array(), *src = NULL;
	const char *k;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->own = json_object();
	o->return_url = cw_config_need_str(c, "RetailServerClientOptions.ReturnToCartUrl");
	o->image_server = cw_config_need_str(c, "MediaOptions.ImageServerUrl");
	if (vps == NULL || json_is_null(vps))
		vps = src = json_loads(default_viewports, 0, NULL);
	else if (!json_is_array(vps))
		cw_config_bad(c, "MediaOptions.ImageViewPorts", "expected an array");
	json_array_foreach(vps, i, vp) {
		json_t *n = viewport(c, vp, i);

		if (n != NULL)
			json_array_append_new(norm, n);
	}
	json_decref(src);
	json_object_set_new(o->own, "viewports", norm);
	o->viewports = norm;

	p = cw_config_get(c, "Cartwatch.ReturnToCartParameters");
	if (p != NULL && !json_is_null(p) && !json_is_object(p))
		cw_config_bad(c, "Cartwatch.ReturnToCartParameters",
		    "expected an object of name to value");
	json_object_foreach((json_t *)p, k, v)
		if (!json_is_string(v) && !json_is_number(v))
			cw_config_bad(c, "Cartwatch.ReturnToCartParameters",
			    "the value of \"%s\" is not a string", k);
	o->return_params = json_is_object(p) ? p : NULL;
}

void
cw_notify_free(struct cw_notify_opts *o)
{
	json_decref(o->own);
	o->own = NULL;
}

/* The sample's rule for one viewport's URL. */
static json_t *
image_url(const struct cw_notify_opts *o, const char *url, const json_t *vp)
{
	const char *p = url;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p == '\0')
		return json_string("");
	if (strncasecmp(url, "http", 4) == 0)
		return json_string(url);
	return json_sprintf("%s/%s&w=%" JSON_INTEGER_FORMAT "&h=%" JSON_INTEGER_FORMAT
	    "&q=80&m=6&f=jpg", o->image_server, url,
	    json_integer_value(json_object_get(vp, "w")),
	    json_integer_value(json_object_get(vp, "h")));
}

json_t *
cw_notify_image(const struct cw_notify_opts *o, const json_t *product)
{
	const json_t *item = json_array_get(cw_json_iget(cw_json_iget(product, "Image"),
	    "Items"), 0), *vp;
	const char *url = cw_json_istr(item, "Url");
	const char *alt = cw_json_istr(item, "AltText");
	const char *name = cw_json_istr(product, "ProductName");
	json_t *imgs, *img;
	size_t i;

	if (!json_is_object(item))
		return json_null();
	imgs = json_array();
	json_array_foreach(o->viewports, i, vp) {
		img = json_pack("{s:o,s:O,s:O}", "url", image_url(o, url ? url : "", vp),
		    "media", json_object_get(vp, "viewport"),
		    "useForDefaultImageTag", json_object_get(vp, "default"));
		json_array_append_new(imgs, img);
	}
	return json_pack("{s:s?,s:o}", "altText",
	    alt != NULL && *alt != '\0' ? alt : name, "viewPortImages", imgs);
}

char *
cw_notify_return_url(const struct cw_notify_opts *o, const char *cart_id)
{
	struct cw_buf b = CW_BUF_INIT;
	const char *u = o->return_url, *hit, *frag, *k;
	char *enc, *val;
	json_t *v;

	/* {cartId} lets a storefront link to the very cart. */
	while ((hit = strstr(u, "{cartId}")) != NULL) {
		cw_buf_add(&b, u, (size_t)(hit - u));
		enc = cw_urlencode(cart_id);
		cw_buf_adds(&b, enc);
		free(enc);
		u = hit + strlen("{cartId}");
	}
	frag = strchr(u, '#');
	cw_buf_add(&b, u, frag ? (size_t)(frag - u) : strlen(u));
	json_object_foreach((json_t *)o->return_params, k, v) {
		val = json_is_string(v) ? cw_strdup(json_string_value(v)) :
		    json_dumps(v, JSON_ENCODE_ANY);
		cw_buf_adds(&b, strchr(b.data ? b.data : "", '?') ? "&" : "?");
		enc = cw_urlencode(k);
		cw_buf_adds(&b, enc);
		free(enc);
		cw_buf_adds(&b, "=");
		enc = cw_urlencode(val);
		cw_buf_adds(&b, enc);
		free(enc);
		free(val);
	}
	if (frag != NULL)
		cw_buf_adds(&b, frag);
	return cw_buf_detach(&b);
}

static json_t *
decimal_or(const json_t *v, const char *missing)
{
	char buf[CW_DECIMAL_MAX];

	if (v == NULL || json_is_null(v) || cw_decimal_text(v, buf) != 0)
		return json_string(missing);
	return json_string(buf);
}

static const char *
str_or_empty(const json_t *obj, const char *key)
{
	const char *s = cw_json_istr(obj, key);

	return s != NULL ? s : "";
}

/* The order lines; *known counts those whose product Retail Server knows. */
static json_t *
order_details(const struct cw_notify_opts *o, const json_t *cart,
    const struct cw_lookup *l, int *known)
{
	json_t *out = json_array(), *line;
	char idtext[24];
	size_t i;

	*known = 0;
	json_array_foreach(cw_json_iget(cart, "CartLines"), i, line) {
		const json_t *pid = cw_json_iget(line, "ProductId"), *p;
		const char *name;

		/* Lines without a product (charges, gift cards) show nothing. */
		if (!json_is_integer(pid))
			continue;
		p = cw_lookup_product(l, json_integer_value(pid));
		if (p != NULL)
			(*known)++;
		name = cw_json_istr(p, "ProductName");
		snprintf(idtext, sizeof(idtext), "%" JSON_INTEGER_FORMAT, json_integer_value(pid));
		/* The sample's texts for what is missing, kept for its templates. */
		json_array_append_new(out, json_pack("{s:s,s:s,s:o,s:o,s:o}",
		    "productId", idtext,
		    "productName", name != NULL ? name : "Not Available",
		    "quantity", decimal_or(cw_json_iget(line, "Quantity"), "Not specified"),
		    "unitPrice", decimal_or(cw_json_iget(line, "Price"), "Not Specified"),
		    "productImage", p != NULL ? cw_notify_image(o, p) : json_null()));
	}
	return out;
}

json_t *
cw_notify_build(const struct cw_notify_opts *o, const json_t *cart,
    const json_t *customer, const struct cw_lookup *l, long long channel,
    const char *currency, char *why, size_t n)
{
	const char *id = cw_json_istr(cart, "Id"), *email, *cur;
	const json_t *nid = cw_json_iget(cart, "notificationId");
	const json_t *step = cw_json_iget(cart, "step"), *ch;
	char iso[CW_ISO8601_MAX], key[CW_NOTIFICATION_ID_LEN + 1];
	struct timespec t;
	json_t *rec, *lines;
	char *url;
	int known, st;

	if (cw_cart_check(cart, &t, why, n) != 0)
		return NULL;
	email = str_or_empty(customer, "Email");
	if (*email == '\0')  /* a guest, or a customer without one on file */
		email = str_or_empty(cart, "ReceiptEmail");
	if (*email == '\0') {
		snprintf(why, n, "cart %s: no email address for the customer", id);
		return NULL;
	}
	lines = order_details(o, cart, l, &known);
	if (known == 0) {
		json_decref(lines);
		snprintf(why, n, "cart %s: no line with a product Retail Server knows", id);
		return NULL;
	}
	st = json_is_integer(step) && json_integer_value(step) > 0 ?
	    (int)json_integer_value(step) : 1;
	cw_notification_id(id, &t, st, key);
	cur = cw_json_istr(cart, "currency");
	ch = cw_json_iget(cart, "channelId");
	url = cw_notify_return_url(o, id);
	rec = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:I}",
	    "notificationId", json_is_string(nid) ? json_string_value(nid) : key,
	    "step", st,
	    "cartId", id,
	    "customerId", str_or_empty(cart, "CustomerId"),
	    "modifiedDateTime", cw_iso8601_format(&t, iso),
	    "email", email,
	    "firstName", str_or_empty(customer, "FirstName"),
	    "lastName", str_or_empty(customer, "LastName"),
	    "language", str_or_empty(customer, "Language"),
	    "currency", cur != NULL && *cur != '\0' ? cur : currency,
	    "returnToCartUrl", url,
	    "orderDetails", lines,
	    "channelId", (json_int_t)(json_is_integer(ch) ? json_integer_value(ch) : channel));
	free(url);
	return rec;
}
