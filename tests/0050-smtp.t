#!/bin/sh
# SMTP through libcurl to a real SMTP server (aiosmtpd, Debian's
# python3-aiosmtpd) on 127.0.0.1: what arrives and how it reads, AUTH,
# STARTTLS and smtps with certificate verification, permanent and transient
# failures, and what the configuration refuses before any connection.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# Debian's python has the aiosmtpd module; the python3 on PATH may not.
PY=/usr/bin/python3
send=$CW_BUILD/tests/drivers/smtp_send
golden=$top/tests/golden/enrich.ndjson
export CARTWATCH_TEMPLATES="$top/templates"
if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	echo "Bail out! $PY has no aiosmtpd (apt-get install python3-aiosmtpd)"
	exit 1
fi

# smtpd_start [ARGS]: lib.sh's smtp_server with an empty mail directory; sets
# PORT and MAIL. smtpd_stop stops it.
smtpd_start() {
	rm -rf "$T/maildir"
	smtp_server "$@"
	PORT=$SMTP_PORT
	MAIL=$MAILDIR
}
smtpd_stop() {
	smtp_server_stop
}

# config URL [JQ]: $cfg for the SMTP provider at URL, fast retries; JQ edits it.
cfg=$T/appsettings.json
config() {
	cat >"$cfg.in" <<JSON
{"Cartwatch": {"Notify": {"Provider": "smtp", "Smtp": {
  "Url": "$1", "From": "Contoso Shop <shop@contoso.example>",
  "MaxAttempts": 3, "BackoffMs": 10, "MaxBackoffMs": 40,
  "ConnectTimeoutMs": 2000, "TimeoutMs": 10000}}}}
JSON
	jq "${2:-.}" "$cfg.in" >"$cfg"
}

# summary: what the server got, one JSON line per message, in $T/summary.
summary() {
	"$PY" "$top/tests/mailsummary.py" "$MAIL" >"$T/summary"
}
got() {
	jq -r "$1" "$T/summary"
}
arrived() {
	summary
	wc -l <"$T/summary" | tr -d ' '
}

# --- one message per notification, and how it reads ---------------------
jq -c 'select(.cartId == "images-relative" or .cartId == "images-missing" or
	.cartId == "tie-b" or .cartId == "repeat-late")' "$golden" >"$T/four.ndjson"
smtpd_start
config "smtp://127.0.0.1:$PORT"
expect_exit 0 "four notifications: exit 0" "$send" -c "$cfg" <"$T/four.ndjson"
is "$(jq -r .status "$T/stdout" | tr '\n' ' ')" "sent sent sent sent " "each one sent"
is "$(jq -r .reply "$T/stdout" | tr '\n' ',')" \
	"250 2.0.0 OK: queued as 1,250 2.0.0 OK: queued as 2,250 2.0.0 OK: queued as 3,250 2.0.0 OK: queued as 4," \
	"the server's answer to each message, with its queue id"
is "$(arrived)" 4 "four messages arrived, one per notification"
is "$(got '.mail_from' | sort -u)" shop@contoso.example "envelope sender: the From address"
is "$(got '.crlf and .max_line <= 998' | sort -u)" true "CRLF line ends only, no line over 998"
is "$(got '.date_skew < 300' | sort -u)" true "Date: the real clock"
is "$(got '.mime_version' | sort -u)" 1.0 "MIME-Version: 1.0"
is "$(got '.content_type' | sort -u)" multipart/alternative "multipart/alternative"
is "$(got '.parts | map(join(" ")) | join(", ")' | sort -u)" \
	"text/plain utf-8 quoted-printable, text/html utf-8 quoted-printable" \
	"a text and an HTML part, UTF-8, quoted-printable"
