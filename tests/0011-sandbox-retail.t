#!/bin/sh
# The sandbox's Retail Server: it checks what the real one checks (api-version,
# the OUN header, the token's audience, issuer and app registration), filters
# and pages carts exactly (a window closed at both ends, compared as instants),
# and serves customers and products as the data set says. cart-fetch and
# cart-enrich tests trust these.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

TEN=7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b
OTHER_TEN=3e9b2f41-6a8c-4d0e-b5f7-2c4a6e8b0d13
RSAPP=a4000000-0000-4000-8000-000000000004
READER=a1000000-0000-4000-8000-000000000001
OTHER=b1000000-0000-4000-8000-000000000011
RS_AUD=https://commerce.dynamics.com
CHANNEL=68719478279
CHANNEL_EU=68719478535
V=api-version=7.3
FROM=2026-11-24T03:40:00Z
TO=2026-11-24T11:50:00Z
data=$top/tests/sandbox/default.json
secret_of() { jq -r ".tenants[\"$1\"].clients[\"$2\"].secret" "$data"; }

# The carts of unit 128 in the window, ascending (README: "Carts of unit 128").
REG="edge-from-exact repeat-early empty-lines images-absolute images-relative images-missing \
unknown-product charge-line prices-awkward prices-null unknown-customer tie-a tie-b tie-c tie-d \
empty-email repeat-late edge-to-exact"
ALL="edge-from-exact repeat-early empty-lines images-absolute images-relative images-missing \
unknown-product guest-empty-id charge-line prices-awkward guest-null-id prices-null guest-no-email \
unknown-customer tie-a tie-b tie-c tie-d guest-same-email-1 empty-email guest-same-email-2 \
repeat-late edge-to-exact"
DESC="edge-to-exact repeat-late empty-email tie-a tie-b tie-c tie-d unknown-customer prices-null \
prices-awkward charge-line unknown-product images-missing images-relative images-absolute \
empty-lines repeat-early edge-from-exact"

# http CURL-ARGS...: body in $T/body, headers in $T/hdr, status in $code.
http() {
	run curl -sS -o "$T/body" -D "$T/hdr" -w '%{http_code}\n' "$@"
	code=$(cat "$T/stdout")
}

# jget FILTER: jq on the last body; "" when it fails.
jget() { jq -r "$1" "$T/body" 2>/dev/null || echo; }

# hdr NAME: a response header's value from $T/hdr.
hdr() {
	tr -d '\r' <"$T/hdr" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) v = substr($0, i + 2) }
		END { print v }'
}

# token TENANT CLIENT SCOPE: client credentials; the access token in $tok.
token() {
	http -d grant_type=client_credentials -d "client_id=$2" \
		--data-urlencode "client_secret=$(secret_of "$1" "$2")" --data-urlencode "scope=$3" \
		"$SANDBOX/aad/$1/oauth2/v2.0/token"
	tok=$(jget .access_token)
}

# rs PATH [CURL-ARGS...]: a Retail Server call with $auth, $oun and $accept as
# headers (set one to "X-None: 1" to leave it out).
accept="Accept: application/json"
rs() {
	p=$1
	shift
	http -H "$auth" -H "$oun" -H "$accept" "$@" "$SANDBOX/Commerce/$p"
}

# post PATH JSON [CURL-ARGS...]
post() {
	p=$1 b=$2
	shift 2
	rs "$p" -H 'Content-Type: application/json' --data-binary "$b" "$@"
}

# crit FROM TO ANONYMOUS [TYPE]: a cartSearchCriteria body.
crit() {
	printf '{"cartSearchCriteria":{"CartTypeValue":%s,"LastModifiedDateTimeFrom":%s,"LastModifiedDateTimeTo":%s,"IncludeAnonymous":%s}}' \
		"${4:-1}" "$1" "$2" "$3"
}

# carts QUERY BODY: Carts/Search; the cart ids, space-separated, in $ids.
carts() {
	post "Carts/Search?$1&$V" "$2"
	ids=$(jq -r '[.value[].Id] | join(" ")' "$T/body" 2>/dev/null || echo "(no JSON, status $code)")
}

