#!/bin/sh
# One bad address fails alone: our own check refuses what the providers refuse,
# and a batch SendGrid still refuses whole is split until the bad records are
# alone. Every good record is sent exactly once; the requests stay few.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
in=$top/tests/golden/enrich.ndjson
sandbox_config "$T/base.json"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com"}}' \
	"$T/base.json" >"$T/sg.json"
log() { curl -sf "$SANDBOX/_sandbox/log?service=sendgrid"; }
delivered() { curl -sf "$SANDBOX/_sandbox/sendgrid/delivered"; }
reset() {
	sandbox_clear
	curl -sf -X DELETE "$SANDBOX/_sandbox/sendgrid/delivered" >/dev/null
}
# many N: N notifications made from the golden ones, each its own id and address.
many() {
	jq -c --argjson n "$1" -s '. as $g | range($n) | . as $i | $g[$i % ($g | length)] |
	    .notificationId = ("n\($i)") | .email = ("c\($i)@example.com") |
	    .orderDetails |= [.[0]]' "$in"
}
# bad FILE ADDR N...: records n<N> of FILE get address ADDR.
bad() {
	_f=$1 _a=$2
	shift 2
	jq -c --arg a "$_a" --argjson ids "$(printf '"n%s"\n' "$@" | jq -sc .)" \
		'if (.notificationId | IN($ids[])) then .email = $a else . end' "$_f" >"$_f.tmp"
	mv "$_f.tmp" "$_f"
}
# sent_once: each record whose result is sent was delivered exactly once, and
# nothing else was delivered.
sent_once() {
	jq -r 'select(.status == "sent") | .notificationId' "$T/stdout" | sort >"$T/want"
	delivered | jq -r .custom_args.notificationId | sort >"$T/got"
	if cmp -s "$T/want" "$T/got"; then ok "$1"; else
		not_ok "$1"; diff "$T/want" "$T/got" | head -n 5 | sed 's/^/#   /' >&2; fi
}

# --- Addresses our check refuses never reach the provider.
reset
many 1000 >"$T/local.ndjson"
bad "$T/local.ndjson" 'bad;addr@example.com' 17
bad "$T/local.ndjson" '"quoted"@example.com' 500
bad "$T/local.ndjson" 'a@localhost' 999
expect_exit 0 "1000 records, 3 with addresses our check refuses" cart-notify -c "$T/sg.json" <"$T/local.ndjson"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ' | tr '\n' '|')" " 3 failed| 997 sent|" \
	"997 sent, 3 failed"
is "$(jq -r 'select(.status == "failed") | .notificationId' "$T/stdout" | tr '\n' ' ')" "n17 n500 n999 " \
	"exactly the bad ones failed"
is "$(jq -r 'select(.status == "failed") | .error' "$T/stdout" | tr '\n' '|')" \
	'not an email address: ";" in the local part|not an email address: a quoted local part (not every provider takes one)|not an email address: a domain of one label|' \
	"each error names the address's problem"
lacks "$T/stderr" 'bad;addr' "a diagnostic does not print the address"
is "$(log | jq -r .personalizations | tr '\n' ' ')" "997 " "one request, without them"
sent_once "every good record delivered exactly once"

# --- Addresses our check takes but SendGrid refuses: a 400 for the whole
# request, naming personalizations.N; those fail, the rest go again.
for n in 1 3; do
	reset
	many 1000 >"$T/sg$n.ndjson"
	if [ "$n" = 1 ]; then bad "$T/sg$n.ndjson" 'x@shop.c' 617; want="n617 "
	else bad "$T/sg$n.ndjson" 'x@shop.c' 0 500 999; want="n0 n500 n999 "; fi
	expect_exit 0 "1000 records, $n that SendGrid refuses" cart-notify -c "$T/sg.json" <"$T/sg$n.ndjson"
	is "$(jq -r 'select(.status == "failed") | .notificationId' "$T/stdout" | tr '\n' ' ')" "$want" \
		"only the $n bad failed"
	is "$(jq -r 'select(.status == "sent")' "$T/stdout" | jq -s length)" $((1000 - n)) "the $((1000 - n)) others sent"
	sent_once "each of them delivered exactly once ($n bad)"
	is "$(jq -r 'select(.status == "failed") | .error' "$T/stdout" | sort -u)" \
		"SendGrid: HTTP 400: Does not contain a valid address. (to.0.email)" "the error names SendGrid's refusal"
	is "$(log | jq -r '"\(.status) \(.personalizations)"' | tr '\n' '|')" "400 1000|202 $((1000 - n))|" \
		"two requests: the refused batch, then the rest"
done

