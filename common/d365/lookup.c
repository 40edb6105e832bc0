/* lookup.c: customers and products from Retail Server, batched, products cached for the run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw/core/json.h"
#include "cw/d365/lookup.h"
#include "cw/d365/retail.h"

struct cw_lookup {
	struct cw_retail *r;
	size_t batch;
	size_t cache_max;
	json_t *products;   /* "RecordId" -> Product, or null for unknown */
	unsigned long requests;
};

struct cw_lookup *
cw_lookup_new(struct cw_retail *r, size_t batch, size_t cache_max)
{
	struct cw_lookup *l = cw_calloc(1, sizeof(*l));

	l->r = r;
	l->batch = batch > 0 ? batch : 100;
	l->cache_max = cache_max;
	l->products = json_object();
	return l;
}

void
cw_lookup_free(struct cw_lookup *l)
{
	if (l == NULL)
		return;
	json_decref(l->products);
	free(l);
}

unsigned long
cw_lookup_requests(const struct cw_lookup *l)
{
	return l->requests;
}

int
cw_lookup_customers(struct cw_lookup *l, const json_t *accounts, json_t **found,
    cw_err *e)
{
	size_t n = json_array_size(accounts);

	*found = json_object();
	for (size_t at = 0; at < n; at += l->batch) {
		json_t *part = json_array(), *body, *value, *c;
		char path[64];
		size_t i;

		for (i = at; i < n && i < at + l->batch; i++)
			json_array_append(part, json_array_get(accounts, i));
		snprintf(path, sizeof(path), "Customers/GetByAccountNumbers?$top=%zu",
		    json_array_size(part));
		/* searchLocationValue 1: SearchLocation.Local, as the sample asks. */
		body = json_pack("{s:o,s:i}", "accountNumbers", part, "searchLocationValue", 1);
		l->requests++;
		if (cw_retail_collection(l->r, "Customers/GetByAccountNumbers", path, body,
		    &value, e) != 0) {
			json_decref(body);
			json_decref(*found);
			*found = NULL;
			return -1;
		}
		json_decref(body);
		json_array_foreach(value, i, c) {
			const char *acct = cw_json_istr(c, "AccountNumber");

			if (acct != NULL)
				json_object_set(*found, acct, c);
		}
		json_decref(value);
	}
	return 0;
}

static void
key(char buf[24], long long id)
{
	snprintf(buf, 24, "%lld", id);
}

int
cw_lookup_products(struct cw_lookup *l, long long channel, const json_t *ids, cw_err *e)
{
	json_t *missing = json_array(), *id;
	size_t i, n;
	char k[24];

	json_array_foreach(ids, i, id) {
		key(k, json_integer_value(id));
		if (json_object_get(l->products, k) == NULL)
			json_array_append(missing, id);
	}
	n = json_array_size(missing);
	/* Bounded: past the limit the cache starts over, keeping memory flat
	 * on catalogues of any size. */
	if (l->cache_max > 0 && json_object_size(l->products) + n > l->cache_max) {
		json_object_clear(l->products);
		json_array_clear(missing);
		json_array_extend(missing, (json_t *)ids);
		n = json_array_size(missing);
	}
	for (size_t at = 0; at < n; at += l->batch) {
		json_t *part = json_array(), *body, *value, *p;
		char path[64];

		for (i = at; i < n && i < at + l->batch; i++)
			json_array_append(part, json_array_get(missing, i));
		snprintf(path, sizeof(path), "Products/Search?$top=%zu", json_array_size(part));
		/* DataLevelValue 3: CommerceEntityDataLevel.Standard, with images. */
		body = json_pack("{s:{s:O,s:b,s:b,s:i,s:b,s:{s:I,s:i}}}",
		    "productSearchCriteria", "Ids", part, "SkipVariantExpansion", 1,
		    "IncludeProductsFromDescendantCategories", 0, "DataLevelValue", 3,
		    "IncludeAttributes", 0, "Context", "ChannelId", (json_int_t)channel,
		    "CatalogId", 0);
		l->requests++;
		if (cw_retail_collection(l->r, "Products/Search", path, body, &value, e) != 0) {
			json_decref(body);
			json_decref(part);
			json_decref(missing);
			return -1;
		}
		json_decref(body);
		json_array_foreach(value, i, p) {
			const json_t *rid = cw_json_iget(p, "RecordId");

			if (json_is_integer(rid)) {
				key(k, json_integer_value(rid));
				json_object_set(l->products, k, p);
			}
		}
		json_array_foreach(part, i, id) {
			key(k, json_integer_value(id));
			if (json_object_get(l->products, k) == NULL)
				json_object_set_new(l->products, k, json_null());
		}
		json_decref(value);
		json_decref(part);
	}
	json_decref(missing);
	return 0;
}

const json_t *
cw_lookup_product(const struct cw_lookup *l, long long id)
{
	const json_t *p;
	char k[24];

	key(k, id);
	p = json_object_get(l->products, k);
	return json_is_object(p) ? p : NULL;
}
