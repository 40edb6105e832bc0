#!/bin/sh
# cart-dedupe on the SQLite store: the shared cases, and the file's own promises.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir "$T/conf"
cfg=$T/conf/appsettings.json
cat >"$cfg" <<JSON
{
  "RetailServerClientOptions": { "OperatingUnitNumber": 128 },
  "Cartwatch": { "StateStore": { "Kind": "sqlite", "Path": "state/test.db" } }
}
JSON
store=sqlite:$T/conf/state/test.db

# shellcheck source=tests/dedupe-cases.sh
. "$top/tests/dedupe-cases.sh"

expect_exit 0 "where" cart-dedupe -c "$cfg" where
is "$(cat "$T/stdout")" "$T/conf/state/test.db" "is the SQLite file, beside the config"
expect_exit 2 "--dry-run with --commit" cart-dedupe -c "$cfg" --commit --dry-run
# Switching from the sample to SQLite: import its run-status document first.
mkdir "$T/switch"
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":"128"}}' >"$T/switch/c.json"
{
	echo '{"id":"128:77","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00+00:00","lastProcessedCartIds":"im-1","_rid":"x","_ts":1}'
	echo '{"id":"256:77","oun":"256","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00Z"}'
	echo '{"id":"128","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00Z"}'
} >"$T/switch/runstatus.ndjson"
expect_exit 1 "import of the sample's run status (two bad lines)" \
	cart-dedupe -c "$T/switch/c.json" import <"$T/switch/runstatus.ndjson"
has "$T/stderr" "<stdin>:2: operating unit 256 is not this configuration's \\(128\\)" "another unit is refused"
has "$T/stderr" "<stdin>:3: not the sample's run-status document" "a malformed one too"
{
	carts 1 0 2026-11-24T08:00:00Z | jq -c '.Id = "im-0" | .channelId = 77'
	carts 1 1 2026-11-24T09:00:00Z | jq -c '.Id = "im-1" | .channelId = 77'
	carts 1 2 2026-11-24T09:00:00Z | jq -c '.Id = "im-2" | .channelId = 77'
	carts 1 3 2026-11-24T10:00:00Z | jq -c '.Id = "im-3" | .channelId = 77'
} >"$T/switch/carts.ndjson"
expect_exit 0 "the first run after the import" cart-dedupe -c "$T/switch/c.json" <"$T/switch/carts.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "im-2 im-3 " "honours the imported watermark"

# In a pipeline all stages start at once: cart-notify may start before
# cart-dedupe has made a new SQLite store. It opens the store when its first
# record comes, so it still marks the claims "sending" (a kill of --commit
# then leaves them uncertain, not owed): cart-notify is started first here,
# and its input is written only after cart-dedupe has made the store.
mkdir "$T/race"
printf '{"WebhookSecret": "s3"}' >"$T/race/vault.json"
chmod 600 "$T/race/vault.json"
cat >"$T/race/c.json" <<JSON
{"KeyVaultOptions": {"KeyVaultUrl": "file:$T/race/vault.json"},
 "RetailServerClientOptions": {"OperatingUnitNumber": 128},
 "Cartwatch": {"StateStore": {"Path": "state/race.db"}, "Http": {"MaxAttempts": 1},
   "StopOnPurchase": false,
   "Notify": {"Provider": "webhook", "Webhook": {"Url": "http://127.0.0.1:9/hook"}}}}
JSON
carts 2 800 >"$T/race/carts.ndjson"
{
	sleep 1  # cart-notify is past its start by now
	cart-dedupe -c "$T/race/c.json" <"$T/race/carts.ndjson" |
	    jq -c '{notificationId, step, cartId: .Id, customerId: .CustomerId,
	      modifiedDateTime: .ModifiedDateTime, email: .ReceiptEmail, channelId, orderDetails: []}'
} | cart-notify -c "$T/race/c.json" >"$T/race/results.ndjson" 2>"$T/race/err" || :
rstore=sqlite:$T/race/state/race.db
is "$(python3 "$top/tests/storectl.py" "$rstore" list | jq -r 'select(.kind == "cartwatch.reminder") | .state' | sort -u)" \
	sending "a store made after cart-notify started still gets its claims marked sending"

