#!/bin/sh
# Issue 12 end to end, pipeline.sh with the sandbox, SQLite and a real SMTP
# server, stepping the business clock: a series of 10 and 600 minutes runs to
# its end with the default window (500 minutes); an order between step 1 and
# step 2 stops step 2, one before the cart does not; after a 2-day outage the
# run sends what the sample would have from its watermark, no further back
# than Cartwatch.MaxCatchUpMinutes.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The sandbox's data, and two carts modified during the outage below.
jq '.retail.units["128"].carts += [
	(.retail.units["128"].carts[] | select(.Id == "tie-a") | .Id = "outage-1" |
	 .CustomerId = "004020" | .ReceiptEmail = "liam.johnson@example.com" |
	 .ModifiedDateTime = "2026-11-25T09:00:00Z"),
	(.retail.units["128"].carts[] | select(.Id == "tie-a") | .Id = "outage-2" |
	 .CustomerId = "004021" | .ReceiptEmail = "emma.davis@example.com" |
	 .ModifiedDateTime = "2026-11-25T20:00:00Z")]' "$top/tests/sandbox/default.json" >"$T/data.json"
sandbox_start "$T/data.json"
sandbox_env
smtp_server
mkdir "$T/conf"
cfg=$T/conf/appsettings.json
sandbox_config "$T/base.json" '.Cartwatch.Reminders = [{AfterMinutes: 10}, {AfterMinutes: 600}]'
jq --argjson p "$SMTP_PORT" '.Cartwatch.Notify = {Provider: "smtp", Smtp: {
	Url: "smtp://127.0.0.1:\($p)", From: "Contoso Shop <shop@contoso.example>",
	MaxAttempts: 2, BackoffMs: 10, MaxBackoffMs: 20}}' "$T/base.json" >"$cfg"
db=$T/conf/state/cartwatch.db
pipeline() {   # $1: the business time; the rest: pipeline.sh's options
	CARTWATCH_NOW=$1
	export CARTWATCH_NOW
	shift
	run "$top/pipeline.sh" "$@"
}
# The customers a saved run's results name with status $2 (and step $3).
who() {
	jq -r --arg s "$2" --argjson k "${3:-0}" \
		'select(.status == $s and ($k == 0 or .step == $k)) | .customerId' "$1/4-notify.ndjson" |
		sort | tr '\n' ' '
}
entry() {   # $1 cart, $2 step: its ledger entry's state and reason
	python3 "$top/tests/storectl.py" "sqlite:$db" list |
		jq -r --arg c "$1" --argjson k "$2" 'select(.cartId == $c and .step == $k) | "\(.state) \(.reason // "-")"'
}

# 08:30Z: step 1 of the window's carts (modified up to 08:20Z).
pipeline 2026-11-24T08:30:00Z -c "$cfg" --save "$T/r1"
is "$rc" 0 "run 1 exits 0"
is "$(who "$T/r1" sent 1)" "004012 004013 004014 004017 004022 004024 004025 004026 004027 004028 004029 004030 " \
	"step 1 of the carts of registered customers with an address"
# The sandbox's own orders: 004016 ordered at 09:00Z, after its cart (03:39Z),
# 004011 at 10:30Z, after her first cart (04:05Z); 004024's order after its
# cart was canceled; 004025's came 100 ns before it.
is "$(who "$T/r1" skipped 1)" "004011 004016 " "but 004011 and 004016, who ordered since"

# 004012 (tie-a, modified 08:00Z) orders at 08:40Z; 004013 (tie-b) had
# ordered at 07:00Z, before its cart was last modified.
curl -sf -X POST --data '{"oun":"128","orders":[
  {"CustomerId":"004012","Id":"ORD-TA","CreatedDateTime":"2026-11-24T08:40:00Z","TotalAmount":49.99},
  {"CustomerId":"004013","Id":"ORD-TB","CreatedDateTime":"2026-11-24T07:00:00Z","TotalAmount":12.5}]}' \
	"$SANDBOX/_sandbox/retail/orders" >/dev/null || echo "Bail out! the sandbox refused the orders"

# 18:15Z: step 2 is due for every cart modified by 08:15Z. Only a window
# reaching back 600 + 600 minutes sees them (Include alone starts at 09:55Z).
pipeline 2026-11-24T18:15:00Z -c "$cfg" --save "$T/r2"
is "$rc" 0 "run 2 exits 0"
is "$(who "$T/r2" sent 2)" "004013 004014 004022 004024 004025 004026 004027 004028 004029 004030 " \
	"step 2 of the series: they run to their end"
is "$(who "$T/r2" skipped 2)" "004012 004016 " "the customers who ordered after the cart get no step 2"
is "$(jq -r 'select(.customerId == "004012") | "\(.reason) \(.orderId)"' "$T/r2/4-notify.ndjson")" \
	"purchased ORD-TA" "reason purchased, naming the order"
is "$(entry tie-a 2)" "skipped purchased" "the ledger keeps it skipped, reason purchased"
is "$(entry tie-b 2)" "sent -" "an order before the cart's modification stops nothing"
is "$(who "$T/r2" sent 1)" "004011 004017 004018 004019 004031 " \
	"and step 1 of the carts modified since run 1's window (004017's later cart replaces her first)"
cp "$db" "$T/before-outage.db"

# A 2-day outage: at 2026-11-26T16:00Z the ordinary window reaches back to
# 2026-11-25T20:00Z (600 + 600 minutes): outage-2, not outage-1 (09:00Z on
# the 25th). The last successful run left off at the latest cart it committed
# (offset-trap, 12:45Z on the 24th): the window starts there, and both are
# reminded, as the sample's next run would have done.
pipeline 2026-11-26T16:00:00Z -c "$cfg" --save "$T/r3"
is "$rc" 0 "run 3, after two days, exits 0"
has "$T/stderr" "catching up from 2026-11-24T12:45:00Z, where the last successful run left off" \
	"says it catches up, and from where"
is "$(who "$T/r3" sent 1)" "004020 004021 " "step 1 of both carts modified during the outage"
is "$(who "$T/r3" sent 2)" "" "no step 2: the others' are long past their moment"
is "$(entry offset-trap 2)" "skipped late" \
	"a late step is recorded so (offset-trap, at the watermark: step 2 was due at 22:45Z on the 24th)"

# The same outage with Cartwatch.MaxCatchUpMinutes 1440: the window starts a
# day back (16:00Z on the 25th): outage-2 only, and it says why.
cp "$T/before-outage.db" "$db"
jq '.Cartwatch.MaxCatchUpMinutes = 1440' "$cfg" >"$T/conf/bounded.json"
pipeline 2026-11-26T16:00:00Z -c "$T/conf/bounded.json" --save "$T/r4"
is "$rc" 0 "run 3 bounded: exit 0"
has "$T/stderr" "more than Cartwatch.MaxCatchUpMinutes .1440 minutes. ago: catching up from 2026-11-25T16:00:00Z only" \
	"says how far back it reached"
is "$(who "$T/r4" sent 1)" "004021 " "nothing from before the bound is sent"

done_testing
