#!/bin/sh
# The sandbox's calls for recovery and credential checks (doc/DESIGN.md 8, items 4,
# 7 and 9): Retail Server's Customers('{AccountNumber}')/GetOrderHistory,
# SendGrid's suppression lists and scopes, Mandrill's rejects/list and ping2,
# Emarsys's settings. They check what the real services check (token,
# audience, api-version, OUN, keys and their scopes, WSSE, page limits), answer
# in the real shapes, are seeded through the control API, are counted per
# endpoint and take faults like the other calls. Stop on purchase, the
# recovery report, the suppression import and --check trust these.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TEN=7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b
RSAPP=a4000000-0000-4000-8000-000000000004
READER=a1000000-0000-4000-8000-000000000001
RS_AUD=https://commerce.dynamics.com
V=api-version=7.3
data=$top/tests/sandbox/default.json
kvs() { jq -r ".keyvault.secrets.$1" "$data"; }
EM_USER=$(kvs EmarsysApiUser)
EM_SECRET=$(kvs EmarsysApiSecret)

# hfile NAME LINE: the header LINE in $T/NAME.h (mode 0600), passed as
# curl -H @FILE so that no credential is on a command line.
hfile() { (umask 077 && printf '%s\n' "$2" >"$T/$1.h"); }
hfile sg "Authorization: Bearer $(kvs SendGridApiKey)"
hfile sgmail "Authorization: Bearer $(kvs SendGridMailOnlyKey)"
hfile sgbad "Authorization: Bearer SG.not-a-key"
hfile none "X-None: 1"

# http CURL-ARGS...: body in $T/body, headers in $T/hdr, status in $code,
# curl's exit status in $rc.
http() {
	run curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}\n' "$@"
	code=$(cat "$T/stdout")
}

# jget FILTER: jq -r on the last body; "" when it fails. jgetc: compact.
jget() { jq -r "$1" "$T/body" 2>/dev/null || echo; }
jgetc() { jq -c "$1" "$T/body" 2>/dev/null || echo; }

# hdr NAME: a response header's value from $T/hdr.
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) v = substr($0, i + 2) }
		END { print v }'
}

