#!/bin/sh
# cart-notify against the sandbox's Emarsys, SendGrid, Mandrill and webhook:
# golden request bodies, batching, per-record outcomes, rate limits, bad input.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
in=$top/tests/golden/enrich.ndjson
cfg=$T/appsettings.json
sandbox_config "$T/base.json"
jq --arg s "$SANDBOX" '.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"}' \
	"$T/base.json" >"$cfg"
log() { curl -sf "$SANDBOX/_sandbox/log?service=$1"; }
delivered() { curl -sf "$SANDBOX/_sandbox/$1/delivered"; }
reset() {
	sandbox_clear
	for p in emarsys sendgrid mandrill; do curl -sf -X DELETE "$SANDBOX/_sandbox/$p/delivered" >/dev/null; done
	curl -sf -X DELETE "$SANDBOX/_sandbox/clock" >/dev/null
}
# many N: N notifications made from the golden ones, each its own id and address.
many() {
	jq -c --argjson n "$1" -s '. as $g | range($n) | . as $i | $g[$i % ($g | length)] |
	    .notificationId = ("n\($i)") | .email = ("c\($i)@example.com")' "$in"
}

# --- Emarsys, the default provider
reset
expect_exit 0 "Emarsys: the golden notifications" cart-notify -c "$cfg" <"$in"
cp "$T/stdout" "$T/res.ndjson"
is "$(wc -l <"$T/res.ndjson" | tr -d ' ')" "$(wc -l <"$in" | tr -d ' ')" "one result per input line"
is "$(jq -r .notificationId "$T/res.ndjson")" "$(jq -r .notificationId "$in")" "in input order"
is "$(jq -r .status "$T/res.ndjson" | sort -u)" sent "all sent"
is "$(jq -c 'keys' "$T/res.ndjson" | sort -u)" \
	'["cartId","channelId","customerId","email","modifiedDateTime","notificationId","provider","status","step"]' \
	"each result has the fields of doc/DESIGN.md section 3"
log emarsys | jq -c .json >"$T/body.json"
if diff -u "$top/tests/golden/emarsys-request.json" "$T/body.json" >"$T/diff"; then
	ok "the request body is the golden one"; else
	not_ok "the request body is the golden one"; sed 's/^/#   /' "$T/diff" | head -n 30; fi
is "$(log emarsys | jq -r .path)" "/emarsys/api/v2/event/4242/trigger" "posted to the event's trigger"
is "$(log emarsys | jq -r .status)" 200 "the sandbox accepted the WSSE header"
is "$(delivered emarsys | wc -l | tr -d ' ')" 17 "17 contacts delivered"

# The WSSE Created must be within 5 minutes of the server's clock.
for skew in 400 -400; do
	reset
	curl -sf -X POST --data "{\"offset_seconds\": $skew}" "$SANDBOX/_sandbox/clock" >/dev/null
	expect_exit 1 "a server clock $skew s off: the request fails" cart-notify -c "$cfg" <"$in"
	is "$(jq -r .status "$T/stdout" | sort -u)" failed "every record failed ($skew s)"
	has "$T/stdout" "Time frame is invalid" "with Emarsys's reason ($skew s)"
done
reset
curl -sf -X POST --data '{"offset_seconds": 200}' "$SANDBOX/_sandbox/clock" >/dev/null
expect_exit 0 "a server clock 200 s off is within the window" cart-notify -c "$cfg" <"$in"

# 2,500 records go out in 3 requests.
reset
# (one product each, so that 1000 contacts fit in 1 MB)
many 2500 | jq -c '.orderDetails |= [.[0] | .productImage = null]' >"$T/2500.ndjson"
expect_exit 0 "2,500 records" cart-notify -c "$cfg" <"$T/2500.ndjson"
is "$(jq -r .status "$T/stdout" | sort | uniq -c | tr -s ' ')" " 2500 sent" "all sent"
is "$(log emarsys | jq -r .contacts | tr '\n' ' ')" "1000 1000 500 " "in 3 requests of 1000, 1000, 500"
is "$(delivered emarsys | jq -r .trigger_id | sort -u | wc -l | tr -d ' ')" 2500 "each delivered once"
is "$(log emarsys | jq -r '.request_bytes <= 1000000' | sort -u)" true "no request over 1,000,000 bytes"

