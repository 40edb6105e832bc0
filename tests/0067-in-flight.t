#!/bin/sh
# Several requests in flight (Cartwatch.Notify.MaxInFlight): the webhook's
# POSTs and SMTP's connections. Every record gets exactly one result, in input
# order; no more than N requests are under way at once (counted by the
# receiving server); a lost answer makes only its own record uncertain; a 429
# with Retry-After holds back every other request until it has passed.
# Concurrency is counted, never timed.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
sandbox_config "$T/base.json"
# many N: N notifications made from the golden ones, each its own id and address.
many() {
	jq -c --argjson n "$1" -s '. as $g | range($n) | . as $i | $g[$i % ($g | length)] |
	    .notificationId = ("n\($i)") | .email = ("c\($i)@example.com") |
	    .orderDetails |= [.[0]]' "$top/tests/golden/enrich.ndjson"
}
many 24 >"$T/in.ndjson"
jq -r .notificationId "$T/in.ndjson" >"$T/ids"

wh_pid=''
wh_stop() {
	[ -z "$wh_pid" ] || kill "$wh_pid" 2>/dev/null || :
	[ -z "$wh_pid" ] || wait "$wh_pid" 2>/dev/null || :
	wh_pid=''
}
trap 'wh_stop; smtp_fault_stop; stop_helpers; cleanup' EXIT
# wh_start ARGS: a receiver of our own (tests/webhookd.py) that counts the
# requests under way; WH is its URL.
wh_start() {
	wh_stop
	rm -f "$T/wh.port" "$T/wh.log" "$T/wh.stats"
	python3 "$top/tests/webhookd.py" --port-file "$T/wh.port" --log "$T/wh.log" \
		--stats "$T/wh.stats" "$@" 2>>"$T/wh.err" &
	wh_pid=$!
	wait_port "$T/wh.port" "$wh_pid" "the webhook receiver did not start" "$T/wh.err"
	WH=http://127.0.0.1:$(cat "$T/wh.port")
}
# conf N BATCH: the webhook config with N in flight, BATCH records a POST.
conf() {
	jq --arg u "$WH/webhook" --argjson n "$1" --argjson b "$2" '.Cartwatch.Notify =
	    {Provider: "webhook", MaxInFlight: $n, Webhook: {Url: $u, BatchSize: $b}}' \
	    "$T/base.json" >"$T/wh.json"
}
# in_order: one result per input line, in input order.
in_order() {
	jq -r .notificationId "$T/stdout" >"$T/got"
	if cmp -s "$T/ids" "$T/got"; then ok "$1: one result per record, in input order"
	else not_ok "$1: one result per record, in input order"; fi
}
# received_once: every record reached the receiver once (429s aside).
received_once() {
	jq -r 'select(.status != 429 and .status != 408) | .ids[]' "$T/wh.log" | sort >"$T/recv"
	sort "$T/ids" >"$T/want"
	if cmp -s "$T/want" "$T/recv"; then ok "$1: every record received exactly once"
	else not_ok "$1: every record received exactly once"; fi
}
maxflight() { jq .max "$T/wh.stats"; }

# --- one in flight: today's behaviour, one POST after another
wh_start --delay-ms 20
conf 1 1
expect_exit 0 "webhook, 1 in flight" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "1 in flight"
received_once "1 in flight"
is "$(maxflight)" 1 "1 in flight: the receiver never saw two at once"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "1 in flight: all sent"

# --- four in flight, a record a POST
wh_start --delay-ms 50
conf 4 1
expect_exit 0 "webhook, 4 in flight" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "4 in flight"
received_once "4 in flight"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "4 in flight: all sent"
m=$(maxflight)
if [ "$m" -le 4 ] && [ "$m" -ge 2 ]; then ok "4 in flight: the receiver saw $m at once (2..4)"
else not_ok "4 in flight: the receiver saw $m at once, not 2..4"; fi

# --- four in flight, three records a POST (24 records: 8 POSTs)
wh_start --delay-ms 50
conf 4 3
expect_exit 0 "webhook, 4 in flight, 3 a POST" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "3 a POST"
received_once "3 a POST"
is "$(wc -l <"$T/wh.log" | tr -d ' ')" 8 "3 a POST: 8 POSTs"
is "$(jq '.ids | length' "$T/wh.log" | sort -u)" 3 "3 a POST: each of 3 records"
[ "$(maxflight)" -le 4 ] && ok "3 a POST: at most 4 at once" || not_ok "3 a POST: $(maxflight) at once"

# --- the answer to one in-flight POST is lost after the receiver took it
wh_start --delay-ms 50 --drop-after n5
conf 4 1
expect_exit 1 "webhook, 4 in flight, one answer lost" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "one answer lost"
received_once "one answer lost"
is "$(jq -c 'select(.uncertain == true) | .notificationId' "$T/stdout")" '"n5"' \
	"one answer lost: that record alone is uncertain"
