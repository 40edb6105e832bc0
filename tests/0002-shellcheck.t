#!/bin/sh
# Every shell script in the tree is shellcheck-clean at warning level.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

cd "$top"
for f in pipeline.sh .ci/run scripts/* examples/*.sh tests/lib.sh tests/*.t tests/dedupe-cases.sh; do
	head -n 1 "$f" | grep -q "^#!.*sh" || [ "$f" = tests/lib.sh ] || [ "$f" = tests/dedupe-cases.sh ] || continue
	expect_exit 0 "shellcheck $f" shellcheck -x -S warning "$f"
done

# negative: shellcheck does flag a real mistake
printf '#!/bin/sh\nrm -rf $1/*\n' >"$T/bad.sh"
expect_fail "shellcheck catches an unquoted expansion" shellcheck -S warning "$T/bad.sh"

done_testing
