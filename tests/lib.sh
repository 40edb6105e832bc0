# lib.sh: sourced by every test. TAP on stdout, a private temp dir removed on
# shellcheck shell=sh disable=SC2034
# exit, the sandbox on 127.0.0.1, and a check that nothing printed a secret.
set -eu
export LC_ALL=C
unset CARTWATCH_CONFIG CARTWATCH_NOW AZURE_TENANT_ID AZURE_CLIENT_ID \
	AZURE_CLIENT_SECRET AZURE_FEDERATED_TOKEN_FILE IDENTITY_ENDPOINT \
	IDENTITY_HEADER AZURE_AUTHORITY_HOST MSI_ENDPOINT MSI_SECRET IMDS_ENDPOINT
top=$(cd "$(dirname "$0")/.." && pwd)
: "${CW_BUILD:=$top/build}"
PATH=$CW_BUILD:$PATH
T=$(mktemp -d "${TMPDIR:-/tmp}/cw-test.XXXXXX")
# Nothing a test runs may ever reach the real IMDS address: point the Azure
# SDKs' override for it at a loopback port that nobody listens on.
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9
tests_run=0
tests_failed=0
sandbox_pid=

cleanup() {
	[ -z "${smtp_pid:-}" ] || kill "$smtp_pid" 2>/dev/null || :
	[ -z "$sandbox_pid" ] || kill "$sandbox_pid" 2>/dev/null || :
	[ -z "$sandbox_pid" ] || wait "$sandbox_pid" 2>/dev/null || :
	[ -z "${cosmos_pid:-}" ] || kill "$cosmos_pid" 2>/dev/null || :
	[ -z "${cosmos_pid:-}" ] || wait "$cosmos_pid" 2>/dev/null || :
	# CW_KEEP=1 keeps the temporary directory, to look at after a failure.
	if [ "${CW_KEEP:-}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT

ok() {
	tests_run=$((tests_run + 1))
	echo "ok $tests_run - $*"
}

not_ok() {
	tests_run=$((tests_run + 1))
	tests_failed=$((tests_failed + 1))
	echo "not ok $tests_run - $*"
	# The sandbox's secrets, to keep them out of what a failure shows.
	[ -f "$T/secrets.list" ] || python3 "$top/tests/sandbox/sandbox.py" --list-secrets \
		--data "$top/tests/sandbox/default.json" >"$T/secrets.list" 2>/dev/null || :
	# Diagnostics go to stderr, as TAP's diag does: prove shows them even
	# when it is not verbose, so a CI log says why a check failed.
	for f in "$T/stdout" "$T/stderr"; do
		[ -s "$f" ] || continue
		echo "# $*: ${f##*/}:"
		# awk ends every line, so TAP's next line is never glued on.
		tail -n 15 "$f" | awk -v list="$T/secrets.list" '
		    BEGIN { while ((getline s < list) > 0) if (s != "") secret[s] = 1 }
		    { for (s in secret) if (index($0, s)) { $0 = "(a line holding a secret, not shown)"; break }
		      print "#   " $0 }'
	done >&2
}

# run CMD...: runs a command, keeping its stdout in $T/stdout, its stderr in
# $T/stderr (also appended to $T/all.err for the secret check) and its exit
# status in $rc. Never fails itself.
run() {
	set +e
	"$@" >"$T/stdout" 2>"$T/stderr"
	rc=$?
	set -e
	cat "$T/stderr" >>"$T/all.err"
}

# expect_exit N DESC CMD...: CMD exits with status N.
expect_exit() {
	_want=$1 _desc=$2
	shift 2
	run "$@"
	if [ "$rc" = "$_want" ]; then ok "$_desc"; else not_ok "$_desc (exit $rc, want $_want)"; fi
}

# expect_fail DESC CMD...: CMD exits with any status but 0.
expect_fail() {
	_desc=$1
	shift
	run "$@"
	if [ "$rc" != 0 ]; then ok "$_desc"; else not_ok "$_desc (exit 0)"; fi
}

# is GOT WANT DESC: two strings are equal.
is() {
	if [ "$1" = "$2" ]; then ok "$3"; else
		not_ok "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2" >&2
	fi
}

# same FILE1 FILE2 DESC: two files are byte for byte the same. Their contents
# are never shown: they may be secrets.
same() {
	if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3 (${1##*/} and ${2##*/} differ)"; fi
}

# count FILE PATTERN: how many lines of FILE match PATTERN (grep -E).
count() {
	grep -Ec -- "$2" "$1" || :
}

# has FILE PATTERN DESC / lacks FILE PATTERN DESC: grep -E for PATTERN.
has() {
	if grep -Eq -- "$2" "$1"; then ok "$3"; else not_ok "$3 (no /$2/ in ${1##*/})"; fi
}
lacks() {
	if grep -Eq -- "$2" "$1"; then not_ok "$3 (/$2/ found in ${1##*/})"; else ok "$3"; fi
}

# wait_port FILE PID WHAT ERRFILE: waits until the server PID has written its
# port to FILE; bails out, showing ERRFILE, if it dies or takes over 10 s.
wait_port() {
	_i=0
	while [ ! -s "$1" ]; do
		_i=$((_i + 1))
		if [ $_i -gt 200 ] || ! kill -0 "$2" 2>/dev/null; then
			echo "Bail out! $3"
			cat "$4" >&2
			exit 1
		fi
		sleep 0.05
	done
}

# closed_port: a loopback port bound but not listening, in CLOSED: refused,
# and no other test can take it. closed_port_stop lets it go.
closed_port() {
	rm -f "$T/closed.port"
	python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$T/closed.port" &
	closed_pid=$!
	i=0
	until [ -s "$T/closed.port" ] || [ $((i += 1)) -gt 200 ]; do sleep 0.05; done
	CLOSED=$(cat "$T/closed.port")
}
closed_port_stop() {
	kill "$closed_pid"
	wait "$closed_pid" 2>/dev/null || :
}

# sandbox_start [DATA]: starts the sandbox on a free loopback port with DATA
# (default tests/sandbox/default.json) and sets SANDBOX to its base URL.
# shellcheck disable=SC2120 # its arguments are optional
sandbox_start() {
	python3 "$top/tests/sandbox/sandbox.py" --data "${1:-$top/tests/sandbox/default.json}" \
		--port-file "$T/sandbox.port" --log "$T/sandbox.log" \
		2>>"$T/sandbox.err" &
	sandbox_pid=$!
	wait_port "$T/sandbox.port" "$sandbox_pid" "sandbox did not start" "$T/sandbox.err"
	SANDBOX=http://127.0.0.1:$(cat "$T/sandbox.port")
}

# add_fault BASE WHO JSON: posts a fault rule to BASE/_sandbox/faults, or
# bails out saying WHO refused it.
add_fault() {
	code=$(curl -s -o "$T/fault.reply" -w '%{http_code}' -X POST --data "$3" \
	    "$1/_sandbox/faults") || :
	case $code in
	2??) ;;
	*)	echo "Bail out! $2 refused a fault rule ($code): $(cat "$T/fault.reply")"
		exit 1 ;;
	esac
}

# sandbox_fault JSON: adds a fault rule (see tests/sandbox/README.md).
sandbox_fault() { add_fault "$SANDBOX" "the sandbox" "$1"; }

# sandbox_clear: drops the fault rules and starts a new request log (the old
# one is kept for the secret check).
sandbox_clear() {
	curl -sf -X DELETE "$SANDBOX/_sandbox/faults" >/dev/null
	cat "$T/sandbox.log" >>"$T/sandbox.old.log" 2>/dev/null || :
	curl -sf -X DELETE "$SANDBOX/_sandbox/log" >/dev/null
}

# The secret check: no value from the sandbox's data set that is marked secret
# may appear in anything a tool wrote to stderr, nor in the sandbox's log.
no_secrets_printed() {
	secrets=$T/secrets.txt
	python3 "$top/tests/sandbox/sandbox.py" --list-secrets \
		--data "${1:-$top/tests/sandbox/default.json}" >"$secrets"
	leaked=
	for f in "$T/all.err" "$T/sandbox.log" "$T/sandbox.old.log" "$T/sandbox.err"; do
		[ -f "$f" ] || continue
		if grep -Fqf "$secrets" "$f"; then leaked="$leaked ${f##*/}"; fi
	done
	if [ -z "$leaked" ]; then ok "no secret in anything printed"; else
		not_ok "a secret was printed in:$leaked"; fi
}

done_testing() {
	echo "1..$tests_run"
	[ "$tests_failed" -eq 0 ]
}

# sandbox_env: the environment a tool needs to reach the sandbox as the Key
# Vault reader (the environment credential), and nothing else.
sandbox_env() {
	tenant=7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b
	AZURE_AUTHORITY_HOST=$SANDBOX/aad AZURE_TENANT_ID=$tenant
	AZURE_CLIENT_ID=a1000000-0000-4000-8000-000000000001
	AZURE_CLIENT_SECRET=$(jq -r ".tenants[\"$tenant\"].clients[\"$AZURE_CLIENT_ID\"].secret" \
		"$top/tests/sandbox/default.json")
	export AZURE_AUTHORITY_HOST AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET
}

# sandbox_config FILE [JQ]: writes the .NET sample's appsettings.json pointed at
# the sandbox (operating unit 128), with fast retries; JQ, if given, edits it.
sandbox_config() {
	cat >"$1.in" <<JSON
{
  "KeyVaultOptions": { "KeyVaultUrl": "$SANDBOX/kv" },
  "RetailServerClientOptions": {
    "TenantId": "7c1e5a3b-0c2d-4e8f-9a6b-1d3f5e7a9c0b",
    "RetailServerAudienceId": "https://commerce.dynamics.com",
    "AppIdKeyVaultSecretName": "RetailServerAppId",
    "AppSecretKeyVaultSecretName": "RetailServerAppSecret",
    "RetailServerUri": "$SANDBOX/Commerce",
    "OperatingUnitNumber": 128,
    "IncludeAbandonedCartsModifiedSinceLastMinutes": 500,
    "ExcludeAbandonedCartsModifiedSinceLastMinutes": 10,
    "ReturnToCartUrl": "https://shop.example.com/cart"
  },
  "MediaOptions": {
    "ImageServerUrl": "https://images.example.com/cms/imageFileData/search?fileName=",
    "ImageViewPorts": [
      { "viewport": "(max-width:768px)", "imageWidth": 80, "imageHeight": 80, "useForDefaultImageTag": false },
      { "viewport": "(min-width:769px) and (max-width:1599px)", "imageWidth": 183, "imageHeight": 183, "useForDefaultImageTag": false },
      { "viewport": "(min-width:1600px)", "imageWidth": 315, "imageHeight": 315, "useForDefaultImageTag": true }
    ]
  },
  "Cartwatch": {
    "Http": { "MaxAttempts": 3, "BackoffMs": 10, "MaxBackoffMs": 40,
              "ConnectTimeoutMs": 1000, "TimeoutMs": 2000 }
  }
}
JSON
	jq "${2:-.}" "$1.in" >"$1"
	rm -f "$1.in"
}

# chromium_run SECONDS ARGS...: headless Chromium ($chromium, which the test
# checks exists) for at most SECONDS, with a profile of its own in $T and no
# network: every host name resolves to nothing, and nothing of its own
# (updates, sync, QUIC) is fetched.
chromium_run() {
	_secs=$1
	shift
	mkdir -p "$T/home"
	HOME=$T/home timeout "$_secs" "${chromium:-/usr/bin/chromium}" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-extensions \
		--host-resolver-rules='MAP * ~NOTFOUND' --user-data-dir="$T/chrome" "$@"
}

# pipeline_setup: what the end-to-end pipeline tests share: the sandbox and its
# environment, an SMTP server, the business clock at 2026-11-24T12:00:00Z, and
# $cfg, the sandbox's config sending by SMTP, in a directory of its own.
# Both servers take optional arguments, which these tests do not need.
# shellcheck disable=SC2119
pipeline_setup() {
	sandbox_start
	sandbox_env
	smtp_server
	export CARTWATCH_NOW=2026-11-24T12:00:00Z
	mkdir "$T/conf"
	cfg=$T/conf/appsettings.json
	sandbox_config "$T/base.json"
	jq --argjson p "$SMTP_PORT" '.Cartwatch.Notify = {Provider: "smtp", Smtp: {
		Url: "smtp://127.0.0.1:\($p)", From: "Contoso Shop <shop@contoso.example>",
		MaxAttempts: 2, BackoffMs: 10, MaxBackoffMs: 20}}' "$T/base.json" >"$cfg"
}

