#!/bin/sh
# The test sandbox itself: its fakes of Entra ID, managed identity and Key Vault
# check what the real services check, its faults do what they say, and its log
# never holds a secret. Every later test trusts these.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TEN=7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b
TEN_ALIAS=cartwatch-test.onmicrosoft.com
OTHER_TEN=3e9b2f41-6a8c-4d0e-b5f7-2c4a6e8b0d13
READER=a1000000-0000-4000-8000-000000000001
READER_SECRET='kv-reader-s3cr3t-Qm7v~pX2.wL9'
NOACCESS=a2000000-0000-4000-8000-000000000002
NOACCESS_SECRET='kv-no-access-s3cr3t-Hk4r~tB8.zN1'
WORKLOAD=a3000000-0000-4000-8000-000000000003
OTHER=b1000000-0000-4000-8000-000000000011
OTHER_SECRET='other-tenant-s3cr3t-Pz6w~Kc1.dR4'
MSI_HEADER='msi-header-s3cr3t-7Yc2Lq9Wd4'
MSI_SYSTEM=e1000000-0000-4000-8000-000000000021
MSI_USER_READER=e2000000-0000-4000-8000-000000000022
MSI_USER_OTHER=e3000000-0000-4000-8000-000000000023
VAULT=https://vault.azure.net
JWT_BEARER=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
data=$top/tests/sandbox/default.json
python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["tenants"][sys.argv[2]]["clients"][sys.argv[3]]["federated_tokens"][0], end="")' \
	"$data" "$TEN" "$WORKLOAD" >"$T/federated.token"

# http CURL-ARGS...: body in $T/body, headers in $T/hdr, status in $code,
# curl's exit status in $rc.
http() {
	run curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}\n' "$@"
	code=$(cat "$T/stdout")
}

# jget PATH [FILE]: a value from a JSON file ($T/body); a.b.0 walks objects and
# arrays; strings print raw, anything else as compact JSON; "" if absent or not
# JSON. jq when there is one (python3 starts slowly), else python3.
if command -v jq >/dev/null 2>&1; then
	jget() {
		jq -r --arg p "$1" 'getpath($p | split(".") | map(tonumber? // .))
			| if . == null then "" elif type == "string" then . else tojson end' \
			"${2:-$T/body}" 2>/dev/null || echo
	}
else
	jget() {
		python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[2]))
    for k in sys.argv[1].split("."):
        d = d[int(k)] if isinstance(d, list) else d[k]
    print(d if isinstance(d, str) else json.dumps(d, separators=(",", ":")))
except Exception:
    print("")' "$1" "${2:-$T/body}"
	}
fi

# claim NAME TOKEN: a claim from a JWT's payload.
claim() {
	python3 -c 'import base64,json,sys
try:
    p = sys.argv[2].split(".")[1]
    v = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))[sys.argv[1]]
    print(v if isinstance(v, str) else json.dumps(v))
except Exception:
    print("")' "$1" "$2"
}

# hdr NAME: a response header's value from $T/hdr.
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) v = substr($0, i + 2) }
		END { print v }'
}

# token TENANT CLIENT SECRET SCOPE: client credentials.
token() {
	http -d grant_type=client_credentials -d "client_id=$2" \
		--data-urlencode "client_secret=$3" --data-urlencode "scope=$4" \
		"$SANDBOX/aad/$1/oauth2/v2.0/token"
}

# kv NAME [CURL-ARGS...]: GET a secret with api-version=7.4.
kv() {
	name=$1
	shift
	http "$@" "$SANDBOX/kv/secrets/$name?api-version=7.4"
}

aad_error() { # STATUS ERROR AADSTS DESC
	is "$code $(jget error)" "$1 $2" "$4: $1 $2"
	has "$T/body" "\"error_description\":\"AADSTS$3:" "$4: AADSTS$3"
}

kv_error() { # STATUS CODE DESC
	is "$code $(jget error.code)" "$1 $2" "$3: $1 $2"
}

sandbox_start

