#!/bin/sh
# --check-config and --check on every stage, and cartwatch-run --check: the
# configuration read as a run reads it, then each service asked read-only
# (doc/DESIGN.md section 8 item 9), every problem named, nothing claimed, sent,
# made or written on stdout.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# The sandbox's data, and one more SendGrid key: one that may not send.
jq '.keyvault.secrets.SendGridAlertsKey = "SG.sandbox-s3cr3t-alerts.Pq7Zx2Lm" |
	.sendgrid.api_keys += [{key: {keyvault: "SendGridAlertsKey"}, scopes: ["alerts.read"]}]' \
	"$top/tests/sandbox/default.json" >"$T/data.json"
sandbox_start "$T/data.json"
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
sandbox_config "$T/base.json" '.Cartwatch.StateStore.Path = "state/check.db"'
jq --arg s "$SANDBOX" '.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"}' \
	"$T/base.json" >"$cfg"
log() { curl -sf "$SANDBOX/_sandbox/log"; }
# edit JQ: the good config edited, in $T/edited.json.
edit() { jq --arg s "$SANDBOX" "$1" "$cfg" >"$T/edited.json"; }
# nothing_done: no store made, no send or claim logged, stdout empty.
nothing_done() {
	is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "$1: nothing on stdout"
	if [ -e "$T/state/check.db" ]; then not_ok "$1: no store made"; else ok "$1: no store made"; fi
	jq -r 'select(.method == "POST") | .path' "$T/sandbox.log" >"$T/posts"
	lacks "$T/posts" '/(event/.*/trigger|mail/send|messages/|webhook|Carts/|Customers/|Products/)' \
		"$1: nothing sent, no carts, customers or products asked for"
}

# --- a good configuration: every stage passes both
for stage in cart-fetch cart-dedupe cart-enrich cart-notify "cart-dedupe --commit"; do
	sandbox_clear
	# shellcheck disable=SC2086
	expect_exit 0 "$stage --check-config" $stage -c "$cfg" --check-config
	is "$(cat "$T/stderr")" "" "$stage --check-config: silent when all is well"
	log >"$T/sandbox.log"
	is "$(wc -l <"$T/sandbox.log" | tr -d ' ')" 0 "$stage --check-config: no network call"
	nothing_done "$stage --check-config"
	sandbox_clear
	# shellcheck disable=SC2086
	expect_exit 0 "$stage --check" $stage -c "$cfg" --check
	log >"$T/sandbox.log"
	has "$T/stderr" "^${stage%% *}: ok: configuration " "$stage --check: the configuration first"
	lacks "$T/stderr" "problem" "$stage --check: no problem"
	nothing_done "$stage --check"
done

run cart-fetch -c "$cfg" --check
has "$T/stderr" "^cart-fetch: ok: vault secret RetailServerAppId \(RetailServerClientOptions.AppIdKeyVaultSecretName\) readable$" \
	"cart-fetch: the app id readable"
has "$T/stderr" "^cart-fetch: ok: vault secret RetailServerAppSecret " "cart-fetch: the app secret readable"
has "$T/stderr" "^cart-fetch: ok: Retail Server token for https://commerce.dynamics.com$" "cart-fetch: a token"
has "$T/stderr" "^cart-fetch: ok: Retail Server channel 68719478279 \(operating unit 128, currency USD\)$" \
	"cart-fetch: the channel"
run cart-dedupe -c "$cfg" --check
has "$T/stderr" "^cart-dedupe: ok: state store $T/state/check.db: none yet; the first run makes it$" \
	"cart-dedupe: a missing SQLite store is fine when it can be made"
run cart-notify -c "$cfg" --check
has "$T/stderr" "^cart-notify: ok: emarsys: its secrets are readable in the vault$" "cart-notify: the secrets"
has "$T/stderr" '^cart-notify: ok: emarsys credentials \(account "cartwatch sandbox"\)$' \
	"cart-notify: Emarsys read its settings"
has "$T/stderr" "^cart-notify: ok: Retail Server channel " "cart-notify: stop on purchase's Retail Server"

