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

# Forget: everything about a person goes, but for an opt-out, kept or made
# unless --and-unsuppress.
expect_exit 0 "forget --email" cart-dedupe -c "$cfg" forget --email c1@example.com
has "$T/stderr" "forgot 1 record; an opt-out is made" "one record forgotten, an opt-out made"
run storectl count
n_before=$(cat "$T/stdout")
expect_exit 0 "forget --customer with --keep-suppression" \
	cart-dedupe -c "$cfg" forget --customer C2 --keep-suppression
run storectl count
is "$(cat "$T/stdout")" "$n_before" "one ledger entry gone, one suppression made"
carts 1 2 >"$T/c2.ndjson"
CARTWATCH_NOW=2026-11-30T00:00:00Z expect_exit 0 "a later run" cart-dedupe -c "$cfg" <"$T/c2.ndjson"
is "$(lines "$T/stdout")" 0 "the forgotten but suppressed customer is not passed"
expect_exit 0 "forget --email --and-unsuppress of a suppressed address" \
	cart-dedupe -c "$cfg" forget --email c300@example.com --and-unsuppress
has "$T/stderr" "forgot 1 record; no opt-out is left" "its suppression went too"

# Prune: entries older than the retention go; live claims and opt-outs stay.
carts 1 400 >"$T/fresh.ndjson"
CARTWATCH_NOW=2027-02-27T00:00:00Z cart-dedupe -c "$cfg" <"$T/fresh.ndjson" >/dev/null
CARTWATCH_NOW=2027-02-27T00:00:00Z expect_exit 0 "prune 95 days on" cart-dedupe -c "$cfg" prune
has "$T/stderr" "pruned [1-9][0-9]* records" "says how many went"
CARTWATCH_NOW=2027-02-27T00:00:00Z run cart-dedupe -c "$cfg" status --json
is "$(jq -c '[.counts.sent, .counts.failed, .counts.gaveup, .counts.skipped, .counts.claimed, .liveClaims]' "$T/stdout")" \
	"[0,0,0,0,1,1]" "only the live claim is left of the ledger"
is "$(jq .suppressions "$T/stdout")" 4 "and the suppressions"
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

# Configurations derived from $cfg live beside it: the same store.
cdir=$(dirname "$cfg")

# Uncertain outcomes (a send that may have reached the customer): kept,
# counted, not sent again by themselves; resend sends one again on purpose.
carts 2 600 >"$T/unsure.ndjson"
expect_exit 0 "two carts claimed" cart-dedupe -c "$cfg" <"$T/unsure.ndjson"
results failed <"$T/stdout" | jq -c '.uncertain = true' >"$T/unsure-res.ndjson"
ukey=$(head -n 1 "$T/unsure-res.ndjson" | jq -r .notificationId)
uncertain0=$(status_of .counts.uncertain)
expect_exit 0 "two uncertain results committed" cart-dedupe -c "$cfg" --commit <"$T/unsure-res.ndjson"
has "$T/stderr" "<stdin>:1: notification $ukey \\(cart cart-600\\) may or may not have been delivered: kept as uncertain" \
	"says so, naming the notification"
