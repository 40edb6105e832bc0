/* docstore_contract.c: one docstore.h contract, checked on SQLite or Cosmos DB, as TAP. */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "cw/net/http.h"
#include "cw/state/docstore.h"
#include "cw/state/store_cosmos.h"
#include "cw/state/store_sqlite.h"
#include "cw/state/stores.h"

#define NCHILD 8
#define NRACE 50     /* ids every child tries to create */
#define NINCR 25     /* increments per child */
#define NPAGE 250    /* documents for the paging check */
#define CHILD_ERR 255

/* Where the store is; the Cosmos DB key comes from the environment only. */
static struct {
	int cosmos;
	const char *path;
	const char *endpoint, *db, *coll, *key;
} tg;

static int ntests, nfailed;

static void
diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
}

static int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	ntests++;
	if (!cond)
		nfailed++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputs("\n", stdout);
	return cond;
}

/* A store of our own: each forked child needs its own connection. */
static struct cw_docstore *
store_open(struct cw_http **hp, cw_err *e)
{
	struct cw_http_opts o;
	struct cw_docstore *s;

	*hp = NULL;
	if (!tg.cosmos)
		return cw_sqlite_open(tg.path, e);
	cw_http_opts_default(&o);
	o.backoff_ms = 20;
	o.backoff_max_ms = 200;
	o.connect_timeout_ms = 2000;
	o.timeout_ms = 20000;
	*hp = cw_http_new(&o);
	if ((s = cw_cosmos_open(*hp, tg.endpoint, tg.key, tg.db, tg.coll, e)) == NULL) {
		cw_http_free(*hp);
		*hp = NULL;
	}
	return s;
}

static void
store_close(struct cw_docstore *s, struct cw_http *h)
{
	cw_docstore_close(s);
	cw_http_free(h);
}

/* {"id": id, "oun": pk} plus the fields of extra (may be NULL), as the
 * sample's documents carry both. */
static json_t *
mkdoc(const char *pk, const char *id, json_t *extra)
{
	json_t *d = json_pack("{s:s, s:s}", "id", id, "oun", pk);

	if (extra != NULL) {
		json_object_update(d, extra);
		json_decref(extra);
	}
	return d;
}

/* 1 if the stored document at (pk, id) equals want; reports why not. */
static int
reads_as(struct cw_docstore *s, const char *pk, const char *id, const json_t *want)
{
	json_t *got = NULL;
	char *etag = NULL, *dump;
	cw_err e;
	int r, eq;

	if ((r = s->read(s, pk, id, &got, &etag, &e)) != 1) {
		diag("read %s/%s: %d %s", pk, id, r, r < 0 ? e.msg : "(absent)");
		return 0;
	}
	if (!(eq = json_equal(got, want) && etag != NULL && *etag != '\0')) {
		dump = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		diag("read %s/%s gave %s, etag \"%s\"", pk, id, dump ? dump : "?",
		    etag ? etag : "(null)");
		free(dump);
	}
	json_decref(got);
	free(etag);
	return eq;
}

static int
absent(struct cw_docstore *s, const char *pk, const char *id)
{
	json_t *got = NULL;
	char *etag = NULL;
	cw_err e;
	int r = s->read(s, pk, id, &got, &etag, &e);

	if (r != 0)
		diag("read %s/%s: %d %s", pk, id, r, r < 0 ? e.msg : "(present)");
	json_decref(got);
	free(etag);
	return r == 0 && got == NULL && etag == NULL;
}

/* A call's result, with the store's message when it failed. */
static int
said(int r, const char *what, const cw_err *e)
{
	if (r < 0)
		diag("%s: %s", what, e->msg);
	return r;
}

/* Collects what a query passes: "pk\tid" -> times seen. */
struct seen {
	json_t *ids;
	int calls;
	int bad;      /* documents without an etag or an id */
	int stop_at;  /* return -1 on this call (1-based); 0 never */
};

static int
collect(const json_t *doc, const char *etag, void *ctx)
{
	struct seen *sn = ctx;
	const char *pk = json_string_value(json_object_get(doc, "oun"));
	const char *id = json_string_value(json_object_get(doc, "id"));
	char *k;

	sn->calls++;
	if (pk == NULL || id == NULL || etag == NULL || *etag == '\0' ||
	    json_object_get(doc, "_etag") != NULL || json_object_get(doc, "_rid") != NULL) {
		sn->bad++;
	} else {
		k = malloc(strlen(pk) + strlen(id) + 2);
		if (k == NULL)
			err(1, NULL);
		sprintf(k, "%s\t%s", pk, id);
		json_object_set_new(sn->ids, k, json_integer(
		    json_integer_value(json_object_get(sn->ids, k)) + 1));
		free(k);
	}
	return sn->stop_at != 0 && sn->calls >= sn->stop_at ? -1 : 0;
}