# cosmos_start: starts cosmosdb-server (a third-party server speaking Cosmos
# DB's REST API, doc/DESIGN.md section 5) on a free loopback port, and sets COSMOS
# to its URL and COSMOS_KEY to the emulator's well-known key (the server checks
# no signature; the unit test checks ours). The server picks its own port (0)
# and says which: no window in which another process can take it.
cosmos_start() {
	node "$top/node_modules/@vercel/cosmosdb-server/lib/cli.js" --no-ssl \
		--host 127.0.0.1 --port 0 >"$T/cosmos.log" 2>&1 &
	cosmos_pid=$!
	i=0
	until _port=$(sed -n 's/^Ready to accept HTTP connections at 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
	    "$T/cosmos.log") && [ -n "$_port" ] &&
	    curl -sf -o /dev/null "http://127.0.0.1:$_port/"; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$cosmos_pid" 2>/dev/null; then
			echo "Bail out! cosmosdb-server did not start"
			cat "$T/cosmos.log" >&2
			exit 1
		fi
		sleep 0.05
	done
	COSMOS=http://127.0.0.1:$_port
	COSMOS_KEY='C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=='
}

# smtp_server [ARGS]: a real SMTP server (aiosmtpd, tests/smtpd.py, under
# Debian's python3, which has the module) on a loopback port it picks itself;
# sets SMTP_PORT and MAILDIR (one .eml and one .json per accepted message).
# shellcheck disable=SC2120 # its arguments are optional
smtp_server() {
	MAILDIR=$T/maildir
	/usr/bin/python3 "$top/tests/smtpd.py" --dir "$MAILDIR" --port-file "$T/smtp.port" "$@" \
		2>>"$T/smtp.err" &
	smtp_pid=$!
	wait_port "$T/smtp.port" "$smtp_pid" "the SMTP server did not start" "$T/smtp.err"
	SMTP_PORT=$(cat "$T/smtp.port")
}