is "$(status_of .counts.uncertain)" "$((uncertain0 + 2))" "status counts them as uncertain"
run storectl get 128 "$ukey"
is "$(jq -c '[.state, .attempts]' "$T/stdout")" '["uncertain",0]' "not counted as an attempt"
CARTWATCH_NOW=$later expect_exit 0 "a run after the lease" cart-dedupe -c "$cfg" <"$T/unsure.ndjson"
is "$(lines "$T/stdout")" 0 "does not send them again by itself"
head -n 1 "$T/unsure-res.ndjson" | jq -c 'del(.uncertain)' >"$T/late.ndjson"
expect_exit 0 "a late failed result for an uncertain key" cart-dedupe -c "$cfg" --commit <"$T/late.ndjson"
run storectl get 128 "$ukey"
is "$(jq -r .state "$T/stdout")" uncertain "changes nothing: uncertain is final"
expect_exit 0 "resend NOTIFICATION-ID" cart-dedupe -c "$cfg" resend "$ukey"
has "$T/stderr" "notification $ukey \\(uncertain\\) is owed again" "says what it was"
CARTWATCH_NOW=$later expect_exit 0 "the next run" cart-dedupe -c "$cfg" <"$T/unsure.ndjson"
is "$(jq -r .notificationId "$T/stdout")" "$ukey" "sends that one again, under its own key"
CARTWATCH_NOW=$later expect_exit 1 "resend while a run holds the claim" cart-dedupe -c "$cfg" resend "$ukey"
has "$T/stderr" "notification $ukey is being sent" "is refused"
expect_exit 1 "resend of a key the ledger lacks" cart-dedupe -c "$cfg" resend 0123456789abcdef0123456789abcdef01234567
has "$T/stderr" "no entry for notification 0123456789abcdef0123456789abcdef01234567" "says so"
expect_exit 2 "resend without a key" cart-dedupe -c "$cfg" resend
printf '%s\n' '{"notificationId": "x", "status": "sent", "uncertain": true}' \
	'{"notificationId": "x", "status": "failed", "uncertain": "yes"}' >"$T/badunsure.ndjson"
expect_exit 1 "malformed uncertain results" cart-dedupe -c "$cfg" --commit <"$T/badunsure.ndjson"
has "$T/stderr" "<stdin>:1: result x: only a failed send can be uncertain" "uncertain with sent"
has "$T/stderr" "<stdin>:2: result x: uncertain is not true or false" "uncertain not a boolean"
# Cartwatch.StateStore.ResendUncertain: an ordinary failure.
jq '.Cartwatch.StateStore.ResendUncertain = true' "$cfg" >"$cdir/resend.json"
carts 1 610 >"$T/r610.ndjson"
expect_exit 0 "ResendUncertain: a claim" cart-dedupe -c "$cdir/resend.json" <"$T/r610.ndjson"
results failed <"$T/stdout" | jq -c '.uncertain = true' >"$T/r610-res.ndjson"
expect_exit 0 "ResendUncertain: an uncertain result" cart-dedupe -c "$cdir/resend.json" --commit <"$T/r610-res.ndjson"
lacks "$T/stderr" "kept as uncertain" "is not kept as uncertain"
run storectl get 128 "$(jq -r .notificationId "$T/r610-res.ndjson")"
is "$(jq -c '[.state, .attempts]' "$T/stdout")" '["failed",1]' "is released and counts an attempt"
CARTWATCH_NOW=$later expect_exit 0 "ResendUncertain: the next run" cart-dedupe -c "$cdir/resend.json" <"$T/r610.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-610 "sends it again"

# A corrupt ledger entry is an error naming its key, never busy nor free;
# the rest of the stream flows.
carts 3 620 >"$T/corrupt.ndjson"
expect_exit 0 "three carts claimed" cart-dedupe -c "$cfg" <"$T/corrupt.ndjson"
k0=$(sed -n 1p "$T/stdout" | jq -r .notificationId)
k1=$(sed -n 2p "$T/stdout" | jq -r .notificationId)
storectl put 128 "$(storectl get 128 "$k0" | jq -c '.state = "bogus"')"
storectl put 128 "$(storectl get 128 "$k1" | jq -c '.attempts = "two"')"
CARTWATCH_NOW=$later expect_exit 1 "a run over two corrupt entries" cart-dedupe -c "$cfg" <"$T/corrupt.ndjson"
has "$T/stderr" "^cart-dedupe: <stdin>:1: ledger entry $k0 is corrupt: its state is not one of ours" \
	"a state not ours: named"
has "$T/stderr" "^cart-dedupe: <stdin>:2: ledger entry $k1 is corrupt: attempts is not a whole number" \
	"attempts not a number: named"
