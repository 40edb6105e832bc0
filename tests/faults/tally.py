#!/usr/bin/env python3
"""tally.py: what reached the customers, counted from the receiving end.

    tally.py --provider P --expected FILE [--sandbox URL] [--maildir DIR]
             [--results FILE]...

--expected: NDJSON results of a clean run of the same data (notificationId,
email): the notifications that must arrive. --results: every 4-notify.ndjson of
the runs being judged (for "uncertain": true). --ledger: the ledger's documents
(storectl.py list) after them: a key a killed run left uncertain has no result. Deliveries are counted raw, from
what the service received and acted on:

  emarsys   every contact of every trigger the sandbox processed (its request
            log: "delivered" is set), trigger_id repeats included; the
            effective count is the sandbox's delivered list (trigger_id
            dedupe), what a customer would see;
  sendgrid  /_sandbox/sendgrid/delivered (custom_args.notificationId);
  mandrill  /_sandbox/mandrill/delivered (by email: Mandrill carries no id);
  webhook   /_sandbox/webhook/received with a good signature;
  smtp      the maildir's messages (X-Cartwatch-Notification-Id, envelope).

Prints one JSON object: expected, delivered (distinct), raw, raw_duplicates and
effective_duplicates (notificationIds delivered more than once, with their
counts), uncertain (expected ids whose result said uncertain), lost (expected,
never delivered, never uncertain), unexpected (delivered, not expected).
"""

import argparse
import collections
import email.parser
import glob
import json
import os
import sys
import urllib.request


def ndjson(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass        # a torn line of a killed run is not a result
    return out


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode("utf-8")


def deliveries(provider, sandbox, maildir, by_email):
    """([(notificationId, email)] raw, same for the effective view)."""
    raw = []
    if provider == "emarsys":
        for e in ndjson(get(sandbox + "/_sandbox/log?service=emarsys")):
            if e.get("delivered") is None or not isinstance(e.get("json"), dict):
                continue
            for c in e["json"].get("contacts") or []:
                raw.append((c.get("trigger_id"), c.get("external_id")))
        eff = [(d.get("trigger_id"), d.get("external_id"))
               for d in ndjson(get(sandbox + "/_sandbox/emarsys/delivered"))]
        return raw, eff
    if provider == "sendgrid":
        for d in ndjson(get(sandbox + "/_sandbox/sendgrid/delivered")):
            for to in d.get("to") or []:
                raw.append(((d.get("custom_args") or {}).get("notificationId"), to))
    elif provider == "mandrill":
        for d in ndjson(get(sandbox + "/_sandbox/mandrill/delivered")):
            raw.append((by_email.get(d.get("email", "").lower()), d.get("email")))
    elif provider == "webhook":
        for d in ndjson(get(sandbox + "/_sandbox/webhook/received")):
            if not d.get("signature_ok") or not d.get("json"):
                continue
            body = d.get("body")
            for r in body if isinstance(body, list) else [body]:
                if isinstance(r, dict):
                    raw.append((r.get("notificationId"), r.get("email")))
    elif provider == "smtp":
        for path in sorted(glob.glob(os.path.join(maildir or "", "*.eml"))):
            with open(path, "rb") as f:
                msg = email.parser.BytesHeaderParser().parse(f)
            nid = msg.get("X-Cartwatch-Notification-Id")
            meta = os.path.splitext(path)[0] + ".json"
            rcpts = []
            if os.path.exists(meta):
                with open(meta) as f:
                    rcpts = json.load(f).get("rcpt_tos") or []
            for r in rcpts or [msg.get("To", "")]:
                raw.append((nid or by_email.get(r.lower()), r))
    else:
        sys.exit("tally.py: unknown provider %r" % provider)
    return raw, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--provider", required=True)
    ap.add_argument("--expected", required=True)
    ap.add_argument("--sandbox")
    ap.add_argument("--maildir")
    ap.add_argument("--results", action="append", default=[])
    ap.add_argument("--ledger")
    a = ap.parse_args()
    with open(a.expected) as f:
        expected = {r["notificationId"]: r.get("email", "") for r in ndjson(f.read())
                    if r.get("status") == "sent"}
    by_email = {e.lower(): n for n, e in expected.items()}
    raw, eff = deliveries(a.provider, a.sandbox, a.maildir, by_email)
    uncertain = set()
    for path in a.results:
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                for r in ndjson(f.read()):
                    if r.get("uncertain") is True:
                        uncertain.add(r.get("notificationId"))
    # A killed run leaves no result: the ledger says which of its sends are
    # uncertain (claims marked "sending" whose run died: cart-dedupe(1)).
    if a.ledger and os.path.exists(a.ledger):
        with open(a.ledger, errors="replace") as f:
            for d in ndjson(f.read()):
                if d.get("kind") == "cartwatch.reminder" and d.get("state") == "uncertain":
                    uncertain.add(d.get("id"))
    raw_n = collections.Counter(n for n, _ in raw)
    eff_n = collections.Counter(n for n, _ in eff)
    got = set(raw_n)
    out = {
        "expected": len(expected),
        "delivered": len(got & set(expected)),
        "raw": len(raw),
        "raw_duplicates": {n: c for n, c in sorted(raw_n.items()) if c > 1},
        "effective_duplicates": {n: c for n, c in sorted(eff_n.items()) if c > 1},
        "uncertain": sorted(uncertain & set(expected)),
        "lost": sorted(n for n in expected if n not in got and n not in uncertain),
        "unexpected": sorted(str(n) for n in got - set(expected)),
    }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
