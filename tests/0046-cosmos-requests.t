#!/bin/sh
# cart-dedupe on Cosmos DB asks for a group of records in a few requests,
# not one or more per record: a group's keys are read ahead in one query per
# partition, its writes sent as transactional batches of up to 100; and
# cart-notify reads its opt-out checks and "sending" marks ahead alike. Counted
# by tests/faultproxy.py in front of cosmosdb-server. The bounds are request
# counts, not times: 250 carts cost a handful of requests per run where
# per-record requests would cost 250 or more.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

cosmos_start
faultproxy_start "$COSMOS"
sandbox_start
export COSMOS_KEY CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
# The webhook signs with the sandbox's secret, kept in a file vault.
(umask 077 && jq '.keyvault.secrets | {WebhookSecret}' "$top/tests/sandbox/default.json" >"$T/vault.json")
cat >"$cfg" <<JSON
{
  "RetailServerClientOptions": { "OperatingUnitNumber": "128" },
  "KeyVaultOptions": { "KeyVaultUrl": "file:$T/vault.json" },
  "AzureCosmosOptions": {
    "EndPointUri": "$FAULTPROXY",
    "PrimaryKey": "$COSMOS_KEY",
    "DatabaseId": "AbandonedCartSampleDB",
    "ContainerId": "RunStatus"
  },
  "Cartwatch": {
    "StateStore": { "Kind": "cosmos" },
    "StopOnPurchase": false,
    "Notify": { "Provider": "webhook", "Webhook": { "Url": "$SANDBOX/webhook/carts" } }
  }
}
JSON
n=250
jq -cn --argjson n $n 'range($n) | {Id: "cart-\(.)", CustomerId: "C\(.)",
    ModifiedDateTime: "2026-11-24T10:00:00Z", CartTypeValue: 1,
    ReceiptEmail: "c\(.)@example.com", channelId: 68719478279,
    CartLines: [{LineId: "l1", ProductId: 1, Quantity: 1, Price: 9.5}]}' >"$T/carts.ndjson"

# requests KIND...: what the proxy forwarded since the last call, by kind,
# as "total kind=count ..."; the log starts afresh.
requests() {
	curl -sf "$FAULTPROXY/_sandbox/log" >"$T/log.ndjson"
	curl -sf -X DELETE "$FAULTPROXY/_sandbox/log" >/dev/null
	jq -rs '"\(length) " + (group_by(.kind) | map("\(.[0].kind)=\(length)") | join(" "))' \
		"$T/log.ndjson"
}
# within WHAT COUNT LIMIT
within() {
	if [ "$2" -le "$3" ]; then ok "$1: $2 requests (at most $3)"; else
		not_ok "$1: $2 requests, more than $3"; fi
}
requests >/dev/null

expect_exit 0 "claiming $n carts" cart-dedupe -c "$cfg" <"$T/carts.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" $n "passes every cart"
cp "$T/stdout" "$T/passed.ndjson"
got=$(requests); echo "# claim: $got"
within "claiming $n carts (a fresh store)" "${got%% *}" 25

expect_exit 0 "the same carts again, claims live" cart-dedupe -c "$cfg" <"$T/carts.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 0 "passes none"
got=$(requests); echo "# again: $got"
within "$n carts, nothing to claim" "${got%% *}" 12

# cart-notify: each record's opt-outs checked, its claim marked "sending".
jq -c '{notificationId, cartId: .Id, customerId: .CustomerId, step,
    modifiedDateTime: .ModifiedDateTime, email: .ReceiptEmail, channelId,
    orderDetails: []}' "$T/passed.ndjson" >"$T/notify.ndjson"
expect_exit 0 "cart-notify of $n notifications" cart-notify -c "$cfg" <"$T/notify.ndjson"
cp "$T/stdout" "$T/results.ndjson"
is "$(jq -r .status "$T/results.ndjson" | sort | uniq -c | tr -s ' ')" " $n sent" "sends them all"
got=$(requests); echo "# notify: $got"
# Opt-outs and entries read ahead about 100 records at a time; the marks
# still go a provider batch at a time (the webhook's: 8), one batch request
# each, so that no more are marked than are about to be handed over.
within "sending $n notifications (opt-outs, sending marks)" "${got%% *}" 50
is "$(cart-dedupe -c "$cfg" status --json | jq -c '.counts.sending')" $n \
	"every claim marked sending"
requests >/dev/null

expect_exit 0 "--commit of $n results" cart-dedupe -c "$cfg" --commit <"$T/results.ndjson"
got=$(requests); echo "# commit: $got"
within "recording $n results" "${got%% *}" 12
is "$(cart-dedupe -c "$cfg" status --json | jq -c '[.counts.sent, .counts.claimed]')" \
	"[$n,0]" "every result recorded"
requests >/dev/null

expect_exit 0 "the same carts once sent" cart-dedupe -c "$cfg" <"$T/carts.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 0 "passes none"
got=$(requests); echo "# sent: $got"
within "$n carts, all sent already (nothing to send)" "${got%% *}" 10

# A batch the store made whose answer was lost: the retry meets its own
# creates (409); one query finds that they hold exactly what it wrote, so
# they are done, not lost: every cart passes, once, for a few requests more.
jq -c '.Id |= "late-" + . | .CustomerId |= "L" + .' "$T/carts.ndjson" >"$T/late.ndjson"
faultproxy_fault '{"match":{"service":"cosmos-batch"},"action":"drop","after":"process","count":1}'
expect_exit 0 "a batch whose answer is lost" cart-dedupe -c "$cfg" <"$T/late.ndjson"
is "$(jq -r .Id "$T/stdout" | sort -u | wc -l | tr -d ' ') $(wc -l <"$T/stdout" | tr -d ' ')" \
	"$n $n" "passes every cart, each once"
got=$(requests); echo "# lost answer: $got"
is "$(jq -c 'select(.fault != null) | .kind' "$T/log.ndjson")" '"batch"' \
	"the fault met a batch"
within "250 carts, a batch's answer lost" "${got%% *}" 25
expect_exit 0 "the same carts again" cart-dedupe -c "$cfg" <"$T/late.ndjson"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 0 "passes none: their claims were made"

no_secrets_printed
done_testing
