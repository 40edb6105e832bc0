# report-cases.sh: the recovery report's fixed data set, sourced by
# tests/0069-report.t once per store. Needs $cfg (a configuration on the
# sandbox whose state store is the one $store names, for storectl.py) and the
# sandbox started. The figures it must give are computed by hand in
# tests/golden/report.ndjson (see the comments below).
# shellcheck shell=sh disable=SC2154

storectl() { python3 "$top/tests/storectl.py" "$store" "$@"; }

# entry ID STATE STEP CUSTOMER TIME [JQ]: a ledger entry of operating unit
# 128, sent (sentAt and updated TIME) or otherwise (updated TIME); JQ edits it.
entry() {
	storectl put 128 "$(jq -nc --arg id "$1" --arg st "$2" --argjson step "$3" \
	    --arg c "$4" --arg t "$5" '{id: $id, oun: "128", kind: "cartwatch.reminder",
	    cartId: "cart-\($id)", customerId: $c, emailHash: "", step: $step, state: $st,
	    modifiedDateTime: "2026-11-19T08:00:00Z", attempts: 0, leaseUntil: 0,
	    claimedBy: "", updated: $t, updatedEpoch: 0}
	    | if $st == "sent" then .sentAt = $t else . end' | jq -c "${6:-.}")"
}

# The orders the sandbox's GetOrderHistory answers, besides its own (none of
# these customers has one of its own).
orders() {
	curl -sf -X DELETE "$SANDBOX/_sandbox/retail/orders" >/dev/null
	curl -sf -X POST --data "$1" "$SANDBOX/_sandbox/retail/orders" >/dev/null ||
		echo "Bail out! the sandbox refused orders: $1"
}
history_asks() {   # the customers asked since the last sandbox_clear, sorted
	curl -sf "$SANDBOX/_sandbox/log?service=retail" |
		jq -r 'select(.path | test("GetOrderHistory")) | .path' |
		sed -n "s/.*Customers('\([^']*\)').*/\1/p" | sort | tr '\n' ' '
}

# now 2026-11-26T12:00Z; --days 7: the UTC days 2026-11-20 to 11-26;
# Cartwatch.Report.AttributionDays 2 (set in $cfg).
export CARTWATCH_NOW=2026-11-26T12:00:00Z
run cart-dedupe -c "$cfg" status   # makes the store
# 2026-11-20, step 1: sent 4 (r1 004012, r2 004013, r3 004014, r4 a guest),
# recovered 2: r1 by A-1 (49.99 USD; A-0 came before the reminder), r3 by
# C-1 (200 NOK; C-0 was canceled); r2's only order B-1 came one second after
# its window. Skipped: purchased 1, suppressed 1.
entry r1 sent 1 004012 2026-11-20T10:00:00Z
entry r2 sent 1 004013 2026-11-20T11:00:00Z
entry r3 sent 1 004014 2026-11-20T12:00:00Z
entry r4 sent 1 "" 2026-11-20T13:00:00Z
entry r5 skipped 1 004012 2026-11-20T14:00:00Z '.reason = "purchased"'
entry r6 skipped 1 004013 2026-11-20T15:00:00Z '.reason = "suppressed"'
# 2026-11-21, step 1: failed 2 (failed, gaveup), uncertain 1, quiet-hours 1
# (deferred), and a live claim that counts nowhere.
entry r9 failed 1 004012 2026-11-21T08:00:00Z
entry r10 gaveup 1 004013 2026-11-21T08:10:00Z
entry r11 uncertain 1 004014 2026-11-21T08:20:00Z
entry r12 deferred 1 004015 2026-11-21T08:30:00Z '.reason = "quiet-hours"'
entry r15 claimed 1 004015 2026-11-21T08:40:00Z
# 2026-11-21, step 2: sent 2, both recovered: r7 by A-2 (25.01), r8 by D-1
# at the very end of its window (0.10): 25.11 USD. Skipped: frequency-cap 1,
# late 1.
entry r7 sent 2 004012 2026-11-21T10:00:00Z
entry r8 sent 2 004015 2026-11-21T10:30:00Z
entry r13 skipped 2 004012 2026-11-21T11:00:00Z '.reason = "frequency-cap"'
entry r14 skipped 2 004013 2026-11-21T11:10:00Z '.reason = "late"'
# 2026-11-22, step 1: sent 3: r16 (an entry from before "sentAt": its day is
# "updated"'s) recovered by E-1 (19.9); r17, the same customer's later
# reminder, has no order after it; r18 was settled by an earlier report
# (5.5 USD; its customer is not asked again). 19.90 + 5.50 = 25.40 USD,
# rate 2/3. A skip without a reason counts as "other".
entry r16 sent 1 004017 2026-11-22T09:00:00Z 'del(.sentAt)'
entry r17 sent 1 004017 2026-11-22T10:00:00Z
entry r18 sent 1 004018 2026-11-22T11:00:00Z \
	'.recovery = {orderId: "OLD-1", created: "2026-11-22T12:00:00Z", amount: "5.5", currency: "USD"}'