# ctl METHOD PATH [JSON]: a control request; status in $code, body in $T/body.
ctl() {
	if [ $# -ge 3 ]; then
		http -X "$1" --data-binary "$3" "$SANDBOX/_sandbox/$2"
	else
		http -X "$1" "$SANDBOX/_sandbox/$2"
	fi
}

sandbox_start

# ====================================================== Retail Server ==
# token CLIENT SCOPE: client credentials of tenant $TEN; the header line
# "Authorization: id_token <token>" in $T/NAME.h for NAME = $3.
token() {
	_s=$(jq -r ".tenants[\"$TEN\"].clients[\"$1\"].secret" "$data")
	(umask 077 && printf 'grant_type=client_credentials&client_id=%s&scope=%s&client_secret=%s' \
		"$1" "$2" "$_s" >"$T/form")
	http --data-binary "@$T/form" "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
	hfile "$3" "Authorization: id_token $(jget .access_token)"
}
token "$RSAPP" "$RS_AUD/.default" rs
token "$RSAPP" "https://vault.azure.net/.default" rsvault
token "$READER" "$RS_AUD/.default" reader
auth=rs oun="OUN: 128" ctype="Content-Type: application/json"

# oh ACCOUNT-KEY [QUERY [BODY]]: POST Customers(ACCOUNT-KEY)/GetOrderHistory
# with $auth, $oun, $ctype; "$ids" is the orders' ids, space-separated.
oh() {
	if [ $# -ge 3 ]; then _b=$3; else _b='{}'; fi
	http -H "@$T/$auth.h" -H "$oun" -H "$ctype" -H "Accept: application/json" \
		--data-binary "$_b" "$SANDBOX/Commerce/Customers($1)/GetOrderHistory?${2:-$V}"
	ids=$(jq -r '[.value[].Id] | join(" ")' "$T/body" 2>/dev/null || echo "(status $code)")
}

rs_error() { # STATUS RESOURCE-ID DESC: the status and Retail Server's ErrorResourceId
	is "$code $(jget .ErrorResourceId)" "$1 Microsoft_Dynamics_Commerce_Runtime_$2" "$3: $1 $2"
}

LENA="SO-128-000104 SO-128-000105 SO-128-000106 SO-128-000107 SO-128-000108"
oh "'004025'"
is "$code" 200 "history: 200"
is "$ids" "$LENA" "history: the customer's orders, newest first"
is "$(jget '.["@odata.context"]')" "$SANDBOX/Commerce/\$metadata#SalesOrders" "history: @odata.context"
is "$(hdr OData-Version)" 4.0 "history: OData-Version"
has "$T/hdr" '^Content-Type: application/json; odata.metadata=minimal' "history: OData JSON"
is "$(jgetc '.value[0] | [.Id, .CustomerId, .CreatedDateTime, .StatusValue, .CurrencyCode, .ChannelId]')" \
	'["SO-128-000104","004025","2026-11-24T05:19:59.9999999Z",4,"USD",68719478279]' \
	"history: Id, CustomerId, CreatedDateTime as written (7 digits), StatusValue, CurrencyCode, ChannelId"
has "$T/body" '"TotalAmount":56\.40,' "history: TotalAmount keeps its scale (a .NET decimal)"
oh "'004025'" "\$top=2&$V"
is "$ids" "SO-128-000104 SO-128-000105" "history: \$top"
oh "'004025'" "\$top=2&\$skip=2&$V"
is "$ids" "SO-128-000106 SO-128-000107" "history: \$top and \$skip"
oh "'004025'" "\$top=2&\$skip=4&$V"
is "$ids" "SO-128-000108" "history: the last page"
oh "'004025'" "\$skip=5&$V"
is "$code $(jgetc .value)" "200 []" "history: past the end, an empty page"
oh "'004025'" "\$top=0&$V"
is "$(jgetc .value)" "[]" "history: \$top=0"
oh "'004025'" "\$top=5000&$V"
is "$ids" "$LENA" "history: \$top over 1000 is capped, not refused"
oh "'004025'" "\$count=true&\$top=1&$V"
is "$(jget '.["@odata.count"]') $ids" "5 SO-128-000104" "history: \$count"
oh "'004011'"
is "$ids" "SO-128-000101 SO-128-000102" "history: another customer, two orders"
is "$(jget '.value[1].ChannelId')" 68719476778 "history: orders of other channels too (a store's)"
oh "'004024'"
is "$(jgetc '[.value[] | [.CreatedDateTime, .StatusValue]]')" '[["2026-11-24T15:00:00+09:00",7]]' \
	"history: a canceled order (StatusValue 7), its offset as written"
oh "'004018'"
is "$code $(jgetc .value)" "200 []" "history: a customer without orders: an empty list"
oh "AccountNumber='004011'"
is "$code $ids" "200 SO-128-000101 SO-128-000102" "history: the key by name"
oh "'004099'"
rs_error 404 CustomerNotFound "history: no such customer"
is "$(jget .ExceptionType)" DataValidationException "history: no such customer, a DataValidationException"
oh "004011"
is "$code $(jget '.error.message | test("not a valid literal of type .Edm.String.")')" "400 true" \
	"history: an unquoted key is an OData error"
oh "'004025'" "\$top=-1&$V"
rs_error 400 InvalidQueryOption "history: a negative \$top"
oh "'004025'" "\$skip=x&$V"
rs_error 400 InvalidQueryOption "history: a \$skip that is not a number"
oh "'004025'" "\$filter=StatusValue%20eq%207&$V"
rs_error 400 InvalidQueryOption "history: \$filter"
oh "'004025'" "\$orderby=CreatedDateTime&$V"
rs_error 400 InvalidQueryOption "history: \$orderby"
oh "'004025'" "$V" '{"since":"2026-11-24T00:00:00Z"}'
rs_error 400 InvalidFormat "history: a parameter the action does not take"
oh "'004025'" "$V" '[]'
rs_error 400 InvalidFormat "history: a body that is not an object"
oh "'004025'" "$V" ''
is "$code $ids" "200 $LENA" "history: an empty body is as good as {}"
ctype="Content-Type: text/plain"
oh "'004025'"
is "$code" 415 "history: {} sent as text/plain"
ctype="Content-Type: application/json"
http -H "@$T/rs.h" -H "$oun" "$SANDBOX/Commerce/Customers('004025')/GetOrderHistory?$V"
is "$code $(hdr Allow)" "405 POST" "history: GET on the action is 405"
oh "'004025'" "\$top=1"
rs_error 400 ApiVersionRequired "history: no api-version"
oh "'004025'" "api-version=7.2"
rs_error 400 ApiVersionNotSupported "history: another api-version"
auth=none
oh "'004025'"
rs_error 401 AuthenticationFailed "history: no token"
auth=rsvault
oh "'004025'"
rs_error 401 AuthenticationFailed "history: a token for another audience"
has "$T/body" 'IDX10214: Audience validation failed' "history: the wrong audience, said so"
auth=reader
oh "'004025'"
rs_error 403 AuthorizationFailed "history: an app not registered for Retail Server"
auth=rs oun="X-None: 1"
oh "'004025'"
rs_error 400 RequiredValueNotFound "history: no OUN header"
oun="OUN: 999"
oh "'004025'"
rs_error 404 ChannelConfigurationNotFound "history: an unknown operating unit"
oun="OUN: 256"
oh "'004025'"
rs_error 404 CustomerNotFound "history: unit 128's customer is not unit 256's"
oh "'005001'"
is "$ids $(jget '.value[0].CurrencyCode')" "SO-256-000201 EUR" "history: unit 256's customer"
oun="OUN: 128"

# -- seeding orders --
ctl POST retail/orders '{"oun":"128","orders":[
	{"CustomerId":"004025","CreatedDateTime":"2026-11-24T05:40:00Z","TotalAmount":56.40},
	{"Id":"T-2","CustomerId":"004025","CreatedDateTime":"2026-11-24T06:40:00+01:00","StatusValue":7,
	 "TotalAmount":10,"CurrencyCode":"EUR"}]}'