# A reminder series: step 2 an hour after the cart, once step 1 was sent.
mkdir "$T/series"
cat >"$T/series/c.json" <<JSON
{"RetailServerClientOptions": {"OperatingUnitNumber": 128},
 "Cartwatch": {"StateStore": {"MaxAttempts": 1},
   "Reminders": [{"AfterMinutes": 10, "ExternalEventId": "4242"},
                 {"AfterMinutes": 60, "ExternalEventId": "4243"}]}}
JSON
scfg=$T/series/c.json
carts 2 700 2026-11-24T10:00:00Z >"$T/series/carts.ndjson"
CARTWATCH_NOW=2026-11-24T10:05:00Z expect_exit 0 "series: before the first delay" \
	cart-dedupe -c "$scfg" <"$T/series/carts.ndjson"
is "$(lines "$T/stdout")" 0 "nothing is due"
CARTWATCH_NOW=2026-11-24T10:30:00Z expect_exit 0 "series: after 30 minutes" \
	cart-dedupe -c "$scfg" <"$T/series/carts.ndjson"
is "$(jq -r .step "$T/stdout" | tr '\n' ' ')" "1 1 " "step 1 of both"
{ sed -n 1p "$T/stdout" | results sent; sed -n 2p "$T/stdout" | results failed; } >"$T/series/r1.ndjson"
CARTWATCH_NOW=2026-11-24T10:30:00Z cart-dedupe -c "$scfg" --commit <"$T/series/r1.ndjson" 2>/dev/null
CARTWATCH_NOW=2026-11-24T10:45:00Z expect_exit 0 "series: at 45 minutes" \
	cart-dedupe -c "$scfg" <"$T/series/carts.ndjson"
is "$(lines "$T/stdout")" 0 "step 2 is not due yet, and a given-up step 1 is not retried"
CARTWATCH_NOW=2026-11-24T11:05:00Z expect_exit 0 "series: after an hour" \
	cart-dedupe -c "$scfg" <"$T/series/carts.ndjson"
is "$(jq -r '"\(.Id) \(.step)"' "$T/stdout" | tr '\n' ' ')" "cart-700 2 " \
	"step 2 of the cart whose step 1 was sent; none after a given-up step"
old=$(sed -n 1p "$T/series/r1.ndjson" | jq -r .notificationId)
if [ "$(jq -r .notificationId "$T/stdout")" != "$old" ]; then ok "step 2 has its own key"; else
	not_ok "step 2 has its own key"; fi
results sent <"$T/stdout" >"$T/series/r2.ndjson"
CARTWATCH_NOW=2026-11-24T11:05:00Z cart-dedupe -c "$scfg" --commit <"$T/series/r2.ndjson"
CARTWATCH_NOW=2026-11-24T12:00:00Z expect_exit 0 "series: later still" \
	cart-dedupe -c "$scfg" <"$T/series/carts.ndjson"
is "$(lines "$T/stdout")" 0 "the series is over"

# Two filters at once on a new store: the first to set the file up (turn it
# to WAL) holds its write lock while the second reads the header, and SQLite
# told the second "database is locked" at once instead of letting it wait.
# In the first rounds storectl holds that lock for a moment, as a first
# instance would; in the others the two filters race alone.
carts 1000 1000 >"$T/race.ndjson"
for round in 1 2 3 4; do
	r=$T/race$round
	mkdir -m 700 "$r"
	(umask 077 && : >"$r/t.db")
	printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Path":"%s"}}}' \
		"$r/t.db" >"$r/c.json"
	if [ "$round" -le 2 ]; then
		python3 "$top/tests/storectl.py" "sqlite:$r/t.db" hold 1 >"$r/held" &
		ph=$!
		i=0
		until grep -q held "$r/held" || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
	fi
	mkfifo "$r/fa" "$r/fb"
	cart-dedupe -c "$r/c.json" <"$r/fa" >"$r/a.ndjson" 2>"$r/a.err" &
	pa=$!
	cart-dedupe -c "$r/c.json" <"$r/fb" >"$r/b.ndjson" 2>"$r/b.err" &
	pb=$!
	tee "$r/fa" <"$T/race.ndjson" >"$r/fb" 2>/dev/null || :  # a filter that died early closes its pipe
	ra=0; wait $pa || ra=$?
	rb=0; wait $pb || rb=$?
	[ "$round" -gt 2 ] || wait $ph
	is "$ra $rb" "0 0" "new store, round $round: both filters exit 0"
	cat "$r/a.err" "$r/b.err" | sed 's/^/# /'
	is "$(cat "$r/a.ndjson" "$r/b.ndjson" | jq -r .notificationId | sort | uniq -c | awk '$1 == 1' | wc -l | tr -d ' ')" \
		1000 "new store, round $round: each of the 1000 keys passes exactly once"
