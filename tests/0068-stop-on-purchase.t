#!/bin/sh
# Stop on purchase (Cartwatch.StopOnPurchase): right before sending,
# cart-notify asks Retail Server's order history (the sandbox's
# GetOrderHistory) whether each registered customer ordered since the cart
# was modified; if so the result is skipped, reason "purchased", and no email
# goes. Orders before the cart's modification, canceled orders and guests
# do not stop anything; a history that cannot be read sends nothing unasked.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
smtp_server
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
input=$top/tests/golden/enrich.ndjson   # 17 notifications, 3 of them guests'
conf() {
	sandbox_config "$T/base.json" "${1:-.}"
	jq --argjson p "$SMTP_PORT" '.Cartwatch.Notify = {Provider: "smtp", Smtp: {
		Url: "smtp://127.0.0.1:\($p)", From: "Contoso Shop <shop@contoso.example>",
		MaxAttempts: 2, BackoffMs: 10, MaxBackoffMs: 20}}' "$T/base.json" >"$cfg"
}
mails() { find "$MAILDIR" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }
history_asks() {
	curl -sf "$SANDBOX/_sandbox/log?service=retail" |
		jq -r 'select(.path | test("GetOrderHistory")) | .path' | wc -l | tr -d ' '
}
status_of() {   # $1: customerId: its result's status and reason
	jq -r --arg c "$1" 'select(.customerId == $c) | "\(.status) \(.reason // "-")"' "$T/stdout"
}
add_orders() {
	curl -sf -X POST --data "$1" "$SANDBOX/_sandbox/retail/orders" >/dev/null ||
		echo "Bail out! the sandbox refused orders: $1"
}

# Orders against the carts of tests/golden/enrich.ndjson:
#   004012 (tie-a, modified 08:00Z): ordered at 09:00Z                -> stop
#   004022 (tie-d, 08:00Z): ordered at exactly 08:00Z, in a store      -> stop
#   004013 (tie-b, 08:00Z): ordered at 07:59:59Z, before the cart       -> send
#   004014 (tie-c, 08:00Z): ordered at 09:00Z, but canceled (7)         -> send
#   004011 (repeat-late, 11:00Z): 100 canceled orders at 11:40Z fill the
#     first page; the real one, at 11:30Z, is on the second              -> stop
add_orders '{"oun":"128","orders":[
  {"CustomerId":"004012","Id":"ORD-A","CreatedDateTime":"2026-11-24T09:00:00Z","TotalAmount":49.99,"StatusValue":4},
  {"CustomerId":"004022","Id":"ORD-D","CreatedDateTime":"2026-11-24T09:00:00+01:00","TotalAmount":12,"ChannelId":5637144592},
  {"CustomerId":"004013","Id":"ORD-B","CreatedDateTime":"2026-11-24T07:59:59Z","TotalAmount":12.5},
  {"CustomerId":"004014","Id":"ORD-C","CreatedDateTime":"2026-11-24T09:00:00Z","TotalAmount":89.5,"StatusValue":7},
  {"CustomerId":"004011","Id":"ORD-E","CreatedDateTime":"2026-11-24T11:30:00Z","TotalAmount":20}]}'
canceled=$(jq -nc '{oun: "128", orders: [range(100) | {CustomerId: "004011",
	Id: "CXL-\(.)", CreatedDateTime: "2026-11-24T11:40:00Z", StatusValue: 7}]}')
add_orders "$canceled"

conf
sandbox_clear
expect_exit 0 "cart-notify with orders to check" cart-notify -c "$cfg" <"$input"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ' | tr '\n' ';')" \
	" 14 sent; 3 skipped;" "14 sent, 3 skipped"
is "$(status_of 004012)" "skipped purchased" "an order after the cart's modification stops it"
is "$(jq -r 'select(.customerId == "004012") | .orderId' "$T/stdout")" ORD-A "naming the order"
has "$T/stdout" '"error":"the customer ordered since the cart was modified .order ORD-A at 2026-11-24T09:00:00Z.' \
	"and saying why"
is "$(status_of 004022)" "skipped purchased" "an order at the very moment, in another channel, stops it"
is "$(status_of 004011)" "skipped purchased" "an order on the second page is found"
is "$(status_of 004013)" "sent -" "an order before the cart's modification does not stop it"
is "$(status_of 004014)" "sent -" "a canceled order does not stop it"
is "$(jq -r 'select(.customerId == "") | .status' "$T/stdout" | sort -u)" sent \
	"guests are sent: their orders cannot be read"
