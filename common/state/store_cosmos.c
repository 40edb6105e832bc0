/* store_cosmos.c: the document store on Azure Cosmos DB's REST API (NoSQL), master key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cw/core/clock.h"
#include "cw/core/crypto.h"
#include "cw/core/json.h"
#include "cw/net/http.h"
#include "cw/state/cosmos.h"
#include "cw/state/docstore.h"
#include "cw/state/store_cosmos.h"

#define SERVICE "Cosmos DB"
#define API_VERSION "2018-12-31"
/* Documents per query page; the service's own cap is 1000 or 4 MB. */
#define PAGE_SIZE "100"

/* Operations of a transactional batch: the service's own cap. */
#define BATCH_MAX 100
/* Ids per query when reading ahead: the query text stays far below the
 * service's 512 KB, and one page of answers below its 4 MB. */
#define AHEAD_MAX 500

/* A write held for the group's commit. */
enum { HOLD_NONE, HOLD_CREATE, HOLD_REPLACE, HOLD_UPSERT };

/*
 * What the store knows of one document until the next commit: read ahead,
 * read in a group, or written in a group (then held). The index maps
 * "pk\nid" to its place in the array.
 */
struct known {
	char *pk, *id;
	json_t *doc;     /* NULL: absent; else as the group would read it */
	char *etag;      /* what read() answers: the store's, or a held write's own */
	int hold;        /* HOLD_*: the write commit sends */
	char *ifmatch;   /* HOLD_REPLACE: the store's etag it is conditional on */
};

struct cosmos {
	struct cw_docstore ops;
	struct cw_http *h;
	char *base;      /* endpoint without trailing slashes */
	char *key;       /* base64 master key; wiped on close */
	char *coll;      /* dbs/D/colls/C: the link we sign */
	char *collpath;  /* /dbs/D/colls/C with each name URL-encoded */
	char *url;       /* base + collpath: ops.where */
	int grouped;     /* a group is open: writes are held */
	struct known *kn;
	size_t nkn, kncap;
	json_t *knidx;   /* "pk\nid" -> index into kn */
	unsigned long held;  /* held writes so far: their etags */
};

/* Service-generated properties: neither SQLite nor a caller ever sees them. */
static const char *const sysprops[] = {"_rid", "_self", "_etag", "_attachments", "_ts"};

/* JSON carries only UTF-8: Jansson says whether s is. */
static int
utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/*
 * What Cosmos DB refuses in a resource name: "/", "\", "?" and "#". "%" is
 * refused as well: the gateway URL-decodes an id's path twice, so an id
 * holding "%xx" can be created (the id is in the body) but its point reads
 * fail with 401 (SDK issues azure-cosmos-dotnet-v2#150 and #458). Refusing it
 * here gives one clear message rather than a document nobody can read.
 */
static const char not_utf8[] = "is not UTF-8", control[] = "holds a control character";

static const char *
badname(const char *s)
{
	if (*s == '\0')
		return "is empty";
	if (!utf8(s))
		return not_utf8;
	if (strlen(s) > 255)
		return "is longer than 255 bytes";
	for (; *s != '\0'; s++) {
		if (strchr("/\\?#%", *s) != NULL)
			return "holds one of / \\ ? # %";
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return control;
	}
	return NULL;
}

/* The reason text from cw_http_do, without its "Cosmos DB: " prefix, which our
 * own prefix already says. */
static const char *
reason(const cw_err *te)
{
	size_t n = strlen(SERVICE ": ");

	return strncmp(te->msg, SERVICE ": ", n) == 0 ? te->msg + n : te->msg;
}

/*
 * One signed request. type and link are what the signature covers: the
 * unencoded resource link, since the service URL-decodes the path before it
 * rebuilds the string to sign (its 401 replies quote that string with the
 * decoded id); path is the same link URL-encoded, for the request line.
 * what names the operation in messages ("create dbs/D/colls/C/docs/ID").
 * Returns 0 with resp filled (any status), or -1 with e set as
 * "Cosmos DB URL/: WHAT: why".
 */
static int
call(struct cosmos *c, const char *what, const char *method, const char *type,
    const char *link, const char *path, const char *pk, const char *const *extra,
    const char *body, struct cw_http_resp *resp, cw_err *e)
{
	struct cw_http_req req = {0};
	const char *headers[16];
	char date[CW_RFC1123_MAX], *tok, *auth, *xdate, *url, *pkh = NULL;
	size_t n = 0;
	cw_err te;
	int r;

	cw_rfc1123_format(time(NULL), date);
	/* The key was checked at open: NULL here would be a bug, not an input. */
	if ((tok = cw_cosmos_auth(c->key, method, type, link, date)) == NULL)
		return cw_seterr(e, SERVICE " %s/: %s: the key is not base64", c->base,
		    what);
	auth = cw_asprintf("Authorization: %s", tok);
	cw_secret_free(tok);
	xdate = cw_asprintf("x-ms-date: %s", date);
	url = cw_asprintf("%s%s", c->base, path);
	headers[n++] = auth;
	headers[n++] = xdate;
	headers[n++] = "x-ms-version: " API_VERSION;
	headers[n++] = "Accept: application/json";
	if (pk != NULL) {
		json_t *a = json_pack("[s]", pk);
		/* ASCII only: a header is no place for raw UTF-8, and Node-based
		 * servers read headers as Latin-1. JSON escapes say the same. */
		char *v = json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII);

		pkh = cw_asprintf("x-ms-documentdb-partitionkey: %s", v);
		free(v);
		json_decref(a);
		headers[n++] = pkh;
	}
	for (; extra != NULL && *extra != NULL && n < 15; extra++)
		headers[n++] = *extra;
	headers[n] = NULL;

	req.service = SERVICE;
	req.method = method;
	req.url = url;
	req.headers = headers;
	if (body != NULL) {
		req.body = body;
		req.body_len = strlen(body);
	}
	/*
	 * Writes are retried too (429 asks for it, and Cosmos DB's 429 and
	 * 503 mean "not done"). A retried create or replace whose first try
	 * did land meets its own write and reports 0 (exists / etag moved):
	 * the safe side for claims, as no key is ever passed twice, and a
	 * claim so lost is taken over when its lease runs out.
	 */
	if ((r = cw_http_do(c->h, &req, resp, &te)) != 0)
		cw_seterr(e, SERVICE " %s/: %s: %s", c->base, what, reason(&te));
	cw_secret_free(auth);
	free(xdate);
	free(url);
	free(pkh);
	return r;
}