# Big contacts: the 1 MB limit splits a batch before 1000.
reset
many 300 | jq -c '.orderDetails = [range(40) as $i | .orderDetails[0] | .productName = ("x" * 60)]' >"$T/big.ndjson"
expect_exit 0 "300 large records" cart-notify -c "$cfg" <"$T/big.ndjson"
is "$(log emarsys | wc -l | tr -d ' ')" "$(log emarsys | jq -r 'select(.request_bytes <= 1000000) | .status' | grep -c 200)" \
	"every request within 1,000,000 bytes and accepted"
is "$( [ "$(log emarsys | wc -l)" -gt 1 ] && echo split)" split "the batch was split by size"
is "$(delivered emarsys | wc -l | tr -d ' ')" 300 "nothing lost"

# Per-contact errors fail exactly those contacts.
reset
jq -c 'if .cartId == "tie-b" or .cartId == "tie-d" then .email = "nobody@example.com" else . end' "$in" >"$T/unknown.ndjson"
expect_exit 0 "an unknown contact is a per-record outcome" cart-notify -c "$cfg" <"$T/unknown.ndjson"
is "$(jq -r 'select(.status == "failed") | .cartId' "$T/stdout" | tr '\n' ' ')" "tie-b tie-d " \
	"exactly those two failed"
has "$T/stdout" '"error":"Emarsys 2008: No contact found' "with Emarsys's reason"
is "$(jq -r 'select(.status == "sent") | .cartId' "$T/stdout" | wc -l | tr -d ' ')" 15 "the others were sent"

# A 429 with a reset header is waited out and nothing is lost.
reset
sandbox_fault '{"match":{"path":"/emarsys/"},"action":"status","status":429,"headers":{"X-RateLimit-Reset":"{now+2}"},"count":1}'
expect_exit 0 "a 429 is waited out" cart-notify -c "$cfg" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "then all are sent"
is "$(log emarsys | jq -r .status | tr '\n' ' ')" "429 200 " "after one 429, one retry"
is "$(log emarsys | jq -s '.[1].ts - .[0].ts >= 1')" true "that waited for the reset"
is "$(delivered emarsys | wc -l | tr -d ' ')" 17 "and delivered each once"

# A service down past the retries fails its records, and the run says so.
reset
sandbox_fault '{"match":{"path":"/emarsys/"},"action":"status","status":503,"count":-1}'
expect_exit 1 "Emarsys down" cart-notify -c "$cfg" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" failed "every record failed"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 17 "one result per line all the same"
has "$T/stderr" "HTTP 503" "the message says why"

# OAuth2 and the v3 API instead of WSSE.
reset
jq --arg s "$SANDBOX" '.EmarsysClientOptions.ApiUrl = ($s + "/emarsys/api/v3/event/{0}/trigger") |
	.Cartwatch.Notify.Emarsys = {Auth: "oauth2", TokenUrl: ($s + "/emarsys/oauth2/token")}' "$cfg" >"$T/oauth.json"
expect_exit 0 "Emarsys with OAuth2" cart-notify -c "$T/oauth.json" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "all sent"
is "$(log emarsys | jq -r .path | sort -u | tr '\n' ' ')" \
	"/emarsys/api/v3/event/4242/trigger /emarsys/oauth2/token " "a token, then the v3 trigger"

# Bad records get failed results; the stream goes on; one line per line.
reset
{
	sed -n 1p "$in"
	sed -n 2p "$in" | jq -c 'del(.email)'
	sed -n 3p "$in" | jq -c '.email = "not an address"'
	echo 'this is not json'
	sed -n 4p "$in" | jq -c 'del(.notificationId)'
	sed -n 5p "$in"
} >"$T/bad.ndjson"
expect_exit 1 "bad records (one line not JSON)" cart-notify -c "$cfg" <"$T/bad.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 6 "six lines in, six results out"
is "$(jq -r .status "$T/stdout" | tr '\n' ' ')" "sent failed failed failed failed sent " \
	"the good ones sent, each bad one failed, in order"
is "$(jq -r '.error // ""' "$T/stdout" | sed -n 2,5p | tr '\n' '|')" \
	'no email address|not an email address: no "@"|<stdin>:4: not a JSON object|not a notification: no notificationId|' \
	"each failure names its problem"
has "$T/stderr" "<stdin>:2: no email address" "and it is reported with its line"