# ---------------------------------------------------------------- Entra ID --
token "$TEN" "$READER" "$READER_SECRET" "$VAULT/.default"
is "$code" 200 "aad: the right secret gets a token"
is "$(jget token_type) $(jget expires_in) $(jget ext_expires_in)" "Bearer 3599 3599" \
	"aad: token_type, expires_in, ext_expires_in"
tok_reader=$(jget access_token)
case $tok_reader in
*.*.*) ok "aad: the access token is JWT-shaped" ;;
*) not_ok "aad: the access token is JWT-shaped" ;;
esac
is "$(claim aud "$tok_reader") $(claim appid "$tok_reader") $(claim azp "$tok_reader") $(claim tid "$tok_reader")" \
	"$VAULT $READER $READER $TEN" "aad: claims aud (no /.default), appid, azp, tid"
exp=$(claim exp "$tok_reader") iat=$(claim iat "$tok_reader") nbf=$(claim nbf "$tok_reader")
is "$((exp - iat)) $((nbf <= iat))" "3599 1" "aad: claims iat, nbf, exp"
jti1=$(claim jti "$tok_reader")
has "$T/hdr" '^Content-Type: application/json' "aad: a JSON reply"
has "$T/hdr" '^Content-Length: [0-9]+' "aad: Content-Length is sent"

token "$TEN_ALIAS" "$READER" "$READER_SECRET" "$VAULT/.default"
is "$code" 200 "aad: the tenant's domain name works as well as its id"
jti2=$(claim jti "$(jget access_token)")
if [ -n "$jti1" ] && [ "$jti1" != "$jti2" ]; then ok "aad: each token has its own jti"; else
	not_ok "aad: each token has its own jti ($jti1 / $jti2)"; fi

token "$TEN" "$READER" 'not-the-secret' "$VAULT/.default"
aad_error 401 invalid_client 7000215 "aad: a wrong secret"
has "$T/body" '"error_codes":\[7000215\]' "aad: error_codes"
has "$T/body" '"timestamp":"[0-9-]+ [0-9:]+Z"' "aad: timestamp"
has "$T/body" '"trace_id":"[0-9a-f-]{36}".*"correlation_id":"[0-9a-f-]{36}"' \
	"aad: trace_id and correlation_id"

token 00000000-dead-beef-0000-000000000000 "$READER" "$READER_SECRET" "$VAULT/.default"
aad_error 400 invalid_request 90002 "aad: an unknown tenant"
token "$OTHER_TEN" "$READER" "$READER_SECRET" "$VAULT/.default"
aad_error 400 unauthorized_client 700016 "aad: a client of another tenant"
token "$TEN" 99999999-0000-4000-8000-000000000000 "$READER_SECRET" "$VAULT/.default"
aad_error 400 unauthorized_client 700016 "aad: an unknown client"
token "$TEN" "$READER" "$READER_SECRET" "$VAULT"
aad_error 400 invalid_scope 1002012 "aad: a scope without /.default"
token "$TEN" "$READER" "$READER_SECRET" "$VAULT/.default https://commerce.dynamics.com/.default"
aad_error 400 invalid_scope 70011 "aad: two scopes"
token "$TEN" "$READER" "$READER_SECRET" "https://nowhere.example/.default"
aad_error 400 invalid_resource 500011 "aad: an unknown resource"
http -d grant_type=client_credentials -d "client_id=$READER" \
	--data-urlencode "client_secret=$READER_SECRET" "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 400 invalid_request 900144 "aad: no scope"
has "$T/body" "parameter: 'scope'" "aad: no scope, named"
http -d grant_type=password -d "client_id=$READER" \
	--data-urlencode "client_secret=$READER_SECRET" --data-urlencode "scope=$VAULT/.default" \
	"$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 400 unsupported_grant_type 70003 "aad: grant_type password"
http -H 'Content-Type: application/json' \
	--data "{\"grant_type\":\"client_credentials\",\"client_id\":\"$READER\",\"scope\":\"$VAULT/.default\"}" \
	"$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 400 invalid_request 900144 "aad: a JSON body is not a form"
http "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 400 invalid_request 900561 "aad: GET"
http -d grant_type=client_credentials -d "client_id=$READER" --data-urlencode "scope=$VAULT/.default" \
	"$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 401 invalid_client 7000218 "aad: no credential at all"

