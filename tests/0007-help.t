#!/bin/sh
# Every tool's --help (issue 13): the synopsis, then each long option the
# tool accepts (its getopt table) or its manual lists, a line each, then
# "See TOOL(1)."; and --version. A planted option the help lacks is caught.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

# options SRC MAN: the long options the source takes (a C tool's getopt
# table, the case patterns of pipeline.sh) and the manual's SYNOPSIS and
# option list name, one a line, sorted, unique.
options() {
	{
		sed -n 's/.*{"\([a-z][a-z-]*\)", *\(no\|required\|optional\)_argument.*/\1/p' "$1"
		sed -n 's/^[[:space:]]*\(-[a-z]|\)\{0,1\}--\([a-z][a-z-]*\)).*/\2/p' "$1"
		awk '/^\.Sh /{ s = $2 } s == "SYNOPSIS" || /^\.It Fl/' "$2" |
		    grep -o 'Fl \\-[a-z][a-z-]*' | sed 's/^Fl \\-//'
	} | sort -u
}

# missing HELP SRC MAN: the options of SRC and MAN that HELP (a --help
# output) does not show at the start of a line of the options list.
missing() {
	options "$2" "$3" | while read -r o; do
		grep -Eq -- "^  (-[a-zA-Z], )?--$o( |$)" "$1" || echo "$o"
	done
}

# cartwatch-run is pipeline.sh, installed under that name.
for tool in cart-fetch cart-dedupe cart-enrich cart-notify kv-secret cartwatch-run; do
	case $tool in
	cartwatch-run) src=$top/pipeline.sh cmd=$top/pipeline.sh prog=pipeline.sh ;;
	*) src=$top/tools/$tool.c cmd=$tool prog=$tool ;;
	esac
	expect_exit 0 "$tool --help" "$cmd" --help
	cp "$T/stdout" "$T/$tool.help"
	has "$T/$tool.help" "^usage: $prog " "$tool --help: starts with the synopsis"
	is "$(tail -n 1 "$T/$tool.help")" "See $tool(1)." "$tool --help: names its manual last"
	n=$(options "$src" "$top/man/$tool.1" | wc -l | tr -d ' ')
	[ "$n" -ge 3 ] && ok "$tool: $n long options found" || not_ok "$tool: only $n long options found"
	is "$(missing "$T/$tool.help" "$src" "$top/man/$tool.1" | tr '\n' ' ')" "" \
		"$tool --help: every long option, a line each"
	is "$(options "$src" /dev/null | tr '\n' ' ')" \
		"$(options /dev/null "$top/man/$tool.1" | tr '\n' ' ')" \
		"$tool: the manual lists the options the tool takes"
	expect_exit 0 "$tool --version" "$cmd" --version
	has "$T/stdout" "^$prog \\(cartwatch\\) [0-9]" "$tool --version: names the tool and version"
	expect_exit 2 "$tool --no-such-option" "$cmd" --no-such-option
	has "$T/stderr" "^usage: $prog " "$tool: a usage error shows the synopsis"
	lacks "$T/stderr" "^See " "$tool: and not the whole help"
done

# Planted: an option the manual lists, and one the source takes (C or
# shell), that the help lacks, are each found.
sed 's/^\.Sh DESCRIPTION$/.Op Fl \\-planted-in-man\n&/' "$top/man/cart-fetch.1" >"$T/planted.1"
printf '\t{"planted-in-src", no_argument, NULL, 1},\n' | cat "$top/tools/cart-fetch.c" - >"$T/planted.c"
is "$(missing "$T/cart-fetch.help" "$T/planted.c" "$T/planted.1" | tr '\n' ' ')" \
	"planted-in-man planted-in-src " "a planted option the help lacks is caught"
sed 's/^\t--save)/\t--planted-in-sh) shift ;;\n&/' "$top/pipeline.sh" >"$T/planted.sh"
is "$(missing "$T/cartwatch-run.help" "$T/planted.sh" "$top/man/cartwatch-run.1" | tr '\n' ' ')" \
	"planted-in-sh " "a planted option of pipeline.sh the help lacks is caught"

done_testing