/* {"code":"Conflict","message":"..."} */
static const struct cw_http_errfmt cosmos_errors = {{"code"}, {"message"}};

/* "Cosmos DB URL/: WHAT: HTTP 400 BadRequest: message". */
static int
unexpected(struct cosmos *c, const char *what, const struct cw_http_resp *resp,
    cw_err *e)
{
	char why[400], tries[40] = "";

	cw_http_describe(resp, &cosmos_errors, why, sizeof(why));
	if (resp->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %d attempts)", resp->attempts);
	return cw_seterr(e, SERVICE " %s/: %s: %s%s%s", c->base, what, why, tries,
	    resp->status == 401 || resp->status == 403 ?
	    " (is AzureCosmosOptions.PrimaryKey this account's key?)" : "");
}

/* Removes the system properties; returns the _etag (owned) or NULL. */
static char *
strip(json_t *doc)
{
	const char *s = json_string_value(json_object_get(doc, "_etag"));
	char *etag = s != NULL ? cw_strdup(s) : NULL;

	for (size_t i = 0; i < sizeof(sysprops) / sizeof(sysprops[0]); i++)
		json_object_del(doc, sysprops[i]);
	return etag;
}

/* Links and paths of one document. */
struct where {
	char *link;  /* dbs/D/colls/C/docs/ID, signed */
	char *path;  /* the same, encoded */
	char *what;  /* "OP LINK", for messages */
};

static int
doc_where(struct cosmos *c, const char *op, const char *pk, const char *id,
    struct where *w, cw_err *e)
{
	const char *bad;
	char *q;

	w->link = w->path = w->what = NULL;
	/* The id goes into the message only when it is printable text. */
	if ((bad = badname(id)) != NULL)
		return cw_seterr(e, SERVICE " %s/: %s %s/docs/%.80s: the id %s", c->base, op,
		    c->coll, bad == not_utf8 || bad == control ? "..." : id, bad);
	if (pk == NULL || !utf8(pk))
		return cw_seterr(e, SERVICE " %s/: %s %s/docs/%s: the partition key is %s",
		    c->base, op, c->coll, id, pk == NULL ? "missing" : "not UTF-8");
	q = cw_urlencode(id);
	w->link = cw_asprintf("%s/docs/%s", c->coll, id);
	w->path = cw_asprintf("%s/docs/%s", c->collpath, q);
	w->what = cw_asprintf("%s %s", op, w->link);
	free(q);
	return 0;
}

static void
where_free(struct where *w)
{
	free(w->link);
	free(w->path);
	free(w->what);
}

/*
 * The body to send: the caller's document with "id" set (Cosmos DB keys it
 * so) and its partition key field, "oun", equal to pk, as the sample's
 * container is partitioned on /oun. The caller's document is not touched.
 */
static json_t *
doc_json(struct cosmos *c, const char *what, const char *pk, const char *id,
    const json_t *doc, cw_err *e)
{
	const char *have;
	json_t *d;

	if (!json_is_object(doc)) {
		cw_seterr(e, SERVICE " %s/: %s: the document is not a JSON object",
		    c->base, what);
		return NULL;
	}
	if ((have = json_string_value(json_object_get(doc, "oun"))) == NULL ||
	    strcmp(have, pk) != 0) {
		cw_seterr(e, SERVICE " %s/: %s: the document's \"oun\" must be the "
		    "partition key \"%.80s\" (the container is partitioned on /oun)",
		    c->base, what, pk);
		return NULL;
	}
	if ((have = json_string_value(json_object_get(doc, "id"))) != NULL &&
	    strcmp(have, id) != 0) {
		cw_seterr(e, SERVICE " %s/: %s: the document's \"id\" is \"%.80s\"",
		    c->base, what, have);
		return NULL;
	}
	d = json_copy((json_t *)doc);   /* shallow: only "id" changes */
	json_object_set_new(d, "id", json_string(id));
	for (size_t i = 0; i < sizeof(sysprops) / sizeof(sysprops[0]); i++)
		json_object_del(d, sysprops[i]);
	return d;
}

static char *
doc_body(struct cosmos *c, const char *what, const char *pk, const char *id,
    const json_t *doc, cw_err *e)
{
	json_t *d = doc_json(c, what, pk, id, doc, e);
	char *s;

	if (d == NULL)
		return NULL;
	s = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(d);
	if (s == NULL)
		cw_seterr(e, SERVICE " %s/: %s: the document cannot be written as JSON",
		    c->base, what);
	return s;
}

/* The index key of (pk, id); owned. */
static char *
known_key(const char *pk, const char *id)
{
	return cw_asprintf("%s\n%s", pk, id);
}

static struct known *
known_find(struct cosmos *c, const char *pk, const char *id)
{
	char *key;
	json_t *i;

	if (c->knidx == NULL)
		return NULL;
	key = known_key(pk, id);
	i = json_object_get(c->knidx, key);
	free(key);
	return i != NULL ? &c->kn[json_integer_value(i)] : NULL;
}

