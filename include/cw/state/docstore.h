/* docstore.h: the little document store every state store provides (stores.h opens one). */
#ifndef CW_DOCSTORE_H
#define CW_DOCSTORE_H

#include <jansson.h>
#include "cw/core/util.h"

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
 *
 * A backend (store_sqlite.c, store_cosmos.c) fills in one struct cw_docstore
 * and is listed in the registry, stores.c, which opens and closes stores.
 */
#define CW_DOC_CORRUPT (-2)

/* The ledger's keyed-hash key (ledger.c), read once per open store; zero
 * when a store opens, wiped by cw_docstore_close (stores.h). */
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
	/*
	 * A group of calls: begin, any calls, then commit. Every write of the
	 * group is durable once commit returns 0, and a caller must not let
	 * anyone act on a write (write its record out, acknowledge it) before
	 * then: a crash inside a group may lose any of its writes (SQLite loses
	 * them all, atomically). Calls inside a group see its own writes. When
	 * commit fails (-1 with e) none of the group's writes can be counted on
	 * (SQLite: none happened; a call that failed may have rolled the group
	 * back, and commit then says so; Cosmos DB: some may have).
	 * Groups do not nest; a store closed with a group open drops it.
	 *
	 * A store may hold a group's writes and send them at commit, many to a
	 * request (Cosmos DB: transactional batches). Its create and replace
	 * then answer 1 for the time being, and commit calls lost(pk, id, ctx)
	 * for each that did not take effect after all (the id existed; the etag
	 * had moved, or the document was gone): for that id the caller must do
	 * what a 0 answer would have made it do, outside the group, as if the
	 * write had never been tried. remove is never held. lost may be NULL
	 * when the caller makes no conditional write in the group. 0, or -1
	 * with e.
	 */
	int (*begin)(struct cw_docstore *s, cw_err *e);
	int (*commit)(struct cw_docstore *s, void (*lost)(const char *pk, const char *id,
	    void *ctx), void *ctx, cw_err *e);
	/*
	 * Optional (NULL: the store reads each document when asked, cheaply).
	 * Reads the documents ids[0..n-1] of partition pk ahead, in as few
	 * requests as it can, so that read() answers them, found or absent,
	 * without asking again until they are written (a write outside a
	 * group, or a group's commit, forgets what it wrote) or forgotten:
	 * n 0 (ids NULL) forgets all that was read ahead, as the caller must
	 * once it is done with it. Ids it cannot read ahead are read when
	 * asked. What it read may be stale by then: create and replace still
	 * decide (see lost above). ids are borrowed. 0, or -1 with e.
	 */
	int (*prefetch)(struct cw_docstore *s, const char *pk, const char *const *ids,
	    size_t n, cw_err *e);
	/* Frees the store; callers use cw_docstore_close, which wipes hk first. */
	void (*close)(struct cw_docstore *s);
	/* Where the store is, for messages: a file name or a container URL;
	 * the store's own, valid until it closes. */
	const char *where;
	struct cw_docstore_hashkey hk;   /* ledger.c's */
};

#endif
