#!/bin/sh
# Delivery under faults, none twice and none lost unless the result says
# "uncertain" (doc/DESIGN.md 8.1): SendGrid, Mandrill, webhook and Emarsys with the
# answer lost after the service took the send, refusals that ask for a retry,
# a server wait past the limit; then plain http kept away from proxies and
# URL passwords kept out of messages.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
unset http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY no_proxy NO_PROXY
head -n 3 "$top/tests/golden/enrich.ndjson" >"$T/in.ndjson"
in=$T/in.ndjson
sandbox_config "$T/sb.json"
jq --arg s "$SANDBOX" '.Cartwatch.Http.TimeoutMs = 1500 |
	.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"}' \
	"$T/sb.json" >"$T/base.json"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com"}}' \
	"$T/base.json" >"$T/sendgrid.json"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "mandrill", Mandrill: {BaseUrl: ($s + "/mandrill"),
	TemplateName: "abandoned-cart", FromEmail: "carts@shop.example.com"}}' "$T/base.json" >"$T/mandrill.json"
# One POST for the three records, so that one fault meets all of them.
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook",
	Webhook: {Url: ($s + "/webhook/carts"), BatchSize: 3}}' "$T/base.json" >"$T/webhook.json"
cp "$T/base.json" "$T/emarsys.json"

reset() {
	sandbox_clear
	for svc in emarsys sendgrid mandrill; do curl -sf -X DELETE "$SANDBOX/_sandbox/$svc/delivered" >/dev/null; done
	curl -sf -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
}
# The path of each provider's send.
send_path() {
	case $1 in
	sendgrid) echo '^/sendgrid/v3/mail/send' ;;
	mandrill) echo '^/mandrill/api/1.0/messages/send-template' ;;
	webhook) echo '^/webhook/' ;;
	emarsys) echo '/trigger$' ;;
	esac
}
# processed P: sends the service took, the raw deliveries of the batch
# (Emarsys's trigger_id would hide a repeat from its delivered list).
processed() {
	curl -sf "$SANDBOX/_sandbox/log?service=$1" | jq -r --arg p "$(send_path "$1")" \
	    'select((.path | test($p)) and (.fault == null or (.fault | test("after-process")))) | .path' |
	    wc -l | tr -d ' '
}
# ids P: the notifications the service delivered, one line each, sorted.
ids() {
	case $1 in
	sendgrid) curl -sf "$SANDBOX/_sandbox/sendgrid/delivered" | jq -r .custom_args.notificationId ;;
	emarsys) curl -sf "$SANDBOX/_sandbox/emarsys/delivered" | jq -r .trigger_id ;;
	webhook) curl -sf "$SANDBOX/_sandbox/webhook/received" |
		jq -r '.body | if type == "array" then .[] else . end | .notificationId' ;;
	mandrill) curl -sf "$SANDBOX/_sandbox/mandrill/delivered" | jq -r .email |
		while read -r a; do jq -r --arg a "$a" 'select(.email == $a) | .notificationId' "$in"; done ;;
	esac | sort
}
jq -r .notificationId "$in" | sort >"$T/all.ids"
summary() { jq -r '"\(.status) \(.uncertain // false)"' "$T/stdout" | sort | uniq -c | tr -s ' ' | tr '\n' '|'; }