/* The entry of (pk, id), made absent with nothing held if there was none.
 * It may move when the next is made: no pointer is kept across two. */
static struct known *
known_put(struct cosmos *c, const char *pk, const char *id)
{
	struct known *k = known_find(c, pk, id);
	char *key;

	if (k != NULL)
		return k;
	if (c->knidx == NULL)
		c->knidx = json_object();
	if (c->nkn == c->kncap || c->kn == NULL) {
		c->kncap = c->kncap ? 2 * c->kncap : 64;
		c->kn = cw_realloc(c->kn, c->kncap * sizeof(*c->kn));
	}
	k = &c->kn[c->nkn];
	memset(k, 0, sizeof(*k));
	k->pk = cw_strdup(pk);
	k->id = cw_strdup(id);
	key = known_key(pk, id);
	json_object_set_new(c->knidx, key, json_integer((json_int_t)c->nkn++));
	free(key);
	return k;
}

/* What k reads as from now: doc (NULL: absent; a reference is taken) and
 * etag (copied). */
static void
known_set(struct known *k, json_t *doc, const char *etag)
{
	json_decref(k->doc);
	free(k->etag);
	k->doc = doc != NULL ? json_incref(doc) : NULL;
	k->etag = doc != NULL && etag != NULL ? cw_strdup(etag) : NULL;
}

/* A write made outside a group: what was known of the id is stale. */
static void
known_forget(struct cosmos *c, const char *pk, const char *id)
{
	char *key;

	if (c->knidx == NULL)
		return;
	key = known_key(pk, id);
	json_object_del(c->knidx, key);
	free(key);
}

static void
known_reset(struct cosmos *c)
{
	for (size_t i = 0; i < c->nkn; i++) {
		free(c->kn[i].pk);
		free(c->kn[i].id);
		json_decref(c->kn[i].doc);
		free(c->kn[i].etag);
		free(c->kn[i].ifmatch);
	}
	c->nkn = 0;
	json_decref(c->knidx);
	c->knidx = NULL;
}

/* read() from what is known: 1 found (copies), 0 absent. */
static int
known_read(const struct known *k, json_t **doc, char **etag)
{
	if (k->doc == NULL)
		return 0;
	*doc = json_deep_copy(k->doc);
	*etag = cw_strdup(k->etag);
	return 1;
}

/*
 * A write in a group, held for the commit (docstore.h): create, replace
 * (etag: what the caller read) or upsert. What the store would refuse
 * outright is refused now. 1, 0 (create: the id is known to exist;
 * replace: known gone, or its etag moved), or -1 with e.
 */
static int
hold(struct cosmos *c, int how, const char *pk, const char *id, const json_t *doc,
    const char *etag, cw_err *e)
{
	static const char *const ops[] = {"", "create", "replace", "upsert"};
	struct known *k;
	struct where w;
	json_t *d;
	char *tag;

	if (doc_where(c, ops[how], pk, id, &w, e) != 0)
		return -1;
	d = doc_json(c, w.what, pk, id, doc, e);
	where_free(&w);
	if (d == NULL)
		return -1;
	k = known_find(c, pk, id);
	if (k != NULL && ((how == HOLD_CREATE && k->doc != NULL) || (how == HOLD_REPLACE &&
	    (k->doc == NULL || strcmp(k->etag, etag) != 0)))) {
		json_decref(d);
		return 0;
	}
	if (k == NULL && how == HOLD_REPLACE) {
		k = known_put(c, pk, id);
		k->ifmatch = cw_strdup(etag);
	} else if (k != NULL && how == HOLD_REPLACE && k->hold == HOLD_NONE)
		k->ifmatch = cw_strdup(k->etag);
	k = known_put(c, pk, id);
	/* A held create stays one: replacing what it made keeps it a create. */
	if (how != HOLD_REPLACE || k->hold == HOLD_NONE)
		k->hold = how;
	if (k->hold == HOLD_UPSERT) {
		free(k->ifmatch);
		k->ifmatch = NULL;
	}
	tag = cw_asprintf("\"cartwatch-held-%lu\"", ++c->held);
	known_set(k, d, tag);
	free(tag);
	json_decref(d);
	return 1;
}

/* POST .../docs: create, or upsert when upsert is set. */
static int
post_doc(struct cosmos *c, const char *op, int upsert, const char *pk, const char *id,
    const json_t *doc, cw_err *e)
{
	const char *extra[] = {"Content-Type: application/json",
	    upsert ? "x-ms-documentdb-is-upsert: True" : NULL, NULL};
	struct cw_http_resp resp;
	struct where w;
	char *body, *docs;
	int r = -1;

	if (doc_where(c, op, pk, id, &w, e) != 0)
		return -1;
	if ((body = doc_body(c, w.what, pk, id, doc, e)) == NULL) {
		where_free(&w);
		return -1;
	}
	docs = cw_asprintf("%s/docs", c->collpath);
	/* A create is signed for its collection, not the document it makes. */
	if (call(c, w.what, "POST", "docs", c->coll, docs, pk, extra, body, &resp,
	    e) == 0) {
		if (resp.status == 201 || (upsert && resp.status == 200))
			r = 1;
		else if (!upsert && resp.status == 409)
			r = 0;
		else
			unexpected(c, w.what, &resp, e);
	}
	cw_http_resp_free(&resp);
	free(docs);
	free(body);
	where_free(&w);
	return r;
}

static int
cosmos_create(struct cw_docstore *s, const char *pk, const char *id, const json_t *doc,
    cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;

	if (c->grouped)
		return hold(c, HOLD_CREATE, pk, id, doc, NULL, e);
	known_forget(c, pk, id);
	return post_doc(c, "create", 0, pk, id, doc, e);
}