is "$(jq -r .Id "$T/stdout")" cart-622 "the rest of the stream flows"
CARTWATCH_NOW=$later expect_exit 1 "a dry run over them" cart-dedupe -c "$cfg" --dry-run <"$T/corrupt.ndjson"
has "$T/stderr" "<stdin>:1: ledger entry $k0 is corrupt" "names it too"
sed -n 1p "$T/corrupt.ndjson" | jq -c --arg k "$k0" '{notificationId: $k, cartId: .Id, status: "sent", provider: "test"}' >"$T/corrupt-res.ndjson"
expect_exit 1 "a result for a corrupt entry" cart-dedupe -c "$cfg" --commit <"$T/corrupt-res.ndjson"
has "$T/stderr" "<stdin>:1: ledger entry $k0 is corrupt" "names the key"
expect_exit 0 "resend of a corrupt entry" cart-dedupe -c "$cfg" resend "$k0"
has "$T/stderr" "notification $k0 \\(corrupt\\) is owed again" "removes it"
sed -n 1p "$T/corrupt.ndjson" >"$T/c620.ndjson"
CARTWATCH_NOW=$later expect_exit 0 "the next run" cart-dedupe -c "$cfg" <"$T/c620.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-620 "passes its cart again"
cart-dedupe -c "$cfg" resend "$k1" 2>/dev/null

# Provider "preview": a dry run for the ledger, whatever the flags.
jq '.Cartwatch.Notify.Provider = "preview"' "$cfg" >"$cdir/preview.json"
carts 2 630 >"$T/prev.ndjson"
expect_exit 0 "a filter run with the preview provider" cart-dedupe -c "$cdir/preview.json" <"$T/prev.ndjson"
is "$(lines "$T/stdout")" 2 "passes the carts"
has "$T/stderr" '^cart-dedupe: note: Cartwatch.Notify.Provider is "preview": a dry run for the ledger, nothing is claimed$' \
	"says it claims nothing"
jq -c '{notificationId, cartId: .Id, status: "skipped", provider: "preview", channelId, modifiedDateTime: .ModifiedDateTime}' \
	"$T/stdout" >"$T/prev-res.ndjson"
expect_exit 0 "its results committed" cart-dedupe -c "$cdir/preview.json" --commit <"$T/prev-res.ndjson"
has "$T/stderr" 'nothing is recorded$' "says it records nothing"
expect_exit 0 "preview results from a hand-run stage" cart-dedupe -c "$cfg" --commit <"$T/prev-res.ndjson"
is "$(count "$T/stderr" 'note: results of the preview provider and of test sends')" 1 "are not recorded, said once"
jq -c '. + {provider: "smtp", status: "sent", test: true}' "$T/prev-res.ndjson" >"$T/test-res.ndjson"
expect_exit 0 "results of a test send (cart-notify --to)" cart-dedupe -c "$cfg" --commit <"$T/test-res.ndjson"
expect_exit 0 "then a run with the real provider" cart-dedupe -c "$cfg" <"$T/prev.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-630 cart-631 " "sends everything"

# A run killed after cart-notify handed records to the provider and before
# --commit: those records were marked "sending" first, so when the lease runs
# out they are uncertain (they may have been delivered), while a claim that
# never reached cart-notify is taken over and sent. The provider here is a
# webhook on a loopback port that refuses: the mark is what is under test.
printf '{"WebhookSecret": "s3"}' >"$cdir/vault.json"
chmod 600 "$cdir/vault.json"
# No Retail Server here to ask for orders: stop on purchase is off.
jq --arg v "file:$cdir/vault.json" '.KeyVaultOptions.KeyVaultUrl = $v |
    .Cartwatch.Notify = {Provider: "webhook", Webhook: {Url: "http://127.0.0.1:9/hook"}} |
    .Cartwatch.StopOnPurchase = false |
    .Cartwatch.Http = {MaxAttempts: 1}' "$cfg" >"$cdir/hook.json"