rs_error() { # STATUS RESOURCE-ID EXCEPTION-TYPE DESC
	is "$code $(jget .ErrorResourceId) $(jget .ExceptionType)" \
		"$1 Microsoft_Dynamics_Commerce_Runtime_$2 $3" "$4: $1 $2"
	if [ -n "$(jget '.LocalizedMessage // empty')" ]; then ok "$4: LocalizedMessage"; else
		not_ok "$4: LocalizedMessage"; fi
}

sandbox_start

# ------------------------------------------------------------- the token --
token "$TEN" "$RSAPP" "$RS_AUD/.default"
is "$code" 200 "aad: the retail-server-app gets a token for $RS_AUD"
tok_rs=$tok
auth="Authorization: id_token $tok_rs"
oun="OUN: 128"

# ---------------------------------------------------- GetOrgUnitConfiguration --
CFG="OrgUnits/GetOrgUnitConfiguration()?$V"
rs "$CFG"
is "$code $(jget .RecordId) $(jget .Currency)" "200 $CHANNEL USD" \
	"config: id_token is accepted; RecordId and Currency of unit 128"
is "$(jget '.["@odata.context"]')" \
	"$SANDBOX/Commerce/\$metadata#Microsoft.Dynamics.Commerce.Runtime.DataModel.ChannelConfiguration" \
	"config: @odata.context"
is "$(jget .ChannelNaturalId) $(jget .DefaultLanguageId) $(jget .TimeZoneInfoId)" \
	"128 en-us Pacific Standard Time" "config: realistic fields"
has "$T/hdr" '^Content-Type: application/json; odata.metadata=minimal' "config: OData JSON"
is "$(hdr OData-Version)" "4.0" "config: OData-Version 4.0"
auth="Authorization: Bearer $tok_rs"
rs "$CFG"
is "$code $(jget .RecordId)" "200 $CHANNEL" "config: Bearer is accepted too"
auth="Authorization: id_token $tok_rs"
oun="OUN: 256"
rs "$CFG"
is "$code $(jget .RecordId) $(jget .Currency)" "200 $CHANNEL_EU EUR" "config: OUN 256 selects the other unit"
oun="OUN: 128"

# ------------------------------------------------------------- api-version --
rs "OrgUnits/GetOrgUnitConfiguration()"
rs_error 400 ApiVersionRequired DataValidationException "api-version: missing"
rs "OrgUnits/GetOrgUnitConfiguration()?api-version=7.2"
rs_error 400 ApiVersionNotSupported DataValidationException "api-version: 7.2"

# --------------------------------------------------------------------- OUN --
oun="X-None: 1"
rs "$CFG"
rs_error 400 RequiredValueNotFound DataValidationException "OUN: missing"
oun="OUN: 999"
rs "$CFG"
rs_error 404 ChannelConfigurationNotFound ConfigurationException "OUN: unknown"
has "$T/body" "operating unit number '999'" "OUN: unknown, named"
oun="OUN: 128"

# ---------------------------------------------------------- authentication --
auth="X-None: 1"
rs "$CFG"
rs_error 401 AuthenticationFailed UserAuthenticationException "auth: no token"
auth="Authorization: Basic dXNlcjpwYXNz"
rs "$CFG"
rs_error 401 AuthenticationFailed UserAuthenticationException "auth: Basic"
auth="Authorization: id_token ${tok_rs%.*}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
rs "$CFG"
rs_error 401 AuthenticationFailed UserAuthenticationException "auth: a bad signature"
http -X POST --data "{\"aud\":\"$RS_AUD\",\"client_id\":\"$RSAPP\",\"tid\":\"$TEN\",\"lifetime\":-60}" \
	"$SANDBOX/_sandbox/token"
auth="Authorization: id_token $(jget .access_token)"
rs "$CFG"
rs_error 401 AuthenticationTokenExpired UserAuthenticationException "auth: an expired token"
token "$TEN" "$RSAPP" "https://vault.azure.net/.default"
auth="Authorization: Bearer $tok"
rs "$CFG"
rs_error 401 AuthenticationFailed UserAuthenticationException "auth: a vault token (wrong audience)"
has "$T/body" 'Audience validation failed' "auth: wrong audience, said so"
token "$OTHER_TEN" "$OTHER" "$RS_AUD/.default"
auth="Authorization: id_token $tok"
rs "$CFG"
rs_error 401 AuthenticationFailed UserAuthenticationException \
	"auth: a tenant that is not an identity provider"
