#!/bin/sh
# cart-fetch's window: far enough back for every reminder step, and after an
# outage from where the last successful run left off (the sample's watermark
# in the state store), never further back than Cartwatch.MaxCatchUpMinutes.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

sandbox_start
sandbox_env
export CARTWATCH_NOW=2026-11-24T12:00:00Z
cfg=$T/appsettings.json
db=$T/state/cartwatch.db
base() { sandbox_config "$cfg" ".Cartwatch.StateStore.Path = \"$db\" | ${1:-.}"; }
from() {   # the window's start: the first page's (later pages go on from their last cart)
	curl -sf "$SANDBOX/_sandbox/log?service=retail" |
		jq -r 'select(.path | test("Carts/Search")) | .json.cartSearchCriteria.LastModifiedDateTimeFrom' |
		head -n 1
}
fetch_from() {   # $1: what the test expects, $2: its name; the rest: options
	want=$1 name=$2
	shift 2
	sandbox_clear
	expect_exit 0 "$name: exit 0" cart-fetch -c "$cfg" "$@"
	is "$(from)" "$want" "$name: the window starts at $want"
}

# The window reaches every step of the series, until the step is late.
base
fetch_from 2026-11-24T03:40:00Z "one step: Include (500 minutes)"
base '.Cartwatch.Reminders = [{AfterMinutes: 60}, {AfterMinutes: 1440}]'
fetch_from 2026-11-22T12:00:00Z "steps at 60 and 1440 minutes: 1440 + its MaxLateMinutes (1440)"
base '.Cartwatch.Reminders = [{AfterMinutes: 60}, {AfterMinutes: 1440, MaxLateMinutes: 120}, {AfterMinutes: 600}]'
fetch_from 2026-11-23T10:00:00Z "the largest AfterMinutes + MaxLateMinutes of steps 2 on (1560)"
base '.Cartwatch.Reminders = [{AfterMinutes: 60}, {AfterMinutes: 90, MaxLateMinutes: 0}]'
fetch_from 2026-11-24T03:40:00Z "a series shorter than Include: Include"
base '.Cartwatch.Reminders = [{AfterMinutes: 60, MaxLateMinutes: 30}]'
expect_exit 2 "MaxLateMinutes on step 1 is refused" cart-fetch -c "$cfg"
has "$T/stderr" "Cartwatch.Reminders.0.MaxLateMinutes: step 1 is never late" "naming the key and why"
base '.Cartwatch.Reminders = [{AfterMinutes: 60}, {AfterMinutes: 1440, MaxLateMinutes: -5}]'
expect_exit 2 "a negative MaxLateMinutes is refused" cart-fetch -c "$cfg"
has "$T/stderr" "Cartwatch.Reminders.1.MaxLateMinutes" "naming the key"

# No store yet: the ordinary window, and no store made by looking.
base
fetch_from 2026-11-24T03:40:00Z "no state store"
if [ -e "$db" ]; then not_ok "cart-fetch made no store"; else ok "cart-fetch made no store"; fi

# The last successful run, as the sample's run-status document has it.
watermark() {
	printf '{"id":"128:68719478279","oun":"128","lastSuceessfulCompletionDateTime":"%s","lastProcessedCartIds":"x"}\n' "$1" |
		cart-dedupe -c "$cfg" import >/dev/null 2>&1 || not_ok "import the run-status document"
}
watermark 2026-11-24T09:00:00Z
fetch_from 2026-11-24T03:40:00Z "a recent last run: the ordinary window"
lacks "$T/stderr" "catching up" "and no catching up"
watermark 2026-11-22T07:15:00Z
fetch_from 2026-11-22T07:15:00Z "a last run two days ago: from where it left off"
has "$T/stderr" "catching up from 2026-11-22T07:15:00Z, where the last successful run left off" \
	"and says so"
fetch_from 2026-11-24T08:00:00Z "an explicit --from wins" --from 2026-11-24T08:00:00Z
lacks "$T/stderr" "catching up" "without catching up"
watermark 2026-11-10T00:00:00Z
fetch_from 2026-11-17T12:00:00Z "a last run two weeks ago: no further back than a week (the default)"
has "$T/stderr" "left off at 2026-11-10T00:00:00Z, more than Cartwatch.MaxCatchUpMinutes .10080 minutes. ago: catching up from 2026-11-17T12:00:00Z only" \
	"and says why"
base '.Cartwatch.MaxCatchUpMinutes = 0'
fetch_from 2026-11-24T03:40:00Z "MaxCatchUpMinutes 0: no catching up"
lacks "$T/stderr" "catching up" "and says none"
base '.Cartwatch.Reminders = [{AfterMinutes: 60}, {AfterMinutes: 1440}]'
watermark 2026-11-21T12:00:00Z
fetch_from 2026-11-21T12:00:00Z "catch-up reaches beyond the series' reach"
watermark 2026-11-23T00:00:00Z
fetch_from 2026-11-22T12:00:00Z "the series' reach beyond the last run: the reach"

# A store that cannot be read fails the fetch, naming the store: a silent
# fallback would skip the catch-up.
base
cp "$db" "$T/good.db"
printf 'not a database, not at all; %0100d\n' 0 >"$db"
expect_exit 1 "a store that is not a database fails the fetch" cart-fetch -c "$cfg"
has "$T/stderr" "$db" "naming the store"
is "$(wc -c <"$T/stdout" | tr -d ' ')" 0 "and writes no cart"
cp "$T/good.db" "$db"

done_testing
