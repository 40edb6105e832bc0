#!/bin/sh
# Unsubscribe (doc/DESIGN.md 8.6): every notification gets its signed link, made
# as Python's hmac and base64 make it here; SMTP carries List-Unsubscribe and
# the one-click header, the templates the link, the providers unsubscribeUrl;
# cart-dedupe suppress --token suppresses the address a good token names, so
# that the next run sends it nothing, and refuses any altered or forged one.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_TEMPLATES="$top/templates"
in=$top/tests/golden/enrich.ndjson
url='https://shop.example.com/unsubscribe?t={token}&src=cart'
log() { curl -sf "$SANDBOX/_sandbox/log?service=$1"; }
delivered() { curl -sf "$SANDBOX/_sandbox/$1/delivered"; }
reset() {
	sandbox_clear
	for p in emarsys sendgrid mandrill; do curl -sf -X DELETE "$SANDBOX/_sandbox/$p/delivered" >/dev/null; done
	curl -sf -X DELETE "$SANDBOX/_sandbox/webhook/received" >/dev/null
}

# links [KEY]: each input address and its link, made independently of the
# code under test; the key comes on stdin, never on a command line.
links() {
	jq -r '.secrets.UnsubscribeKey // empty' "$T/vault-secrets.json" | python3 -c '
import base64, hashlib, hmac, json, sys
key = sys.stdin.read().strip().encode()
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
for line in open(sys.argv[1]):
    a = json.loads(line)["email"].lower().encode()
    t = b(a) + "." + b(hmac.new(key, a, hashlib.sha256).digest())
    print(json.dumps({"email": a.decode(), "url": sys.argv[2].replace("{token}", t)}, separators=(",", ":")))
' "$1" "$url"
}
jq '.keyvault' "$top/tests/sandbox/default.json" >"$T/vault-secrets.json"
links "$in" >"$T/want.ndjson"
is "$(wc -l <"$T/want.ndjson" | tr -d ' ')" 17 "a link made for each of the 17 golden addresses"

mkdir "$T/c"
cfg=$T/c/appsettings.json
sandbox_config "$T/c/base.json"
jq --arg s "$SANDBOX" --arg u "$url" '.EmarsysClientOptions = {
	ApiUrl: ($s + "/emarsys/api/v2/event/{0}/trigger"), ExternalEventId: "4242",
	ApiUserNameKeyVaultSecretName: "EmarsysApiUser",
	ApiSecretKeyVaultSecretName: "EmarsysApiSecret", EmarsysContactKeyId: "3"} |
	.Cartwatch.Unsubscribe = {Url: $u} | .Cartwatch.StateStore.Path = "state/u.db"' \
	"$T/c/base.json" >"$cfg"
with() { jq --arg s "$SANDBOX" "$1" "$cfg" >"$T/c/$2.json"; }
with '.Cartwatch.Notify = {Provider: "sendgrid", SendGrid: {BaseUrl: ($s + "/sendgrid"),
	TemplateId: "d-6f3ab40bc49967b3ed4bc782c8bf4fba", FromEmail: "carts@shop.example.com"}}' sg
with '.Cartwatch.Notify = {Provider: "mandrill", Mandrill: {BaseUrl: ($s + "/mandrill"),
	TemplateName: "abandoned-cart", FromEmail: "carts@shop.example.com"}}' md
with '.Cartwatch.Notify = {Provider: "webhook", Webhook: {Url: ($s + "/webhook/carts")}}' wh

# --- each provider gets the link, the right one for each address
reset
expect_exit 0 "SendGrid with Cartwatch.Unsubscribe.Url" cart-notify -c "$T/c/sg.json" <"$in"
is "$(log sendgrid | jq -c '.json.personalizations[] | {email: .to[0].email | ascii_downcase,
	url: .dynamic_template_data.unsubscribeUrl}')" "$(cat "$T/want.ndjson")" \
	"SendGrid: each personalization's unsubscribeUrl is its address's signed link"
cp "$T/stdout" "$T/sg-results.ndjson"