has "$T/body" 'Issuer validation failed' "auth: wrong issuer, said so"
token "$TEN" "$READER" "$RS_AUD/.default"
is "$code" 200 "aad: kv-reader gets a commerce token"
auth="Authorization: id_token $tok"
rs "$CFG"
rs_error 403 AuthorizationFailed UserAuthorizationException "auth: an app not registered for Retail Server"
has "$T/body" "application '$READER'" "auth: 403 names the app"
auth="Authorization: id_token $tok_rs"

# ----------------------------------------------------------------- routing --
rs "Carts/Nope?$V"
is "$code" 404 "route: an unknown path is 404"
is "$(jget .error.message | cut -c1-30)" "No HTTP resource was found tha" "route: with an OData error"
rs "Carts/Search?$V"
is "$code $(hdr Allow)" "405 POST" "route: GET on an action is 405"
rs "OrgUnits/GetOrgUnitConfiguration?$V"
is "$code" 404 "route: a function needs its ()"
accept="Accept: application/xml"
rs "$CFG"
is "$code" 406 "route: Accept without JSON is 406"
accept="X-None: 1"
rs "$CFG"
is "$code" 200 "route: no Accept at all is fine"
accept="Accept: application/json"

# ------------------------------------------------------------ Carts/Search --
Q='$top=100&$orderby=ModifiedDateTime'
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code" 200 "carts: 200"
is "$ids" "$REG" "carts: the window, registered customers only, ascending"
is "$(jget '.["@odata.context"]')" "$SANDBOX/Commerce/\$metadata#Carts" "carts: @odata.context"
is "$(jget '.value[] | select(.Id == "empty-lines") | .CartLines | length')" 0 \
	"carts: an empty cart is returned"
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" true)"
is "$ids" "$ALL" "carts: IncludeAnonymous adds guest carts (CustomerId \"\" or null)"
is "$(jget '[.value[] | select(.CustomerId == null)] | length') $(jget '[.value[] | select(.CustomerId == "")] | length')" \
	"1 4" "carts: one guest with CustomerId null, four with \"\""
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" true 2)"
is "$ids" "checkout-type2" "carts: CartTypeValue 2 gives only the checkout cart"

# The edges, exact to the tick (100 ns); the criteria's offsets count too.
carts "$Q" "$(crit "\"$FROM\"" "\"$FROM\"" true)"
is "$ids" "edge-from-exact" "edge: From = To = 03:40:00Z finds the cart written 04:40:00+01:00"
carts "$Q" "$(crit '"2026-11-24T04:40:00+01:00"' '"2026-11-24T04:40:00.0000000+01:00"' true)"
is "$ids" "edge-from-exact" "edge: the criteria's offset is honoured"
carts "$Q" "$(crit '"2026-11-24T03:39:59.9989999Z"' '"2026-11-24T03:39:59.9999999Z"' true)"
is "$ids" "edge-from-before" "edge: 1 ms before From is its own instant (03:39:59.999Z)"
carts "$Q" "$(crit "\"$TO\"" "\"$TO\"" true)"
is "$ids" "edge-to-exact" "edge: To = 11:50:00Z is inclusive"
carts "$Q" "$(crit '"2026-11-24T11:50:00.0000001Z"' '"2026-11-24T11:50:00.0000001Z"' true)"
is "$ids" "edge-to-after" "edge: 100 ns after To is another instant"
carts "$Q" "$(crit '"2026-11-24T08:00:00+00:00"' '"2026-11-24T09:00:00+01:00"' true)"
is "$ids" "tie-a tie-b tie-c tie-d" "edge: the tie, written four ways, is one instant (data order)"
carts "$Q" "$(crit '"2026-11-24T11:00:01Z"' '"2026-11-24T23:59:59Z"' true)"
is "$ids" "edge-to-exact edge-to-after too-recent offset-trap" \
	"edge: 11:45:00-01:00 is 12:45Z, after the window"

# NULL ModifiedDateTime: matches no bound; sorts first without bounds.
carts "$Q" '{"cartSearchCriteria":{"CartTypeValue":1,"IncludeAnonymous":true}}'
is "$(jget '.value | length') $(jget '.value[0].Id')" "29 null-modified" \
	"null: without bounds every type-1 cart, NULL first"