is "$(mails)" 14 "14 emails, none to the buyers"
if grep -l -e lukasz.zolc -e sofia.garcia -e zoe.angstrom "$MAILDIR"/*.json >/dev/null 2>&1; then
	not_ok "no email reached a buyer"; else ok "no email reached a buyer"; fi
is "$(history_asks)" 15 "one history request per registered customer, one more for the second page"

# Off: nothing asked, everyone sent.
conf '.Cartwatch.StopOnPurchase = false'
sandbox_clear
expect_exit 0 "StopOnPurchase false" cart-notify -c "$cfg" <"$input"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "sends all 17"
is "$(history_asks)" 0 "and asks no history"

# A preview asks nothing either.
conf
sandbox_clear
expect_exit 0 "a dry run" cart-notify -c "$cfg" --dry-run <"$input"
is "$(history_asks)" 0 "asks no history"

# A history that cannot be read: nothing sent unasked, the guests still go.
conf
sandbox_clear
sandbox_fault '{"match":{"method":"POST","path":"GetOrderHistory"},"action":"status","status":500,"count":-1}'
before=$(mails)
expect_exit 1 "Retail Server failing the history: exit 1" cart-notify -c "$cfg" <"$input"
is "$(jq -r 'select(.customerId != "") | .status' "$T/stdout" | sort -u)" failed \
	"every registered customer's record fails"
has "$T/stdout" '"error":"stop on purchase: customer 004017: Retail Server GetOrderHistory: HTTP 500' \
	"naming the customer, the call and the status"
is "$(($(mails) - before))" 3 "only the three guests were sent"

# A wrong RetailServerUri (404 for everything) is a failure, not "no orders".
conf ".RetailServerClientOptions.RetailServerUri = \"$SANDBOX/Wrong\""
sandbox_clear
before=$(mails)
expect_exit 1 "a wrong RetailServerUri: exit 1" cart-notify -c "$cfg" <"$input"
is "$(($(mails) - before))" 3 "only the guests were sent"

# A customer Retail Server does not know (CustomerNotFound) has no history to check.
conf
sandbox_clear
jq -c 'select(.customerId == "004017") | .customerId = "009999"' "$input" >"$T/ghost.ndjson"
before=$(mails)
expect_exit 0 "an unknown customer" cart-notify -c "$cfg" <"$T/ghost.ndjson"
is "$(jq -r .status "$T/stdout")" sent "is sent (no history to stop it)"

# Without Retail Server in the configuration, stop on purchase is a config
# error that says how to do without it.
conf 'del(.RetailServerClientOptions.RetailServerUri)'
expect_exit 2 "StopOnPurchase without a Retail Server" cart-notify -c "$cfg" <"$input"
has "$T/stderr" "Cartwatch.StopOnPurchase: true .the default., but RetailServerClientOptions names no Retail Server" \
	"names the key and the way out"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "and sends nothing"

# A test send (--to): every email to the marketer, nothing asked, nothing
# marked, every result marked as a test for cart-dedupe --commit to ignore.
conf
sandbox_clear
before=$(mails)
expect_exit 0 "cart-notify --to" cart-notify -c "$cfg" --to marketer@contoso.example <"$input"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "sends all 17, buyers included"
is "$(jq -r .test "$T/stdout" | sort -u)" true "each result marked as a test"
is "$(($(mails) - before))" 17 "17 emails"
is "$(cat "$MAILDIR"/*.json | jq -r '.rcpt_tos[]' | grep -c '^marketer@contoso.example$')" 17 \
	"all of them to the test address"
is "$(history_asks)" 0 "no order history asked"
# A test send's unsubscribe link is the marketer's own: clicking it must not
# unsubscribe the customer whose cart filled the email.
conf '.Cartwatch.Unsubscribe.Url = "https://shop.example.com/unsubscribe?t={token}"'
rm -f "$MAILDIR"/*
expect_exit 0 "cart-notify --to with unsubscribe links" cart-notify -c "$cfg" --to marketer@contoso.example <"$input"
want=$(printf %s marketer@contoso.example | base64 | tr '+/' '-_' | tr -d '=\n')
cat >"$T/tokens.py" <<'PY'
import email, sys
for f in sys.argv[1:]:
    link = email.message_from_binary_file(open(f, "rb"))["List-Unsubscribe"]
    print(link.split("t=")[1].split(".")[0])
PY
is "$(python3 "$T/tokens.py" "$MAILDIR"/*.eml | sort -u)" "$want" \
	"every link's token names the test address"
expect_exit 2 "--to a malformed address" cart-notify -c "$cfg" --to not-an-address <"$input"
has "$T/stderr" '--to: not an email address' "is refused, naming the option"

done_testing