static int
query(struct cw_docstore *s, const char *field, const char *value, struct seen *sn)
{
	cw_err e;
	int r;

	sn->ids = json_object();
	sn->calls = sn->bad = 0;
	if ((r = s->query(s, field, value, collect, sn, &e)) < 0 && sn->stop_at == 0)
		diag("query %s=%s: %s", field ? field : "(all)", value ? value : "", e.msg);
	return r;
}

/* Every key of sn seen exactly once, and the keys are exactly want[]. */
static int
exactly(const struct seen *sn, const char *const *want, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;
	int good = sn->bad == 0 && json_object_size(sn->ids) == n && sn->calls == (int)n;

	for (i = 0; good && i < n; i++)
		good = json_integer_value(json_object_get(sn->ids, want[i])) == 1;
	if (!good) {
		diag("%d call(s), %d bad document(s); seen:", sn->calls, sn->bad);
		json_object_foreach(sn->ids, k, v)
			diag("  %s x%d", k, (int)json_integer_value(v));
	}
	return good;
}

static void
t_basic(struct cw_docstore *s)
{
	json_t *d1, *d2, *d3, *copy, *got = NULL;
	char *etag1 = NULL, *etag2 = NULL, *etag3 = NULL;
	cw_err e;
	int r;

	ok(s->where != NULL && *s->where != '\0', "where names the store: %s",
	    s->where ? s->where : "(null)");

	d1 = mkdoc("A", "doc1", json_pack("{s:i, s:s, s:{s:[i,b,n]}}", "n", 1, "s", "one",
	    "nested", "list", 7, 1));
	copy = json_deep_copy(d1);
	ok(said(s->create(s, "A", "doc1", d1, &e), "create", &e) == 1, "create gives 1");
	ok(json_equal(d1, copy), "create leaves the caller's document as it was");
	ok(said(s->create(s, "A", "doc1", d1, &e), "create", &e) == 0,
	    "a duplicate create gives 0");
	ok(reads_as(s, "A", "doc1", d1), "read gives back what was written, with an etag");
	ok(absent(s, "A", "nope"), "read of an absent id gives 0");
	ok(absent(s, "B", "doc1"), "read of the id in another partition gives 0");

	r = s->read(s, "A", "doc1", &got, &etag1, &e);
	json_decref(got);
	d2 = mkdoc("A", "doc1", json_pack("{s:i, s:s}", "n", 2, "s", "two"));
	ok(r == 1 && said(s->replace(s, "A", "doc1", d2, etag1, &e), "replace", &e) == 1,
	    "replace with the current etag gives 1");
	got = NULL;
	r = s->read(s, "A", "doc1", &got, &etag2, &e);
	ok(r == 1 && json_equal(got, d2) && etag2 != NULL && strcmp(etag1, etag2) != 0,
	    "the replaced document reads back with a new etag (%s -> %s)", etag1,
	    etag2 ? etag2 : "(null)");
	json_decref(got);
	d3 = mkdoc("A", "doc1", json_pack("{s:i}", "n", 3));
	ok(said(s->replace(s, "A", "doc1", d3, etag1, &e), "replace", &e) == 0,
	    "replace with the old etag gives 0");
	ok(reads_as(s, "A", "doc1", d2), "and leaves the document as it was");

	/* upsert: absent, then present */
	json_decref(d1);
	d1 = mkdoc("A", "up1", json_pack("{s:s}", "v", "first"));
	ok(said(s->upsert(s, "A", "up1", d1, &e), "upsert", &e) == 1 &&
	    reads_as(s, "A", "up1", d1), "upsert of an absent id writes it");
	r = s->read(s, "A", "up1", &got, &etag3, &e);
	json_decref(got);
	got = NULL;
	json_decref(d1);
	d1 = mkdoc("A", "up1", json_pack("{s:s, s:b}", "v", "second", "more", 1));
	ok(said(s->upsert(s, "A", "up1", d1, &e), "upsert", &e) == 1 &&
	    reads_as(s, "A", "up1", d1), "upsert of a present id replaces it");
	ok(r == 1 && said(s->replace(s, "A", "up1", d1, etag3, &e), "replace", &e) == 0,
	    "upsert changes the etag too: the etag from before it is stale");

	ok(said(s->remove(s, "A", "doc1", &e), "remove", &e) == 1, "remove gives 1");
	ok(said(s->remove(s, "A", "doc1", &e), "remove", &e) == 0,
	    "remove of the removed gives 0");
	ok(absent(s, "A", "doc1"), "a removed document reads as absent");
	ok(said(s->replace(s, "A", "doc1", d3, etag2, &e), "replace", &e) == 0,
	    "replace of a removed document gives 0");
	ok(absent(s, "A", "doc1"), "and does not bring it back");
	ok(said(s->remove(s, "A", "up1", &e), "remove", &e) == 1, "remove the upserted");

	json_decref(d1);
	json_decref(d2);
	json_decref(d3);
	json_decref(copy);
	free(etag1);
	free(etag2);
	free(etag3);
}