is "$code $(jgetc .)" '201 {"oun":"128","ids":["SBX-ORD-000001","T-2"]}' \
	"seed: two orders added, an Id made up where none is given"
oh "'004025'" "\$top=3&$V"
is "$ids" "SBX-ORD-000001 T-2 SO-128-000104" \
	"seed: the history has them, newest first; an instant tie keeps the order added"
is "$(jgetc '.value[0] | [.ChannelId, .StatusValue, .CurrencyCode, .CustomerId]')" \
	'[68719478279,1,"USD","004025"]' "seed: defaults (the unit's channel and currency, StatusValue 1)"
has "$T/body" '"TotalAmount":56\.40,' "seed: TotalAmount keeps its scale"
is "$(jgetc '.value[1] | [.StatusValue, .CurrencyCode, .TotalAmount]')" '[7,"EUR",10]' \
	"seed: given fields win"
for bad in '{"oun":"999","orders":[{"CustomerId":"004025","CreatedDateTime":"2026-11-24T05:40:00Z"}]}' \
	'{"oun":"128","orders":[{"CustomerId":"004099","CreatedDateTime":"2026-11-24T05:40:00Z"}]}' \
	'{"oun":"128","orders":[{"CustomerId":"004025","CreatedDateTime":"2026-11-24T05:40:00"}]}' \
	'{"oun":"128","orders":[{"CustomerId":"004025"}]}' \
	'{"oun":"128","orders":[{"CustomerId":"004025","CreatedDateTime":"2026-11-24T05:40:00Z"},{"Id":"T-2","CustomerId":"004025","CreatedDateTime":"2026-11-24T05:40:00Z"}]}' \
	'{"oun":"128","orders":[]}' 'nope'; do
	ctl POST retail/orders "$bad"
	[ "$code" = 400 ] || not_ok "seed: refused with 400: $bad"
