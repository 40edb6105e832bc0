# dedupe-cases.sh: cart-dedupe's behaviour, the same on every store. Sourced by
# the per-store tests after lib.sh, with $cfg a config for the store under test
# and $store the storectl.py address of it.
# shellcheck shell=sh disable=SC2154

export CARTWATCH_NOW=2026-11-24T12:00:00Z
later=2026-11-24T12:31:00Z      # past the 30-minute lease
storectl() { python3 "$top/tests/storectl.py" "$store" "$@"; }

# carts N [FIRST] [TIME]: N carts of N customers, all modified at TIME.
carts() {
	jq -cn --argjson n "$1" --argjson f "${2:-0}" --arg t "${3:-2026-11-24T10:00:00Z}" '
	    range($f; $f + $n) | {Id: "cart-\(.)", CustomerId: "C\(.)", ModifiedDateTime: $t,
	      CartTypeValue: 1, ReceiptEmail: "c\(.)@example.com",
	      CartLines: [{LineId: "l1", ProductId: 68719478279, Quantity: 1, Price: 9.5}],
	      channelId: 68719478279, currency: "USD"}'
}
# results STATUS < passed carts: the result records cart-notify would write.
results() {
	jq -c --arg s "$1" '{notificationId, cartId: .Id, customerId: .CustomerId,
	    modifiedDateTime: .ModifiedDateTime, step, email: .ReceiptEmail, status: $s,
	    provider: "test", channelId} + (if $s == "failed" then {error: "HTTP 500"} else {} end)'
}
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
status_of() { cart-dedupe -c "$cfg" status --json | jq -c "$1"; }

carts 5 >"$T/five.ndjson"
expect_exit 0 "a dry run" cart-dedupe -c "$cfg" --dry-run <"$T/five.ndjson"
is "$(lines "$T/stdout")" 5 "would pass every cart"
is "$(status_of .counts.claimed)" 0 "but claims none"
expect_exit 0 "where" cart-dedupe -c "$cfg" where
is "$(wc -l <"$T/stdout" | tr -d ' ')" 1 "names the store on one line"
expect_exit 0 "first pass" cart-dedupe -c "$cfg" <"$T/five.ndjson"
cp "$T/stdout" "$T/pass1.ndjson"
is "$(lines "$T/pass1.ndjson")" 5 "passes every cart"
is "$(jq -r '[.notificationId | test("^[0-9a-f]{40}$")] | all' "$T/pass1.ndjson" | sort -u)" true \
	"each with a notificationId"
is "$(jq -r .step "$T/pass1.ndjson" | sort -u)" 1 "and step 1"
is "$(jq -c 'del(.notificationId, .step)' "$T/pass1.ndjson")" "$(cat "$T/five.ndjson")" \
	"and every field of the cart kept"
is "$(status_of .counts.claimed)" 5 "five claims in the store"

expect_exit 0 "second pass while the claims are live" cart-dedupe -c "$cfg" <"$T/five.ndjson"
is "$(lines "$T/stdout")" 0 "passes nothing"
expect_exit 0 "a dry run while the claims are live" cart-dedupe -c "$cfg" --dry-run <"$T/five.ndjson"
is "$(lines "$T/stdout")" 0 "would pass nothing either"

# Results: two sent, one skipped, two failed.
{
	sed -n 1,2p "$T/pass1.ndjson" | results sent
	sed -n 3p "$T/pass1.ndjson" | results skipped
	sed -n 4,5p "$T/pass1.ndjson" | results failed
} >"$T/results1.ndjson"
expect_exit 0 "--commit" cart-dedupe -c "$cfg" --commit <"$T/results1.ndjson"
is "$(lines "$T/stdout")" 0 "writes nothing on stdout"
is "$(status_of '[.counts.sent, .counts.skipped, .counts.failed, .counts.claimed]')" "[2,1,2,0]" \
	"two sent, one skipped, two failed, no claim left"
run storectl get 128 128:68719478279
is "$rc" 1 "a run with failures writes no run-status document"

CARTWATCH_NOW=$later expect_exit 0 "the next run" cart-dedupe -c "$cfg" <"$T/five.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-3 cart-4 " "passes only the failed ones"
cp "$T/stdout" "$T/pass2.ndjson"
results failed <"$T/pass2.ndjson" >"$T/failed2.ndjson"
CARTWATCH_NOW=$later expect_exit 0 "they fail again" cart-dedupe -c "$cfg" --commit <"$T/failed2.ndjson"
CARTWATCH_NOW=2026-11-24T13:02:00Z expect_exit 0 "third run" cart-dedupe -c "$cfg" <"$T/five.ndjson"
results failed <"$T/stdout" >"$T/failed3.ndjson"
is "$(lines "$T/failed3.ndjson")" 2 "still owed: passes them a third time"
CARTWATCH_NOW=2026-11-24T13:02:00Z expect_exit 0 "the third failure" \
	cart-dedupe -c "$cfg" --commit <"$T/failed3.ndjson"