# The requests-per-minute ceiling spaces requests out: two tiny requests (two
# steps, two events), so the gap is the ceiling's and not the bodies'.
reset
jq '.Cartwatch.Notify.RequestsPerMinute = 60 | .Cartwatch.Reminders = [{AfterMinutes: 10,
	ExternalEventId: "4242"}, {AfterMinutes: 60, ExternalEventId: "4243"}]' "$cfg" >"$T/slow.json"
{ sed -n 1p "$in"; sed -n 2p "$in" | jq -c '.step = 2'; } >"$T/two-steps.ndjson"
expect_exit 0 "two steps at 60 requests a minute" cart-notify -c "$T/slow.json" <"$T/two-steps.ndjson"
is "$(log emarsys | jq -r .path | tr '\n' ' ')" \
	"/emarsys/api/v2/event/4242/trigger /emarsys/api/v2/event/4243/trigger " "each step to its own event"
is "$(log emarsys | jq -s 'length == 2 and .[1].ts - .[0].ts >= 0.9')" true \
	"the second request waited its second"

# The preview: a file per record, a skipped result each, nothing sent.
reset
expect_exit 0 "--dry-run" cart-notify -c "$cfg" --preview-dir "$T/preview" <"$in"
is "$(find "$T/preview" -name '*.html' ! -name index.html | wc -l | tr -d ' ')" 17 "writes one HTML file per record"
is "$(jq -r .status "$T/stdout" | sort -u)" skipped "each result is skipped"
is "$(jq -r .provider "$T/stdout" | sort -u)" preview "by the preview"
is "$(curl -sf "$SANDBOX/_sandbox/log" | wc -l | tr -d ' ')" 0 "and nothing went over the network"
has "$T/preview/$(head -n 1 "$in" | jq -r .notificationId).html" "Olivia" "the first email greets its customer"

# Opt-outs the state store holds apply here too: a registered customer's
# email is known only after cart-enrich, too late for cart-dedupe.
reset
mkdir -p "$T/optout"
jq '.RetailServerClientOptions.OperatingUnitNumber = 128 |
	.Cartwatch.StateStore.Path = "state/optout.db"' "$cfg" >"$T/optout/c.json"
cart-dedupe -c "$T/optout/c.json" suppress --email "$(sed -n 2p "$in" | jq -r .email | tr a-z A-Z)"
cart-dedupe -c "$T/optout/c.json" suppress --customer "$(sed -n 3p "$in" | jq -r .customerId)"
expect_exit 0 "opted-out people" cart-notify -c "$T/optout/c.json" <"$in"
is "$(jq -r '"\(.status) \(.error // "")"' "$T/stdout" | sed -n 1,4p | tr '\n' '|')" \
	"sent |skipped opted out|skipped opted out|sent |" "are skipped, by email (any case) and by customer"
is "$(delivered emarsys | wc -l | tr -d ' ')" 15 "and not sent"
jq '.Cartwatch.Notify.CheckOptOuts = false' "$T/optout/c.json" >"$T/optout/off.json"
reset
expect_exit 0 "with CheckOptOuts false" cart-notify -c "$T/optout/off.json" <"$in"
is "$(delivered emarsys | wc -l | tr -d ' ')" 17 "everyone is sent"
jq '.Cartwatch.StateStore.Path = "state/none.db"' "$T/optout/c.json" >"$T/optout/none.json"
expect_exit 0 "a store that does not exist yet" cart-notify -c "$T/optout/none.json" <"$in"
if [ -e "$T/optout/state/none.db" ]; then not_ok "is not made by cart-notify"; else ok "is not made by cart-notify"; fi

# --- SendGrid
reset
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com", FromName: "Shop"}}' \
	"$cfg" >"$T/sg.json"
expect_exit 0 "SendGrid" cart-notify -c "$T/sg.json" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "all accepted (202)"
is "$(jq -r .providerMessageId "$T/stdout" | sort -u | wc -l | tr -d ' ')" 1 "with the X-Message-Id"
log sendgrid | jq -c .json >"$T/sg-body.json"
is "$(jq '.personalizations | length' "$T/sg-body.json")" 17 "17 personalizations in one request"
is "$(jq -c '.personalizations[0].dynamic_template_data | keys' "$T/sg-body.json")" \
	'["currency","firstName","language","lastName","orderDetails","returnToCartUrl"]' \
	"each with the sample's data object"
is "$(jq -r '.personalizations[2].to[0].email' "$T/sg-body.json")" "$(sed -n 3p "$in" | jq -r .email)" \
	"to its recipient"
reset
many 1500 >"$T/1500.ndjson"
expect_exit 0 "SendGrid, 1,500 records" cart-notify -c "$T/sg.json" <"$T/1500.ndjson"
is "$(log sendgrid | jq -r .personalizations | tr '\n' ' ')" "1000 500 " "in requests of at most 1000"
jq '.Cartwatch.Notify.SendGrid.ApiKeySecretName = "EmarsysApiSecret"' "$T/sg.json" >"$T/sg-bad.json"
expect_exit 1 "SendGrid with the wrong key" cart-notify -c "$T/sg-bad.json" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" failed "every record failed"
has "$T/stdout" "The provided authorization grant is invalid" "with SendGrid's reason"

# --- Mandrill
reset
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "mandrill", Mandrill: {BaseUrl: ($s + "/mandrill"),
	TemplateName: "abandoned-cart", FromEmail: "carts@shop.example.com"}}' "$cfg" >"$T/md.json"