done
ok "seed: an unknown unit or customer, a date without offset, no date, a repeated Id, nothing: 400"
ctl GET "retail/orders?oun=128"
is "$(jget '.["128"] | length')" 11 "seed: GET lists the unit's orders (none added by a refused request)"
ctl DELETE retail/orders
is "$code" 200 "seed: DELETE"
oh "'004025'"
is "$ids" "$LENA" "seed: DELETE goes back to the data file's orders"

# ================================================= SendGrid suppressions ==
# sg LIST [QUERY [KEY]]: GET /sendgrid/v3/suppression/LIST?QUERY; "$emails"
# the addresses answered, space-separated.
sg() {
	http -H "@$T/${3:-sg}.h" "$SANDBOX/sendgrid/v3/suppression/$1?${2:-}"
	emails=$(jq -r '[.[].email] | join(" ")' "$T/body" 2>/dev/null || echo "(status $code)")
}
sg_error() { # STATUS FIELD MESSAGE DESC
	is "$code $(jget '.errors[0].field') $(jget '.errors[0].message')" "$1 $2 $3" "$4"
}
sg bounces
is "$code $emails" "200 gone.away@example.net bounced@example.com" "sendgrid: bounces, newest first"
is "$(jgetc '.[0] | keys_unsorted')" '["created","email","reason","status"]' \
	"sendgrid: a bounce has created, email, reason, status"
is "$(jget '.[0].created')" 1795158900 "sendgrid: created is unix seconds"
sg spam_reports
is "$emails $(jgetc '.[0] | keys_unsorted')" 'spam@example.com ["created","email","ip"]' \
	"sendgrid: spam_reports, with ip"
sg invalid_emails
is "$emails $(jgetc '.[0] | keys_unsorted')" 'nobody@nonexistent.example ["created","email","reason"]' \
	"sendgrid: invalid_emails, with reason"
sg unsubscribes
is "$emails $(jgetc '.[0] | keys_unsorted')" 'noah.brown@example.com unsub@example.com ["created","email"]' \
	"sendgrid: unsubscribes (global), created and email"
sg unsubscribes "start_time=1795456800"
is "$emails" noah.brown@example.com "sendgrid: start_time is inclusive"
sg unsubscribes "end_time=1795456800&start_time=1793871001"
is "$emails" noah.brown@example.com "sendgrid: end_time is inclusive, start_time excludes earlier"
sg unsubscribes "end_time=1795456799"
is "$emails" unsub@example.com "sendgrid: end_time excludes later"
sg unsubscribes "start_time=1795456801"
is "$code $(jgetc .)" "200 []" "sendgrid: nothing in the range: []"
sg bounces "limit=1"
is "$emails" gone.away@example.net "sendgrid: limit"
sg bounces "limit=1&offset=1"
is "$emails" bounced@example.com "sendgrid: limit and offset"
sg bounces "email=bounced"
is "$emails" bounced@example.com "sendgrid: email, a prefix"
sg bounces "email=%25example.net"
is "$emails" gone.away@example.net "sendgrid: email with a %25 wildcard"
sg bounces "limit=500"
is "$code" 200 "sendgrid: limit 500 is the largest"
sg bounces "limit=501"
sg_error 400 limit "limit must be an integer from 1 to 500, not '501'" "sendgrid: limit over 500 is refused"
sg bounces "limit=0"
is "$code $(jget '.errors[0].field')" "400 limit" "sendgrid: limit 0 is refused"
sg bounces "offset=-1"
is "$code $(jget '.errors[0].field')" "400 offset" "sendgrid: a negative offset is refused"
sg bounces "start_time=2026-11-01"
is "$code $(jget '.errors[0].field')" "400 start_time" "sendgrid: start_time must be unix seconds"
sg bounces "" none
sg_error 401 null "authorization required" "sendgrid: no key"
sg bounces "" sgbad
sg_error 401 null "The provided authorization grant is invalid, expired, or revoked" "sendgrid: a wrong key"
for l in bounces spam_reports invalid_emails unsubscribes; do
	sg "$l" "" sgmail
	[ "$code" = 403 ] || not_ok "sendgrid: a key without suppression.$l.read: 403 ($code)"
