#!/usr/bin/env python3
"""storectl: read and write state-store documents behind cart-dedupe's back.

Tests use it to plant the .NET sample's run-status document and to read back
what cart-dedupe wrote, independently of the C code: straight from the SQLite
file, or through Cosmos DB's REST API with its own master-key signature.

    storectl.py STORE get PK ID        prints the document (system fields dropped)
    storectl.py STORE put PK JSON      upserts the document (JSON has its id)
    storectl.py STORE count            prints the number of documents
    storectl.py STORE list             prints every document, one JSON line each
    storectl.py STORE keyed VALUE      prints the keyed hash cart-dedupe should
                                       store for an email (lowercased) or id
    storectl.py STORE sql STATEMENT    SQLite: runs it (to corrupt a row)
    storectl.py STORE hold SECONDS     SQLite: holds the write lock that long,
                                       printing "held" once it has it

STORE is sqlite:PATH or cosmos:ENDPOINT/DATABASE/CONTAINER; the Cosmos key is
read from $COSMOS_KEY.
"""
import base64
import email.utils
import hashlib
import hmac
import json
import os
import sqlite3
import sys
import time
import urllib.parse
import urllib.request

SYSTEM = ("_rid", "_self", "_etag", "_attachments", "_ts")


def cosmos_request(base, verb, rtype, link, path, body=None, headers=None):
    key = base64.b64decode(os.environ["COSMOS_KEY"])
    date = email.utils.formatdate(usegmt=True)
    text = f"{verb.lower()}\n{rtype.lower()}\n{link}\n{date.lower()}\n\n"
    sig = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()
    auth = urllib.parse.quote(f"type=master&ver=1.0&sig={sig}", safe="")
    h = {"Authorization": auth, "x-ms-date": date, "x-ms-version": "2018-12-31",
         "Accept": "application/json"}
    h.update(headers or {})
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + "/" + path, data=data, method=verb, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def keyed(doc, value):
    """HMAC-SHA256 under the store's key of the SHA-1 hex of value."""
    legacy = hashlib.sha1(value.encode()).hexdigest()
    return hmac.new(bytes.fromhex(doc["key"]), legacy.encode(), hashlib.sha256).hexdigest()


def main(argv):
    store, op, args = argv[1], argv[2], argv[3:]
    if op == "keyed":
        docs = [d for d in all_docs(store) if d.get("kind") == "cartwatch.hashkey"]
        if len(docs) != 1:
            return 1
        print(keyed(docs[0], args[0]))
        return 0
    if op == "list":
        for d in all_docs(store):
            print(json.dumps(d, sort_keys=True))
        return 0
    kind, _, where = store.partition(":")
    if kind == "sqlite":
        if op == "hold":
            # What another process setting up the file holds: the write
            # lock, in the file's first (rollback) journal mode.
            db = sqlite3.connect(where, timeout=30, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            print("held", flush=True)
            time.sleep(float(args[0]))
            db.execute("ROLLBACK")
            return 0
        db = sqlite3.connect(where, timeout=30)
        if op == "get":
            row = db.execute("SELECT body FROM docs WHERE pk = ? AND id = ?", args).fetchone()
            if row is None:
                return 1
            print(json.dumps(json.loads(row[0]), sort_keys=True))
        elif op == "put":
            doc = json.loads(args[1])
            db.execute("INSERT INTO docs (pk, id, body, etag) VALUES (?, ?, ?, 1) "
                       "ON CONFLICT (pk, id) DO UPDATE SET body = excluded.body, etag = etag + 1",
                       (args[0], doc["id"], json.dumps(doc)))
            db.commit()
        elif op == "count":
            print(db.execute("SELECT count(*) FROM docs").fetchone()[0])
        elif op == "sql":
            db.execute(args[0])
            db.commit()
        return 0
    url = urllib.parse.urlsplit(where)
    base = f"{url.scheme}://{url.netloc}"
    dbname, coll = url.path.strip("/").split("/")
    clink = f"dbs/{dbname}/colls/{coll}"
    if op == "get":
        pk, did = args
        st, doc = cosmos_request(base, "GET", "docs", f"{clink}/docs/{did}",
                                 f"{clink}/docs/{urllib.parse.quote(did, safe='')}",
                                 headers={"x-ms-documentdb-partitionkey": json.dumps([pk])})
        if st != 200:
            return 1
        print(json.dumps({k: v for k, v in doc.items() if k not in SYSTEM}, sort_keys=True))
    elif op == "put":
        pk, doc = args[0], json.loads(args[1])
        cosmos_request(base, "POST", "dbs", "", "dbs", {"id": dbname})
        cosmos_request(base, "POST", "colls", f"dbs/{dbname}", f"dbs/{dbname}/colls",
                       {"id": coll, "partitionKey": {"paths": ["/oun"], "kind": "Hash"}})
        st, _ = cosmos_request(base, "POST", "docs", clink, f"{clink}/docs", doc,
                               {"x-ms-documentdb-partitionkey": json.dumps([pk]),
                                "x-ms-documentdb-is-upsert": "True",
                                "Content-Type": "application/json"})
        return 0 if st in (200, 201) else 1
    elif op == "count":
        st, res = cosmos_request(base, "POST", "docs", clink, f"{clink}/docs",
                                 {"query": "SELECT * FROM c", "parameters": []},
                                 {"Content-Type": "application/query+json",
                                  "x-ms-documentdb-isquery": "True",
                                  "x-ms-documentdb-query-enablecrosspartition": "True",
                                  "x-ms-max-item-count": "10000"})
        print(len(res["Documents"]) if st == 200 else -1)
    return 0


def all_docs(store):
    kind, _, where = store.partition(":")
    if kind == "sqlite":
        db = sqlite3.connect(where, timeout=30)
        return [json.loads(r[0]) for r in db.execute("SELECT body FROM docs")]
    url = urllib.parse.urlsplit(where)
    base = f"{url.scheme}://{url.netloc}"
    dbname, coll = url.path.strip("/").split("/")
    clink = f"dbs/{dbname}/colls/{coll}"
    st, res = cosmos_request(base, "POST", "docs", clink, f"{clink}/docs",
                             {"query": "SELECT * FROM c", "parameters": []},
                             {"Content-Type": "application/query+json",
                              "x-ms-documentdb-isquery": "True",
                              "x-ms-documentdb-query-enablecrosspartition": "True",
                              "x-ms-max-item-count": "10000"})
    if st != 200:
        return []
    return [{k: v for k, v in d.items() if k not in SYSTEM} for d in res["Documents"]]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