reset
expect_exit 0 "Mandrill" cart-notify -c "$T/c/md.json" <"$in"
is "$(log mandrill | jq -c '.json.message.merge_vars[] | {email: .rcpt | ascii_downcase,
	url: (.vars[] | select(.name == "unsubscribeUrl") | .content)}')" "$(cat "$T/want.ndjson")" \
	"Mandrill: a merge var unsubscribeUrl per recipient"

reset
expect_exit 0 "Emarsys" cart-notify -c "$cfg" <"$in"
is "$(log emarsys | jq -c '.json.contacts[] | {email: .external_id | ascii_downcase,
	url: .data.unsubscribeUrl}')" "$(cat "$T/want.ndjson")" "Emarsys: in each contact's data"

reset
# A link that came with the record is not the one sent: only one signed here.
# (every other one in another case, which providers would read all the same)
jq -c '.unsubscribeUrl = "https://evil.example/steal"' "$in" |
	sed '2~2s/"unsubscribeUrl"/"UnsubscribeURL"/' >"$T/forged-in.ndjson"
expect_exit 0 "webhook, records that bring links of their own" cart-notify -c "$T/c/wh.json" <"$T/forged-in.ndjson"
curl -sf "$SANDBOX/_sandbox/webhook/received" >"$T/wh.ndjson"
# (POSTs in flight at once arrive in any order)
is "$(jq -c '.body | {email: .email | ascii_downcase, url: .unsubscribeUrl}' "$T/wh.ndjson" | sort)" \
	"$(sort "$T/want.ndjson")" "webhook: each record's unsubscribeUrl is the signed one"
is "$(grep -c evil.example "$T/wh.ndjson")" 0 "and the links the records came with are gone"

# Without the key, no link, whatever a record brings.
reset
jq 'del(.Cartwatch.Unsubscribe)' "$T/c/wh.json" >"$T/c/wh-off.json"
expect_exit 0 "webhook without Cartwatch.Unsubscribe.Url" cart-notify -c "$T/c/wh-off.json" <"$T/forged-in.ndjson"
is "$(curl -sf "$SANDBOX/_sandbox/webhook/received" | grep -ci unsubscribe)" 0 "no record carries a link"

# --- SMTP: the headers, and the link in both parts
smtp_server
with ".Cartwatch.Notify = {Provider: \"smtp\", Smtp: {Url: \"smtp://127.0.0.1:$SMTP_PORT\",
	From: \"Shop <shop@contoso.example>\"}}" smtp
sed -n '1,3p' "$in" >"$T/three.ndjson"
expect_exit 0 "SMTP" cart-notify -c "$T/c/smtp.json" <"$T/three.ndjson"
/usr/bin/python3 - "$MAILDIR" >"$T/mail.ndjson" <<'PY'
import email, email.policy, json, os, sys
d = sys.argv[1]
for f in sorted(x for x in os.listdir(d) if x.endswith(".eml")):
    raw = open(os.path.join(d, f), "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    print(json.dumps({"to": msg["To"].split("<")[-1].rstrip(">").lower(),
        "lu": " ".join(msg["List-Unsubscribe"].split()), "lup": msg["List-Unsubscribe-Post"],
        "n_lu": len(msg.get_all("List-Unsubscribe")), "max_line": max(len(l) for l in head.split("\r\n")),
        "html": msg.get_payload(1).get_payload(decode=True).decode(),
        "text": msg.get_payload(0).get_payload(decode=True).decode()}))
PY
head -n 3 "$T/want.ndjson" >"$T/want3.ndjson"
is "$(jq -c '{email: .to, url: (.lu | ltrimstr("<") | rtrimstr(">"))}' "$T/mail.ndjson" | sort)" \
	"$(sort "$T/want3.ndjson")" "List-Unsubscribe: <the signed link> on each message"
is "$(jq -r '"\(.lup) \(.n_lu)"' "$T/mail.ndjson" | sort -u)" "List-Unsubscribe=One-Click 1" \
	"List-Unsubscribe-Post: List-Unsubscribe=One-Click, and one header each"
