#!/usr/bin/env bash
# pipeline.sh: one run of cart-fetch | cart-dedupe | cart-enrich | cart-notify |
# cart-dedupe --commit per config file, locked, summarised, exit status per stage.
set -u -o pipefail

# What the stages write holds names, addresses and carts: the saved stages,
# the work directory, previews, the lock. Only the report (counts) follows
# the user's umask.
user_umask=$(umask)
umask 077

prog=${0##*/}
usage() {
	# --help answers on stdout; a usage error on stderr.
	if [ "${1:-2}" -eq 0 ]; then exec 3>&1; else exec 3>&2; fi
	echo "usage: $prog [-c FILE]... [--save DIR] [--dry-run] [--from ISO] [--to ISO]" \
		"[--report FILE] [--metrics FILE] [--notify COMMAND]" >&3
	echo "       $prog [-c FILE]... [--dry-run] [--notify COMMAND] --check" >&3
	echo "       $prog --print-config [-c FILE]..." >&3
	echo "       $prog --version | --help" >&3
	[ "${1:-2}" -ne 0 ] || help_options
	exit "${1:-2}"
}
help_options() {
	cat <<'EOF'
  -c, --config FILE   a configuration to run, one per operating unit; repeat for
                      several (default: $CARTWATCH_CONFIG, else ./appsettings.json)
  --save DIR          keep each stage's output and the run's summary.json in DIR
  --dry-run           render previews: claim nothing, send nothing, commit nothing
  --from ISO          start the window here (a backfill), as cart-fetch --from
  --to ISO            end the window here, as cart-fetch --to
  --report FILE       write the runs' figures as JSON to FILE
  --metrics FILE      add the runs' counters to FILE, for Prometheus's textfile collector
  --notify COMMAND    a notify stage of your own instead of cart-notify (run by sh)
  --check             check every stage's configuration and ask each service,
                      read-only, whether it takes the credentials; run nothing
  --print-config      print each configuration as plain JSON, defaults filled in,
                      secrets masked; run nothing
  --version           print the version
  -h, --help          print this help
See cartwatch-run(1).
EOF
}
die() { echo "$prog: $*" >&2; exit 2; }

configs=() save='' dry='' from='' to='' report='' metrics='' notify='' print_config='' version=''
check=''
while [ $# -gt 0 ]; do
	case $1 in
	-c|--config) [ $# -ge 2 ] || usage; configs+=("$2"); shift 2 ;;
	--save) [ $# -ge 2 ] || usage; save=$2; shift 2 ;;
	--dry-run) dry=1; shift ;;
	--from) [ $# -ge 2 ] || usage; from=$2; shift 2 ;;
	--to) [ $# -ge 2 ] || usage; to=$2; shift 2 ;;
	--report) [ $# -ge 2 ] || usage; report=$2; shift 2 ;;
	--metrics) [ $# -ge 2 ] || usage; metrics=$2; shift 2 ;;
	--notify) [ $# -ge 2 ] || usage; notify=$2; shift 2 ;;
	--check) check=1; shift ;;
	--print-config) print_config=1; shift ;;
	--version) version=1; shift ;;
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage ;;
	esac