static int
cosmos_upsert(struct cw_docstore *s, const char *pk, const char *id, const json_t *doc,
    cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;

	if (c->grouped)
		return hold(c, HOLD_UPSERT, pk, id, doc, NULL, e);
	known_forget(c, pk, id);
	return post_doc(c, "upsert", 1, pk, id, doc, e);
}

static int
cosmos_read(struct cw_docstore *s, const char *pk, const char *id, json_t **doc,
    char **etag, cw_err *e)
{
	/*
	 * The cross-partition header means nothing to Cosmos DB on a point
	 * read, but cosmosdb-server, without it, answers a read of an absent
	 * id with a 500 (it indexes the missing document) instead of a 404.
	 */
	const char *extra[] = {"x-ms-documentdb-query-enablecrosspartition: True", NULL};
	struct cosmos *c = (struct cosmos *)s;
	struct cw_http_resp resp;
	const struct known *k;
	const char *hdr;
	struct where w;
	json_t *j;
	char *tag;
	int r = -1;

	*doc = NULL;
	*etag = NULL;
	if (doc_where(c, "read", pk, id, &w, e) != 0)
		return -1;
	if ((k = known_find(c, pk, id)) != NULL) {
		r = known_read(k, doc, etag);
		goto out;
	}
	if (call(c, w.what, "GET", "docs", w.link, w.path, pk, extra, NULL, &resp, e) != 0)
		goto out;
	/* Parsed apart: json_is_object() is a macro that names its argument twice. */
	j = resp.status == 200 ? cw_json_parse(resp.body, resp.body_len) : NULL;
	if (resp.status == 404) {
		r = 0;
	} else if (resp.status != 200) {
		unexpected(c, w.what, &resp, e);
	} else if (!json_is_object(j)) {
		json_decref(j);
		cw_seterr(e, SERVICE " %s/: %s: HTTP 200 with a reply that is not a "
		    "JSON object", c->base, w.what);
	} else {
		tag = strip(j);
		/* The header is the etag proper; the body's copy is the fallback. */
		if ((hdr = cw_http_header(&resp, "ETag")) != NULL && *hdr != '\0') {
			free(tag);
			tag = cw_strdup(hdr);
		}
		if (tag == NULL) {
			json_decref(j);
			cw_seterr(e, SERVICE " %s/: %s: the reply has no etag", c->base,
			    w.what);
		} else {
			*doc = j;
			*etag = tag;
			r = 1;
		}
	}
	cw_http_resp_free(&resp);
	/* In a group its later writes are held against what it read. */
	if (c->grouped && r >= 0)
		known_set(known_put(c, pk, id), *doc, *etag);
out:
	where_free(&w);
	return r;
}

static int
cosmos_replace(struct cw_docstore *s, const char *pk, const char *id, const json_t *doc,
    const char *etag, cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;
	struct cw_http_resp resp;
	struct where w;
	char *body, *ifm;
	const char *extra[3];
	int r = -1;

	if (doc_where(c, "replace", pk, id, &w, e) != 0)
		return -1;
	if (etag == NULL || *etag == '\0' || strpbrk(etag, "\r\n") != NULL) {
		cw_seterr(e, SERVICE " %s/: %s: no usable etag", c->base, w.what);
		where_free(&w);
		return -1;
	}
	if (c->grouped) {
		where_free(&w);
		return hold(c, HOLD_REPLACE, pk, id, doc, etag, e);
	}
	known_forget(c, pk, id);
	if ((body = doc_body(c, w.what, pk, id, doc, e)) == NULL) {
		where_free(&w);
		return -1;
	}
	/* Echoed as given: the service's are quoted, cosmosdb-server's are not. */
	ifm = cw_asprintf("If-Match: %s", etag);
	extra[0] = "Content-Type: application/json";
	extra[1] = ifm;
	extra[2] = NULL;
	if (call(c, w.what, "PUT", "docs", w.link, w.path, pk, extra, body, &resp,
	    e) == 0) {
		if (resp.status == 200)
			r = 1;
		else if (resp.status == 412 || resp.status == 404)
			r = 0;  /* lost the race, or the document is gone */
		else
			unexpected(c, w.what, &resp, e);
	}
	cw_http_resp_free(&resp);
	free(ifm);
	free(body);
	where_free(&w);
	return r;
}

static int
cosmos_remove(struct cw_docstore *s, const char *pk, const char *id, cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;
	struct cw_http_resp resp;
	struct where w;
	int r = -1;

	if (doc_where(c, "delete", pk, id, &w, e) != 0)
		return -1;
	if (call(c, w.what, "DELETE", "docs", w.link, w.path, pk, NULL, NULL, &resp,
	    e) == 0) {
		if (resp.status == 204 || resp.status == 200)
			r = 1;
		else if (resp.status == 404)
			r = 0;
		else
			unexpected(c, w.what, &resp, e);
	}
	cw_http_resp_free(&resp);
	where_free(&w);
	/* Never held: gone now, and any write the group held for it with it. */
	if (r >= 0 && known_find(c, pk, id) != NULL) {
		struct known *k = known_find(c, pk, id);

		known_set(k, NULL, NULL);
		k->hold = HOLD_NONE;
		free(k->ifmatch);
		k->ifmatch = NULL;
	}
	return r;
}