carts 3 640 >"$T/kill.ndjson"
expect_exit 0 "three carts claimed" cart-dedupe -c "$cdir/hook.json" <"$T/kill.ndjson"
sed -n 1,2p "$T/stdout" | jq -c '{notificationId, step, cartId: .Id, customerId: .CustomerId,
    modifiedDateTime: .ModifiedDateTime, email: .ReceiptEmail, channelId, orderDetails: []}' 	>"$T/kill-notes.ndjson"
k640=$(head -n 1 "$T/kill-notes.ndjson" | jq -r .notificationId)
sending0=$(status_of ".counts.sending // 0")
expect_exit 1 "cart-notify hands two of them over (the receiver is down)" \
	cart-notify -c "$cdir/hook.json" <"$T/kill-notes.ndjson"
is "$(status_of .counts.sending)" "$((sending0 + 2))" "both were marked sending before the send"
run storectl get 128 "$k640"
is "$(jq -r .state "$T/stdout")" sending "the mark is in the store"
# No --commit: the run was killed. After the lease:
uncertain0=$(status_of .counts.uncertain)
CARTWATCH_NOW=$later expect_exit 0 "the next run" cart-dedupe -c "$cdir/hook.json" <"$T/kill.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-642 " \
	"takes over only the claim that never reached the provider"
is "$(status_of .counts.uncertain)" "$((uncertain0 + 2))" "the two handed over are now uncertain"
run storectl get 128 "$k640"
is "$(jq -c '[.state, .attempts, (.error | test("interrupted"))]' "$T/stdout")" \
	'["uncertain",0,true]' "saying the run sending it was interrupted"
jq '.Cartwatch.StateStore.ResendUncertain = true' "$cdir/hook.json" >"$cdir/hook-resend.json"
carts 1 650 >"$T/kill2.ndjson"
expect_exit 0 "ResendUncertain: a claim" cart-dedupe -c "$cdir/hook-resend.json" <"$T/kill2.ndjson"
jq -c '{notificationId, step, cartId: .Id, customerId: .CustomerId, modifiedDateTime: .ModifiedDateTime,
    email: .ReceiptEmail, channelId, orderDetails: []}' "$T/stdout" >"$T/kill2-notes.ndjson"
expect_exit 1 "handed over" cart-notify -c "$cdir/hook-resend.json" <"$T/kill2-notes.ndjson"
CARTWATCH_NOW=$later expect_exit 0 "ResendUncertain: the next run" \
	cart-dedupe -c "$cdir/hook-resend.json" <"$T/kill2.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-650 "takes an interrupted send over and sends it again"

# Personal data: emails are kept as a keyed hash, under a key of the store's own.
run storectl keyed c630@example.com
is "$rc" 0 "the store has one hashing key"
run storectl list
is "$(jq -r 'select(.cartId == "cart-630") | .emailHash' "$T/stdout")" "$(storectl keyed c630@example.com)" \
	"emailHash is HMAC-SHA256 under it, of the SHA-1 of the address"
hk=$(jq -r 'select(.kind == "cartwatch.hashkey") | .key' "$T/stdout")
cart-dedupe -c "$cfg" status --json >"$T/st.json" 2>&1
cart-dedupe -c "$cfg" status >>"$T/st.json" 2>&1
if [ -n "$hk" ] && ! grep -Fq "$hk" "$T/st.json" "$T/all.err"; then ok "the hashing key is never printed"; else
	not_ok "the hashing key is never printed"; fi

# Rows of earlier versions, hashed with SHA-1 alone, are rewritten under the
# key on the first run: opt-outs made before still hold, forget still erases.
case $store in
sqlite:*) jq '.Cartwatch.StateStore.Path = "state/legacy.db"' "$cfg" >"$cdir/legacy.json"
	lstore=sqlite:$(dirname "${store#sqlite:}")/legacy.db ;;
