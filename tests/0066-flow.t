#!/bin/sh
# Flow and fewer requests: cart-notify and cart-enrich move a partial batch
# on when their input goes quiet (a trickle gets its results before the input
# ends), a stream read at full speed is not split by it; cart-enrich asks for
# each customer and product once a run, across its batches of carts; previews
# are written without a sync per file.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
golden=$top/tests/golden/enrich.ndjson
sandbox_config "$T/base.json"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook",
	Webhook: {Url: ($s + "/webhook/carts"), BatchSize: 100}}' "$T/base.json" >"$T/webhook.json"
posts() { curl -sf "$SANDBOX/_sandbox/log?service=webhook" | grep -c '"POST"' || :; }

export CARTWATCH_NOW=2026-11-24T12:00:00Z
retail() { curl -sf "$SANDBOX/_sandbox/log?service=retail"; }
asked() {
	retail | jq -c "select(.path | endswith(\"$1\")) | .json$2"
}

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

# --- cart-enrich: each customer and product asked for once a run, across
# batches of carts; the window's carts twice over, so that every customer and
# product comes again in a later batch.
sandbox_config "$T/guests.json" '.Cartwatch.IncludeGuestCarts = true | .Cartwatch.OneCartPerCustomer = false'
cart-fetch -c "$T/guests.json" >"$T/carts.ndjson"
cat "$T/carts.ndjson" "$T/carts.ndjson" >"$T/twice.ndjson"
jq -r '.CustomerId // empty' "$T/carts.ndjson" | grep . | sort -u >"$T/accounts"
jq '.CartLines[].ProductId | numbers' "$T/carts.ndjson" | sort -u >"$T/products"
for size in 2 1000; do
	sandbox_clear
	expect_exit 0 "enrich in batches of $size carts" cart-enrich -c "$T/base.json" \
		--batch-size "$size" <"$T/twice.ndjson"
	asked Customers/GetByAccountNumbers .accountNumbers >"$T/c.asked"
	asked Products/Search .productSearchCriteria.Ids >"$T/p.asked"
	jq -r '.[]' "$T/c.asked" | sort >"$T/c.ids"
	jq '.[]' "$T/p.asked" | sort >"$T/p.ids"
	same "$T/c.ids" "$T/accounts" "batches of $size: every customer asked for exactly once"
	same "$T/p.ids" "$T/products" "batches of $size: every product asked for exactly once"
	echo "# batches of $size: $(wc -l <"$T/twice.ndjson" | tr -d ' ') carts," \
		"$(wc -l <"$T/accounts" | tr -d ' ') customers in $(wc -l <"$T/c.asked" | tr -d ' ') requests," \
		"$(wc -l <"$T/products" | tr -d ' ') products in $(wc -l <"$T/p.asked" | tr -d ' ') requests"
done
is "$(wc -l <"$T/c.asked" | tr -d ' ')" 1 "batches of 1000: one Customers/GetByAccountNumbers"
is "$(wc -l <"$T/p.asked" | tr -d ' ')" 1 "batches of 1000: one Products/Search"
is "$(retail | jq -r '.query["$top"] // empty' | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "$(wc -l <"$T/accounts")" "$(wc -l <"$T/products")" | sort -n | tr -d ' ' | tr '\n' ' ')" \
	"each asks \$top as many as it names"

# --- cart-enrich, a trickle: each notification before the next cart is written.
jq -r .cartId "$golden" | head -n 3 >"$T/three.ids"
jq -c --rawfile ids "$T/three.ids" 'select(.Id as $i | $ids | split("\n") | index($i))' \
	"$T/carts.ndjson" >"$T/three.carts"
rm -f "$T/fifo"
mkfifo "$T/fifo"
cart-enrich -c "$T/base.json" <"$T/fifo" >"$T/etrickle.out" 2>"$T/etrickle.err" &
enrich_pid=$!
exec 3>"$T/fifo"
n=0
while IFS= read -r rec; do
	printf '%s\n' "$rec" >&3
	n=$((n + 1))
	if lines "$T/etrickle.out" "$n"; then
		ok "enrich trickle: notification $n written while the input is still open"
	else
		not_ok "enrich trickle: no notification $n within 10 s of its cart (input still open)"
		break
	fi
done <"$T/three.carts"
exec 3>&-
wait "$enrich_pid"
is "$?" 0 "enrich trickle: exit 0 at the end of input"
is "$(jq -r .cartId "$T/etrickle.out" | tr '\n' ' ')" "$(tr '\n' ' ' <"$T/three.ids")" \
	"enrich trickle: the three carts' notifications, in order"
cat "$T/etrickle.err" >>"$T/all.err"

# --- previews: 0600 files in a 0700 directory, renamed into place, no sync.
# (LeakSanitizer cannot run under ptrace: the leak check is other tests' job.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	expect_exit 0 "strace, to count syncs" strace -f -qq -e trace=fsync,fdatasync,syncfs,sync \
	-o "$T/strace" "$CW_BUILD/cart-notify" -c "$T/base.json" --preview-dir "$T/preview" \
	<"$T/three.ndjson"
is "$(jq -r '[.status, (.providerMessageId | type)] | join(" ")' "$T/stdout" | sort -u)" "skipped string" \
	"three previews (skipped: sent nowhere), each naming its file"
is "$(find "$T/preview" -type f | wc -l | tr -d ' ')" 10 "their 9 files and the index, no temporary one left"
is "$(stat -c %a "$T/preview"/* | sort -u)" 600 "each 0600"
is "$(stat -c %a "$T/preview")" 700 "in a 0700 directory"
is "$(grep -c 'sync' "$T/strace" || :)" 0 "no fsync: a preview is not owed to anyone"

no_secrets_printed
done_testing