http -H 'Transfer-Encoding: chunked' -d grant_type=client_credentials -d "client_id=$READER" \
	--data-urlencode "client_secret=$READER_SECRET" --data-urlencode "scope=$VAULT/.default" \
	"$SANDBOX/aad/$TEN/oauth2/v2.0/token"
is "$code" 200 "http: a chunked request body"
pad=$(printf '%04000d' 0)
http -H 'Expect: 100-continue' -d grant_type=client_credentials -d "client_id=$READER" \
	--data-urlencode "client_secret=$READER_SECRET" --data-urlencode "scope=$VAULT/.default" \
	-d "padding=$pad" "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
is "$code" 200 "http: Expect: 100-continue"

# Workload identity: the federated token is the client assertion.
http -d grant_type=client_credentials -d "client_id=$WORKLOAD" \
	--data-urlencode "scope=$VAULT/.default" --data-urlencode "client_assertion_type=$JWT_BEARER" \
	--data-urlencode "client_assertion@$T/federated.token" "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
is "$code" 200 "aad: workload identity, the federated token is accepted"
tok_workload=$(jget access_token)
is "$(claim appid "$tok_workload")" "$WORKLOAD" "aad: workload identity, appid"
http -d grant_type=client_credentials -d "client_id=$WORKLOAD" \
	--data-urlencode "scope=$VAULT/.default" --data-urlencode "client_assertion_type=$JWT_BEARER" \
	--data-urlencode "client_assertion=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.bad" \
	"$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 401 invalid_client 700211 "aad: workload identity, an unknown assertion"
http -d grant_type=client_credentials -d "client_id=$WORKLOAD" \
	--data-urlencode "scope=$VAULT/.default" --data-urlencode "client_assertion_type=urn:bogus" \
	--data-urlencode "client_assertion@$T/federated.token" "$SANDBOX/aad/$TEN/oauth2/v2.0/token"
aad_error 400 invalid_request 700212 "aad: workload identity, a wrong assertion type"
token "$TEN" "$WORKLOAD" "$READER_SECRET" "$VAULT/.default"
aad_error 401 invalid_client 7000215 "aad: a workload client has no secret"

# ------------------------------------------------------- managed identity --
msi() { # QUERY [CURL-ARGS...]
	q=$1
	shift
	http "$@" "$SANDBOX/msi/token?$q"
}
msi "api-version=2019-08-01&resource=$VAULT" -H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code" 200 "msi: the App Service endpoint gives a token"
is "$(jget token_type) $(jget resource) $(jget client_id)" "Bearer $VAULT $MSI_SYSTEM" \
	"msi: token_type, resource, the system identity's client_id"
tok_msi=$(jget access_token)
expires_on=$(jget expires_on)
has "$T/body" '"expires_on":"[0-9]+"' "msi: expires_on is epoch seconds, as a string"
lacks "$T/body" '"expires_in"' "msi: no expires_in (the data set says so)"
is "$expires_on" "$(claim exp "$tok_msi")" "msi: expires_on is the token's exp"
msi "api-version=2019-08-01&resource=$VAULT"
is "$code" 401 "msi: no X-IDENTITY-HEADER is refused"
has "$T/body" '"message":' "msi: with a JSON error"
msi "api-version=2019-08-01&resource=$VAULT" -H "X-IDENTITY-HEADER: wrong"
is "$code" 401 "msi: a wrong X-IDENTITY-HEADER is refused"
msi "resource=$VAULT" -H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code" 400 "msi: no api-version"
msi "api-version=2019-08-01" -H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code" 400 "msi: no resource"
msi "api-version=2019-08-01&resource=$VAULT/.default" -H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code" 400 "msi: a scope is not a resource"
msi "api-version=2019-08-01&resource=$VAULT&client_id=99999999-0000-4000-8000-000000000000" \
	-H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code" 400 "msi: an unknown client_id"