is "$(got '[.headers[] | select(test("^(bcc|cc)$"; "i"))] | length' | sort -u)" 0 "no Cc or Bcc"
while read -r rec; do
	id=$(echo "$rec" | jq -r .notificationId)
	cart=$(echo "$rec" | jq -r .cartId)
	jq -c --arg id "$id" 'select(.x_cartwatch_notification_id == $id)' "$T/summary" >"$T/one"
	is "$(jq -c .rcpt_tos "$T/one")" "$(echo "$rec" | jq -c '[.email]')" "$cart: envelope recipient"
	is "$(jq -r .to_addr "$T/one")" "$(echo "$rec" | jq -r .email)" "$cart: To"
	is "$(jq -r .to_name "$T/one")" "$(echo "$rec" | jq -r '.firstName + " " + .lastName')" \
		"$cart: To's display name"
	first=$(echo "$rec" | jq -r .firstName)
	# in the customer's language (templates/cart.LANG.subject)
	case $(echo "$rec" | jq -r .language) in
	de*) subject="$first, Sie haben etwas in Ihrem Warenkorb gelassen" ;;
	es*) subject="$first, olvidaste algo en tu carrito" ;;
	ja*) subject="${first}様、カートに商品が残っています" ;;
	*) subject="$first, you left something in your cart" ;;
	esac
	is "$(jq -r .subject "$T/one")" "$subject" "$cart: Subject"
	is "$(jq -r .message_id "$T/one")" "<$id@contoso.example>" "$cart: Message-ID"
	# Every <picture>: a <source> per viewport image with a URL, and the
	# default viewport image as its <img> with the alt text.
	is "$(jq -c .pictures "$T/one")" "$(echo "$rec" | jq -c '[.orderDetails[].productImage |
		select(. != null) | [.viewPortImages[] | select(.url != "")] as $v |
		select($v | length > 0) | {sources: [$v[] | [.url, .media]],
		img: [([$v[] | select(.useForDefaultImageTag)] + [$v[-1]])[0].url, .altText]}]')" \
		"$cart: the <picture> markup"
	is "$(jq -r '.loose_imgs | length' "$T/one")" 0 "$cart: no <img> outside a <picture>"
	is "$(jq -r '.links | unique | join(" ")' "$T/one")" "$(echo "$rec" | jq -r .returnToCartUrl)" \
		"$cart: the links go back to the cart"
	is "$(jq -r --argjson r "$rec" '[$r.orderDetails[].productName as $p |
		(.html_text | contains($p)) and (.text | contains($p))] | all' "$T/one")" true \
		"$cart: every product named in both parts"
done <"$T/four.ndjson"
is "$(got 'select(.to_name == "Zoë Ångström") | .subject_raw')" \
	"=?UTF-8?B?Wm/DqywgeW91IGxlZnQgc29tZXRoaW5nIGluIHlvdXIgY2FydA==?=" \
	"a non-ASCII Subject is an RFC 2047 encoded-word"
is "$(got 'select(.to_name == "Zoë Ångström") | .content_language')" en-us "Content-Language"
is "$(got 'select(.to_name == "Mateo López") | [.pictures, .loose_imgs] | map(length) | add')" 0 \
	"images-missing: no picture for products without an image or its URLs"

# --- escaping: markup, script URLs and header injection in the data -------
jq -c 'select(.cartId == "edge-from-exact") | .notificationId = "nasty-1" |
	.email = "nasty@example.com" | .firstName = "Eve\r\nBcc: victim@example.com" |
	.returnToCartUrl = "javascript:alert(document.cookie)" |
	.orderDetails[0].productName = "<script>alert(\"x\")</script> & \"Co\""' \
	"$golden" >"$T/nasty.ndjson"
expect_exit 0 "a record full of markup is sent" "$send" -c "$cfg" <"$T/nasty.ndjson"
summary
jq -c 'select(.x_cartwatch_notification_id == "nasty-1")' "$T/summary" >"$T/one"
has "$T/stderr" "returnToCartUrl}}: a URL with an unsafe scheme" "the unsafe URL is reported"
lacks "$T/stderr" "document.cookie" "without showing it"
jq -r .html "$T/one" >"$T/nasty.html"
lacks "$T/nasty.html" "<script" "no <script> in the HTML"
has "$T/nasty.html" '&lt;script&gt;alert\(&quot;x&quot;\)&lt;/script&gt; &amp; &quot;Co&quot;' \
	"the product name is HTML-escaped"
is "$(jq -r .scripts "$T/one")" 0 "the parsed HTML has no script element"
is "$(jq -r '.html_text | contains("<script>alert(\"x\")</script> & \"Co\"")' "$T/one")" true \
	"and shows the name as it is"
