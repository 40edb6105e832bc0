/* stores.h: the state stores there are, chosen by Cartwatch.StateStore.Kind, and their keys. */
#ifndef CW_STORES_H
#define CW_STORES_H

#include "cw/core/util.h"
#include "cw/state/docstore.h"

struct cw_config;
struct cw_http;
struct cw_vault;

/*
 * Opens the store that Cartwatch.StateStore.Kind names: "sqlite" (the default;
 * Cartwatch.StateStore.Path, default state/cartwatch.db beside the config
 * file, created 0600 in a 0700 directory) or "cosmos" (AzureCosmosOptions:
 * EndPointUri, PrimaryKey, DatabaseId, ContainerId; the database and the
 * container, partitioned on /oun, are created when missing, as the sample
 * does). Keys are read (and problems counted in c) by cw_docstore_config,
 * which must run before any network call; cw_docstore_open then connects.
 * Adding a store: a row in stores.c's table, its fields here, its own file.
 */
struct cw_docstore_cfg {
	const char *kind;       /* "sqlite" or "cosmos" */
	char *path;             /* sqlite: absolute path; owned */
	const char *endpoint;   /* cosmos: EndPointUri */
	const char *key;        /* cosmos: PrimaryKey (base64), "" if from the vault */
	const char *key_secret; /* cosmos: Cartwatch.StateStore.PrimaryKeySecretName */
	const char *database;   /* cosmos: DatabaseId */
	const char *container;  /* cosmos: ContainerId */
};

void cw_docstore_config(struct cw_docstore_cfg *o, struct cw_config *c);
void cw_docstore_cfg_free(struct cw_docstore_cfg *o);

/* h and v are borrowed (unused for SQLite) and h must outlive the store; v is
 * asked only for the store's key when the configuration names a secret for
 * it (cw_docstore_needs_vault), and may be NULL otherwise. NULL with e set on
 * failure. Close with cw_docstore_close. */
struct cw_docstore *cw_docstore_open(const struct cw_docstore_cfg *o, struct cw_http *h,
    struct cw_vault *v, cw_err *e);

/* Wipes the ledger's key held in s, then frees s. s may be NULL. */
void cw_docstore_close(struct cw_docstore *s);

/* 1 when opening the store will read its key from the vault. */
int cw_docstore_needs_vault(const struct cw_docstore_cfg *o);

/*
 * Where the store o names is, for people and scripts, without opening or
 * making anything: the SQLite file's absolute path, or the Cosmos DB
 * container's address ENDPOINT/dbs/DATABASE/colls/CONTAINER. Caller frees;
 * NULL for a kind cw_docstore_config refused.
 */
char *cw_docstore_where(const struct cw_docstore_cfg *o);

/*
 * 1 when the store o names exists already, 0 when it does not yet, without
 * opening or making it: a SQLite file exists once someone opened it (opening
 * makes it). A Cosmos DB container is taken as existing: only a request could
 * tell, and opening it makes it when missing.
 */
int cw_docstore_exists(const struct cw_docstore_cfg *o);

/*
 * --check: whether a run could open the store o names, without making,
 * claiming or writing anything (SQLite: cw_sqlite_check; Cosmos DB: the key,
 * from the vault when o names a secret, and a read of the container), one
 * line in k (cw/core/check.h) for what it found. h and v as for
 * cw_docstore_open.
 */
struct cw_check;
void cw_docstore_check(const struct cw_docstore_cfg *o, struct cw_http *h,
    struct cw_vault *v, struct cw_check *k);

#endif