/* Ids as the ledger makes them (OUN:channel, 40-hex) and worse. */
static const char *const awkward[] = {
	"128:5637144576",
	"user@example.com",
	"with inner spaces",
	"ünïcødé-ид-漢字",
	"da39a3ee5e6b4b0d3255bfef95601890afd80709",
	"plus+equals=amp&semi;comma,",
	"quote\"apos'paren()bracket[]brace{}",
	"tilde~dot.dash-under_star*bang!dollar$",
};

static void
t_ids(struct cw_docstore *s)
{
	for (size_t i = 0; i < sizeof(awkward) / sizeof(awkward[0]); i++) {
		const char *id = awkward[i];
		json_t *d = mkdoc("ids", id, json_pack("{s:i}", "i", (int)i)), *got = NULL;
		char *etag = NULL;
		cw_err e;
		int good;

		good = said(s->create(s, "ids", id, d, &e), "create", &e) == 1 &&
		    reads_as(s, "ids", id, d) &&
		    said(s->read(s, "ids", id, &got, &etag, &e), "read", &e) == 1 &&
		    said(s->replace(s, "ids", id, d, etag, &e), "replace", &e) == 1 &&
		    said(s->remove(s, "ids", id, &e), "remove", &e) == 1 &&
		    absent(s, "ids", id);
		ok(good, "id \"%s\": create, read, replace, remove", id);
		json_decref(got);
		json_decref(d);
		free(etag);
	}
}

static void
t_partitions(struct cw_docstore *s)
{
	/* The second key needs escaping wherever a backend writes it down. */
	static const char p2[] = "Zürich \"HQ\"";
	json_t *a = mkdoc("P1", "shared", json_pack("{s:s}", "which", "one"));
	json_t *b = mkdoc(p2, "shared", json_pack("{s:s}", "which", "two"));
	cw_err e;

	ok(said(s->create(s, "P1", "shared", a, &e), "create", &e) == 1 &&
	    said(s->create(s, p2, "shared", b, &e), "create", &e) == 1,
	    "the same id in two partitions: both creates give 1");
	ok(reads_as(s, "P1", "shared", a) && reads_as(s, p2, "shared", b),
	    "each partition reads its own document");
	ok(said(s->remove(s, "P1", "shared", &e), "remove", &e) == 1 &&
	    absent(s, "P1", "shared") && reads_as(s, p2, "shared", b),
	    "removing one leaves the other");
	ok(said(s->remove(s, p2, "shared", &e), "remove", &e) == 1, "remove the other");
	json_decref(a);
	json_decref(b);
}

static const char quoted[] = "say \"hi\" — it's ünïcødé ✓ back\\slash";