carts "$Q" "$(crit null "\"$TO\"" true)"
is "$(jget '.value[0].Id') $(jget '[.value[] | select(.Id == "null-modified")] | length')" \
	"stale-yesterday 0" "null: any bound leaves the NULL cart out"

# Paging with $top=3: the tie straddles pages 4 and 5; Zoë's carts are far apart.
pages='' skip=0
while [ $skip -le 18 ]; do
	carts "\$top=3&\$skip=$skip&\$orderby=ModifiedDateTime" "$(crit "\"$FROM\"" "\"$TO\"" false)"
	pages="$pages|$ids"
	skip=$((skip + 3))
done
is "$pages" "|edge-from-exact repeat-early empty-lines|images-absolute images-relative images-missing\
|unknown-product charge-line prices-awkward|prices-null unknown-customer tie-a|tie-b tie-c tie-d\
|empty-email repeat-late edge-to-exact|" "paging: \$top=3, \$skip=0..18"
guest_pages='' skip=12
while [ $skip -le 15 ]; do
	carts "\$top=3&\$skip=$skip&\$orderby=ModifiedDateTime" "$(crit "\"$FROM\"" "\"$TO\"" true)"
	guest_pages="$guest_pages|$ids"
	skip=$((skip + 3))
done
is "$guest_pages" "|guest-no-email unknown-customer tie-a|tie-b tie-c tie-d" \
	"paging: with guests, the tie straddles pages 5 and 6"
carts '$top=3&$skip=1000&$orderby=ModifiedDateTime' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code <$ids>" "200 <>" "paging: past the end, an empty page"
carts '$top=0&$orderby=ModifiedDateTime' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code <$ids>" "200 <>" "paging: \$top=0, an empty page"
carts '$orderby=ModifiedDateTime' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$ids" "$REG" "paging: no \$top, the whole window (at most 1000)"
carts '$top=5000&$orderby=ModifiedDateTime%20asc' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code $ids" "200 $REG" "paging: \$top above the cap is capped; 'asc' spelled out"
carts '$top=100&$orderby=ModifiedDateTime%20desc' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$ids" "$DESC" "order: desc, ties still in data order"
carts '$top=100&$orderby=ModifiedDateTime&$count=true' "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$(jget '.["@odata.count"]')" 18 "paging: \$count=true"

carts '$top=-1' "$(crit "\"$FROM\"" "\"$TO\"" false)"
rs_error 400 InvalidQueryOption DataValidationException "query: \$top=-1"
carts '$top=abc' "$(crit "\"$FROM\"" "\"$TO\"" false)"
rs_error 400 InvalidQueryOption DataValidationException "query: \$top=abc"
carts '$top=3&$orderby=Id' "$(crit "\"$FROM\"" "\"$TO\"" false)"
rs_error 400 InvalidQueryOption DataValidationException "query: \$orderby=Id"
carts '$top=3&$filter=CustomerId%20eq%20%27004011%27' "$(crit "\"$FROM\"" "\"$TO\"" false)"
rs_error 400 InvalidQueryOption DataValidationException "query: \$filter"

# The body.
carts '$top=3' '{}'
rs_error 400 RequiredValueNotFound DataValidationException "body: no cartSearchCriteria"
carts '$top=3' '{"criteria":{}}'
rs_error 400 InvalidFormat DataValidationException "body: an unknown parameter"
carts '$top=3' "$(crit '"yesterday"' "\"$TO\"" false)"
rs_error 400 InvalidFormat DataValidationException "body: an unparsable date"
carts '$top=3' "$(crit '"2026-11-24T03:40:00"' "\"$TO\"" false)"
rs_error 400 InvalidFormat DataValidationException "body: a date without an offset"
carts '$top=3' "$(crit '"2026-11-24T03:40:00.12345678Z"' "\"$TO\"" false)"
rs_error 400 InvalidFormat DataValidationException "body: 8 fraction digits"
carts '$top=3' '{"cartSearchCriteria":{"CartTypeValue":1,"ModifiedFrom":"2026-11-24T03:40:00Z"}}'
rs_error 400 InvalidFormat DataValidationException "body: an unknown criteria property"
carts '$top=3' '{"cartSearchCriteria":'
rs_error 400 InvalidFormat DataValidationException "body: not JSON"
rs "Carts/Search?$V" --data-binary "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code" 415 "body: a form content type is 415"

