#!/bin/sh
# pipeline.sh end to end: the sandbox's Retail Server and Key Vault, SQLite,
# and a real SMTP server. Sent once, never twice; one run at a time; saved
# stages that replay; each stage's failure named; metrics that parse.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

pipeline_setup
run_pipeline() { run "$top/pipeline.sh" "$@"; }
mails() { find "$MAILDIR" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }
# The registered customers' carts of the window that have an email (golden).
jq -r 'select(.customerId != "") | .email' "$top/tests/golden/enrich.ndjson" | sort >"$T/want-rcpts"

# A umask that lets others read: what holds personal data is private anyway.
umask 022
run_pipeline -c "$cfg" --save "$T/run1" --report "$T/report1.json" --metrics "$T/m.prom"
is "$rc" 0 "the first run exits 0"
is "$(stat -c %a "$T/run1")" 700 "--save makes its directory 0700, whatever the umask"
is "$(stat -c %a "$T/run1"/* | sort -u)" 600 "and every file in it 0600"
is "$(stat -c %a "$T/report1.json" "$T/m.prom" | tr '\n' ' ')" "644 644 " \
	"--report and --metrics (counts only) stay readable"
is "$(mails)" "$(wc -l <"$T/want-rcpts" | tr -d ' ')" "it sends one email per expected notification"
cat "$MAILDIR"/*.json | jq -r '.rcpt_tos[]' | sort >"$T/got-rcpts"
same "$T/got-rcpts" "$T/want-rcpts" "to exactly the expected recipients"
has "$T/stderr" "fetched 16, passed 16, enriched 14, sent 14, failed 0, skipped 0 in" "the summary line says so"
is "$(jq -c '.runs[0] | [.fetched, .passed, .enriched, .sent, .failed, .skipped, .status]' "$T/report1.json")" \
	"[16,16,14,14,0,0,0]" "--report holds the same figures"

# A --save directory that others can read already, with an older run's file.
mkdir -m 755 "$T/run2"
echo '{}' >"$T/run2/1-fetch.ndjson"
chmod 644 "$T/run2/1-fetch.ndjson"
run_pipeline -c "$cfg" --save "$T/run2" --metrics "$T/m.prom"
is "$rc" 0 "the second run exits 0"
is "$(stat -c %a "$T/run2" "$T/run2"/* | sort -u | tr '\n' ' ')" "600 700 " \
	"an existing --save directory is made 0700, an older file replaced 0600"
is "$(mails)" 14 "and sends nothing more"
has "$T/stderr" "passed 2, enriched 0, sent 0" \
	"its summary says only the 2 carts cart-enrich dropped passed again"
has "$T/stderr" "2 carts that cart-dedupe passed got no result: releasing the claims" \
	"their claims released at once, as in the first run"

# --save: every stage's output, valid NDJSON, and a stage replays by hand.
for f in 1-fetch 2-dedupe 3-enrich 4-notify; do
	if [ -s "$T/run1/$f.ndjson" ] && jq -e . "$T/run1/$f.ndjson" >/dev/null 2>&1; then
		ok "$f.ndjson is valid NDJSON"; else not_ok "$f.ndjson is valid NDJSON"; fi
done
run cart-enrich -c "$cfg" <"$T/run1/2-dedupe.ndjson"
same "$T/stdout" "$T/run1/3-enrich.ndjson" "cart-enrich on the saved 2-dedupe.ndjson reproduces 3-enrich.ndjson"
run cart-fetch -c "$cfg"
same "$T/stdout" "$T/run1/1-fetch.ndjson" "cart-fetch again reproduces 1-fetch.ndjson"
is "$(jq -r .status "$T/run1/4-notify.ndjson" | sort -u)" sent "4-notify.ndjson holds the results"

# One run at a time: while another holds the lock, a run is refused.
lock=$(cart-dedupe -c "$cfg" where).lock
flock -n "$lock" sleep 3 &
holder=$!
sleep 0.5
CARTWATCH_NOW=2026-11-24T13:00:00Z run_pipeline -c "$cfg"
is "$rc" 2 "a concurrent run is refused with exit 2"
has "$T/stderr" "another run holds" "saying why"
wait $holder
is "$(mails)" 14 "and sends nothing"

# Several channels in one call, one after another.
jq '.RetailServerClientOptions.OperatingUnitNumber = "256" | .Cartwatch.StateStore.Path = "state/256.db"' \
	"$cfg" >"$T/conf/eu.json"
CARTWATCH_NOW=2026-11-24T12:00:00Z run_pipeline -c "$cfg" -c "$T/conf/eu.json" --save "$T/two" \
	--report "$T/two.json"
is "$rc" 0 "two configs in one call"
is "$(jq -r '.runs[] | .config' "$T/two.json" | xargs -n1 basename | tr '\n' ' ')" \
	"appsettings.json eu.json " "a run each, in order"
is "$(jq -c '[.runs[].sent]' "$T/two.json")" "[0,2]" "the second channel's carts are sent"
is "$(ls "$T/two" | tr '\n' ' ')" "1-appsettings 2-eu " "--save keeps each run apart"
lacks "$T/stderr" "$(printf '\r')" "no progress line when stderr is not a terminal"
if command -v script >/dev/null; then
	# The run lasts 2 s at least (a slow custom stage), so that the progress
	# line is drawn before the run ends, however loaded the machine.
	CARTWATCH_NOW=2026-11-24T12:00:00Z script -qec "$top/pipeline.sh -c $cfg --notify 'sleep 2; cart-notify'" /dev/null \
		>"$T/tty.out" 2>&1 || :
	has "$T/tty.out" "$(printf '\r')pipeline.sh: fetched [0-9]+, passed [0-9]+, enriched [0-9]+, notified [0-9]+ " \
		"a progress line on a terminal"
fi

# Metrics: the Prometheus text format, written whole.
run python3 - "$T/m.prom" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
value = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf)"
label = name + r'="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(rf"^({name})(?:\{{{label}(?:,{label})*\}})? {value}(?: -?[0-9]+)?$")
types, n = {}, 0
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if m := re.match(rf"^# HELP ({name}) .+$", line):
        continue
    if m := re.match(rf"^# TYPE ({name}) (counter|gauge|histogram|summary|untyped)$", line):
        types[m.group(1)] = m.group(2)
        continue
    m = sample.match(line)
    if not m or m.group(1) not in types:
        sys.exit(f"bad line: {line!r}")
    n += 1
print(n)
PY
is "$rc" 0 "the metrics file parses as Prometheus text"
has "$T/m.prom" '^cartwatch_notifications_total\{config="[^"]*",provider="smtp",status="sent"\} 14$' \
	"with the runs' figures added up"
has "$T/m.prom" '^cartwatch_last_success_timestamp_seconds\{config="[^"]*"\} [1-9][0-9]{9}$' \
	"and the last success time"
lacks "$T/m.prom" 's3cr3t' "and no secret"

# A failure in each stage: the exit status and the summary name it.
fails_in() {  # STAGE DESC: the last run exited 1 and blamed STAGE
	is "$rc" 1 "$2: exit 1"
	has "$T/stderr" "$1 exited 1" "$2: the stage is named"
	is "$(jq -r '.runs[0].failedStage' "$T/report.json")" "$1" "$2: --report names it"
}
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":503,"count":-1}'
run_pipeline -c "$cfg" --report "$T/report.json"
fails_in cart-fetch "Retail Server down for cart-fetch"
sandbox_clear
jq '.Cartwatch.StateStore = {Kind: "cosmos"} | .AzureCosmosOptions = {EndPointUri: "http://127.0.0.1:9",
	PrimaryKey: "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="}' \
	"$cfg" >"$T/conf/nostore.json"
run_pipeline -c "$T/conf/nostore.json" --report "$T/report.json"
fails_in cart-dedupe "the state store down"
sandbox_fault '{"match":{"path":"Products/Search"},"action":"status","status":503,"count":-1}'
CARTWATCH_NOW=2026-11-24T13:00:00Z run_pipeline -c "$cfg" --report "$T/report.json"
fails_in cart-enrich "Retail Server down for cart-enrich"
sandbox_clear
smtp_server_stop
CARTWATCH_NOW=2026-11-24T14:00:00Z run_pipeline -c "$cfg" --report "$T/report.json"
fails_in cart-notify "the SMTP server down"
is "$(jq -r '.runs[0].failed' "$T/report.json")" "$(jq -r '.runs[0].enriched' "$T/report.json")" \
	"every notification of that run failed"
printf '#!/bin/sh\ncat >/dev/null\necho "not a result"\n' >"$T/badnotify"
chmod +x "$T/badnotify"
CARTWATCH_NOW=2026-11-24T15:00:00Z run_pipeline -c "$cfg" --report "$T/report.json" --notify "$T/badnotify"
is "$rc" 1 "a notify stage that writes garbage: exit 1"
is "$(jq -r '.runs[0].failedStage' "$T/report.json")" "$T/badnotify" \
	"--report blames it, not cart-dedupe --commit which refused the garbage"
has "$T/stderr" "badnotify lost records: no result for 3 of 3 notifications" "the lost records are counted"
has "$T/stderr" "badnotify wrote 1 line of something other than a result" "and the garbage line"

# Setup errors: exit 2.
run_pipeline --help
is "$rc" 0 "--help exits 0"
has "$T/stdout" "^usage: pipeline.sh \\[-c FILE\\]\\.\\.\\. \\[--save DIR\\] \\[--dry-run\\]" "and prints the synopsis on stdout"
run_pipeline --bogus
is "$rc" 2 "an unknown option exits 2"
has "$T/stderr" "^usage: pipeline.sh" "with the synopsis on stderr"
run_pipeline -c "$T/conf/missing.json"
is "$rc" 2 "a missing config exits 2"
run_pipeline -c "$cfg" --from
is "$rc" 2 "--from without its argument exits 2"

no_secrets_printed
done_testing