is "$(jq -r 'select(.notificationId != "n5") | .status' "$T/stdout" | sort -u)" sent \
	"one answer lost: every other record sent"
has "$T/stderr" "outcome unknown" "one answer lost: said"

# --- a 429 with Retry-After: 1 holds back every request, not only its own:
# n1's 408 comes 0.4 s later, and its retry (10 to 40 ms of backoff) waits
# for the 429's second too.
wh_start --delay-ms 50 --limit n2 --retry-after 1 --slow408 n1
conf 4 1
expect_exit 0 "webhook, 4 in flight, a 429" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "a 429"
received_once "a 429"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "a 429: all sent in the end"
# Requests under way before the 429 came back may still arrive just after it;
# none may start from 0.2 s after it until its second has passed.
is "$(jq -s '(map(select(.status == 429))[0].end) as $t |
    map(select(.start > $t + 0.2 and .start < $t + 0.95)) | length' "$T/wh.log")" 0 \
	"a 429: no request started within its Retry-After"
is "$(jq -s '(map(select(.status == 429))[0].end) as $t | map(select(.start > $t + 0.2)) |
    length > 10' "$T/wh.log")" true "a 429: the rest came after it"
wh_stop

# --- SMTP: up to N connections, each kept for many messages
# smtp_run N: the 24 records through N connections to a server that holds
# each message 50 ms and counts (tests/smtpd.py --stats).
smtp_run() {
	rm -rf "$T/maildir" "$T/sm.stats"
	smtp_server --stats "$T/sm.stats" --delay-ms 50
	jq --arg u "smtp://127.0.0.1:$SMTP_PORT" --argjson n "$1" '.Cartwatch.Notify = {
	    Provider: "smtp", MaxInFlight: $n, Smtp: {Url: $u,
	    From: "Contoso Shop <shop@contoso.example>", MaxAttempts: 3, BackoffMs: 10,
	    MaxBackoffMs: 40}}' "$T/base.json" >"$T/sm.json"
	expect_exit 0 "smtp, $1 in flight" cart-notify -c "$T/sm.json" <"$T/in.ndjson"
	smtp_server_stop
	in_order "smtp, $1 in flight"
	is "$(jq -r .status "$T/stdout" | sort -u)" sent "smtp, $1 in flight: all sent"
	jq -r .email "$T/in.ndjson" | sort >"$T/want"
	awk '$2 == 250 { print $1 }' "$MAILDIR/rcpt.log" | sort >"$T/recv"
	if cmp -s "$T/want" "$T/recv" && [ "$(find "$MAILDIR" -name '*.eml' | wc -l)" -eq 24 ]
	then ok "smtp, $1 in flight: every message delivered exactly once"
	else not_ok "smtp, $1 in flight: every message delivered exactly once"; fi
}
smtp_run 1
is "$(jq -c '[.max_data, .sessions]' "$T/sm.stats")" '[1,1]' \
	"smtp, 1 in flight: one message at a time, one connection for all"
smtp_run 3
m=$(jq .max_data "$T/sm.stats")
if [ "$m" -le 3 ] && [ "$m" -ge 2 ]; then ok "smtp, 3 in flight: the server saw $m messages at once (2..3)"
else not_ok "smtp, 3 in flight: the server saw $m messages at once, not 2..3"; fi
m=$(jq .sessions "$T/sm.stats")
if [ "$m" -le 3 ]; then ok "smtp, 3 in flight: $m connections for 24 messages (each kept)"
else not_ok "smtp, 3 in flight: $m connections for 24 messages, more than 3"; fi

# --- one slow request does not hold the others back: while it is held (1 s),
# the other places go on with the records after it, past the end of a batch
# of one request per place (where each would wait for the slow one).
# during FILE: how many of the spans (start end, one a line) but the longest
# began while the longest lasted.
during() { awk '{ s[NR] = $1; e[NR] = $2; if (e[NR] - s[NR] > e[m] - s[m]) m = NR }
	END { for (i = 1; i <= NR; i++) n += i != m && s[i] > s[m] && s[i] < e[m]; print n + 0 }' "$1"; }
wh_start --delay-ms 50 --hold n1
conf 4 1
expect_exit 0 "webhook, 4 in flight, one POST slow" cart-notify -c "$T/wh.json" <"$T/in.ndjson"
in_order "one POST slow"
jq -r '"\(.start) \(.end)"' "$T/wh.log" >"$T/spans"
n=$(during "$T/spans")
if [ "$n" -ge 8 ]; then ok "one POST slow: $n others began while it was held"
else not_ok "one POST slow: only $n others began while it was held, not 8 or more"; fi
wh_stop

rm -rf "$T/maildir" "$T/sm.stats"
smtp_server --stats "$T/sm.stats" --delay-ms 50 --hold c1@example.com
jq --arg u "smtp://127.0.0.1:$SMTP_PORT" '.Cartwatch.Notify = {Provider: "smtp", MaxInFlight: 4,
    Smtp: {Url: $u, From: "Contoso Shop <shop@contoso.example>"}}' "$T/base.json" >"$T/sm-slow.json"
