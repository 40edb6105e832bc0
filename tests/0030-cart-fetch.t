#!/bin/sh
# cart-fetch against the sandbox's Retail Server, CARTWATCH_NOW fixed: the
# exact carts of the window, paging, guests, the wire, and every error path.
# The data set is described cart by cart in tests/sandbox/README.md.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
sandbox_config "$cfg"

ids() { jq -r .Id "$T/stdout" | tr '\n' ' '; }
retail_log() { curl -sf "$SANDBOX/_sandbox/log?service=retail"; }

# The window [03:40:00Z, 11:50:00Z], guests off, one cart per customer, in
# order of modification (ties by id).
want="edge-from-exact images-absolute images-relative images-missing unknown-product \
charge-line prices-awkward prices-null unknown-customer tie-a tie-b tie-c tie-d \
empty-email repeat-late edge-to-exact "
for size in 100 3 2 1; do
	sandbox_clear
	expect_exit 0 "page size $size: exit 0" cart-fetch -c "$cfg" --page-size "$size"
	is "$(ids)" "$want" "page size $size: exactly the window's carts, edges included"
done
# With page size 3 the four carts at 08:00:00Z straddle a page boundary.
retail_log | jq -r 'select(.operation == "Carts/Search" or (.path | test("Carts/Search"))) | .query["$top"]' \
	| sort -u >"$T/tops"
is "$(cat "$T/tops")" 1 "the last run asked for pages of 1"

sandbox_config "$cfg" '.Cartwatch.RetailServer.PageSize = 3'
sandbox_clear
expect_exit 0 "page size from Cartwatch.RetailServer.PageSize" cart-fetch -c "$cfg"
is "$(ids)" "$want" "the same carts"
is "$(retail_log | jq -r 'select(.path | test("Carts/Search")) | .query["$top"]' | sort -u)" 3 \
	"pages of 3 asked for"
pages=$(retail_log | grep -c 'Carts/Search' || :)
is "$pages" 7 "18 carts in the window take 7 pages of 3 (the last one short or empty)"

# The default: pages of 1000, Retail Server's documented maximum; the 18 carts
# fit in one, and the short first page is confirmed by an empty one (a server
# that caps pages lower answers short pages too: see the end).
sandbox_config "$cfg"
sandbox_clear
expect_exit 0 "the default page size" cart-fetch -c "$cfg"
is "$(ids)" "$want" "the same carts"
is "$(retail_log | jq -r 'select(.path | test("Carts/Search")) | .query["$top"]' | sort -u)" 1000 \
	"pages of 1000 asked for by default"
is "$(retail_log | grep -c 'Carts/Search' || :)" 2 "one page and an empty one"

# Every Retail Server request: the app's token for the audience, the OUN.
retail_log >"$T/retail.log"
is "$(jq -r .headers.oun "$T/retail.log" | sort -u)" 128 "OUN: 128 on every request"
is "$(jq -r .aud "$T/retail.log" | sort -u)" "https://commerce.dynamics.com" \
	"every token was for the Retail Server audience"
is "$(jq -r .client_id "$T/retail.log" | sort -u)" a4000000-0000-4000-8000-000000000004 \
	"as the app whose id and secret came from Key Vault"
is "$(jq -r '.headers.authorization | split(" ")[0]' "$T/retail.log" | sort -u)" id_token \
	"Authorization: id_token, as Microsoft's article has it"
is "$(jq -r '.query["api-version"]' "$T/retail.log" | sort -u)" 7.3 "api-version=7.3"
jq -c 'select(.path | test("Carts/Search")) | .json.cartSearchCriteria' "$T/retail.log" | head -n 1 >"$T/crit"
has "$T/crit" '"CartTypeValue":1' "asks for shopping carts"
has "$T/crit" '"LastModifiedDateTimeFrom":"2026-11-24T03:40:00Z"' "from now - 500 minutes"
has "$T/crit" '"LastModifiedDateTimeTo":"2026-11-24T11:50:00Z"' "to now - 10 minutes"
has "$T/crit" '"IncludeAnonymous":false' "no anonymous carts by default"

# The carts as received, with channelId and currency added.
expect_exit 0 "cart-fetch" cart-fetch -c "$cfg"
jq -c 'select(.Id == "prices-awkward")' "$T/stdout" >"$T/got"
jq -c '.retail.units["128"].carts[] | select(.Id == "prices-awkward")' \
	"$top/tests/sandbox/default.json" >"$T/sent"
