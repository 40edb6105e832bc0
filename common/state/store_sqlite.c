/* store_sqlite.c: the embedded state store: JSON documents in one SQLite file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cw/core/clock.h"
#include "cw/core/dir.h"
#include "cw/core/jdump.h"
#include "cw/core/jscan.h"
#include "cw/state/docstore.h"
#include "cw/state/store_sqlite.h"

/* How long a process waits for another's lock before it gives up. */
#define BUSY_MS 30000

/* The statements every call runs, prepared once per store and kept. */
enum { ST_CREATE, ST_READ, ST_REPLACE, ST_UPSERT, ST_REMOVE, ST_EXISTS, ST_COUNT };

static const char *const sqls[ST_COUNT] = {
	[ST_CREATE] = "INSERT INTO docs (pk, id, body, etag) VALUES (?, ?, ?, 1) "
	    "ON CONFLICT DO NOTHING",
	[ST_READ] = "SELECT body, etag FROM docs WHERE pk = ? AND id = ?",
	[ST_REPLACE] = "UPDATE docs SET body = ?, etag = etag + 1 "
	    "WHERE pk = ? AND id = ? AND etag = ?",
	[ST_UPSERT] = "INSERT INTO docs (pk, id, body, etag) VALUES (?, ?, ?, 1) "
	    "ON CONFLICT (pk, id) DO UPDATE SET body = excluded.body, etag = etag + 1",
	[ST_REMOVE] = "DELETE FROM docs WHERE pk = ? AND id = ?",
	[ST_EXISTS] = "SELECT 1 FROM docs WHERE pk = ? AND id = ?",
};

static const char *const whats[ST_COUNT] = {
	[ST_CREATE] = "create", [ST_READ] = "read", [ST_REPLACE] = "replace",
	[ST_UPSERT] = "upsert", [ST_REMOVE] = "remove", [ST_EXISTS] = "create",
};

struct sq {
	struct cw_docstore ops;
	sqlite3 *db;
	char *path;
	sqlite3_stmt *st[ST_COUNT];
	int group;           /* a group (BEGIN IMMEDIATE) is open */
	int lost;            /* ... and a failed call has rolled it back */
};

