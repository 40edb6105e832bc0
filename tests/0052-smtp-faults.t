#!/bin/sh
# cart-notify's SMTP provider under every fault the SMTP front
# (tests/smtpfault.py) can inject before a real server (aiosmtpd): at the
# greeting, EHLO, MAIL FROM, RCPT TO, DATA and the final "."; 4xx and 5xx
# replies, a slow 421, hangs past the timeout, dropped connections, truncated
# and malformed replies, before and after the real server took the message.
# Each time: no one gets a notification twice (counted in the real server's
# mail directory), a message is tried again only when it provably was not
# taken, an unknown outcome says "uncertain": true and is not sent again, and
# a second run with the fault gone delivers every failed one exactly once.
# Also: a proxy in the environment changes nothing for plain smtp://, and the
# password is never printed.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	echo "Bail out! $PY has no aiosmtpd (apt-get install python3-aiosmtpd)"
	exit 1
fi
export CARTWATCH_TEMPLATES="$top/templates"

# AUTH through the front, so that the password check means something.
pw='Fau1t-Sm7p pa55!word'
export SMTPD_PASSWORD="$pw"
smtp_server --auth-user shop-mailer
smtp_fault_start
jq -n --arg pw "$pw" '{SmtpPassword: $pw}' >"$T/vault.json"
chmod 600 "$T/vault.json"

# config URL: cart-notify's configuration for SMTP at URL, quick to give up;
# no Retail Server here, so no stop on purchase.
cfg=$T/appsettings.json
config() {
	jq -n --arg url "$1" --arg vault "file:$T/vault.json" '{
	    KeyVaultOptions: {KeyVaultUrl: $vault},
	    Cartwatch: {StopOnPurchase: false, Notify: {Provider: "smtp", CheckOptOuts: false, Smtp: {
		Url: $url, From: "Contoso Shop <shop@contoso.example>",
		User: "shop-mailer", PasswordSecretName: "SmtpPassword",
		MaxAttempts: 2, BackoffMs: 10, MaxBackoffMs: 20,
		ConnectTimeoutMs: 1000, TimeoutMs: 1500}}}}' >"$cfg"
}
config "smtp://127.0.0.1:$SMTP_FRONT_PORT"

# Three notifications; faults with "rcpt" hit the first one only.
golden=$top/tests/golden/enrich.ndjson
jq -c 'select(.cartId == "tie-a" or .cartId == "tie-b" or .cartId == "tie-c")' \
	"$golden" >"$T/three.ndjson"
target=$(jq -r 'select(.cartId == "tie-a") | .email' "$golden")

# delivered: what the real server holds, one "NOTIFICATIONID RECIPIENT" line
# per recipient of each message, in $T/delivered.
delivered() {
	"$PY" - "$MAILDIR" >"$T/delivered" <<'PY'
import email, glob, json, sys
for eml in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    with open(eml, "rb") as f:
        nid = email.message_from_binary_file(f)["X-Cartwatch-Notification-Id"]
    with open(eml[:-4] + ".json") as f:
        for rcpt in json.load(f)["rcpt_tos"]:
            print(nid, rcpt)
PY
}
# counts FILE: per record of FILE, how many times the real server has it.
counts() {
	delivered
	jq -r '"\(.notificationId) \(.email)"' "$1" | while read -r id rcpt; do
		grep -cxF "$id $rcpt" "$T/delivered" || :
	done | tr '\n' ' ' | sed 's/ $//'
}
# outcomes: the result of each record, "uncertain" for an unknown outcome.
outcomes() {
	jq -r 'if .uncertain == true then (if .status == "failed" then "uncertain"
	    else "uncertain-but-\(.status)" end) else .status end' "$T/stdout" |
		tr '\n' ' ' | sed 's/ $//'
}