is "$(jq '.max_line <= 998' "$T/mail.ndjson" | sort -u)" true "no header line over 998"
is "$(jq -s -r --slurpfile w "$T/want3.ndjson" 'map(. as $m | ($w[] | select(.email == $m.to)) as $x |
	($m.html | contains("href=\"" + ($x.url | gsub("&"; "&amp;")) + "\"")) and
	($m.text | contains($x.url))) | length == 3 and all' "$T/mail.ndjson")" true \
	"the HTML part links it and the text part shows it"
smtp_server_stop

# --- the preview shows the link too (the key still comes from the vault)
reset
expect_exit 0 "--dry-run with a link" cart-notify -c "$cfg" --preview-dir "$T/preview" <"$T/three.ndjson"
first=$(head -n 1 "$T/three.ndjson" | jq -r .notificationId)
is "$(grep -cF "href=\"$(head -n 1 "$T/want.ndjson" | jq -r '.url | gsub("&"; "&amp;")')\"" \
	"$T/preview/$first.html")" 1 "the preview's HTML links the signed URL"

# --- configuration
jq '.Cartwatch.Unsubscribe.Url = "http://shop.example.com/u?t={token}"' "$cfg" >"$T/c/http.json"
expect_exit 2 "an http:// Url" cart-notify -c "$T/c/http.json" <"$in"
has "$T/stderr" "Cartwatch.Unsubscribe.Url: not an https:// URL" "names the key and why"
jq '.Cartwatch.Unsubscribe.Url = "https://shop.example.com/u"' "$cfg" >"$T/c/notoken.json"
expect_exit 2 "a Url without {token}" cart-notify -c "$T/c/notoken.json" <"$in"
has "$T/stderr" "Cartwatch.Unsubscribe.Url: no {token} in it" "says so"
jq '.Cartwatch.Unsubscribe.KeySecretName = "NoSuchUnsubscribeKey"' "$cfg" >"$T/c/nokey.json"
sandbox_clear
expect_exit 1 "a key the vault lacks" cart-notify -c "$T/c/nokey.json" <"$in"
has "$T/stderr" "NoSuchUnsubscribeKey" "names the secret"
is "$(log emarsys | wc -l | tr -d ' ')" 0 "and nothing is sent"

# --- cart-dedupe suppress --token: what cart-notify sent, back from the page
tok() { sed -n "$1p" "$T/want.ndjson" | jq -r '.url | capture("t=(?<t>[^&]*)").t'; }
addr2=$(sed -n 2p "$T/want.ndjson" | jq -r .email)
suppressions() { cart-dedupe -c "$cfg" status --json | jq .suppressions; }
expect_exit 0 "suppress --token with the token SendGrid got for address 2" \
	cart-dedupe -c "$cfg" suppress --token "$(tok 2)"
has "$T/stderr" "^cart-dedupe: suppressed the address the token names: new$" "says so"
is "$(suppressions)" 1 "one suppression"
expect_exit 0 "the same token again" cart-dedupe -c "$cfg" suppress --token "$(tok 2)"
has "$T/stderr" "^cart-dedupe: suppressed the address the token names: it was already$" \
	"says it was already"
is "$(suppressions)" 1 "is still one"
tok 3 >"$T/tok3"
expect_exit 0 "suppress --token - reads it from stdin" cart-dedupe -c "$cfg" suppress --token - <"$T/tok3"
is "$(suppressions)" 2 "two suppressions"

reset
expect_exit 0 "the next run" cart-notify -c "$cfg" <"$in"
is "$(jq -r 'select(.status == "skipped") | "\(.email | ascii_downcase) \(.error)"' "$T/stdout" | sort)" \
	"$(printf '%s opted out\n%s opted out' "$addr2" "$(sed -n 3p "$T/want.ndjson" | jq -r .email)" | sort)" \
	"skips exactly those two addresses"
is "$(delivered emarsys | wc -l | tr -d ' ')" 15 "and sends them nothing"

