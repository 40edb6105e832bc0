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
	echo "usage: $prog [-c FILE]... [--save DIR] [--dry-run] [--from ISO --to ISO]" \
		"[--report FILE] [--metrics FILE] [--notify COMMAND]" >&3
	echo "       $prog [-c FILE]... [--dry-run] [--notify COMMAND] --check" >&3
	exit "${1:-2}"
}
die() { echo "$prog: $*" >&2; exit 2; }

configs=() save='' dry='' from='' to='' report='' metrics='' notify='' check=''
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
	-h|--help) usage 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage ;;
	esac
done
[ ${#configs[@]} -gt 0 ] || configs=("${CARTWATCH_CONFIG:-./appsettings.json}")
if [ -n "$from$to" ] && { [ -z "$from" ] || [ -z "$to" ]; }; then die "--from and --to go together"; fi

# The tools beside this script (a build tree, or an install), else on PATH.
here=$(cd "$(dirname "$0")" && pwd)
for d in "${CW_BUILD:-}" "$here/build" "$here"; do
	if [ -n "$d" ] && [ -x "$d/cart-fetch" ]; then PATH=$d:$PATH; break; fi
done
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

# run_one CONFIG DIR: one pipeline; leaves its summary as JSON in DIR/summary.json.
run_one() {
	local cfg=$1 dir=$2 store lock start end rc worst=0 i st failed_stage=
	local -a fetch_args=() notify_args=() dedupe_args=() rcs
	[ -r "$cfg" ] || { echo "$prog: $cfg: cannot read the config file" >&2; return 2; }
	mkdir -p "$dir" || return 2
	# A --save directory that others may read (an older run's, or the
	# user's own) is made private, and older stage files go, not kept at
	# their old mode: tee keeps the mode of a file it truncates.
	chmod go= "$dir" || return 2
	rm -f "$dir"/[1-4]-*.ndjson "$dir/summary.json"
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
	[ -z "$from" ] || fetch_args=(--from "$from" --to "$to")
	if [ -n "$dry" ]; then
		dedupe_args=(--dry-run)
		notify_args=(--dry-run)
		# Kept previews go with the saved stages; else where the config says.
		[ -z "$save" ] || notify_args+=(--preview-dir "$dir/preview")
	fi
	start=$(date +%s.%N)
	if [ -t 2 ]; then progress "$dir" & progress_pid=$!; fi
	if [ -n "$dry" ]; then
		# A dry run claims nothing and commits nothing.
		cart-fetch -c "$cfg" "${fetch_args[@]}" | tee "$dir/1-fetch.ndjson" |
			cart-dedupe -c "$cfg" "${dedupe_args[@]}" | tee "$dir/2-dedupe.ndjson" |
			cart-enrich -c "$cfg" | tee "$dir/3-enrich.ndjson" |
			notify_stage "$cfg" "${notify_args[@]}" >"$dir/4-notify.ndjson"
		rcs=("${PIPESTATUS[@]}")
		rcs=("${rcs[0]}" "${rcs[2]}" "${rcs[4]}" "${rcs[6]}" 0)
	else
		cart-fetch -c "$cfg" "${fetch_args[@]}" | tee "$dir/1-fetch.ndjson" |
			cart-dedupe -c "$cfg" | tee "$dir/2-dedupe.ndjson" |
			cart-enrich -c "$cfg" | tee "$dir/3-enrich.ndjson" |
			notify_stage "$cfg" | tee "$dir/4-notify.ndjson" |
			cart-dedupe -c "$cfg" --commit
		rcs=("${PIPESTATUS[@]}")
		rcs=("${rcs[0]}" "${rcs[2]}" "${rcs[4]}" "${rcs[6]}" "${rcs[8]}")
	fi
	end=$(date +%s.%N)
	if [ -n "$progress_pid" ]; then
		kill "$progress_pid" 2>/dev/null; wait "$progress_pid" 2>/dev/null
		progress_pid=
		printf '\r\033[K' >&2
	fi
	exec 9>&-
	# The run's status: 2 if a stage was set up wrong, else 1 if one failed.
	for i in 0 1 2 3 4; do
		st=${rcs[$i]}
		[ "$st" -le 2 ] || st=1   # killed by a signal: work failed
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
	jq -n --arg config "$cfg" --argjson fetched "$(lines "$dir/1-fetch.ndjson")" \
		--argjson passed "$(lines "$dir/2-dedupe.ndjson")" \
		--argjson enriched "$(lines "$dir/3-enrich.ndjson")" \
		--argjson sent "$(count_status sent "$dir/4-notify.ndjson")" \
		--argjson failed "$(count_status failed "$dir/4-notify.ndjson")" \
		--argjson skipped "$(count_status skipped "$dir/4-notify.ndjson")" \
		--argjson duration "$(jq -n "($end - $start) * 1000 | round / 1000")" \
		--argjson status "$worst" --arg stage "$failed_stage" --arg dry "$dry" \
		--argjson stages "$(printf '%s\n' "${rcs[@]}" | jq -s .)" \
		--arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		'{config: $config, fetched: $fetched, passed: $passed, enriched: $enriched,
		  sent: $sent, failed: $failed, skipped: $skipped, durationSeconds: $duration,
		  status: $status, failedStage: (if $stage == "" then null else $stage end),
		  stageExitCodes: {fetch: $stages[0], dedupe: $stages[1], enrich: $stages[2],
		    notify: $stages[3], commit: $stages[4]},
		  dryRun: ($dry != ""), finishedAt: $finished}' >"$dir/summary.json"
	return "$worst"
}

# metrics FILE: the summaries in the Prometheus textfile format, written whole
# and renamed into place, so node_exporter never reads half a file.
write_metrics() {
	local out=$1 tmp
	shift
	tmp=$(mktemp "$(dirname "$out")/.cartwatch-metrics.XXXXXX") || return 1
	jq -rs --slurpfile old <(old_success "$out") '
	    def esc: gsub("\\\\"; "\\\\\\\\") | gsub("\""; "\\\"") | gsub("\n"; "\\n");
	    def m(name; help; f): "# HELP cartwatch_\(name) \(help)",
	        "# TYPE cartwatch_\(name) gauge",
	        (.[] | "cartwatch_\(name){config=\"\(.config | esc)\"} \(f)");
	    m("carts_fetched"; "Carts cart-fetch found in the window in the last run."; .fetched),
	    m("carts_passed"; "Carts cart-dedupe passed in the last run."; .passed),
	    m("notifications_enriched"; "Notifications cart-enrich made in the last run."; .enriched),
	    m("notifications_sent"; "Notifications sent in the last run."; .sent),
	    m("notifications_failed"; "Notifications that failed in the last run."; .failed),
	    m("notifications_skipped"; "Notifications skipped in the last run."; .skipped),
	    m("run_duration_seconds"; "How long the last run took."; .durationSeconds),
	    m("run_exit_status"; "The last run: 0 ok, 1 some work failed, 2 setup."; .status),
	    m("last_success_timestamp_seconds"; "When a run last ended with status 0.";
	      (if .status == 0 then (.finishedAt | fromdateiso8601)
	       else ($old[0][.config] // 0) end))
	' "$@" >"$tmp" && chmod 644 "$tmp" && mv "$tmp" "$out" || { rm -f "$tmp"; return 1; }
}

# old_success FILE: the last success times in an earlier metrics file, as JSON.
old_success() {
	[ -f "$1" ] || { echo '{}'; return; }
	sed -n 's/^cartwatch_last_success_timestamp_seconds{config="\(.*\)"} \([0-9.e+]*\)$/\1\t\2/p' "$1" |
		jq -Rn '[inputs | split("\t") | {(.[0]): (.[1] | tonumber)}] | add // {}'
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
		[ ! -d "$dir/preview" ] || echo "$prog: previews in $dir/preview" >&2
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
