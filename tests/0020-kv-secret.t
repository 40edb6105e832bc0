#!/bin/sh
# kv-secret against the sandbox: every credential kind, the errors a vault
# gives, retries and their budget, and the file: vault.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
data=$top/tests/sandbox/default.json
tenant=7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b
reader=a1000000-0000-4000-8000-000000000001
noaccess=a2000000-0000-4000-8000-000000000002
workload=a3000000-0000-4000-8000-000000000003
export AZURE_AUTHORITY_HOST=$SANDBOX/aad

# Fast retries so the budget runs out in well under a second.
cat >"$T/appsettings.json" <<JSON
{
  // the sample's section, under its documented alias
  "KeyVaultOptions": { "KeyVaultURI": "$SANDBOX/kv", },
  "Cartwatch": { "Http": { "MaxAttempts": 3, "BackoffMs": 10, "MaxBackoffMs": 40,
                           "ConnectTimeoutMs": 1000, "TimeoutMs": 2000 } }
}
JSON
cfg=$T/appsettings.json

# The values the vault holds, kept in files so that a failure never shows one.
jq -r '.keyvault.secrets.RetailServerAppId.value' "$data" >"$T/want"
jq -r '.keyvault.secrets.EmarsysApiUser, .keyvault.secrets.EmarsysApiSecret' \
	"$data" >>"$T/want"
secret_of() { jq -r ".tenants[\"$tenant\"].clients[\"$1\"].secret" "$data"; }

kvlog() { curl -sf "$SANDBOX/_sandbox/log?service=$1"; }

use_env_credential() {
	AZURE_TENANT_ID=$tenant AZURE_CLIENT_ID=$1 AZURE_CLIENT_SECRET=$(secret_of "$1")
	export AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET
}
no_credential() {
	unset AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET \
		AZURE_FEDERATED_TOKEN_FILE IDENTITY_ENDPOINT IDENTITY_HEADER
	AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9
}

# --- environment credential (client secret)
use_env_credential $reader
expect_exit 0 "environment credential reads three secrets" \
	kv-secret -c "$cfg" RetailServerAppId EmarsysApiUser EmarsysApiSecret
same "$T/stdout" "$T/want" "the values come out one per line, in order"
kvlog aad >"$T/aad.log"
is "$(count "$T/aad.log" .)" 1 "one token serves every secret (cached)"
has "$T/aad.log" "\"path\": ?\"/aad/$tenant/oauth2/v2.0/token\"" "token from the tenant's v2.0 endpoint"
has "$T/aad.log" '"scope": ?"https://vault.azure.net/.default"' "token asked for the vault's scope"
lacks "$T/aad.log" "$(secret_of $reader)" "the sandbox log holds no client secret"
kvlog keyvault >"$T/kv.log"
is "$(count "$T/kv.log" '"status": ?200')" 3 "three vault reads"
has "$T/kv.log" '"api-version": ?"7.4"' "api-version=7.4 on every read"
is "$(jq -r .peer "$T/kv.log" | sort -u | wc -l | tr -d ' ')" 1 "one kept-alive connection to the vault"

sandbox_clear
expect_exit 1 "a missing secret fails" kv-secret -c "$cfg" EmarsysApiUser NoSuchSecret
has "$T/stderr" "secret 'NoSuchSecret' not found" "the error names the secret"
has "$T/stderr" "Key Vault $SANDBOX/kv" "the error names the vault"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "all or nothing: no value printed"

expect_exit 1 "a name Key Vault cannot hold fails" kv-secret -c "$cfg" 'a/../b'
has "$T/stderr" "not a secret name" "and says why"

AZURE_CLIENT_SECRET=wrong-secret
expect_exit 1 "a wrong client secret fails" kv-secret -c "$cfg" EmarsysApiUser
has "$T/stderr" "environment credential \\(client id $reader" "the error names the identity"
has "$T/stderr" "invalid_client: AADSTS7000215" "and Entra ID's reason"

use_env_credential $noaccess
expect_exit 1 "403: an identity without access fails" kv-secret -c "$cfg" EmarsysApiUser
has "$T/stderr" "access denied to environment credential \\(client id $noaccess" \
	"the error names the identity used"
has "$T/stderr" "HTTP 403 Forbidden" "and the vault's answer"

# --- workload identity
no_credential
jq -r ".tenants[\"$tenant\"].clients[\"$workload\"].federated_tokens[0]" "$data" \
	>"$T/federated-token"