jq -c 'if .cartId == "tie-a" then .email = "bounced@example.com"
	elif .cartId == "tie-b" then .email = "unsub@example.com"
	elif .cartId == "tie-c" then .email = "later@queued.example.com" else . end' "$in" >"$T/md.ndjson"
expect_exit 0 "Mandrill" cart-notify -c "$T/md.json" <"$T/md.ndjson"
is "$(jq -r 'select(.status == "failed") | "\(.cartId) \(.error)"' "$T/stdout" | tr '\n' '|')" \
	"tie-a Mandrill: rejected: hard-bounce|tie-b Mandrill: rejected: unsub|" \
	"rejected recipients fail with the reason"
is "$(jq -r 'select(.cartId == "tie-c") | .status' "$T/stdout")" sent "queued counts as sent"
is "$(jq -r 'select(.status == "sent") | .providerMessageId | test("^[0-9a-f]{32}$")' "$T/stdout" | sort -u)" true \
	"with Mandrill's _id"
is "$(log mandrill | jq -r '.json.message.merge_vars | length')" 17 "one request, merge_vars per recipient"
is "$(log mandrill | jq -r '.json.key')" "<redacted>" "(the key went in the body, redacted in the log)"
jq '.Cartwatch.Notify.Mandrill.ApiKeySecretName = "SendGridApiKey"' "$T/md.json" >"$T/md-bad.json"
expect_exit 1 "Mandrill with the wrong key" cart-notify -c "$T/md-bad.json" <"$in"
has "$T/stdout" "Invalid API key" "fails every record with Mandrill's reason"

# --- Webhook
reset
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook", Webhook: {Url: ($s + "/webhook/carts")}}' "$cfg" >"$T/wh.json"
expect_exit 0 "webhook" cart-notify -c "$T/wh.json" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" sent "all sent"
is "$(log webhook | jq -r .signature_ok | sort -u)" true "every signature verifies"
is "$(log webhook | wc -l | tr -d ' ')" 17 "one POST per record"
jq '.Cartwatch.Notify.Webhook.BatchSize = 10' "$T/wh.json" >"$T/wh10.json"
sandbox_clear
expect_exit 0 "webhook in batches of 10" cart-notify -c "$T/wh10.json" <"$in"
is "$(log webhook | wc -l | tr -d ' ')" 2 "17 records in 2 POSTs"
is "$(log webhook | jq -r .signature_ok | sort -u)" true "signed too"
jq '.Cartwatch.Notify.Webhook.SecretName = "SendGridApiKey"' "$T/wh.json" >"$T/wh-bad.json"
sandbox_clear
expect_exit 1 "a webhook signed with the wrong secret" cart-notify -c "$T/wh-bad.json" <"$in"
is "$(jq -r .status "$T/stdout" | sort -u)" failed "is refused: every record failed"

# Configuration errors: exit 2, nothing sent.
reset
expect_exit 2 "an unknown provider" cart-notify -c "$cfg" --provider carrier-pigeon <"$in"
has "$T/stderr" "Cartwatch.Notify.Provider: expected emarsys" "names the key"
jq 'del(.EmarsysClientOptions.ExternalEventId)' "$cfg" >"$T/noevent.json"
expect_exit 2 "no Emarsys event id" cart-notify -c "$T/noevent.json" <"$in"
has "$T/stderr" "EmarsysClientOptions.ExternalEventId: missing" "names it"
jq '.Cartwatch.Notify = {Provider: "sendgrid"}' "$cfg" >"$T/sg-none.json"
expect_exit 2 "SendGrid without a template" cart-notify -c "$T/sg-none.json" <"$in"
has "$T/stderr" "Cartwatch.Notify.SendGrid.TemplateId: missing" "names it"
is "$(curl -sf "$SANDBOX/_sandbox/log" | wc -l | tr -d ' ')" 0 "none of these made a request"

no_secrets_printed
done_testing
