#!/bin/sh
# The sandbox's providers: Emarsys (the WSSE digest, its 5-minute clock and
# nonce replay, OAuth2, batch limits, per-contact errors, trigger_id
# idempotency, the rate limit), SendGrid, Mandrill and the webhook receiver
# check what the real ones check, answer in their shapes, and never log a
# secret. cart-notify's tests trust these.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

data=$top/tests/sandbox/default.json
kvs() { jq -r ".keyvault.secrets.$1" "$data"; }
EM_USER=$(kvs EmarsysApiUser)
EM_SECRET=$(kvs EmarsysApiSecret)
SG_KEY=$(kvs SendGridApiKey)
MD_KEY=$(kvs MandrillApiKey)
WH_SECRET=$(kvs WebhookSecret)
SG_TEMPLATE=d-6f3ab40bc49967b3ed4bc782c8bf4fba
JSON="Content-Type: application/json"

# http CURL-ARGS...: body in $T/body, headers in $T/hdr, status in $code.
http() {
	run curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}\n' "$@"
	code=$(cat "$T/stdout")
}

# jget FILTER [FILE]: jq -r on the last body; "" when it fails. jgetc: compact.
jget() { jq -r "$1" "${2:-$T/body}" 2>/dev/null || echo; }
jgetc() { jq -c "$1" "${2:-$T/body}" 2>/dev/null || echo; }

# hdr NAME: a response header's value from $T/hdr.
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) v = substr($0, i + 2) }
		END { print v }'
}

# digest NONCE CREATED SECRET: Emarsys's PasswordDigest,
# base64(lowercase hex(SHA1(nonce + created + secret))).
digest() {
	printf '%s%s%s' "$1" "$2" "$3" | openssl sha1 -r | cut -c1-40 | tr -d '\n' |
		openssl base64 -A
}

# wsse [OFFSET [USER [SECRET [NONCE]]]]: sets $wsse to an X-WSSE header line
# created OFFSET seconds from now (default 0), with a fresh nonce.
wsse() {
	_n=${4-$(openssl rand -hex 16)}
	_c=$(date -u -d "@$(($(date +%s) + ${1:-0}))" +%Y-%m-%dT%H:%M:%SZ)
	wsse="X-WSSE: UsernameToken Username=\"${2:-$EM_USER}\", PasswordDigest=\"$(digest "$_n" "$_c" "${3:-$EM_SECRET}")\", Nonce=\"$_n\", Created=\"$_c\""
}

