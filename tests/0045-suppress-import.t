#!/bin/sh
# cart-dedupe suppress --import (doc/DESIGN.md 8.7): the SendGrid and Mandrill
# suppression lists, seeded in the sandbox, end up in our suppression list,
# exactly their addresses: every SendGrid list paged past 500 entries, the
# Mandrill rejections in force (an expired one is not), an invalid address
# skipped with a warning. The next import asks SendGrid only from the time the
# last one started (less an overlap) and counts only new addresses as new; a
# refused key, a service down or a failed list imports nothing and leaves the
# mark where it was. The core case again on Cosmos DB.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The default data set without its lists: every address in them is seeded here.
jq '.sendgrid.suppressions = {} | .mandrill.rejected = {}' \
	"$top/tests/sandbox/default.json" >"$T/data.json"
sandbox_start "$T/data.json"
sandbox_env
export CARTWATCH_NOW=2026-11-30T12:00:00Z
now=1796040000      # CARTWATCH_NOW in unix seconds
overlap=3600        # how far back the next import asks again

mkdir "$T/c"
sandbox_config "$T/c/base.json"
conf() {
	jq --arg s "$SANDBOX" --arg p "$2" '.Cartwatch.StateStore = {Kind: "sqlite", Path: $p} |
	    .Cartwatch.Notify = {SendGrid: {BaseUrl: ($s + "/sendgrid")},
	    Mandrill: {BaseUrl: ($s + "/mandrill")}} | '"${3:-.}" "$T/c/base.json" >"$T/c/$1.json"
}
conf main state/main.db
cfg=$T/c/main.json
log() { curl -sf "$SANDBOX/_sandbox/log?service=$1"; }
suppressions() { cart-dedupe -c "$1" status --json | jq .suppressions; }
seed_sg() {
	curl -sf -X POST --data "{\"list\":\"$1\",\"entries\":$2}" \
	    "$SANDBOX/_sandbox/sendgrid/suppressions" >/dev/null
}
seed_md() {
	curl -sf -X POST --data "{\"entries\":$1}" "$SANDBOX/_sandbox/mandrill/rejects" >/dev/null
}

# --- the lists
# bounces: 520 addresses, more than one page of 500
seed_sg bounces "$(jq -cn --argjson t $now '[range(520) |
	{email: "bounce\(.)@example.com", created: ($t - 86400 - .)}]')"
seed_sg unsubscribes '[{"email":"unsub1@example.com","created":1795000000},
	{"email":"Unsub2@Example.COM","created":1795900000},
	{"email":"recent@example.com","created":1796039000}]'
seed_sg spam_reports '[{"email":"spam1@example.com","created":1795100000},
	{"email":"not an address","created":1795100001}]'
seed_sg invalid_emails '[{"email":"invalid1@nonexistent.example","created":1795200000}]'
seed_md '[{"email":"hard@example.com","reason":"hard-bounce","created_at":"2026-11-02 10:00:00"},
	{"email":"md-unsub@example.com","reason":"unsub","created_at":"2026-11-05 09:30:00"},
	{"email":"full@example.org","reason":"soft-bounce","created_at":"2026-11-21 08:00:00",
	 "expires_at":"2099-01-01 00:00:00"},
	{"email":"was-full@example.org","reason":"soft-bounce","created_at":"2026-10-01 08:00:00",
	 "expires_at":"2026-10-08 08:00:00"},
	{"email":"spam1@example.com","reason":"spam","created_at":"2026-11-07 16:20:00"}]'

# every address in force, lowercased (we keep them so), and those never to be
jq -rn 'range(520) | "bounce\(.)@example.com"' >"$T/want"
printf '%s\n' unsub1@example.com unsub2@example.com recent@example.com spam1@example.com \
	invalid1@nonexistent.example hard@example.com md-unsub@example.com full@example.org \
	>>"$T/want"