is "$(jq -r '.links | unique | join(" ")' "$T/one")" "about:invalid" \
	"javascript: link targets are neutralised"
is "$(jq -r '.text | contains("<script>alert(\"x\")</script> & \"Co\"")' "$T/one")" true \
	"the text part has the name unescaped"
is "$(jq -c .rcpt_tos "$T/one")" '["nasty@example.com"]' "a Bcc in a name adds no recipient"
is "$(jq -r '[.headers[] | select(test("^bcc$"; "i"))] | length' "$T/one")" 0 "nor a Bcc header"
is "$(jq -r .subject "$T/one")" "Eve  Bcc: victim@example.com, you left something in your cart" \
	"the line break in the name became blanks in the Subject"
before=$(arrived)
jq -c '.notificationId = "nasty-2" | .email = "nasty@example.com\r\nBcc: victim@example.com"' \
	"$T/nasty.ndjson" >"$T/nasty2.ndjson"
expect_exit 1 "an address with CR LF: exit 1" "$send" -c "$cfg" <"$T/nasty2.ndjson"
is "$(jq -r .status "$T/stdout")" failed "and the notification failed"
has "$T/stdout" "control characters" "because of the control characters"
is "$(arrived)" "$before" "nothing was sent"
smtpd_stop

# --- a 550 is permanent: failed, not retried; the rest goes on ------------
smtpd_start --reject gone@example.com
config "smtp://127.0.0.1:$PORT"
jq -c 'select(.cartId == "tie-a" or .cartId == "tie-c") |
	if .cartId == "tie-a" then .email = "gone@example.com" else . end' "$golden" >"$T/two.ndjson"
expect_exit 1 "a rejected recipient: exit 1" "$send" -c "$cfg" <"$T/two.ndjson"
is "$(jq -r '[.status, .code, .attempts] | join(" ")' "$T/stdout" | tr '\n' ',')" \
	"rejected 550 1,sent 250 1," "550: rejected after one attempt; the next one sent"
has "$T/stdout" '"error":"smtp://127.0.0.1:[0-9]+: RCPT: 550 5.1.1 <gone@example.com>: no such user here \(permanent, not retried\)"' \
	"the error has the server's reply"
is "$(grep -c '^gone@example.com ' "$MAIL/rcpt.log")" 1 "the server saw one try"
is "$(arrived)" 1 "one message arrived"
smtpd_stop

# --- a 451 is transient: retried, then given up ----------------------------
smtpd_start --tempfail slow@example.com
config "smtp://127.0.0.1:$PORT"
jq -c 'select(.cartId == "tie-d") | .email = "slow@example.com"' "$golden" >"$T/slow.ndjson"
expect_exit 1 "a 451 every time: exit 1" "$send" -c "$cfg" <"$T/slow.ndjson"
is "$(jq -r '[.status, .code, .attempts] | join(" ")' "$T/stdout")" "transient 451 3" \
	"transient after 3 attempts"
has "$T/stdout" '451 4.3.0 <slow@example.com>: try again later \(after 3 attempts\)' \
	"the error has the server's reply"
is "$(grep -c '^slow@example.com 451' "$MAIL/rcpt.log")" 3 "the server saw three tries"
smtpd_stop

# --- the server down: transient after the retries --------------------------
closed_port
PORT=$CLOSED
config "smtp://127.0.0.1:$PORT"
expect_exit 1 "server down: exit 1" "$send" -c "$cfg" <"$T/slow.ndjson"
closed_port_stop
is "$(jq -r '[.status, .code, .attempts] | join(" ")' "$T/stdout")" "transient 0 3" \
	"transient after 3 attempts"
has "$T/stdout" "smtp://127.0.0.1:$PORT: .*(Couldn't connect|Connection refused).*\\(after 3 attempts\\)" \
	"the error says the connection failed"