done
sg_error 403 null "access forbidden" "sendgrid: a mail.send-only key may not read any suppression list"
http -X POST -H "@$T/sg.h" "$SANDBOX/sendgrid/v3/suppression/bounces"
is "$code $(hdr Allow)" "405 GET" "sendgrid: POST on a list is 405"
sg blocks
is "$code" 404 "sendgrid: a list the sandbox does not serve is 404"

# -- scopes (the read-only check) --
http -H "@$T/sg.h" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jget '[.scopes[] | select(. == "mail.send" or . == "suppression.bounces.read")] | join(" ")')" \
	"200 mail.send suppression.bounces.read" "scopes: a full-access key's"
http -H "@$T/sgmail.h" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jgetc .)" '200 {"scopes":["mail.send"]}' "scopes: a restricted key's"
http -H "@$T/none.h" "$SANDBOX/sendgrid/v3/scopes"
sg_error 401 null "authorization required" "scopes: no key"
http -H "@$T/sgbad.h" "$SANDBOX/sendgrid/v3/scopes"
is "$code" 401 "scopes: a wrong key"
printf '{"from":{"email":"carts@shop.example.com"},"template_id":"d-6f3ab40bc49967b3ed4bc782c8bf4fba","personalizations":[{"to":[{"email":"a@example.com"}]}]}' >"$T/send.json"
http -H "@$T/sgmail.h" -H "Content-Type: application/json" --data-binary "@$T/send.json" \
	"$SANDBOX/sendgrid/v3/mail/send"
is "$code" 202 "scopes: the mail.send-only key may send"

# -- seeding suppressions --
ctl POST sendgrid/suppressions '{"list":"bounces","entries":[{"email":"late@example.com","created":1795500000},{"email":"later@example.com","created":1795500001,"reason":"550 no","status":"5.0.0"}]}'
is "$code $(jgetc .)" '201 {"list":"bounces","added":2}' "seed: bounces added"
sg bounces "start_time=1795500000"
is "$emails" "later@example.com late@example.com" "seed: listed, newest first"
is "$(jgetc '[.[] | [.reason, .status]]')" \
	'[["550 no","5.0.0"],["550 5.1.1 The email account that you tried to reach does not exist.","5.1.1"]]' \
	"seed: given fields kept, the list's others defaulted"
for bad in '{"list":"blocks","entries":[{"email":"a@example.com"}]}' \
	'{"list":"bounces","entries":[{"created":1}]}' \
	'{"list":"bounces","entries":[{"email":"a@example.com","created":"yesterday"}]}' \
	'{"list":"bounces","entries":[]}'; do
	ctl POST sendgrid/suppressions "$bad"
	[ "$code" = 400 ] || not_ok "seed: refused with 400: $bad"
done
ok "seed: an unknown list, no email, a created that is not unix seconds, nothing: 400"
python3 -c 'import json
print(json.dumps({"list": "spam_reports", "entries": [
    {"email": "s%03d@example.com" % i, "created": 1795000000 + i} for i in range(600)]}))' >"$T/many.json"
http -X POST --data-binary "@$T/many.json" "$SANDBOX/_sandbox/sendgrid/suppressions"
sg spam_reports
is "$code $(jget length) $(jget '.[0].email')" "200 500 s599@example.com" \
	"sendgrid: without limit, a page of 500 (never the whole list)"