static void
t_query(struct cw_docstore *s)
{
	/* pk, id, field, value (NULL: no such field) */
	static const char *const docs[][4] = {
		{"Q1", "q1a", "kind", "match"},
		{"Q1", "q1b", "kind", "other"},
		{"Q2", "q2a", "kind", "match"},
		{"Q2", "q2b", "kind", "match"},
		{"Q2", "q2c", "kind", "Match"},
		{"Q2", "q2d", "kind", "match "},
		{"Q3", "q3a", "note", quoted},
		{"Q3", "q3b", "note", "say \"hi\""},
		{"Q3", "q3c", "other", NULL},
	};
	static const char *const match[] = {"Q1\tq1a", "Q2\tq2a", "Q2\tq2b"};
	static const char *const note[] = {"Q3\tq3a"};
	static const char *const all[] = {"Q1\tq1a", "Q1\tq1b", "Q2\tq2a", "Q2\tq2b",
	    "Q2\tq2c", "Q2\tq2d", "Q3\tq3a", "Q3\tq3b", "Q3\tq3c"};
	const size_t n = sizeof(docs) / sizeof(docs[0]);
	struct seen sn = {0};
	cw_err e;
	int made = 0, r;

	for (size_t i = 0; i < n; i++) {
		json_t *d = mkdoc(docs[i][0], docs[i][1], docs[i][3] ?
		    json_pack("{s:s}", docs[i][2], docs[i][3]) : NULL);

		made += said(s->create(s, docs[i][0], docs[i][1], d, &e), "create", &e) == 1;
		json_decref(d);
	}
	ok(made == (int)n, "%zu documents for the queries in three partitions", n);

	r = query(s, "kind", "match", &sn);
	ok(r == 0 && exactly(&sn, match, 3),
	    "query by field across partitions: exactly the 3 matches, once each");
	json_decref(sn.ids);
	r = query(s, "kind", "nothing", &sn);
	ok(r == 0 && sn.calls == 0, "query of a value nobody has: no calls");
	json_decref(sn.ids);
	r = query(s, "note", quoted, &sn);
	ok(r == 0 && exactly(&sn, note, 1), "query of a value with quotes and unicode");
	json_decref(sn.ids);
	r = query(s, "note", "x' OR 1=1 OR c.note = 'x", &sn);
	ok(r == 0 && sn.calls == 0, "a value that looks like SQL is only a value");
	json_decref(sn.ids);
	r = query(s, NULL, NULL, &sn);
	ok(r == 0 && exactly(&sn, all, n), "query all: every document once");
	json_decref(sn.ids);
	sn.stop_at = 1;
	r = query(s, NULL, NULL, &sn);
	ok(r == -1 && sn.calls == 1, "a callback's -1 stops the query, which gives -1");
	json_decref(sn.ids);

	made = 0;
	for (size_t i = 0; i < n; i++)
		made += said(s->remove(s, docs[i][0], docs[i][1], &e), "remove", &e) == 1;
	ok(made == (int)n, "remove the query documents");
}

struct rm {
	struct cw_docstore *s;
	int calls, removed;
};

static int
remove_each(const json_t *doc, const char *etag, void *ctx)
{
	struct rm *rm = ctx;
	const char *pk = json_string_value(json_object_get(doc, "oun"));
	const char *id = json_string_value(json_object_get(doc, "id"));
	cw_err e;

	(void)etag;
	rm->calls++;
	if (pk == NULL || id == NULL)
		return -1;
	rm->removed += said(rm->s->remove(rm->s, pk, id, &e), "remove", &e) == 1;
	return 0;
}

static void
t_paging(struct cw_docstore *s)
{
	struct seen sn = {0};
	struct rm rm;
	char pk[16], id[32], key[64];
	const char *k;
	json_t *v;
	cw_err e;
	int made = 0, once = 0, r;

	for (int i = 0; i < NPAGE; i++) {
		json_t *d;

		snprintf(pk, sizeof(pk), "pg%d", i % 5);
		snprintf(id, sizeof(id), "page-%03d", i);
		d = mkdoc(pk, id, json_pack("{s:s, s:i}", "batch", "paging", "i", i));
		made += said(s->create(s, pk, id, d, &e), "create", &e) == 1;
		json_decref(d);
	}
	ok(made == NPAGE, "%d documents in 5 partitions", NPAGE);
	r = query(s, NULL, NULL, &sn);
	for (int i = 0; i < NPAGE; i++) {
		snprintf(key, sizeof(key), "pg%d\tpage-%03d", i % 5, i);
		once += json_integer_value(json_object_get(sn.ids, key)) == 1;
	}
	ok(r == 0 && once == NPAGE && sn.calls == NPAGE && sn.bad == 0,
	    "query all returns each of the %d exactly once (%d calls, %d once)", NPAGE,
	    sn.calls, once);
	json_object_foreach(sn.ids, k, v)
		if (json_integer_value(v) != 1)
			diag("%s seen %d times", k, (int)json_integer_value(v));
	json_decref(sn.ids);
	r = query(s, "batch", "paging", &sn);
	ok(r == 0 && sn.calls == NPAGE && (int)json_object_size(sn.ids) == NPAGE,
	    "a query by field pages through all %d too", NPAGE);
	json_decref(sn.ids);
	/* A callback may write to the store, here under the query's feet. */
	rm.s = s;
	rm.removed = rm.calls = 0;
	r = s->query(s, "batch", "paging", remove_each, &rm, &e);
	ok(r == 0 && rm.calls == NPAGE && rm.removed == NPAGE,
	    "a callback may write: removing each document as the query passes it "
	    "(%d calls, %d removed)", rm.calls, rm.removed);
	if (r != 0)
		diag("query: %s", e.msg);
	made = 0;
	for (int i = 0; i < NPAGE; i++) {
		snprintf(pk, sizeof(pk), "pg%d", i % 5);
		snprintf(id, sizeof(id), "page-%03d", i);
		made += absent(s, pk, id);
	}
	ok(made == NPAGE, "and all %d are gone", NPAGE);
}