done
[ ${#configs[@]} -gt 0 ] || configs=("${CARTWATCH_CONFIG:-./appsettings.json}")

# The tools beside this script (a build tree, or an install), else on PATH.
here=$(cd "$(dirname "$0")" && pwd)
for d in "${CW_BUILD:-}" "$here/build" "$here"; do
	if [ -n "$d" ] && [ -x "$d/cart-fetch" ]; then PATH=$d:$PATH; break; fi
done
if [ -n "$version" ]; then
	command -v cart-dedupe >/dev/null || die "cart-dedupe not found"
	# The tools' version is the suite's.
	cart-dedupe --version | sed "s/^[^ ]*/$prog/"
	exit
fi
if [ -n "$print_config" ]; then
	command -v cart-dedupe >/dev/null || die "cart-dedupe not found"
	for cfg in "${configs[@]}"; do cart-dedupe -c "$cfg" config || exit; done
	exit 0
fi
for t in cart-fetch cart-dedupe cart-enrich cart-notify jq flock; do
	command -v "$t" >/dev/null || die "$t not found"
done

stages=(cart-fetch cart-dedupe cart-enrich "${notify:-cart-notify}" "cart-dedupe --commit")

# notify_stage CONFIG [ARGS]: cart-notify, or the user's own stage (--notify),
# which gets the config in $CARTWATCH_CONFIG.
notify_stage() {
	local cfg=$1
	shift
	if [ -n "$notify" ]; then CARTWATCH_CONFIG=$cfg sh -c "$notify"; else cart-notify -c "$cfg" "$@"; fi
}
# check_stages CONFIG MODE: every stage's --check-config or --check (MODE) on
# CONFIG, each saying its own problems, all of them run whatever the first
# found. A --notify stage of the user's is not checked (it has no such
# option): --check says so. 0, or 2 when any stage found a problem.
check_stages() {
	local cfg=$1 mode=$2 st=0 t
	[ -r "$cfg" ] || { echo "$prog: $cfg: cannot read the config file" >&2; return 2; }
	for t in cart-fetch cart-dedupe cart-enrich; do
		"$t" -c "$cfg" "$mode" || st=2
	done
	if [ -z "$notify" ]; then
		cart-notify -c "$cfg" ${dry:+--dry-run} "$mode" || st=2
	elif [ "$mode" = --check ]; then
		echo "$prog: $cfg: not checked: the --notify stage ($notify)" >&2
	fi
	if [ "$st" -ne 0 ] && [ "$mode" = --check-config ]; then
		echo "$prog: $cfg: the configuration has problems (above): not started" >&2
	elif [ "$mode" = --check ]; then
		if [ "$st" -eq 0 ]; then echo "$prog: $cfg: every check passed" >&2
		else echo "$prog: $cfg: problems found (above)" >&2; fi
	fi
	return "$st"
}

# --check: every stage of every config asked read-only, nothing run.
if [ -n "$check" ]; then
	status=0
	for cfg in "${configs[@]}"; do check_stages "$cfg" --check || status=2; done
	exit "$status"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cartwatch.XXXXXX") || exit 2
progress_pid=
trap '[ -z "$progress_pid" ] || kill "$progress_pid" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
count_status() { jq -r --arg s "$1" 'select(.status == $s) | 1' "$2" 2>/dev/null | wc -l | tr -d ' '; }

# progress DIR: a line on a terminal that updates as records flow.
progress() {
	while :; do
		printf '\r%s: fetched %s, passed %s, enriched %s, notified %s ' "$prog" \
			"$(lines "$1/1-fetch.ndjson")" "$(lines "$1/2-dedupe.ndjson")" \
			"$(lines "$1/3-enrich.ndjson")" "$(lines "$1/4-notify.ndjson")" >&2
		sleep 0.5
	done
}

# ids FILE: the notificationId of every record in FILE, sorted, one a line
# ("-" for a record without one); lines that are not JSON objects are left out.
ids() {
	jq -R -r 'select(test("\\S")) | (fromjson? // null) | objects |
		(.notificationId | strings) // "-"' "$1" 2>/dev/null | LC_ALL=C sort
}

# result_ids FILE: the same for the results in FILE (records with a status of
# sent, failed or skipped); how many lines are not results goes in $work/junk.
result_ids() {
	jq -R -r 'select(test("\\S")) | (fromjson? // null) |
		if type == "object" and (.status | IN("sent", "failed", "skipped"))
		then "r " + ((.notificationId | strings) // "-") else "j" end' "$1" \
		>"$work/results" 2>/dev/null
	grep -c '^j$' "$work/results" >"$work/junk" || :
	sed -n 's/^r //p' "$work/results" | LC_ALL=C sort
}

# plural N WORD: "1 cart", "2 carts".
plural() { if [ "$1" -eq 1 ]; then echo "$1 $2"; else echo "$1 ${2}s"; fi; }

# few FILE: up to three of the ids in FILE, for a message.
few() { head -n 3 "$1" | paste -sd, - | sed 's/,/, /g'; }

# account DIR STAGE: every notification that entered the notify stage came
# back as exactly one result, matched by notificationId. Says what went
# wrong on stderr; leaves the counts in $lost and $unexpected (run_one's),
# and the ids of the results in $work/out.
account() {
	local dir=$1 stage=$2 extra junk
	ids "$dir/3-enrich.ndjson" >"$work/in"
	result_ids "$dir/4-notify.ndjson" >"$work/out"
	LC_ALL=C comm -23 "$work/in" "$work/out" >"$work/lost"
	LC_ALL=C comm -13 "$work/in" "$work/out" >"$work/extra"
	lost=$(lines "$work/lost") extra=$(lines "$work/extra") junk=$(cat "$work/junk")
	unexpected=$((extra + junk))
	[ "$lost" -eq 0 ] || echo "$prog: $cfg: $stage lost records: no result for $lost of" \
		"$(lines "$work/in") notifications (e.g. $(few "$work/lost"))" >&2
	[ "$extra" -eq 0 ] || echo "$prog: $cfg: $stage returned $(plural "$extra" result)" \
		"more than it was given (e.g. $(few "$work/extra"))" >&2
	[ "$junk" -eq 0 ] || echo "$prog: $cfg: $stage wrote $(plural "$junk" line) of" \
		"something other than a result" >&2
	[ "$unexpected" -eq 0 ] && [ "$lost" -eq 0 ]
}

# release DIR: the claims this run ($run) holds on carts cart-dedupe passed
# that got no result (dropped by a stage, or a stage that did not start), let
# go now rather than when their lease runs out. Leaves the count in $released.
release() {
	local dir=$1
	released=0
	ids "$dir/2-dedupe.ndjson" | LC_ALL=C comm -23 - "$work/out" | grep -vx -e - -e '' >"$work/unanswered"
	[ -s "$work/unanswered" ] || return 0
	echo "$prog: $cfg: $(plural "$(lines "$work/unanswered")" cart) that cart-dedupe passed" \
		"got no result: releasing the claims" >&2
	jq -R -c '{notificationId: .}' "$work/unanswered" |
		CARTWATCH_RUN_ID=$run cart-dedupe -c "$cfg" release 2>"$work/release.err"
	local rc=$?
	cat "$work/release.err" >&2
	released=$(sed -n 's/^cart-dedupe: released \([0-9]*\) claim.*/\1/p' "$work/release.err")
	released=${released:-0}
	return "$rc"
}

# stages_run CFG DIR: the five stages, their exit codes in $rcs.
stages_run() {
	local cfg=$1 dir=$2
	local -a fetch_args=() notify_args=() dedupe_args=()
	[ -z "$from" ] || fetch_args+=(--from "$from")
	[ -z "$to" ] || fetch_args+=(--to "$to")
	if [ -n "$dry" ]; then
		# A dry run claims nothing and commits nothing.
		dedupe_args=(--dry-run)
		notify_args=(--dry-run)
		# Kept previews go with the saved stages; else where the config says.
		[ -z "$save" ] || notify_args+=(--preview-dir "$dir/preview")
		cart-fetch -c "$cfg" "${fetch_args[@]}" | tee "$dir/1-fetch.ndjson" |
			cart-dedupe -c "$cfg" "${dedupe_args[@]}" | tee "$dir/2-dedupe.ndjson" |
			cart-enrich -c "$cfg" | tee "$dir/3-enrich.ndjson" |
			notify_stage "$cfg" "${notify_args[@]}" >"$dir/4-notify.ndjson"
		rcs=("${PIPESTATUS[@]}")
		rcs=("${rcs[0]}" "${rcs[2]}" "${rcs[4]}" "${rcs[6]}" 0)
	else
		cart-fetch -c "$cfg" "${fetch_args[@]}" | tee "$dir/1-fetch.ndjson" |
			CARTWATCH_RUN_ID=$run cart-dedupe -c "$cfg" | tee "$dir/2-dedupe.ndjson" |
			cart-enrich -c "$cfg" | tee "$dir/3-enrich.ndjson" |
			notify_stage "$cfg" | tee "$dir/4-notify.ndjson" |
			cart-dedupe -c "$cfg" --commit
		rcs=("${PIPESTATUS[@]}")
		rcs=("${rcs[0]}" "${rcs[2]}" "${rcs[4]}" "${rcs[6]}" "${rcs[8]}")
	fi
}

# judge CFG: the run's status from the stages' exit codes ($rcs) into $worst,
# and the stage to blame into $failed_stage: 2 if a stage was set up wrong or
# did not start, else 1 if one failed.
judge() {
	local cfg=$1 i st
	worst=0 failed_stage=
	for i in 0 1 2 3 4; do
		st=${rcs[$i]}
		case $st in
		126|127)
			# The shell could not run it: a setup error.
			echo "$prog: $cfg: ${stages[$i]} did not start (exit $st)" >&2
			st=2 ;;
		*) [ "$st" -le 2 ] || st=1 ;;  # killed by a signal: work failed
		esac
		if [ "$st" -ne 0 ]; then
			echo "$prog: $cfg: ${stages[$i]} exited ${rcs[$i]}" >&2
			# A stage whose reader failed died of the broken pipe: the
			# cause is the first failure that the next stage survived.
			if [ -z "$failed_stage" ] && { [ "$i" -eq 4 ] || [ "${rcs[$((i + 1))]}" -eq 0 ]; }; then
				failed_stage=${stages[$i]}
			fi
		fi
		if [ "$st" -eq 2 ] || { [ "$st" -eq 1 ] && [ "$worst" -eq 0 ]; }; then worst=$st; fi
	done
}

# lock CFG: takes the lock of CFG's store on fd 9, or says why not (status 2).
lock() {
	local cfg=$1 store lock
	store=$(cart-dedupe -c "$cfg" where) || return 2
	# One run at a time per config and store: the lock sits beside the state
	# (a SQLite file), or beside the config (a Cosmos DB container).
	case $store in
	http://*|https://*) lock=$(dirname "$cfg")/.cartwatch-$(printf %s "$store" | cksum | cut -d' ' -f1).lock ;;
	*) mkdir -p "$(dirname "$store")" && chmod 700 "$(dirname "$store")" 2>/dev/null
	   lock=$store.lock ;;
	esac
	exec 9>>"$lock" || { echo "$prog: $lock: cannot open the lock file" >&2; return 2; }
	if ! flock -n 9; then
		echo "$prog: $cfg: another run holds $lock; not starting a second one" >&2
		exec 9>&-
		return 2
	fi
}

