#!/bin/sh
# cart-dedupe's admin commands (issue 13): forget keeps the opt-out unless
# --and-unsuppress; every command says what it did, with counts; suppress
# refuses what is not an address, naming it; an unknown command is named;
# status, where and report end quietly when their reader stops early, while a
# stage still fails on a broken pipe.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir "$T/conf"
cfg=$T/conf/appsettings.json
printf '{"RetailServerClientOptions":{"OperatingUnitNumber":128},"Cartwatch":{"StateStore":{"Path":"state/a.db"}}}' >"$cfg"
export CARTWATCH_NOW=2026-11-24T12:00:00Z

# cart N: a cart of customer CN, cN@example.com, modified two hours ago.
cart() {
	jq -cn --arg n "$1" '{Id: "cart-\($n)", CustomerId: "C\($n)", ModifiedDateTime:
	    "2026-11-24T10:00:00Z", CartTypeValue: 1, ReceiptEmail: "c\($n)@example.com",
	    CartLines: [{LineId: "l1", ProductId: 1, Quantity: 1, Price: 9.5}],
	    channelId: 68719478279, currency: "USD"}'
}
# passes N...: the ids of those carts a dry run passes, in one line.
passes() {
	for n in "$@"; do cart "$n"; done | cart-dedupe -c "$cfg" --dry-run | jq -r .Id | tr '\n' ' '
}
suppressions() { cart-dedupe -c "$cfg" status --json | jq .suppressions; }
# sent N [JQ]: cart N (changed by JQ) reminded: claimed, then its result recorded as sent.
sent() {
	cart "$1" | jq -c "${2:-.}" | cart-dedupe -c "$cfg" |
	    jq -c '{notificationId, cartId: .Id, customerId: .CustomerId, step,
	      modifiedDateTime: .ModifiedDateTime, channelId, email: .ReceiptEmail,
	      status: "sent", provider: "sendgrid"}' |
	    cart-dedupe -c "$cfg" --commit
}

# --- forget keeps the opt-out; --and-unsuppress lifts it
sent 1
sent 2
expect_exit 0 "suppress --email" cart-dedupe -c "$cfg" suppress --email C2@Example.com
has "$T/stderr" "^cart-dedupe: suppressed 1 email address: 1 new, 0 already suppressed$" \
	"suppress says what it did"
expect_exit 0 "forget --email of one who had opted out" \
	cart-dedupe -c "$cfg" forget --email c2@example.com
has "$T/stderr" "^cart-dedupe: forgot 1 record; the opt-out is kept: never reminded again$" \
	"says it forgot one record and kept the opt-out"
expect_exit 0 "forget --customer of one who had not" cart-dedupe -c "$cfg" forget --customer C1
has "$T/stderr" "^cart-dedupe: forgot 1 record; an opt-out is made: never reminded again$" \
	"says it forgot one record and made an opt-out"
is "$(passes 1 2 3)" "cart-3 " "the next run reminds neither of them"
is "$(suppressions)" 2 "two opt-outs held"
expect_exit 0 "--keep-suppression is still accepted" \
	cart-dedupe -c "$cfg" forget --email c2@example.com --keep-suppression
has "$T/stderr" "forgot 0 records; the opt-out is kept" "and is the default"
expect_exit 2 "--keep-suppression with --and-unsuppress" \
	cart-dedupe -c "$cfg" forget --email c2@example.com --keep-suppression --and-unsuppress
expect_exit 0 "forget --and-unsuppress" \
	cart-dedupe -c "$cfg" forget --email c2@example.com --and-unsuppress
has "$T/stderr" "^cart-dedupe: forgot 1 record; no opt-out is left" "says the opt-out went"
is "$(passes 1 2)" "cart-2 " "only that person is owed again"

# --- suppress and unsuppress: addresses checked, counts said
expect_exit 2 "suppress --email not-an-email" cart-dedupe -c "$cfg" suppress --email not-an-email
has "$T/stderr" '^cart-dedupe: --email: not an email address: "not-an-email" \(no "@"\); nothing suppressed$' \
	"names it"
expect_exit 2 "suppress --email with a space" cart-dedupe -c "$cfg" suppress --email 'a b@example.com'
is "$(suppressions)" 1 "nothing was suppressed"
expect_exit 0 "suppress --customer already suppressed" cart-dedupe -c "$cfg" suppress --customer C1
has "$T/stderr" "^cart-dedupe: suppressed 1 customer id: 0 new, 1 already suppressed$" "says so"
printf '%s\n' '{"email": "c5@example.com"}' '{"email": "nobody"}' '{"customerId": "C6"}' \
	'{"customerId": "C1"}' >"$T/bulk.ndjson"
