#!/bin/sh
# cart-dedupe's group commit on the SQLite store: a cart comes out only once
# its claim is committed, and a slow trickle of carts is not held back for a
# full group.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

export CARTWATCH_NOW=2026-11-24T12:00:00Z
group() { python3 "$top/tests/dedupe-group.py" "$@"; }
# carts N [FIRST]: N carts of N customers.
carts() {
	jq -cn --argjson n "$1" --argjson f "${2:-0}" '
	    range($f; $f + $n) | {Id: "cart-\(.)", CustomerId: "C\(.)",
	      ModifiedDateTime: "2026-11-24T10:00:00Z", CartTypeValue: 1,
	      ReceiptEmail: "c\(.)@example.com", channelId: 68719478279,
	      CartLines: [{LineId: "l1", ProductId: 68719478279, Quantity: 1, Price: 9.5}]}'
}
config() {
	mkdir -p "$T/$1"
	printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Kind":"sqlite","Path":"state/%s.db"}}}' \
	    "$1" >"$T/$1/c.json"
}

# Killed the moment its first cart is out, with thousands more at hand (a
# cart written before its group commits would find its claim rolled back).
carts 3000 >"$T/many.ndjson"
for i in 1 2 3; do
	config "kill$i"
	is "$(group kill "$T/kill$i/c.json" "$T/many.ndjson" "$T/kill$i/state/kill$i.db")" \
	    claimed "kill -9 after the first cart ($i): its claim is in the store"
done

# A trickle: each cart must come out while stdin is still open.
config trickle
carts 3 >"$T/three.ndjson"
is "$(group trickle "$T/trickle/c.json" "$T/three.ndjson")" 3 \
	"a trickle of carts comes out one by one, without waiting for a full group"
expect_exit 0 "the same carts again" cart-dedupe -c "$T/trickle/c.json" <"$T/three.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 0 "were claimed for good"

# A full group and a remainder: every cart out once, every claim made.
config bulk
carts 2500 >"$T/bulk.ndjson"
expect_exit 0 "2500 carts" cart-dedupe -c "$T/bulk/c.json" <"$T/bulk.ndjson"
is "$(jq -r .Id "$T/stdout" | sort -u | wc -l | tr -d ' ')" 2500 "each comes out once"
expect_exit 0 "2500 carts again" cart-dedupe -c "$T/bulk/c.json" <"$T/bulk.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 0 "all were claimed"

# A passed cart is its line as it came with the two fields added: spaces
# and a CR around it are no matter, and a line that names either field
# already is written afresh, so that no key comes twice.
config splice
{
	carts 1 0 | jq . | tr -d '\n' | sed 's/$/  \r/'
	echo
	carts 1 1 | jq -c '.notificationId = "stale" | .step = 9'
} >"$T/splice.ndjson"
expect_exit 0 "a spaced line and one with stale fields" \
	cart-dedupe -c "$T/splice/c.json" <"$T/splice.ndjson"
is "$(jq -c '[.Id, (.notificationId | length), .step]' "$T/stdout" | tr '\n' ' ')" \
	'["cart-0",40,1] ["cart-1",40,1] ' "both come out with their key and step"
is "$(grep -o '"notificationId"' "$T/stdout" | wc -l | tr -d ' ')" 2 "each names its key once"
is "$(grep -c '"step"' "$T/stdout")" 2 "and its step once"

done_testing