for p in sendgrid mandrill webhook emarsys; do
	path=$(send_path "$p")
	# The service takes the send, then the answer is lost or late: nothing
	# may go out again, and every record says its outcome is unknown.
	for fault in drop hang; do
		reset
		sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"$fault\",\"after\":\"process\",\"seconds\":4}"
		expect_exit 1 "$p, $fault after processing: the run fails" cart-notify -c "$T/$p.json" <"$in"
		is "$(summary)" " 3 failed true|" "$p, $fault after processing: every record failed and uncertain"
		has "$T/stdout" 'outcome unknown' "$p, $fault after processing: the error says the outcome is unknown"
		is "$(processed "$p")" 1 "$p, $fault after processing: the batch reached the service once"
		ids "$p" >"$T/got.ids"
		same "$T/got.ids" "$T/all.ids" "$p, $fault after processing: each record delivered exactly once"
	done

	# Dropped before the service took it: the client cannot tell this from
	# the above (the request went out whole), so it is uncertain too, and
	# nothing was delivered: no duplicate, nothing lost without saying so.
	reset
	sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"drop\"}"
	expect_exit 1 "$p, dropped before processing" cart-notify -c "$T/$p.json" <"$in"
	is "$(summary)" " 3 failed true|" "$p, dropped before processing: uncertain, not repeated"
	is "$(processed "$p")" 0 "$p, dropped before processing: nothing delivered"

	# Refusals that say "not done, try later" are retried: delivered once.
	for st in '429,"headers":{"Retry-After":"0"}' '503,"headers":{"Retry-After":"0"}'; do
		reset
		sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"status\",\"status\":$st}"
		expect_exit 0 "$p, HTTP ${st%%,*} with Retry-After: retried" cart-notify -c "$T/$p.json" <"$in"
		is "$(summary)" " 3 sent false|" "$p, HTTP ${st%%,*}: all sent"
		is "$(curl -sf "$SANDBOX/_sandbox/log?service=$p" | jq -r --arg p "$path" \
		    'select(.path | test($p)) | if .status / 100 | floor == 2 then "2xx" else .status end' |
		    tr '\n' ' ')" "${st%%,*} 2xx " \
		    "$p, HTTP ${st%%,*}: one refusal, one retry"
		ids "$p" >"$T/got.ids"
		same "$T/got.ids" "$T/all.ids" "$p, HTTP ${st%%,*}: each record delivered exactly once"
	done

	# A bare 500: SendGrid documents it as not processed, Emarsys's
	# trigger_id absorbs a repeat; for Mandrill and a webhook it may come
	# after the work, so it is an answer, not a reason to send again.
	reset
	sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"status\",\"status\":500}"
	case $p in
	sendgrid | emarsys)
		expect_exit 0 "$p, HTTP 500: retried" cart-notify -c "$T/$p.json" <"$in"
		is "$(summary)" " 3 sent false|" "$p, HTTP 500: then all sent" ;;
	*)
		expect_exit 1 "$p, HTTP 500: not retried" cart-notify -c "$T/$p.json" <"$in"
		is "$(summary)" " 3 failed false|" "$p, HTTP 500: failed, and the answer is certain"
		is "$(curl -sf "$SANDBOX/_sandbox/log?service=$p" | jq -r --arg p "$path" \
		    'select(.path | test($p)) | .status' | tr '\n' ' ')" "500 " "$p, HTTP 500: one request" ;;
	esac
done

# A 2xx whose outcomes are lost in a cut or broken body: those outcomes are unknown.
for p in mandrill emarsys; do
	path=$(send_path "$p")
	reset
	sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"truncate\"}"
	expect_exit 1 "$p, a reply cut short" cart-notify -c "$T/$p.json" <"$in"
	is "$(summary)" " 3 failed true|" "$p, a reply cut short: uncertain"
	ids "$p" >"$T/got.ids"
	same "$T/got.ids" "$T/all.ids" "$p, a reply cut short: each record delivered exactly once"
	reset
	sandbox_fault "{\"match\":{\"path\":\"$path\"},\"action\":\"malformed\"}"
	expect_exit 1 "$p, HTTP 200 with a body that is not JSON" cart-notify -c "$T/$p.json" <"$in"
	is "$(summary)" " 3 failed true|" "$p, HTTP 200 not JSON: uncertain"
	is "$(curl -sf "$SANDBOX/_sandbox/log?service=$p" | jq -r --arg p "$path" \
	    'select(.path | test($p)) | .status' | tr '\n' ' ')" "200 " "$p, HTTP 200 not JSON: not sent again"
done