# notify_check NAME JQ: cart-notify --check with the good config edited by
# JQ; $T/stderr holds what it said.
notify_check() {
	edit "$2"
	sandbox_clear
	run cart-notify -c "$T/edited.json" --check
	log >"$T/sandbox.log"
	nothing_done "$1"
}

# --- each provider's read-only call, and its problems named
notify_check "sendgrid" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com"}}'
is "$rc" 0 "sendgrid: exit 0"
has "$T/stderr" "^cart-notify: ok: sendgrid credentials \(scopes: mail.send\)$" "sendgrid: GET /v3/scopes holds mail.send"
has "$T/sandbox.log" '"path":"/sendgrid/v3/scopes"' "sendgrid: asked its scopes"
cp "$T/edited.json" "$T/sg.json"
notify_check "sendgrid, a mail-only key" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com",
	ApiKeySecretName: "SendGridMailOnlyKey"}}'
is "$rc" 0 "sendgrid: a restricted key that may send passes"
notify_check "sendgrid, a wrong key" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com",
	ApiKeySecretName: "MandrillApiKey"}}'
is "$rc" 2 "sendgrid: a key SendGrid refuses: exit 2"
has "$T/stderr" "^cart-notify: problem: sendgrid credentials: SendGrid GET /v3/scopes: HTTP 401: The provided authorization grant is invalid" \
	"sendgrid: SendGrid's reason"

notify_check "sendgrid, a key that may not send" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com",
	ApiKeySecretName: "SendGridAlertsKey"}}'
is "$rc" 2 "sendgrid: a key without mail.send: exit 2"
has "$T/stderr" "^cart-notify: problem: sendgrid credentials: the API key \(SendGridAlertsKey\) lacks the mail.send scope" \
	"sendgrid: names the key and the scope it lacks"

notify_check "mandrill" '.Cartwatch.Notify = {Provider: "mandrill", Mandrill: {BaseUrl: ($s + "/mandrill"),
	TemplateName: "abandoned-cart", FromEmail: "carts@shop.example.com"}}'
is "$rc" 0 "mandrill: exit 0"
has "$T/stderr" "^cart-notify: ok: mandrill credentials \(users/ping2: PONG!\)$" "mandrill: users/ping2 answers PONG!"
notify_check "mandrill, a wrong key" '.Cartwatch.Notify = {Provider: "mandrill", Mandrill: {BaseUrl: ($s + "/mandrill"),
	TemplateName: "abandoned-cart", FromEmail: "carts@shop.example.com", ApiKeySecretName: "SendGridApiKey"}}'
is "$rc" 2 "mandrill: a wrong key: exit 2"
has "$T/stderr" "^cart-notify: problem: mandrill credentials: Mandrill users/ping2: HTTP 500: Invalid API key" \
	"mandrill: Mandrill's reason"

notify_check "emarsys, a wrong secret" '.EmarsysClientOptions.ApiSecretKeyVaultSecretName = "SendGridApiKey"'
is "$rc" 2 "emarsys: a wrong secret: exit 2"
has "$T/stderr" "^cart-notify: problem: emarsys credentials: Emarsys GET api/v2/settings: HTTP 401: Unauthorized Invalid password digest" \
	"emarsys: Emarsys's reason"
notify_check "emarsys, an ApiUrl without /api/v2/" '.EmarsysClientOptions.ApiUrl = ($s + "/emarsys/trigger/{0}")'
is "$rc" 0 "emarsys: no api base to find the settings under: not a problem"
has "$T/stderr" "^cart-notify: not checked: emarsys credentials: EmarsysClientOptions.ApiUrl has no /api/v2/" \
	"emarsys: says what it could not check"
notify_check "emarsys, OAuth2" '.EmarsysClientOptions.ApiUrl = ($s + "/emarsys/api/v3/event/{0}/trigger") |
	.Cartwatch.Notify.Emarsys = {Auth: "oauth2", TokenUrl: ($s + "/emarsys/oauth2/token")}'
is "$rc" 0 "emarsys OAuth2: exit 0"
has "$T/stderr" "^cart-notify: ok: emarsys credentials \(an OAuth2 token\)$" "emarsys OAuth2: a token"