msi "api-version=2019-08-01&resource=$VAULT/&client_id=$MSI_USER_READER" -H "X-IDENTITY-HEADER: $MSI_HEADER"
is "$code $(jget client_id)" "200 $MSI_USER_READER" "msi: a user-assigned identity"
tok_msi_user=$(jget access_token)
is "$(claim aud "$tok_msi_user")" "$VAULT" "msi: aud without the trailing slash"
msi "api-version=2019-08-01&resource=$VAULT&client_id=$MSI_USER_OTHER" -H "X-IDENTITY-HEADER: $MSI_HEADER"
tok_msi_other=$(jget access_token)

imds() { # QUERY [CURL-ARGS...]
	q=$1
	shift
	http "$@" "$SANDBOX/metadata/identity/oauth2/token?$q"
}
imds "api-version=2018-02-01&resource=$VAULT"
is "$code $(jget error)" "400 invalid_request" "imds: no Metadata header is a 400"
has "$T/body" 'Required metadata header not specified' "imds: and says why"
imds "api-version=2018-02-01&resource=$VAULT" -H 'Metadata: true'
is "$code $(jget client_id)" "200 $MSI_SYSTEM" "imds: with Metadata: true, a token"
has "$T/body" '"expires_in":"3599"' "imds: expires_in as a string"
has "$T/body" '"expires_on":"[0-9]+"' "imds: expires_on as a string"
imds "api-version=2018-02-01&resource=$VAULT" -H 'Metadata: true' -H 'X-Forwarded-For: 10.0.0.1'
is "$code" 400 "imds: X-Forwarded-For is refused"
imds "resource=$VAULT" -H 'Metadata: true'
is "$code" 400 "imds: no api-version"
imds "api-version=2018-02-01" -H 'Metadata: true'
is "$code" 400 "imds: no resource"
imds "api-version=2018-02-01&resource=$VAULT&client_id=99999999-0000-4000-8000-000000000000" -H 'Metadata: true'
is "$code $(jget error_description)" "400 Identity not found" "imds: an unknown client_id"