is "$(jq -c '{channelId, currency}' "$T/got")" '{"channelId":68719478279,"currency":"USD"}' \
	"the channel's RecordId and currency are added"
is "$(jq -S -c 'del(.channelId, .currency)' "$T/got")" "$(jq -S -c . "$T/sent")" \
	"every Retail Server field is kept"

sandbox_config "$cfg" '.Cartwatch.RetailServer.AuthScheme = "Bearer"'
sandbox_clear
expect_exit 0 "AuthScheme Bearer works too" cart-fetch -c "$cfg"
is "$(retail_log | jq -r '.headers.authorization | split(" ")[0]' | sort -u)" Bearer \
	"and sends Authorization: Bearer"

# One cart per customer off: every kept cart, repeat-early too, streamed in
# the server's order.
sandbox_config "$cfg" '.Cartwatch.OneCartPerCustomer = false'
expect_exit 0 "one cart per customer off" cart-fetch -c "$cfg" --page-size 3
is "$(ids)" "edge-from-exact repeat-early images-absolute images-relative images-missing \
unknown-product charge-line prices-awkward prices-null unknown-customer tie-a tie-b tie-c \
tie-d empty-email repeat-late edge-to-exact " "both carts of customer 004011, in time order"

# Guests: anonymous carts with a ReceiptEmail, one per address (any case).
sandbox_config "$cfg" '.Cartwatch.IncludeGuestCarts = true'
sandbox_clear
expect_exit 0 "guest carts on" cart-fetch -c "$cfg" --page-size 3
is "$(ids)" "edge-from-exact images-absolute images-relative images-missing unknown-product \
guest-empty-id charge-line prices-awkward guest-null-id prices-null unknown-customer tie-a \
tie-b tie-c tie-d empty-email guest-same-email-2 repeat-late edge-to-exact " \
	"guests with an email kept, the later of one address, none without an email"
has "$T/sandbox.log" '"IncludeAnonymous": ?true' "asked with IncludeAnonymous: true"
sandbox_config "$cfg" '.Cartwatch.IncludeGuestCarts = true | .Cartwatch.OneCartPerCustomer = false'
expect_exit 0 "guest carts on, one cart per customer off" cart-fetch -c "$cfg"
jq -r 'select(.CustomerId == "" or .CustomerId == null) | .Id' "$T/stdout" | tr '\n' ' ' >"$T/guests"
is "$(cat "$T/guests")" "guest-empty-id guest-null-id guest-same-email-1 guest-same-email-2 " \
	"every guest cart with an email"

# Another operating unit is other data, and another currency.
sandbox_config "$cfg" '.RetailServerClientOptions.OperatingUnitNumber = "256"'
expect_exit 0 "operating unit 256" cart-fetch -c "$cfg"
is "$(jq -r '.currency' "$T/stdout" | sort -u)" EUR "its carts carry its currency"
is "$(ids)" "eu-cart-1 eu-cart-2 " "and are its own"

# A backfill window from the command line.
sandbox_config "$cfg"
expect_exit 0 "--from and --to" cart-fetch -c "$cfg" --from 2026-11-24T08:00:00Z --to 2026-11-24T09:30:00+00:00
is "$(ids)" "tie-a tie-b tie-c tie-d empty-email " "exactly the carts from 08:00 to 09:30 inclusive"

# Errors from Retail Server end the run with exit 1, naming the call.
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":503,"count":-1}'
expect_exit 1 "Carts/Search failing past the retry budget" cart-fetch -c "$cfg" --page-size 3
has "$T/stderr" "Retail Server Carts/Search: HTTP 503" "the message names the call and status"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "no partial window is written"
sandbox_clear
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":503,"count":2}'
expect_exit 0 "two 503s are retried away" cart-fetch -c "$cfg"
is "$(ids)" "$want" "with the full result"
sandbox_clear
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"malformed","count":-1}'
expect_exit 1 "a malformed Carts/Search reply" cart-fetch -c "$cfg"
has "$T/stderr" "Retail Server Carts/Search: HTTP 200 with a reply that is not JSON" "says so"
sandbox_clear
sandbox_fault '{"match":{"path":"GetOrgUnitConfiguration"},"action":"status","status":404,"count":1}'
expect_exit 1 "a 404 from the channel configuration" cart-fetch -c "$cfg"
has "$T/stderr" "Retail Server OrgUnits/GetOrgUnitConfiguration: HTTP 404" "names the call"
sandbox_clear
sandbox_fault '{"match":{"path":"Carts/Search"},"action":"status","status":403,"count":1}'
expect_exit 1 "a 403 from Carts/Search" cart-fetch -c "$cfg"
has "$T/stderr" "Retail Server Carts/Search: HTTP 403.*registered in Commerce headquarters" \
	"names the call and the likely cause"