/* In a child: try to create every race id, in an order of our own. Exit
 * status: how many creates gave 1. */
static int
race_create(int child)
{
	struct cw_docstore *s;
	struct cw_http *h;
	int order[NRACE], won = 0, t, r;
	char id[32];
	cw_err e;

	srand((unsigned)getpid() ^ (unsigned)time(NULL) ^ (unsigned)child * 7919u);
	for (int i = 0; i < NRACE; i++)
		order[i] = i;
	for (int i = NRACE - 1; i > 0; i--) {
		int j = rand() % (i + 1);

		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	if ((s = store_open(&h, &e)) == NULL) {
		warnx("child %d: %s", child, e.msg);
		return CHILD_ERR;
	}
	for (int i = 0; i < NRACE; i++) {
		json_t *d;

		snprintf(id, sizeof(id), "race-%02d", order[i]);
		d = mkdoc("race", id, json_pack("{s:i}", "winner", child));
		r = s->create(s, "race", id, d, &e);
		json_decref(d);
		if (r < 0) {
			warnx("child %d: %s", child, e.msg);
			won = CHILD_ERR;
			break;
		}
		won += r;
	}
	store_close(s, h);
	return won;
}

/* In a child: read-modify-replace the counter NINCR times, retrying lost races. */
static int
race_count(int child)
{
	struct cw_docstore *s;
	struct cw_http *h;
	int rc = 0, r = 0, tries = 0;
	cw_err e;

	if ((s = store_open(&h, &e)) == NULL) {
		warnx("child %d: %s", child, e.msg);
		return CHILD_ERR;
	}
	for (int done = 0; done < NINCR && rc == 0;) {
		json_t *d = NULL, *n;
		char *etag = NULL;

		if (++tries > 100000) {
			warnx("child %d: no progress", child);
			rc = CHILD_ERR;
		} else if ((r = s->read(s, "race", "counter", &d, &etag, &e)) != 1) {
			warnx("child %d: read: %s", child, r < 0 ? e.msg : "gone");
			rc = CHILD_ERR;
		} else {
			n = json_object_get(d, "n");
			json_object_set_new(d, "n", json_integer(json_integer_value(n) + 1));
			if ((r = s->replace(s, "race", "counter", d, etag, &e)) < 0) {
				warnx("child %d: replace: %s", child, e.msg);
				rc = CHILD_ERR;
			}
			done += r == 1;
		}
		json_decref(d);
		free(etag);
	}
	store_close(s, h);
	return rc;
}

/* Runs fn in NCHILD children at once; their exit statuses in st[]. */
static void
fork_all(int (*fn)(int), int st[NCHILD])
{
	pid_t pid[NCHILD];
	int ws;

	fflush(stdout);
	fflush(stderr);
	for (int i = 0; i < NCHILD; i++) {
		if ((pid[i] = fork()) == -1)
			err(1, "fork");
		if (pid[i] == 0)
			exit(fn(i));
	}
	for (int i = 0; i < NCHILD; i++) {
		st[i] = CHILD_ERR;
		if (waitpid(pid[i], &ws, 0) == pid[i] && WIFEXITED(ws))
			st[i] = WEXITSTATUS(ws);
	}
}

/* The parent's store is closed around the forks: no connection or SQLite
 * handle may cross one. */
static void
t_races(struct cw_docstore **sp, struct cw_http **hp)
{
	struct cw_docstore *s;
	int st[NCHILD], total = 0, errs = 0;
	json_t *d, *got = NULL;
	char *etag = NULL, id[32];
	cw_err e;

	store_close(*sp, *hp);
	*sp = NULL;
	fork_all(race_create, st);
	for (int i = 0; i < NCHILD; i++) {
		if (st[i] == CHILD_ERR)
			errs++;
		else
			total += st[i];
	}
	if ((s = *sp = store_open(hp, &e)) == NULL) {
		printf("Bail out! cannot reopen the store: %s\n", e.msg);
		exit(1);
	}
	ok(errs == 0 && total == NRACE,
	    "%d children creating the same %d ids: exactly %d creates win (%d, %d errors)",
	    NCHILD, NRACE, NRACE, total, errs);

	d = mkdoc("race", "counter", json_pack("{s:i}", "n", 0));
	ok(said(s->create(s, "race", "counter", d, &e), "create", &e) == 1,
	    "a counter document");
	json_decref(d);
	store_close(*sp, *hp);
	*sp = NULL;
	fork_all(race_count, st);
	errs = 0;
	for (int i = 0; i < NCHILD; i++)
		errs += st[i] != 0;
	if ((s = *sp = store_open(hp, &e)) == NULL) {
		printf("Bail out! cannot reopen the store: %s\n", e.msg);
		exit(1);
	}
	s->read(s, "race", "counter", &got, &etag, &e);
	ok(errs == 0 && json_integer_value(json_object_get(got, "n")) == NCHILD * NINCR,
	    "%d children incrementing by read and replace-if-etag: the counter is %d (%d, "
	    "%d errors)", NCHILD, NCHILD * NINCR,
	    (int)json_integer_value(json_object_get(got, "n")), errs);
	json_decref(got);
	free(etag);

	errs = 0;
	for (int i = 0; i < NRACE; i++) {
		snprintf(id, sizeof(id), "race-%02d", i);
		errs += s->remove(s, "race", id, &e) != 1;
	}
	errs += s->remove(s, "race", "counter", &e) != 1;
	ok(errs == 0, "remove the race documents");
}

/* A create the commit reports lost (docstore.h) did not win after all. */
static void
count_lost(const char *pk, const char *id, void *ctx)
{
	(void)pk;
	(void)id;
	(*(int *)ctx)++;
}

/* In a child: race_create's creates, in groups of 7 (begin, creates, commit). */
static int
race_group(int child)
{
	struct cw_docstore *s;
	struct cw_http *h;
	int won = 0, lost = 0, r = 0;
	char id[32];
	cw_err e;

	if ((s = store_open(&h, &e)) == NULL) {
		warnx("child %d: %s", child, e.msg);
		return CHILD_ERR;
	}
	for (int i = 0; i < NRACE && r >= 0; i++) {
		json_t *d;
		int k = (i + child * 11) % NRACE;

		if (i % 7 == 0 && (r = s->begin(s, &e)) != 0)
			break;
		snprintf(id, sizeof(id), "group-%02d", k);
		d = mkdoc("race", id, json_pack("{s:i}", "winner", child));
		if ((r = s->create(s, "race", id, d, &e)) > 0)
			won++;
		json_decref(d);
		if (r >= 0 && (i % 7 == 6 || i == NRACE - 1))
			r = s->commit(s, count_lost, &lost, &e);
	}
	if (r < 0)
		warnx("child %d: %s", child, e.msg);
	store_close(s, h);
	return r < 0 ? CHILD_ERR : won - lost;
}

/* SQLite, in a child: a group's writes, then death before its commit. */
static int
crash_in_group(int child)
{
	struct cw_docstore *s;
	struct cw_http *h;
	json_t *d = mkdoc("G", "crashed", NULL);
	cw_err e;

	(void)child;
	if ((s = store_open(&h, &e)) == NULL || s->begin(s, &e) != 0 ||
	    s->create(s, "G", "crashed", d, &e) != 1)
		_exit(CHILD_ERR);
	_exit(0);
}

/* SQLite: how many rows with id a connection of its own sees (-1 error);
 * a store's open would wait for the group's write lock. */
static int
outside(const char *id)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int n = -1;

	if (sqlite3_open_v2(tg.path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM docs WHERE id = ?", -1, &st,
	    NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

/* Groups (begin, commit): their writes seen inside them, kept after the
 * commit, and racing groups still make one winner per id. */
static void
t_group(struct cw_docstore **sp, struct cw_http **hp)
{
	struct cw_docstore *s = *sp;
	json_t *d1 = mkdoc("G", "g1", json_pack("{s:i}", "n", 1));
	json_t *d2 = mkdoc("G", "g2", json_pack("{s:i}", "n", 2));
	json_t *d0 = mkdoc("G", "g2", json_pack("{s:i}", "n", 0));
	int st[NCHILD], total = 0, errs = 0, r;
	char id[32];
	cw_err e;

	ok(said(s->begin(s, &e), "begin", &e) == 0, "begin a group");
	ok(said(s->create(s, "G", "g1", d1, &e), "create", &e) == 1 &&
	    said(s->upsert(s, "G", "g2", d0, &e), "upsert", &e) == 1 &&
	    said(s->upsert(s, "G", "g2", d2, &e), "upsert", &e) == 1,
	    "writes in the group");
	ok(reads_as(s, "G", "g1", d1) && reads_as(s, "G", "g2", d2),
	    "reads in the group see its writes");
	if (!tg.cosmos)
		ok(outside("g1") == 0,
		    "sqlite: another connection does not see them before the commit");
	ok(said(s->commit(s, NULL, NULL, &e), "commit", &e) == 0, "commit the group");
	store_close(s, *hp);
	if ((s = *sp = store_open(hp, &e)) == NULL) {
		printf("Bail out! cannot reopen the store: %s\n", e.msg);
		exit(1);
	}
	ok(reads_as(s, "G", "g1", d1) && reads_as(s, "G", "g2", d2),
	    "after the commit they are in the store (reopened)");
	ok(s->remove(s, "G", "g1", &e) == 1 && s->remove(s, "G", "g2", &e) == 1,
	    "remove them");
	if (!tg.cosmos) {
		store_close(s, *hp);
		fork_all(crash_in_group, st);
		if ((s = *sp = store_open(hp, &e)) == NULL) {
			printf("Bail out! cannot reopen the store: %s\n", e.msg);
			exit(1);
		}
		ok(st[0] == 0 && absent(s, "G", "crashed"),
		    "sqlite: a process that dies inside a group leaves none of its writes");
		ok(s->begin(s, &e) == 0 && s->begin(s, &e) == -1 && s->commit(s, NULL, NULL, &e) == 0,
		    "sqlite: groups do not nest");
		ok(s->commit(s, NULL, NULL, &e) == -1, "sqlite: a commit with no group open fails");
	}
	json_decref(d0);
	json_decref(d1);
	json_decref(d2);

	store_close(s, *hp);
	*sp = NULL;
	fork_all(race_group, st);
	for (int i = 0; i < NCHILD; i++) {
		if (st[i] == CHILD_ERR)
			errs++;
		else
			total += st[i];
	}
	if ((s = *sp = store_open(hp, &e)) == NULL) {
		printf("Bail out! cannot reopen the store: %s\n", e.msg);
		exit(1);
	}
	ok(errs == 0 && total == NRACE, "%d children creating the same %d ids in groups: "
	    "exactly %d creates win (%d, %d errors)", NCHILD, NRACE, NRACE, total, errs);
	for (int i = 0; i < NRACE; i++) {
		snprintf(id, sizeof(id), "group-%02d", i);
		if ((r = s->remove(s, "race", id, &e)) != 1)
			errs++;
	}
	ok(errs == 0, "remove the group race documents");
}

/* A loopback port nobody listens on: bound, read, closed. */
static int
closed_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t n = sizeof(a);
	int fd, port;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) == -1)
		err(1, "socket");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* What only one backend can get wrong: its own ways of failing. */
static void
t_negative(struct cw_docstore *s)
{
	struct cw_docstore *bad;
	struct cw_http_opts o;
	struct cw_http *h;
	json_t *d;
	char url[64];
	cw_err e;

	if (!tg.cosmos) {
		e.msg[0] = '\0';
		bad = cw_sqlite_open("/dev/null/cartwatch.db", &e);
		ok(bad == NULL && e.msg[0] != '\0', "sqlite: a path that cannot be made fails: %s",
		    e.msg);
		cw_docstore_close(bad);
		return;
	}
	cw_http_opts_default(&o);
	o.max_attempts = 2;
	o.backoff_ms = 10;
	o.backoff_max_ms = 20;
	o.connect_timeout_ms = 1000;
	h = cw_http_new(&o);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
	e.msg[0] = '\0';
	bad = cw_cosmos_open(h, url, tg.key, tg.db, tg.coll, &e);
	ok(bad == NULL && strstr(e.msg, "Cosmos DB") != NULL && strstr(e.msg, url) != NULL,
	    "cosmos: a closed port fails to open, naming Cosmos DB: %s", e.msg);
	cw_docstore_close(bad);

	e.msg[0] = '\0';
	bad = cw_cosmos_open(h, tg.endpoint, "not*base64!", tg.db, tg.coll, &e);
	ok(bad == NULL && strstr(e.msg, "not base64") != NULL &&
	    strstr(e.msg, "not*base64!") == NULL,
	    "cosmos: a key that is not base64 is refused, without showing it: %s", e.msg);
	cw_docstore_close(bad);

	e.msg[0] = '\0';
	bad = cw_cosmos_open(h, "http://10.1.2.3:8081/", tg.key, tg.db, tg.coll, &e);
	ok(bad == NULL && strstr(e.msg, "Cosmos DB") != NULL &&
	    strstr(e.msg, "plain http") != NULL,
	    "cosmos: plain http to a host that is not loopback is refused: %s", e.msg);
	cw_docstore_close(bad);
	cw_http_free(h);

	d = mkdoc("A", "a/b", NULL);
	e.msg[0] = '\0';
	ok(s->create(s, "A", "a/b", d, &e) == -1 && strstr(e.msg, "the id holds") != NULL,
	    "cosmos: an id Cosmos DB cannot address is refused: %s", e.msg);
	json_decref(d);
	d = mkdoc("B", "x", NULL);
	e.msg[0] = '\0';
	ok(s->create(s, "A", "x", d, &e) == -1 && strstr(e.msg, "\"oun\"") != NULL,
	    "cosmos: a document whose oun is not its partition key is refused: %s", e.msg);
	json_decref(d);
}

/*
 * SQLite keeps whatever a column is given: a row with a text etag or a body
 * that is not a JSON object (a hand edit, a bug) is reported as corrupt,
 * naming it, and can still be removed. Cosmos DB stores only JSON objects
 * with its own etags: nothing to corrupt there.
 */
static void
t_corrupt(struct cw_docstore *s)
{
	static const char *const rows[][3] = {
		{"bad-etag", "{\"id\":\"bad-etag\",\"oun\":\"p\"}", "'x7'"},
		{"bad-body", "[\"not\", \"an object\"]", "1"},
	};
	struct seen sn = {0};
	sqlite3 *db;
	json_t *doc;
	char *etag, *sql;
	cw_err e;
	int r;

	if (tg.cosmos)
		return;
	if (sqlite3_open(tg.path, &db) != SQLITE_OK) {
		ok(0, "corrupt rows: cannot open %s", tg.path);
		return;
	}
	sqlite3_busy_timeout(db, 5000);
	for (size_t i = 0; i < 2; i++) {
		sql = sqlite3_mprintf("INSERT INTO docs VALUES ('p', %Q, %Q, %s)", rows[i][0],
		    rows[i][1], rows[i][2]);
		sqlite3_exec(db, sql, NULL, NULL, NULL);
		sqlite3_free(sql);
	}
	sqlite3_close(db);
	for (size_t i = 0; i < 2; i++) {
		r = s->read(s, "p", rows[i][0], &doc, &etag, &e);
		ok(r == CW_DOC_CORRUPT && doc == NULL && etag == NULL &&
		    strstr(e.msg, rows[i][0]) != NULL && strstr(e.msg, "corrupt") != NULL,
		    "a row with %s reads as corrupt, naming it (%d: %s)",
		    i == 0 ? "a text etag" : "a body not an object", r, r < 0 ? e.msg : "");
	}
	sn.ids = json_object();
	r = s->query(s, NULL, NULL, collect, &sn, &e);
	ok(r == -1 && strstr(e.msg, "is corrupt") != NULL, "a query meeting one fails, naming it");
	r = s->query(s, "oun", "p", collect, &sn, &e);
	ok(r == -1 && strstr(e.msg, "is corrupt") != NULL, "so does a query by field");
	json_decref(sn.ids);
	for (size_t i = 0; i < 2; i++)
		ok(s->remove(s, "p", rows[i][0], &e) == 1, "the corrupt row %s can be removed",
		    rows[i][0]);
}

static void
usage(void)
{
	fprintf(stderr, "usage: %s sqlite PATH\n"
	    "       %s cosmos ENDPOINT DATABASE CONTAINER   (key in CW_COSMOS_KEY)\n",
	    program_invocation_short_name, program_invocation_short_name);
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct cw_docstore *s;
	struct cw_http *h;
	struct seen sn = {0};
	cw_err e;

	if (argc == 3 && strcmp(argv[1], "sqlite") == 0) {
		tg.path = argv[2];
	} else if (argc == 5 && strcmp(argv[1], "cosmos") == 0) {
		tg.cosmos = 1;
		tg.endpoint = argv[2];
		tg.db = argv[3];
		tg.coll = argv[4];
		if ((tg.key = getenv("CW_COSMOS_KEY")) == NULL || *tg.key == '\0') {
			warnx("CW_COSMOS_KEY is not set");
			usage();
		}
	} else {
		usage();
	}

	if ((s = store_open(&h, &e)) == NULL) {
		printf("Bail out! cannot open the store: %s\n", e.msg);
		return 1;
	}
	/* The counts below are exact only in a store of our own. */
	if (query(s, NULL, NULL, &sn) != 0 || sn.calls != 0) {
		printf("Bail out! the store %s is not empty (%d documents)\n", s->where,
		    sn.calls);
		json_decref(sn.ids);
		store_close(s, h);
		return 1;
	}
	json_decref(sn.ids);

	t_basic(s);
	t_ids(s);
	t_partitions(s);
	t_query(s);
	t_paging(s);
	t_races(&s, &h);
	t_group(&s, &h);
	t_negative(s);
	t_corrupt(s);

	query(s, NULL, NULL, &sn);
	ok(sn.calls == 0, "the store is empty again (%d documents left)", sn.calls);
	json_decref(sn.ids);
	store_close(s, h);

	printf("1..%d\n", ntests);
	if (fflush(stdout) == EOF || ferror(stdout))
		err(1, "stdout");
	return nfailed == 0 ? 0 : 1;
}