# --------------------------------------------------------------- Key Vault --
kv RetailServerAppSecret -H "Authorization: Bearer $tok_reader"
is "$code $(jget value)" "200 rs-app-s3cr3t-Vb8~Jq3.Lm5Tz" "kv: a reader gets the value"
id=$(jget id)
case $id in
"$SANDBOX/kv/secrets/RetailServerAppSecret/"*) ok "kv: id is <vault>/secrets/<name>/<version>" ;;
*) not_ok "kv: id is <vault>/secrets/<name>/<version> ($id)" ;;
esac
version=${id##*/}
if printf '%s\n' "$version" | grep -Eqx '[0-9a-f]{32}'; then ok "kv: a 32-hex version"; else
	not_ok "kv: a 32-hex version ($version)"; fi
is "$(jget attributes.enabled) $(jget attributes.recoveryLevel) $(jget tags)" \
	"true Recoverable+Purgeable {}" "kv: attributes and tags"
has "$T/body" '"created":[0-9]+,"updated":[0-9]+' "kv: created and updated"
kv "RetailServerAppSecret/$version" -H "Authorization: Bearer $tok_reader"
is "$code" 200 "kv: the current version by id"
kv "RetailServerAppSecret/0123456789abcdef0123456789abcdef" -H "Authorization: Bearer $tok_reader"
kv_error 404 SecretNotFound "kv: another version"
kv retailserverappsecret -H "Authorization: Bearer $tok_reader"
is "$code" 200 "kv: names are case-insensitive"
run curl -s -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
	-H "Authorization: Bearer $tok_reader" \
	"$SANDBOX/kv/secrets/EmarsysApiUser?api-version=7.4" \
	"$SANDBOX/kv/secrets/EmarsysApiSecret?api-version=7.4"
is "$(tr '\n' ' ' <"$T/stdout")" "200 1 200 0 " "http: keep-alive (the second request reuses the connection)"
kv RetailServerAppId -H "Authorization: Bearer $tok_reader"
is "$code $(jget value)" "200 a4000000-0000-4000-8000-000000000004" "kv: RetailServerAppId"

http -H "Authorization: Bearer $tok_reader" "$SANDBOX/kv/secrets/RetailServerAppSecret"
kv_error 400 BadParameter "kv: no api-version"
kv RetailServerAppSecret
kv_error 401 Unauthorized "kv: no token"
has "$T/body" 'AKV10000: Request is missing a Bearer or PoP token' "kv: no token, AKV10000"
is "$(hdr WWW-Authenticate)" \
	"Bearer authorization=\"$SANDBOX/aad/$TEN\", resource=\"https://vault.azure.net\"" \
	"kv: no token, the WWW-Authenticate challenge"
kv RetailServerAppSecret -H "Authorization: Basic dXNlcjpwYXNz"
kv_error 401 Unauthorized "kv: Basic is not a bearer token"
kv RetailServerAppSecret -H "Authorization: Bearer not-a-jwt"
kv_error 401 Unauthorized "kv: a token that is not a JWT"
tampered=${tok_reader%.*}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
kv RetailServerAppSecret -H "Authorization: Bearer $tampered"
kv_error 401 Unauthorized "kv: a bad signature"
has "$T/body" 'Signature validation failed' "kv: a bad signature, said so"
http -X POST --data "{\"aud\":\"$VAULT\",\"client_id\":\"$READER\",\"tid\":\"$TEN\",\"lifetime\":-60}" \
	"$SANDBOX/_sandbox/token"
is "$code" 200 "control: mint an expired token"
kv RetailServerAppSecret -H "Authorization: Bearer $(jget access_token)"
kv_error 401 Unauthorized "kv: an expired token"
has "$T/body" 'Lifetime validation failed' "kv: an expired token, said so"
token "$TEN" "$READER" "$READER_SECRET" "https://commerce.dynamics.com/.default"
kv RetailServerAppSecret -H "Authorization: Bearer $(jget access_token)"
kv_error 401 Unauthorized "kv: a token for another audience"
has "$T/body" 'AKV10022: Invalid audience' "kv: AKV10022"
has "$T/hdr" '^WWW-Authenticate: Bearer authorization=' "kv: every 401 carries the challenge"
token "$OTHER_TEN" "$OTHER" "$OTHER_SECRET" "$VAULT/.default"
kv RetailServerAppSecret -H "Authorization: Bearer $(jget access_token)"
kv_error 401 Unauthorized "kv: a token from another tenant"
has "$T/body" 'AKV10032: Invalid issuer' "kv: AKV10032"
token "$TEN" "$NOACCESS" "$NOACCESS_SECRET" "$VAULT/.default"
is "$code" 200 "aad: the client without vault access gets a token"
kv RetailServerAppSecret -H "Authorization: Bearer $(jget access_token)"
kv_error 403 Forbidden "kv: a client that may not read"
is "$(jget error.innererror.code)" AccessDenied "kv: 403 innererror AccessDenied"
has "$T/body" "application 'appid=$NOACCESS;.*does not have secrets get permission" \
	"kv: 403 names the application"
kv NoSuchSecret -H "Authorization: Bearer $tok_reader"
kv_error 404 SecretNotFound "kv: an unknown secret"
has "$T/body" 'A secret with \(name/id\) NoSuchSecret was not found in this key vault' \
	"kv: 404 names the secret"
kv my_secret -H "Authorization: Bearer $tok_reader"
kv_error 400 BadParameter "kv: an invalid secret name"
kv DisabledSecret -H "Authorization: Bearer $tok_reader"
kv_error 403 Forbidden "kv: a disabled secret"
kv EmarsysApiSecret -H "Authorization: Bearer $tok_workload"
is "$code" 200 "kv: workload identity reads"
kv EmarsysApiUser -H "Authorization: Bearer $tok_msi"
is "$code" 200 "kv: the system-assigned identity reads"
kv EmarsysApiUser -H "Authorization: Bearer $tok_msi_user"
is "$code" 200 "kv: a token for https://vault.azure.net/ (trailing slash) is accepted"
kv EmarsysApiUser -H "Authorization: Bearer $tok_msi_other"
kv_error 403 Forbidden "kv: a user-assigned identity that may not read"

# ------------------------------------------------------------------ faults --
cp "$T/sandbox.log" "$T/log-auth.ndjson"
sandbox_clear
auth="Authorization: Bearer $tok_reader"
sandbox_fault '{"match":{"method":"GET","path":"^/kv/secrets/EmarsysApiSecret"},"action":"status","status":503,"headers":{"Retry-After":"1"},"count":2}'
kv EmarsysApiUser -H "$auth"
is "$code" 200 "fault: another path is not affected"
kv EmarsysApiSecret -H "$auth"
is "$code $(hdr Retry-After)" "503 1" "fault: status 503 with Retry-After (1 of 2)"
is "$(jget error.code)" ServiceUnavailable "fault: the default body is in the service's shape"
kv EmarsysApiSecret -H "$auth"
is "$code" 503 "fault: status 503 (2 of 2)"
kv EmarsysApiSecret -H "$auth"
is "$code" 200 "fault: count 2 is used up"

sandbox_fault '{"match":{"method":"POST","path":"^/kv/"},"action":"drop","count":-1}'
kv EmarsysApiSecret -H "$auth"
is "$code" 200 "fault: a rule for POST does not touch GET"
curl -sf -X DELETE "$SANDBOX/_sandbox/faults" >/dev/null

now=$(date +%s)
sandbox_fault '{"match":{"path":"^/kv/"},"action":"status","status":429,"headers":{"X-RateLimit-Reset":"{now+60}","Retry-After":"{now}"},"body":"{\"error\":{\"code\":\"Throttled\",\"message\":\"slow down\"}}"}'
kv EmarsysApiSecret -H "$auth"
reset=$(hdr X-RateLimit-Reset)
is "$code $(jget error.message)" "429 slow down" "fault: status with a given body"
if [ "$reset" -ge $((now + 59)) ] && [ "$reset" -le $((now + 62)) ]; then
	ok "fault: {now+60} becomes the unix time + 60"; else
	not_ok "fault: {now+60} becomes the unix time + 60 (got $reset, now $now)"; fi

sandbox_fault '{"match":{"service":"keyvault"},"action":"status","status":500,"count":-1}'
http "$SANDBOX/_sandbox/faults"
is "$(jget 0.remaining) $(jget 0.action)" "-1 status" "fault: GET /_sandbox/faults lists the rules"
kv EmarsysApiSecret -H "$auth"
kv EmarsysApiSecret -H "$auth"
kv EmarsysApiSecret -H "$auth"
is "$code" 500 "fault: count -1 applies every time"
token "$TEN" "$READER" "$READER_SECRET" "$VAULT/.default"
is "$code" 200 "fault: match on service leaves the others alone"
curl -sf -X DELETE "$SANDBOX/_sandbox/faults" >/dev/null
kv EmarsysApiSecret -H "$auth"
is "$code" 200 "fault: DELETE /_sandbox/faults clears the rules"

sandbox_fault '{"match":{"path":"/oauth2/"},"action":"status","status":503}'
token "$TEN" "$READER" "$READER_SECRET" "$VAULT/.default"
is "$code $(jget error)" "503 temporarily_unavailable" "fault: AAD's default body is AAD-shaped"

sandbox_fault '{"match":{"path":"^/kv/"},"action":"drop"}'
kv EmarsysApiSecret -H "$auth"
is "$rc" 52 "fault: drop closes without a reply (curl: empty reply)"
kv EmarsysApiSecret -H "$auth"
is "$code" 200 "fault: after a drop, the next request is served"

sandbox_fault '{"match":{"path":"^/kv/"},"action":"truncate"}'
kv EmarsysApiSecret -H "$auth"
is "$rc" 18 "fault: truncate sends less than Content-Length (curl: partial file)"
sandbox_fault '{"match":{"path":"/oauth2/"},"action":"truncate","body":"{\"token_type\":\"Bea"}'
token "$TEN" "$READER" "$READER_SECRET" "$VAULT/.default"
is "$rc $(cat "$T/body")" '18 {"token_type":"Bea' "fault: truncate with a given body"

sandbox_fault '{"match":{"path":"^/kv/"},"action":"malformed"}'
kv EmarsysApiSecret -H "$auth"
is "$rc $code" "0 200" "fault: malformed is a complete 200"
is "$(jget value)" "" "fault: malformed is not JSON"
is "$(hdr Content-Length)" "$(wc -c <"$T/body" | tr -d ' ')" "fault: malformed has a right Content-Length"

sandbox_fault '{"match":{"path":"^/kv/"},"action":"hang","seconds":3}'
kv EmarsysApiSecret -H "$auth" --max-time 0.5
is "$rc" 28 "fault: hang (curl times out)"
sandbox_fault '{"match":{"path":"^/kv/"},"action":"hang","seconds":0.3}'
kv EmarsysApiSecret -H "$auth" --max-time 5
is "$rc" 52 "fault: hang, then closed without a reply"
kv EmarsysApiSecret -H "$auth" --max-time 5
is "$code" 200 "fault: served again while a hang still sleeps"

http -X POST --data '{"action":"explode"}' "$SANDBOX/_sandbox/faults"
is "$code" 400 "fault: an unknown action is refused"
http -X POST --data '{"match":{"path":"("},"action":"drop"}' "$SANDBOX/_sandbox/faults"
is "$code" 400 "fault: a bad regex is refused"
http -X POST --data '[{"match":{"path":"^/kv/"},"action":"status","status":502},{"match":{"path":"^/kv/"},"action":"status","status":504}]' \
	"$SANDBOX/_sandbox/faults"
is "$code" 201 "fault: a list of rules"
kv EmarsysApiSecret -H "$auth"
c1=$code
kv EmarsysApiSecret -H "$auth"
is "$c1 $code" "502 504" "fault: rules apply in the order added"

# --------------------------------------------------------------------- log --
http "$SANDBOX/_sandbox/log"
cp "$T/body" "$T/log.ndjson"
if python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$T/log.ndjson"; then
	ok "log: every line is JSON"; else not_ok "log: every line is JSON"; fi
n=$(wc -l <"$T/log.ndjson" | tr -d ' ')
http "$SANDBOX/_sandbox/log"
is "$(wc -l <"$T/body" | tr -d ' ')" "$n" "log: control requests are not logged"
is "$(wc -l <"$T/sandbox.log" | tr -d ' ')" "$n" "log: the --log file holds the same lines"
has "$T/log.ndjson" '"fault":"drop"' "log: a dropped request is logged with its fault"
has "$T/log.ndjson" '"status":503,"fault":"status"' "log: an injected status is logged"
has "$T/log.ndjson" '"authorization":"Bearer <redacted>"' "log: Authorization keeps only its scheme"
has "$T/log.ndjson" '"service":"keyvault".*"client_id":"a1000000-0000-4000-8000-000000000001","aud":"https://vault.azure.net"' \
	"log: Key Vault requests name the token's client and audience"
L=$T/log-auth.ndjson
has "$L" '"client_secret":"<redacted>"' "log: client_secret is redacted"
has "$L" '"client_assertion":"<redacted>"' "log: client_assertion is redacted"
has "$L" '"x-identity-header":"<redacted>"' "log: X-IDENTITY-HEADER is redacted"
has "$L" '"service":"aad".*"form":\{"grant_type":"client_credentials"' "log: the form"
has "$L" '"service":"aad".*"json":\{"grant_type"' "log: a JSON body"
has "$L" '"service":"msi".*"client_id":"e1000000-0000-4000-8000-000000000021"' \
	"log: the identity a managed identity token was for"
has "$L" '"service":"imds".*"metadata":"true"' "log: IMDS requests"
has "$L" '"query":\{"api-version":"7.4"\}' "log: the query"
python3 "$top/tests/sandbox/sandbox.py" --list-secrets --data "$data" >"$T/secrets"
for f in "$L" "$T/log.ndjson"; do
	lacks "$f" "$(printf '%s' "$tok_reader" | cut -c1-60)" "log: no token (${f##*/})"
	lacks "$f" 'eyJ[A-Za-z0-9_-]{10,}\.' "log: nothing JWT-shaped (${f##*/})"
	if grep -Fqf "$T/secrets" "$f"; then not_ok "log: no secret value (${f##*/})"; else
		ok "log: no secret value (${f##*/})"; fi
done
http -X DELETE "$SANDBOX/_sandbox/log"
is "$code" 200 "log: DELETE"
http "$SANDBOX/_sandbox/log"
is "$code $(wc -c <"$T/body" | tr -d ' ') $(wc -c <"$T/sandbox.log" | tr -d ' ')" "200 0 0" \
	"log: DELETE empties the log and the --log file"
kv EmarsysApiSecret -H "$auth"
is "$(wc -l <"$T/sandbox.log" | tr -d ' ')" 1 "log: logging goes on after DELETE"

# ----------------------------------------------------------- list-secrets --
for s in "$READER_SECRET" "$NOACCESS_SECRET" "$OTHER_SECRET" "$MSI_HEADER" \
	"$(cat "$T/federated.token")" rs-app-s3cr3t-Vb8~Jq3.Lm5Tz emarsys-s3cr3t-9fK2mQ7xR4wT \
	cartwatch001-s3cr3t-user line-one-s3cr3t-Ab3 line-two-s3cr3t-Cd4; do
	grep -Fqx -- "$s" "$T/secrets" || not_ok "--list-secrets: lists ${s%%-*}..."
done
ok "--list-secrets: client secrets, federated tokens, the identity header, vault values"
lacks "$T/secrets" '^$' "--list-secrets: no empty line"
lacks "$T/secrets" 'a4000000-0000-4000-8000-000000000004' "--list-secrets: not a value marked not sensitive"

# ------------------------- a second sandbox: data faults, port, SIGTERM --
cat >"$T/d2.json" <<EOF
{"token_lifetime": 60,
 "tenants": {"t1": {"clients": {"c1": {"secret": "d2-s3cr3t-value"}}}},
 "managed_identity": {"tenant": "t1", "identity_header": "d2-h3ader", "system_assigned": null,
                      "user_assigned": ["u1", "u2"], "expires_in": true},
 "keyvault": {"tenant": "t1", "readers": ["c1"], "secrets": {"S": "d2-kv-s3cr3t"}},
 "faults": [{"match": {"path": "^/kv/"}, "action": "status", "status": 503, "count": 1}]}
EOF
python3 "$top/tests/sandbox/sandbox.py" --data "$T/d2.json" --port-file "$T/p2" \
	2>"$T/sandbox2.err" &
pid2=$!
i=0
while [ ! -s "$T/p2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
S2=http://127.0.0.1:$(cat "$T/p2")
http -d grant_type=client_credentials -d client_id=c1 -d client_secret=d2-s3cr3t-value \
	--data-urlencode "scope=$VAULT/.default" "$S2/aad/t1/oauth2/v2.0/token"
is "$code $(jget expires_in)" "200 60" "data: token_lifetime"
t2=$(jget access_token)
http -H "Authorization: Bearer $t2" "$S2/kv/secrets/S?api-version=7.4"
is "$code" 503 "data: a fault from the data file"
http -H "Authorization: Bearer $t2" "$S2/kv/secrets/S?api-version=7.4"
is "$code $(jget value)" "200 d2-kv-s3cr3t" "data: then served"
http -H "X-IDENTITY-HEADER: d2-h3ader" "$S2/msi/token?api-version=2019-08-01&resource=$VAULT&client_id=u2"
is "$code $(jget expires_in)" "200 60" "data: msi expires_in when asked for"
http -H "Metadata: true" "$S2/metadata/identity/oauth2/token?api-version=2018-02-01&resource=$VAULT"
is "$code" 400 "data: imds, two user-assigned identities and no client_id"
http -H "Authorization: Bearer $tok_reader" "$S2/kv/secrets/S?api-version=7.4"
is "$code" 401 "tokens: another sandbox process does not accept this one's tokens"
curl -s -o /dev/null --max-time 5 -X POST --data '{"action":"hang","seconds":30}' "$S2/_sandbox/faults"
curl -s -o /dev/null --max-time 10 "$S2/kv/secrets/S?api-version=7.4" &
curl_pid=$!
sleep 0.3
start=$(date +%s)
kill -TERM "$pid2"
set +e
wait "$pid2"
rc2=$?
set -e
is "$rc2 $(($(date +%s) - start <= 2))" "0 1" "SIGTERM: exits 0 at once, even during a hang"
wait "$curl_pid" 2>/dev/null || :
is "$(cat "$T/sandbox2.err")" "" "SIGTERM: nothing on stderr"

no_secrets_printed
done_testing