has "$T/stderr" "<stdin>:1: giving up on notification [0-9a-f]{40} \\(cart cart-3\\)" \
	"gives up after MaxAttempts (3), saying so"
is "$(status_of .counts.gaveup)" 2 "both are given up"
CARTWATCH_NOW=2026-11-24T14:00:00Z expect_exit 0 "a later run" cart-dedupe -c "$cfg" <"$T/five.ndjson"
is "$(lines "$T/stdout")" 0 "passes nothing: sent, skipped and given up are final"

# A cart modified after its reminder is a new abandonment.
jq -c 'select(.Id == "cart-0") | .ModifiedDateTime = "2026-11-24T13:00:00Z"' "$T/five.ndjson" >"$T/again.ndjson"
CARTWATCH_NOW=2026-11-24T14:00:00Z expect_exit 0 "cart-0 modified again" \
	cart-dedupe -c "$cfg" <"$T/again.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-0 "passes again"
old=$(jq -r 'select(.Id == "cart-0") | .notificationId' "$T/pass1.ndjson")
new=$(jq -r .notificationId "$T/stdout")
if [ "$old" != "$new" ]; then ok "under a new notificationId"; else not_ok "under a new notificationId"; fi
results sent <"$T/stdout" >"$T/sent-again.ndjson"
CARTWATCH_NOW=2026-11-24T14:00:00Z expect_exit 0 "its reminder is sent" \
	cart-dedupe -c "$cfg" --commit <"$T/sent-again.ndjson"

# The run-status document, in the sample's exact shape.
run storectl get 128 128:68719478279
is "$rc" 0 "a run without failures upserts the run-status document"
is "$(cat "$T/stdout")" \
	'{"id": "128:68719478279", "lastProcessedCartIds": "cart-0", "lastSuceessfulCompletionDateTime": "2026-11-24T13:00:00Z", "oun": "128"}' \
	"in the sample's shape, misspelling and all"

# Bad input: reported with the line number, never claimed.
{
	carts 1 100
	echo 'not json'
	echo '{"Id": "no-time", "CartLines": []}'
	echo '{"Id": "bad-lines", "ModifiedDateTime": "2026-11-24T10:00:00Z", "CartLines": 7}'
	carts 1 101
} >"$T/mixed.ndjson"
before=$(status_of '.counts.claimed')
expect_exit 1 "bad lines" cart-dedupe -c "$cfg" <"$T/mixed.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-100 cart-101 " "the good lines still pass"
has "$T/stderr" "^cart-dedupe: <stdin>:2: not JSON" "line 2 reported"
has "$T/stderr" "^cart-dedupe: <stdin>:3: cart no-time: ModifiedDateTime is not an ISO 8601 time; not claimed" \
	"line 3 reported"
has "$T/stderr" "^cart-dedupe: <stdin>:4: cart bad-lines: CartLines is not an array; not claimed" \
	"line 4 reported"
is "$(status_of '.counts.claimed')" "$((before + 2))" "only the good lines were claimed"
printf '%s\n' '{"status": "sent"}' '{"notificationId": "x", "status": "lost"}' >"$T/badres.ndjson"
expect_exit 1 "bad result lines" cart-dedupe -c "$cfg" --commit <"$T/badres.ndjson"
has "$T/stderr" "^cart-dedupe: <stdin>:1: not a result" "line 1 reported"
has "$T/stderr" "^cart-dedupe: <stdin>:2: not a result" "line 2 reported"