expect_exit 0 "smtp, 4 in flight, one message slow" cart-notify -c "$T/sm-slow.json" <"$T/in.ndjson"
smtp_server_stop
in_order "smtp, one message slow"
cat "$MAILDIR"/*.json | jq -r '"\(.data_at) \(.done_at)"' >"$T/spans"
n=$(during "$T/spans")
if [ "$n" -ge 8 ]; then ok "smtp, one message slow: $n others began while it was held"
else not_ok "smtp, one message slow: only $n others began while it was held, not 8 or more"; fi

# --- Cartwatch.Notify.RequestsPerMinute holds across requests in flight:
# 600 a minute is a start every 100 ms; each is held 300 ms, so without the
# pace all eight would be under way at once. Where the requests arrive, a
# loaded machine may delay one start and bunch it with the next, so the span
# from the first start to the last is what is counted: paced, 7 gaps of
# 100 ms (0.56 s leaves room for such delays); without the pace, about none.
# span FILE: "paced", or the span of the times in FILE, one a line.
span() { sort -n "$1" | awk 'NR == 1 { f = $1 } { l = $1 }
	END { print (l - f >= 0.56) ? "paced" : "span " l - f }'; }
head -n 8 "$T/in.ndjson" >"$T/in8.ndjson"
wh_start --delay-ms 300
conf 8 1
jq '.Cartwatch.Notify.RequestsPerMinute = 600' "$T/wh.json" >"$T/wh-paced.json"
expect_exit 0 "webhook, 8 in flight, 600 a minute" cart-notify -c "$T/wh-paced.json" <"$T/in8.ndjson"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "webhook paced: all sent"
jq .start "$T/wh.log" >"$T/starts"
is "$(span "$T/starts")" paced "webhook paced: 8 POSTs over at least 7 gaps of 100 ms"
m=$(maxflight)
if [ "$m" -ge 2 ]; then ok "webhook paced: still $m in flight at once"
else not_ok "webhook paced: $m in flight at once, not 2 or more"; fi
wh_stop

rm -rf "$T/maildir" "$T/sm.stats"
smtp_server --stats "$T/sm.stats" --delay-ms 300
jq --arg u "smtp://127.0.0.1:$SMTP_PORT" '.Cartwatch.Notify = {Provider: "smtp",
    MaxInFlight: 8, RequestsPerMinute: 600,
    Smtp: {Url: $u, From: "Contoso Shop <shop@contoso.example>"}}' "$T/base.json" >"$T/sm-paced.json"
expect_exit 0 "smtp, 8 in flight, 600 a minute" cart-notify -c "$T/sm-paced.json" <"$T/in8.ndjson"
smtp_server_stop
is "$(jq -r .status "$T/stdout" | sort -u)" sent "smtp paced: all sent"
cat "$MAILDIR"/*.json | jq .data_at >"$T/starts"
is "$(wc -l <"$T/starts" | tr -d ' ')" 8 "smtp paced: 8 messages"
is "$(span "$T/starts")" paced "smtp paced: 8 messages over at least 7 gaps of 100 ms"
m=$(jq .max_data "$T/sm.stats")
if [ "$m" -ge 2 ]; then ok "smtp paced: still $m messages at once"
else not_ok "smtp paced: $m messages at once, not 2 or more"; fi

# Emarsys sends one request at a time whatever MaxInFlight says: its own
# pace (here 60 a minute) is not shortened by it.
jq --arg s "$SANDBOX" '.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"} |
	.Cartwatch.Notify = {Provider: "emarsys", MaxInFlight: 8, RequestsPerMinute: 60,
	CheckOptOuts: false} | .Cartwatch.Reminders = [{AfterMinutes: 10, ExternalEventId: "4242"},
	{AfterMinutes: 60, ExternalEventId: "4243"}]' "$T/base.json" >"$T/em.json"
{ sed -n 1p "$T/in.ndjson"; sed -n 2p "$T/in.ndjson" | jq -c '.step = 2'; } >"$T/two-steps.ndjson"
sandbox_clear
expect_exit 0 "emarsys, 8 in flight, 60 a minute" cart-notify -c "$T/em.json" <"$T/two-steps.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/log?service=emarsys" | jq -s 'length == 2 and .[1].ts - .[0].ts >= 0.9')" \
	true "emarsys: the second request waited its second"

no_secrets_printed
done_testing
