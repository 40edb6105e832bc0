#!/bin/sh
# --check-config and --check on every stage, and cartwatch-run --check: the
# configuration read as a run reads it, then each service asked read-only
# (DESIGN.md section 8 item 9), every problem named, nothing claimed, sent,
# made or written on stdout.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
sandbox_config "$T/base.json" '.Cartwatch.StateStore.Path = "state/check.db"'
jq --arg s "$SANDBOX" '.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"}' \
	"$T/base.json" >"$cfg"
log() { curl -sf "$SANDBOX/_sandbox/log${1:+?service=$1}"; }
# edit JQ: the good config edited, in $T/edited.json.
edit() { jq --arg s "$SANDBOX" "$1" "$cfg" >"$T/edited.json"; }
# nothing_done: no store made, no send or claim logged, stdout empty.
nothing_done() {
	is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "$1: nothing on stdout"
	if [ -e "$T/state/check.db" ]; then not_ok "$1: no store made"; else ok "$1: no store made"; fi
	lacks "$T/sandbox.log" '"method": *"POST"[^}]*"path": *"/(emarsys/api/v2/event|sendgrid/v3/mail|mandrill/api/1.0/messages|webhook|Commerce/Carts)' \
		"$1: nothing sent, no carts searched"
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

done_testing