# OUN selects the carts.
oun="OUN: 256"
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" true)"
is "$ids" "eu-cart-1 eu-cart-2" "carts: OUN 256 has its own carts"
oun="OUN: 128"

# Numbers keep their text: decimals come with their scale, as .NET sends them.
carts "$Q" '{"cartSearchCriteria":{"CartId":"prices-awkward","IncludeAnonymous":false}}'
has "$T/body" '"Quantity":0\.5,"Price":1234\.5678,' "numbers: 0.5 and 1234.5678"
has "$T/body" '"Quantity":1,"Price":99999999\.99,' "numbers: 1 and 99999999.99"
has "$T/body" '"Quantity":2\.0,"Price":0\.1,' "numbers: 2.0 stays 2.0, 0.1"
has "$T/body" '"Quantity":1,"Price":0,' "numbers: 0"
carts "$Q" '{"cartSearchCriteria":{"CartId":"prices-null"}}'
has "$T/body" '"Quantity":1,"Price":null,' "numbers: a null Price"
has "$T/body" '"Quantity":null,"Price":24\.00,' "numbers: a null Quantity"

# ------------------------------------------------ Customers/GetByAccountNumbers --
CUST="Customers/GetByAccountNumbers?\$top=10&$V"
post "$CUST" '{"accountNumbers":["004099","004013","004011"],"searchLocationValue":1}'
is "$code $(jget '[.value[].AccountNumber] | join(" ")')" "200 004013 004011" \
	"customers: found ones in data order, the unknown one absent"
is "$(jget '.value[0].Name') / $(jget '.value[0].FirstName') / $(jget '.value[0].Language')" \
	"田中 花子 / 花子 / ja" "customers: names in any script"
has "$T/body" '"FirstName":"\\u82b1\\u5b50"' "customers: non-ASCII is sent \\u-escaped"
is "$(jget '.["@odata.context"]')" "$SANDBOX/Commerce/\$metadata#Customers" "customers: @odata.context"
post "Customers/GetByAccountNumbers?\$top=1&$V" '{"accountNumbers":["004013","004011"],"searchLocationValue":1}'
is "$(jget '[.value[].AccountNumber] | join(" ")')" "004013" "customers: \$top=1"
post "$CUST" '{"accountNumbers":["004015","004011","004012","004014"],"searchLocationValue":1}'
is "$(jget '[.value[] | .AccountNumber + "=" + .Email + "=" + .Language] | join(" ")')" \
	"004011=zoe.angstrom@example.com=en-us 004012=lukasz.zolc@example.pl=de-de 004014=jose.nunez@example.mx=es-mx 004015==en-us" \
	"customers: Email (one empty) and Language"
is "$(jget '.value[0].LastName') $(jget '.value[1].LastName') $(jget '.value[2].FirstName')" \
	"Ångström Żółć José" "customers: Zoë Ångström, Łukasz Żółć, José Núñez"
post "$CUST" '{"accountNumbers":["005001"],"searchLocationValue":1}'
is "$code <$(jget '[.value[].AccountNumber] | join(" ")')>" "200 <>" \
	"customers: unit 256's customer is not in unit 128"
oun="OUN: 256"
post "$CUST" '{"accountNumbers":["005001"],"searchLocationValue":1}'
is "$(jget '.value[0].Name')" "Klaus Becker" "customers: ... but is in unit 256"
oun="OUN: 128"
post "$CUST" '{"accountNumbers":[],"searchLocationValue":1}'
is "$code $(jget '.value | length')" "200 0" "customers: an empty list"
post "$CUST" '{"accountNumbers":["004011"]}'
rs_error 400 RequiredValueNotFound DataValidationException "customers: no searchLocationValue"
post "$CUST" '{"accountNumbers":"004011","searchLocationValue":1}'
rs_error 400 RequiredValueNotFound DataValidationException "customers: accountNumbers not a list"

# ------------------------------------------------------------ Products/Search --
prod() { # IDS [CHANNEL] [TOP]
	post "Products/Search?\$top=${3:-10}&$V" \
		"{\"productSearchCriteria\":{\"Ids\":[$1],\"SkipVariantExpansion\":true,\"IncludeProductsFromDescendantCategories\":false,\"DataLevelValue\":3,\"IncludeAttributes\":false,\"Context\":{\"ChannelId\":${2:-$CHANNEL},\"CatalogId\":0}}}"
}
prod 22565423005,22565429999,22565423001
is "$code $(jget '[.value[].RecordId] | join(" ")')" "200 22565423001 22565423005" \
	"products: found ones, the unknown one absent"
