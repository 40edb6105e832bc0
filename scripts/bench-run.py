#!/usr/bin/env python3
"""bench-run.py: the offline benchmark of scripts/bench (run that, not this).

Per stage, on saved NDJSON made by bench-data.py: records/s, CPU seconds
(user+sys) per 100,000 records and peak RSS, from GNU time, each beside
`jq -c .` over the same input in the same run, the median of BENCH_RUNS runs;
then the peak RSS of each stage at two sizes (memory growth). Writes
report.md and report.json into BENCH_OUT and prints the markdown. Python 3
standard library only. Settings (environment):

    BENCH_CARTS        carts of the speed table (100000)
    BENCH_RUNS         runs, the median is reported (3)
    BENCH_PREVIEW      records of the preview in the speed table (2000)
    BENCH_SMALL        memory growth, small size (10000)
    BENCH_BIG          memory growth, large size (1000000)
    BENCH_PREVIEW_BIG  memory growth of the preview, large size (20000): three
                       files per record, a million would be three million files
    BENCH_ONLINE_CARTS carts in the sandbox for the online run (10000)
    BENCH_LATENCY_MS   the sandbox's latency per request, online (20)
    BENCH_SEED         bench-data.py's seed (11)
    BENCH_OUT          where the report goes (build/bench)
    CW_BUILD           the tools (build)
"""

import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
NOW = "2026-11-24T12:00:00Z"
TIME = "/usr/bin/time"

SETTINGS = [("BENCH_CARTS", 100000), ("BENCH_RUNS", 3), ("BENCH_PREVIEW", 2000),
            ("BENCH_SMALL", 10000), ("BENCH_BIG", 1000000), ("BENCH_PREVIEW_BIG", 20000),
            ("BENCH_ONLINE_CARTS", 10000), ("BENCH_LATENCY_MS", 20), ("BENCH_SEED", 11)]

# (stage, compared with jq over its input, targets: (what, ratio limit))
STAGES = [
    ("dedupe", "`cart-dedupe`, fresh store", [("cpu", 1.0), ("wall", 1.5)]),
    ("commit", "`cart-dedupe --commit` of the sent results", [("cpu", 1.0), ("wall", 1.5)]),
    ("again", "`cart-dedupe` again, all already sent (read only)", [("cpu", 0.5)]),
    ("preview", "`cart-notify`, preview", [("wall", 2.0)]),
]
RSS_LIMIT = 1.2