entry r22 skipped 1 004018 2026-11-22T12:00:00Z
# 2026-11-25, step 1: r19, sent 1, its window still open and no order yet.
entry r19 sent 1 004019 2026-11-25T10:00:00Z
# Outside the report: a day before the period (with an order it would be
# recovered by), and another operating unit.
entry r20 sent 1 004020 2026-11-19T23:59:59Z
storectl put 256 '{"id":"r21","oun":"256","kind":"cartwatch.reminder","cartId":"c21","customerId":"004021","emailHash":"","step":1,"state":"sent","sentAt":"2026-11-21T10:00:00Z","updated":"2026-11-21T10:00:00Z","modifiedDateTime":"2026-11-19T08:00:00Z"}'
orders '{"oun":"128","orders":[
  {"CustomerId":"004012","Id":"A-0","CreatedDateTime":"2026-11-20T09:00:00Z","TotalAmount":10},
  {"CustomerId":"004012","Id":"A-1","CreatedDateTime":"2026-11-21T09:00:00Z","TotalAmount":49.99},
  {"CustomerId":"004012","Id":"A-2","CreatedDateTime":"2026-11-22T10:00:00Z","TotalAmount":25.01},
  {"CustomerId":"004013","Id":"B-1","CreatedDateTime":"2026-11-22T11:00:01Z","TotalAmount":30},
  {"CustomerId":"004014","Id":"C-0","CreatedDateTime":"2026-11-20T13:00:00Z","TotalAmount":99,"StatusValue":7},
  {"CustomerId":"004014","Id":"C-1","CreatedDateTime":"2026-11-21T09:00:00+01:00","TotalAmount":200,"CurrencyCode":"NOK"},
  {"CustomerId":"004015","Id":"D-1","CreatedDateTime":"2026-11-23T10:30:00Z","TotalAmount":0.1},
  {"CustomerId":"004017","Id":"E-1","CreatedDateTime":"2026-11-22T09:30:00Z","TotalAmount":19.9},
  {"CustomerId":"004020","Id":"X-1","CreatedDateTime":"2026-11-20T01:00:00Z","TotalAmount":1},
  {"CustomerId":"004021","Id":"X-2","CreatedDateTime":"2026-11-21T11:00:00Z","TotalAmount":1}]}'

sandbox_clear
expect_exit 0 "$kind: report --json" cart-dedupe -c "$cfg" report --days 7 --json
cp "$T/stdout" "$T/report.ndjson"
same "$T/report.ndjson" "$top/tests/golden/report.ndjson" \
	"$kind: the figures are the hand-computed ones (tests/golden/report.ndjson)"
has "$T/stderr" "^cart-dedupe: asked Retail Server for 6 customers' orders$" \
	"$kind: says what it asked: six customers"
is "$(history_asks)" "004012 004013 004014 004015 004017 004019 " \
	"$kind: one history each, not the guest's, the settled one's, nor those outside the report"
is "$(storectl get 128 r1 | jq -c .recovery)" \
	'{"amount":"49.99","created":"2026-11-21T09:00:00Z","currency":"USD","orderId":"A-1"}' \
	"$kind: the recovery is kept on the entry"
is "$(storectl get 128 r2 | jq -r '.recoveryCheckedUntil, .recovery')" "2026-11-22T11:00:00Z
null" "$kind: a window over without an order is kept as checked"
is "$(storectl get 128 r19 | jq -r '.recoveryCheckedUntil, .recovery')" "null
null" "$kind: an open window is not settled"
is "$(storectl get 128 r4 | jq -r '.recoveryCheckedUntil, .recovery')" "null
null" "$kind: a guest's reminder is left alone"

# Again: only the open window is asked about; then its order comes.
sandbox_clear
expect_exit 0 "$kind: the report again" cart-dedupe -c "$cfg" report --days 7 --json
same "$T/stdout" "$T/report.ndjson" "$kind: the same figures, from the store"
is "$(history_asks)" "004019 " "$kind: only the customer whose window is open is asked again"
has "$T/stderr" "^cart-dedupe: asked Retail Server for 1 customer's orders$" \
	"$kind: one customer, in the singular"
curl -sf -X POST --data '{"oun":"128","orders":[{"CustomerId":"004019","Id":"G-1","CreatedDateTime":"2026-11-26T09:00:00Z","TotalAmount":12.340}]}' \
	"$SANDBOX/_sandbox/retail/orders" >/dev/null
expect_exit 0 "$kind: after G-1" cart-dedupe -c "$cfg" report --days 7 --json
is "$(jq -c 'select(.day == "2026-11-25") | [.sent, .recovered, .rate, .revenue]' "$T/stdout")" \
	'[1,1,1,{"USD":"12.34"}]' "$kind: an order in the open window recovers it"
sandbox_clear
expect_exit 0 "$kind: and once more" cart-dedupe -c "$cfg" report --days 7
has "$T/stderr" "asked Retail Server for 0 customers' orders" "$kind: nothing left to ask"
is "$(history_asks)" "" "$kind: and it asks nothing"
