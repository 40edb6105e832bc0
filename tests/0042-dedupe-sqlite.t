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

is "$(stat -c %a "$T/conf/state")" 700 "the state directory is made 0700, beside the config"
is "$(stat -c %a "$T/conf/state/test.db")" 600 "the database is made 0600"
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Kind":"redis"}}}' >"$T/bad.json"
expect_exit 2 "an unknown store kind" cart-dedupe -c "$T/bad.json" status
has "$T/stderr" 'Cartwatch.StateStore.Kind: expected "sqlite" or "cosmos"' "names the key"
printf '{"Cartwatch":{}}' >"$T/nooun.json"
expect_exit 2 "no operating unit" cart-dedupe -c "$T/nooun.json" status
has "$T/stderr" 'RetailServerClientOptions.OperatingUnitNumber: missing' "names the key"
expect_exit 2 "forget without a person" cart-dedupe -c "$cfg" forget
expect_exit 2 "--email and --customer at once" cart-dedupe -c "$cfg" suppress --email a@b --customer C1
expect_exit 2 "an unknown command" cart-dedupe -c "$cfg" vacuum
expect_exit 2 "--json outside status" cart-dedupe -c "$cfg" prune --json
mkdir "$T/ro"
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Path":"/proc/nope/x.db"}}}' >"$T/ro/c.json"
expect_exit 1 "a store that cannot be made" cart-dedupe -c "$T/ro/c.json" status
has "$T/stderr" "state store /proc/nope/x.db" "names the file"

done_testing