# Refused: each altered, truncated, padded, forged or malformed token; exit 2,
# nothing suppressed.
t4=$(tok 4)
a4=${t4%%.*}
m4=${t4#*.}
m4f=$(printf '%s' "$m4" | sed 's/^\(.....\)./\1A/')
[ "$m4f" != "$m4" ] || m4f=$(printf '%s' "$m4" | sed 's/^\(.....\)./\1B/')
forged=$(printf '%s' 'another-key-not-the-vaults-0000' | python3 -c '
import base64, hashlib, hmac, sys
k = sys.stdin.read().encode(); a = sys.argv[1].encode()
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
print(b(a) + "." + b(hmac.new(k, a, hashlib.sha256).digest()))' "$(sed -n 4p "$T/want.ndjson" | jq -r .email)")
n=0
for bad in "$a4.$m4f" "${a4}A.$m4" "$(tok 5 | cut -d. -f1).$m4" "$a4.${m4%?}" "$a4.${m4%????}" \
	"$a4==.$m4" "$a4.$m4=" "$a4" "$a4.$m4.$m4" ".$m4" "$a4." "$forged" \
	"$a4.$m4 " " $a4.$m4" "$a4.$(printf '%s' "$m4" | cut -c 1-40)+/A" \
	"$(printf '%0400d' 0).$m4"; do
	n=$((n + 1))
	[ "$bad" != "$t4" ] || { not_ok "bad token $n is the good one"; continue; }
	expect_exit 2 "bad token $n is refused" cart-dedupe -c "$cfg" suppress --token "$bad"
	has "$T/stderr" "token refused: .*; nothing suppressed" "bad token $n: says why"
done
has "$T/stderr" "longer than any" "an over-long one is named so"
expect_exit 2 "an altered token on stdin too" cart-dedupe -c "$cfg" suppress --token - <<EOF
$a4.$m4f
EOF
has "$T/stderr" "signature does not match" "its signature does not match"
expect_exit 2 "an empty stdin" cart-dedupe -c "$cfg" suppress --token - </dev/null
has "$T/stderr" "the token is empty" "is an empty token"
# The longest token there is (a 254-octet address) with CRLF on stdin is
# taken; one byte more than any token and a CRLF is not.
longest=$(jq -r '.secrets.UnsubscribeKey' "$T/vault-secrets.json" | python3 -c '
import base64, hashlib, hmac, sys
k = sys.stdin.read().strip().encode()
a = b"a" * 64 + b"@" + b"b" * 63 + b"." + b"c" * 63 + b"." + b"d" * 61
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
print(b(a) + "." + b(hmac.new(k, a, hashlib.sha256).digest()))')
is "${#longest}" 383 "the longest token is 383 characters"
printf '%s\r\n' "$longest" >"$T/longest"
expect_exit 0 "the longest token, CRLF-ended, on stdin" cart-dedupe -c "$cfg" suppress --token - <"$T/longest"
printf '%0387d' 0 >"$T/too-long"
expect_exit 2 "387 bytes on stdin" cart-dedupe -c "$cfg" suppress --token - <"$T/too-long"
has "$T/stderr" "token refused: the token is longer than any" "are refused as too long"
is "$(suppressions)" 3 "only the good ones suppressed anything"
expect_exit 0 "while the good one works" cart-dedupe -c "$cfg" suppress --token "$t4"
is "$(suppressions)" 4 "four suppressions"
expect_exit 2 "--token with --email" cart-dedupe -c "$cfg" suppress --token "$t4" --email a@example.com
expect_exit 2 "unsuppress takes no --token" cart-dedupe -c "$cfg" unsuppress --token "$t4"
expect_exit 1 "a key the vault lacks" cart-dedupe -c "$T/c/nokey.json" suppress --token "$t4"
has "$T/stderr" "NoSuchUnsubscribeKey" "names the secret"

# The key is in no record, result or message.
key=$(jq -r '.secrets.UnsubscribeKey' "$T/vault-secrets.json")
is "$(cat "$T"/*.ndjson "$T/sg-results.ndjson" "$T/stdout" "$T/all.err" | grep -cF "$key")" 0 \
	"the key is in no record, result or message"
no_secrets_printed
done_testing