# Opt-out: by customer, by email, in bulk; and back.
carts 3 200 >"$T/three.ndjson"
expect_exit 0 "suppress --customer" cart-dedupe -c "$cfg" suppress --customer C200
expect_exit 0 "suppress --email (any case)" cart-dedupe -c "$cfg" suppress --email C201@Example.COM
expect_exit 0 "a filter run" cart-dedupe -c "$cfg" <"$T/three.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-202 " "suppressed people are not passed"
expect_exit 0 "unsuppress --customer" cart-dedupe -c "$cfg" unsuppress --customer C200
expect_exit 0 "a filter run" cart-dedupe -c "$cfg" <"$T/three.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-200 " "an unsuppressed customer is passed again"
carts 2 300 >"$T/two.ndjson"
printf '%s\n' '{"email": "c300@example.com"}' '{"customerId": "C301"}' '{"nobody": 1}' >"$T/optout.ndjson"
expect_exit 1 "bulk suppress from NDJSON (one bad line)" cart-dedupe -c "$cfg" suppress <"$T/optout.ndjson"
has "$T/stderr" '<stdin>:3: expected one of "email" or "customerId"' "the bad line is named"
expect_exit 0 "a filter run" cart-dedupe -c "$cfg" <"$T/two.ndjson"
is "$(lines "$T/stdout")" 0 "the bulk-suppressed are not passed"
is "$(status_of .suppressions)" 3 "three suppressions held"

# Forget: everything about a person goes.
expect_exit 0 "forget --email" cart-dedupe -c "$cfg" forget --email c1@example.com
has "$T/stderr" "forgot 1 record" "one record forgotten"
run storectl count
n_before=$(cat "$T/stdout")
expect_exit 0 "forget --customer with --keep-suppression" \
	cart-dedupe -c "$cfg" forget --customer C2 --keep-suppression
run storectl count
is "$(cat "$T/stdout")" "$n_before" "one ledger entry gone, one suppression made"
carts 1 2 >"$T/c2.ndjson"
CARTWATCH_NOW=2026-11-30T00:00:00Z expect_exit 0 "a later run" cart-dedupe -c "$cfg" <"$T/c2.ndjson"
is "$(lines "$T/stdout")" 0 "the forgotten but suppressed customer is not passed"
expect_exit 0 "forget --email of a suppressed address" cart-dedupe -c "$cfg" forget --email c300@example.com
has "$T/stderr" "forgot 1 record" "its suppression went too"

# Prune: entries older than the retention go; live claims and opt-outs stay.
carts 1 400 >"$T/fresh.ndjson"
CARTWATCH_NOW=2027-02-27T00:00:00Z cart-dedupe -c "$cfg" <"$T/fresh.ndjson" >/dev/null
CARTWATCH_NOW=2027-02-27T00:00:00Z expect_exit 0 "prune 95 days on" cart-dedupe -c "$cfg" prune
has "$T/stderr" "pruned [1-9][0-9]* records" "says how many went"
CARTWATCH_NOW=2027-02-27T00:00:00Z run cart-dedupe -c "$cfg" status --json
is "$(jq -c '[.counts.sent, .counts.failed, .counts.gaveup, .counts.skipped, .counts.claimed, .liveClaims]' "$T/stdout")" \
	"[0,0,0,0,1,1]" "only the live claim is left of the ledger"
is "$(jq .suppressions "$T/stdout")" 3 "and the suppressions"
CARTWATCH_NOW=2027-02-27T00:00:00Z expect_exit 0 "status as text" cart-dedupe -c "$cfg" status
has "$T/stdout" "^live claims: 1$" "counts live claims"
has "$T/stdout" "^oldest live claim: 2027-02-27T00:00:00Z$" "names the oldest"
has "$T/stdout" "^run status 128:68719478279: last 2026-11-24T13:00:00Z, carts cart-0$" "shows the run status"

# Switching from the .NET sample: its watermark counts as reminded.
storectl put 128 '{"id":"128:99","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00+00:00","lastProcessedCartIds":"sw-1,sw-2"}'
{
	carts 1 0 2026-11-24T08:59:59Z | jq -c '.Id = "sw-0" | .CustomerId = "S0" | .channelId = 99'
	carts 1 0 2026-11-24T09:00:00Z | jq -c '.Id = "sw-1" | .CustomerId = "S1" | .channelId = 99'
	carts 1 0 2026-11-24T09:00:00Z | jq -c '.Id = "sw-3" | .CustomerId = "S3" | .channelId = 99'
	carts 1 0 2026-11-24T09:00:01Z | jq -c '.Id = "sw-4" | .CustomerId = "S4" | .channelId = 99'
} >"$T/switch.ndjson"
expect_exit 0 "carts around the sample's watermark" cart-dedupe -c "$cfg" <"$T/switch.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "sw-3 sw-4 " \
	"those the sample did are not passed; the rest are"