sg spam_reports "offset=500"
is "$(jget length) $(jget '.[-1].email')" "101 spam@example.com" "sendgrid: the next page by offset"
ctl GET sendgrid/suppressions
is "$(jgetc '[.bounces, .spam_reports, .invalid_emails, .unsubscribes] | map(length)')" "[4,601,1,2]" \
	"seed: GET shows every list"
ctl DELETE sendgrid/suppressions
sg bounces
is "$emails" "gone.away@example.net bounced@example.com" "seed: DELETE goes back to the data file's lists"

# ==================================================== Mandrill rejects ==
# md METHOD BODY-JSON [KEY]: POST /mandrill/api/1.0/METHOD with the key
# ($MD_KEY unless given) added to BODY-JSON, written to a 0600 file.
md() {
	jq -c --arg k "${3-$(kvs MandrillApiKey)}" '. + {key: $k}' >"$T/md.json" <<EOF
$2
EOF
	chmod 600 "$T/md.json"
	http -H "Content-Type: application/json" --data-binary "@$T/md.json" \
		"$SANDBOX/mandrill/api/1.0/$1"
	emails=$(jq -r '[.[].email] | join(" ")' "$T/body" 2>/dev/null || echo "(status $code)")
}
md rejects/list.json '{}'
is "$code $emails" \
	"200 blocked@example.com mailbox-full@example.org spam@example.com unsub@example.com bounced@example.com" \
	"mandrill: rejects/list, newest first, no expired entry"
is "$(jgetc '.[0] | keys_unsorted')" \
	'["email","reason","detail","created_at","last_event_at","expires_at","expired","sender","subaccount"]' \
	"mandrill: an entry has Mandrill's members"
is "$(jgetc '[.[] | .reason]')" '["custom","soft-bounce","spam","unsub","hard-bounce"]' \
	"mandrill: the reasons"
is "$(jget '.[0].created_at')" "2026-11-22 12:00:00" "mandrill: times as YYYY-MM-DD HH:MM:SS"
md rejects/list '{"include_expired":true}'
is "$(jgetc '[.[] | select(.expired) | .email]')" '["was-full@example.org"]' \
	"mandrill: include_expired adds the expired soft bounce, marked expired"
md rejects/list '{"email":"SPAM@example.com"}'
is "$emails" spam@example.com "mandrill: email narrows the list"
md rejects/list '{"include_expired":"yes"}'
is "$code $(jget .name)" "500 ValidationError" "mandrill: include_expired must be a boolean"
md rejects/list '{"subaccount":"shop-2"}'
is "$code $(jget .name)" "500 Unknown_Subaccount" "mandrill: an unknown subaccount"
md rejects/list '{}' "md-not-a-key"
is "$code $(jgetc .)" '500 {"status":"error","code":-1,"name":"Invalid_Key","message":"Invalid API key"}' \
	"mandrill: a wrong key, Mandrill's error"
md rejects/list '{}' ""
is "$code $(jget .name)" "500 ValidationError" "mandrill: no key"
http -X GET "$SANDBOX/mandrill/api/1.0/rejects/list.json"
is "$code $(jget .name)" "404 Unknown_Method" "mandrill: GET is not a method"

# -- users/ping2 (the read-only check) --
md users/ping2 '{}'
is "$code $(jgetc .)" '200 {"PING":"PONG!"}' "ping2: PONG!"
md users/ping2.json '{}' "md-not-a-key"
is "$code $(jget .name)" "500 Invalid_Key" "ping2: a wrong key"
md users/ping '{}'
is "$code $(jgetc .)" '200 "PONG!"' "ping: the older form"