/* A top-level field name we may put in the query text: no quoting games. */
static int
plainfield(const char *f)
{
	size_t n = strlen(f);

	return n > 0 && n <= 128 && strspn(f, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/*
 * The query's JSON body, or NULL with e. The field goes into the text as
 * c["field"], the quoted property accessor of the documented grammar, once
 * checked to need no escaping; the value, which may hold anything, is a
 * parameter.
 */
static char *
query_body(struct cosmos *c, const char *field, const char *value, cw_err *e)
{
	char *sql = NULL, *body;
	json_t *q;

	if (field != NULL && !plainfield(field)) {
		cw_seterr(e, SERVICE " %s/: query %s: \"%.80s\" is not a plain field "
		    "name (letters, digits, _)", c->base, c->coll, field);
		return NULL;
	}
	if (field != NULL) {
		sql = cw_asprintf("SELECT * FROM c WHERE c[\"%s\"] = @v", field);
		q = json_pack("{s:s, s:[{s:s, s:s?}]}", "query", sql, "parameters",
		    "name", "@v", "value", value);
	} else {
		q = json_pack("{s:s, s:[]}", "query", "SELECT * FROM c", "parameters");
	}
	body = q != NULL ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	free(sql);
	if (body == NULL)
		cw_seterr(e, SERVICE " %s/: query %s: the value for %s is not UTF-8",
		    c->base, c->coll, field);
	return body;
}

/* Calls fn for each document of a page's reply: 0, or -1 (e set, or by fn). */
static int
each_doc(struct cosmos *c, const char *what, const struct cw_http_resp *resp,
    int (*fn)(const json_t *doc, const char *etag, void *ctx), void *ctx, cw_err *e)
{
	json_t *reply = cw_json_parse(resp->body, resp->body_len);
	json_t *list = json_object_get(reply, "Documents"), *d;
	char *tag;
	size_t i;
	int r = 0;

	if (!json_is_array(list))
		r = cw_seterr(e, SERVICE " %s/: %s: the reply has no \"Documents\" array",
		    c->base, what);
	json_array_foreach(list, i, d) {
		if (r != 0)
			break;
		if (!json_is_object(d) || (tag = strip(d)) == NULL) {
			r = cw_seterr(e, SERVICE " %s/: %s: a document without an etag",
			    c->base, what);
			break;
		}
		r = fn(d, tag, ctx) != 0 ? -1 : 0;
		free(tag);
	}
	json_decref(reply);
	return r;
}

/*
 * One page of the query (the first when cont is NULL), fn called for each
 * document; within partition pk, or across all when pk is NULL. *next is
 * the continuation token of the next page (owned), or NULL after the last.
 * 0, or -1 with e (or by fn).
 */
static int
query_page(struct cosmos *c, const char *what, const char *pk, const char *body,
    const char *cont, int (*fn)(const json_t *doc, const char *etag, void *ctx),
    void *ctx, char **next, cw_err *e)
{
	const char *extra[6], *tok;
	struct cw_http_resp resp;
	char *docs = cw_asprintf("%s/docs", c->collpath), *conth = NULL;
	size_t n = 0;
	int r;

	*next = NULL;
	extra[n++] = "Content-Type: application/query+json";
	extra[n++] = "x-ms-documentdb-isquery: True";
	/* Read-ahead pages hold up to AHEAD_MAX documents: one page, mostly. */
	if (pk == NULL)
		extra[n++] = "x-ms-documentdb-query-enablecrosspartition: True";
	extra[n++] = pk == NULL ? "x-ms-max-item-count: " PAGE_SIZE :
	    "x-ms-max-item-count: 1000";
	if (cont != NULL)
		extra[n++] = conth = cw_asprintf("x-ms-continuation: %s", cont);
	extra[n] = NULL;
	if ((r = call(c, what, "POST", "docs", c->coll, docs, pk, extra, body, &resp,
	    e)) == 0) {
		if (resp.status != 200)
			r = unexpected(c, what, &resp, e);
		else
			r = each_doc(c, what, &resp, fn, ctx, e);
	}
	/* A page may be empty and still not the last: follow the token. */
	tok = r == 0 ? cw_http_header(&resp, "x-ms-continuation") : NULL;
	if (tok != NULL && *tok != '\0' && strpbrk(tok, "\r\n") == NULL)
		*next = cw_strdup(tok);
	cw_http_resp_free(&resp);
	free(conth);
	free(docs);
	return r;
}

static int
cosmos_query(struct cw_docstore *s, const char *field, const char *value,
    int (*fn)(const json_t *doc, const char *etag, void *ctx), void *ctx, cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;
	char *body, *what, *cont = NULL, *next;
	int r;

	if ((body = query_body(c, field, value, e)) == NULL)
		return -1;
	what = cw_asprintf("query %s", c->coll);
	do {
		r = query_page(c, what, NULL, body, cont, fn, ctx, &next, e);
		free(cont);
		cont = next;
	} while (cont != NULL);
	free(what);
	free(body);
	return r;
}

static void
cosmos_close(struct cw_docstore *s)
{
	struct cosmos *c = (struct cosmos *)s;

	known_reset(c);
	free(c->kn);
	cw_secret_free(c->key);
	free(c->base);
	free(c->coll);
	free(c->collpath);
	free(c->url);
	free(c);
}

/*
 * Read ahead (docstore.h): SELECT * FROM c WHERE c.id IN (@i0, ...) within
 * the partition, AHEAD_MAX ids a query, each id a parameter. Every id asked
 * is known afterwards: found, or absent.
 */
struct ahead {
	struct cosmos *c;
	const char *pk;
};

static int
ahead_doc(const json_t *doc, const char *etag, void *ctx)
{
	struct ahead *a = ctx;
	const char *id = cw_json_istr(doc, "id");
	struct known *k = id != NULL ? known_find(a->c, a->pk, id) : NULL;

	if (k != NULL)
		known_set(k, (json_t *)doc, etag);
	return 0;
}

/* SELECT * FROM c WHERE c.id IN (@i0, ...): the query of ids[0..n-1]
 * (n > 0), each id a parameter. */
static char *
in_query(const char *const *ids, size_t n)
{
	struct cw_buf sql = CW_BUF_INIT;
	json_t *params = json_array(), *q;
	char *body, name[32];

	cw_buf_adds(&sql, "SELECT * FROM c WHERE c.id IN (");
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "@i%zu", i);
		cw_buf_addf(&sql, "%s%s", i > 0 ? ", " : "", name);
		json_array_append_new(params, json_pack("{s:s, s:s}", "name", name,
		    "value", ids[i]));
	}
	cw_buf_adds(&sql, ")");
	q = json_pack("{s:s, s:o}", "query", sql.data, "parameters", params);
	body = json_dumps(q, JSON_COMPACT);
	json_decref(q);
	cw_buf_free(&sql);
	return body;
}

