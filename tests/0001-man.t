#!/bin/sh
# Every man page is clean mdoc and renders without warnings; every tool has one.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

for page in "$top"/man/*.[0-9]; do
	name=${page##*/}
	expect_exit 0 "$name: mandoc -T lint is clean" mandoc -T lint -W warning "$page"
	run sh -c "MANWIDTH=80 man -l '$page' >/dev/null"
	is "$(cat "$T/stderr")" "" "$name: man -l renders without a warning"
done

# negative: the linter does catch a broken page
printf '.Dd November 24, 2026\n.Dt BROKEN 1\n.Os\n.Sh NAME\n.Bd -literal\n' >"$T/broken.1"
expect_fail "a broken page fails the lint" mandoc -T lint -W warning "$T/broken.1"

for tool in "$CW_BUILD"/*; do
	[ -f "$tool" ] && [ -x "$tool" ] || continue
	name=${tool##*/}
	if [ -f "$top/man/$name.1" ]; then ok "$name has a man page"; else not_ok "$name has no man page"; fi
	expect_exit 0 "$name --help exits 0" "$tool" --help
	has "$T/stdout" "^usage: $name " "$name --help prints its synopsis"
	expect_exit 2 "$name with an unknown option exits 2" "$tool" --no-such-option
	has "$T/stderr" "^usage: $name " "$name prints its synopsis on a usage error"
	expect_exit 0 "$name --version exits 0" "$tool" --version
	has "$T/stdout" "^$name \\(cartwatch\\) [0-9]" "$name --version names tool and version"
done

done_testing
