#!/bin/sh
# make bench's programs on a tiny size: the generator's data (seeded, the shape
# the issue asks for) and a well-formed report. Never a speed: the figures are
# only checked to be there.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

gen=$top/scripts/bench-data.py

# --- the generator
expect_exit 0 "bench-data.py carts" "$gen" carts 2000 -o "$T/a.ndjson"
"$gen" carts 2000 >"$T/b.ndjson"
same "$T/a.ndjson" "$T/b.ndjson" "the same seed and size give the same bytes"
"$gen" --seed 12 carts 2000 >"$T/c.ndjson"
expect_fail "another seed, other carts" cmp -s "$T/a.ndjson" "$T/c.ndjson"
is "$(jq -c . "$T/a.ndjson" | wc -l | tr -d ' ')" 2000 "2,000 carts, each a JSON line"
is "$(jq -r '.Id' "$T/a.ndjson" | sort -u | wc -l | tr -d ' ')" 2000 "each with its own id"
is "$(jq -r '.CartLines | length | select(. < 1 or . > 6)' "$T/a.ndjson" | wc -l | tr -d ' ')" 0 \
	"1 to 6 lines per cart"
is "$(jq -r '.CartLines | length' "$T/a.ndjson" | sort -u | tr '\n' ' ')" "1 2 3 4 5 6 " \
	"every count from 1 to 6 occurs"
guests=$(jq -r 'select((.CustomerId // "") == "") | .Id' "$T/a.ndjson" | wc -l)
[ "$guests" -gt 200 ] && [ "$guests" -lt 600 ] && ok "about a fifth are guest carts ($guests)" ||
	not_ok "about a fifth are guest carts ($guests)"
custs=$(jq -r 'select((.CustomerId // "") != "") | .CustomerId' "$T/a.ndjson" | sort -u | wc -l)
[ "$custs" -lt "$((2000 - guests))" ] && ok "some customers have several carts" ||
	not_ok "some customers have several carts ($custs customers)"
# Prices keep their text: up to 4 decimals, and some have 3 or 4.
grep -o '"Price":[0-9.]*' "$T/a.ndjson" | cut -d: -f2 >"$T/prices"
lacks "$T/prices" '\.[0-9]{5}' "no price has more than 4 decimals"
has "$T/prices" '\.[0-9]{4}$' "some have 4"
has "$T/prices" '^[0-9]+$' "some none"
is "$(jq -r '.CartLines[].ProductId' "$T/a.ndjson" | sort -u | awk '$1 < 22565430001 || $1 > 22565435000' | wc -l | tr -d ' ')" 0 \
	"products from a catalogue of 5,000"
is "$(jq -r '[.channelId, .currency] | @tsv' "$T/a.ndjson" | sort -u)" "$(printf '68719478279\tUSD')" \
	"as cart-fetch writes them (channelId, currency)"

expect_exit 0 "bench-data.py enriched" "$gen" enriched 100 -o "$T/e.ndjson"
is "$(jq -r 'select(.email != "" and (.orderDetails | length) > 0) | .notificationId' "$T/e.ndjson" | sort -u | wc -l | tr -d ' ')" 100 \
	"100 enriched records, each with an email, lines and its own id"

expect_exit 0 "bench-data.py dataset" "$gen" dataset 300 -o "$T/ds.json"
is "$(jq '.retail.units["128"] | [(.carts | length), (.products | length)]' -c "$T/ds.json")" "[300,5000]" \
	"the sandbox data set holds the carts and 5,000 products"
is "$(jq '.retail.units["128"] | ([.carts[].CustomerId | select(. != null and . != "")] | unique) - [.customers[].AccountNumber] | length' "$T/ds.json")" 0 \
	"and every customer its carts name"
sandbox_start "$T/ds.json"
is "$(curl -sf "$SANDBOX/_sandbox/health" | jq -r .ok)" true "the sandbox serves it"

# --- the sandbox's latency knob (a lower bound only: the delay is a sleep)
is "$(curl -sf "$SANDBOX/_sandbox/latency")" '{"ms":0}' "no latency by default"
is "$(curl -sf -X POST -d '{"ms": 300}' "$SANDBOX/_sandbox/latency")" '{"ms":300}' "latency set to 300 ms"
took=$(curl -s -o /dev/null -w '%{time_total}' "$SANDBOX/kv/secrets/x?api-version=7.4")
is "$(awk -v t="$took" 'BEGIN { print (t >= 0.3) }')" 1 \
	"a service request waits at least that long ($took s)"
is "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"ms": -1}' "$SANDBOX/_sandbox/latency")" 400 \
	"a negative latency is refused"
is "$(curl -sf -X DELETE "$SANDBOX/_sandbox/latency")" '{"ms":0}' "DELETE: none again"

