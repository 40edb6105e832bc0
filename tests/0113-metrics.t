#!/bin/sh
# cartwatch-run --metrics (issue 13): counters Prometheus can rate(), carried
# over from the previous file and added to (node_exporter's textfile
# collector), gauges of the last run, HELP and TYPE lines per the naming
# conventions, label values escaped and read back; and the Grafana dashboard
# in contrib/grafana uses only those metrics, the counters through rate().
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

pipeline_setup
m=$T/m.prom
pipeline() { run "$top/pipeline.sh" "$@"; }
# value NAME LABELS: the sample's value in $m ("" when absent).
value() {
	awk -v want="$1{$2}" 'index($0, want " ") == 1 { print substr($0, length(want) + 2) }' "$m"
}

# parse FILE: the Prometheus text format, strictly: HELP then TYPE once per
# family before its samples, counters named *_total, every sample's family
# declared; prints each sample as JSON {name, labels, value}.
parse() {
	python3 - "$1" <<'PY'
import json, re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
value = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)"
lab = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
sample = re.compile(rf'^({name})(?:\{{((?:{lab})(?:,{lab})*)\}})? ({value})$')
helped, typed, seen, out = set(), {}, [], []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if m := re.match(rf"^# HELP ({name}) (.+)$", line):
        if m.group(1) in helped:
            sys.exit(f"HELP twice: {line!r}")
        helped.add(m.group(1))
        continue
    if m := re.match(rf"^# TYPE ({name}) (counter|gauge)$", line):
        n, t = m.groups()
        if n not in helped or n in typed:
            sys.exit(f"TYPE without HELP, or twice: {line!r}")
        if (t == "counter") != n.endswith("_total"):
            sys.exit(f"a counter is named *_total, and only a counter: {line!r}")
        typed[n] = t
        seen.append(n)
        continue
    m = sample.match(line)
    if not m or m.group(1) not in typed or m.group(1) != seen[-1]:
        sys.exit(f"bad or misplaced line: {line!r}")
    labels = {k: re.sub(r'\\(.)', lambda e: "\n" if e.group(1) == "n" else e.group(1), v)
              for k, v in re.findall(lab, m.group(2) or "")}
    out.append({"name": m.group(1), "labels": labels, "value": float(m.group(len(m.groups())))})
for s in out:
    print(json.dumps(s))
PY
}

pipeline -c "$cfg" --metrics "$m"
is "$rc" 0 "the first run exits 0"
pipeline -c "$cfg" --metrics "$m"
is "$rc" 0 "the second run exits 0"
run parse "$m"
is "$rc" 0 "the file is strict Prometheus text: HELP and TYPE once, counters *_total"
cp "$T/stdout" "$T/samples"
c="config=\"$cfg\""
is "$(value cartwatch_carts_fetched_total "$c")" 32 "cartwatch_carts_fetched_total adds both runs' 16"
is "$(value cartwatch_notifications_total "$c,provider=\"smtp\",status=\"sent\"")" 14 \
	"cartwatch_notifications_total{provider=\"smtp\",status=\"sent\"} counts the 14 sent once"
is "$(value cartwatch_runs_total "$c,status=\"0\"")" 2 "cartwatch_runs_total counts the runs"
is "$(value cartwatch_run_exit_status "$c")" 0 "the last run's status, a gauge"
has "$m" "^cartwatch_run_duration_seconds\\{$c\\} [0-9.]+$" "its duration in seconds"
has "$m" '^# TYPE cartwatch_run_duration_seconds gauge$' "a gauge, the unit in its name"
ok_at=$(value cartwatch_last_success_timestamp_seconds "$c")
is "$(jq -n --argjson t "$ok_at" 'now - $t | fabs < 600')" true \
	"the last success is the Unix time the run ended (the real clock)"
is "$(stat -c %a "$m")" 644 "the file is readable by the exporter"

# A failing run: counted, and the last success stays where it was.
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":503,"count":-1}'
pipeline -c "$cfg" --metrics "$m"
is "$rc" 1 "a run with Retail Server down exits 1"
sandbox_clear
is "$(value cartwatch_runs_total "$c,status=\"1\"")" 1 "cartwatch_runs_total{status=\"1\"} counts it"
is "$(value cartwatch_runs_total "$c,status=\"0\"")" 2 "the successes stay counted"
is "$(value cartwatch_run_exit_status "$c")" 1 "the exit status gauge says 1"
is "$(value cartwatch_last_success_timestamp_seconds "$c")" "$ok_at" "the last success is kept"
is "$(value cartwatch_carts_fetched_total "$c")" 32 "and the counters are carried over"

# Another configuration's series in the same file are left as they were; a
# config path with a quote and a backslash is escaped and read back.
odd=$T/conf/we\"ird\\name.json
cp "$cfg" "$odd"
pipeline -c "$odd" --metrics "$m"
is "$rc" 0 "a run of a config whose path holds a quote and a backslash"
pipeline -c "$odd" --metrics "$m"
run parse "$m"
is "$rc" 0 "the file still parses"
is "$(jq -r --arg c "$odd" 'select(.name == "cartwatch_runs_total" and .labels.config == $c) | .value' \
	"$T/stdout")" 2 "its label reads back as the path, and its counter was carried over"
is "$(value cartwatch_carts_fetched_total "$c")" 32 "the first config's counter is untouched"

# A file of the earlier format (gauges of the last run only): its gauges
# that are now counters go, its last success time stays.
cat >"$m" <<EOF
# HELP cartwatch_carts_fetched Carts cart-fetch found in the window in the last run.
# TYPE cartwatch_carts_fetched gauge
cartwatch_carts_fetched{$c} 16
# HELP cartwatch_last_success_timestamp_seconds When a run last ended with status 0.
# TYPE cartwatch_last_success_timestamp_seconds gauge
cartwatch_last_success_timestamp_seconds{$c} 1764000000
EOF
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":503,"count":-1}'
pipeline -c "$cfg" --metrics "$m"
sandbox_clear
lacks "$m" '^cartwatch_carts_fetched\{' "the old gauge is gone"
is "$(value cartwatch_last_success_timestamp_seconds "$c")" 1764000000 \
	"the old file's last success is kept through a failing run"
run parse "$m"
is "$rc" 0 "and the file parses"

# The Grafana dashboard: JSON, and every metric it asks for is one we write,
# each counter through rate() or increase().
run python3 - "$top/contrib/grafana/cartwatch.json" "$T/samples" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
ours = {json.loads(l)["name"] for l in open(sys.argv[2])}
ours |= {"cartwatch_notifications_lost_total", "cartwatch_last_run_timestamp_seconds"}
panels = [p for p in dash["panels"] if p.get("type") != "row"]
assert dash["title"] and dash["uid"] and panels, "a title, a uid and panels"
exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
assert len(exprs) >= len(panels), "every panel has a query"
for e in exprs:
    names = set(re.findall(r"\bcartwatch_[a-z_]+", e))
    assert names, f"a query that names no metric of ours: {e}"
    for n in names:
        assert n in ours, f"{n} is not a metric cartwatch-run writes"
        if n.endswith("_total"):
            assert re.search(rf"\b(rate|increase)\(\s*{n}\b", e), f"counter {n} without rate(): {e}"
print(len(panels), "panels")
PY
is "$rc" 0 "contrib/grafana/cartwatch.json parses and queries only our metrics, counters by rate()"

no_secrets_printed
done_testing
