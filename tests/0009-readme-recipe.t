#!/bin/sh
# The README's scratch-ledger recipe ("Debugging, one stage at a time"), run
# as written, from the top of the clone, on a configuration that holds what
# .NET allows and jq does not read: // comments and a trailing comma.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

export CARTWATCH_NOW=2026-11-24T12:00:00Z
mkdir -p "$T/conf/run"
cat >"$T/conf/appsettings.json" <<'JSON'
{
  // The sample's section, as a user of it has it.
  "RetailServerClientOptions": { "OperatingUnitNumber": 128 },
  "Cartwatch": { "StateStore": { "Kind": "sqlite", "Path": "state/live.db" } },
}
JSON
jq -cn 'range(3) | {Id: "cart-\(.)", CustomerId: "C\(.)", ModifiedDateTime: "2026-11-24T10:00:00Z",
	CartTypeValue: 1, ReceiptEmail: "c\(.)@example.com",
	CartLines: [{LineId: "l1", ProductId: 68719478279, Quantity: 1, Price: 9.5}],
	channelId: 68719478279, currency: "USD"}' >"$T/conf/run/1-fetch.ndjson"

# The recipe: the indented lines after "point a copy of the configuration at
# a scratch ledger:", with DIR the saved run and the scratch ledger ours.
awk '/point a copy$/ { want = 1; next } want && /^    / { print; seen = 1; next }
	seen { exit }' "$top/README.md" |
	sed -e 's#DIR/#run/#g' -e "s#/tmp/scratch\\.db#$T/scratch.db#g" >"$T/recipe.sh"
has "$T/recipe.sh" 'cartwatch-run --print-config -c appsettings\.json' \
	"the recipe reads the configuration through cartwatch-run --print-config"
lacks "$T/recipe.sh" "jq [^|]*appsettings\\.json" "and never hands the file to jq itself"

# From the configuration's directory, with the clone's tools first on PATH,
# as "Before make install" in the README has it.
# bash's pipefail: a failing cartwatch-run is a failing recipe.
run bash -c 'cd "$1" && PATH="$2:$3:$PATH" && set -e -o pipefail && . "$4"' - \
	"$T/conf" "$top" "$CW_BUILD" "$T/recipe.sh"
is "$rc" 0 "the recipe runs"
is "$(cat "$T/stdout")" "$(printf 'cart-0\ncart-1\ncart-2')" "and passes the saved carts"
if [ -f "$T/scratch.db" ]; then ok "claims go to the scratch ledger"; else not_ok "no scratch ledger"; fi
if [ -e "$T/conf/state/live.db" ]; then not_ok "the live ledger was touched"
else ok "the live ledger is not touched"; fi

# What the recipe replaced fails on the same file: the reason for it.
run jq '.Cartwatch.StateStore = {"Kind": "sqlite", "Path": "/tmp/x.db"}' "$T/conf/appsettings.json"
is "$rc" 4 "the old recipe (jq on the file) stops at the first // comment"

done_testing