def fail(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.exit(1)


def setting(name, default):
    text = os.environ.get(name, "")
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        fail("%s=%r is not a whole number" % (name, text))
    if value < 1:
        fail("%s must be 1 or more" % name)
    return value


class Bench:
    def __init__(self, work, build, seed):
        self.work, self.build, self.seed = work, build, seed
        self.cfg = os.path.join(work, "appsettings.json")
        self.db = os.path.join(work, "state.db")
        with open(self.cfg, "w") as f:
            json.dump({"RetailServerClientOptions": {"OperatingUnitNumber": 128},
                       "Cartwatch": {"StateStore": {"Path": self.db}}}, f)
        self.env = dict(os.environ, CARTWATCH_NOW=NOW)
        self.previews = 0

    def path(self, name):
        return os.path.join(self.work, name)

    def data(self, kind, n):
        out = self.path("%s-%d.ndjson" % (kind, n))
        if not os.path.exists(out):
            subprocess.run([sys.executable, os.path.join(HERE, "bench-data.py"), kind, str(n),
                            "--seed", str(self.seed), "--now", NOW, "-o", out], check=True)
        return out

    def timed(self, name, argv, src, dst=os.devnull):
        """Runs ARGV from SRC to DST under GNU time: wall, cpu, rss (KiB)."""
        tfile = self.path("time")
        with open(src, "rb") as i, open(dst, "wb") as o, open(self.path("err"), "wb") as e:
            rc = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", tfile] + argv,
                                stdin=i, stdout=o, stderr=e, env=self.env).returncode
        if rc != 0:
            with open(self.path("err"), errors="replace") as e:
                fail("%s failed (exit %d):\n%s" % (name, rc, e.read()[-2000:]))
        with open(tfile) as f:
            wall, user, sys_, rss = f.read().split()[-4:]
        return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss)}

    def tool(self, name, *args):
        return [os.path.join(self.build, name), "-c", self.cfg] + list(args)

    def results(self, passed, n):
        """The sent results of PASSED, as cart-notify would write them."""
        out = self.path("results-%d.ndjson" % n)
        with open(passed, "rb") as i, open(out, "wb") as o:
            subprocess.run(["jq", "-c", '{notificationId, cartId: .Id, customerId: .CustomerId,'
                            ' modifiedDateTime: .ModifiedDateTime, step, email: .ReceiptEmail,'
                            ' status: "sent", provider: "bench", channelId}'],
                           stdin=i, stdout=o, check=True)
        return out

    def one_pass(self, n, preview_n, with_jq):
        """Every offline stage once over N carts (the preview over PREVIEW_N
        records): {stage: figures}, and jq's over each stage's input."""
        carts, enriched = self.data("carts", n), self.data("enriched", preview_n)
        for f in os.listdir(self.work):
            if f.startswith("state.db"):
                os.unlink(self.path(f))
        passed = self.path("passed.ndjson")
        got = {"dedupe": self.timed("cart-dedupe", self.tool("cart-dedupe"), carts, passed)}
        results = self.path("results-%d.ndjson" % n)
        if not os.path.exists(results):
            results = self.results(passed, n)
        got["commit"] = self.timed("cart-dedupe --commit", self.tool("cart-dedupe", "--commit"),
                                   results, self.path("committed.ndjson"))
        again = self.path("again.ndjson")
        got["again"] = self.timed("cart-dedupe (again)", self.tool("cart-dedupe"), carts, again)
        if os.path.getsize(again) != 0:
            fail("cart-dedupe passed carts again after --commit of all of them")
        # Each pass previews into a directory of its own, all removed with the
        # work directory at the end: ext4 without a journal (this machine's)
        # skips inodes freed in the last minute or more when it allocates
        # one, at a cost per skipped inode, so removing the last pass's
        # 6,000 files made the next pass's file creation cost more kernel
        # CPU (about 1.8 s) than everything else it did.
        self.previews += 1
        got["preview"] = self.timed("cart-notify preview", self.tool(
            "cart-notify", "--preview-dir", self.path("preview-%d" % self.previews)), enriched)
        got["records"] = {"dedupe": n, "commit": count(results), "again": n,
                          "preview": count(enriched)}
        if with_jq:
            jq = ["jq", "-c", "."]
            got["jq"] = {"dedupe": self.timed("jq", jq, carts), "commit": self.timed("jq", jq, results),
                         "preview": self.timed("jq", jq, enriched)}
            got["jq"]["again"] = got["jq"]["dedupe"]
        return got


TENANT = "7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b"
CLIENT = "a1000000-0000-4000-8000-000000000001"
SAMPLE_PAGE = 100
# The sample's pattern, one request after another: a search per page of 100
# carts, then per cart it keeps its customer, its products and one provider
# call. (The issue's own figures fit this: 489 carts at 20 ms, about 30 s.)
SAMPLE_PER_CART = 3


def online(work, build, n, latency_ms, seed):
    """pipeline.sh once against the sandbox holding N carts, LATENCY_MS added
    to every request: wall time, requests by service, the sandbox's own CPU."""
    ds = os.path.join(work, "online.json")
    subprocess.run([sys.executable, os.path.join(HERE, "bench-data.py"), "dataset", str(n),
                    "--seed", str(seed), "--now", NOW, "-o", ds], check=True)
    port = os.path.join(work, "port")
    with open(os.path.join(work, "sandbox.err"), "wb") as err:
        sb = subprocess.Popen([sys.executable, os.path.join(TOP, "tests", "sandbox", "sandbox.py"),
                               "--data", ds, "--port-file", port, "--latency", str(latency_ms)],
                              stdout=subprocess.DEVNULL, stderr=err)
    try:
        return online_run(work, build, ds, port, sb, n, latency_ms)
    finally:
        sb.terminate()
        sb.wait()