sort -o "$T/want" "$T/want"
printf '%s\n' was-full@example.org bounce520@example.com someone@example.com >"$T/never"

# passed ADDRESS-FILE [CONFIG]: the addresses among a cart each that a dry run passes.
passed() {
	jq -Rc '{Id: ("cart-" + .), CustomerId: ("C-" + .), ModifiedDateTime: "2026-11-30T10:00:00Z",
	    CartTypeValue: 1, ReceiptEmail: ., channelId: 68719478279, currency: "USD",
	    CartLines: [{LineId: "l1", ProductId: 68719478279, Quantity: 1, Price: 9.5}]}' "$1" |
	    cart-dedupe -c "${2:-$cfg}" --dry-run | jq -r .ReceiptEmail | sort
}

# --- before: nothing suppressed, every cart passes
is "$(passed "$T/want" | wc -l | tr -d ' ')" 528 "before the import, all 528 carts pass"

# --- the first import
sandbox_clear
expect_exit 0 "import from SendGrid" cart-dedupe -c "$cfg" suppress --import sendgrid
cp "$T/stderr" "$T/sg1.err"
has "$T/sg1.err" "sendgrid bounces: 520 addresses, 520 new$" "bounces: 520 addresses, all new"
has "$T/sg1.err" "sendgrid unsubscribes: 3 addresses, 3 new$" "unsubscribes: 3"
has "$T/sg1.err" "sendgrid spam_reports: 1 address, 1 new, 1 invalid skipped$" \
	"spam_reports: 1, and the invalid one said"
has "$T/sg1.err" "sendgrid spam_reports: entry 1 skipped: not an address" \
	"the invalid address is warned about, naming the list"