/* The etag is a counter bumped by every write: compare-and-swap in one UPDATE. */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS docs ("
    " pk TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " etag INTEGER NOT NULL,"
    " PRIMARY KEY (pk, id));";

/* Some errors (a full disk, I/O) end the open transaction: the group's
 * earlier writes are gone, and its commit must say so. */
static int
fail(struct sq *s, cw_err *e, const char *what)
{
	if (s->group && sqlite3_get_autocommit(s->db))
		s->lost = 1;
	return cw_seterr(e, "state store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Statement which, prepared (once) and reset; NULL with e set. */
static sqlite3_stmt *
stmt(struct sq *s, int which, cw_err *e)
{
	if (s->st[which] == NULL && sqlite3_prepare_v3(s->db, sqls[which], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[which], NULL) != SQLITE_OK) {
		fail(s, e, whats[which]);
		return NULL;
	}
	return s->st[which];
}

/* Leaves a kept statement ready for its next call; the bound texts are the
 * caller's, bound without copies, and must not be looked at again. */
static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs statement which with text arguments; for statements that return no
 * rows. Returns the number of rows changed, or -1. */
static int
exec(struct sq *s, int which, int n, const char *const *args, cw_err *e)
{
	sqlite3_stmt *st = stmt(s, which, e);
	int r = -1;

	if (st == NULL)
		return -1;
	for (int i = 0; i < n; i++)
		sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		r = sqlite3_changes(s->db);
	else
		fail(s, e, whats[which]);
	done(st);
	return r;
}

static char *
dump(const json_t *doc)
{
	struct cw_buf b = CW_BUF_INIT;
	char *s;

	/* Jansson's own dump, written out in a fifth of the time. */
	if (cw_json_dump_compact(&b, doc, 15) == 0)
		return cw_buf_detach(&b);
	cw_buf_free(&b);
	s = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
	return s != NULL ? s : cw_strdup("{}");
}

/* 1 if the row is there, 0 if not, -1 with e. */
static int
there(struct sq *s, const char *pk, const char *id, cw_err *e)
{
	sqlite3_stmt *st = stmt(s, ST_EXISTS, e);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		fail(s, e, whats[ST_EXISTS]);
	done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
sq_create(struct cw_docstore *ds, const char *pk, const char *id, const json_t *doc,
    cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	char *body;
	int r;

	/* Most creates of a run over carts claimed before find the row there:
	 * the document is not written out for nothing. The INSERT still does
	 * nothing on a conflict, for a row made between the two. */
	if ((r = there(s, pk, id, e)) != 0)
		return r < 0 ? -1 : 0;
	body = dump(doc);
	const char *args[] = {pk, id, body};
	r = exec(s, ST_CREATE, 3, args, e);
	free(body);
	return r < 0 ? -1 : r == 1;
}

/*
 * Parses the body and etag of a row (columns 0 and 1 of st) into *doc (owned)
 * and returns NULL, or says why the row is corrupt (*doc NULL). SQLite keeps
 * whatever a column is given: a hand edit can leave text in etag, which no
 * replace would then match, and the key would look busy forever.
 */
static const char *
corrupt(sqlite3_stmt *st, json_t **doc)
{
	const char *body = (const char *)sqlite3_column_text(st, 0);
	size_t n = (size_t)sqlite3_column_bytes(st, 0);

	*doc = NULL;
	if (sqlite3_column_type(st, 1) != SQLITE_INTEGER)
		return "its etag is not a number";
	/* Parsing the body is most of a read: the scanner's tree when it can
	 * vouch for the text (it is ours, as we wrote it), else Jansson's. */
	if (body != NULL && (*doc = cw_json_scanload(body, n)) == NULL)
		*doc = json_loadb(body, n, 0, NULL);
	if (body == NULL || *doc == NULL || !json_is_object(*doc)) {
		json_decref(*doc);
		*doc = NULL;
		return "its body is not a JSON object";
	}
	return NULL;
}

static int
sq_read(struct cw_docstore *ds, const char *pk, const char *id, json_t **doc,
    char **etag, cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	sqlite3_stmt *st;
	int r = -1, rc;

	*doc = NULL;
	*etag = NULL;
	if ((st = stmt(s, ST_READ, e)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *why = corrupt(st, doc);

		if (why != NULL) {
			cw_seterr(e, "state store %s: document %s/%s is corrupt: %s", s->path,
			    pk, id, why);
			r = CW_DOC_CORRUPT;
		} else {
			*etag = cw_asprintf("%lld", (long long)sqlite3_column_int64(st, 1));
			r = 1;
		}
	} else if (rc == SQLITE_DONE)
		r = 0;
	else
		fail(s, e, "read");
	done(st);
	return r;
}

static int
sq_replace(struct cw_docstore *ds, const char *pk, const char *id, const json_t *doc,
    const char *etag, cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	char *body = dump(doc);
	const char *args[] = {body, pk, id, etag};
	int r = exec(s, ST_REPLACE, 4, args, e);

	free(body);
	return r < 0 ? -1 : r == 1;
}

static int
sq_upsert(struct cw_docstore *ds, const char *pk, const char *id, const json_t *doc,
    cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	char *body = dump(doc);
	const char *args[] = {pk, id, body};
	int r = exec(s, ST_UPSERT, 3, args, e);

	free(body);
	return r < 0 ? -1 : 1;
}

static int
sq_remove(struct cw_docstore *ds, const char *pk, const char *id, cw_err *e)
{
	const char *args[] = {pk, id};
	int r = exec((struct sq *)ds, ST_REMOVE, 2, args, e);

	return r < 0 ? -1 : r == 1;
}

static int
sq_query(struct cw_docstore *ds, const char *field, const char *value,
    int (*fn)(const json_t *, const char *, void *), void *ctx, cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	sqlite3_stmt *st;
	char *path = NULL;
	int rc, r = 0;

	/* The rows are read into memory first: the callback may write. A
	 * corrupt row matches any field, so that it is reported, not skipped. */
	if (field == NULL)
		rc = sqlite3_prepare_v2(s->db, "SELECT body, etag, pk, id FROM docs", -1, &st,
		    NULL);
	else {
		rc = sqlite3_prepare_v2(s->db, "SELECT body, etag, pk, id FROM docs WHERE "
		    "CASE WHEN NOT json_valid(body) THEN 1 "
		    "WHEN json_type(body) <> 'object' OR typeof(etag) <> 'integer' THEN 1 "
		    "ELSE json_extract(body, ?) = ? END", -1, &st, NULL);
		path = cw_asprintf("$.\"%s\"", field);
	}
	if (rc != SQLITE_OK) {
		free(path);
		return fail(s, e, "query");
	}
	if (field != NULL) {
		sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
	}
	json_t *docs = json_array(), *etags = json_array();
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *doc;
		const char *why = corrupt(st, &doc);

		if (why != NULL) {
			r = cw_seterr(e, "state store %s: document %s/%s is corrupt: %s", s->path,
			    (const char *)sqlite3_column_text(st, 2),
			    (const char *)sqlite3_column_text(st, 3), why);
			break;
		}
		json_array_append_new(docs, doc);
		json_array_append_new(etags, json_integer(sqlite3_column_int64(st, 1)));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = fail(s, e, "query");
	sqlite3_finalize(st);
	free(path);
	for (size_t i = 0; r == 0 && i < json_array_size(docs); i++) {
		char etag[32];

		snprintf(etag, sizeof(etag), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(json_array_get(etags, i)));
		if (fn(json_array_get(docs, i), etag, ctx) != 0)
			r = -1;
	}
	json_decref(docs);
	json_decref(etags);
	return r;
}

static void
sq_close(struct cw_docstore *ds)
{
	struct sq *s = (struct sq *)ds;

	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	/* An open group is rolled back as the connection closes. */
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

/* Makes the file's directory (0700) and the file itself (0600) before SQLite
 * does, so that the ledger is never readable by others, whatever the umask. */
static int
prepare_file(const char *path, cw_err *e)
{
	char *dir = cw_strdup(path), *slash = strrchr(dir, '/');
	cw_err de;
	int fd;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (cw_mkdir_p(dir, 0700, &de) != 0) {
			cw_seterr(e, "state store %s: cannot make its directory: %s", path,
			    de.msg);
			free(dir);
			return -1;
		}
	}
	free(dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) == -1)
		return cw_seterr(e, "state store %s: %s", path, strerror(errno));
	close(fd);
	return 0;
}

/*
 * Turning a file to WAL (a new store) reads its header, then writes it, in
 * one statement: SQLite cannot wait for that upgrade (two upgraders would
 * deadlock), so while another process sets the file up it answers "database
 * is locked" at once instead of waiting. Retry as busy_timeout would have
 * waited. The schema is then made under the write lock taken up front
 * (BEGIN IMMEDIATE), which does wait: no transaction here reads, then asks
 * for the lock.
 */
static int
setup(struct sq *s, cw_err *e)
{
	long long until = cw_monotonic_ms() + BUSY_MS;
	char *err = NULL;
	int rc;

	while ((rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, &err)) ==
	    SQLITE_BUSY && cw_monotonic_ms() < until) {
		sqlite3_free(err);
		err = NULL;
		sqlite3_sleep(10 + (int)(cw_monotonic_ms() % 40));
	}
	if (rc == SQLITE_OK) {
		rc = sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, &err);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &err);
		if (rc == SQLITE_OK &&
		    (rc = sqlite3_exec(s->db, schema, NULL, NULL, &err)) == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &err);
	}
	if (rc != SQLITE_OK)
		cw_seterr(e, "state store %s: %s", s->path, err ? err : sqlite3_errstr(rc));
	sqlite3_free(err);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * A group is one transaction, its write lock taken up front (BEGIN
 * IMMEDIATE, waiting for other processes as every call does): a deferred
 * transaction that reads, then writes, could not wait for the lock. With
 * synchronous=FULL its COMMIT syncs once for every write of the group.
 */
static int
sq_begin(struct cw_docstore *ds, cw_err *e)
{
	struct sq *s = (struct sq *)ds;

	if (s->group)
		return cw_seterr(e, "state store %s: a group is open already", s->path);
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(s, e, "begin");
	s->group = 1;
	s->lost = 0;
	return 0;
}

/* Every write answered as it was made: nothing is ever lost here. */
static int
sq_commit(struct cw_docstore *ds, void (*lost)(const char *pk, const char *id, void *ctx),
    void *ctx, cw_err *e)
{
	struct sq *s = (struct sq *)ds;
	int r = 0;

	(void)lost;
	(void)ctx;

	if (!s->group)
		return cw_seterr(e, "state store %s: no group is open", s->path);
	if (s->lost)
		r = cw_seterr(e, "state store %s: commit: an earlier error rolled the group "
		    "back", s->path);
	else if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		r = fail(s, e, "commit");
	if (r != 0 && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->group = s->lost = 0;
	return r;
}

static const struct cw_docstore sq_ops = {
	.create = sq_create,
	.read = sq_read,
	.replace = sq_replace,
	.upsert = sq_upsert,
	.remove = sq_remove,
	.query = sq_query,
	.begin = sq_begin,
	.commit = sq_commit,
	.close = sq_close,
};

struct cw_docstore *
cw_sqlite_open(const char *path, cw_err *e)
{
	struct sq *s;

	if (prepare_file(path, e) != 0)
		return NULL;
	s = cw_calloc(1, sizeof(*s));
	s->ops = sq_ops;
	s->ops.where = s->path = cw_strdup(path);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
	    NULL) != SQLITE_OK) {
		fail(s, e, "open");
		sq_close(&s->ops);
		return NULL;
	}
	/* Several processes share the file: wait for each other's locks rather
	 * than fail; WAL lets readers run beside a writer; FULL makes each
	 * statement (or group, at its commit) durable when it returns, so a
	 * crash loses nothing a caller has let anyone act on. */
	sqlite3_busy_timeout(s->db, BUSY_MS);
	if (setup(s, e) != 0) {
		sq_close(&s->ops);
		return NULL;
	}
	return &s->ops;
}

/* The nearest directory on path's way that exists, where the first run
 * makes the rest: 0 when it is one we may write in, else -1 with e. */
static int
maker_dir(const char *path, cw_err *e)
{
	char *dir = cw_strdup(path), *slash;
	const char *why = NULL;
	struct stat st;
	int r = 0;

	while ((slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir] = '\0';  /* "/x" leaves "/" */
		if (access(dir, F_OK) == 0)
			break;
		if (slash == dir)
			break;
	}
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		why = strerror(ENOTDIR);
	else if (stat(dir, &st) != 0 || access(dir, W_OK | X_OK) != 0)
		why = strerror(errno);
	if (why != NULL)
		r = cw_seterr(e, "state store %s: no file yet, and %s cannot get it: %s", path,
		    dir, why);
	free(dir);
	return r;
}

int
cw_sqlite_check(const char *path, cw_err *e)
{
	sqlite3 *db = NULL;
	int r;

	if (access(path, F_OK) != 0)
		return maker_dir(path, e) == 0 ? 0 : -1;
	/* Without SQLITE_OPEN_CREATE: a file that vanished meanwhile is not
	 * made. Reading the schema tells a database from any other file. */
	r = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (r == SQLITE_OK) {
		sqlite3_busy_timeout(db, BUSY_MS);
		r = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
	}
	if (r != SQLITE_OK)
		cw_seterr(e, "state store %s: %s", path, db != NULL ? sqlite3_errmsg(db) :
		    sqlite3_errstr(r));
	sqlite3_close(db);
	return r == SQLITE_OK ? 1 : -1;
}

char *
cw_sqlite_where(const char *path)
{
	return cw_strdup(path);
}

int
cw_sqlite_exists(const char *path)
{
	/* Anything but a file we can see counts as "not yet": opening would
	 * make it, and the caller asked precisely so as not to. */
	return access(path, F_OK) == 0;
}
