/* docstore.h: the little document store both state stores (SQLite, Cosmos DB) provide. */
#ifndef CW_DOCSTORE_H
#define CW_DOCSTORE_H

#include <jansson.h>
#include "cw/core/util.h"

struct cw_config;
struct cw_http;

/*
 * JSON documents addressed by (partition key, id), each with an opaque etag
 * that changes on every write. Creation is atomic (exactly one of two racing
 * creators wins) and so is replace-if-etag-matches: that is all the ledger
 * needs for claims that never pass one key twice. Every call returns -1 with e
 * set when the store itself fails (I/O, network after retries, a malformed
 * reply); other outcomes are documented per call. Documents are never
 * modified or kept by the store: callers keep ownership of what they pass in,
 * and own (decref, free) what they get back. Ids are UTF-8, at most 255 bytes,
 * without / \ ? # % or control characters (Cosmos DB addresses them in URLs);
 * a document carries "oun": pk (the container's partition key path) and, if
 * it has "id", the id.
 *
 * A stored document the store cannot hand back as one (SQLite: a body that is
 * not a JSON object, an etag that is not a number) is corrupt: read answers
 * CW_DOC_CORRUPT with e naming it, the store itself still working, and query
 * fails (-1) naming it rather than skip it. Such a document can be removed.
 */
#define CW_DOC_CORRUPT (-2)

/* The ledger's keyed-hash key (ledger.c), read once per open store; the
 * backends only zero it on open and wipe it on close. */
struct cw_docstore_hashkey {
	int state;               /* 0 not read yet; see ledger.c */
	unsigned char key[32];
};

struct cw_docstore {
	/* 1 created; 0 a document with that id exists already. */
	int (*create)(struct cw_docstore *s, const char *pk, const char *id,
	    const json_t *doc, cw_err *e);
	/* 1 found (*doc and *etag set); 0 absent; CW_DOC_CORRUPT. */
	int (*read)(struct cw_docstore *s, const char *pk, const char *id,
	    json_t **doc, char **etag, cw_err *e);
	/* 1 replaced; 0 the etag no longer matches or the document is gone. */
	int (*replace)(struct cw_docstore *s, const char *pk, const char *id,
	    const json_t *doc, const char *etag, cw_err *e);
	/* 1 written (created or replaced, whatever was there). */
	int (*upsert)(struct cw_docstore *s, const char *pk, const char *id,
	    const json_t *doc, cw_err *e);
	/* 1 removed; 0 absent. */
	int (*remove)(struct cw_docstore *s, const char *pk, const char *id, cw_err *e);
	/*
	 * Calls fn(doc, etag, ctx) for every document, in any partition, whose
	 * top-level field equals value (a string), or for every document when
	 * field is NULL. doc and etag are borrowed for the call. fn returns 0 to
	 * go on, -1 to stop (query then returns -1; fn sets e if it wants).
	 */
	int (*query)(struct cw_docstore *s, const char *field, const char *value,
	    int (*fn)(const json_t *doc, const char *etag, void *ctx), void *ctx,
	    cw_err *e);
	/* Where the store is, for messages: a file name or a container URL. */
	const char *(*describe)(const struct cw_docstore *s);
	void (*close)(struct cw_docstore *s);
	struct cw_docstore_hashkey hk;   /* ledger.c's */
};

/*
 * Opens the store that Cartwatch.StateStore.Kind names: "sqlite" (the default;
 * Cartwatch.StateStore.Path, default state/cartwatch.db beside the config
 * file, created 0600 in a 0700 directory) or "cosmos" (AzureCosmosOptions:
 * EndPointUri, PrimaryKey, DatabaseId, ContainerId; the database and the
 * container, partitioned on /oun, are created when missing, as the sample
 * does). Keys are read (and problems counted in c) by cw_docstore_config,
 * which must run before any network call; cw_docstore_open then connects.
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

struct cw_vault;

/* h and v are borrowed (unused for SQLite) and h must outlive the store; v is
 * asked only for the Cosmos DB key when the configuration names a secret for
 * it (cw_docstore_needs_vault), and may be NULL otherwise. NULL with e set on
 * failure. */
struct cw_docstore *cw_docstore_open(const struct cw_docstore_cfg *o, struct cw_http *h,
    struct cw_vault *v, cw_err *e);

/* 1 when opening the store will read its key from the vault. */
int cw_docstore_needs_vault(const struct cw_docstore_cfg *o);

/*
 * Where the store o names is, for people and scripts, without opening or
 * making anything: the SQLite file's absolute path, or the Cosmos DB
 * container's address ENDPOINT/dbs/DATABASE/colls/CONTAINER. Caller frees.
 */
char *cw_docstore_where(const struct cw_docstore_cfg *o);

/*
 * 1 when the store o names exists already, 0 when it does not yet, without
 * opening or making it: a SQLite file exists once someone opened it (opening
 * makes it). A Cosmos DB container is taken as existing: only a request could
 * tell, and opening it makes it when missing.
 */
int cw_docstore_exists(const struct cw_docstore_cfg *o);

/* The backends, for cw_docstore_open, _where, _exists and for tests. The
 * _where functions return a string the caller frees. */
struct cw_docstore *cw_sqlite_open(const char *path, cw_err *e);
char *cw_sqlite_where(const char *path);
int cw_sqlite_exists(const char *path);
struct cw_docstore *cw_cosmos_open(struct cw_http *h, const char *endpoint,
    const char *key, const char *database, const char *container, cw_err *e);
char *cw_cosmos_where(const char *endpoint, const char *database, const char *container);

#endif