# fault NAME RULE EXIT OUTCOMES COUNTS: the three notifications (ids of their
# own) sent under RULE; cart-notify must exit EXIT, and OUTCOMES and COUNTS
# are what each record must get in that first run (a fault that stops
# cart-notify leaves the rest without a result). Then the fault goes, and the
# records not sent, but for the uncertain ones, are sent again, as the ledger
# would: each delivered exactly once.
fault() {
	name=$1
	jq -c --arg n "$name" '.notificationId = "\($n)-\(.cartId)"' "$T/three.ndjson" >"$T/in.ndjson"
	smtp_fault "$2"
	run cart-notify -c "$cfg" <"$T/in.ndjson"
	cp "$T/stdout" "$T/run1.ndjson"
	cat "$T/stdout" >>"$T/all.out"
	smtp_fault_clear
	is "$rc" "$3" "$name: exit $3"
	is "$(outcomes)" "$4" "$name: outcomes $4"
	is "$(counts "$T/in.ndjson")" "$5" "$name: the real server has $5"
	# An uncertain record's message reached the final "." once: not again.
	case $4 in
	uncertain*)
		n=$(jq -r --arg id "$name-tie-a" \
			'select(.event == "eod" and .notification_id == $id) | 1' \
			"$T/smtpfault.log" | wc -l | tr -d ' ')
		is "$n" 1 "$name: the uncertain message went out once, and not again" ;;
	esac
	if [ "$4" != "sent sent sent" ]; then
		has "$T/run1.ndjson" '"error":"smtp://127\.0\.0\.1:[0-9]+: ' "$name: the error names the server"
	fi
	# The second run, with the fault gone.
	jq -c 'select(.status == "sent" or .uncertain == true) | .notificationId' \
		"$T/run1.ndjson" >"$T/done.ids"
	jq -c --slurpfile ids "$T/done.ids" 'select(.notificationId as $i | $ids | index($i) | not)' \
		"$T/in.ndjson" >"$T/again.ndjson"
	if [ -s "$T/again.ndjson" ]; then
		run cart-notify -c "$cfg" <"$T/again.ndjson"
		cat "$T/stdout" >>"$T/all.out"
		is "$rc.$(jq -r .status "$T/stdout" | sort -u | tr '\n' ' ')" "0.sent " \
			"$name: the ones not sent are sent in a second run"
		is "$(counts "$T/again.ndjson" | tr ' ' '\n' | sort -u | tr '\n' ' ')" "1 " \
			"$name: and delivered exactly once"
	fi
	# Nobody has any notification twice.
	is "$(grep "^$name-" "$T/delivered" | sort | uniq -d)" "" \
		"$name: no notification delivered twice"
}

r=$target
# Refused or lost before the message went: tried again (MaxAttempts 2), and
# a 5xx is final for its record (exit 0: every record has its own outcome),
# or for all of them when the server refuses the sender or the session.
fault greeting-421-slow '{"stage":"greeting","code":421,"delay_ms":300,"times":1}' \
	0 "sent sent sent" "1 1 1"
fault greeting-421 '{"stage":"greeting","code":421}' 1 "failed failed failed" "0 0 0"
fault greeting-554 '{"stage":"greeting","code":554}' 1 "failed failed failed" "0 0 0"
fault greeting-drop '{"stage":"greeting","action":"drop","times":1}' 0 "sent sent sent" "1 1 1"
fault greeting-hang '{"stage":"greeting","action":"hang","times":1}' 0 "sent sent sent" "1 1 1"
fault greeting-truncated '{"stage":"greeting","action":"truncate","times":1}' \
	0 "sent sent sent" "1 1 1"
fault greeting-malformed '{"stage":"greeting","action":"malformed","times":1}' \
	0 "sent sent sent" "1 1 1"
fault ehlo-421 '{"stage":"ehlo","code":421,"times":1}' 0 "sent sent sent" "1 1 1"
fault mail-451-once '{"stage":"mail","code":451,"times":1}' 0 "sent sent sent" "1 1 1"
fault mail-451 '{"stage":"mail","code":451}' 1 "failed failed failed" "0 0 0"
fault mail-550 '{"stage":"mail","code":550}' 1 "failed failed failed" "0 0 0"
fault rcpt-451 "{\"stage\":\"rcpt\",\"code\":451,\"rcpt\":\"$r\"}" 1 "failed sent sent" "0 1 1"
fault rcpt-550 "{\"stage\":\"rcpt\",\"code\":550,\"rcpt\":\"$r\"}" 0 "failed sent sent" "0 1 1"
fault rcpt-drop "{\"stage\":\"rcpt\",\"action\":\"drop\",\"rcpt\":\"$r\"}" \
	1 "failed sent sent" "0 1 1"
