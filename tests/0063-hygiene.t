#!/bin/sh
# Hygiene (issue 9): record data cannot forge or garble a diagnostic (finding
# 7); keys that differ only in case make a bad line (finding 8); previews,
# which hold names, addresses and carts, are 0600 in 0700 directories (11);
# a stdout that cannot be written fails the tool.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z CARTWATCH_TEMPLATES=$top/templates
cfg=$T/appsettings.json
sandbox_config "$cfg" '.Cartwatch.StateStore = {Kind: "sqlite", Path: "state/test.db", MaxAttempts: 1}'
esc=$(printf '\033')

# clean FILE LINES WHAT: FILE has LINES lines, every one the tool's own, and not
# one byte a terminal would act on: no control character but the line ends, no
# DEL, no C1 (C locale: every byte past 0x7f counts, and none is expected here).
clean() {
	is "$(wc -l <"$1" | tr -d ' ')" "$2" "$3: $2 lines on stderr"
	is "$(tr -d '\n' <"$1" | tr -d '[:print:]' | wc -c | tr -d ' ')" 0 "$3: no control byte"
	is "$(grep -c "$esc" "$1" || :)" 0 "$3: no ESC"
	lacks "$1" '^cart-[a-z]+: forged' "$3: no forged line"
	is "$(grep -vc "^$4: " "$1" || :)" 0 "$3: every line is $4's"
}

# A newline to forge a line; ESC, C1 CSI (U+009B) and a bidi override to drive
# or reorder the terminal.
cart() {
	jq -cn --arg id "$1" --arg cust "${2:-C1}" --arg t "${3:-2026-11-24T10:00:00Z}" '
	    {Id: $id, CustomerId: $cust, ModifiedDateTime: $t, CartTypeValue: 1,
	     ReceiptEmail: "c@example.com", channelId: 68719478279, currency: "USD",
	     CartLines: [{LineId: "l1", ProductId: 68719478279, Quantity: 1, Price: 9.5}]}'
}
forged1='x
cart-dedupe: forged'
forged2="${esc}[2J$(printf '\302\233')31m$(printf '\342\200\256')evil"
{
	cart "$forged1" C1 nope          # a bad time: named in a warning
	cart "$forged2" C1 nope
	cart "y
cart-dedupe: forged" 'C1
cart-enrich: forged'
	cart "$forged2-ok" "${esc}]0;title"
} >"$T/carts.ndjson"

expect_exit 1 "cart-dedupe: two bad carts" cart-dedupe -c "$cfg" <"$T/carts.ndjson"
clean "$T/stderr" 2 "cart-dedupe" cart-dedupe
has "$T/stderr" '^cart-dedupe: <stdin>:1: cart x\\ncart-dedupe: forged: ModifiedDateTime' \
	"cart-dedupe: the newline shows escaped"
has "$T/stderr" '^cart-dedupe: <stdin>:2: cart \\x1b\[2J\\u009b31m\\u202eevil: ' \
	"cart-dedupe: ESC, C1 and the bidi override escaped too"
cp "$T/stdout" "$T/passed.ndjson"
is "$(wc -l <"$T/passed.ndjson" | tr -d ' ')" 2 "cart-dedupe: the two good carts pass"

expect_exit 1 "cart-enrich: two bad carts, two unknown customers" cart-enrich -c "$cfg" <"$T/carts.ndjson"
clean "$T/stderr" 4 "cart-enrich" cart-enrich
has "$T/stderr" '^cart-enrich: <stdin>:3: cart y\\ncart-dedupe: forged: customer C1\\ncart-enrich: forged not found' \
	"cart-enrich: the cart and the customer, escaped"

# Results that failed for good (MaxAttempts 1): --commit names the cart, and
# the provider's error, which is data from outside too.
jq -c --arg e "HTTP 500${esc}[2J
cart-dedupe: forged" '{notificationId, cartId: .Id, customerId: .CustomerId,
    modifiedDateTime: .ModifiedDateTime, step, email: .ReceiptEmail, status: "failed",
    provider: "test", error: $e}' "$T/passed.ndjson" >"$T/results.ndjson"
jq -cn --arg id "$forged1" '{notificationId: $id, status: "sent", modifiedDateTime: "nope"}' \
	>>"$T/results.ndjson"
