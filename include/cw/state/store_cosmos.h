/* store_cosmos.h: the state store on Azure Cosmos DB; for stores.c and tests. */
#ifndef CW_STORE_COSMOS_H
#define CW_STORE_COSMOS_H

#include "cw/core/util.h"
#include "cw/state/docstore.h"

struct cw_http;

/* Opens the container (making the database and the container, partitioned
 * on /oun, when missing). key is the base64 master key, copied; h is borrowed
 * and must outlive the store. NULL with e set on failure. */
struct cw_docstore *cw_cosmos_open(struct cw_http *h, const char *endpoint,
    const char *key, const char *database, const char *container, cw_err *e);

/*
 * --check: the key and names as opening checks them, then a read of the
 * container (GET dbs/D/colls/C), making and writing nothing. 1 readable; 0
 * the account takes the key but has no such container yet (the first run
 * makes it); -1 with e.
 */
int cw_cosmos_check(struct cw_http *h, const char *endpoint, const char *key,
    const char *database, const char *container, cw_err *e);

/* The container's address ENDPOINT/dbs/DATABASE/colls/CONTAINER, the endpoint
 * as given. Caller frees. */
char *cw_cosmos_where(const char *endpoint, const char *database, const char *container);

#endif