is "$(jget '.value[0].ProductName') | $(jget '.value[0].Image.Items[0].Url')" \
	"Leather Tote | https://images.example.com/products/tote-brown.jpg" "products: name and image"
is "$(jget '.value[1].Image')" null "products: Image null"
is "$(jget '.["@odata.context"]')" "$SANDBOX/Commerce/\$metadata#Products" "products: @odata.context"
prod 22565423005,22565423001 "$CHANNEL" 1
is "$(jget '[.value[].RecordId] | join(" ")')" "22565423001" "products: \$top=1"
prod 22565423002,22565423003,22565423004,22565423006,22565423007,22565423008
is "$(jget '[.value[] | .Image.Items[0].Url // "-"] | join("|")')" \
	"Products/ABC_000_001.png|HTTP://CDN.EXAMPLE.NET/IMG/SNEAKER-WHITE.PNG|Products/ABC_000_002.png|-|   |Products/MUG_000_001.png" \
	"products: relative, HTTP:// in capitals, empty AltText, Items [], a blank Url, two images"
has "$T/body" '"Price":19\.90,' "products: 19.90 keeps its scale"
prod 22565423001 "$CHANNEL_EU"
rs_error 400 InvalidChannel DataValidationException "products: Context.ChannelId of another channel"
post "Products/Search?\$top=10&$V" '{"productSearchCriteria":{"Ids":[22565423001]}}'
rs_error 400 RequiredValueNotFound DataValidationException "products: no Context"
post "Products/Search?\$top=10&$V" \
	"{\"productSearchCriteria\":{\"Ids\":[\"22565423001\"],\"Context\":{\"ChannelId\":$CHANNEL,\"CatalogId\":0}}}"
rs_error 400 InvalidFormat DataValidationException "products: Ids as strings"
oun="OUN: 256"
prod 22565424001,22565423001 "$CHANNEL_EU"
is "$(jget '[.value[].ProductName] | join(" ")')" "Strandtuch" "products: unit 256 has its own products"
oun="OUN: 128"

# ------------------------------------------------------------------ faults --
sandbox_fault '{"match":{"service":"retail","path":"^/Commerce/Carts/"},"action":"status","status":503,"headers":{"Retry-After":"1"}}'
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code $(hdr Retry-After) $(jget .ErrorResourceId)" \
	"503 1 Microsoft_Dynamics_Commerce_Runtime_ServiceUnavailable" "fault: 503 in Retail Server's shape"
carts "$Q" "$(crit "\"$FROM\"" "\"$TO\"" false)"
is "$code" 200 "fault: then served"

# --------------------------------------------------------------------- log --
prod 22565423001,22565423003,22565423003,22565429999
http "$SANDBOX/_sandbox/log?service=retail"
cp "$T/body" "$T/retail.ndjson"
is "$(jq -r 'select(.operation == "Products/Search" and .status == 200) | .json.productSearchCriteria.Ids | length' \
	"$T/retail.ndjson" | tail -n 1)" 4 "log: the request body, to count the product ids asked for"
last=$(grep -F '"operation":"Products/Search"' "$T/retail.ndjson" | tail -n 1)
printf '%s\n' "$last" >"$T/last.json"
has "$T/last.json" '"service":"retail"' "log: service retail"
has "$T/last.json" "\"client_id\":\"$RSAPP\",\"aud\":\"$RS_AUD\"" "log: the token's client and audience"
has "$T/last.json" '"authorization":"id_token <redacted>"' "log: Authorization keeps only its scheme"
has "$T/last.json" '"oun":"128"' "log: the OUN header"
is "$(jq -r 'select(.operation == "Products/Search") | .returned' "$T/last.json")" 2 \
	"log: how many items were returned"
has "$T/retail.ndjson" '"status":403,.*"client_id":"a1000000-0000-4000-8000-000000000001"' \
	"log: the unregistered app's refusal"
lacks "$T/retail.ndjson" 'eyJ[A-Za-z0-9_-]{10,}\.' "log: no token"

no_secrets_printed
done_testing