expect_exit 1 "bulk suppress with a line that is no address" cart-dedupe -c "$cfg" suppress <"$T/bulk.ndjson"
has "$T/stderr" '^cart-dedupe: <stdin>:2: "email" is not an address \(no "@"\); not suppressed$' \
	"names the line"
has "$T/stderr" "^cart-dedupe: suppressed 1 email address and 2 customer ids: 2 new, 1 already suppressed$" \
	"counts the rest"
is "$(passes 5 6 7)" "cart-7 " "those are suppressed"
expect_exit 0 "unsuppress --customer" cart-dedupe -c "$cfg" unsuppress --customer C6
has "$T/stderr" "^cart-dedupe: unsuppressed 1 customer id: 1 opt-out lifted, 0 had none$" "says so"
expect_exit 0 "unsuppress of one never suppressed" cart-dedupe -c "$cfg" unsuppress --email c7@example.com
has "$T/stderr" "^cart-dedupe: unsuppressed 1 email address: 0 opt-outs lifted, 1 had none$" \
	"says nothing was lifted"
printf '{"email": "old-not-an-address"}\n' >"$T/old.ndjson"
expect_exit 0 "unsuppress takes what an earlier version let in" \
	cart-dedupe -c "$cfg" unsuppress <"$T/old.ndjson"

# --- the other commands say what they did
expect_exit 0 "prune" cart-dedupe -c "$cfg" prune
has "$T/stderr" "^cart-dedupe: pruned 0 records$" "prune counts"
printf '%s\n' '{"id":"128:77","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00Z"}' \
	'{"id":"128:78","oun":"128","lastSuceessfulCompletionDateTime":"2026-11-24T09:00:00Z"}' >"$T/rs.ndjson"
expect_exit 0 "import" cart-dedupe -c "$cfg" import <"$T/rs.ndjson"
has "$T/stderr" "^cart-dedupe: imported 2 run-status documents$" "import counts"
expect_exit 0 "report --html" cart-dedupe -c "$cfg" report --html "$T/report.html"
has "$T/stderr" "^cart-dedupe: wrote the report to $T/report.html$" "report says where it went"

# --- an unknown command or operand is named
expect_exit 2 "an unknown command" cart-dedupe -c "$cfg" bogus
has "$T/stderr" "^cart-dedupe: unknown command: bogus$" "is named"
expect_exit 2 "an operand too many" cart-dedupe -c "$cfg" status extra
has "$T/stderr" "^cart-dedupe: status: unexpected argument: extra$" "is named"
# misuse NAME WANT ARGS...: a usage error (exit 2) whose first line is WANT.
misuse() {
	_n=$1 _w=$2
	shift 2
	expect_exit 2 "$_n" cart-dedupe -c "$cfg" "$@"
	is "$(head -n 1 "$T/stderr")" "cart-dedupe: $_w" "$_n: says what is wrong"
}
misuse "forget without a person" "forget: needs --email or --customer" forget
misuse "resend without an id" "resend: needs a notification id" resend
misuse "an option of another command" "--json: not an option of prune" prune --json
misuse "a report option elsewhere" "--days, --since or --html: not an option of status" \
	status --days 3
misuse "two people" "suppress: --email or --customer, not both" \
	suppress --email a@example.com --customer C1
misuse "a person and a token" "suppress: one of --email, --customer, --token or --import" \
	suppress --customer C1 --token x
misuse "--commit and --dry-run" "--commit or --dry-run, not both" --commit --dry-run

# --- a reader that stops early: quiet for admin commands, a failure for stages
# closed CMD...: runs CMD with its stdout a pipe whose reader is gone already,
# as head(1)'s is once it has its line, with no race about who is first.
closed() {
	run python3 -c 'import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.run(sys.argv[1:], stdout=w).returncode)' "$@"
}
sent 8 '.CustomerId = null'  # a row for the report; a guest's: no attribution asked
for c in "status" "status --json" "where" "report" "report --json"; do
	# shellcheck disable=SC2086
	closed cart-dedupe -c "$cfg" $c
	is "$rc" 0 "$c with its reader gone: exit 0"
	lacks "$T/stderr" "write error|Broken pipe" "$c with its reader gone: no write error"
done
cart 9 >"$T/one.ndjson"
closed sh -c 'cart-dedupe -c "$0" --dry-run <"$1"' "$cfg" "$T/one.ndjson"
is "$rc" 1 "the filter, a stage, still fails when its reader is gone"
has "$T/stderr" "write error: Broken pipe" "and says why"

done_testing