expect_exit 1 "cart-dedupe --commit: two given up, one bad result" \
	cart-dedupe -c "$cfg" --commit <"$T/results.ndjson"
clean "$T/stderr" 3 "cart-dedupe --commit" cart-dedupe
has "$T/stderr" '^cart-dedupe: <stdin>:1: giving up on notification [0-9a-f]{40} \(cart y\\ncart-dedupe: forged\): .*last error: HTTP 500\\x1b\[2J\\ncart-dedupe: forged$' \
	"cart-dedupe --commit: the cart and the error, escaped"

{
	jq -cn --arg id "$forged1" '{notificationId: $id, email: "c@example.com"}'
	jq -cn --arg e "${esc}[2J@example.com" '{notificationId: "n2", cartId: "c2", email: $e}'
} >"$T/notes.ndjson"
expect_exit 0 "cart-notify: two bad notifications" \
	cart-notify -c "$cfg" --provider preview --preview-dir "$T/preview" <"$T/notes.ndjson"
clean "$T/stderr" 2 "cart-notify" cart-notify
is "$(jq -r .status "$T/stdout" | sort -u)" failed "cart-notify: both failed"

# --- Keys that differ only in case: every stage looks keys up ignoring case,
# so {"email": A, "EMAIL": B} could be A to one reader and B to another.
twin='differ only in case'
{
	cart good-1
	cart twin-1 | jq -c '.RECEIPTEMAIL = "other@example.com"'
	cart twin-2 | jq -c '.CartLines[0].productid = 1'
	cart good-2 C2
} >"$T/twin-carts.ndjson"
expect_exit 1 "cart-dedupe: two carts with twin keys" cart-dedupe -c "$cfg" <"$T/twin-carts.ndjson"
is "$(jq -r .Id "$T/stdout" | tr '\n' ' ')" "good-1 good-2 " "cart-dedupe: the rest of the stream flows"
has "$T/stderr" "^cart-dedupe: <stdin>:2: keys \"ReceiptEmail\" and \"RECEIPTEMAIL\" $twin\$" \
	"cart-dedupe: names the two keys and the line"
has "$T/stderr" "^cart-dedupe: <stdin>:3: keys \"ProductId\" and \"productid\" $twin \\(in CartLines\\[0\\]\\)\$" \
	"cart-dedupe: nested objects too"
is "$(wc -l <"$T/stderr" | tr -d ' ')" 2 "cart-dedupe: nothing else is said"
expect_exit 1 "cart-enrich: the same" cart-enrich -c "$cfg" <"$T/twin-carts.ndjson"
is "$(count "$T/stderr" "$twin")" 2 "cart-enrich: two bad lines"

one=$(jq -c 'select(.cartId == "repeat-late")' "$top/tests/golden/enrich.ndjson")
{
	echo "$one" | jq -c '.notificationId = "n-1" | .EMAIL = "mallory@example.com"'
	echo "$one" | jq -c '.notificationId = "n-2"'
	echo "$one" | jq -c '.notificationId = "n-3" | .NotificationId = "n-4"'
	echo "$one" | jq -c '.notificationId = "n-5" | .orderDetails[1].ProductName = "Free"'
} >"$T/twin-notes.ndjson"
jq --arg s "$SANDBOX" '.Cartwatch.Notify = {Provider: "webhook", Webhook: {Url: ($s + "/webhook/carts")}}' \
	"$cfg" >"$T/wh.json"
sandbox_clear
expect_exit 1 "cart-notify: three notifications with twin keys" cart-notify -c "$T/wh.json" <"$T/twin-notes.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/log?service=webhook" | jq -r '.json | .. | .notificationId? // empty' | tr '\n' ' ')" \
	"n-2 " "cart-notify: only the good one is sent"
is "$(jq -r '"\(.notificationId) \(.status)"' "$T/stdout" | tr '\n' ' ')" "null failed n-2 sent null failed null failed " \
	"cart-notify: one result per line, the bad ones failed"
is "$(jq -r 'select(.status == "failed") | .error' "$T/stdout" | grep -c "^<stdin>:[0-9]: keys .* $twin")" 3 \
	"cart-notify: each says why"