notify_check "webhook" '.Cartwatch.Notify = {Provider: "webhook", Webhook: {Url: ($s + "/webhook/carts")}}'
is "$rc" 0 "webhook: exit 0"
has "$T/stderr" "^cart-notify: not checked: webhook receiver .*/webhook/carts: a request to it would deliver; not called$" \
	"webhook: says what is not checked"
edit '.'
sandbox_clear
run cart-notify -c "$T/edited.json" --dry-run --check
is "$rc" 0 "preview: exit 0"
has "$T/stderr" "^cart-notify: not checked: preview: no service to ask" "preview: says so"

# Every problem, not just the first: a wrong provider key, a missing
# unsubscribe key and Retail Server's secret, in one run.
notify_check "three problems" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com",
	ApiKeySecretName: "NoSuchKey"}} | .Cartwatch.Unsubscribe = {Url: "https://shop.example.com/u/{token}",
	KeySecretName: "NoUnsubscribeKey"} | .RetailServerClientOptions.AppSecretKeyVaultSecretName = "NoRetailSecret"'
is "$rc" 2 "three problems: exit 2"
is "$(count "$T/stderr" '^cart-notify: problem: ')" 3 "three problems: each named"
has "$T/stderr" "problem: .*NoSuchKey" "the provider's key"
has "$T/stderr" "problem: Cartwatch.Unsubscribe.KeySecretName: .*NoUnsubscribeKey" "the unsubscribe key"
has "$T/stderr" "problem: RetailServerClientOptions.AppSecretKeyVaultSecretName: .*NoRetailSecret" \
	"Retail Server's secret"
notify_check "unsubscribe key" '.Cartwatch.Unsubscribe = {Url: "https://shop.example.com/u/{token}"}'
is "$rc" 0 "the unsubscribe key: exit 0"
has "$T/stderr" "^cart-notify: ok: vault secret UnsubscribeKey \(Cartwatch.Unsubscribe.KeySecretName\) readable$" \
	"the unsubscribe key: readable"

# SMTP: EHLO, AUTH, NOOP, QUIT; no message.
printf '{"SmtpPassword": "s3cret-smtp"}' >"$T/vault.json"
chmod 600 "$T/vault.json"
SMTPD_PASSWORD=s3cret-smtp smtp_server --auth-user shop-mailer
smtp_cfg() {
	jq -n --arg v "file:$T/vault.json" --arg u "smtp://127.0.0.1:$1" --arg p "$2" '{
	    KeyVaultOptions: {KeyVaultUrl: $v}, Cartwatch: {StopOnPurchase: false,
	    StateStore: {Path: "state/check.db"}, Notify: {Provider: "smtp", Smtp: {Url: $u,
	    From: "shop@contoso.example", User: "shop-mailer", PasswordSecretName: $p,
	    MaxAttempts: 1, ConnectTimeoutMs: 2000, TimeoutMs: 5000}}}}' >"$T/smtp.json"
}
smtp_cfg "$SMTP_PORT" SmtpPassword
expect_exit 0 "smtp: exit 0" cart-notify -c "$T/smtp.json" --check
has "$T/stderr" "^cart-notify: ok: smtp server smtp://127.0.0.1:$SMTP_PORT \(EHLO, AUTH as shop-mailer, NOOP, QUIT; nothing sent\)$" \
	"smtp: the server takes the login"
is "$(find "$MAILDIR" -type f | wc -l | tr -d ' ')" 0 "smtp: no message"
printf '{"SmtpPassword": "wrong"}' >"$T/vault.json"
expect_exit 2 "smtp: a wrong password: exit 2" cart-notify -c "$T/smtp.json" --check
has "$T/stderr" "^cart-notify: problem: smtp server: smtp://127.0.0.1:$SMTP_PORT: AUTH: 535" "smtp: the server's refusal"
smtp_server_stop
closed_port
port=$CLOSED
smtp_cfg "$port" SmtpPassword
expect_exit 2 "smtp: nobody listening: exit 2" cart-notify -c "$T/smtp.json" --check
has "$T/stderr" "^cart-notify: problem: smtp server: smtp://127.0.0.1:$port" "smtp: names the server"