fault rcpt-truncated "{\"stage\":\"rcpt\",\"action\":\"truncate\",\"rcpt\":\"$r\",\"times\":1}" \
	0 "sent sent sent" "1 1 1"
fault data-451 "{\"stage\":\"data\",\"code\":451,\"rcpt\":\"$r\"}" 1 "failed sent sent" "0 1 1"
fault data-554 "{\"stage\":\"data\",\"code\":554,\"rcpt\":\"$r\"}" 0 "failed sent sent" "0 1 1"
fault data-hang "{\"stage\":\"data\",\"action\":\"hang\",\"rcpt\":\"$r\"}" \
	1 "failed sent sent" "0 1 1"
fault data-drop "{\"stage\":\"data\",\"action\":\"drop\",\"rcpt\":\"$r\"}" \
	1 "failed sent sent" "0 1 1"
# A 4xx to the final "." is a refusal (RFC 5321: the server has not taken
# the message): tried again. A 5xx is final.
fault eod-451-once "{\"stage\":\"eod\",\"code\":451,\"rcpt\":\"$r\",\"times\":1}" \
	0 "sent sent sent" "1 1 1"
fault eod-452 "{\"stage\":\"eod\",\"code\":452,\"rcpt\":\"$r\"}" 1 "failed sent sent" "0 1 1"
fault eod-554 "{\"stage\":\"eod\",\"code\":554,\"rcpt\":\"$r\"}" 0 "failed sent sent" "0 1 1"
# After the final ".", no answer: uncertain, whether or not the server has
# it, and not sent again.
for action in hang drop truncate malformed; do
	fault "eod-$action-before" "{\"stage\":\"eod\",\"action\":\"$action\",\"rcpt\":\"$r\"}" \
		1 "uncertain sent sent" "0 1 1"
	fault "eod-$action-after" \
		"{\"stage\":\"eod\",\"action\":\"$action\",\"after\":true,\"rcpt\":\"$r\"}" \
		1 "uncertain sent sent" "1 1 1"
done
has "$T/run1.ndjson" '"error":"smtp://127\.0\.0\.1:[0-9]+: DATA: [^"]*\(after the message: uncertain, not retried\)"' \
	"an uncertain result says why"

# --- a proxy in the environment: plain smtp:// never goes through it ------
# A port bound but not listening: a proxy there refuses every connection.
closed_port
closed=$CLOSED
jq -c '.notificationId = "proxy-\(.cartId)"' "$T/three.ndjson" >"$T/proxy.ndjson"
for var in ALL_PROXY all_proxy smtp_proxy; do
	jq -c --arg v "$var" '.notificationId = "\(.notificationId)-\($v)"' "$T/proxy.ndjson" \
		>"$T/in.ndjson"
	run env "$var=socks5://127.0.0.1:$closed" cart-notify -c "$cfg" <"$T/in.ndjson"
	is "$rc.$(outcomes)" "0.sent sent sent" "$var set to a refusing proxy: all sent"
	is "$(counts "$T/in.ndjson")" "1 1 1" "$var: straight to the server, once each"
done
closed_port_stop

# --- the password went nowhere ---------------------------------------------
for f in "$T/all.err" "$T/all.out" "$T/smtpfault.log" "$T/smtpfault.err" "$T/smtp.err"; do
	if [ -f "$f" ] && grep -Fq "$pw" "$f"; then not_ok "the password is in ${f##*/}"
	else ok "the password is not in ${f##*/}"; fi
done
is "$(sort "$T/delivered" | uniq -d)" "" "in the end, no notification delivered twice"

done_testing
