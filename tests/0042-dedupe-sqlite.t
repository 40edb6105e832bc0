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