def online_run(work, build, ds, port, sb, n, latency_ms):
    import time
    import urllib.request
    for _ in range(600):
        if os.path.exists(port) or sb.poll() is not None:
            break
        time.sleep(0.05)
    if not os.path.exists(port):
        fail("the sandbox did not start: see its errors above")
    with open(port) as f:
        base = "http://127.0.0.1:%d" % int(f.read())
    with open(ds, encoding="utf-8") as f:
        secret = json.load(f)["tenants"][TENANT]["clients"][CLIENT]["secret"]
    cfg = os.path.join(work, "online-appsettings.json")
    with open(cfg, "w") as f:
        json.dump({
            "KeyVaultOptions": {"KeyVaultUrl": base + "/kv"},
            "RetailServerClientOptions": {
                "TenantId": TENANT, "AppIdKeyVaultSecretName": "RetailServerAppId",
                "AppSecretKeyVaultSecretName": "RetailServerAppSecret",
                "RetailServerUri": base + "/Commerce", "OperatingUnitNumber": 128,
                "ReturnToCartUrl": "https://shop.example.com/cart",
                "IncludeAbandonedCartsModifiedSinceLastMinutes": 500,
                "ExcludeAbandonedCartsModifiedSinceLastMinutes": 10},
            "MediaOptions": {"ImageServerUrl": "https://images.example.com/cms"},
            "EmarsysClientOptions": {
                "ApiUrl": base + "/emarsys/api/v2/event/{0}/trigger", "ExternalEventId": "4242",
                "ApiUserNameKeyVaultSecretName": "EmarsysApiUser",
                "ApiSecretKeyVaultSecretName": "EmarsysApiSecret"},
            "Cartwatch": {"StateStore": {"Path": os.path.join(work, "online.db")},
                          "Notify": {"RequestsPerMinute": 0, "CheckOptOuts": False}}}, f)
    # The secret goes by the environment, as in production; never argv.
    env = dict(os.environ, CARTWATCH_NOW=NOW, CW_BUILD=build, AZURE_AUTHORITY_HOST=base + "/aad",
               AZURE_POD_IDENTITY_AUTHORITY_HOST=base, AZURE_TENANT_ID=TENANT,
               AZURE_CLIENT_ID=CLIENT, AZURE_CLIENT_SECRET=secret)
    cpu0 = proc_cpu(sb.pid)
    tfile, report = os.path.join(work, "online-time"), os.path.join(work, "online-report.json")
    with open(os.path.join(work, "online.err"), "wb") as err:
        rc = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", tfile, os.path.join(TOP, "pipeline.sh"),
                             "-c", cfg, "--report", report], env=env, stdout=err,
                            stderr=err).returncode
    sandbox_cpu = proc_cpu(sb.pid) - cpu0
    if rc != 0:
        with open(os.path.join(work, "online.err"), errors="replace") as e:
            fail("pipeline.sh failed (exit %d):\n%s" % (rc, e.read()[-2000:]))
    with open(tfile) as f:
        wall, user, sys_, _ = f.read().split()[-4:]
    with open(report) as f:
        summary = json.load(f)["runs"][0]
    with urllib.request.urlopen(base + "/_sandbox/log") as r:
        log = [json.loads(l) for l in r.read().decode("utf-8").splitlines() if l]
    by = {}
    searched = 0
    for e in log:
        key = e.get("service") or "unknown"
        if key == "retail":
            key = "retail " + (e.get("operation") or "?")
            if e.get("operation") == "Carts/Search":
                searched += e.get("returned") or 0
        by[key] = by.get(key, 0) + 1
    lat = latency_ms / 1000.0
    fixed = sum(v for k, v in by.items() if not k.startswith(("retail Carts", "retail Customers",
                                                               "retail Products", "emarsys")))
    sample = fixed + -(-searched // SAMPLE_PAGE) + summary["fetched"] * SAMPLE_PER_CART
    wall = float(wall)
    ours_seq = len(log) * lat
    return {"carts": n, "searched": searched, "fetched": summary["fetched"],
            "sent": summary["sent"], "latency_ms": latency_ms, "wall_s": wall,
            "cpu_s": float(user) + float(sys_), "sandbox_cpu_s": sandbox_cpu,
            "requests": len(log), "by_service": by,
            "per_cart": {k: v / n for k, v in sorted(by.items())},
            "retail_and_provider_per_cart":
                sum(v for k, v in by.items() if k.startswith(("retail", "emarsys"))) / n,
            "ours_one_after_another_s": ours_seq,
            "sample_requests": sample, "sample_s": sample * lat,
            "faster_than_sample": sample * lat / wall if wall else None}


def proc_cpu(pid):
    """User+system CPU seconds of process PID so far (Linux /proc)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def count(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def median(runs, pick):
    return statistics.median(pick(r) for r in runs)


def speed(runs):
    rows = []
    for key, title, targets in STAGES:
        n = runs[0]["records"][key]
        me = {w: median(runs, lambda r: r[key][w]) for w in ("wall", "cpu", "rss")}
        jq = {w: median(runs, lambda r: r["jq"][key][w]) for w in ("wall", "cpu", "rss")}
        row = {"stage": key, "title": title, "records": n,
               "wall_s": me["wall"], "cpu_s": me["cpu"], "rss_kib": me["rss"],
               "records_per_s": n / me["wall"] if me["wall"] else None,
               "cpu_s_per_100k": me["cpu"] * 100000 / n if n else None,
               "jq": {"wall_s": jq["wall"], "cpu_s": jq["cpu"], "rss_kib": jq["rss"]},
               "vs_jq": {w: (me[w] / jq[w] if jq[w] else None) for w in ("wall", "cpu", "rss")},
               "targets": []}
        for what, limit in targets:
            row["targets"].append(verdict("%s: %s vs `jq -c .`" % (title, what),
                                          row["vs_jq"][what], limit))
        rows.append(row)
    return rows


def verdict(what, measured, limit, at_least=False, fmt="%.2f×"):
    """Target WHAT: MEASURED against LIMIT (at most, or AT_LEAST), and by how
    much it is missed."""
    sign = "≥" if at_least else "≤"
    t = {"what": "%s %s %s" % (what, sign, fmt % limit), "limit": limit, "measured": measured,
         "shown": "—" if measured is None else fmt % measured}
    if measured is None or (at_least and measured == 0):
        t["verdict"] = "not measured (too fast to time)"
    elif (measured >= limit) if at_least else (measured <= limit):
        t["verdict"] = "met"
    else:
        t["verdict"] = "missed by %.1f× (%s against %s %s)" % (
            limit / measured if at_least else measured / limit, fmt % measured, sign, fmt % limit)
    return t


def growth(small, big, psmall, pbig):
    rows = []
    for key, title, _ in STAGES:
        a, b = small[key]["rss"], big[key]["rss"]
        ns = (psmall, pbig) if key == "preview" else (small["records"][key], big["records"][key])
        rows.append({"stage": key, "title": title, "records": list(ns), "rss_kib": [a, b],
                     "ratio": b / a, "target": verdict("%s: peak RSS at %s records ÷ at %s" % (
                         title, num(ns[1]), num(ns[0])), b / a, RSS_LIMIT)})
    return rows


def git(*args):
    try:
        return subprocess.run(["git", "-C", TOP] + list(args), capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def num(x):
    return "{:,}".format(int(round(x)))


def mib(kib):
    return "%.1f MiB" % (kib / 1024)


def markdown(rep):
    m = rep["machine"]
    s = rep["settings"]
    out = ["## cartwatch benchmark, %s" % rep["date"], "",
           "Commit `%s`, %s, %d cores, %s. %s" % (rep["commit"], m["system"], m["cores"],
                                                  m["python"], rep["note"]), "",
           "Settings: " + ", ".join("%s=%s" % (k, s[k]) for k, _ in SETTINGS) + ".", "",
           "### Offline, per stage (median of %d runs)" % s["BENCH_RUNS"], "",
           "| stage | records | wall | records/s | CPU s per 100,000 | peak RSS "
           "| `jq -c .` wall, CPU, RSS | vs jq: wall | CPU | RSS |",
           "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in rep["speed"]:
        v = r["vs_jq"]
        out.append("| %s | %s | %.2f s | %s | %.2f s | %s | %.2f s, %.2f s, %s | %s | %s | %s |" % (
            r["title"], num(r["records"]), r["wall_s"], num(r["records_per_s"] or 0),
            r["cpu_s_per_100k"], mib(r["rss_kib"]), r["jq"]["wall_s"], r["jq"]["cpu_s"],
            mib(r["jq"]["rss_kib"]), ratio(v["wall"]), ratio(v["cpu"]), ratio(v["rss"])))
    out += ["", "### Memory growth (one run each)", "",
            "| stage | records | peak RSS | ratio |", "|---|---|---|---:|"]
    for r in rep["memory"]:
        out.append("| %s | %s → %s | %s → %s | %.2f× |" % (
            r["title"], num(r["records"][0]), num(r["records"][1]), mib(r["rss_kib"][0]),
            mib(r["rss_kib"][1]), r["ratio"]))
    o = rep["online"]
    out += ["", "### Online, end to end (one run)", "",
            "`pipeline.sh` (Emarsys, SQLite store) against the sandbox holding %s carts, "
            "%d ms added to every request: %s carts searched, %s fetched, %s sent." % (
                num(o["carts"]), o["latency_ms"], num(o["searched"]), num(o["fetched"]), num(o["sent"])),
            "",
            "| wall | CPU (tools) | sandbox CPU | requests | ours one after another "
            "| the sample's pattern | faster than the sample |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            "| %.2f s | %.2f s | %.2f s | %s | %.2f s | %.2f s (%s requests) | %s |" % (
                o["wall_s"], o["cpu_s"], o["sandbox_cpu_s"], num(o["requests"]),
                o["ours_one_after_another_s"], o["sample_s"], num(o["sample_requests"]),
                ratio(o["faster_than_sample"])),
            "", "| service | requests | per cart |", "|---|---:|---:|"]
    for k, v in sorted(o["by_service"].items()):
        out.append("| %s | %s | %.4f |" % (k, num(v), o["per_cart"][k]))
    out += ["", "The sample's pattern, its requests one after another: the token and vault "
            "requests this run made, one search per %d carts searched, and per cart fetched "
            "%d requests (its customer, its products, one provider call); times the latency. "
            "Requests per cart are per cart in the sandbox." % (SAMPLE_PAGE, SAMPLE_PER_CART)]
    out += ["", "### Targets (issue 11)", "", "| target | measured | verdict |", "|---|---:|---|"]
    targets = [t for r in rep["speed"] for t in r["targets"]] + \
        [r["target"] for r in rep["memory"]] + rep["online_targets"]
    for t in targets:
        out.append("| %s | %s | %s |" % (t["what"], t["shown"], t["verdict"]))
    for t in rep["not_measured"]:
        out.append("| %s | — | not measured yet |" % t)
    out.append("")
    return "\n".join(out)


def ratio(x):
    return "—" if x is None else "%.2f×" % x


def main():
    s = {k: setting(k, d) for k, d in SETTINGS}
    out_dir = os.environ.get("BENCH_OUT") or os.path.join(TOP, "build", "bench")
    build = os.environ.get("CW_BUILD") or os.path.join(TOP, "build")
    for need in (TIME, os.path.join(build, "cart-dedupe"), os.path.join(build, "cart-notify")):
        if not os.access(need, os.X_OK):
            fail("%s: not there (GNU time: scripts/install-deps; the tools: make)" % need)
    if not shutil.which("jq"):
        fail("jq: not found (scripts/install-deps)")
    work = tempfile.mkdtemp(prefix="cartwatch-bench.", dir=os.environ.get("TMPDIR"))
    try:
        b = Bench(work, build, s["BENCH_SEED"])
        say("%d carts, %d runs" % (s["BENCH_CARTS"], s["BENCH_RUNS"]))
        runs = []
        for i in range(s["BENCH_RUNS"]):
            runs.append(b.one_pass(s["BENCH_CARTS"], s["BENCH_PREVIEW"], True))
            say("run %d of %d done" % (i + 1, s["BENCH_RUNS"]))
        say("memory growth: %d and %d carts" % (s["BENCH_SMALL"], s["BENCH_BIG"]))
        small = b.one_pass(s["BENCH_SMALL"], s["BENCH_SMALL"], False)
        big = b.one_pass(s["BENCH_BIG"], s["BENCH_PREVIEW_BIG"], False)
        say("online: %d carts, %d ms a request" % (s["BENCH_ONLINE_CARTS"], s["BENCH_LATENCY_MS"]))
        on = online(work, build, s["BENCH_ONLINE_CARTS"], s["BENCH_LATENCY_MS"], s["BENCH_SEED"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rep = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git("describe", "--always", "--dirty", "--tags"),
        "machine": {"cores": os.cpu_count(), "system": "%s %s" % (platform.system(),
                                                                  platform.machine()),
                    "python": "Python " + platform.python_version(),
                    "jq": subprocess.run(["jq", "--version"], capture_output=True,
                                         text=True).stdout.strip()},
        "note": os.environ.get("BENCH_NOTE") or "Figures from a shared machine: other work "
                "may have been running; compare ratios to jq, measured in the same run.",
        "settings": s,
        "speed": speed(runs),
        "memory": growth(small, big, s["BENCH_SMALL"], s["BENCH_PREVIEW_BIG"]),
        "online": on,
        "online_targets": [
            verdict("online: requests per cart to Retail Server and the provider",
                    on["retail_and_provider_per_cart"], 0.02, fmt="%.3f"),
            verdict("online, end to end: the sample's sequential time ÷ ours",
                    on["faster_than_sample"], 10.0, at_least=True)],
        "not_measured": ["≤ 0.2 requests per cart to Cosmos DB (the online run uses SQLite)",
                         "webhook and SMTP, 8 in flight: ≥ 6× faster than one at a time"],
    }
    os.makedirs(out_dir, exist_ok=True)
    text = markdown(rep)
    for name, body in (("report.json", json.dumps(rep, indent=1, ensure_ascii=False) + "\n"),
                       ("report.md", text)):
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(body)
        os.replace(tmp, os.path.join(out_dir, name))
    sys.stdout.write(text)
    say("report: %s/report.md, report.json" % out_dir)


def say(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


if __name__ == "__main__":
    main()
