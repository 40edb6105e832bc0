# matrix.sh: the fault matrix's engine, sourced by tests/0100-0102 after lib.sh.
# shellcheck shell=sh disable=SC2154
#
# Each row of tests/faults/matrix.rows (service, fault, expect, rule) runs
# pipeline.sh twice on the sandbox's unit 128 in a fixed window: once with the
# fault, then with the fault gone and the business clock past the claims'
# lease. Then, counted at the receiving end (tests/faults/tally.py):
#   - no notificationId reached its recipient twice (raw deliveries: Emarsys's
#     trigger_id does not excuse a repeat);
#   - every notification of a clean run arrived, or a result said "uncertain";
#   - the faulted run failed and named the stage and the service (expect fail);
#   - the clean run exits 0.

mx_from=2026-11-24T03:40:00Z
mx_to=2026-11-24T11:50:00Z
mx_now=2026-11-24T12:00:00Z
mx_later=2026-11-24T12:31:00Z    # past the 30-minute lease
mx_row=0

# The stage that meets a service first, and how its message names the service.
mx_stage() {
	case $1 in
	aad|keyvault|retail) echo cart-fetch ;;
	cosmos) echo cart-dedupe ;;
	*) echo cart-notify ;;
	esac
}
mx_names() {
	case $1 in
	aad) echo 'Entra ID|no token|AADSTS' ;;
	keyvault) echo 'Key Vault' ;;
	retail) echo 'Retail Server' ;;
	cosmos) echo 'Cosmos|state store' ;;
	emarsys) echo 'Emarsys' ;;
	sendgrid) echo 'SendGrid' ;;
	mandrill) echo 'Mandrill' ;;
	webhook) echo 'webhook' ;;
	smtp) echo 'SMTP|smtp' ;;
	esac
}

# matrix_setup [cosmos] [smtp|smtp-plain]: the sandbox; Cosmos DB behind
# tests/faultproxy.py (then every ledger is on it); the SMTP server, behind
# tests/smtpfault.py (smtp) or not (smtp-plain).
matrix_setup() {
	sandbox_start
	sandbox_env
	mkdir -p "$T/conf"
	sandbox_config "$T/base.json" '.Cartwatch.Http += {TimeoutMs: 1500, MaxRetryWaitMs: 2000}'
	mx_smtp_port=9
	for mx_with in "$@"; do
		case $mx_with in
		cosmos) cosmos_start; faultproxy_start "$COSMOS" cosmos ;;
		smtp) matrix_smtp_start ;;
		smtp-plain) smtp_server; mx_smtp_port=$SMTP_PORT ;;
		esac
	done
}

