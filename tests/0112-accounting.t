#!/bin/sh
# The pipeline counts (issue 13): every notification that enters the notify
# stage comes back as exactly one result, or the run fails naming the stage;
# claims this run holds without a result are released at once, not left to
# the lease; a stage that does not start is a setup error and releases too.
# cart-dedupe release lets go only of the named run's claims. And
# cartwatch-run's surface: --version, --from or --to alone, --help.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

pipeline_setup
pipeline() { run "$top/pipeline.sh" "$@"; }
mails() { find "$MAILDIR" -name '*.eml' 2>/dev/null | wc -l | tr -d ' '; }
live() { cart-dedupe -c "$1" status --json | jq .liveClaims; }

# The issue's own example: a notify stage that swallows every record.
pipeline -c "$cfg" --notify 'cat >/dev/null' --report "$T/r.json" --save "$T/lost"
is "$rc" 1 "a notify stage that loses every record fails the run"
has "$T/stderr" "cat >/dev/null lost records: no result for 14 of 14 notifications \\(e\\.g\\. [0-9a-f]{40}, " \
	"the message names the stage, the counts and a few ids"
is "$(jq -c '.runs[0] | [.status, .failedStage, .lost, .released]' "$T/r.json")" \
	'[1,"cat >/dev/null",14,16]' "--report: blamed, 14 lost, 16 claims released"
has "$T/stderr" "16 carts that cart-dedupe passed got no result: releasing the claims" \
	"the 14 lost and the 2 cart-enrich dropped are released"
is "$(live "$cfg")" 0 "no claim of that run is left live"
pipeline -c "$cfg"
is "$rc" 0 "the next run, at the same moment, is not held up by the lease"
is "$(mails)" 14 "and sends the 14"

# Results for notifications the stage was not given: one twice.
jq -c '.RetailServerClientOptions.OperatingUnitNumber = "256" | .Cartwatch.StateStore.Path = "state/256.db"' \
	"$cfg" >"$T/conf/eu.json"
printf '#!/bin/sh\ncart-notify -c "$CARTWATCH_CONFIG" | sed -n "p;1p"\n' >"$T/twice"
chmod +x "$T/twice"
pipeline -c "$T/conf/eu.json" --notify "$T/twice" --report "$T/r.json"
is "$rc" 1 "a notify stage that answers one record twice fails the run"
has "$T/stderr" "twice returned 1 result more than it was given \\(e\\.g\\. [0-9a-f]{40}\\)" \
	"naming the extra result"
is "$(jq -c '.runs[0] | [.lost, .unexpected]' "$T/r.json")" "[0,1]" "--report counts it"

# A notify stage that does not start: a setup error, and nothing stays claimed.
export CARTWATCH_NOW=2026-11-24T13:00:00Z
pipeline -c "$cfg" --notify "$T/no-such-stage" --report "$T/r.json"
is "$rc" 2 "a notify stage that does not start exits 2"
has "$T/stderr" "no-such-stage did not start \\(exit 127\\)" "saying so"
is "$(jq -r '.runs[0].released' "$T/r.json")" "$(jq -r '.runs[0].passed' "$T/r.json")" \
	"every claim of the run is released"
is "$(live "$cfg")" 0 "none is left live"

# A dry run claims nothing, releases nothing, and still counts.
pipeline -c "$cfg" --dry-run --notify 'cat >/dev/null'
is "$rc" 1 "a dry run with a stage that loses records fails too"
lacks "$T/stderr" "releasing" "and releases nothing, having claimed nothing"


# What cart-enrich drops (a customer Retail Server does not know) is released too.
pipeline -c "$cfg" --report "$T/r.json"
is "$rc" 0 "a normal run exits 0"
is "$(jq -c '.runs[0] | [.passed - .enriched, .released, .lost]' "$T/r.json")" "[2,2,0]" \
	"the 2 carts cart-enrich dropped are released, nothing is lost"
is "$(live "$cfg")" 0 "no claim is left live after a normal run"

# cart-dedupe release: only the named run's live claims.
export CARTWATCH_NOW=2026-11-24T14:00:00Z
cart-fetch -c "$cfg" >"$T/carts"
CARTWATCH_RUN_ID=run-a cart-dedupe -c "$cfg" <"$T/carts" >"$T/passed"
n=$(wc -l <"$T/passed" | tr -d ' ')
[ "$n" -gt 0 ] && ok "run-a claims $n carts" || not_ok "run-a claims some carts"
CARTWATCH_RUN_ID=run-b run cart-dedupe -c "$cfg" release <"$T/passed"
is "$rc" 0 "release by another run exits 0"
has "$T/stderr" "released 0 claims of run run-b; $n not held by it" "and releases none of run-a's"
is "$(live "$cfg")" "$n" "run-a's claims are still live"
CARTWATCH_RUN_ID=run-a run cart-dedupe -c "$cfg" release <"$T/passed"
has "$T/stderr" "released $n claims of run run-a; 0 not held by it" "run-a releases its own"
is "$(live "$cfg")" 0 "and none is live"
CARTWATCH_RUN_ID=run-c run cart-dedupe -c "$cfg" <"$T/carts"
is "$(wc -l <"$T/stdout" | tr -d ' ')" "$n" "the next run claims them at once"
run cart-dedupe -c "$cfg" release <"$T/passed"
is "$rc" 2 "release without CARTWATCH_RUN_ID exits 2"
has "$T/stderr" "CARTWATCH_RUN_ID is not set" "saying what it needs"
CARTWATCH_RUN_ID='a b' run cart-dedupe -c "$cfg" release <"$T/passed"
is "$rc" 2 "a run id that is not a name exits 2"
echo '{"cartId": "x"}' >"$T/noid"
CARTWATCH_RUN_ID=run-c run cart-dedupe -c "$cfg" release <"$T/noid"
is "$rc" 1 "a record without a notificationId is a bad line"

