#!/bin/sh
# Flow and fewer requests: cart-notify sends a partial batch when its input
# goes quiet (a trickle gets its results before the input ends), a stream read
# at full speed is not split by it, and previews are written without a sync
# per file.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
golden=$top/tests/golden/enrich.ndjson
sandbox_config "$T/base.json"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook",
	Webhook: {Url: ($s + "/webhook/carts"), BatchSize: 100}}' "$T/base.json" >"$T/webhook.json"
posts() { curl -sf "$SANDBOX/_sandbox/log?service=webhook" | grep -c '"POST"' || :; }

# lines FILE N: waits up to 10 s until FILE has N lines; 0 if it has.
lines() {
	_i=0
	while [ "$(wc -l <"$1" | tr -d ' ')" -lt "$2" ]; do
		_i=$((_i + 1))
		[ $_i -le 100 ] || return 1
		sleep 0.1
	done
}

# --- a trickle: each record's result comes before the next record is written
# (the writer waits for it, longer than the quiet time), the input still open.
head -n 3 "$golden" >"$T/three.ndjson"
mkfifo "$T/fifo"
cart-notify -c "$T/webhook.json" <"$T/fifo" >"$T/trickle.out" 2>"$T/trickle.err" &
notify_pid=$!
exec 3>"$T/fifo"
n=0
while IFS= read -r rec; do
	printf '%s\n' "$rec" >&3
	n=$((n + 1))
	if lines "$T/trickle.out" "$n"; then
		ok "trickle: result $n written while the input is still open"
	else
		not_ok "trickle: no result $n within 10 s of its record (input still open)"
		break
	fi
done <"$T/three.ndjson"
exec 3>&-
wait "$notify_pid"
is "$?" 0 "trickle: exit 0 at the end of input"
is "$(jq -r .status "$T/trickle.out" | sort -u)" sent "trickle: every record sent"
is "$(jq -r .notificationId "$T/trickle.out" | tr '\n' ' ')" \
	"$(jq -r .notificationId "$T/three.ndjson" | tr '\n' ' ')" "trickle: in input order"
is "$(posts)" 3 "trickle: one POST per quiet spell"
cat "$T/trickle.err" >>"$T/all.err"

# --- a stream read at full speed is one batch: never quiet between its lines.
sandbox_clear
expect_exit 0 "a file of 17 notifications" cart-notify -c "$T/webhook.json" <"$golden"
is "$(wc -l <"$T/stdout" | tr -d ' ')" 17 "17 results"
is "$(posts)" 1 "in one POST: the quiet time did not split it"

# --- previews: 0600 files in a 0700 directory, renamed into place, no sync.
expect_exit 0 "strace, to count syncs" strace -f -qq -e trace=fsync,fdatasync,syncfs,sync \
	-o "$T/strace" "$CW_BUILD/cart-notify" -c "$T/base.json" --preview-dir "$T/preview" \
	<"$T/three.ndjson"
is "$(jq -r '[.status, (.providerMessageId | type)] | join(" ")' "$T/stdout" | sort -u)" "skipped string" \
	"three previews (skipped: sent nowhere), each naming its file"
is "$(find "$T/preview" -type f | wc -l | tr -d ' ')" 9 "their 9 files, no temporary one left"
is "$(stat -c %a "$T/preview"/* | sort -u)" 600 "each 0600"
is "$(stat -c %a "$T/preview")" 700 "in a 0700 directory"
is "$(grep -c 'sync' "$T/strace" || :)" 0 "no fsync: a preview is not owed to anyone"

no_secrets_printed
done_testing
