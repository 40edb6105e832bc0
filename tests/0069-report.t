#!/bin/sh
# cart-dedupe report: the recovery report of a fixed data set (ledger entries
# written straight into the store, orders in the sandbox's GetOrderHistory)
# against figures computed by hand, as NDJSON, as the terminal table and as
# the HTML page, whose chart headless Chromium must show; on SQLite, and the
# core case on Cosmos DB (a real server speaking its REST API).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
	echo "Bail out! no $chromium (apt-get install chromium)"
	exit 1
fi
sandbox_start
sandbox_env
cfg=$T/appsettings.json
sandbox_config "$cfg" '.Cartwatch.StateStore = {Kind: "sqlite", Path: "state.db"} |
	.Cartwatch.Report.AttributionDays = 2'
store=sqlite:$T/state.db
kind=sqlite
# shellcheck source=tests/report-cases.sh
. "$top/tests/report-cases.sh"

# The terminal table: the same figures, and a total line, by hand.
expect_exit 0 "report: the table" cart-dedupe -c "$cfg" report --since 2026-11-20T00:00:00Z
cp "$T/stdout" "$T/table.txt"
same "$T/table.txt" "$top/tests/golden/report.txt" "the table is the hand-computed one (tests/golden/report.txt)"

# The page: the figures read back from it are the NDJSON's, the totals the
# table's; nothing in it comes from elsewhere or runs.
(umask 022 && cart-dedupe -c "$cfg" report --days 7 --html "$T/out/report.html" \
	>"$T/stdout" 2>"$T/stderr") && rc=0 || rc=$?
is "$rc" 1 "--html into a directory that is not there: exit 1"
mkdir "$T/out"
(umask 022 && cart-dedupe -c "$cfg" report --days 7 --html "$T/out/report.html" \
	>"$T/stdout" 2>"$T/stderr") && rc=0 || rc=$?
is "$rc" 0 "report --html: exit 0"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "writes the page, nothing on stdout"
is "$(stat -c %a "$T/out/report.html")" 644 "mode 0644 under umask 022: counts and sums only, to be shared"
is "$(find "$T/out" -type f | wc -l | tr -d ' ')" 1 "no temporary file left"
python3 "$top/tests/reporthtml.py" "$T/out/report.html" >"$T/fromhtml.ndjson"
# the hand-computed figures, with G-1's recovery on 2026-11-25 (jq would
# write 1.0 as 1)
python3 -c 'import sys; sys.stdout.write(open(sys.argv[1]).read().replace(
	"\"day\":\"2026-11-25\",\"step\":1,\"sent\":1,\"recovered\":0,\"rate\":0.0,\"revenue\":{}",
	"\"day\":\"2026-11-25\",\"step\":1,\"sent\":1,\"recovered\":1,\"rate\":1.0,\"revenue\":{\"USD\":\"12.34\"}"))' \
	"$top/tests/golden/report.ndjson" >"$T/want.ndjson"
is "$(cmp -s "$T/want.ndjson" "$top/tests/golden/report.ndjson" || echo changed)" changed \
	"(the expected page's figures differ from the golden file's by G-1)"
same "$T/fromhtml.ndjson" "$T/want.ndjson" "the page's figures are the hand-computed ones"
has "$T/out/report.html" '<tr class="total"><th colspan="2">Total</th><td class="sent">10</td><td class="recovered">7</td><td class="rate" data-value="0.7000">70.0%</td><td class="revenue"><span data-currency="NOK">NOK 200.00</span> <span data-currency="USD">USD 112.84</span> </td>' \
	"and its totals (10 sent, 7 recovered, 200.00 NOK, 112.84 USD)"
lacks "$T/out/report.html" '<script|javascript:|https?:|//[a-z0-9]|url\(|@import|src=|href=|<link|<iframe|<object|<embed' \
	"no script and nothing from elsewhere"
has "$T/out/report.html" "<svg class=\"chart\"" "an inline SVG chart"

# What Chromium shows: the chart's two bar colours, far more of each than
# the legend's squares hold; the same check fails on a page without a chart.
shot() {
	chromium_run 60 --screenshot="$2" --window-size=1000,900 "file://$1" >"$T/chrome.log" 2>&1
}
bars() {   # PNG: $1 and $2 become the pixels near the sent and recovered colours
	python3 "$top/tests/pngstat.py" "$1" 3b6fd4 e8833a >"$T/stat"
	jq -r '"\(.near["3b6fd4"]) \(.near["e8833a"])"' "$T/stat" >"$T/bars"
	read -r sent_px recovered_px <"$T/bars"
}
if shot "$T/out/report.html" "$T/shot.png" && [ -s "$T/shot.png" ]; then
	ok "Chromium took a screenshot of the report"
else
	not_ok "Chromium took a screenshot of the report"
	tail -n 5 "$T/chrome.log" | sed 's/^/#   /'
fi
bars "$T/shot.png"
is "$([ "$sent_px" -gt 3000 ] && [ "$recovered_px" -gt 3000 ] && echo shown)" shown \
	"the chart shows: bars of both colours ($sent_px and $recovered_px pixels)"