# run_one CONFIG DIR: one pipeline; leaves its summary as JSON in DIR/summary.json.
run_one() {
	local cfg=$1 dir=$2 start end run lost=0 unexpected=0 released=0 worst failed_stage
	local -a rcs
	[ -r "$cfg" ] || { echo "$prog: $cfg: cannot read the config file" >&2; return 2; }
	mkdir -p "$dir" || return 2
	# A --save directory that others may read (an older run's, or the
	# user's own) is made private, and older stage files go, not kept at
	# their old mode: tee keeps the mode of a file it truncates.
	chmod go= "$dir" || return 2
	rm -f "$dir"/[1-4]-*.ndjson "$dir/summary.json"
	lock "$cfg" || return 2
	# This run's name on its claims, so that those left without a result
	# can be released by this run alone: when, and a random part.
	run=$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
	start=$(date +%s.%N)
	if [ -t 2 ]; then progress "$dir" & progress_pid=$!; fi
	stages_run "$cfg" "$dir"
	end=$(date +%s.%N)
	if [ -n "$progress_pid" ]; then
		kill "$progress_pid" 2>/dev/null; wait "$progress_pid" 2>/dev/null
		progress_pid=
		printf '\r\033[K' >&2
	fi
	judge "$cfg"
	if ! account "$dir" "${stages[3]}"; then
		# The stage that lost records is to blame, not the commit after it.
		case $failed_stage in ''|"${stages[4]}") failed_stage=${stages[3]} ;; esac
		[ "$worst" -ne 0 ] || worst=1
	fi
	if [ -z "$dry" ] && ! release "$dir"; then [ "$worst" -ne 0 ] || worst=1; fi
	exec 9>&-
	summarise "$dir" "$end" "$start"
	return "$worst"
}

