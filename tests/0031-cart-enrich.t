#!/bin/sh
# cart-enrich against the sandbox's Retail Server: golden notifications, batched
# and cached lookups, bad input, and every error path.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
golden=$top/tests/golden/enrich.ndjson

# Input: the window's carts with guests, as cart-fetch gives them.
sandbox_config "$cfg" '.Cartwatch.IncludeGuestCarts = true'
cart-fetch -c "$cfg" >"$T/carts.ndjson"
sandbox_config "$cfg"
sandbox_clear

expect_exit 0 "enriches the window's carts" cart-enrich -c "$cfg" <"$T/carts.ndjson"
cp "$T/stdout" "$T/enriched.ndjson"
if diff -u "$golden" "$T/enriched.ndjson" >"$T/diff"; then ok "matches the golden notifications"; else
	not_ok "matches the golden notifications"; sed 's/^/#   /' "$T/diff" | head -n 40; fi
has "$T/stderr" '^cart-enrich: <stdin>:11: cart unknown-customer: customer 004099 not found on Retail Server; skipped$' \
	"a missing customer is skipped with a warning naming the line"
has "$T/stderr" '^cart-enrich: <stdin>:16: cart empty-email: no email address for the customer; skipped$' \
	"a customer without an email is skipped with a warning"
is "$(wc -l <"$T/stderr" | tr -d ' ')" 2 "nothing else is said"

# One lookup per batch; a product asked for once per run, however many carts.
products() {
	curl -sf "$SANDBOX/_sandbox/log?service=retail" |
		jq -c 'select(.path | endswith("Products/Search")) | .json.productSearchCriteria.Ids'
}
customers() {
	curl -sf "$SANDBOX/_sandbox/log?service=retail" |
		jq -c 'select(.path | endswith("Customers/GetByAccountNumbers")) | .json.accountNumbers'
}
is "$(products | wc -l | tr -d ' ')" 1 "one Products/Search for a batch of 100"
is "$(customers | wc -l | tr -d ' ')" 1 "one Customers/GetByAccountNumbers for a batch of 100"
sandbox_clear
expect_exit 0 "--batch-size 2" cart-enrich -c "$cfg" --batch-size 2 <"$T/carts.ndjson"
same "$T/stdout" "$T/enriched.ndjson" "gives the same notifications"
products >"$T/asked"
batches=$(( ($(wc -l <"$T/carts.ndjson") + 1) / 2 ))
is "$([ "$(wc -l <"$T/asked")" -le "$batches" ] && echo yes)" yes \
	"at most one Products/Search per batch of 2 carts, however many ids (up to 1000) it names"
is "$(jq '.[]' "$T/asked" | sort | uniq -d | wc -l | tr -d ' ')" 0 "no product is asked for twice"
jq '.CartLines[].ProductId | numbers' "$T/carts.ndjson" | sort -u >"$T/named"
jq '.[]' "$T/asked" | sort >"$T/asked.ids"
same "$T/asked.ids" "$T/named" "every product the carts name was asked for"
is "$(jq -c 'select(any(.CartLines[]; .ProductId == 22565423001)) | .Id' "$T/carts.ndjson" | wc -l | tr -d ' ')" 7 \
	"the Leather Tote is in 7 carts..."
is "$(grep -c '^22565423001$' "$T/asked.ids")" 1 "...and was asked for once"
is "$(customers | jq 'length > 2' | sort -u)" false "no request asks for more than 2 customers"
has "$T/sandbox.log" '"ChannelId": ?68719478279' "products are searched in the carts' channel"

# A product cache smaller than the catalogue: more requests, the same result.
sandbox_config "$cfg" '.Cartwatch.Enrich.ProductCacheSize = 2'
sandbox_clear
expect_exit 0 "a product cache of 2" cart-enrich -c "$cfg" --batch-size 2 <"$T/carts.ndjson"
same "$T/stdout" "$T/enriched.ndjson" "gives the same notifications"
asked=$(products | jq '.[]' | wc -l | tr -d ' ')
distinct=$(products | jq '.[]' | sort -u | wc -l | tr -d ' ')
is "$([ "$asked" -gt "$distinct" ] && echo bounded)" bounded \
	"the bound holds: products are asked for again once the cache starts over"
is "$([ "$(products | wc -l)" -le "$batches" ] && echo yes)" yes \
	"still at most one Products/Search per batch of carts"
sandbox_config "$cfg"

# Alone on saved NDJSON that lacks our fields: it asks for the channel itself.
jq -c 'del(.channelId, .currency)' "$T/carts.ndjson" >"$T/plain.ndjson"
sandbox_clear
expect_exit 0 "carts without channelId and currency" cart-enrich -c "$cfg" <"$T/plain.ndjson"
same "$T/stdout" "$T/enriched.ndjson" "give the same notifications"
has "$T/sandbox.log" 'GetOrgUnitConfiguration' "after asking for the channel configuration"

# The sandbox's requests carry the app's token and the OUN.
is "$(curl -sf "$SANDBOX/_sandbox/log?service=retail" | jq -r '"\(.headers.oun) \(.aud)"' | sort -u)" \
	"128 https://commerce.dynamics.com" "OUN and audience on every Retail Server request"

