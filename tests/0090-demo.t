#!/bin/sh
# The README's first command's script: the main job on the sandbox, twice.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

out=$top/build/demo
expect_exit 0 "scripts/demo runs" "$top/scripts/demo"
has "$T/stderr" "fetched 52, passed 52, enriched 52, sent 52, failed 0" "the first run sends 52 emails"
has "$T/stderr" "fetched 52, passed 0, enriched 0, sent 0" "the second run sends none"
is "$(find "$out/mail" -name '*.eml' | wc -l | tr -d ' ')" 52 "52 messages reached the SMTP server"
is "$(find "$out/mail" -name '*.html' | wc -l | tr -d ' ')" 52 "each with its HTML part beside it"
has "$T/stdout" "each stage's output, to replay by hand" "it says where the stage outputs are"
is "$(stat -c %a "$out/secrets.json")" 600 "the file: vault is mode 600"
jq -r '.[]' "$out/secrets.json" | grep -v '^a4000000' >"$T/secrets.txt"
if grep -Fqf "$T/secrets.txt" "$T/stdout" "$T/stderr" "$out"/run1/*.ndjson "$out/sandbox-requests.log"; then
	not_ok "no secret in the demo's output, saved NDJSON or request log"; else
	ok "no secret in the demo's output, saved NDJSON or request log"; fi
if pgrep -f "$out/sandbox-data.json" >/dev/null || pgrep -f "$out/mail" >/dev/null; then
	not_ok "the demo stopped what it started"; else ok "the demo stopped what it started"; fi

done_testing