# by_provider FILE: the results in FILE counted by provider and status, as
# {"smtp": {"sent": 14}}.
by_provider() {
	jq -R -n '[inputs | fromjson? | objects | select(.status | IN("sent", "failed", "skipped"))
		| {p: ((.provider | strings) // "unknown"), s: .status}]
		| reduce .[] as $r ({}; .[$r.p][$r.s] += 1)' "$1" 2>/dev/null || echo '{}'
}

# summarise DIR END START: the run's figures in DIR/summary.json.
summarise() {
	local dir=$1 end=$2 start=$3
	jq -n --arg config "$cfg" --argjson fetched "$(lines "$dir/1-fetch.ndjson")" \
		--argjson passed "$(lines "$dir/2-dedupe.ndjson")" \
		--argjson enriched "$(lines "$dir/3-enrich.ndjson")" \
		--argjson sent "$(count_status sent "$dir/4-notify.ndjson")" \
		--argjson failed "$(count_status failed "$dir/4-notify.ndjson")" \
		--argjson skipped "$(count_status skipped "$dir/4-notify.ndjson")" \
		--argjson lost "$lost" --argjson unexpected "$unexpected" \
		--argjson released "$released" --argjson results "$(by_provider "$dir/4-notify.ndjson")" \
		--argjson duration "$(jq -n "($end - $start) * 1000 | round / 1000")" \
		--argjson status "$worst" --arg stage "$failed_stage" --arg dry "$dry" \
		--argjson stages "$(printf '%s\n' "${rcs[@]}" | jq -s .)" \
		--arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		'{config: $config, fetched: $fetched, passed: $passed, enriched: $enriched,
		  sent: $sent, failed: $failed, skipped: $skipped, lost: $lost,
		  unexpected: $unexpected, released: $released, results: $results,
		  durationSeconds: $duration,
		  status: $status, failedStage: (if $stage == "" then null else $stage end),
		  stageExitCodes: {fetch: $stages[0], dedupe: $stages[1], enrich: $stages[2],
		    notify: $stages[3], commit: $stages[4]},
		  dryRun: ($dry != ""), finishedAt: $finished}' >"$dir/summary.json"
}

# The metrics, their help and type, in the order they are written. Counters
# add this run's figures to the previous file's (node_exporter's textfile
# collector reads it; Prometheus's rate() wants counters that only grow).
# shellcheck disable=SC2016 # jq, not the shell, expands these
metrics_jq='
def esc: gsub("\\\\"; "\\\\") | gsub("\""; "\\\"") | gsub("\n"; "\\n");
def defs: [
  ["cartwatch_carts_fetched_total", "counter", "Carts cart-fetch found in the window."],
  ["cartwatch_carts_passed_total", "counter", "Carts cart-dedupe passed on, each claimed for a reminder."],
  ["cartwatch_notifications_total", "counter", "Results of the notify stage, by provider and status (sent, failed, skipped)."],
  ["cartwatch_notifications_lost_total", "counter", "Notifications that entered the notify stage and got no result."],
  ["cartwatch_runs_total", "counter", "Runs, by exit status: 0 ok, 1 some work failed, 2 setup."],
  ["cartwatch_run_duration_seconds", "gauge", "How long the last run took."],
  ["cartwatch_run_exit_status", "gauge", "The last run: 0 ok, 1 some work failed, 2 setup."],
  ["cartwatch_last_run_timestamp_seconds", "gauge", "When the last run ended."],
  ["cartwatch_last_success_timestamp_seconds", "gauge", "When a run last ended with status 0."]];
def kind($n): (defs[] | select(.[0] == $n) | .[1]) // null;
def key: .name + (.labels | to_entries | sort_by(.key) | tojson);
def sample($n; $l; $v): {name: $n, labels: $l, value: $v};
def this_run: .[] as $r | {config: $r.config} as $c | ($r.finishedAt | fromdateiso8601) as $t |
  sample("cartwatch_carts_fetched_total"; $c; $r.fetched),
  sample("cartwatch_carts_passed_total"; $c; $r.passed),
  ($r.results | to_entries[] | .key as $p | .value | to_entries[] |
    sample("cartwatch_notifications_total"; $c + {provider: $p, status: .key}; .value)),
  sample("cartwatch_notifications_lost_total"; $c; $r.lost),
  sample("cartwatch_runs_total"; $c + {status: ($r.status | tostring)}; 1),
  sample("cartwatch_run_duration_seconds"; $c; $r.durationSeconds),
  sample("cartwatch_run_exit_status"; $c; $r.status),
  sample("cartwatch_last_run_timestamp_seconds"; $c; $t),
  (if $r.status == 0 then sample("cartwatch_last_success_timestamp_seconds"; $c; $t)
   else empty end);
# The previous samples of our metrics, then this run added to counters and
# put in place of gauges.
(reduce ($old[0][] | select(kind(.name) != null)) as $s ({}; .[$s | key] = $s)) as $was |
(reduce this_run as $s ($was; ($s | key) as $k |
  .[$k] = if kind($s.name) == "counter" then $s + {value: ((.[$k].value // 0) + $s.value)}
          else $s end)) as $now |
defs[] as [$n, $type, $help] |
([$now[] | select(.name == $n)] | sort_by(key)) as $ss |
if $ss == [] then empty else
  "# HELP \($n) \($help)", "# TYPE \($n) \($type)",
  ($ss[] | "\($n){\(.labels | to_entries | map("\(.key)=\"\(.value | esc)\"") | join(","))} \(.value)")
end
'

# write_metrics FILE SUMMARY...: the metrics in the Prometheus text format,
# written whole and renamed into place, so node_exporter never reads half a file.
write_metrics() {
	local out=$1 tmp
	shift
	tmp=$(mktemp "$(dirname "$out")/.cartwatch-metrics.XXXXXX") || return 1
	jq -rs --slurpfile old <(old_samples "$out") "$metrics_jq" "$@" >"$tmp" &&
		chmod 644 "$tmp" && mv "$tmp" "$out" || { rm -f "$tmp"; return 1; }
}

# old_samples FILE: the samples of an earlier metrics file, as a JSON list of
# {name, labels, value}.
old_samples() {
	[ -f "$1" ] || { echo '[]'; return; }
	jq -R -n '[inputs | select(startswith("cartwatch_")) |
		capture("^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?<labels>.*)\\})? (?<value>[^ ]+)$") |
		{name, value: (.value | tonumber? // null),
		 labels: ([(.labels // "") | scan("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"") |
		   {(.[0]): (.[1] | gsub("\\\\(?<c>.)"; if .c == "n" then "\n" else .c end))}] | add // {})} |
		select(.value != null)]' "$1" 2>/dev/null || echo '[]'
}

status=0 summaries=()
for i in "${!configs[@]}"; do
	cfg=${configs[$i]}
	if [ -n "$save" ]; then
		if [ ${#configs[@]} -eq 1 ]; then dir=$save; else dir=$save/$((i + 1))-$(basename "$cfg" .json); fi
	else
		dir=$work/$i
	fi
	# A configuration error stops the run before cart-fetch: nothing claimed.
	check_stages "$cfg" --check-config && run_one "$cfg" "$dir"
	rc=$?
	if [ -f "$dir/summary.json" ]; then
		summaries+=("$dir/summary.json")
		jq -r --arg p "$prog" '"\($p): \(.config): fetched \(.fetched), passed \(.passed), enriched \(.enriched), sent \(.sent), failed \(.failed), skipped \(.skipped) in \(.durationSeconds * 10 | round / 10) s\(if .dryRun then " (dry run)" else "" end)"' \
			"$dir/summary.json" >&2
	fi
	if [ "$rc" -eq 2 ] || { [ "$rc" -eq 1 ] && [ "$status" -eq 0 ]; }; then status=$rc; fi
done

if [ -n "$report" ] && [ ${#summaries[@]} -gt 0 ]; then
	(umask "$user_umask" && jq -s --argjson status "$status" '{status: $status, runs: .}' \
		"${summaries[@]}" >"$report.tmp") && mv "$report.tmp" "$report" || status=1
fi
if [ -n "$metrics" ] && [ ${#summaries[@]} -gt 0 ]; then
	write_metrics "$metrics" "${summaries[@]}" || { echo "$prog: $metrics: cannot write" >&2; status=1; }
fi
exit "$status"