/* The query of ids[0..n-1] not known yet, made known as absent for now;
 * NULL when none is left to ask. */
static char *
ahead_body(struct cosmos *c, const char *pk, const char *const *ids, size_t n)
{
	const char **ask = cw_calloc(n + 1, sizeof(*ask));
	char *body = NULL;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (badname(ids[i]) != NULL || known_find(c, pk, ids[i]) != NULL)
			continue;
		known_put(c, pk, ids[i]);
		ask[m++] = ids[i];
	}
	if (m > 0)
		body = in_query(ask, m);
	free(ask);
	return body;
}

static int
cosmos_prefetch(struct cw_docstore *s, const char *pk, const char *const *ids, size_t n,
    cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;
	struct ahead a = {c, pk};
	char *what, *body, *cont, *next;
	int r = 0;

	if (n == 0) {
		if (!c->grouped)
			known_reset(c);
		return 0;
	}
	if (pk == NULL || !utf8(pk))
		return 0;   /* read when asked, which says what is wrong */
	what = cw_asprintf("read ahead %s", c->coll);
	for (size_t i = 0; i < n && r == 0; i += AHEAD_MAX) {
		body = ahead_body(c, pk, ids + i, n - i < AHEAD_MAX ? n - i : AHEAD_MAX);
		for (cont = NULL; body != NULL; cont = next) {
			r = query_page(c, what, pk, body, cont, ahead_doc, &a, &next, e);
			free(cont);
			if (next == NULL)
				break;
		}
		free(body);
	}
	free(what);
	/* What a failed query made look absent is not known after all. */
	for (size_t i = 0; r != 0 && i < n; i++) {
		const struct known *k = known_find(c, pk, ids[i]);

		if (k != NULL && k->hold == HOLD_NONE)
			known_forget(c, pk, ids[i]);
	}
	return r;
}

/* The operations of a batch, as the service takes them: each names its
 * partition key as the header does, a JSON array in a string (the SDKs
 * send it so, and cosmosdb-server needs it). */
static char *
batch_body(struct known *const *ops, size_t n)
{
	static const char *const types[] = {"", "Create", "Replace", "Upsert"};
	json_t *a = json_array(), *pk = json_pack("[s]", ops[0]->pk);
	char *body, *pks = json_dumps(pk, JSON_COMPACT | JSON_ENSURE_ASCII);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:O, s:s?}",
		    "operationType", types[ops[i]->hold], "id", ops[i]->id,
		    "partitionKey", pks, "resourceBody", ops[i]->doc,
		    "ifMatch", ops[i]->ifmatch));
	body = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(a);
	json_decref(pk);
	free(pks);
	return body;
}

/* What became of one operation of a batch. */
enum { OP_DONE, OP_AGAIN, OP_LOST };

/*
 * One answer of a batch, per operation, into out[i]: 2xx done; 424 not
 * tried (another failed, and an atomic batch does all or nothing): again;
 * a create that found the id, a replace that found its etag moved or the
 * document gone: lost. Anything else fails the commit. 0, or -1 with e.
 */
static int
batch_results(struct cosmos *c, const char *what, const struct cw_http_resp *resp,
    struct known *const *ops, size_t n, int *out, cw_err *e)
{
	json_t *a = cw_json_parse(resp->body, resp->body_len);
	int r = 0;

	if (!json_is_array(a) || json_array_size(a) != n) {
		json_decref(a);
		if (resp->status / 100 != 2)
			return unexpected(c, what, resp, e);
		return cw_seterr(e, SERVICE " %s/: %s: HTTP %ld without one answer per "
		    "operation", c->base, what, resp->status);
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		json_int_t st = json_integer_value(json_object_get(json_array_get(a, i),
		    "statusCode"));
		int how = ops[i]->hold;

		out[i] = st == 424 ? OP_AGAIN : OP_DONE;
		if ((how == HOLD_CREATE && st == 409) ||
		    (how == HOLD_REPLACE && (st == 412 || st == 404)))
			out[i] = OP_LOST;
		else if (st != 424 && st / 100 != 2)
			r = cw_seterr(e, SERVICE " %s/: %s: %s docs/%s: HTTP %" JSON_INTEGER_FORMAT,
			    c->base, what, how == HOLD_CREATE ? "create" : how == HOLD_REPLACE ?
			    "replace" : "upsert", ops[i]->id, st);
	}
	json_decref(a);
	return r;
}

/* landed(): a document the query found, against the operations. */
struct landing {
	struct known *const *ops;
	size_t n;
	int *out;
};

static int
landed_doc(const json_t *doc, const char *etag, void *ctx)
{
	struct landing *l = ctx;
	const char *id = cw_json_istr(doc, "id");

	(void)etag;
	for (size_t i = 0; id != NULL && i < l->n; i++)
		if (l->out[i] != OP_DONE && strcmp(l->ops[i]->id, id) == 0 &&
		    json_equal((json_t *)doc, l->ops[i]->doc))
			l->out[i] = OP_DONE;
	return 0;
}

