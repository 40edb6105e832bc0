#!/bin/sh
# The README's first command's script: the main job on the sandbox, twice.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# make demo installs no npm package and runs no npm (the Cosmos DB server is
# for the tests alone); make check does. install-deps in a copy of the tree
# whose node_modules is missing, with dpkg-query saying all is installed and
# an npm that only logs its calls.
mkdir -p "$T/fake/scripts" "$T/stubs"
cp "$top/scripts/install-deps" "$T/fake/scripts/"
echo '{"lockfileVersion": 3}' >"$T/fake/package-lock.json"
printf '#!/bin/sh\necho "install ok installed"\n' >"$T/stubs/dpkg-query"
printf '#!/bin/sh\necho "npm $*" >>"%s"\nmkdir -p node_modules\n' "$T/npm.log" >"$T/stubs/npm"
chmod +x "$T/stubs/dpkg-query" "$T/stubs/npm"
expect_exit 0 "install-deps as make demo runs it" \
	env PATH="$T/stubs:$PATH" "$T/fake/scripts/install-deps"
if [ -s "$T/npm.log" ]; then not_ok "make demo's install-deps runs no npm: $(cat "$T/npm.log")"
else ok "make demo's install-deps runs no npm"; fi
expect_exit 0 "install-deps --test, as make check runs it" \
	env PATH="$T/stubs:$PATH" "$T/fake/scripts/install-deps" --test
has "$T/npm.log" '^npm ci ' "the tests' install runs npm ci"
run make -s -n -C "$top" demo
if grep -q 'install-deps.*--test\|npm' "$T/stdout"; then not_ok "make demo asks for no test services"
else ok "make demo asks for no test services"; fi
run make -s -n -C "$top" check
has "$T/stdout" 'scripts/install-deps --test$' "make check asks for them"

out=$top/build/demo
expect_exit 0 "scripts/demo runs" "$top/scripts/demo"
has "$T/stderr" "fetched 52, passed 52, enriched 52, sent 52, failed 0" "the first run sends 52 emails"
has "$T/stderr" "fetched 52, passed 0, enriched 0, sent 0" "the second run sends none"
has "$T/stderr" "^cartwatch-run: .*: fetched 52, passed 52" \
	"through ./cartwatch-run, the command the README names, from the clone"
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