storectl put 128 '{"id":"128:99","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T11:00:00Z","lastProcessedCartIds":""}'
carts 1 0 2026-11-24T10:00:00Z | jq -c '.Id = "sw-5" | .CustomerId = "S5" | .channelId = 99' >"$T/sw5.ndjson"
expect_exit 0 "the watermark is taken once, at the switch" cart-dedupe -c "$cfg" <"$T/sw5.ndjson"
is "$(jq -r .Id "$T/stdout")" sw-5 "later run-status documents (ours) do not move it"

# Two filters at once over the same 1,000 carts pass each key exactly once.
carts 1000 1000 >"$T/thousand.ndjson"
# tee feeds both through pipes in step, so that they really race.
mkfifo "$T/fa" "$T/fb"
cart-dedupe -c "$cfg" <"$T/fa" >"$T/a.ndjson" 2>"$T/a.err" &
pa=$!
cart-dedupe -c "$cfg" <"$T/fb" >"$T/b.ndjson" 2>"$T/b.err" &
pb=$!
tee "$T/fa" <"$T/thousand.ndjson" >"$T/fb"
ra=0; wait $pa || ra=$?
rb=0; wait $pb || rb=$?
cat "$T/a.err" "$T/b.err" >>"$T/all.err"
is "$ra $rb" "0 0" "both concurrent filters exit 0"
is "$(cat "$T/a.ndjson" "$T/b.ndjson" | wc -l | tr -d ' ')" 1000 "together they pass 1000 carts"
is "$(cat "$T/a.ndjson" "$T/b.ndjson" | jq -r .notificationId | sort -u | wc -l | tr -d ' ')" 1000 \
	"each key exactly once"
echo "# concurrent split: $(lines "$T/a.ndjson") + $(lines "$T/b.ndjson")"

# SIGKILL mid-stream: the store stays consistent and the next run recovers.
carts 400 5000 >"$T/k.ndjson"
mkfifo "$T/fifo"
cart-dedupe -c "$cfg" <"$T/fifo" >"$T/k1.ndjson" 2>>"$T/all.err" &
pk=$!
exec 3>"$T/fifo"
head -n 200 "$T/k.ndjson" >&3
i=0
while [ "$(lines "$T/k1.ndjson")" -lt 200 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
kill -9 $pk
wait $pk 2>/dev/null || :
exec 3>&-
is "$(lines "$T/k1.ndjson")" 200 "the killed filter had passed the first 200"
expect_exit 0 "the store is readable after the kill" cart-dedupe -c "$cfg" status --json
expect_exit 0 "a run right after the kill" cart-dedupe -c "$cfg" <"$T/k.ndjson"
is "$(lines "$T/stdout")" 200 "passes only the 200 the killed run never reached"
results sent <"$T/stdout" >"$T/k2res.ndjson"
expect_exit 0 "and its results are committed" cart-dedupe -c "$cfg" --commit <"$T/k2res.ndjson"
CARTWATCH_NOW=$later expect_exit 0 "a run after the lease" cart-dedupe -c "$cfg" <"$T/k.ndjson"
cp "$T/stdout" "$T/k3.ndjson"
is "$(lines "$T/k3.ndjson")" 200 "takes over the killed run's 200 claims"
is "$(cat "$T/k1.ndjson" "$T/k3.ndjson" | jq -r .notificationId | sort | uniq -d | wc -l | tr -d ' ')" \
	"$(jq -r .notificationId "$T/k1.ndjson" | sort -u | wc -l | tr -d ' ')" \
	"the taken-over keys are the killed run's, at most once more each"

results sent <"$T/k3.ndjson" >"$T/k3res.ndjson"
base=$(CARTWATCH_NOW=$later status_of .counts.sent)
mkfifo "$T/fifo2"
cart-dedupe -c "$cfg" --commit <"$T/fifo2" 2>>"$T/all.err" &
pc=$!
exec 4>"$T/fifo2"
head -n 100 "$T/k3res.ndjson" >&4
i=0
until [ "$(CARTWATCH_NOW=$later status_of .counts.sent)" -ge $((base + 100)) ] || [ $i -ge 300 ]; do
	sleep 0.1; i=$((i + 1)); done
kill -9 $pc
wait $pc 2>/dev/null || :
exec 4>&-
is "$(CARTWATCH_NOW=$later status_of .counts.sent)" $((base + 100)) \
	"the killed commit had made its first 100 results durable"
CARTWATCH_NOW=$later expect_exit 0 "the whole commit again after the kill" \
	cart-dedupe -c "$cfg" --commit <"$T/k3res.ndjson"
is "$(CARTWATCH_NOW=$later status_of .counts.sent)" $((base + 200)) \
	"every result is recorded once, none twice"
