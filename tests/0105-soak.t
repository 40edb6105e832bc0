#!/bin/sh
# The crash soak, short form (make soak runs 50): scripts/soak with 5 runs,
# one per provider, each SIGKILLed at a random moment and then run clean: 0
# lost, 0 effective duplicates, at most once more per kill, integrity_check ok.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

SOAK_RUNS=${SOAK_RUNS:-5} run "$top/scripts/soak" --json "$T/soak.json"
is "$rc" 0 "scripts/soak: every check holds"
has "$T/stdout" '^soak: [0-9]+ runs, seed [0-9]+' "it prints its seed"
has "$T/stdout" '^total +5 ' "and its figures"
is "$(jq -r '.pass' "$T/soak.json")" true "--json says so too"
is "$(jq -r '.total.runs' "$T/soak.json")" 5 "with every run counted"
done_testing