is "$([ "$sent_px" -gt "$recovered_px" ] && echo more)" more "more sent than recovered"
expect_exit 0 "a report of a day without reminders" cart-dedupe -c "$cfg" report \
	--since 2026-11-26T00:00:00Z --html "$T/out/empty.html"
has "$T/out/empty.html" "No reminders in this period" "says so"
shot "$T/out/empty.html" "$T/empty.png" || :
bars "$T/empty.png"
is "$([ "$sent_px" -gt 3000 ] && [ "$recovered_px" -gt 3000 ] && echo shown)" "" \
	"a page without a chart does not pass for one ($sent_px and $recovered_px pixels: the legend)"

# Usage.
for bad in "--days 0" "--days 7 --since 2026-11-20T00:00:00Z" "--json --html $T/x.html" \
    "--since yesterday" "--days x"; do
	# shellcheck disable=SC2086
	expect_exit 2 "report $bad: a usage error" cart-dedupe -c "$cfg" report $bad
done
expect_exit 2 "--days is the report's only" cart-dedupe -c "$cfg" status --days 3
expect_exit 2 "--html too" cart-dedupe -c "$cfg" prune --html "$T/x.html"

# Retail Server unreachable: the figures the store knows, exit 1, said why.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jq --arg u "http://127.0.0.1:$port/Commerce" '.RetailServerClientOptions.RetailServerUri = $u' \
	"$cfg" >"$T/down.json"
storectl put 128 "$(storectl get 128 r19 | jq -c 'del(.recovery)')"
expect_exit 1 "Retail Server down: exit 1" cart-dedupe -c "$T/down.json" report --days 7 --json
has "$T/stderr" "GetOrderHistory" "names the call that failed"
has "$T/stderr" "the orders of 1 customer could not be read" "and what it means for the figures"
same "$T/stdout" "$T/report.ndjson" "the figures it could make, r19 not recovered"
# No Retail Server configured, with something to ask: a configuration error.
jq 'del(.RetailServerClientOptions.RetailServerUri)' "$cfg" >"$T/nors.json"
expect_exit 2 "nothing to ask with: exit 2" cart-dedupe -c "$T/nors.json" report --days 7
has "$T/stderr" "RetailServerUri" "names the key"
# ... but a report with nothing to ask needs no Retail Server.
expect_exit 0 "r19 settled again" cart-dedupe -c "$cfg" report --days 7
expect_exit 0 "a report with nothing open asks nobody" cart-dedupe -c "$T/nors.json" report \
	--since 2026-11-20T00:00:00Z --json
is "$(jq -c 'select(.day == "2026-11-25") | .recovered' "$T/stdout")" 1 "and has every day"
# An entry that changes while the report waits for Retail Server (the
# sandbox slowed down): kept only by a replace with the etag it read, so q1,
# changed but still the same sent reminder, is read again and settled with
# its change kept; q2, sent again meanwhile (another sentAt), is left alone.
jq '.Cartwatch.StateStore.Path = "race.db"' "$cfg" >"$T/race.json"
store=sqlite:$T/race.db
run cart-dedupe -c "$T/race.json" status
entry q1 sent 1 004013 2026-11-20T11:00:00Z
entry q2 sent 1 004017 2026-11-22T10:00:00Z
sandbox_clear
curl -sf -X POST --data '{"ms": 400}' "$SANDBOX/_sandbox/latency" >/dev/null
cart-dedupe -c "$T/race.json" report --days 7 --json >"$T/race.out" 2>"$T/race.err" &
race=$!
i=0   # the first request to a service: the report has read the store
until [ -n "$(curl -sf "$SANDBOX/_sandbox/log")" ] || [ $i -gt 300 ]; do
	i=$((i + 1)); sleep 0.05; done
entry q1 sent 1 004013 2026-11-20T11:00:00Z '.note = "changed meanwhile"'
entry q2 sent 1 004017 2026-11-26T11:00:00Z
wait "$race" && rc=0 || rc=$?
curl -sf -X DELETE "$SANDBOX/_sandbox/latency" >/dev/null
is "$rc $(history_asks)" "0 004013 004017 " "the report waited for both customers' orders"
is "$(storectl get 128 q1 | jq -c '[.note, .recoveryCheckedUntil]')" \
	'["changed meanwhile","2026-11-22T11:00:00Z"]' "a change meanwhile is kept, and the entry settled"
is "$(storectl get 128 q2 | jq -c '[.sentAt, .recoveryCheckedUntil]')" \
	'["2026-11-26T11:00:00Z",null]' "a reminder sent again meanwhile is not settled by the old one's window"
no_secrets_printed

# The core case on Cosmos DB.
cosmos_start
export COSMOS_KEY
jq --arg u "$COSMOS" --arg k "$COSMOS_KEY" '.Cartwatch.StateStore = {Kind: "cosmos"} |
	.AzureCosmosOptions = {EndPointUri: $u, PrimaryKey: $k, DatabaseId: "Cartwatch",
	ContainerId: "RunStatus"}' "$cfg" >"$T/cosmos.json"
cfg=$T/cosmos.json
store=cosmos:$COSMOS/Cartwatch/RunStatus
kind=cosmos
# shellcheck source=tests/report-cases.sh
. "$top/tests/report-cases.sh"

done_testing