static int
some_lost(const int *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] == OP_LOST)
			return 1;
	return 0;
}

/*
 * A batch sent again after its answer was lost (by us, or by libcurl on a
 * connection that died) meets its own writes, and nothing in the answer
 * tells them from another run's: each operation not done whose document
 * now holds exactly what it wrote is done. One query; 0, or -1 with e.
 */
static int
landed(struct cosmos *c, struct known *const *ops, size_t n, int *out, cw_err *e)
{
	struct landing l = {ops, n, out};
	const char *ids[BATCH_MAX];
	char *what, *body, *cont = NULL, *next;
	size_t m = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++)
		if (out[i] != OP_DONE)
			ids[m++] = ops[i]->id;
	if (m == 0)
		return 0;
	what = cw_asprintf("batch %s: what landed", c->coll);
	body = in_query(ids, m);
	do {
		r = query_page(c, what, ops[0]->pk, body, cont, landed_doc, &l, &next, e);
		free(cont);
		cont = next;
	} while (r == 0 && cont != NULL);
	free(cont);
	free(body);
	free(what);
	return r;
}

/*
 * Sends ops[0..n-1] (n <= BATCH_MAX, one partition key) as transactional
 * batches until each is done or lost: an operation that failed takes the
 * others of its batch down with it (424), and they go again without it.
 * Every operation is conditional or an upsert, so a batch sent again after
 * its answer was lost meets its own writes (409, 412): what holds exactly
 * what it wrote is done, and only the rest is lost. Cosmos DB answers a
 * failed batch 207 (or the failed operation's status) and rolls it back,
 * the others answered 424; cosmosdb-server answers 200 and keeps those
 * before the failed one, answered 2xx: done here, which they are there.
 */
static int
batch_send(struct cosmos *c, struct known *const *all, size_t n,
    void (*lost)(const char *pk, const char *id, void *ctx), void *ctx, cw_err *e)
{
	const char *extra[] = {"Content-Type: application/json",
	    "x-ms-cosmos-is-batch-request: True", "x-ms-cosmos-batch-atomic: True",
	    "x-ms-cosmos-batch-ordered: True", NULL};
	char *docs = cw_asprintf("%s/docs", c->collpath), *what, *body;
	struct known *ops[BATCH_MAX];
	struct cw_http_resp resp;
	int out[BATCH_MAX], r = 0;
	size_t m;

	memcpy(ops, all, n * sizeof(*ops));   /* each round keeps those left */
	while (n > 0 && r == 0) {
		what = cw_asprintf("batch %s (%zu operations)", c->coll, n);
		body = batch_body(ops, n);
		r = call(c, what, "POST", "docs", c->coll, docs, ops[0]->pk, extra, body,
		    &resp, e);
		if (r == 0)
			r = batch_results(c, what, &resp, ops, n, out, e);
		if (r == 0 && some_lost(out, n))
			r = landed(c, ops, n, out, e);
		for (size_t i = m = 0; r == 0 && i < n; i++) {
			if (out[i] == OP_LOST && lost != NULL)
				lost(ops[i]->pk, ops[i]->id, ctx);
			if (out[i] == OP_AGAIN)
				ops[m++] = ops[i];
		}
		if (r == 0 && m == n)
			r = cw_seterr(e, SERVICE " %s/: %s: no operation succeeded nor failed",
			    c->base, what);
		if (r == 0)
			n = m;
		cw_http_resp_free(&resp);
		free(body);
		free(what);
	}
	free(docs);
	return r;
}

static int
cosmos_commit(struct cw_docstore *s, void (*lost)(const char *pk, const char *id,
    void *ctx), void *ctx, cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;
	struct known *ops[BATCH_MAX];
	size_t n;
	int r = 0;

	if (!c->grouped)
		return cw_seterr(e, SERVICE " %s/: no group is open", c->base);
	c->grouped = 0;
	for (size_t i = 0; i < c->nkn && r == 0; i++) {
		if (c->kn[i].hold == HOLD_NONE)
			continue;
		n = 0;
		for (size_t j = i; j < c->nkn && n < BATCH_MAX; j++)
			if (c->kn[j].hold != HOLD_NONE && strcmp(c->kn[j].pk, c->kn[i].pk) == 0)
				ops[n++] = &c->kn[j];
		r = batch_send(c, ops, n, lost, ctx, e);
		/* What was written has new etags now; the rest read ahead
		 * stays known until it is forgotten (prefetch, n 0). */
		for (size_t j = 0; j < n; j++) {
			ops[j]->hold = HOLD_NONE;
			known_forget(c, ops[j]->pk, ops[j]->id);
		}
	}
	if (r != 0)
		known_reset(c);
	return r;
}

static int
cosmos_begin(struct cw_docstore *s, cw_err *e)
{
	struct cosmos *c = (struct cosmos *)s;

	if (c->grouped)
		return cw_seterr(e, SERVICE " %s/: a group is open already", c->base);
	c->grouped = 1;
	return 0;
}

static const struct cw_docstore cosmos_ops = {
	.create = cosmos_create,
	.read = cosmos_read,
	.replace = cosmos_replace,
	.upsert = cosmos_upsert,
	.remove = cosmos_remove,
	.query = cosmos_query,
	.begin = cosmos_begin,
	.commit = cosmos_commit,
	.prefetch = cosmos_prefetch,
	.close = cosmos_close,
};

/* POST body to path (signed for type/link); 201 made, 409 there already. */
static int
ensure(struct cosmos *c, const char *what, const char *type, const char *link,
    const char *path, const char *body, cw_err *e)
{
	const char *extra[] = {"Content-Type: application/json", NULL};
	struct cw_http_resp resp;
	int r = -1;

	if (call(c, what, "POST", type, link, path, NULL, extra, body, &resp, e) == 0) {
		if (resp.status == 201 || resp.status == 409)
			r = 0;
		else
			unexpected(c, what, &resp, e);
	}
	cw_http_resp_free(&resp);
	return r;
}