done

# Rows SQLite keeps whatever they hold: a text etag (no replace would match
# it: busy for ever) or a body that is not an object (it looked free).
carts 3 900 >"$T/rows.ndjson"
expect_exit 0 "three carts claimed" cart-dedupe -c "$cfg" <"$T/rows.ndjson"
e0=$(sed -n 1p "$T/stdout" | jq -r .notificationId)
e1=$(sed -n 2p "$T/stdout" | jq -r .notificationId)
storectl sql "UPDATE docs SET etag = 'x7' WHERE id = '$e0'"
storectl sql "UPDATE docs SET body = '[\"claimed\"]' WHERE id = '$e1'"
CARTWATCH_NOW=$later expect_exit 1 "a run over corrupt rows" cart-dedupe -c "$cfg" <"$T/rows.ndjson"
has "$T/stderr" "<stdin>:1: state store .*: document 128/$e0 is corrupt: its etag is not a number; not claimed" \
	"a text etag: the key named"
has "$T/stderr" "<stdin>:2: state store .*: document 128/$e1 is corrupt: its body is not a JSON object; not claimed" \
	"a body not an object: the key named"
is "$(jq -r .Id "$T/stdout")" cart-902 "the rest of the stream flows"
expect_exit 1 "status over a corrupt row" cart-dedupe -c "$cfg" status
has "$T/stderr" "document 128/($e0|$e1) is corrupt" "names it, rather than skip it"
expect_exit 1 "forget over a corrupt row" cart-dedupe -c "$cfg" forget --email c900@example.com
has "$T/stderr" "document 128/($e0|$e1) is corrupt" "names it too"
expect_exit 0 "resend removes one" cart-dedupe -c "$cfg" resend "$e0"
has "$T/stderr" "notification $e0 \\(corrupt\\) is owed again" "whatever it holds"
expect_exit 0 "and the other" cart-dedupe -c "$cfg" resend "$e1"
expect_exit 0 "status again" cart-dedupe -c "$cfg" status
CARTWATCH_NOW=$later expect_exit 0 "the next run" cart-dedupe -c "$cfg" <"$T/rows.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "cart-900 cart-901 " "passes their carts again"

is "$(stat -c %a "$T/conf/state")" 700 "the state directory is made 0700, beside the config"
is "$(stat -c %a "$T/conf/state/test.db")" 600 "the database is made 0600"
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Kind":"redis"}}}' >"$T/bad.json"
expect_exit 2 "an unknown store kind" cart-dedupe -c "$T/bad.json" status
has "$T/stderr" 'Cartwatch.StateStore.Kind: expected "sqlite" or "cosmos"' "names the key"
printf '{"Cartwatch":{}}' >"$T/nooun.json"
expect_exit 2 "no operating unit" cart-dedupe -c "$T/nooun.json" status
has "$T/stderr" 'RetailServerClientOptions.OperatingUnitNumber: missing' "names the key"
# The default step's event is read by the tool, not the ledger: the same check.
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"EmarsysClientOptions":{"ExternalEventId":[]}}' >"$T/badevent.json"
expect_exit 2 "an ExternalEventId that is not a string" cart-dedupe -c "$T/badevent.json" status
has "$T/stderr" 'EmarsysClientOptions.ExternalEventId: expected a string' "names the key"
expect_exit 2 "forget without a person" cart-dedupe -c "$cfg" forget
expect_exit 2 "--email and --customer at once" cart-dedupe -c "$cfg" suppress --email a@b --customer C1
expect_exit 2 "an unknown command" cart-dedupe -c "$cfg" vacuum
expect_exit 2 "--json outside status" cart-dedupe -c "$cfg" prune --json
mkdir "$T/ro"
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Path":"/proc/nope/x.db"}}}' >"$T/ro/c.json"
expect_exit 1 "a store that cannot be made" cart-dedupe -c "$T/ro/c.json" status
has "$T/stderr" "state store /proc/nope/x.db" "names the file"
has "$T/stderr" "cannot make its directory: /proc/nope: " "and the directory it could not make"

done_testing
