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
	size_t cache_max, customers_max;
	json_t *products;   /* "RecordId" -> Product, or null for unknown */
	json_t *customers;  /* AccountNumber -> the fields we use, or null for unknown */
	unsigned long requests;
};

struct cw_lookup *
cw_lookup_new(struct cw_retail *r, size_t batch, size_t cache_max, size_t customers_max)
{
	struct cw_lookup *l = cw_calloc(1, sizeof(*l));

	l->r = r;
	l->batch = batch > 0 ? batch : CW_LOOKUP_BATCH_MAX;
	l->cache_max = cache_max;
	l->customers_max = customers_max;
	l->products = json_object();
	l->customers = json_object();
	return l;
}

void
cw_lookup_free(struct cw_lookup *l)
{
	if (l == NULL)
		return;
	json_decref(l->products);
	json_decref(l->customers);
	free(l);
}

unsigned long
cw_lookup_requests(const struct cw_lookup *l)
{
	return l->requests;
}

/* The cache's key for an id: a string as it is, an integer in decimal. */
static const char *
id_key(const json_t *id, char buf[24])
{
	if (json_is_string(id))
		return json_string_value(id);
	snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
	return buf;
}

/*
 * The ids of ids (new references in a new array) that cache lacks. Bounded:
 * when they would take it past max (0: no bound), the cache starts over and
 * every id is missing, keeping memory flat on runs of any size.
 */
static json_t *
uncached(json_t *cache, size_t max, const json_t *ids)
{
	json_t *missing = json_array(), *id;
	char k[24];
	size_t i;

	json_array_foreach(ids, i, id)
		if (json_object_get(cache, id_key(id, k)) == NULL)
			json_array_append(missing, id);
	if (max > 0 && json_object_size(cache) + json_array_size(missing) > max) {
		json_object_clear(cache);
		json_array_clear(missing);
		json_array_extend(missing, (json_t *)ids);
	}
	return missing;
}

/* What the notification uses of a Customer (doc/DESIGN.md 3.3): a Retail Server
 * Customer has dozens of fields more, which a run-long cache need not hold. */
static json_t *
customer_kept(const json_t *c)
{
	static const char *const keep[] = {"AccountNumber", "FirstName", "LastName", "Email",
	    "Language"};
	json_t *o = json_object();

	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++) {
		const json_t *v = cw_json_iget(c, keep[i]);

		if (v != NULL)
			json_object_set(o, keep[i], (json_t *)v);
	}
	return o;
}

/* One Customers/GetByAccountNumbers for part, its answers cached: 0 or -1. */
static int
customers_ask(struct cw_lookup *l, json_t *part, cw_err *e)
{
	json_t *body, *value, *c;
	char path[64];
	size_t i;

	snprintf(path, sizeof(path), "Customers/GetByAccountNumbers?$top=%zu",
	    json_array_size(part));
	/* searchLocationValue 1: SearchLocation.Local, as the sample asks. */
	body = json_pack("{s:O,s:i}", "accountNumbers", part, "searchLocationValue", 1);
	l->requests++;
	if (cw_retail_collection(l->r, "Customers/GetByAccountNumbers", path, body, &value,
	    e) != 0) {
		json_decref(body);
		return -1;
	}
	json_decref(body);
	json_array_foreach(value, i, c) {
		const char *acct = cw_json_istr(c, "AccountNumber");

		if (acct != NULL)
			json_object_set_new(l->customers, acct, customer_kept(c));
	}
	json_decref(value);
	json_array_foreach(part, i, c)
		if (json_object_get(l->customers, json_string_value(c)) == NULL)
			json_object_set_new(l->customers, json_string_value(c), json_null());
	return 0;
}

int
cw_lookup_customers(struct cw_lookup *l, const json_t *accounts, json_t **found,
    cw_err *e)
{
	json_t *missing = uncached(l->customers, l->customers_max, accounts), *acct;
	size_t n = json_array_size(missing), i;
	int rc = 0;

	for (size_t at = 0; at < n && rc == 0; at += l->batch) {
		json_t *part = json_array();

		for (i = at; i < n && i < at + l->batch; i++)
			json_array_append(part, json_array_get(missing, i));
		rc = customers_ask(l, part, e);
		json_decref(part);
	}
	json_decref(missing);
	*found = NULL;
	if (rc != 0)
		return -1;
	*found = json_object();
	json_array_foreach(accounts, i, acct) {
		json_t *c = json_object_get(l->customers, json_string_value(acct));

		if (json_is_object(c))
			json_object_set(*found, json_string_value(acct), c);
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
	json_t *missing = uncached(l->products, l->cache_max, ids), *id;
	size_t i, n = json_array_size(missing);
	char k[24];

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
