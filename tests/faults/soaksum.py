#!/usr/bin/env python3
"""soaksum.py: the crash soak's figures and verdict, from its per-run NDJSON.

    soaksum.py --seed S --runs N [--json FILE] RUNS.ndjson

Prints a table (per provider: runs, kills that landed, faults injected,
notifications expected and delivered, raw and effective duplicates, uncertain,
lost, integrity checks) and the checks; --json writes the same figures. Exit 1
when a check fails.
"""
import argparse
import collections
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--json")
    ap.add_argument("lines")
    a = ap.parse_args()
    runs = [json.loads(l) for l in open(a.lines) if l.strip()]
    rows = collections.OrderedDict()
    faults = collections.Counter()
    kills = collections.Counter()
    problems = []
    for r in runs:
        p = r["provider"]
        row = rows.setdefault(p, collections.Counter())
        t, k = r["tally"], r["kill"]
        row["runs"] += 1
        row["kills"] += 1 if k["landed"] else 0
        if k["landed"]:
            kills[k["target"]] += 1
        if r["fault"]:
            row["faults"] += 1
            faults["%s %s" % (r["fault"]["service"], r["fault"]["fault"])] += 1
            faults[r["fault"]["service"]] += 0
        row["expected"] += t["expected"]
        row["delivered"] += t["delivered"]
        row["raw_dups"] += sum(c - 1 for c in t["raw_duplicates"].values())
        row["eff_dups"] += sum(c - 1 for c in t["effective_duplicates"].values())
        row["uncertain"] += len(t["uncertain"])
        row["lost"] += len(t["lost"])
        bad_ic = [x for x in r["integrity"] if x not in ("ok", "absent")]
        row["integrity_bad"] += len(bad_ic)
        allowed = 1 + (1 if k["landed"] else 0)
        over = {n: c for n, c in t["raw_duplicates"].items() if c > allowed}
        where = "run %d (%s, kill %s at %.3f s%s)" % (
            r["run"], p, k["target"], k["delay"],
            ", fault %s %s" % (r["fault"]["service"], r["fault"]["fault"]) if r["fault"] else "")
        if t["lost"]:
            problems.append("%s: %d lost" % (where, len(t["lost"])))
        if t["effective_duplicates"]:
            problems.append("%s: %d delivered twice" % (where, len(t["effective_duplicates"])))
        if over:
            problems.append("%s: %d delivered more than once more per kill" % (where, len(over)))
        if bad_ic:
            problems.append("%s: integrity_check: %s" % (where, "; ".join(bad_ic)))
        if r["clean_exit"] != 0:
            problems.append("%s: the clean run exited %d" % (where, r["clean_exit"]))
    cols = ["runs", "kills", "faults", "expected", "delivered", "raw_dups", "eff_dups",
            "uncertain", "lost", "integrity_bad"]
    total = collections.Counter()
    for row in rows.values():
        total.update(row)
    print("soak: seed %s, %d runs" % (a.seed, len(runs)))
    print("%-9s" % "provider" + "".join(" %13s" % c for c in cols))
    for p, row in list(rows.items()) + [("total", total)]:
        print("%-9s" % p + "".join(" %13d" % row[c] for c in cols))
    print("kills by target: " + ", ".join("%s %d" % kv for kv in sorted(kills.items())))
    per_service = collections.Counter()
    for key, n in faults.items():
        if " " in key:
            per_service[key.split(" ")[0]] += n
    print("faults by service: " + (", ".join("%s %d" % kv for kv in sorted(per_service.items()))
                                   or "none"))
    print("checks: 0 lost, 0 effective duplicates, at most once more per kill, "
          "integrity_check ok, clean runs exit 0: " + ("PASS" if not problems else "FAIL"))
    for pr in problems:
        print("  " + pr)
    if a.json:
        out = {"seed": a.seed, "runs": len(runs),
               "providers": {p: dict(row) for p, row in rows.items()},
               "total": dict(total), "kills_by_target": dict(kills),
               "faults_by_service": dict(per_service),
               "faults": {k: v for k, v in faults.items() if " " in k},
               "problems": problems, "pass": not problems}
        with open(a.json + ".tmp", "w") as f:
            json.dump(out, f, indent=1, sort_keys=True)
            f.write("\n")
        import os
        os.replace(a.json + ".tmp", a.json)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