# --- the state store
mkdir -p "$T/state"
: | cart-dedupe -c "$cfg" >/dev/null
expect_exit 0 "an existing SQLite store: exit 0" cart-dedupe -c "$cfg" --check
has "$T/stderr" "^cart-dedupe: ok: state store $T/state/check.db opens$" "it opens"
rm -f "$T/state/check.db"*
echo "not a database" >"$T/state/check.db"
expect_exit 2 "a file that is no SQLite database: exit 2" cart-dedupe -c "$cfg" --check
has "$T/stderr" "^cart-dedupe: problem: state store $T/state/check.db: file is not a database" "says so"
rm -rf "$T/state"
echo file >"$T/state"
expect_exit 2 "a store whose directory cannot be made: exit 2" cart-dedupe -c "$cfg" --check
has "$T/stderr" "^cart-dedupe: problem: state store $T/state/check.db: no file yet, and $T/state cannot get it: Not a directory" \
	"says where"
rm -f "$T/state"

cosmos_start
jq --arg e "$COSMOS" --arg k "$COSMOS_KEY" '.Cartwatch.StateStore.Kind = "cosmos" |
	.AzureCosmosOptions = {EndPointUri: $e, PrimaryKey: $k, DatabaseId: "cw", ContainerId: "state"}' \
	"$cfg" >"$T/cosmos.json"
expect_exit 0 "Cosmos DB, no container yet: exit 0" cart-dedupe -c "$T/cosmos.json" --check
has "$T/stderr" "no container yet, the first run makes it" "says the first run makes it"
is "$(curl -sf "$COSMOS/dbs" | jq '.Databases | length')" 0 "and made no database"
: | cart-dedupe -c "$T/cosmos.json" >/dev/null
expect_exit 0 "Cosmos DB, the container there: exit 0" cart-dedupe -c "$T/cosmos.json" --check
has "$T/stderr" "^cart-dedupe: ok: state store $COSMOS/dbs/cw/colls/state readable$" "readable"
jq --arg e "http://127.0.0.1:$CLOSED" '.AzureCosmosOptions.EndPointUri = $e' "$T/cosmos.json" >"$T/cosmos-off.json"
expect_exit 2 "Cosmos DB unreachable: exit 2" cart-dedupe -c "$T/cosmos-off.json" --check
has "$T/stderr" "^cart-dedupe: problem: Cosmos DB " "names the store"
closed_port_stop

# --- the issue's two examples
edit '.RetailServerClientOptions.OperatingUnitNumber = "one-two-eight"'
sandbox_clear
expect_exit 2 "an unknown operating unit: cart-fetch --check exits 2" cart-fetch -c "$T/edited.json" --check
has "$T/stderr" '^cart-fetch: problem: RetailServerClientOptions.OperatingUnitNumber: Retail Server has no channel with operating unit number "one-two-eight"' \
	"naming the key"
edit '.MediaOptions.ImageViewPorts = 3'
sandbox_clear
expect_exit 2 "ImageViewPorts: 3: cart-enrich --check-config exits 2" cart-enrich -c "$T/edited.json" --check-config
has "$T/stderr" "MediaOptions.ImageViewPorts: expected an array" "naming the key"
is "$(log | wc -l | tr -d ' ')" 0 "without a network call"

# --- cartwatch-run: --check, and --check-config before every run
run_pipeline() { run "$top/pipeline.sh" "$@"; }
sandbox_clear
run_pipeline -c "$cfg" --check
is "$rc" 0 "cartwatch-run --check: exit 0"
for t in cart-fetch cart-dedupe cart-enrich cart-notify; do
	has "$T/stderr" "^$t: ok: configuration " "cartwatch-run --check: $t checked"