# --- the benchmark, tiny
export BENCH_CARTS=200 BENCH_BIG=400 BENCH_SMALL=100 BENCH_PREVIEW=20 BENCH_PREVIEW_BIG=40 \
	BENCH_RUNS=1 BENCH_ONLINE_CARTS=300 BENCH_LATENCY_MS=5 BENCH_OUT="$T/out" \
	BENCH_INFLIGHT=16 BENCH_INFLIGHT_SERVERS=2 BENCH_COSMOS_CARTS=200
expect_exit 0 "scripts/bench on a tiny size" "$top/scripts/bench"
r=$T/out/report.json
same "$T/stdout" "$T/out/report.md" "it prints the markdown report it writes"
is "$(jq -c '.settings | [.BENCH_CARTS, .BENCH_BIG, .BENCH_SMALL, .BENCH_RUNS]' "$r")" "[200,400,100,1]" \
	"report.json records the settings"
is "$(jq -r '.machine.cores' "$r")" "$(nproc)" "the machine's cores"
has "$r" '"commit": "[0-9a-f]{7}' "the commit"
is "$(jq -r '[.speed[].stage] | join(" ")' "$r")" "dedupe commit again preview" "every offline stage"
is "$(jq -r '[.speed[] | .wall_s, .cpu_s, .rss_kib, .records_per_s, .cpu_s_per_100k,
	.jq.wall_s, .jq.cpu_s, .jq.rss_kib | numbers] | length' "$r")" 32 "each with its figures and jq's"
is "$(jq -r '[.speed[].records] | join(" ")' "$r")" "200 200 200 20" "over the records asked for"
is "$(jq -r '[.memory[] | .records | join("→")] | join(" ")' "$r")" "100→400 100→400 100→400 100→40" \
	"memory growth at both sizes"
is "$(jq -r '.online | [.carts, .latency_ms, .sent == .fetched, .fetched > 0] | join(" ")' "$r")" "300 5 true true" \
	"online: the pipeline against the sandbox sent every cart it fetched"
is "$(jq -r '.online.by_service | [.aad, .keyvault, .emarsys, ."retail Carts/Search"] | map(. > 0) | all' "$r")" true \
	"requests counted by service from the sandbox's log"
is "$(jq -r '.online | (.sample_s == .sample_requests * 0.005) and .sample_requests > .requests and .sandbox_cpu_s >= 0' "$r")" true \
	"the sample's sequential time from its request count and the latency"
is "$(jq -r '[.speed[].targets[], .memory[].target, .online_targets[] | .verdict | test("^(met|missed by [0-9.]+×|not measured)")] | all' "$r")" true \
	"each target says met or missed by how much"
has "$T/out/report.md" '^\| `cart-dedupe`, fresh store \| 200 \|' "the markdown table"
has "$T/out/report.md" '^### Online, end to end' "the online section"
is "$(jq -r '.online | .order_history > 0 and .order_history_per_reminder > 0 and .order_history_per_reminder <= 1' "$r")" true \
	"stop on purchase's order history: counted, at most one request per reminder"
has "$T/out/report.md" '^Stop on purchase .* per reminder' "and reported apart"
is "$(jq -r '[.inflight[] | .provider, (.median | .["1"].records, .["8"].records, .["8"].servers)] |
	join(" ")' "$r")" "webhook 16 16 2 smtp 16 16 2" \
	"in flight: webhook and SMTP, every record sent with 1 and with 8, against 2 servers"
is "$(jq -r '[.inflight[] | .speed_up, .median["8"].wall_s, .median["8"].server_cpu_s | numbers] |
	length' "$r")" 6 "each with its speed-up, wall and the servers' CPU"
is "$(jq -r '[.inflight[].target | .verdict | test("^(met|missed by [0-9.]+×)")] | all' "$r")" true \
	"and its target, met or missed by how much"
has "$T/out/report.md" '^### Requests in flight' "the in-flight section"
is "$(jq -r '.cosmos | [.carts, .passed, (.runs | keys | join(",")), ([.runs[].per_cart, .pipeline.per_cart] | map(. > 0) | all), .pipeline.sent == .pipeline.fetched] | join(" ")' "$r")" \
	"200 200 again,claim,commit true true" "Cosmos DB: requests per cart of each run and of the pipeline"
is "$(jq -r '[.online_targets[] | select(.what | test("Cosmos DB"))] | length' "$r")" 4 \
	"Cosmos DB: its targets"
has "$T/out/report.md" '^### Cosmos DB requests' "the Cosmos DB section"
lacks "$T/out/report.md" 'not measured yet' "and nothing is left unmeasured"

BENCH_RUNS=x expect_exit 1 "a bad setting is refused" "$top/scripts/bench"
has "$T/stderr" 'BENCH_RUNS' "naming it"

done_testing