has "$T/stderr" "^cart-notify: <stdin>:4: keys \"productName\" and \"ProductName\" $twin \\(in orderDetails\\[1\\]\\)\$" \
	"cart-notify: in a nested object too"

sed -n 1,2p "$T/passed.ndjson" | jq -c '{notificationId, cartId: .Id, modifiedDateTime: .ModifiedDateTime,
    step, status: "sent", Status: "failed", provider: "test"}' >"$T/twin-results.ndjson"
expect_exit 1 "--commit: a result with twin keys" cart-dedupe -c "$cfg" --commit <"$T/twin-results.ndjson"
is "$(count "$T/stderr" "keys \"status\" and \"Status\" $twin")" 2 "--commit: a bad line each"

# --- Previews are private, whatever the umask.
umask 022
echo "$one" >"$T/one.ndjson"
id=$(jq -r .notificationId "$T/one.ndjson")
expect_exit 0 "a preview in a directory that is not there yet" \
	cart-notify -c "$cfg" --preview-dir "$T/pv/a/b" <"$T/one.ndjson"
is "$(stat -c %a "$T/pv" "$T/pv/a" "$T/pv/a/b" | tr '\n' ' ')" "700 700 700 " \
	"every directory it makes is 0700"
is "$(cd "$T/pv/a/b" && stat -c '%n %a' ./* | tr '\n' ' ')" \
	"./$id.eml 600 ./$id.html 600 ./$id.txt 600 ./index.html 600 " "every file is 0600"

# One an older cartwatch made (0755, files 0644) is made private; a link
# where a file goes is replaced, not written through.
mkdir -m 755 "$T/old"
echo old >"$T/old/$id.txt"
chmod 644 "$T/old/$id.txt"
ln -s "$T/victim" "$T/old/$id.html"
expect_exit 0 "a preview in a directory others can read" \
	cart-notify -c "$cfg" --preview-dir "$T/old" <"$T/one.ndjson"
is "$(stat -c %a "$T/old")" 700 "the directory is made 0700"
is "$(stat -c %a "$T/old"/* | sort -u)" 600 "each file is 0600, the older one too"
if [ ! -e "$T/victim" ] && [ -f "$T/old/$id.html" ] && [ ! -L "$T/old/$id.html" ]; then
	ok "a link in the way is replaced, its target untouched"; else
	not_ok "a link in the way is replaced, its target untouched"; fi

# One of another user is refused: we could not keep others out of it.
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 755 "$T/theirs"
	chown nobody "$T/theirs"
	theirs=$T/theirs
else
	theirs=/tmp  # root's, and writable: only its owner may chmod it
fi
if [ "$(stat -c %u "$theirs")" != "$(id -u)" ]; then
	mode=$(stat -c %a "$theirs")
	expect_exit 0 "a preview in another user's directory" \
		cart-notify -c "$cfg" --preview-dir "$theirs" <"$T/one.ndjson"
	is "$(jq -r .status "$T/stdout")" failed "fails"
	has "$T/stdout" "belongs to another user" "saying why"
	is "$(stat -c %a "$theirs")" "$mode" "and leaves the directory as it was"
	lacks "$T/stdout" '"path"' "writing nothing"
else
	not_ok "no directory of another user to try"
fi

# A stdout that cannot be written is an error, never a silent loss
# (STYLE.md 8): a record written with one line per write, and a report the
# tool only flushes at the end (cart-dedupe status), both exit 1.
if [ -w /dev/full ]; then
	cart C9 >"$T/good.ndjson"
	rm -f "$T"/state/test.db*
	run sh -c 'cart-dedupe -c "$1" <"$2" >/dev/full' - "$cfg" "$T/good.ndjson"
	is "$rc" 1 "a record on a full stdout: exit 1"
	has "$T/stderr" '^cart-dedupe: write error: No space left on device$' "saying why"
	run sh -c 'cart-dedupe -c "$1" status >/dev/full' - "$cfg"
	is "$rc" 1 "a report on a full stdout: exit 1"
	has "$T/stderr" '^cart-dedupe: write error: No space left on device$' "saying why"
	run sh -c 'cart-dedupe -c "$1" where >/dev/full' - "$cfg"
	is "$rc" 1 "where on a full stdout: exit 1"
else
	not_ok "no /dev/full to write to"
fi

no_secrets_printed
done_testing