# --- AUTH LOGIN and PLAIN; a wrong password fails for good ----------------
# The server's password and the driver's: from the environment, never argv.
pw='Sm7p-s3cret!pa55 word'
export SMTPD_PASSWORD="$pw" CW_TEST_SMTP_PASSWORD="$pw"
jq -c 'select(.cartId == "tie-c")' "$golden" >"$T/one.ndjson"
cat "$T/one.ndjson" "$T/one.ndjson" >"$T/twice.ndjson"
for mech in LOGIN PLAIN; do
	smtpd_start --auth-user shop-mailer --mechs "$mech"
	config "smtp://127.0.0.1:$PORT" \
		'.Cartwatch.Notify.Smtp += {"User": "shop-mailer", "PasswordSecretName": "SmtpPassword"}'
	expect_exit 0 "AUTH $mech: sent" "$send" -c "$cfg" <"$T/one.ndjson"
	is "$(arrived)" 1 "AUTH $mech: the message arrived"
	is "$(got '[.auth, .login] | join(" ")')" "$mech shop-mailer" "AUTH $mech as shop-mailer"
	cat "$T/stdout" >>"$T/all.out"
	smtpd_stop
done
smtpd_start --auth-user shop-mailer
config "smtp://127.0.0.1:$PORT" \
	'.Cartwatch.Notify.Smtp += {"User": "shop-mailer", "PasswordSecretName": "SmtpPassword"}'
CW_TEST_SMTP_PASSWORD="wrong $pw"
expect_exit 1 "a wrong password: exit 1" "$send" -c "$cfg" <"$T/twice.ndjson"
is "$(jq -r '[.status, .code, .attempts] | join(" ")' "$T/stdout")" "fatal 535 1" \
	"fatal, 535, not retried, and the second message not tried"
has "$T/stdout" "AUTH: 535 5.7.8 Authentication credentials invalid" "the error has the server's reply"
is "$(arrived)" 0 "nothing arrived"
cat "$T/stdout" >>"$T/all.out"
config "smtp://127.0.0.1:$PORT"
expect_exit 1 "no credentials where AUTH is required: exit 1" "$send" -c "$cfg" <"$T/one.ndjson"
is "$(jq -r '[.status, .code] | join(" ")' "$T/stdout")" "fatal 530" "fatal, 530"
smtpd_stop
unset SMTPD_PASSWORD CW_TEST_SMTP_PASSWORD

# --- STARTTLS and smtps: certificates are verified -------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
	-keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
smtpd_start --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
config "smtp://127.0.0.1:$PORT" '.Cartwatch.Notify.Smtp.Tls = "required"'
expect_exit 1 "STARTTLS to a self-signed certificate: exit 1" "$send" -c "$cfg" <"$T/one.ndjson"
is "$(jq -r '[.status, .attempts] | join(" ")' "$T/stdout")" "fatal 1" "fatal, not retried"
has "$T/stdout" "certificate" "because of the certificate"
is "$(arrived)" 0 "nothing arrived"
config "smtp://127.0.0.1:$PORT" \
	".Cartwatch.Notify.Smtp += {\"Tls\": \"required\", \"CaFile\": \"$T/cert.pem\"}"
expect_exit 0 "STARTTLS trusting that certificate (CaFile): sent" "$send" -c "$cfg" <"$T/one.ndjson"
is "$(arrived)" 1 "the message arrived"
is "$(got .tls)" true "over TLS"
config "smtp://127.0.0.1:$PORT" '.Cartwatch.Notify.Smtp.Tls = "try"'
expect_exit 1 "Tls try: STARTTLS offered, so the certificate must verify too" \
	"$send" -c "$cfg" <"$T/one.ndjson"
config "smtp://127.0.0.1:$PORT"
expect_exit 1 "Tls auto to loopback is plain: a server that requires STARTTLS refuses" \
	"$send" -c "$cfg" <"$T/one.ndjson"
