#!/bin/sh
# examples/notify-slack.sh, a notify stage written in shell, takes cart-notify's
# place: one result per line, one POST per record, failures as results, and its
# results committed by cart-dedupe --commit. The sandbox's webhook receiver
# wants a signature, and a Slack webhook has none, so the receiver here is a
# few lines of python3 http.server on 127.0.0.1. Last, the same through
# pipeline.sh --notify, against the sandbox's Retail Server.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

stage=$top/examples/notify-slack.sh
in=$top/tests/golden/enrich.ndjson
records=$(wc -l <"$in" | tr -d ' ')
export CARTWATCH_NOW=2026-11-24T12:00:00Z

# The receiver: logs each POST as a JSON line (path, Content-Type, body);
# answers 200 "ok" as Slack does, or 404 "no_service" (Slack's answer for a
# removed webhook) for a path with /fail in it.
cat >"$T/receiver.py" <<'PY'
import http.server, json, os, signal, sys
log, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            parsed = json.loads(body.decode("utf-8"))
        except ValueError:
            parsed = None
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": self.path, "type": self.headers.get("Content-Type"),
                                "json": parsed}, ensure_ascii=False) + "\n")
        fail = "/fail" in self.path
        reply = b"no_service" if fail else b"ok"
        self.send_response(404 if fail else 200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *args):
        pass
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(port_file + ".tmp", port_file)
srv.serve_forever()
PY
: >"$T/received.ndjson"
python3 "$T/receiver.py" "$T/received.ndjson" "$T/receiver.port" 2>"$T/receiver.err" &
receiver_pid=$!
trap 'kill "$receiver_pid" 2>/dev/null || :; cleanup' EXIT
i=0
until [ -s "$T/receiver.port" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$receiver_pid" 2>/dev/null; then
		echo "Bail out! the receiver did not start"
		cat "$T/receiver.err" >&2
		exit 1
	fi
	sleep 0.05
done
base=http://127.0.0.1:$(cat "$T/receiver.port")

# The URL's path is the webhook's credential, as in Slack's.
token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
# A curl that notes its arguments, to prove the URL never is one.
real_curl=$(command -v curl)
mkdir "$T/shim"
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\nexec "%s" "$@"\n' "$T/curl-argv" "$real_curl" \
	>"$T/shim/curl"
chmod +x "$T/shim/curl"
PATH=$T/shim:$PATH
results() { jq -r "$1" "$T/stdout" | tr '\n' ' '; }

# --- every record posted ---
SLACK_WEBHOOK_URL=$base/services/T0CW/B0CW/$token expect_exit 0 "all records posted: exit 0" \
	"$stage" <"$in"
cp "$T/stdout" "$T/sent.ndjson"
is "$(wc -l <"$T/sent.ndjson" | tr -d ' ')" "$records" "one result per input line"
is "$(results .status | tr ' ' '\n' | sort -u | tr -d '\n')" sent "every status sent"
is "$(results .provider | tr ' ' '\n' | sort -u | tr -d '\n')" slack "provider slack"
is "$(results .notificationId)" "$(jq -r .notificationId "$in" | tr '\n' ' ')" \
	"notificationIds in input order"
is "$(jq -c '[.cartId, .customerId, .modifiedDateTime, .step, .email, .channelId]' "$T/sent.ndjson")" \
	"$(jq -c '[.cartId, .customerId, .modifiedDateTime, .step, .email, .channelId]' "$in")" \
	"each result carries its record's fields for --commit"
is "$(jq -r 'has("error")' "$T/sent.ndjson" | sort -u)" false "no error field when sent"
is "$(wc -l <"$T/received.ndjson" | tr -d ' ')" "$records" "the receiver got one POST per record"
is "$(jq -r .path "$T/received.ndjson" | sort -u)" "/services/T0CW/B0CW/$token" "all to the webhook's path"
is "$(jq -r .type "$T/received.ndjson" | sort -u)" application/json "as JSON"
is "$(jq -c '.json | keys' "$T/received.ndjson" | sort -u)" '["text"]' "Slack's {\"text\": ...}"
is "$(jq -n --slurpfile in "$in" --slurpfile got "$T/received.ndjson" '
	[range(0; $in | length) as $i | $got[$i].json.text as $t
	 | $in[$i] | [.cartId, .email, .returnToCartUrl, (.orderDetails[] | .productName, .quantity)]
	 | all(. as $s | $t | contains($s))] | all')" true \
	"each text names its cart, email, link and every product with its quantity, in order"
is "$(jq -c 'select(.json.text | contains("tie-b")) | .json.text' "$T/received.ndjson")" \
	'"花子 田中 <hanako.tanaka@example.jp> left 1 item(s) in cart tie-b (reminder 1): Café Crème Mug ×1\nhttps://shop.example.com/cart"' \
	"a named customer's text, in full"
is "$(jq -c 'select(.json.text | contains("guest-null-id")) | .json.text' "$T/received.ndjson")" \
	'"A guest <guest.two@example.net> left 1 item(s) in cart guest-null-id (reminder 1): Leather Tote ×1\nhttps://shop.example.com/cart"' \
	"a guest's text"

# --- failures are results, and the stream goes on ---
: >"$T/received.ndjson"
SLACK_WEBHOOK_URL=http://127.0.0.1:9/services/T0CW/B0CW/$token \
	expect_exit 0 "nothing listening: still exit 0 (every line got its result)" "$stage" <"$in"
cp "$T/stdout" "$T/failed.ndjson"
is "$(wc -l <"$T/failed.ndjson" | tr -d ' ')" "$records" "one result per line all the same"
is "$(results .status | tr ' ' '\n' | sort -u | tr -d '\n')" failed "every status failed"
is "$(results .notificationId)" "$(jq -r .notificationId "$in" | tr '\n' ' ')" "in input order"
has "$T/failed.ndjson" '"error":"\(7\) Failed to connect to 127\.0\.0\.1 port 9' "curl's reason as the error"

: >"$T/received.ndjson"
SLACK_WEBHOOK_URL=$base/fail/$token expect_exit 0 "the webhook answers 404" "$stage" <"$in"
is "$(results .status | tr ' ' '\n' | sort -u | tr -d '\n')" failed "every status failed"
is "$(jq -r .error "$T/stdout" | sort -u)" "HTTP 404: no_service" "the status and reply as the error"
is "$(wc -l <"$T/received.ndjson" | tr -d ' ')" "$records" "each record tried once (a 404 is not retried)"

{ head -n 2 "$in"; echo 'this is not json'; echo '{"no": "id"}'; sed -n 3p "$in"; } >"$T/mixed.ndjson"
SLACK_WEBHOOK_URL=$base/services/T0CW/B0CW/$token expect_exit 1 "bad lines: exit 1" \
	"$stage" <"$T/mixed.ndjson"
is "$(results .status)" "sent sent failed failed sent " "a failed result for each bad line, the rest sent"
is "$(results .notificationId)" \
	"$(sed -n 1,2p "$in" | jq -r .notificationId | tr '\n' ' ')null null $(sed -n 3p "$in" | jq -r .notificationId) " \
	"null notificationIds for the bad lines, in place"
has "$T/stderr" '^notify-slack\.sh: <stdin>:3: not a notification record' "names the bad line"

# --- usage ---
expect_exit 2 "no SLACK_WEBHOOK_URL" env -u SLACK_WEBHOOK_URL "$stage" <"$in"
has "$T/stderr" "SLACK_WEBHOOK_URL is not set" "says so"
SLACK_WEBHOOK_URL=http://hooks.example.com/x expect_exit 2 "plain http to another host" "$stage" <"$in"
has "$T/stderr" "plain http only to loopback" "says why"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "and writes nothing"

# --- its results committed like cart-notify's ---
mkdir "$T/conf"
cfg=$T/conf/appsettings.json
cat >"$cfg" <<JSON
{
  "RetailServerClientOptions": { "OperatingUnitNumber": 128 },
  "Cartwatch": { "StateStore": { "Kind": "sqlite", "Path": "state/test.db" } }
}
JSON
expect_exit 0 "cart-dedupe --commit takes the failed results" cart-dedupe -c "$cfg" --commit <"$T/failed.ndjson"
is "$(cart-dedupe -c "$cfg" status --json | jq -c '[.counts.sent, .counts.failed]')" "[0,$records]" \
	"counted as failed"
expect_exit 0 "cart-dedupe --commit takes the sent results" cart-dedupe -c "$cfg" --commit <"$T/sent.ndjson"
is "$(cart-dedupe -c "$cfg" status --json | jq -c '[.counts.sent, .counts.failed]')" "[$records,0]" \
	"status --json counts them as sent"
is "$(cart-dedupe -c "$cfg" status --json | jq -r '.runStatus[0].id')" 128:68719478279 \
	"and the run-status document is written (channelId carried through)"

# --- in the whole pipeline, through pipeline.sh --notify ---
sandbox_start
sandbox_env
sandbox_config "$T/conf/pipeline.json" '.Cartwatch.StateStore.Path = "state/pipeline.db"'
: >"$T/received.ndjson"
SLACK_WEBHOOK_URL=$base/services/T0CW/B0CW/$token expect_exit 0 "pipeline.sh --notify notify-slack.sh: exit 0" \
	"$top/pipeline.sh" -c "$T/conf/pipeline.json" --notify "$stage" --save "$T/run1"
enriched=$(wc -l <"$T/run1/3-enrich.ndjson" | tr -d ' ')
if [ "$enriched" -gt 0 ]; then ok "the window gave notifications ($enriched)"; else not_ok "the window gave notifications"; fi
is "$(jq -r '"\(.status) \(.provider)"' "$T/run1/4-notify.ndjson" | sort -u)" "sent slack" \
	"every one sent by the slack stage"
is "$(wc -l <"$T/received.ndjson" | tr -d ' ')" "$enriched" "one POST each"
has "$T/stderr" "sent $enriched, failed 0" "pipeline.sh's summary counts them"
is "$(cart-dedupe -c "$T/conf/pipeline.json" status --json | jq .counts.sent)" "$enriched" \
	"and the ledger holds them as sent"
SLACK_WEBHOOK_URL=$base/services/T0CW/B0CW/$token expect_exit 0 "a second run" \
	"$top/pipeline.sh" -c "$T/conf/pipeline.json" --notify "$stage"
is "$(wc -l <"$T/received.ndjson" | tr -d ' ')" "$enriched" "posts nothing more"

# --- the webhook's credential was never shown ---
lacks "$T/curl-argv" "$token" "the URL was never on curl's command line"
cp "$T/run1/4-notify.ndjson" "$T/pipeline-results"
has "$T/curl-argv" "--data-binary" "(the shim did see curl's arguments)"
cat "$T/sent.ndjson" "$T/failed.ndjson" "$T/pipeline-results" >"$T/all-results"
lacks "$T/all-results" "$token" "nor in any result"
lacks "$T/all.err" "$token" "nor in anything printed on stderr"
no_secrets_printed
done_testing