# --- the webhook's Idempotency-Key
reset
jq '.Cartwatch.Notify.Webhook.BatchSize = 1' "$T/webhook.json" >"$T/webhook1.json"
expect_exit 0 "webhook, one record a POST" cart-notify -c "$T/webhook1.json" <"$in"
# The POSTs are in flight together (MaxInFlight): they arrive in any order.
is "$(curl -sf "$SANDBOX/_sandbox/log?service=webhook" | jq -r '.headers["idempotency-key"]' | sort |
	tr '\n' ' ')" "$(jq -r .notificationId "$in" | sort | tr '\n' ' ')" \
	"each POST's Idempotency-Key is its notificationId"
reset
sandbox_fault '{"match":{"path":"^/webhook/"},"action":"status","status":429,"headers":{"Retry-After":"0"}}'
expect_exit 0 "webhook, a batch of three, retried after a 429" cart-notify -c "$T/webhook.json" <"$in"
curl -sf "$SANDBOX/_sandbox/log?service=webhook" | jq -r '.headers["idempotency-key"]' >"$T/keys"
is "$(wc -l <"$T/keys" | tr -d ' ')" 2 "webhook batch: two POSTs"
is "$(sort -u "$T/keys" | grep -cE '^batch-[0-9a-f]{64}$')" 1 "webhook batch: one key, batch- and a digest, on both"

# --- a server that asks to wait longer than Cartwatch.Http.MaxRetryWaitMs
for h in '"Retry-After":"99999999999999999"' '"X-RateLimit-Reset":"99999999999999999"' '"Retry-After":"200"'; do
	reset
	sandbox_fault "{\"match\":{\"path\":\"^/sendgrid/\"},\"action\":\"status\",\"status\":429,\"headers\":{$h},\"count\":-1}"
	start=$(date +%s)
	expect_exit 1 "SendGrid 429 with $h: the run fails" cart-notify -c "$T/sendgrid.json" <"$in"
	is "$(( $(date +%s) - start < 10 ))" 1 "SendGrid 429 with $h: at once, without waiting"
	has "$T/stderr" 'SendGrid asks to wait (over )?[0-9]+ s, more than Cartwatch.Http.MaxRetryWaitMs \(120000 ms\)' \
		"SendGrid 429 with $h: the message says why"
	lacks "$T/stderr" 'runtime error' "SendGrid 429 with $h: no undefined behaviour"
	is "$(processed sendgrid)" 0 "SendGrid 429 with $h: nothing delivered"
done

