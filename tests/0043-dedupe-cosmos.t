#!/bin/sh
# cart-dedupe on Azure Cosmos DB (a real server speaking its REST API): the
# shared cases, and what only this store has.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

cosmos_start
export COSMOS_KEY
cfg=$T/appsettings.json
cat >"$cfg" <<JSON
{
  "RetailServerClientOptions": { "OperatingUnitNumber": "128" },
  "AzureCosmosOptions": {
    "EndPointUri": "$COSMOS",
    "PrimaryKey": "$COSMOS_KEY",
    "DatabaseId": "AbandonedCartSampleDB",
    "ContainerId": "RunStatus"
  },
  "Cartwatch": {
    "StateStore": { "Kind": "cosmos" },
    "Http": { "MaxAttempts": 3, "BackoffMs": 10, "MaxBackoffMs": 40 }
  }
}
JSON
store=cosmos:$COSMOS/AbandonedCartSampleDB/RunStatus

# shellcheck source=tests/dedupe-cases.sh
. "$top/tests/dedupe-cases.sh"

# The key never shows in anything printed.
if grep -Fq "$COSMOS_KEY" "$T/all.err"; then not_ok "the Cosmos key is never printed"; else
	ok "the Cosmos key is never printed"; fi

# The key from a vault instead of the file: the file then holds no secret.
(umask 077 && jq -n --arg k "$COSMOS_KEY" '{CosmosKey: $k}' >"$T/vault.json")
jq --arg v "file:$T/vault.json" 'del(.AzureCosmosOptions.PrimaryKey) |
	.Cartwatch.StateStore.PrimaryKeySecretName = "CosmosKey" | .KeyVaultOptions.KeyVaultUrl = $v' \
	"$cfg" >"$T/fromvault.json"
expect_exit 0 "the Cosmos DB key from the vault" cart-dedupe -c "$T/fromvault.json" status --json
is "$(jq -r .store "$T/stdout")" "$(cart-dedupe -c "$cfg" status --json | jq -r .store)" "opens the same store"
jq 'del(.KeyVaultOptions)' "$T/fromvault.json" >"$T/novault.json"
expect_exit 2 "a key secret without a vault" cart-dedupe -c "$T/novault.json" status
has "$T/stderr" "KeyVaultOptions.KeyVaultUrl: missing" "names the missing vault"
jq '.Cartwatch.StateStore.PrimaryKeySecretName = "NoSuchKey"' "$T/fromvault.json" >"$T/nokeysecret.json"
expect_exit 1 "a key secret the vault lacks" cart-dedupe -c "$T/nokeysecret.json" status
has "$T/stderr" "secret 'NoSuchKey' not found" "names the secret"

# Configuration and service errors.
jq '.AzureCosmosOptions.PrimaryKey = "not base64!"' "$cfg" >"$T/badkey.json"
expect_exit 2 "a key that is not base64" cart-dedupe -c "$T/badkey.json" status
has "$T/stderr" "AzureCosmosOptions.PrimaryKey: not base64" "names the key"
jq 'del(.AzureCosmosOptions.PrimaryKey)' "$cfg" >"$T/nokey.json"
expect_exit 2 "no key" cart-dedupe -c "$T/nokey.json" status
has "$T/stderr" "AzureCosmosOptions.PrimaryKey: missing" "names it"
jq '.AzureCosmosOptions.EndPointUri = "http://cosmos.example.com:8081"' "$cfg" >"$T/plain.json"
expect_exit 2 "plain http to a remote endpoint" cart-dedupe -c "$T/plain.json" status
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
jq --arg u "http://127.0.0.1:$port" '.AzureCosmosOptions.EndPointUri = $u' "$cfg" >"$T/down.json"
expect_exit 1 "Cosmos DB down" cart-dedupe -c "$T/down.json" status
has "$T/stderr" "Cosmos DB" "names the service"

done_testing
