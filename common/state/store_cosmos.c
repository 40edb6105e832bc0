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

struct cosmos {
	struct cw_docstore ops;
	struct cw_http *h;
	char *base;      /* endpoint without trailing slashes */
	char *key;       /* base64 master key; wiped on close */
	char *coll;      /* dbs/D/colls/C: the link we sign */
	char *collpath;  /* /dbs/D/colls/C with each name URL-encoded */
	char *url;       /* base + collpath: ops.where */
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
static char *
doc_body(struct cosmos *c, const char *what, const char *pk, const char *id,
    const json_t *doc, cw_err *e)
{
	const char *have;
	json_t *d;
	char *s;

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
	s = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(d);
	if (s == NULL)
		cw_seterr(e, SERVICE " %s/: %s: the document cannot be written as JSON",
		    c->base, what);
	return s;
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
	return post_doc((struct cosmos *)s, "create", 0, pk, id, doc, e);
}

static int
cosmos_upsert(struct cw_docstore *s, const char *pk, const char *id, const json_t *doc,
    cw_err *e)
{
	return post_doc((struct cosmos *)s, "upsert", 1, pk, id, doc, e);
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
	const char *hdr;
	struct where w;
	json_t *j;
	char *tag;
	int r = -1;

	*doc = NULL;
	*etag = NULL;
	if (doc_where(c, "read", pk, id, &w, e) != 0)
		return -1;
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
 * document. *next is the continuation token of the next page (owned), or
 * NULL after the last. 0, or -1 with e (or by fn).
 */
static int
query_page(struct cosmos *c, const char *what, const char *body, const char *cont,
    int (*fn)(const json_t *doc, const char *etag, void *ctx), void *ctx,
    char **next, cw_err *e)
{
	const char *extra[6], *tok;
	struct cw_http_resp resp;
	char *docs = cw_asprintf("%s/docs", c->collpath), *conth = NULL;
	size_t n = 0;
	int r;

	*next = NULL;
	extra[n++] = "Content-Type: application/query+json";
	extra[n++] = "x-ms-documentdb-isquery: True";
	extra[n++] = "x-ms-documentdb-query-enablecrosspartition: True";
	extra[n++] = "x-ms-max-item-count: " PAGE_SIZE;
	if (cont != NULL)
		extra[n++] = conth = cw_asprintf("x-ms-continuation: %s", cont);
	extra[n] = NULL;
	if ((r = call(c, what, "POST", "docs", c->coll, docs, NULL, extra, body, &resp,
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
		r = query_page(c, what, body, cont, fn, ctx, &next, e);
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

	cw_secret_free(c->key);
	free(c->base);
	free(c->coll);
	free(c->collpath);
	free(c->url);
	free(c);
}

/* Every write is durable when its request returns: a group needs nothing
 * more (batching writes is for another round). */
static int
cosmos_group(struct cw_docstore *s, cw_err *e)
{
	(void)s;
	(void)e;
	return 0;
}

static const struct cw_docstore cosmos_ops = {
	.create = cosmos_create,
	.read = cosmos_read,
	.replace = cosmos_replace,
	.upsert = cosmos_upsert,
	.remove = cosmos_remove,
	.query = cosmos_query,
	.begin = cosmos_group,
	.commit = cosmos_group,
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

char *
cw_cosmos_where(const char *endpoint, const char *database, const char *container)
{
	/* The endpoint as configured, so that a script finds what it wrote. */
	return cw_asprintf("%s/dbs/%s/colls/%s", endpoint, database, container);
}
