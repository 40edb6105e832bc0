#!/bin/sh
# Functions a reader can hold: scripts/check-functions passes on the tree and
# fails, naming file, line and function, on a long one planted in a copy.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

expect_exit 0 "check-functions passes on the tree" "$top/scripts/check-functions"
is "$(cat "$T/stdout")" "" "it says nothing when all is well"

copy() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	cp -R "$top/common" "$top/tools" "$T/tree/"
}

# plant FILE NAME LINES: a function NAME of LINES lines (braces included),
# its parameters over two lines, at the end of FILE.
plant() {
	{
		printf '\nstatic int\n%s(int a,\n    int b)\n{\n' "$2"
		i=3
		while [ "$i" -lt "$3" ]; do printf '\ta += b;\n'; i=$((i + 1)); done
		printf '\treturn a;\n}\n'
	} >>"$1"
}

copy
plant "$T/tree/common/core/json.c" just_fits 80
expect_exit 0 "80 lines in the library pass" "$top/scripts/check-functions" "$T/tree"

copy
plant "$T/tree/common/core/json.c" too_long 81
expect_exit 1 "81 lines in the library fail" "$top/scripts/check-functions" "$T/tree"
has "$T/stdout" '^common/core/json\.c:[0-9]+: too_long is 81 lines, over 80$' \
	"it names the file, the line and the function"

copy
plant "$T/tree/tools/kv-secret.c" helper 200
expect_exit 0 "a tool's own helpers are not held to it" "$top/scripts/check-functions" "$T/tree"

copy
plant "$T/tree/tools/extra.c" main 60
expect_exit 0 "a main() of 60 lines passes" "$top/scripts/check-functions" "$T/tree"

copy
plant "$T/tree/tools/extra.c" main 61
expect_exit 1 "a main() of 61 lines fails" "$top/scripts/check-functions" "$T/tree"
has "$T/stdout" '^tools/extra\.c:[0-9]+: main is 61 lines, over 60$' "it names main"

expect_exit 2 "an unknown option is a usage error" "$top/scripts/check-functions" -x
expect_exit 2 "a folder without the code is an error" "$top/scripts/check-functions" "$T/nowhere"

done_testing