# A 400 that names no field is split in halves (the general way, for a
# refusal that does not say which record); one naming the configuration
# (from, template_id) is the same for every batch, so it is not split.
reset
many 1000 >"$T/plain.ndjson"
sandbox_fault '{"match":{"path":"/sendgrid/"},"action":"status","status":400,"count":1,"body":{"errors":[{"field":null,"message":"Bad Request"}]}}'
expect_exit 0 "a 400 naming no record, once" cart-notify -c "$T/sg.json" <"$T/plain.ndjson"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ')" " 1000 sent" "every record sent"
is "$(log | jq -r .status | tr '\n' ' ')" "400 202 202 " "in two halves after the refusal"
sent_once "each exactly once"
reset
sandbox_fault '{"match":{"path":"/sendgrid/"},"action":"status","status":400,"count":-1,"body":{"errors":[{"field":"from.email","message":"The from email does not contain a valid address."}]}}'
expect_exit 1 "a 400 naming from.email" cart-notify -c "$T/sg.json" <"$T/plain.ndjson"
is "$(log | wc -l | tr -d ' ')" 1 "is not split: one request"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ')" " 1000 failed" "every record failed"
has "$T/stderr" "The from email does not contain a valid address" "with SendGrid's reason"

# --- Webhook with BatchSize above 1: a 422 (the receiver refuses a record's
# content, processed nothing) is split; a 400 (cannot read the request) is not.
wh() { curl -sf "$SANDBOX/_sandbox/webhook/received"; }
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook",
	Webhook: {Url: ($s + "/webhook/carts"), BatchSize: 10}}' "$T/base.json" >"$T/wh.json"
many 10 >"$T/ten.ndjson"
reset
curl -sf -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
sandbox_fault '{"match":{"path":"^/webhook/"},"action":"status","status":422,"count":1}'
expect_exit 0 "webhook: a 422 for a batch of 10" cart-notify -c "$T/wh.json" <"$T/ten.ndjson"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ')" " 10 sent" "every record sent"
is "$(curl -sf "$SANDBOX/_sandbox/log?service=webhook" | jq -r .status | tr '\n' ' ')" "422 200 200 " \
	"in two halves after the refusal"
is "$(wh | jq -r '.body[].notificationId' | sort | uniq -c | awk '$1 != 1' | wc -l | tr -d ' ')" 0 \
	"each received once"
reset
curl -sf -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
sandbox_fault '{"match":{"path":"^/webhook/"},"action":"status","status":422,"count":-1}'
many 4 >"$T/four.ndjson"
expect_exit 0 "webhook: a receiver that refuses every record (422)" cart-notify -c "$T/wh.json" <"$T/four.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/log?service=webhook" | wc -l | tr -d ' ')" 7 "4 records: 2n-1 = 7 requests"
is "$(jq -r .error "$T/stdout" | sort | uniq -c | tr -s ' ')" " 4 webhook: HTTP 422 Injected fault: HTTP 422" \
	"each fails alone with the receiver's answer"
reset
sandbox_fault '{"match":{"path":"^/webhook/"},"action":"status","status":400,"count":-1}'
expect_exit 1 "webhook: a 400 for a batch of 10" cart-notify -c "$T/wh.json" <"$T/ten.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/log?service=webhook" | wc -l | tr -d ' ')" 1 "is not split"
is "$(jq -r .status "$T/stdout" | sort -u)" failed "the batch failed"

# --- A guest cart whose ReceiptEmail is not an address: cart-enrich passes it
# on as it is; cart-notify fails that record alone, before any request.
reset
sandbox_config "$T/guests.json" '.Cartwatch.IncludeGuestCarts = true'
cart-fetch -c "$T/guests.json" >"$T/carts.ndjson"
guest=$(jq -r 'select((.CustomerId // "") == "" and (.ReceiptEmail // "") != "") | .Id' "$T/carts.ndjson" | head -n 1)
jq -c --arg g "$guest" 'if .Id == $g then .ReceiptEmail = "bad;addr@example.com" else . end' \
	"$T/carts.ndjson" >"$T/bad-carts.ndjson"
run cart-enrich -c "$T/base.json" <"$T/bad-carts.ndjson"
cp "$T/stdout" "$T/enriched.ndjson"
is "$(jq -r --arg g "$guest" 'select(.cartId == $g) | .email' "$T/enriched.ndjson")" "bad;addr@example.com" \
	"cart-enrich passes the guest's address on"
lacks "$T/stderr" "$guest" "without a warning about it"
sandbox_clear
expect_exit 0 "cart-notify with that guest among the others" cart-notify -c "$T/sg.json" <"$T/enriched.ndjson"
is "$(jq -r 'select(.status == "failed") | "\(.cartId) \(.error)"' "$T/stdout")" \
	"$guest not an email address: \";\" in the local part" "fails that guest alone, naming the problem"
is "$(jq -r 'select(.status == "sent")' "$T/stdout" | jq -s length)" "$(($(wc -l <"$T/enriched.ndjson") - 1))" \
	"the others are sent"
is "$(log | jq -r .status | tr '\n' ' ')" "202 " "in one request"

no_secrets_printed
done_testing