AZURE_TENANT_ID=$tenant AZURE_CLIENT_ID=$workload AZURE_FEDERATED_TOKEN_FILE=$T/federated-token
export AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_FEDERATED_TOKEN_FILE
sandbox_clear
expect_exit 0 "workload identity reads secrets" kv-secret -c "$cfg" RetailServerAppId
head -n 1 "$T/want" >"$T/want1"
same "$T/stdout" "$T/want1" "with the right value"
has "$T/sandbox.log" 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' \
	"it sent a client assertion"
echo "not-the-federated-token" >"$T/federated-token"
expect_exit 1 "a rejected assertion fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "workload identity \\(client id $workload" "the error names the identity"
rm "$T/federated-token"
expect_exit 1 "a missing token file fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "cannot read AZURE_FEDERATED_TOKEN_FILE $T/federated-token: No such file or directory;" \
	"and says so"
mkdir "$T/federated-token"
expect_exit 1 "a directory as the token file fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "cannot read AZURE_FEDERATED_TOKEN_FILE $T/federated-token: Is a directory;" \
	"and says so, not that it is empty"
rmdir "$T/federated-token"

# --- managed identity, App Service style
no_credential
IDENTITY_ENDPOINT=$SANDBOX/msi/token IDENTITY_HEADER=$(jq -r .managed_identity.identity_header "$data")
export IDENTITY_ENDPOINT IDENTITY_HEADER
sandbox_clear
expect_exit 0 "managed identity (IDENTITY_ENDPOINT) reads secrets" kv-secret -c "$cfg" RetailServerAppId
same "$T/stdout" "$T/want1" "with the right value"
kvlog msi >"$T/msi.log"
has "$T/msi.log" '"resource": ?"https://vault.azure.net"' "asked for the vault as resource"
has "$T/msi.log" '"api-version": ?"2019-08-01"' "with api-version 2019-08-01"
AZURE_CLIENT_ID=e2000000-0000-4000-8000-000000000022
export AZURE_CLIENT_ID
expect_exit 0 "a user-assigned identity with access reads secrets" kv-secret -c "$cfg" RetailServerAppId
AZURE_CLIENT_ID=e3000000-0000-4000-8000-000000000023
expect_exit 1 "a user-assigned identity without access is denied" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "managed identity \\(IDENTITY_ENDPOINT, client id e3000000" "the error names it"
unset AZURE_CLIENT_ID
IDENTITY_HEADER=wrong-header
expect_exit 1 "a wrong identity header fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "no token for https://vault.azure.net from managed identity" "and says which"
has "$T/stderr" "not configured: environment credential" "and which kinds were not configured"

# --- managed identity through IMDS (moved to loopback, as the SDKs allow)
no_credential
export AZURE_POD_IDENTITY_AUTHORITY_HOST="$SANDBOX"
sandbox_clear
expect_exit 0 "managed identity (IMDS) reads secrets" kv-secret -c "$cfg" RetailServerAppId
has "$T/sandbox.log" '"metadata": ?"true"' "IMDS was asked with Metadata: true"
no_credential
expect_exit 1 "no credential at all fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "managed identity \\(IMDS\\)" "the error says IMDS was tried"
has "$T/stderr" "workload identity \\(needs" "and what the other kinds need"

# --- retries and their budget
use_env_credential $reader
sandbox_clear
sandbox_fault '{"match":{"path":"^/kv/secrets/"},"action":"status","status":429,"headers":{"Retry-After":"1"},"count":1}'
expect_exit 0 "429 then success" kv-secret -c "$cfg" RetailServerAppId
same "$T/stdout" "$T/want1" "with the right value"
kvlog keyvault >"$T/kv.log"
is "$(jq -r .status "$T/kv.log" | tr '\n' ' ')" "429 200 " "one 429, one retry"
waited=$(jq -s '.[1].ts - .[0].ts >= 0.9' "$T/kv.log")
is "$waited" true "the retry waited the Retry-After second"

sandbox_clear
sandbox_fault '{"match":{"path":"^/kv/secrets/"},"action":"status","status":503,"count":-1}'
expect_exit 1 "a 5xx burst beyond the retry budget fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "HTTP 503.*after 3 attempts" "the error says 503 after 3 attempts"
is "$(kvlog keyvault | wc -l | tr -d ' ')" 3 "exactly MaxAttempts requests were made"

for action in hang drop truncate; do
	sandbox_clear
	sandbox_fault "{\"match\":{\"path\":\"^/kv/secrets/\"},\"action\":\"$action\",\"seconds\":5,\"count\":1}"
	expect_exit 0 "one $action, then success" kv-secret -c "$cfg" RetailServerAppId
	same "$T/stdout" "$T/want1" "after one $action the value is right"
done
sandbox_clear
sandbox_fault '{"match":{"path":"^/kv/secrets/"},"action":"malformed","count":1}'
expect_exit 1 "a malformed reply fails" kv-secret -c "$cfg" RetailServerAppId
has "$T/stderr" "reply has no string value" "and says so"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_exit 1 "the vault down fails" kv-secret -c "$cfg" --vault "http://127.0.0.1:$port/kv" RetailServerAppId
has "$T/stderr" "after 3 attempts" "after the retry budget"

# --- the file: vault
printf '{"RetailServerAppId": "%s", "Other": "x"}\n' "$(head -n 1 "$T/want")" >"$T/vault.json"
chmod 600 "$T/vault.json"
expect_exit 0 "file: vault with mode 600" kv-secret --vault "file:$T/vault.json" RetailServerAppId
same "$T/stdout" "$T/want1" "gives the value"
chmod 640 "$T/vault.json"
expect_exit 2 "file: vault readable by the group is refused" kv-secret --vault "file:$T/vault.json" Other
has "$T/stderr" "chmod 600" "and the message says how to fix it"
has "$T/stderr" "file vault $T/vault.json: readable by group or others \\(mode 640\\); fix with: chmod 600 $T/vault.json\$" \
	"in these words"
chmod 604 "$T/vault.json"
expect_exit 2 "file: vault readable by others is refused" kv-secret --vault "file:$T/vault.json" Other
chmod 600 "$T/vault.json"
mkdir "$T/conf" "$T/elsewhere"
printf '{"KeyVaultOptions":{"KeyVaultUrl":"file:../vault.json"}}' >"$T/conf/appsettings.json"
run sh -c "cd '$T/elsewhere' && kv-secret -c ../conf/appsettings.json RetailServerAppId"
is "$rc" 0 "a relative file: path is taken from the config file's directory"
echo '["not an object"]' >"$T/bad-vault.json"
chmod 600 "$T/bad-vault.json"
expect_exit 2 "a file: vault that is not an object is refused" kv-secret --vault "file:$T/bad-vault.json" x
expect_exit 1 "a missing file: vault fails" kv-secret --vault "file:$T/nope.json" x
has "$T/stderr" "file vault $T/nope.json: No such file or directory\$" "and says why"
expect_exit 1 "a file: vault that is a directory fails" kv-secret --vault "file:$T/conf" x
has "$T/stderr" "file vault $T/conf: not a regular file\$" "and says why"

# --- configuration and usage errors come before any network call
sandbox_clear
run sh -c "cd '$T/elsewhere' && kv-secret RetailServerAppId"
is "$rc" 2 "no config and no --vault is a usage error"
printf '{"KeyVaultOptions":{}}' >"$T/novault.json"
expect_exit 2 "a config without the vault URL" kv-secret -c "$T/novault.json" x
has "$T/stderr" "KeyVaultOptions.KeyVaultUrl: missing" "names the missing key"
printf '{"KeyVaultOptions":{"KeyVaultUrl":"http://10.0.0.1/"}}' >"$T/plain.json"
expect_exit 2 "plain http to a non-loopback vault is refused" kv-secret -c "$T/plain.json" x
has "$T/stderr" "plain http is allowed only to loopback" "and says why"
printf '{"KeyVaultOptions":{"KeyVaultUrl":"%s/kv"},"Cartwatch":{"Http":{"MaxAttempts":"many"}}}' \
	"$SANDBOX" >"$T/badhttp.json"
expect_exit 2 "a malformed Cartwatch.Http value" kv-secret -c "$T/badhttp.json" x
has "$T/stderr" "Cartwatch.Http.MaxAttempts" "names the key"
printf '{"KeyVaultOptions": {' >"$T/broken.json"
expect_exit 2 "a config that is not JSON" kv-secret -c "$T/broken.json" x
has "$T/stderr" "broken.json:1:" "names the file and line"
expect_exit 2 "no secret name" kv-secret -c "$cfg"
is "$(curl -sf "$SANDBOX/_sandbox/log" | wc -l | tr -d ' ')" 0 "none of these made a request"

no_secrets_printed
done_testing
