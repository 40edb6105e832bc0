#!/bin/sh
# notify-slack.sh: a notify stage of your own, in place of cart-notify. Posts a
# line of text per abandoned cart to a Slack incoming webhook, and writes one
# result record per input line for cart-dedupe --commit:
#
#   cart-fetch | cart-dedupe | cart-enrich | examples/notify-slack.sh | cart-dedupe --commit
#
# The webhook URL is a secret (its path is the credential), so it comes from
# the environment, SLACK_WEBHOOK_URL, and goes to curl on a pipe, never on a
# command line. Plain http:// only to loopback. Needs curl and jq.
# Exit: 0 every line got its result (failed ones too), 1 a line was not a JSON
# object, 2 usage (no or a bad URL, a missing tool).
set -eu
me=notify-slack.sh
url=${SLACK_WEBHOOK_URL:-}
case $url in
'') echo "$me: SLACK_WEBHOOK_URL is not set" >&2; exit 2 ;;
*'"'* | *\\* | *' '*) echo "$me: SLACK_WEBHOOK_URL is not a URL" >&2; exit 2 ;;
https://?*) ;;
http://127.0.0.1[:/]* | http://localhost[:/]* | http://\[::1\][:/]*) ;;
*) echo "$me: SLACK_WEBHOOK_URL must be https:// (plain http only to loopback)" >&2; exit 2 ;;
esac
for tool in curl jq; do
	command -v "$tool" >/dev/null || { echo "$me: $tool is not installed" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/notify-slack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The message: who, what, which reminder, and the way back to the cart.
text='def who: [.firstName, .lastName] | map(select(. != null and . != "")) | join(" ");
  {text: ("\(if who == "" then "A guest" else who end) <\(.email)> left \(.orderDetails | length)"
    + " item(s) in cart \(.cartId) (reminder \(.step)): "
    + ([.orderDetails[] | "\(.productName) ×\(.quantity)"] | join(", "))
    + "\n\(.returnToCartUrl)")}'
# The result: the fields cart-dedupe --commit needs, and the outcome (S, E
# from the environment; an error never repeats the URL).
result='{notificationId, cartId, customerId, modifiedDateTime, step, email, channelId,
  status: env.S, provider: "slack"}
  + if env.S == "failed" then {error: env.E | split(env.SLACK_WEBHOOK_URL) | join("<url>")}
    else {} end'

n=0 bad=0
while IFS= read -r line || [ -n "$line" ]; do
	n=$((n + 1))
	if ! printf '%s\n' "$line" | jq -e 'type == "object" and (.notificationId | type) == "string"' \
	    >/dev/null 2>&1; then
		echo "$me: <stdin>:$n: not a notification record" >&2
		jq -cn --arg e "line $n is not a notification record" \
		    '{notificationId: null, status: "failed", provider: "slack", error: $e}'
		bad=1
		continue
	fi
	# curl reads the URL as its config (-K -) from printf, a shell builtin:
	# no process of its own, so no command line that shows it.
	if ! printf '%s\n' "$line" | jq -c "$text" >"$tmp/body" 2>"$tmp/err"; then
		set -- failed "no message: $(head -n 1 "$tmp/err")"
	elif code=$(printf 'url = "%s"\n' "$url" | curl -sS -K - -o "$tmp/reply" -w '%{http_code}' \
	    -H 'Content-Type: application/json' --data-binary @"$tmp/body" \
	    --connect-timeout 10 --max-time 30 --retry 3 --retry-max-time 60 2>"$tmp/err"); then
		case $code in
		2??) set -- sent "" ;;
		*) set -- failed "HTTP $code: $(dd if="$tmp/reply" bs=200 count=1 2>/dev/null | tr -d '\r\n')" ;;
		esac
	else
		set -- failed "$(sed -n '1s/^curl: //p' "$tmp/err")"
		[ -n "$2" ] || set -- failed "curl could not post"
	fi
	printf '%s\n' "$line" | S=$1 E=$2 jq -c "$result"
done
exit "$bad"