sandbox_clear
sandbox_config "$cfg" '.RetailServerClientOptions.OperatingUnitNumber = 999'
expect_exit 2 "an unknown operating unit is the configuration's: exit 2" cart-fetch -c "$cfg"
has "$T/stderr" "ChannelConfigurationNotFound" "Retail Server's reason is shown"
has "$T/stderr" "RetailServerClientOptions.OperatingUnitNumber: Retail Server has no channel with operating unit number \"999\"" \
	"naming the key"
sandbox_config "$cfg" '.RetailServerClientOptions.AppIdKeyVaultSecretName = "RetailServerAppId" | .RetailServerClientOptions.AppSecretKeyVaultSecretName = "EmarsysApiSecret"'
expect_exit 1 "a wrong app secret" cart-fetch -c "$cfg"
has "$T/stderr" "AADSTS7000215" "fails at Entra ID, saying why"
sandbox_config "$cfg" '.RetailServerClientOptions.RetailServerAudienceId = "https://management.azure.com"'
expect_exit 1 "a token for another audience" cart-fetch -c "$cfg"
has "$T/stderr" "HTTP 401" "is refused with 401"
sandbox_config "$cfg" '.RetailServerClientOptions.AppIdKeyVaultSecretName = "NoSuchSecret"'
expect_exit 1 "an app id missing from Key Vault" cart-fetch -c "$cfg"
has "$T/stderr" "secret 'NoSuchSecret' not found" "names the secret"

# Configuration errors: exit 2, before any request.
sandbox_clear
sandbox_config "$cfg" 'del(.RetailServerClientOptions.TenantId) | del(.RetailServerClientOptions.RetailServerUri)'
expect_exit 2 "missing keys" cart-fetch -c "$cfg"
has "$T/stderr" "RetailServerClientOptions.TenantId: missing" "names the first"
has "$T/stderr" "RetailServerClientOptions.RetailServerUri: missing" "and the second"
sandbox_config "$cfg" '.RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes = 5'
expect_exit 2 "Include less than Exclude" cart-fetch -c "$cfg"
has "$T/stderr" "window would be empty" "says why"
sandbox_config "$cfg" '.RetailServerClientOptions.ExcludeAbandonedCartsModifiedSinceLastMinutes = "ten"'
expect_exit 2 "a number that is not one" cart-fetch -c "$cfg"
has "$T/stderr" "ExcludeAbandonedCartsModifiedSinceLastMinutes: expected a whole number" "names it"
sandbox_config "$cfg" '.RetailServerClientOptions.RetailServerUri = "http://commerce.example.com/Commerce"'
expect_exit 2 "plain http to a remote Retail Server" cart-fetch -c "$cfg"
sandbox_config "$cfg"
CARTWATCH_NOW=yesterday expect_exit 2 "a malformed CARTWATCH_NOW" cart-fetch -c "$cfg"
has "$T/stderr" "CARTWATCH_NOW" "names it"
expect_exit 2 "--from after --to" cart-fetch -c "$cfg" --from 2026-11-24T10:00:00Z --to 2026-11-24T09:00:00Z
expect_exit 2 "--page-size 0" cart-fetch -c "$cfg" --page-size 0
expect_exit 2 "a stray argument" cart-fetch -c "$cfg" extra
is "$(curl -sf "$SANDBOX/_sandbox/log" | wc -l | tr -d ' ')" 0 "none of these made a request"

no_secrets_printed

# A Retail Server whose maxPageSize is below our $top caps pages silently:
# every cart of the window all the same, not just the first short page.
kill "$sandbox_pid"
wait "$sandbox_pid" 2>/dev/null || :
jq '.retail.max_page_size = 2' "$top/tests/sandbox/default.json" >"$T/capped.json"
rm -f "$T/sandbox.port"
sandbox_start "$T/capped.json"
sandbox_env
sandbox_config "$cfg"
expect_exit 0 "a server capping pages at 2, pages of 3 asked" cart-fetch -c "$cfg" --page-size 3
is "$(ids)" "$want" "every cart of the window"
expect_exit 0 "the same server, the default page size" cart-fetch -c "$cfg"
is "$(ids)" "$want" "every cart of the window"
done_testing