*) jq '.AzureCosmosOptions.ContainerId = "Legacy"' "$cfg" >"$cdir/legacy.json"
	lstore=${store%/*}/Legacy ;;
esac
sha1() { printf %s "$1" | sha1sum | cut -d' ' -f1; }
lctl() { python3 "$top/tests/storectl.py" "$lstore" "$@"; }
cart-dedupe -c "$cdir/legacy.json" status >/dev/null  # makes the file (status writes no key)
lctl put '*' "{\"id\":\"suppress:email:$(sha1 m1@example.com)\",\"oun\":\"*\",\"kind\":\"cartwatch.suppression\",\"on\":\"email\",\"since\":\"2026-01-01T00:00:00Z\"}"
lctl put '*' "{\"id\":\"suppress:customer:$(sha1 M2)\",\"oun\":\"*\",\"kind\":\"cartwatch.suppression\",\"on\":\"customer\",\"since\":\"2026-01-01T00:00:00Z\"}"
lctl put 128 "{\"id\":\"$(sha1 old-entry)\",\"oun\":\"128\",\"kind\":\"cartwatch.reminder\",\"cartId\":\"old\",\"customerId\":\"M3\",\"emailHash\":\"$(sha1 m3@example.com)\",\"modifiedDateTime\":\"2026-11-01T00:00:00Z\",\"step\":1,\"state\":\"sent\",\"attempts\":0,\"leaseUntil\":0,\"claimedBy\":\"\",\"updated\":\"2026-11-01T00:00:00Z\",\"updatedEpoch\":1793491200}"
{
	carts 1 1 | jq -c '.ReceiptEmail = "M1@Example.com"'
	carts 1 2 | jq -c '.CustomerId = "M2"'
	carts 1 4
} >"$T/legacy.ndjson"
expect_exit 0 "the first run on a store of an earlier version" cart-dedupe -c "$cdir/legacy.json" <"$T/legacy.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-4 "its email and customer opt-outs still hold"
python3 "$top/tests/storectl.py" "$lstore" list >"$T/legacy-docs.ndjson"
is "$(jq -r 'select(.kind == "cartwatch.reminder" or .kind == "cartwatch.suppression") |
	(.emailHash // (.id | sub(".*:"; ""))) | select(test("^[0-9a-f]{40}$"))' "$T/legacy-docs.ndjson" | wc -l | tr -d ' ')" 0 \
	"no SHA-1-only hash is left"
is "$(jq -r 'select(.cartId == "old") | .emailHash' "$T/legacy-docs.ndjson")" "$(lctl keyed m3@example.com)" \
	"the old entry's emailHash is keyed now"
expect_exit 0 "forget --email of the old entry" cart-dedupe -c "$cdir/legacy.json" forget --email m3@example.com
has "$T/stderr" "forgot 1 record" "erases it"
expect_exit 0 "unsuppress --customer of an old opt-out" cart-dedupe -c "$cdir/legacy.json" unsuppress --customer M2
expect_exit 0 "forget --email --and-unsuppress of an old opt-out" \
	cart-dedupe -c "$cdir/legacy.json" forget --email m1@example.com --and-unsuppress
has "$T/stderr" "forgot 1 record" "erases it"
expect_exit 0 "the next run" cart-dedupe -c "$cdir/legacy.json" <"$T/legacy.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-1 cart-2 " "both are owed again"

# Issue 12's policies, stepping the business clock: a late step skipped, the
# frequency cap across carts and steps, quiet hours that defer and then send.
# Steps at 10 and 60 minutes; step 2 late 30 minutes after its moment.
jq '.Cartwatch.Reminders = [{AfterMinutes: 10}, {AfterMinutes: 60, MaxLateMinutes: 30}]' \
	"$cfg" >"$cdir/late.json"
at() { CARTWATCH_NOW=$1; export CARTWATCH_NOW; }
carts 2 7100 2026-11-24T10:00:00Z >"$T/late.ndjson"
at 2026-11-24T10:15:00Z
expect_exit 0 "late: step 1 of two carts" cart-dedupe -c "$cdir/late.json" <"$T/late.ndjson"
results sent <"$T/stdout" >"$T/late-r1.ndjson"
cart-dedupe -c "$cdir/late.json" --commit <"$T/late-r1.ndjson" 2>/dev/null
at 2026-11-24T11:30:00Z   # step 2's moment 11:00, late after 11:30
expect_exit 0 "late: at the last moment" cart-dedupe -c "$cdir/late.json" <"$T/late.ndjson"
is "$(jq -r '"\(.Id) \(.step)"' "$T/stdout" | tr '\n' ' ')" "cart-7100 2 cart-7101 2 " \
	"step 2 is still sent at its moment + MaxLateMinutes"
cart-dedupe -c "$cdir/late.json" --commit <"$T/stdout" 2>/dev/null || :   # released (no status)
carts 1 7102 2026-11-24T10:00:00Z >"$T/late2.ndjson"
at 2026-11-24T10:15:00Z
cart-dedupe -c "$cdir/late.json" <"$T/late2.ndjson" | results sent >"$T/late-r2.ndjson"
cart-dedupe -c "$cdir/late.json" --commit <"$T/late-r2.ndjson" 2>/dev/null
at 2026-11-24T11:30:01Z
expect_exit 0 "late: a second after" cart-dedupe -c "$cdir/late.json" <"$T/late2.ndjson"
is "$(lines "$T/stdout")" 0 "step 2 is not sent late"
k2=$(cart-dedupe -c "$cdir/late.json" --dry-run <"$T/late2.ndjson" 2>/dev/null | wc -l | tr -d ' ')
is "$k2" 0 "and stays skipped"
is "$(python3 "$top/tests/storectl.py" "$store" list | jq -r 'select(.cartId == "cart-7102" and .step == 2) | "\(.state) \(.reason)"')" \
	"skipped late" "the ledger says skipped, reason late"
at 2026-11-24T12:00:00Z   # the clock the other cases use

# The frequency cap: one reminder per person within 120 minutes, whatever the
# carts and steps. C7200 has two carts; C7201's step 2 falls inside the cap.
jq '.Cartwatch.Reminders = [{AfterMinutes: 10}, {AfterMinutes: 60}] |
	.Cartwatch.FrequencyCap.Minutes = 120' "$cfg" >"$cdir/cap.json"
{
	carts 1 7200 2026-11-24T10:00:00Z
	carts 1 7201 2026-11-24T10:00:00Z
	carts 1 7202 2026-11-24T10:05:00Z | jq -c '.CustomerId = "C7200" | .ReceiptEmail = "other@example.com"'
	carts 1 7203 2026-11-24T10:05:00Z | jq -c '.CustomerId = "G" | .ReceiptEmail = "C7201@Example.com"'
} >"$T/cap.ndjson"
at 2026-11-24T10:20:00Z
expect_exit 0 "cap: the first run" cart-dedupe -c "$cdir/cap.json" <"$T/cap.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-7200 cart-7201 " \
	"one cart each: the same customer's second cart and the same address's are capped"
results sent <"$T/stdout" >"$T/cap-r1.ndjson"
cart-dedupe -c "$cdir/cap.json" --commit <"$T/cap-r1.ndjson" 2>/dev/null
python3 "$top/tests/storectl.py" "$store" list >"$T/cap-docs.ndjson"
is "$(jq -r 'select(.cartId == "cart-7202" or .cartId == "cart-7203") | "\(.cartId) \(.state) \(.reason)"' "$T/cap-docs.ndjson" | sort | tr '\n' ';')" \
	"cart-7202 skipped frequency-cap;cart-7203 skipped frequency-cap;" "both recorded as skipped, frequency-cap"
at 2026-11-24T11:05:00Z
expect_exit 0 "cap: step 2 inside the cap" cart-dedupe -c "$cdir/cap.json" <"$T/cap.ndjson"
is "$(lines "$T/stdout")" 0 "is not sent"
at 2026-11-24T12:21:00Z
expect_exit 0 "cap: after it" cart-dedupe -c "$cdir/cap.json" <"$T/cap.ndjson"
is "$(lines "$T/stdout")" 0 "a capped step stays skipped (final)"
jq '.Cartwatch.Reminders = [{AfterMinutes: 10}, {AfterMinutes: 60}]' "$cfg" >"$cdir/nocap.json"
carts 2 7210 2026-11-24T10:00:00Z | jq -c '.CustomerId = "C7210"' >"$T/nocap.ndjson"
expect_exit 0 "without a cap" cart-dedupe -c "$cdir/nocap.json" <"$T/nocap.ndjson"
is "$(lines "$T/stdout")" 2 "the same customer's two carts both pass (the cap is off by default)"
at 2026-11-24T12:00:00Z   # the clock the other cases use

# Quiet hours 22:00-07:00 in Berlin (UTC+1 in November): nothing is claimed,
# the due step is noted as deferred, and the first run after 07:00 sends it.
jq '.Cartwatch.QuietHours = {Start: "22:00", End: "07:00", TimeZone: "Europe/Berlin"}' \
	"$cfg" >"$cdir/quiet.json"
carts 2 7300 2026-11-24T20:30:00Z >"$T/quiet.ndjson"
at 2026-11-24T21:30:00Z   # 22:30 in Berlin
expect_exit 0 "quiet hours: a run inside them" cart-dedupe -c "$cdir/quiet.json" <"$T/quiet.ndjson"
is "$(lines "$T/stdout")" 0 "claims nothing"
has "$T/stderr" "quiet hours .Cartwatch.QuietHours. until 2026-11-25T06:00:00Z: nothing is claimed" \
	"says until when, in UTC"
has "$T/stderr" "2 reminders wait for the end of the quiet hours" "and how many wait"
is "$(python3 "$top/tests/storectl.py" "$store" list | jq -r 'select(.cartId == "cart-7300" or .cartId == "cart-7301") | "\(.state) \(.reason)"' | sort -u)" \
	"deferred quiet-hours" "each due step noted as deferred (quiet-hours)"
at 2026-11-25T05:59:59Z
expect_exit 0 "quiet hours: a second before the end" cart-dedupe -c "$cdir/quiet.json" <"$T/quiet.ndjson"
is "$(lines "$T/stdout")" 0 "still nothing"
at 2026-11-25T06:00:00Z
expect_exit 0 "quiet hours: at the end" cart-dedupe -c "$cdir/quiet.json" <"$T/quiet.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-7300 cart-7301 " "both are claimed and pass"
lacks "$T/stderr" "quiet hours" "without a word of quiet hours"
# Across the night clocks go back (2026-10-25, 03:00 CEST -> 02:00 CET at
# 01:00Z): quiet 01:00-05:00 local lasts until 05:00 CET, 04:00Z. With the
# summer offset kept, 03:30Z would be 05:30, outside, and they would end at
# 03:00Z.
jq '.Cartwatch.QuietHours = {Start: "01:00", End: "05:00", TimeZone: "Europe/Berlin"}' \
	"$cfg" >"$cdir/quiet-dst.json"
carts 1 7400 2026-10-24T22:00:00Z >"$T/quiet-dst.ndjson"
at 2026-10-25T03:30:00Z
expect_exit 0 "quiet hours over the clock change: 04:30 CET" cart-dedupe -c "$cdir/quiet-dst.json" <"$T/quiet-dst.ndjson"
is "$(lines "$T/stdout")" 0 "is inside them"
has "$T/stderr" "until 2026-10-25T04:00:00Z" "which end at 05:00 CET, 04:00Z"
at 2026-10-25T04:00:00Z
expect_exit 0 "quiet hours over the clock change: at their end" cart-dedupe -c "$cdir/quiet-dst.json" <"$T/quiet-dst.ndjson"
is "$(jq -r .Id "$T/stdout")" cart-7400 "the cart that waited passes"
at 2026-11-24T12:00:00Z   # the clock the other cases use