/* What opening needs before any request: 0, or -1 with e. The key is
 * checked for base64 here, so that call() never meets a bad one. */
static int
check_open(const char *endpoint, const char *key, const char *database,
    const char *container, cw_err *e)
{
	const char *bad;
	char *tok, *shown;
	cw_err ue;

	if (endpoint == NULL || *endpoint == '\0')
		return cw_seterr(e, SERVICE ": no endpoint (AzureCosmosOptions.EndPointUri)");
	/* The key signs every request: a user or password in the URL is never
	 * used, and refusing it keeps it out of every message below. */
	shown = cw_url_redact(endpoint);
	if (strcmp(shown, endpoint) != 0 || cw_http_url_allowed(endpoint, &ue) != 0) {
		cw_seterr(e, SERVICE " %.200s: %s", shown, strcmp(shown, endpoint) != 0 ?
		    "remove the user name and password: the key authenticates" : ue.msg);
		free(shown);
		return -1;
	}
	free(shown);
	/* The key never goes into a message, not even a bad one. */
	if (key == NULL || *key == '\0' ||
	    (tok = cw_cosmos_auth(key, "GET", "dbs", "", "x")) == NULL)
		return cw_seterr(e, SERVICE " %.200s: the key (AzureCosmosOptions.PrimaryKey) "
		    "is %s", endpoint, key == NULL || *key == '\0' ? "empty" : "not base64");
	cw_secret_free(tok);
	if (database == NULL || (bad = badname(database)) != NULL)
		return cw_seterr(e, SERVICE " %.200s: the database name (AzureCosmosOptions."
		    "DatabaseId) %s", endpoint, database == NULL ? "is missing" : bad);
	if (container == NULL || (bad = badname(container)) != NULL)
		return cw_seterr(e, SERVICE " %.200s: the container name (AzureCosmosOptions."
		    "ContainerId) %s", endpoint, container == NULL ? "is missing" : bad);
	return 0;
}

/* The store's links and paths, from names check_open accepted. */
static struct cosmos *
cosmos_new(struct cw_http *h, const char *endpoint, const char *key,
    const char *database, const char *container)
{
	struct cosmos *c = cw_calloc(1, sizeof(*c));
	char *qd = cw_urlencode(database), *qc = cw_urlencode(container);

	c->ops = cosmos_ops;
	c->h = h;
	c->key = cw_strdup(key);
	c->base = cw_url_trim_slash(endpoint);
	c->coll = cw_asprintf("dbs/%s/colls/%s", database, container);
	c->collpath = cw_asprintf("/dbs/%s/colls/%s", qd, qc);
	c->ops.where = c->url = cw_asprintf("%s%s", c->base, c->collpath);
	free(qd);
	free(qc);
	return c;
}

/* As the sample does: creates the database, then the container, partitioned
 * on /oun, if missing; 409 says one exists. 0, or -1 with e. */
static int
make_container(struct cosmos *c, const char *database, const char *container, cw_err *e)
{
	char *body, *what, *dblink, *dbpath, *colls;
	json_t *j;
	int r;

	j = json_pack("{s:s}", "id", database);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	what = cw_asprintf("create dbs/%s", database);
	r = ensure(c, what, "dbs", "", "/dbs", body, e);
	free(body);
	free(what);
	if (r != 0)
		return r;
	dblink = cw_asprintf("dbs/%s", database);
	body = cw_urlencode(database);
	dbpath = cw_asprintf("/dbs/%s", body);
	colls = cw_asprintf("%s/colls", dbpath);
	free(body);
	j = json_pack("{s:s, s:{s:[s], s:s}}", "id", container, "partitionKey",
	    "paths", "/oun", "kind", "Hash");
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	what = cw_asprintf("create %s", c->coll);
	r = ensure(c, what, "colls", dblink, colls, body, e);
	free(what);
	free(body);
	free(colls);
	free(dbpath);
	free(dblink);
	return r;
}

struct cw_docstore *
cw_cosmos_open(struct cw_http *h, const char *endpoint, const char *key,
    const char *database, const char *container, cw_err *e)
{
	struct cosmos *c;

	if (check_open(endpoint, key, database, container, e) != 0)
		return NULL;
	c = cosmos_new(h, endpoint, key, database, container);
	if (make_container(c, database, container, e) != 0) {
		cosmos_close(&c->ops);
		return NULL;
	}
	return &c->ops;
}

int
cw_cosmos_check(struct cw_http *h, const char *endpoint, const char *key,
    const char *database, const char *container, cw_err *e)
{
	struct cw_http_resp resp = {0};
	struct cosmos *c;
	char *what;
	int r = -1;

	if (check_open(endpoint, key, database, container, e) != 0)
		return -1;
	c = cosmos_new(h, endpoint, key, database, container);
	what = cw_asprintf("read %s", c->coll);
	if (call(c, what, "GET", "colls", c->coll, c->collpath, NULL, NULL, NULL, &resp,
	    e) == 0) {
		/* A 404 comes only after the signature passed. */
		if (resp.status == 200 || resp.status == 404)
			r = resp.status == 200;
		else
			unexpected(c, what, &resp, e);
	}
	cw_http_resp_free(&resp);
	free(what);
	cosmos_close(&c->ops);
	return r;
}

char *
cw_cosmos_where(const char *endpoint, const char *database, const char *container)
{
	/* The endpoint as configured, so that a script finds what it wrote. */
	return cw_asprintf("%s/dbs/%s/colls/%s", endpoint, database, container);
}