smtp_server_stop() {
	kill "$smtp_pid" 2>/dev/null || :
	wait "$smtp_pid" 2>/dev/null || :
	smtp_pid=
	rm -f "$T/smtp.port"
}

# smtp_fault_start: the fault-injecting SMTP front (tests/smtpfault.py) before
# the server smtp_server started; sets SMTP_FRONT_PORT. Its log, one JSON line
# per connection, fault and message, is $T/smtpfault.log. smtp_fault RULE adds
# a fault rule (JSON, see tests/smtpfault.py), smtp_fault_clear drops them all,
# smtp_fault_stop stops the front (done on exit too).
smtp_fault_start() {
	SMTP_FAULTS=$T/smtp.faults
	echo '[]' >"$SMTP_FAULTS"
	rm -f "$T/smtpfault.port"
	python3 "$top/tests/smtpfault.py" --upstream "$SMTP_PORT" --faults "$SMTP_FAULTS" \
		--port-file "$T/smtpfault.port" --log "$T/smtpfault.log" 2>>"$T/smtpfault.err" &
	smtp_fault_pid=$!
	wait_port "$T/smtpfault.port" "$smtp_fault_pid" "the SMTP fault front did not start" "$T/smtpfault.err"
	SMTP_FRONT_PORT=$(cat "$T/smtpfault.port")
}