# -- seeding rejects; send-template rejects by the same list --
ctl POST mandrill/rejects '{"entries":[{"email":"gone@example.com","reason":"hard-bounce","created_at":"2026-11-25 08:00:00"},{"email":"x@example.com","reason":"bounced"}]}'
is "$code" 400 "seed: an unknown reason is refused"
ctl POST mandrill/rejects '{"entries":[{"email":"gone@example.com","reason":"hard-bounce","created_at":"2026-11-25 08:00:00"}]}'
is "$code $(jgetc .)" '201 {"added":1}' "seed: a rejection added"
md rejects/list '{}'
is "$(jget '.[0] | "\(.email) \(.reason) \(.created_at)"')" "gone@example.com hard-bounce 2026-11-25 08:00:00" \
	"seed: listed first (the newest)"
md messages/send-template '{"template_name":"abandoned-cart","template_content":[],"message":{"from_email":"carts@shop.example.com","to":[{"email":"gone@example.com"},{"email":"was-full@example.org"}]}}'
is "$(jgetc '[.[] | [.status, .reject_reason]]')" '[["rejected","hard-bounce"],["sent",null]]' \
	"seed: send-template rejects the seeded address; an expired soft bounce is sent"
python3 -c 'import json
print(json.dumps({"entries": [{"email": "r%04d@example.com" % i, "reason": "unsub",
    "created_at": "2026-10-%02d 00:%02d:%02d" % (1 + i // 3600, i // 60 % 60, i % 60)}
    for i in range(1001)]}))' >"$T/many.json"
http -X POST --data-binary "@$T/many.json" "$SANDBOX/_sandbox/mandrill/rejects"
md rejects/list '{}'
is "$(jget length)" 1000 "mandrill: at most 1000 entries, no paging"
ctl DELETE mandrill/rejects
md rejects/list '{}'
is "$(jget length)" 5 "seed: DELETE goes back to the data file's list"

# ==================================================== Emarsys settings ==
# digest NONCE CREATED SECRET: base64(lowercase hex(SHA1(nonce + created + secret))).
digest() {
	printf '%s%s%s' "$1" "$2" "$3" | openssl sha1 -r | cut -c1-40 | tr -d '\n' | openssl base64 -A
}
# wsse [OFFSET [SECRET [NONCE]]]: $T/wsse.h, an X-WSSE header created OFFSET
# seconds from now.
wsse() {
	_n=${3-$(openssl rand -hex 16)}
	_c=$(date -u -d "@$(($(date +%s) + ${1:-0}))" +%Y-%m-%dT%H:%M:%SZ)
	hfile wsse "X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$(digest "$_n" "$_c" "${2:-$EM_SECRET}")\", Nonce=\"$_n\", Created=\"$_c\""
}
settings() { http -H "@$T/wsse.h" "$@" "$SANDBOX/emarsys/api/v2/settings"; }
wsse
settings
is "$code $(jget .replyCode) $(jget .replyText)" "200 0 OK" "settings: 200, replyCode 0"
is "$(jget '.data | has("id") and has("timezone")')" true "settings: the account's settings"
is "$(hdr X-RateLimit-Limit)" 1000 "settings: counted against the rate limit"
settings
is "$code $(jget .replyText)" "401 Unauthorized Nonce already used" "settings: a nonce replayed"
wsse 0 "not-the-secret"
settings
is "$code $(jget .replyText)" "401 Unauthorized Invalid password digest" "settings: a wrong secret"
wsse -301
settings
is "$code $(jget .replyText)" "401 Unauthorized Time frame is invalid" "settings: Created 301 s old"
hfile wsse "X-None: 1"
settings
is "$code $(jget .replyText)" "401 Unauthorized X-WSSE header is missing" "settings: no X-WSSE"
wsse
settings -X POST
is "$code $(jget .replyCode)" "400 1009" "settings: POST is not its method"
ctl POST emarsys/rate_limit '{"per_minute": 1}'
wsse
settings
wsse
settings
is "$code $(jget .replyCode)" "429 7003" "settings: over the rate limit"
ctl POST emarsys/rate_limit '{"per_minute": 1000}'

# ================================================== counts and the log ==
sandbox_clear
oh "'004025'"
oh "'004011'"
sg bounces
sg unsubscribes
sg unsubscribes
md rejects/list '{}'
md users/ping2 '{}'
wsse
settings
http -H "@$T/sg.h" "$SANDBOX/sendgrid/v3/scopes"
ctl GET counts
is "$(jgetc .)" '{"total":9,"by_endpoint":{"emarsys settings":1,"mandrill rejects/list":1,"mandrill users/ping2":1,"retail Customers/GetOrderHistory":2,"sendgrid scopes":1,"sendgrid suppression/bounces":1,"sendgrid suppression/unsubscribes":2}}' \
	"counts: per endpoint, from the request log"
curl -sS "$SANDBOX/_sandbox/log" >"$T/log"
is "$(jq -r 'select(.operation == "Customers/GetOrderHistory") | "\(.customer) \(.returned)"' "$T/log" | tr '\n' ,)" \
	"004025 5,004011 2," "log: GetOrderHistory's customer and how many orders returned"
is "$(jq -r 'select(.service == "sendgrid" and .operation != "scopes") | .returned' "$T/log" | tr '\n' ,)" \
	"2,2,2," "log: how many suppression entries returned"
has "$T/log" '"service":"sendgrid".*"authorization":"Bearer <redacted>"' "log: the SendGrid key redacted"
has "$T/log" '"service":"mandrill".*"json":\{"key":"<redacted>"\}' "log: the Mandrill key redacted"

# ============================================================== faults ==
sandbox_fault '{"match":{"service":"retail","path":"GetOrderHistory$"},"action":"status","status":503,"headers":{"Retry-After":"1"}}'
oh "'004025'"
rs_error 503 ServiceUnavailable "fault: 503 on GetOrderHistory, in Retail Server's shape"
is "$(hdr Retry-After)" 1 "fault: with Retry-After"
oh "'004025'"
is "$code" 200 "fault: then served"
sandbox_fault '{"match":{"path":"GetOrderHistory$"},"action":"truncate"}'
oh "'004025'"
is "$rc" 18 "fault: a truncated GetOrderHistory answer (curl 18)"
sandbox_fault '{"match":{"path":"^/sendgrid/v3/suppression/"},"action":"status","status":429,"headers":{"X-RateLimit-Reset":"{now+60}"}}'
sg bounces
is "$code $(jget '.errors[0].message')" "429 too many requests" "fault: 429 on a suppression list, SendGrid's shape"
if [ "$(hdr X-RateLimit-Reset)" -gt "$(date +%s)" ]; then ok "fault: with X-RateLimit-Reset"; else
	not_ok "fault: with X-RateLimit-Reset"; fi
sandbox_fault '{"match":{"path":"rejects/list"},"action":"drop"}'
md rejects/list '{}'
is "$rc" 52 "fault: a dropped rejects/list (curl 52)"
sandbox_fault '{"match":{"path":"/api/v2/settings$"},"action":"malformed"}'
wsse
settings
is "$code $(jget .replyCode)" "200 " "fault: a malformed settings answer"
sandbox_fault '{"match":{"path":"/users/ping2"},"action":"hang","seconds":3}'
http --max-time 1 -H "Content-Type: application/json" --data-binary "@$T/md.json" \
	"$SANDBOX/mandrill/api/1.0/users/ping2"
is "$rc" 28 "fault: a hanging ping2 (curl 28, timed out)"
curl -sS "$SANDBOX/_sandbox/log" >"$T/log"
is "$(jq -r 'select(.fault) | .fault' "$T/log" | tr '\n' ,)" "status,truncate,status,drop,malformed,hang," \
	"fault: each logged with its action"
is "$(jq -r 'select(.fault) | .operation' "$T/log" | tr '\n' ,)" \
	"Customers/GetOrderHistory,Customers/GetOrderHistory,suppression/bounces,rejects/list,settings,users/ping2," \
	"fault: each logged with its operation, so it counts for its endpoint"

no_secrets_printed
done_testing
