#!/bin/sh
# The state store contract (docstore.h), the same checks on both backends:
# SQLite in a temp file, and Cosmos DB's REST API served by cosmosdb-server.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

driver=$CW_BUILD/tests/drivers/docstore_contract
if [ ! -x "$driver" ]; then
	echo "Bail out! $driver is not built (make unit)"
	exit 1
fi

# contract NAME ARGS...: runs the driver, keeps its TAP in $T/NAME.tap, and is
# one ok if it exited 0 with a plan that counts its lines and no "not ok".
contract() {
	_name=$1
	shift
	run "$driver" "$@"
	cp "$T/stdout" "$T/$_name.tap"
	cat "$T/stderr" >>"$T/$_name.tap"
	_plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$T/stdout")
	_lines=$(count "$T/stdout" '^(not )?ok [0-9]+ ')
	if [ "$rc" = 0 ] && [ -n "$_plan" ] && [ "$_plan" = "$_lines" ] &&
	    [ "$(count "$T/stdout" '^not ok')" = 0 ]; then
		ok "$_name: all $_plan contract checks pass"
	else
		not_ok "$_name: the contract (exit $rc, plan '${_plan}', $_lines checks)"
		grep -E '^(not ok|Bail out!)' "$T/stdout" | awk '{ print "#   " $0 }' || :
	fi
}

contract sqlite sqlite "$T/state/docstore.db"
is "$(stat -c %a "$T/state/docstore.db")" 600 "sqlite: the store file is mode 600"

cosmos_start
# The key travels in the environment only, never on a command line.
expect_exit 2 "the driver will not run without CW_COSMOS_KEY" \
	env -u CW_COSMOS_KEY "$driver" cosmos "$COSMOS" cartwatch-test RunStatus
export CW_COSMOS_KEY="$COSMOS_KEY"
contract cosmos cosmos "$COSMOS" cartwatch-test RunStatus
# A second open meets the database and container made by the first (409).
contract cosmos-again cosmos "$COSMOS" cartwatch-test RunStatus
curl -sf "$COSMOS/dbs/cartwatch-test/colls/RunStatus" >"$T/coll.json" || :
is "$(jq -c .partitionKey.paths "$T/coll.json" 2>/dev/null)" '["/oun"]' \
	"cosmos: the container is partitioned on /oun, as the sample's"
# Names with spaces and non-ASCII letters are URL-encoded and signed as is.
contract cosmos-names cosmos "$COSMOS" "cart watch ü" "Run Status"

# Nothing printed anything that holds the key.
leaked=
for f in "$T"/*.tap "$T/all.err" "$T/cosmos.log"; do
	[ -f "$f" ] || continue
	if grep -Fq -- "$COSMOS_KEY" "$f"; then leaked="$leaked ${f##*/}"; fi
done
if [ -z "$leaked" ]; then ok "no output holds the Cosmos DB key"; else
	not_ok "the Cosmos DB key was printed in:$leaked"; fi

done_testing