is "$(jq -r '[.status, .code] | join(" ")' "$T/stdout")" "fatal 530" "530, fatal"
smtpd_stop
smtpd_start --smtps --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
config "smtps://127.0.0.1:$PORT"
expect_exit 1 "smtps to a self-signed certificate: exit 1" "$send" -c "$cfg" <"$T/one.ndjson"
is "$(jq -r .status "$T/stdout")" fatal "fatal"
config "smtps://127.0.0.1:$PORT" ".Cartwatch.Notify.Smtp.CaFile = \"$T/cert.pem\""
expect_exit 0 "smtps trusting that certificate: sent" "$send" -c "$cfg" <"$T/one.ndjson"
is "$(arrived)" 1 "the message arrived"
# smtps:// honours the environment's proxy (TLS is end to end), plain
# smtp:// never does (tests/0052-smtp-faults.t): a proxy that refuses stops it.
closed_port
ALL_PROXY=socks5://127.0.0.1:$CLOSED run "$send" -c "$cfg" <"$T/one.ndjson"
is "$rc.$(jq -r .status "$T/stdout")" "1.transient" "smtps with ALL_PROXY: through the proxy, which refuses"
has "$T/stdout" "to 127\.0\.0\.1 port $CLOSED" "the proxy's port, not the server's"
closed_port_stop
is "$(arrived)" 1 "nothing more arrived"
smtpd_stop

# --- refused before any connection: exit 2 ---------------------------------
config "smtp://mail.example.com:25" '.Cartwatch.Notify.Smtp.Tls = "none"'
expect_exit 2 "plain SMTP to a host that is not loopback: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" "mail.example.com: SMTP without TLS is allowed only to loopback" "and why"
config "smtp://mail.example.com:25" '.Cartwatch.Notify.Smtp.Tls = "try"'
expect_exit 2 "STARTTLS only if offered, to a host that is not loopback: exit 2" \
	"$send" -c "$cfg" <"$T/one.ndjson"
config "smtp://shop-mailer:hunter2-url-secret@127.0.0.1:25"
expect_exit 2 "a password in the URL: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
lacks "$T/stderr" "hunter2" "and the password is not shown"
# Nor when the URL does not parse (port 99999): the message shows it redacted.
config "smtp://shop-mailer:hunter2-url-secret@127.0.0.1:99999"
expect_exit 2 "a bad URL with a password: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" 'not a URL: "smtp://shop-mailer:\*\*\*@127\.0\.0\.1:99999"' "the URL is shown as user:***@"
lacks "$T/stderr" "hunter2" "without the password"
config "smtp://hunter2-url-token@127.0.0.1:99999"
expect_exit 2 "a bad URL with a user name only: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" 'not a URL: "smtp://\*\*\*@127\.0\.0\.1:99999"' "the user name may be a token: ***@"
lacks "$T/stderr" "hunter2" "not shown"
config "smtp://:hunter2-url-secret@127.0.0.1:25"
expect_exit 2 "a password without a user name in the URL: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" "no user or password in the URL" "refused like any userinfo"
lacks "$T/stderr" "hunter2" "and not shown"
config "http://127.0.0.1:25"
expect_exit 2 "an http URL: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" "the scheme must be smtp or smtps" "and why"
config "smtp://127.0.0.1:25" '.Cartwatch.Notify.Smtp.From = "shop@contoso.example\r\nBcc: victim@example.com"'
expect_exit 2 "a From with CR LF: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" "Cartwatch.Notify.Smtp.From: .*control characters" "and which key"
config "smtp://127.0.0.1:25" '.Cartwatch.Notify.Smtp.Tls = "sometimes"'
expect_exit 2 "an unknown Tls mode: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
config "smtp://127.0.0.1:25" '.Cartwatch.Notify.Smtp.User = "shop-mailer"'
expect_exit 2 "a User without PasswordSecretName: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
has "$T/stderr" "PasswordSecretName: missing" "and why"
config "smtp://127.0.0.1:25" 'del(.Cartwatch.Notify.Smtp.Url)'
expect_exit 2 "no Url: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
mkdir "$T/empty"
config "smtp://127.0.0.1:25"
CARTWATCH_TEMPLATES=$T/empty
expect_exit 2 "no template: exit 2" "$send" -c "$cfg" <"$T/one.ndjson"
CARTWATCH_TEMPLATES=$top/templates
has "$T/stderr" "empty/cart.html: No such file or directory" "and which file"

# The password went nowhere: not to stderr, not into any result.
if grep -Fq "$pw" "$T/all.err" "$T/all.out"; then not_ok "the SMTP password was printed"
else ok "the SMTP password was never printed"; fi

done_testing