# Rules are replaced by rename: the front never reads half a file.
smtp_fault() {
	jq -c --argjson r "$1" '. + [$r]' "$SMTP_FAULTS" >"$SMTP_FAULTS.tmp"
	mv "$SMTP_FAULTS.tmp" "$SMTP_FAULTS"
}
smtp_fault_clear() {
	echo '[]' >"$SMTP_FAULTS.tmp"
	mv "$SMTP_FAULTS.tmp" "$SMTP_FAULTS"
}
smtp_fault_stop() {
	[ -z "${smtp_fault_pid:-}" ] || kill "$smtp_fault_pid" 2>/dev/null || :
	[ -z "${smtp_fault_pid:-}" ] || wait "$smtp_fault_pid" 2>/dev/null || :
	smtp_fault_pid=
}

# faultproxy_start UPSTREAM [SERVICE]: tests/faultproxy.py in front of a real
# server on loopback (the sandbox's fault rules, for cosmosdb-server); sets
# FAULTPROXY to its base URL. Stopped when the test ends.
faultproxy_start() {
	python3 "$top/tests/faultproxy.py" --upstream "$1" --service "${2:-cosmos}" \
		--port-file "$T/faultproxy.port" --log "$T/faultproxy.log" 2>>"$T/faultproxy.err" &
	faultproxy_pid=$!
	wait_port "$T/faultproxy.port" "$faultproxy_pid" "faultproxy did not start" "$T/faultproxy.err"
	FAULTPROXY=http://127.0.0.1:$(cat "$T/faultproxy.port")
}

# faultproxy_fault JSON / faultproxy_clear: as sandbox_fault and sandbox_clear.
faultproxy_fault() { add_fault "$FAULTPROXY" faultproxy "$1"; }
faultproxy_clear() {
	curl -sf -X DELETE "$FAULTPROXY/_sandbox/faults" >/dev/null
	curl -sf -X DELETE "$FAULTPROXY/_sandbox/log" >/dev/null
}

# The helpers above start servers of their own: stop them too.
faultproxy_pid=''
stop_helpers() {
	for _p in $faultproxy_pid; do
		kill "$_p" 2>/dev/null || :
		wait "$_p" 2>/dev/null || :
	done
}
trap 'smtp_fault_stop; stop_helpers; cleanup' EXIT