# --- plain http never goes through a proxy
python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".port", "w") as f:
    f.write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    with open(sys.argv[1], "a") as f:
        f.write("connection\n")
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
' "$T/proxy.count" &
proxy_pid=$!
trap 'kill "$proxy_pid" 2>/dev/null || :; cleanup' EXIT
i=0
while [ ! -s "$T/proxy.count.port" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
: >>"$T/proxy.count"
proxy=http://127.0.0.1:$(cat "$T/proxy.count.port")
curl -s -o /dev/null --proxy "$proxy" http://127.0.0.1:9/ || :
is "$(wc -l <"$T/proxy.count" | tr -d ' ')" 1 "(the proxy counts what reaches it)"
: >"$T/proxy.count"
data=$top/tests/sandbox/default.json
printf '{"KeyVaultOptions": {"KeyVaultUrl": "%s/kv"}}\n' "$SANDBOX" >"$T/kv.json"
jq -r '.keyvault.secrets.RetailServerAppId.value' "$data" >"$T/want"
# The token POST of the environment credential.
expect_exit 0 "kv-secret with every proxy variable set (token request)" env \
	http_proxy="$proxy" HTTP_PROXY="$proxy" ALL_PROXY="$proxy" all_proxy="$proxy" \
	kv-secret -c "$T/kv.json" RetailServerAppId
same "$T/stdout" "$T/want" "the secret was read directly"
# The managed-identity header.
expect_exit 0 "kv-secret with every proxy variable set (managed identity)" env \
	-u AZURE_TENANT_ID -u AZURE_CLIENT_ID -u AZURE_CLIENT_SECRET \
	IDENTITY_ENDPOINT="$SANDBOX/msi/token" \
	IDENTITY_HEADER="$(jq -r .managed_identity.identity_header "$data")" \
	http_proxy="$proxy" HTTP_PROXY="$proxy" ALL_PROXY="$proxy" all_proxy="$proxy" \
	kv-secret -c "$T/kv.json" RetailServerAppId
same "$T/stdout" "$T/want" "the secret was read directly"
is "$(wc -l <"$T/proxy.count" | tr -d ' ')" 0 "the proxy saw no connection"
has "$T/sandbox.log" '"service": ?"msi"' "(the managed identity was asked)"
kill "$proxy_pid" 2>/dev/null || :
wait "$proxy_pid" 2>/dev/null || :

# --- a password in a configured URL is never echoed
pw=PW-must-not-show
bad=http://user:$pw@127.0.0.1:99999
printf '{"KeyVaultOptions": {"KeyVaultUrl": "%s/kv"}}\n' "$bad" >"$T/kv-bad.json"
expect_exit 2 "a vault URL that is not one" kv-secret -c "$T/kv-bad.json" RetailServerAppId
has "$T/stderr" "not a URL: \"http://user:\\*\\*\\*@127.0.0.1:99999/kv\"" "names it with the password hidden"
lacks "$T/stderr" "$pw" "and never the password"
jq --arg u "$bad/webhook" '.Cartwatch.Notify.Webhook.Url = $u' "$T/webhook.json" >"$T/wh-bad.json"
expect_exit 2 "a webhook URL that is not one" cart-notify -c "$T/wh-bad.json" <"$in"
has "$T/stderr" "not a URL: \"http://user:\\*\\*\\*@127.0.0.1:99999/webhook\"" "names it with the password hidden"
lacks "$T/stderr" "$pw" "and never the password"
jq --arg u "$bad/" '.Cartwatch.StateStore = {Kind: "cosmos"} |
	.AzureCosmosOptions = {EndPointUri: $u, PrimaryKey: "a2V5"}' "$T/base.json" >"$T/cosmos-bad.json"
expect_exit 2 "a Cosmos DB URL that is not one" cart-dedupe -c "$T/cosmos-bad.json" </dev/null
has "$T/stderr" "not a URL: \"http://user:\\*\\*\\*@127.0.0.1:99999/\"" "names it with the password hidden"
lacks "$T/stderr" "$pw" "and never the password"
# URLs that parse: Cosmos DB refuses a password it would never use (and so
# never shows it later); the vault's own messages hide it.
jq --arg u "http://user:$pw@127.0.0.1:9/" '.Cartwatch.StateStore = {Kind: "cosmos"} |
	.AzureCosmosOptions = {EndPointUri: $u, PrimaryKey: "a2V5"}' "$T/base.json" >"$T/cosmos-pw.json"
expect_exit 1 "a Cosmos DB URL with a password" cart-dedupe -c "$T/cosmos-pw.json" </dev/null
has "$T/stderr" "Cosmos DB http://user:\\*\\*\\*@127.0.0.1:9/: remove the user name and password" \
	"is refused, with the password hidden"
lacks "$T/stderr" "$pw" "and never the password"
printf '{"KeyVaultOptions": {"KeyVaultUrl": "%s"}}\n' "$(echo "$SANDBOX/kv" | sed "s|//|//user:$pw@|")" >"$T/kv-pw.json"
expect_exit 1 "a vault URL with a password, a secret it lacks" kv-secret -c "$T/kv-pw.json" NoSuchSecret
has "$T/stderr" "Key Vault http://user:\\*\\*\\*@127.0.0.1:[0-9]*/kv: secret 'NoSuchSecret' not found" \
	"names the vault with the password hidden"
lacks "$T/stderr" "$pw" "and never the password"

no_secrets_printed
done_testing