# em BODY-FILE [EVENT [CURL-ARGS...]]: a v2 trigger with a fresh $wsse
# unless CURL-ARGS give the auth.
em() {
	_b=$1 _ev=${2:-4242}
	if [ $# -ge 2 ]; then shift 2; else shift; fi
	if [ $# -eq 0 ]; then wsse; set -- -H "$wsse"; fi
	http "$@" -H "$JSON" --data-binary "@$_b" "$SANDBOX/emarsys/api/v2/event/$_ev/trigger"
}

em_reply() { # STATUS CODE DESC: the status and replyCode of the last reply
	is "$code $(jget .replyCode)" "$1 $2" "$3: $1, replyCode $2"
}

unauthorized() { # TEXT DESC: a 401 of Emarsys with that replyText
	is "$code $(jget .replyCode) $(jget .replyText)" "401 1 Unauthorized $1" "$2: 401 \"Unauthorized $1\""
}

# contacts N PREFIX: an Emarsys batch body with N contacts.
contacts() {
	python3 -c 'import json,sys
n, p = int(sys.argv[1]), sys.argv[2]
print(json.dumps({"key_id": "3", "contacts": [
    {"external_id": "%s%d@example.com" % (p, i), "trigger_id": "%s-%d" % (p, i),
     "data": {"firstName": "F%d" % i}} for i in range(n)]}))' "$1" "$2"
}

body() { printf '%s' "$1" >"$T/req.json"; }

sandbox_start

# ------------------------------------------------------------------- WSSE --
want=YWQyNWE5Y2JkOTY2ZTU1ODg2M2QzNzVhNDZlZGQwZjg5YjZlZTk4Yw==
is "$(digest d36e316282959a9ed4c89851497a717f 2014-03-20T12:51:45Z customersecret)" "$want" \
	"wsse: the test's digest gives doc/DESIGN.md's vector"
is "$(cd "$top/tests/sandbox" && python3 -B -c 'import svc_emarsys
print(svc_emarsys.wsse_digest("d36e316282959a9ed4c89851497a717f", "2014-03-20T12:51:45Z", "customersecret"))')" \
	"$want" "wsse: the sandbox's digest gives doc/DESIGN.md's vector"

body '{"key_id":"3","contacts":[{"external_id":"ann@example.com","trigger_id":"n-1","data":{"firstName":"Ann","total":19.90}},{"external_id":"nobody@example.com","trigger_id":"n-2","data":{}}]}'
em "$T/req.json"
em_reply 200 0 "emarsys: a good X-WSSE"
is "$(jget .replyText)" OK "emarsys: replyText OK"
is "$(jget '.data.ids | length')" 1 "emarsys: one contact id (the known contact)"
is "$(jget '.data.errors["nobody@example.com"]["2008"]')" \
	"No contact found with the external id: 3 - nobody@example.com" \
	"emarsys: the unknown contact gets error 2008 inside the 200"
is "$(jget '.data.errors | keys | join(",")')" "nobody@example.com" "emarsys: only that contact errs"
is "$(hdr X-RateLimit-Limit) $(hdr X-RateLimit-Remaining)" "1000 999" \
	"emarsys: X-RateLimit-Limit and -Remaining on a success"

body '{"key_id":"3","contacts":[{"external_id":"ann@example.com","trigger_id":"n-3"}]}'
em "$T/req.json" 4242
em_reply 200 0 "emarsys: without errors"
is "$(jget '.data | has("errors")')" false "emarsys: no \"errors\" when there is none"

wsse 0 "$EM_USER" "not-the-secret"
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Invalid password digest" "emarsys: a digest under the wrong secret"
is "$(jget .data)" "" "emarsys: data is \"\" on a 401"
wsse 0 "nobody-user"
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Invalid username" "emarsys: an unknown user"
em "$T/req.json" 4242 -H "X-None: 1"
unauthorized "X-WSSE header is missing" "emarsys: no X-WSSE"
em "$T/req.json" 4242 -H "X-WSSE: Username=\"$EM_USER\""
unauthorized "X-WSSE header is invalid" "emarsys: X-WSSE without UsernameToken"
wsse 0 "$EM_USER" "$EM_SECRET" ""
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Nonce is invalid" "emarsys: an empty nonce"

# The .NET sample's own header (Messaging/EmarsysEmailProvider.cs, release
# 9.56), which real Emarsys takes: a nonce of 32 characters drawn from lowercase
# letters and digits (not hex), Created from DateTime.UtcNow.ToString("o") (7
# fraction digits, "Z"), and its header text running on past Created with
# "  Content-type: application/json;charset="utf-8"", no comma between.
# sample_wsse [CREATED]: sets $wsse to that shape (CREATED default: now, "o").
sample_wsse() {
	# Its alphabet; one letter past f first, so the nonce is never hex.
	_n=k$(LC_ALL=C tr -dc '02345689abcdefghjkmnpqrstuvwxyz' </dev/urandom | head -c 31)
	_c=${1:-$(date -u +%Y-%m-%dT%H:%M:%S.%N | cut -c1-27)Z}
	wsse="X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$(digest "$_n" "$_c" "$EM_SECRET")\", Nonce=\"$_n\", Created=\"$_c\"  Content-type: application/json;charset=\"utf-8\""
}
sample_wsse
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: the .NET sample's X-WSSE, as it sends it"
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Nonce already used" "emarsys: the sample's header replayed"
sample_wsse "$(date -u +%Y-%m-%dT%H:%M:%S).1234567+00:00"
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: Created with 7 fraction digits and +00:00"
sample_wsse "$(date -u +%Y-%m-%dT%H:%M:%S.1)Z"
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: Created with one fraction digit"
sample_wsse "$(date -u -d @$(($(date +%s) - 400)) +%Y-%m-%dT%H:%M:%S).1234567Z"
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Time frame is invalid" "emarsys: the sample's shape, Created 400 s old"
sample_wsse
_d=$(digest "$_n" "$_c" not-the-secret)
em "$T/req.json" 4242 -H "X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$_d\", Nonce=\"$_n\", Created=\"$_c\"  Content-type: application/json;charset=\"utf-8\""
unauthorized "Invalid password digest" "emarsys: the sample's shape under the wrong secret"
# The digest is over the Created text as sent: the fraction counts.
_n=$(openssl rand -hex 16) _c=$(date -u +%Y-%m-%dT%H:%M:%S)
em "$T/req.json" 4242 -H "X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$(digest "$_n" "${_c}Z" "$EM_SECRET")\", Nonce=\"$_n\", Created=\"$_c.1234567Z\""
unauthorized "Invalid password digest" "emarsys: a digest over another Created text"
# The digest over the hex upper-cased: base64 of different text.
_n=$(openssl rand -hex 16) _c=$(date -u +%Y-%m-%dT%H:%M:%SZ)
_d=$(printf '%s%s%s' "$_n" "$_c" "$EM_SECRET" | openssl sha1 -r | cut -c1-40 | tr 'a-f' 'A-F' |
	tr -d '\n' | openssl base64 -A)
em "$T/req.json" 4242 -H "X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$_d\", Nonce=\"$_n\", Created=\"$_c\""
unauthorized "Invalid password digest" "emarsys: upper-case hex in the digest"

wsse -400
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Time frame is invalid" "emarsys: Created 400 s in the past"
wsse 400
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Time frame is invalid" "emarsys: Created 400 s in the future"
wsse -240
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: Created 4 minutes old"
wsse 240
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: Created 4 minutes ahead"
_c=$(date -u +%Y-%m-%dT%H:%M:%S+00:00) _n=$(openssl rand -hex 16)
em "$T/req.json" 4242 -H "X-WSSE: UsernameToken Username=\"$EM_USER\", PasswordDigest=\"$(digest "$_n" "$_c" "$EM_SECRET")\", Nonce=\"$_n\", Created=\"$_c\""
em_reply 200 0 "emarsys: Created with +00:00"

# The server's clock, shifted: the client's own clock is then off.
http -X POST --data '{"offset_seconds": 400}' "$SANDBOX/_sandbox/clock"
is "$code $(jget .offset_seconds)" "200 400" "clock: POST /_sandbox/clock sets the offset"
wsse
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Time frame is invalid" "emarsys: refused when the server clock is 400 s ahead"
wsse 400
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: a Created that matches the shifted clock"
http -X POST --data '{"offset_seconds": -400}' "$SANDBOX/_sandbox/clock"
wsse
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Time frame is invalid" "emarsys: refused when the server clock is 400 s behind"
http -X POST --data '{"offset_seconds": -290}' "$SANDBOX/_sandbox/clock"
wsse
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: accepted when the server clock is 290 s behind"
http "$SANDBOX/_sandbox/clock"
is "$code $(jget .offset_seconds)" "200 -290" "clock: GET shows the offset"
http -X POST --data '{"offset": 1}' "$SANDBOX/_sandbox/clock"
is "$code" 400 "clock: a bad body is 400"
http -X DELETE "$SANDBOX/_sandbox/clock"
is "$code $(jget .offset_seconds)" "200 0" "clock: DELETE resets it"

wsse
em "$T/req.json" 4242 -H "$wsse"
em_reply 200 0 "emarsys: a fresh nonce"
em "$T/req.json" 4242 -H "$wsse"
unauthorized "Nonce already used" "emarsys: the same header again (a replay)"

# ----------------------------------------------------------------- OAuth2 --
basic=$(printf '%s:%s' "$EM_USER" "$EM_SECRET" | openssl base64 -A)
http -H "Authorization: Basic $basic" -d grant_type=client_credentials \
	"$SANDBOX/emarsys/oauth2/token"
is "$code $(jget .token_type) $(jget .expires_in)" "200 bearer 3600" "oauth2: a token for the right client"
em_tok=$(jget .access_token)
[ -n "$em_tok" ] && ok "oauth2: access_token" || not_ok "oauth2: access_token"
http -H "Authorization: Basic $(printf '%s:%s' "$EM_USER" wrong | openssl base64 -A)" \
	-d grant_type=client_credentials "$SANDBOX/emarsys/oauth2/token"
is "$code $(jget .error)" "401 invalid_client" "oauth2: a wrong client secret"
has "$T/hdr" '^WWW-Authenticate: Basic' "oauth2: 401 carries WWW-Authenticate: Basic"
http -d grant_type=client_credentials "$SANDBOX/emarsys/oauth2/token"
is "$code $(jget .error)" "401 invalid_client" "oauth2: no Basic credentials"
http -H "Authorization: Basic $basic" -d grant_type=password "$SANDBOX/emarsys/oauth2/token"
is "$code $(jget .error)" "400 unsupported_grant_type" "oauth2: another grant type"
http -H "Authorization: Basic $basic" -X POST "$SANDBOX/emarsys/oauth2/token"
is "$code $(jget .error)" "400 invalid_request" "oauth2: no grant_type"

body '{"key_id":"3","contacts":[{"external_id":"bob@example.com","trigger_id":"o-1","data":{"n":1}}]}'
http -H "Authorization: Bearer $em_tok" -H "$JSON" --data-binary "@$T/req.json" \
	"$SANDBOX/emarsys/api/v3/event/4242/trigger"
em_reply 200 0 "emarsys v3: the bearer token"
is "$(jget '.data.ids | length')" 1 "emarsys v3: the same reply as v2"
http -H "$JSON" --data-binary "@$T/req.json" "$SANDBOX/emarsys/api/v3/event/4242/trigger"
unauthorized "Authorization header is missing" "emarsys v3: no token"
http -X POST --data '{"aud":"https://vault.azure.net","client_id":"x","tid":"emarsys"}' \
	"$SANDBOX/_sandbox/token"
other_tok=$(jget .access_token)
http -H "Authorization: Bearer ${em_tok%.*}.${other_tok##*.}" -H "$JSON" \
	--data-binary "@$T/req.json" "$SANDBOX/emarsys/api/v3/event/4242/trigger"
unauthorized "Invalid access token (signature)" "emarsys v3: a forged token"
http -H "Authorization: Bearer $other_tok" -H "$JSON" --data-binary "@$T/req.json" \
	"$SANDBOX/emarsys/api/v3/event/4242/trigger"
unauthorized "Invalid access token (audience)" "emarsys v3: a token for another audience"
em "$T/req.json" 4242 -H "Authorization: Bearer $em_tok"
unauthorized "X-WSSE header is missing" "emarsys v2: a bearer token is not WSSE"

# ----------------------------------------------------------- the request --
contacts 1000 big >"$T/1000.json"
em "$T/1000.json"
em_reply 200 0 "emarsys: 1000 contacts"
is "$(jget '.data.ids | length')" 1000 "emarsys: 1000 ids"
contacts 1001 over >"$T/1001.json"
em "$T/1001.json"
em_reply 400 1000 "emarsys: 1001 contacts"
is "$(jget .replyText)" "The request exceeded the maximum batch size of 1,000" \
	"emarsys: 1001 contacts, Emarsys's text"
python3 -c 'import json
print(json.dumps({"key_id": "3", "contacts": [{"external_id": "huge%d@example.com" % i,
    "trigger_id": "h-%d" % i, "data": {"pad": "x" * 200000}} for i in range(5)]}))' >"$T/huge.json"
em "$T/huge.json"
em_reply 400 1000 "emarsys: a body over 1,000,000 bytes"
has "$T/body" 'maximum payload size of 1000000 bytes' "emarsys: over 1,000,000 bytes, said so"
body '{"key_id":"3","contacts":[{"external_id":"ann@example.com"}]}'
em "$T/req.json" 9999
em_reply 400 5001 "emarsys: an unknown event id"
is "$(jget .replyText)" "Invalid event ID for customer." "emarsys: unknown event, Emarsys's text"
body '{"key_id":"3","contacts":[{"external_id":"ann@example.com"'
em "$T/req.json"
em_reply 400 1010 "emarsys: a body that is not JSON"
body '{"contacts":[{"external_id":"ann@example.com"}]}'
em "$T/req.json"
em_reply 400 1001 "emarsys: no key_id"
body '{"key_id":"7","contacts":[{"external_id":"ann@example.com"}]}'
em "$T/req.json"
em_reply 400 2004 "emarsys: a key_id that is not a key field"
body '{"key_id":3,"contacts":[]}'
em "$T/req.json"
em_reply 400 1006 "emarsys: no contacts"
body '{"key_id":"3","contacts":[{"trigger_id":"x"}]}'
em "$T/req.json"
em_reply 400 2005 "emarsys: a contact without external_id"
body '{"key_id":"3","contacts":[{"external_id":"ann@example.com","data":[1]}]}'
em "$T/req.json"
em_reply 400 5011 "emarsys: data that is not an object"
http -H "$JSON" -X GET "$SANDBOX/emarsys/api/v2/event/4242/trigger"
em_reply 400 1009 "emarsys: GET"
http -X POST "$SANDBOX/emarsys/api/v2/event/4242"
is "$code" 404 "emarsys: another path is 404"

# ----------------------------------------------- idempotency and delivered --
http -X DELETE "$SANDBOX/_sandbox/emarsys/delivered"
is "$code" 200 "emarsys: DELETE /_sandbox/emarsys/delivered"
body '{"key_id":"3","contacts":[{"external_id":"a@example.com","trigger_id":"t-a","data":{"price":19.90,"name":"Zoë"}},{"external_id":"b@example.com","trigger_id":"t-b","data":{}}]}'
em "$T/req.json"
em_reply 200 0 "idempotency: the first batch"
body '{"key_id":"3","contacts":[{"external_id":"a@example.com","trigger_id":"t-a","data":{"price":19.90,"name":"Zoë"}},{"external_id":"b@example.com","trigger_id":"t-b","data":{}},{"external_id":"c@example.com","trigger_id":"t-c","data":{}},{"external_id":"nobody@example.com","trigger_id":"t-n","data":{}}]}'
em "$T/req.json"
em_reply 200 0 "idempotency: the batch again, with one more contact"
is "$(jget '.data.ids | length')" 3 "idempotency: a repeat still gets its contact id"
em "$T/req.json" 4243
em_reply 200 0 "idempotency: the same trigger ids under another event"
curl -sS "$SANDBOX/_sandbox/emarsys/delivered" >"$T/delivered"
is "$(jq -r '"\(.event) \(.trigger_id) \(.external_id)"' "$T/delivered" | tr '\n' ',')" \
	"4242 t-a a@example.com,4242 t-b b@example.com,4242 t-c c@example.com,4243 t-a a@example.com,4243 t-b b@example.com,4243 t-c c@example.com," \
	"delivered: each (event, trigger_id, external_id) once, none for the unknown contact"
has "$T/delivered" '"data":\{"price":19.90,"name":"Zoë"\}' "delivered: data as sent (19.90 keeps its text)"
curl -sS "$SANDBOX/_sandbox/log?service=emarsys" | tail -n 2 >"$T/log2"
is "$(jq -r '"\(.delivered) \(.duplicates) \(.contact_errors)"' "$T/log2" | tr '\n' ,)" "1 2 1,3 0 1," \
	"log: delivered, duplicates and contact_errors per request"

# -------------------------------------------------------------- rate limit --
http -X POST --data '{"per_minute": 2}' "$SANDBOX/_sandbox/emarsys/rate_limit"
is "$code" 200 "rate: POST /_sandbox/emarsys/rate_limit"
# Not across a minute's boundary: the window is the calendar minute.
[ "$(($(date +%s) % 60))" -lt 55 ] || sleep 6
body '{"key_id":"3","contacts":[{"external_id":"r@example.com","trigger_id":"r-1"}]}'
em "$T/req.json"
em "$T/req.json"
is "$code $(hdr X-RateLimit-Remaining)" "200 0" "rate: the second request of the minute, 0 remaining"
em "$T/req.json"
em_reply 429 7003 "rate: the third is refused"
now=$(date +%s)
reset=$(hdr X-RateLimit-Reset)
reset=${reset:-0}
is "$(hdr X-RateLimit-Limit) $(hdr X-RateLimit-Remaining) $((reset > now && reset <= now + 60 && reset % 60 == 0))" \
	"2 0 1" "rate: X-RateLimit-Limit, -Remaining, -Reset (the next minute, unix seconds)"
http -X POST --data '{"per_minute": 1000}' "$SANDBOX/_sandbox/emarsys/rate_limit"
em "$T/req.json"
em_reply 200 0 "rate: a higher limit lets it through"
sandbox_fault '{"match":{"service":"emarsys"},"action":"status","status":429,"headers":{"X-RateLimit-Reset":"{now+30}"}}'
em "$T/req.json"
now=$(date +%s)
reset=$(hdr X-RateLimit-Reset)
reset=${reset:-0}
is "$code $(jget .replyCode) $((reset >= now + 28 && reset <= now + 31))" "429 7003 1" \
	"rate: an injected 429, Emarsys's body and X-RateLimit-Reset"

# ---------------------------------------------------------------- SendGrid --
# sg JSON [CURL-ARGS...]: a Mail Send with the right key unless given.
sg() {
	printf '%s' "$1" >"$T/sg.json"
	shift
	[ $# -gt 0 ] || set -- -H "Authorization: Bearer $SG_KEY"
	http "$@" -H "$JSON" --data-binary "@$T/sg.json" "$SANDBOX/sendgrid/v3/mail/send"
}
pers() { # N [EMAIL-OF-THE-LAST]
	python3 -c 'import json,sys
n = int(sys.argv[1])
p = [{"to": [{"email": "p%d@example.com" % i}], "dynamic_template_data": {"i": i},
      "custom_args": {"notificationId": "n-%d" % i}} for i in range(n)]
if sys.argv[2]:
    p[-1]["to"][0]["email"] = sys.argv[2]
print(json.dumps(p))' "$1" "${2:-}"
}
sgbody() { # PERSONALIZATIONS [TEMPLATE [FROM]]
	printf '{"from":{"email":"%s","name":"Example Shop"},"template_id":"%s","personalizations":%s}' \
		"${3:-carts@shop.example.com}" "${2:-$SG_TEMPLATE}" "$1"
}

curl -sS -X DELETE "$SANDBOX/_sandbox/sendgrid/delivered" >/dev/null
sg "$(sgbody "$(pers 2)")"
is "$code $(wc -c <"$T/body" | tr -d ' ')" "202 0" "sendgrid: 202 with an empty body"
msgid=$(hdr X-Message-Id)
[ -n "$msgid" ] && ok "sendgrid: X-Message-Id" || not_ok "sendgrid: X-Message-Id"
curl -sS "$SANDBOX/_sandbox/sendgrid/delivered" >"$T/delivered"
is "$(jq -r '"\(.message_id == "'"$msgid"'") \(.to[0]) \(.custom_args.notificationId) \(.dynamic_template_data.i)"' "$T/delivered" | tr '\n' ,)" \
	"true p0@example.com n-0 0,true p1@example.com n-1 1," "sendgrid: delivered, one line per personalization"
sg "$(sgbody "$(pers 2)")" -H "X-None: 1"
is "$code $(jget '.errors[0].message')" "401 authorization required" "sendgrid: no key"
sg "$(sgbody "$(pers 2)")" -H "Authorization: Bearer SG.wrong"
is "$code $(jget '.errors[0].message')" \
	"401 The provided authorization grant is invalid, expired, or revoked" "sendgrid: a wrong key"
is "$(jgetc '.errors[0] | [.field, .help]')" "[null,null]" "sendgrid: field and help null"
sg "$(sgbody "$(pers 1)" d-00000000000000000000000000000000)"
is "$code $(jget '.errors[0].field')" "400 template_id" "sendgrid: an unknown template"
sg "$(sgbody "$(pers 1)" 1b6bc7d0-4a4f-4b0e-9e9e-000000000000)"
is "$code $(jget '.errors[0].field')" "400 template_id" "sendgrid: a legacy (not d-) template id"
sg "$(sgbody "$(pers 1001)")"
is "$code $(jget '.errors[0].field')" "400 personalizations" "sendgrid: 1001 personalizations"
sg "$(sgbody "$(pers 1000)")"
is "$code" 202 "sendgrid: 1000 personalizations"
sg "$(sgbody '[]')"
is "$code $(jget '.errors[0].field')" "400 personalizations" "sendgrid: no personalization"
sg "$(sgbody "$(pers 2 'not-an-address')")"
is "$code $(jget '.errors[0].field') $(jget '.errors[0].message')" \
	"400 personalizations.1.to.0.email Does not contain a valid address." "sendgrid: a bad to address"
sg "$(sgbody "$(pers 1 'two@@example.com')" '' 'bad from')"
is "$(jget '[.errors[].field] | join(",")')" "from.email,personalizations.0.to.0.email" \
	"sendgrid: every error at once"
sg '{"from":{"email":"carts@shop.example.com"},"template_id":"'"$SG_TEMPLATE"'","personalizations":[{"to":[{"email":"a@example.com"}],"custom_args":{"cartId":null}}]}'
is "$code $(jget '.errors[0].field')" "400 personalizations.0.custom_args.cartId" \
	"sendgrid: custom_args values must be strings"
sg "$(sgbody "$(pers 1)" "$SG_TEMPLATE" someone@elsewhere.example.com)"
is "$code $(jget '.errors[0].field')" "403 from" "sendgrid: an unverified sender is 403"
sg "$(sgbody "$(pers 1)" "$SG_TEMPLATE" news@mail.shop.example.com)"
is "$code" 202 "sendgrid: a sender of an authenticated domain"
sg '{"from":'
is "$code $(jget '.errors[0].message')" "400 Bad Request" "sendgrid: a body that is not JSON"
sandbox_fault '{"match":{"service":"sendgrid"},"action":"status","status":429,"headers":{"X-RateLimit-Reset":"{now+60}"}}'
sg "$(sgbody "$(pers 1)")"
reset=$(hdr X-RateLimit-Reset)
is "$code $(jget '.errors[0].message') $((${reset:-0} > $(date +%s)))" \
	"429 too many requests 1" "sendgrid: an injected 429 with X-RateLimit-Reset"

# ---------------------------------------------------------------- Mandrill --
# md JSON-WITHOUT-THE-KEY [KEY [PATH]]
md() {
	printf '{"key":"%s",%s' "${2-$MD_KEY}" "${1#\{}" >"$T/md.json"
	http -H "$JSON" --data-binary "@$T/md.json" \
		"$SANDBOX/mandrill/api/1.0/messages/${3:-send-template}"
}
mdbody() { # TEMPLATE FROM
	printf '{"template_name":"%s","template_content":[],"message":{"from_email":"%s","to":[{"email":"ok@example.com","name":"Ok","type":"to"},{"email":"late@queued.example.com","type":"to"},{"email":"bounced@example.com","type":"to"},{"email":"unsub@example.com","type":"to"},{"email":"not an address","type":"to"}],"merge_vars":[{"rcpt":"ok@example.com","vars":[{"name":"firstName","content":"Ok"},{"name":"orderDetails","content":[{"price":19.90}]}]},{"rcpt":"late@queued.example.com","vars":[{"name":"firstName","content":"Late"}]}],"merge_language":"handlebars","preserve_recipients":false}}' \
		"${1:-abandoned-cart}" "${2:-carts@shop.example.com}"
}

curl -sS -X DELETE "$SANDBOX/_sandbox/mandrill/delivered" >/dev/null
md "$(mdbody)"
is "$code $(jget '[.[] | "\(.email)=\(.status)/\(.reject_reason)"] | join(" ")')" \
	"200 ok@example.com=sent/null late@queued.example.com=queued/null bounced@example.com=rejected/hard-bounce unsub@example.com=rejected/unsub not an address=invalid/null" \
	"mandrill: sent, queued, rejected (hard-bounce, unsub), invalid, in order"
is "$(jget '[.[]._id | test("^[0-9a-f]{32}$")] | all')" true "mandrill: each _id is 32 hex"
md "$(mdbody)" "$MD_KEY" send-template.json
is "$code $(jget 'length')" "200 5" "mandrill: the .json suffix"
curl -sS "$SANDBOX/_sandbox/mandrill/delivered" >"$T/delivered"
is "$(jq -r '"\(.email) \(.status) \(.vars | map(.name) | join("+"))"' "$T/delivered" | tr '\n' ,)" \
	"ok@example.com sent firstName+orderDetails,late@queued.example.com queued firstName,ok@example.com sent firstName+orderDetails,late@queued.example.com queued firstName," \
	"mandrill: delivered, sent and queued only, with their merge_vars"
has "$T/delivered" '"content":\[\{"price":19.90\}\]' "mandrill: merge var content as sent"
md "$(mdbody)" "md-wrong-key"
is "$code $(jgetc .)" '500 {"status":"error","code":-1,"name":"Invalid_Key","message":"Invalid API key"}' \
	"mandrill: a wrong key is Mandrill's 500 Invalid_Key"
md "$(mdbody)" ""
is "$code $(jget .name) $(jget .code)" "500 ValidationError -2" "mandrill: no key"
md "$(mdbody no-such-template)"
is "$code $(jget .name) $(jget .code)" "500 Unknown_Template 5" "mandrill: an unknown template"
md "$(mdbody abandoned-cart carts@elsewhere.example.com)"
is "$(jget '[.[] | select(.status != "invalid") | "\(.status)/\(.reject_reason)"] | unique | join(" ")')" \
	"rejected/unsigned" "mandrill: a from_email outside the sending domains: rejected, unsigned"
md '{"template_name":"abandoned-cart","message":{"to":[]}}'
is "$code $(jget .name)" "500 ValidationError" "mandrill: template_content is required"
md '{"template_name":"abandoned-cart","template_content":[],"message":{"to":[{"name":"x"}]}}'
is "$code $(jget .name)" "500 ValidationError" "mandrill: a recipient without email"
http -X GET "$SANDBOX/mandrill/api/1.0/users/ping"
is "$code $(jget .status)" "404 error" "mandrill: another path"

# ----------------------------------------------------------------- webhook --
# hmac FILE: sha256=<hex HMAC-SHA256 of FILE under the webhook secret>.
hmac() {
	WH_SECRET=$WH_SECRET python3 -c 'import hashlib,hmac,os,sys
print("sha256=" + hmac.new(os.environ["WH_SECRET"].encode(), open(sys.argv[1], "rb").read(),
                            hashlib.sha256).hexdigest())' "$1"
}
wh() { # FILE [CURL-ARGS...]
	_f=$1
	shift
	http "$@" -H "$JSON" --data-binary "@$_f" "$SANDBOX/webhook/carts"
}
printf '[{"email":"ann@example.com","notificationId":"n-1","total":19.90}]' >"$T/wh.json"
curl -sS -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
wh "$T/wh.json" -H "X-Cartwatch-Signature: $(hmac "$T/wh.json")"
is "$code $(jgetc .)" '200 {"ok":true}' "webhook: a good signature"
wh "$T/wh.json" -H "X-Cartwatch-Signature: sha256=$(printf '%064d' 0)"
is "$code" 401 "webhook: a wrong signature"
wh "$T/wh.json"
is "$code" 401 "webhook: no signature"
sig=$(hmac "$T/wh.json")
wh "$T/wh.json" -H "X-Cartwatch-Signature: sha256=$(printf '%s' "${sig#sha256=}" | tr 'a-f' 'A-F')"
is "$code" 401 "webhook: upper-case hex"
printf 'not json' >"$T/wh.txt"
wh "$T/wh.txt" -H "X-Cartwatch-Signature: $(hmac "$T/wh.txt")"
is "$code" 400 "webhook: a signed body that is not JSON"
curl -sS "$SANDBOX/_sandbox/webhook/received" >"$T/received"
is "$(jq -r '"\(.signature_ok)"' "$T/received" | tr '\n' ,)" "true,false,false,false,true," \
	"webhook: received, every POST with its verdict"
has "$T/received" '"body":\[\{"email":"ann@example.com","notificationId":"n-1","total":19.90\}\]' \
	"webhook: the body as sent"
curl -sS "$SANDBOX/_sandbox/log?service=webhook" >"$T/log.wh"
is "$(jq -r .signature_ok "$T/log.wh" | tr '\n' ,)" "true,false,false,false,true," \
	"log: signature_ok per webhook request"

# ------------------------------------------------------ read-only checks --
# The calls cart-notify --check makes (doc/DESIGN.md 8.9), in the shapes the
# services document: Emarsys's account settings under the same WSSE rules as
# a trigger, SendGrid's scopes of the key (any key may read its own),
# Mandrill's ping2.
wsse
http -H "$wsse" "$SANDBOX/emarsys/api/v2/settings"
em_reply 200 0 "settings: the account's settings"
is "$(jget '.replyText') $(jget '.data | has("id") and has("name") and has("timezone") and has("environment")')" \
	"OK true" "settings: replyText OK, data with id, name, timezone, environment"
http -H "$wsse" "$SANDBOX/emarsys/api/v2/settings"
unauthorized "Nonce already used" "settings: a nonce used again"
wsse 0 "$EM_USER" wrong-secret
http -H "$wsse" "$SANDBOX/emarsys/api/v2/settings"
unauthorized "Invalid password digest" "settings: a wrong secret"
wsse -400
http -H "$wsse" "$SANDBOX/emarsys/api/v2/settings"
unauthorized "Time frame is invalid" "settings: Created older than 5 minutes"
http "$SANDBOX/emarsys/api/v2/settings"
is "$code $(jget .replyCode)" "401 1" "settings: no X-WSSE"

http -H "Authorization: Bearer $SG_KEY" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jget '.scopes | index("mail.send") != null')" "200 true" "scopes: a full-access key holds mail.send"
http -H "Authorization: Bearer $(kvs SendGridMailOnlyKey)" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jgetc .)" '200 {"scopes":["mail.send"]}' "scopes: a restricted key, its scopes only"
http "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jgetc '.errors[0] | {field, message}')" '401 {"field":null,"message":"authorization required"}' \
	"scopes: no key: SendGrid's 401 authorization required"
http -H "Authorization: Bearer SG.wrong" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(jget '.errors[0].message')" "401 The provided authorization grant is invalid, expired, or revoked" \
	"scopes: a wrong key"
http -X POST -H "Authorization: Bearer $SG_KEY" "$SANDBOX/sendgrid/v3/scopes"
is "$code $(hdr Allow)" "405 GET" "scopes: GET only"

ping2() { # KEY [SUFFIX]
	http -H "$JSON" -d "{\"key\":\"$1\"}" "$SANDBOX/mandrill/api/1.0/users/ping2${2:-}"
}
ping2 "$MD_KEY"
is "$code $(jgetc .)" '200 {"PING":"PONG!"}' "ping2: PONG! for a good key"
ping2 "$MD_KEY" .json
is "$code $(jget .PING)" "200 PONG!" "ping2: the .json suffix"
ping2 md-wrong-key
is "$code $(jget .name) $(jget .code)" "500 Invalid_Key -1" "ping2: a wrong key is Mandrill's 500 Invalid_Key"

# --------------------------------------------------------------------- log --
curl -sS "$SANDBOX/_sandbox/log" >"$T/log"
has "$T/log" '"service":"emarsys".*"x-wsse":"<redacted>"' "log: X-WSSE redacted"
has "$T/log" '"path":"/emarsys/oauth2/token".*"authorization":"Basic <redacted>"' \
	"log: the Basic credentials redacted"
has "$T/log" '"path":"/emarsys/api/v3/.*"authorization":"Bearer <redacted>"' \
	"log: the Emarsys bearer token redacted"
has "$T/log" '"service":"sendgrid".*"authorization":"Bearer <redacted>"' "log: the SendGrid key redacted"
has "$T/log" '"service":"mandrill".*"json":\{"key":"<redacted>"' "log: Mandrill's key field redacted"
is "$(jq -r 'select(.service == "emarsys" and .contacts == 1000) | "\(.status) \(.request_bytes > 50000)"' "$T/log")" \
	"200 true" "log: request_bytes and contacts"
is "$(jq -r 'select(.service == "sendgrid" and .status == 202) | .personalizations' "$T/log" | head -n 1)" 2 \
	"log: personalizations"
is "$(jq -r 'select(.service == "mandrill" and .status == 200) | .recipients' "$T/log" | head -n 1)" 5 \
	"log: recipients"
jq -r .keyvault.secrets.WebhookSecret "$data" >"$T/wh.secret"
python3 "$top/tests/sandbox/sandbox.py" --list-secrets --data "$data" >"$T/secrets"
if grep -Fqxf "$T/wh.secret" "$T/secrets"; then ok "--list-secrets: lists WebhookSecret"; else
	not_ok "--list-secrets: lists WebhookSecret"; fi
if grep -Fqf "$T/secrets" "$T/log"; then not_ok "log: no secret value"; else ok "log: no secret value"; fi

no_secrets_printed
done_testing