# Tracking parameters and {cartId} in the return URL.
sandbox_config "$cfg" '.RetailServerClientOptions.ReturnToCartUrl = "https://shop.example.com/cart?id={cartId}" |
	.Cartwatch.ReturnToCartParameters = {"utm_source": "cartwatch", "utm_medium": "email"}'
head -n 1 "$T/carts.ndjson" | cart-enrich -c "$cfg" >"$T/one"
is "$(jq -r .returnToCartUrl "$T/one")" \
	"https://shop.example.com/cart?id=edge-from-exact&utm_source=cartwatch&utm_medium=email" \
	"the return URL carries the cart and the tracking parameters"
sandbox_config "$cfg"

# Bad input: reported with its line, skipped; the good lines still flow.
{
	sed -n 1,2p "$T/carts.ndjson"
	echo 'this is not json'
	echo '{"hello": "world"}'
	echo '[1, 2, 3]'
	sed -n 3p "$T/carts.ndjson" | jq -c '.CartLines = "lines"'
	sed -n 3p "$T/carts.ndjson" | jq -c '.CartLines[0].Quantity = "lots"'
	sed -n 3p "$T/carts.ndjson" | jq -c '.ModifiedDateTime = "yesterday"'
	sed -n 3,4p "$T/carts.ndjson"
} >"$T/mixed.ndjson"
expect_exit 1 "bad lines make exit 1" cart-enrich -c "$cfg" <"$T/mixed.ndjson"
head -n 4 "$T/enriched.ndjson" >"$T/want4"
same "$T/stdout" "$T/want4" "the good lines still give their notifications, in order"
has "$T/stderr" '^cart-enrich: <stdin>:3: not JSON' "line 3: not JSON"
has "$T/stderr" '^cart-enrich: <stdin>:4: not a cart: no Id' "line 4: not a cart"
has "$T/stderr" '^cart-enrich: <stdin>:5: not a JSON object' "line 5: not an object"
has "$T/stderr" '^cart-enrich: <stdin>:6: cart images-relative: CartLines is not an array' "line 6: wrong type"
has "$T/stderr" '^cart-enrich: <stdin>:7: cart images-relative: CartLines\[0\]: Quantity and Price must be numbers' \
	"line 7: a quantity that is not a number"
has "$T/stderr" '^cart-enrich: <stdin>:8: cart images-relative: ModifiedDateTime is not an ISO 8601 time' \
	"line 8: a time that is not one"

# Retail Server failing: exit 1, naming the call.
sandbox_clear
sandbox_fault '{"match":{"path":"Products/Search"},"action":"status","status":503,"count":-1}'
expect_exit 1 "Products/Search down past the retries" cart-enrich -c "$cfg" <"$T/carts.ndjson"
has "$T/stderr" 'Retail Server Products/Search: HTTP 503' "names the call and the status"
sandbox_clear
sandbox_fault '{"match":{"path":"GetByAccountNumbers"},"action":"status","status":401,"count":1}'
expect_exit 1 "a 401 from Customers/GetByAccountNumbers" cart-enrich -c "$cfg" <"$T/carts.ndjson"
has "$T/stderr" 'Retail Server Customers/GetByAccountNumbers: HTTP 401' "names the call"
sandbox_clear
sandbox_fault '{"match":{"path":"GetByAccountNumbers"},"action":"malformed","count":-1}'
expect_exit 1 "a malformed customers reply" cart-enrich -c "$cfg" <"$T/carts.ndjson"
has "$T/stderr" 'Customers/GetByAccountNumbers: HTTP 200 with a reply that is not JSON' "says so"
sandbox_clear
sandbox_fault '{"match":{"path":"Products/Search"},"action":"status","status":429,"headers":{"Retry-After":"0"},"count":2}'
expect_exit 0 "429s on Products/Search are waited out" cart-enrich -c "$cfg" <"$T/carts.ndjson"
same "$T/stdout" "$T/enriched.ndjson" "with the same result"

# Configuration errors: exit 2 before any request.
sandbox_clear
sandbox_config "$cfg" 'del(.RetailServerClientOptions.ReturnToCartUrl) | del(.MediaOptions.ImageServerUrl)'
expect_exit 2 "missing keys" cart-enrich -c "$cfg" <"$T/carts.ndjson"
has "$T/stderr" 'RetailServerClientOptions.ReturnToCartUrl: missing' "names ReturnToCartUrl"
has "$T/stderr" 'MediaOptions.ImageServerUrl: missing' "and ImageServerUrl"
sandbox_config "$cfg" '.MediaOptions.ImageViewPorts[1].imageWidth = "wide"'
expect_exit 2 "a viewport width that is not a number" cart-enrich -c "$cfg" <"$T/carts.ndjson"
has "$T/stderr" 'MediaOptions.ImageViewPorts.1.imageWidth' "names it"
sandbox_config "$cfg"
expect_exit 2 "--batch-size 0" cart-enrich -c "$cfg" --batch-size 0 <"$T/carts.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/log" | wc -l | tr -d ' ')" 0 "none of these made a request"

no_secrets_printed
done_testing
