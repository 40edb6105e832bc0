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
is "$(jq -c 'select(.Id == "cart-1") | [.CartTypeValue, .CartLines[0].LineId, .channelId]' \
    "$T/stdout")" '[1,"l1",68719478279]' "the one written afresh keeps the rest of the cart"

# The filter reads most carts without parsing them in full (cw_cart_slim): it
# must come to the same verdicts, entries and messages as the full parse. The
# same carts again with a key that has an escape (a line the fast path leaves
# to the full parse) must give the same output, the same store and the same
# messages, each naming its line.
cat >"$T/tricky.ndjson" <<'EOF'
  {  "Id" : "t-1" , "CustomerId":"T1", "ModifiedDateTime":"2026-11-24T10:00:00Z","ReceiptEmail":"T1@Example.com", "CartLines":[ {"LineId":"l1","ProductId":1,"Quantity":1,"Price":9.5} ] , "channelId":68719478279 }	
{"Id":"t-2","CustomerId":"T2","ModifiedDateTime":"2026-11-24T10:00:00.1234567Z","ReceiptEmail":"t2@example.com","CartLines":[{"Description":"a \"b\" \\ \u00e9 café","ProductId":2,"Quantity":2,"Price":1.25}],"ChannelId":68719478279,"channelId":68719478279}
{"Id":"t-3","customerId":"T3","ModifiedDateTime":"2026-11-24T10:00:00Z","ReceiptEmail":null,"email":"t3@example.com","CartLines":null,"channelId":68719478279}
{"Id":"t-4","CustomerId":null,"ModifiedDateTime":"2026-11-24T10:00:00Z","ReceiptEmail":"t4@example.com","cartId":"other-4","CartLines":[],"channelId":68719478279}
{"Id":"t-5","CustomerId":"T5","ModifiedDateTime":"2026-11-24T10:00:00Z","ReceiptEmail":"t5@example.com","CartLines":[{"ProductId":5,"Quantity":"1","Price":"9.50"}],"channelId":68719478279}
{"id":"t-6", "modifieddatetime": "2026-11-24T10:00:00Z", "customerid":"T6","receiptemail":"t6@example.com","channelid":68719478279}
{"Id":"t-7","Id":"t-7"}
[1]
{"Id":"t-9","email":"a@x","EMAIL":"b@x","ModifiedDateTime":"2026-11-24T10:00:00Z"}
{"Id":"t-10"}
{"Id":"t-11","ModifiedDateTime":"2026-11-24T10:00:00Z","CartLines":[{"Price":1e999}]}
EOF
sed '1,6s|{|{"full\\/parse":1,|' "$T/tricky.ndjson" >"$T/forced.ndjson"
is "$(grep -c 'full\\/parse' "$T/forced.ndjson")" 6 "six carts made to take the full parse"
for how in tricky forced; do
	config "$how"
	expect_exit 1 "tricky carts ($how)" cart-dedupe -c "$T/$how/c.json" <"$T/$how.ndjson"
	sed 's|{"full\\/parse":1,|{|' "$T/stdout" >"$T/$how.out"
	cp "$T/stderr" "$T/$how.err"
	python3 "$top/tests/storectl.py" "sqlite:$T/$how/state/$how.db" list |
	    jq -cS 'select(.kind != "cartwatch.hashkey") | del(.claimedBy) |
	    .emailHash |= length' | sort >"$T/$how.docs"
done
is "$(wc -l <"$T/tricky.out" | tr -d ' ')" 6 "the six good carts pass"
is "$(cat "$T/tricky.out")" "$(cat "$T/forced.out")" "the same output either way"
is "$(cat "$T/tricky.docs")" "$(cat "$T/forced.docs")" "the same entries either way"
is "$(grep -c '"cartId":"other-4"' "$T/tricky.docs")" 1 "an entry takes cartId before Id"
is "$(cat "$T/tricky.err")" "$(cat "$T/forced.err")" "the same messages either way"
for n in 7 8 9 10 11; do
	has "$T/tricky.err" "<stdin>:$n: " "line $n is named"
done

done_testing