# A stage that sends and then loses the results: the claims it marked
# "sending" are released too, and the next run records them uncertain
# rather than sending them again.
jq '.Cartwatch.StateStore.Path = "state/fresh.db"' "$cfg" >"$T/conf/fresh.json"
before=$(mails)
CARTWATCH_NOW=2026-11-24T12:00:00Z pipeline -c "$T/conf/fresh.json" \
	--notify 'cart-notify -c "$CARTWATCH_CONFIG" >/dev/null'
is "$rc" 1 "a stage that sends but drops the results fails the run"
is "$(($(mails) - before))" 14 "it did send the 14"
is "$(live "$T/conf/fresh.json")" 0 "and no claim is left live"
CARTWATCH_NOW=2026-11-24T12:00:00Z pipeline -c "$T/conf/fresh.json"
is "$rc" 0 "the next run exits 0"
is "$(($(mails) - before))" 14 "and sends none of them twice"
is "$(cart-dedupe -c "$T/conf/fresh.json" status --json | jq .counts.uncertain)" 14 \
	"they are kept as uncertain"

# cartwatch-run's surface.
pipeline --version
is "$rc" 0 "--version exits 0"
has "$T/stdout" '^pipeline\.sh \(cartwatch\) [0-9]+\.[0-9]+' "and names the program and version"
pipeline -c "$cfg" --from 2026-11-24T10:00:00Z --dry-run --save "$T/from"
cart-fetch -c "$cfg" --from 2026-11-24T10:00:00Z >"$T/fetch-from"
same "$T/from/1-fetch.ndjson" "$T/fetch-from" "--from alone fetches what cart-fetch --from fetches"
pipeline -c "$cfg" --to 2026-11-24T11:00:00Z --dry-run --save "$T/to"
cart-fetch -c "$cfg" --to 2026-11-24T11:00:00Z >"$T/fetch-to"
same "$T/to/1-fetch.ndjson" "$T/fetch-to" "--to alone fetches what cart-fetch --to fetches"
pipeline --help
is "$rc" 0 "--help exits 0"
has "$T/stdout" "^See cartwatch-run\\(1\\)\\.$" "and names the man page"
# Every option of the man page's synopsis has a line of its own in --help.
for o in $(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh DESCRIPTION/p' "$top/man/cartwatch-run.1" |
    grep -o 'Fl \\-[a-z-]*' | sed 's/Fl \\-/--/' | sort -u); do
	has "$T/stdout" "^  (-[a-z], )?$o( |$)" "--help describes $o"
done

# --print-config: the effective configuration as plain JSON, for jq.
key=c2VjcmV0LWtleS1vZi10aGUtdGVzdA==
{ echo '// comments stop jq, not --print-config'; jq --arg k "$key" '.AzureCosmosOptions.PrimaryKey = $k |
	.Cartwatch.Notify.SendGrid.ApiKey = "sg-literal"' "$cfg"; } >"$T/conf/commented.json"
pipeline --print-config -c "$T/conf/commented.json"
is "$rc" 0 "--print-config exits 0"
cp "$T/stdout" "$T/effective.json"
is "$(jq -c '[.Cartwatch.StateStore.LeaseMinutes, .Cartwatch.Http.MaxAttempts, .Cartwatch.Notify.Provider,
	.RetailServerClientOptions.OperatingUnitNumber]' "$T/effective.json")" '[30,3,"smtp",128]' \
	"plain JSON: defaults filled in, the file's own values kept"
is "$(jq -r '.AzureCosmosOptions.PrimaryKey, .Cartwatch.Notify.SendGrid.ApiKey' "$T/effective.json" | sort -u)" \
	"(secret, not shown)" "a secret of the table and one named like a secret are masked"
lacks "$T/effective.json" "$key|sg-literal" "no secret value is printed"
is "$(jq 'has("Cartwatch") and (.Cartwatch.Notify | has("RequestsPerMinute") | not)' "$T/effective.json")" true \
	"a key whose default depends on the provider is not filled in"
jq '.Cartwatch.StateStore.Path = "state/other.db"' "$T/effective.json" >"$T/conf/recipe.json"
is "$(cart-dedupe -c "$T/conf/recipe.json" where)" "$T/conf/state/other.db" \
	"the README's jq recipe makes a config the tools read"
pipeline --print-config -c "$T/conf/recipe.json"
[ -s "$T/stdout" ] && jq '.Cartwatch.StateStore.Path = "state/other.db"' "$T/effective.json" | cmp -s - "$T/stdout" &&
	ok "printing the printed config again changes nothing" ||
	not_ok "printing the printed config again changes nothing"
jq '.Cartwatch.StateStore.LeaseMinutes = "soon"' "$cfg" >"$T/conf/bad.json"
pipeline --print-config -c "$T/conf/bad.json"
is "$rc" 2 "--print-config of a broken config exits 2"
has "$T/stderr" "Cartwatch.StateStore.LeaseMinutes" "naming the key"

no_secrets_printed
done_testing