lacks "$T/sg1.err" "not an address.*not an address" "without quoting the address"
has "$T/sg1.err" "sendgrid invalid_emails: 1 address, 1 new$" "invalid_emails: 1"
log sendgrid | jq -r '.path + " " + (.query.offset // "-") + " " + (.query.limit // "-") +
	" " + (.query.start_time // "-")' >"$T/sg1.req"
is "$(sort "$T/sg1.req" | tr '\n' ',')" \
	"/sendgrid/v3/suppression/bounces 0 500 -,/sendgrid/v3/suppression/bounces 500 500 -,/sendgrid/v3/suppression/invalid_emails 0 500 -,/sendgrid/v3/suppression/spam_reports 0 500 -,/sendgrid/v3/suppression/unsubscribes 0 500 -," \
	"each list read in pages of 500 until a short one, all of it the first time"
expect_exit 0 "import from Mandrill" cart-dedupe -c "$cfg" suppress --import mandrill
has "$T/stderr" "mandrill rejects: 4 addresses, 3 new$" \
	"Mandrill: the 4 in force (not the expired one), 3 not known yet"
is "$(log mandrill | jq -c '.json | del(.key)')" '{"include_expired":false}' \
	"rejects/list asked once, for the entries in force"
is "$(suppressions "$cfg")" 528 "528 addresses suppressed"
is "$(passed "$T/want" | wc -l | tr -d ' ')" 0 "none of their carts pass"
is "$(passed "$T/never" | tr '\n' ' ')" "bounce520@example.com someone@example.com was-full@example.org " \
	"the expired Mandrill entry and others not listed pass"
storectl() { python3 "$top/tests/storectl.py" "$@"; }
is "$(storectl "sqlite:$T/c/state/main.db" get '*' import:sendgrid | jq -c '{kind, provider, importedUpTo}')" \
	"{\"kind\":\"cartwatch.import\",\"provider\":\"sendgrid\",\"importedUpTo\":$now}" \
	"the store remembers when the SendGrid import started"
cp "$T/c/state/main.db" "$T/after1.db"

# --- the next import: SendGrid from the mark, less the overlap; new ones new
seed_sg unsubscribes '[{"email":"later@example.com","created":1796050000}]'
seed_md '[{"email":"md-later@example.com","reason":"hard-bounce","created_at":"2026-11-30 13:00:00"}]'
sandbox_clear
expect_exit 0 "a second SendGrid import, a day later" \
	env CARTWATCH_NOW=2026-12-01T12:00:00Z cart-dedupe -c "$cfg" suppress --import sendgrid
has "$T/stderr" "sendgrid unsubscribes: 2 addresses, 1 new$" \
	"unsubscribes: the one in the overlap again, and the new one"
has "$T/stderr" "sendgrid bounces: 0 addresses, 0 new$" "bounces: none since"
is "$(log sendgrid | jq -r .query.start_time | sort -u)" $((now - overlap)) \
	"every list asked from when the first import started, less an hour"
expect_exit 0 "a second Mandrill import" cart-dedupe -c "$cfg" suppress --import mandrill
has "$T/stderr" "mandrill rejects: 5 addresses, 1 new$" "Mandrill: all again, one new"
is "$(suppressions "$cfg")" 530 "two more suppressed"
printf '%s\n' later@example.com md-later@example.com >"$T/new"
is "$(passed "$T/new" | wc -l | tr -d ' ')" 0 "their carts do not pass"

# --- failures import nothing and keep the mark
nothing_recorded() {  # CONFIG DESC: no suppression, and the next import asks all
	is "$(suppressions "$1")" 0 "$2: nothing suppressed"
	sandbox_clear
	run cart-dedupe -c "$1" suppress --import sendgrid
	is "$(log sendgrid | jq -r '.query.start_time // "all"' | sort -u)" all \
		"$2: no mark kept (the next import asks for everything)"
}
conf mailonly state/mo.db '.Cartwatch.Notify.SendGrid.ApiKeySecretName = "SendGridMailOnlyKey"'
expect_exit 1 "a mail-only SendGrid key" \
	cart-dedupe -c "$T/c/mailonly.json" suppress --import sendgrid
has "$T/stderr" "SendGrid unsubscribes: HTTP 403: access forbidden \(the API key lacks the scope suppression.unsubscribes.read\); nothing imported" \
	"names the service, the list and the scope"
conf mailonly2 state/mo.db
nothing_recorded "$T/c/mailonly2.json" "mail-only key"

conf badmd state/bm.db '.Cartwatch.Notify.Mandrill.ApiKeySecretName = "SendGridApiKey"'
expect_exit 1 "a key Mandrill does not know" cart-dedupe -c "$T/c/badmd.json" suppress --import mandrill
has "$T/stderr" "Mandrill rejects: HTTP 500 Invalid_Key: Invalid API key \(the API key is refused\); nothing imported" \
	"names Mandrill, the list and the refused key"
is "$(suppressions "$T/c/badmd.json")" 0 "nothing suppressed"

closed_port
conf down state/dn.db '.Cartwatch.Notify.SendGrid.BaseUrl = "http://127.0.0.1:'"$CLOSED"'/sendgrid"'
expect_exit 1 "SendGrid unreachable" cart-dedupe -c "$T/c/down.json" suppress --import sendgrid
has "$T/stderr" "^cart-dedupe: SendGrid unsubscribes: .*nothing imported" "names the service and list"
closed_port_stop
conf down2 state/dn.db
nothing_recorded "$T/c/down2.json" "service down"

# one list failing after others were read: nothing, not half
cp "$T/after1.db" "$T/c/state/half.db"
conf half state/half.db
seed_sg bounces '[{"email":"half@example.com","created":1796100000}]'
sandbox_clear
sandbox_fault '{"match":{"path":"/suppression/spam_reports"},"action":"status","status":503,"count":-1}'
expect_exit 1 "the third list failing" env CARTWATCH_NOW=2026-12-01T12:00:00Z \
	cart-dedupe -c "$T/c/half.json" suppress --import sendgrid
has "$T/stderr" "SendGrid spam_reports: HTTP 503" "names the list that failed"
is "$(suppressions "$T/c/half.json")" 528 "what the lists before it held is not suppressed either"
sandbox_clear
run env CARTWATCH_NOW=2026-12-01T12:00:00Z cart-dedupe -c "$T/c/half.json" suppress --import sendgrid
is "$(log sendgrid | jq -r .query.start_time | sort -u)" $((now - overlap)) "the mark did not move"

# --- usage
expect_exit 2 "another provider" cart-dedupe -c "$cfg" suppress --import emarsys
has "$T/stderr" '"emarsys"' "is named"
expect_exit 2 "--import with --email" cart-dedupe -c "$cfg" suppress --import sendgrid --email a@example.com

# --- the same on Cosmos DB: every address of both providers, then from the mark
cosmos_start
jq --arg c "$COSMOS" --arg k "$COSMOS_KEY" '.Cartwatch.StateStore = {Kind: "cosmos"} |
	.AzureCosmosOptions = {EndPointUri: $c, PrimaryKey: $k,
	DatabaseId: "AbandonedCartSampleDB", ContainerId: "RunStatus"}' "$cfg" >"$T/c/cosmos.json"
cc=$T/c/cosmos.json
printf '%s\n' later@example.com md-later@example.com half@example.com >>"$T/want"
expect_exit 0 "Cosmos DB: import from SendGrid" cart-dedupe -c "$cc" suppress --import sendgrid
has "$T/stderr" "sendgrid bounces: 521 addresses, 521 new$" "Cosmos DB: bounces, paged"
expect_exit 0 "Cosmos DB: import from Mandrill" cart-dedupe -c "$cc" suppress --import mandrill
has "$T/stderr" "mandrill rejects: 5 addresses, 4 new$" "Cosmos DB: Mandrill, 4 new (spam1 came from SendGrid)"
is "$(suppressions "$cc")" 531 "Cosmos DB: 531 addresses suppressed"
is "$(passed "$T/want" "$cc" | wc -l | tr -d ' ')" 0 "Cosmos DB: none of their carts pass"
is "$(passed "$T/never" "$cc" | tr '\n' ' ')" "bounce520@example.com someone@example.com was-full@example.org " \
	"Cosmos DB: the others pass"
sandbox_clear
expect_exit 0 "Cosmos DB: the next import" \
	env CARTWATCH_NOW=2026-12-02T12:00:00Z cart-dedupe -c "$cc" suppress --import sendgrid
is "$(log sendgrid | jq -r .query.start_time | sort -u)" $((now - overlap)) \
	"Cosmos DB: asked from the mark"

# --- a mark that cannot be read is as none: all is read again
conf odd state/odd.db
expect_exit 0 "a fresh store" cart-dedupe -c "$T/c/odd.json" status
storectl "sqlite:$T/c/state/odd.db" put '*' '{"id":"import:sendgrid","oun":"*","kind":"cartwatch.import"}'
sandbox_clear
expect_exit 0 "an import over a mark without its time" cart-dedupe -c "$T/c/odd.json" suppress --import sendgrid
is "$(log sendgrid | jq -r '.query.start_time // "all"' | sort -u)" all "reads every list whole"

# --- Mandrill's 1000 at most: said when a list may have been cut
seed_md "$(jq -cn '[range(1000) | {email: "r\(.)@example.com", reason: "hard-bounce"}]')"
conf cut state/cut.db
expect_exit 0 "a Mandrill list over 1000" cart-dedupe -c "$T/c/cut.json" suppress --import mandrill
has "$T/stderr" "mandrill rejects: 1000 entries, the most it answers with: older ones may be left out" \
	"says the list may have been cut"
has "$T/stderr" "mandrill rejects: 1000 addresses, 1000 new$" "and imports the 1000"

no_secrets_printed "$T/data.json"
done_testing