done
log >"$T/sandbox.log"
nothing_done "cartwatch-run --check"
run_pipeline -c "$cfg" --notify cat --check
has "$T/stderr" "not checked: the --notify stage \(cat\)" "cartwatch-run --check: a custom notify stage is not checked, and it says so"
lacks "$T/stderr" "^cart-notify:" "cartwatch-run --check: cart-notify not run for it"
edit '.MediaOptions.ImageViewPorts = 3 | .RetailServerClientOptions.OperatingUnitNumber = "one-two-eight"'
sandbox_clear
run_pipeline -c "$T/edited.json" --check
is "$rc" 2 "cartwatch-run --check: two stages' problems: exit 2"
has "$T/stderr" "cart-fetch: problem: RetailServerClientOptions.OperatingUnitNumber" "the OUN"
has "$T/stderr" "cart-enrich: .*MediaOptions.ImageViewPorts: expected an array" "the viewports, in the same run"
has "$T/stderr" "^pipeline.sh: $T/edited.json: problems found \\(above\\)$" "cartwatch-run --check: says so at the end"
run_pipeline -c "$cfg" --check
has "$T/stderr" "^pipeline.sh: $cfg: every check passed$" "cartwatch-run --check: says all passed"

# One broken stage at a time: --check names it, a run does not start (an
# offline problem) or stops at cart-fetch before any claim (the channel).
echo file >"$T/a-file"
while IFS='|' read -r stage jqedit what; do
	edit "$jqedit"
	sandbox_clear
	run_pipeline -c "$T/edited.json" --check
	is "$rc" 2 "cartwatch-run --check, $stage broken: exit 2"
	has "$T/stderr" "^$stage: (problem: )?.*$what" "cartwatch-run --check, $stage broken: $stage names it"
done <<STAGES
cart-fetch|.RetailServerClientOptions.OperatingUnitNumber = "one-two-eight"|RetailServerClientOptions.OperatingUnitNumber: Retail Server has no channel
cart-dedupe|.Cartwatch.StateStore.Path = "a-file/check.db"|state store .*a-file/check.db: no file yet
cart-enrich|.MediaOptions.ImageViewPorts = 3|MediaOptions.ImageViewPorts: expected an array
cart-notify|.EmarsysClientOptions.ApiSecretKeyVaultSecretName = "SendGridApiKey"|emarsys credentials: .*Invalid password digest
STAGES
while IFS='|' read -r stage jqedit what; do
	edit "$jqedit"
	sandbox_clear
	run_pipeline -c "$T/edited.json"
	is "$rc" 2 "a run, $stage's configuration broken: exit 2"
	has "$T/stderr" "^$stage: .*$what" "a run, $stage's configuration broken: $stage names it"
	is "$(log | wc -l | tr -d ' ')" 0 "a run, $stage's configuration broken: not started, no call made"
done <<STAGES
cart-fetch|.RetailServerClientOptions.IncludeAbandonedCartsModifiedSinceLastMinutes = 5|IncludeAbandonedCartsModifiedSinceLastMinutes: 5 is less than
cart-dedupe|.Cartwatch.QuietHours = {Start: "25:00", End: "06:00", TimeZone: "Europe/Berlin"}|Cartwatch.QuietHours
cart-enrich|.MediaOptions.ImageViewPorts = 3|MediaOptions.ImageViewPorts: expected an array
cart-notify|.Cartwatch.Notify.Provider = "carrier-pigeon"|carrier-pigeon
STAGES

edit '.MediaOptions.ImageViewPorts = 3'
sandbox_clear
run_pipeline -c "$T/edited.json"
is "$rc" 2 "a run with ImageViewPorts: 3: exit 2"
has "$T/stderr" "the configuration has problems \(above\): not started" "says it did not start"
is "$(log | wc -l | tr -d ' ')" 0 "no call made: no cart fetched, none claimed"
lacks "$T/stderr" "cart-fetch exited" "cart-fetch never ran"
if [ -e "$T/state/check.db" ]; then not_ok "no store made"; else ok "no store made"; fi
# The run after the fix finds no cart held for a lease.
sandbox_clear
run_pipeline -c "$cfg"
is "$rc" 0 "the run after the fix: exit 0"
has "$T/stderr" "fetched 16, passed 16, enriched 14, sent 14" "every cart passed: none was claimed by the broken run"
edit '.RetailServerClientOptions.OperatingUnitNumber = "one-two-eight"'
run_pipeline -c "$T/edited.json"
is "$rc" 2 "a run with an unknown operating unit: exit 2, not 1"
has "$T/stderr" "cart-fetch: RetailServerClientOptions.OperatingUnitNumber: Retail Server has no channel" \
	"naming the key"

no_secrets_printed "$T/data.json"
done_testing