# matrix_provider PROVIDER: the provider of the rows that follow (short
# timeouts, few attempts, fast backoff), and its baseline (below).
matrix_provider() {
	matrix_provider_config "$1"
	matrix_baseline
}
matrix_provider_config() {
	mx_provider=$1
	jq --arg s "$SANDBOX" --arg p "$mx_provider" --argjson sp "$mx_smtp_port" '
	    .EmarsysClientOptions = {ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"),
		ExternalEventId: "4242", EmarsysContactKeyId: "3",
		ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
		ApiSecretKeyVaultSecretName: "EmarsysApiSecret"}
	    | .Cartwatch.Notify = {Provider: $p,
		SendGrid: {BaseUrl: ($s + "/sendgrid"), FromEmail: "carts@shop.example.com",
		    TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba"},
		Mandrill: {BaseUrl: ($s + "/mandrill"), TemplateName: "abandoned-cart",
		    FromEmail: "carts@shop.example.com"},
		Webhook: {Url: ($s + "/webhook/carts"), BatchSize: 7},
		Smtp: {Url: "smtp://127.0.0.1:\($sp)", From: "Contoso Shop <shop@contoso.example>",
		    MaxAttempts: 3, ConnectTimeoutMs: 1000, TimeoutMs: 1500, BackoffMs: 10,
		    MaxBackoffMs: 40}}' "$T/base.json" >"$T/conf/base.json"
}

# matrix_config DIR: a config of its own (a fresh ledger) in DIR, as $mx_cfg.
matrix_config() {
	mkdir -p "$1"
	if [ -n "${FAULTPROXY:-}" ]; then
		jq --arg u "$FAULTPROXY" --arg k "$COSMOS_KEY" --arg db "mx$mx_row" '
		    .Cartwatch.StateStore = {Kind: "cosmos"}
		    | .AzureCosmosOptions = {EndPointUri: $u, PrimaryKey: $k, DatabaseId: $db,
			ContainerId: "RunStatus"}' "$T/conf/base.json" >"$1/appsettings.json"
	else
		cp "$T/conf/base.json" "$1/appsettings.json"
	fi
	mx_cfg=$1/appsettings.json
}

# matrix_reset: nothing delivered, no rule, an empty log, an empty maildir.
matrix_reset() {
	sandbox_clear
	for p in emarsys sendgrid mandrill; do
		curl -sf -X DELETE "$SANDBOX/_sandbox/$p/delivered" >/dev/null
	done
	curl -sf -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
	[ -z "${FAULTPROXY:-}" ] || faultproxy_clear
	[ -z "${MAILDIR:-}" ] || rm -f "$MAILDIR"/*
	[ -z "${SMTP_FAULTS:-}" ] || smtpfault_clear
}

# matrix_pipeline NOW DIR: one pipeline.sh run in the fixed window.
matrix_pipeline() {
	CARTWATCH_NOW=$1 run "$top/pipeline.sh" -c "$mx_cfg" --from "$mx_from" --to "$mx_to" \
		--save "$2" </dev/null
	cp "$T/stderr" "$2.err"
}

mx_tally() { # DIR: tally.py on what the row's two runs delivered
	if [ -n "${FAULTPROXY:-}" ]; then
		mx_store=cosmos:$COSMOS/$(jq -r .AzureCosmosOptions.DatabaseId "$mx_cfg")/RunStatus
	else
		mx_store=sqlite:$(dirname "$mx_cfg")/state/cartwatch.db
	fi
	COSMOS_KEY=${COSMOS_KEY:-} python3 "$top/tests/storectl.py" "$mx_store" list >"$1/ledger.ndjson"
	python3 "$top/tests/faults/tally.py" --provider "$mx_provider" --expected "$T/expected.ndjson" \
		--sandbox "$SANDBOX" --maildir "${MAILDIR:-}" --ledger "$1/ledger.ndjson" \
		--results "$1/1/4-notify.ndjson" --results "$1/2/4-notify.ndjson"
}

# matrix_baseline: a clean run of the same data: the notifications to expect.
matrix_baseline() {
	mx_row=$((mx_row + 1))
	matrix_config "$T/rows/$mx_row"
	matrix_reset
	d=$T/rows/$mx_row
	matrix_pipeline "$mx_now" "$d/1"
	is "$rc" 0 "$mx_provider: the clean run exits 0"
	cp "$d/1/4-notify.ndjson" "$T/expected.ndjson"
	mkdir -p "$d/2" && : >"$d/2/4-notify.ndjson"
	mx_tally "$d" >"$d/tally.json"
	n=$(jq -r 'select(.status == "sent") | 1' "$T/expected.ndjson" | wc -l | tr -d ' ')
	if [ "$n" -gt 0 ] && [ "$(jq .delivered "$d/tally.json")" = "$n" ] &&
	    [ "$(jq -c .raw_duplicates "$d/tally.json")" = "{}" ]; then
		ok "$mx_provider: the clean run sends $n, each delivered once"
	else
		not_ok "$mx_provider: the clean run sends its $n notifications ($(cat "$d/tally.json"))"
	fi
}

# matrix_row SERVICE FAULT EXPECT RULE: one row, four checks.
matrix_row() {
	mx_row=$((mx_row + 1))
	d=$T/rows/$mx_row name="$1 × $2"
	matrix_config "$d"
	matrix_reset
	case $1 in
	cosmos) faultproxy_fault "$4" ;;
	smtp) smtpfault_fault "$4" ;;
	*) sandbox_fault "$4" ;;
	esac
	matrix_pipeline "$mx_now" "$d/1"
	rc1=$rc
	cp "$T/stderr" "$d/1.err"
	case $1 in
	cosmos) curl -sf "$FAULTPROXY/_sandbox/log" ;;
	smtp) smtpfault_log ;;
	*) curl -sf "$SANDBOX/_sandbox/log" ;;
	esac | jq -c 'select(.fault != null)' >"$d/faults.ndjson"
	if [ -s "$d/faults.ndjson" ]; then ok "$name: injected ($(wc -l <"$d/faults.ndjson" | tr -d ' ') times)"
	else not_ok "$name: the fault was never injected"; fi
	matrix_reset_faults "$1"
	matrix_pipeline "$mx_later" "$d/2"
	rc2=$rc
	cp "$T/stderr" "$d/2.err"
	mx_tally "$d" >"$d/tally.json"
	dups=$(jq -c '.raw_duplicates' "$d/tally.json")
	is "$dups" "{}" "$name: no notificationId delivered twice (raw; $(jq '.effective_duplicates | length' \
		"$d/tally.json") effective, after Emarsys's trigger_id)"
	lost=$(jq -c '.lost' "$d/tally.json")
	is "$lost" "[]" "$name: none lost (unless uncertain; $(jq .delivered "$d/tally.json")/$(jq .expected \
		"$d/tally.json") delivered, $(jq '.uncertain | length' "$d/tally.json") uncertain)"
	case $3 in
	fail) st=$(mx_stage "$1") ;;
	fail=*) st=${3#fail=} ;;
	*) st= ;;
	esac
	if [ -n "$st" ]; then
		if [ "$rc1" != 0 ] && grep -q "pipeline.sh: .*: $st exited" "$d/1.err" &&
		    grep -Eq "^${st%% *}: .*($(mx_names "$1"))" "$d/1.err"; then
			ok "$name: the faulted run fails, naming $st and the service"
		else
			cp "$d/1.err" "$T/stderr"
			: >"$T/stdout"
			not_ok "$name: the faulted run fails, naming $st and the service (exit $rc1)"
		fi
	fi
	if [ "$3" = ok ]; then
		cp "$d/1.err" "$T/stderr"
		: >"$T/stdout"
		is "$rc1" 0 "$name: the faulted run absorbs it and exits 0"
	fi
	cp "$d/2.err" "$T/stderr"
	: >"$T/stdout"
	is "$rc2" 0 "$name: the clean run after it exits 0"
}

matrix_reset_faults() {
	case $1 in
	cosmos) faultproxy_clear ;;
	smtp) smtpfault_clear ;;
	*) curl -sf -X DELETE "$SANDBOX/_sandbox/faults" >/dev/null ;;
	esac
}

# matrix_rows SERVICE...: every row of those services.
matrix_rows() {
	for svc in "$@"; do
		grep -v '^#' "$top/tests/faults/matrix.rows" | grep "^$svc	" >"$T/rows.$svc" || :
		[ -s "$T/rows.$svc" ] || { not_ok "no row for $svc in matrix.rows"; continue; }
		while IFS='	' read -r s f e r; do
			matrix_row "$s" "$f" "$e" "$r"
		done <"$T/rows.$svc"
	done
}

# matrix_smtp_start: the SMTP server (tests/smtpd.py) behind the fault front,
# tests/smtpfault.py (its own rule language: stage, action, code, ms, after,
# times); $mx_smtp_port is the front's.
matrix_smtp_start() {
	smtp_server
	smtp_fault_start
	mx_smtp_port=$SMTP_FRONT_PORT
}
smtpfault_fault() { smtp_fault "$1"; }
smtpfault_clear() {
	smtp_fault_clear
	: >"$T/smtpfault.log"
}
smtpfault_log() {
	jq -c 'select(.event == "fault") | . + {fault: .action}' "$T/smtpfault.log"
}
