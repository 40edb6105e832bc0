#!/bin/sh
# Every repository path the documentation names exists: README.md,
# ARCHITECTURE.md, doc/, man/, contrib/ and the sandbox's README
# (scripts/check-docrefs). A bad path planted in a copy of the tree fails,
# named by file and line.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

expect_exit 0 "check-docrefs passes on the tree" "$top/scripts/check-docrefs"
is "$(cat "$T/stdout")" "" "it says nothing when all is well"
for f in doc/DESIGN.md doc/operations.md cartwatch-run; do
	if [ -e "$top/$f" ]; then ok "$f is in the tree"; else not_ok "$f is not in the tree"; fi
done
has "$top/contrib/systemd/cartwatch@.service" 'doc/operations\.md' \
	"the systemd unit's page is the one in the tree"
# Code and tests cite the contract too: each citation names where it is.
(cd "$top" && grep -rnE '(^|[^/])DESIGN\.md' --exclude=check-docrefs --exclude=0008-docrefs.t \
	common include tools tests scripts examples templates pipeline.sh Makefile) >"$T/bare" || :
is "$(cat "$T/bare")" "" "every citation of the contract in code and tests says doc/DESIGN.md"

# A fresh copy of the tree (what git keeps, not what make made) per plant.
copy() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	tar -C "$top" --exclude=./.git --exclude=./node_modules --exclude='./build*' \
		--exclude=./state -cf - . | tar -C "$T/tree" -xf -
}

copy
expect_exit 0 "the copy passes too" "$top/scripts/check-docrefs" "$T/tree"

# the reference the issue found: the contract cited but not in the tree
copy
rm "$T/tree/doc/DESIGN.md"
expect_exit 1 "a cited doc/DESIGN.md that is missing fails" \
	"$top/scripts/check-docrefs" "$T/tree"
has "$T/stdout" '^ARCHITECTURE\.md:[0-9]+: names doc/DESIGN\.md, which the tree does not have$' \
	"it names the file, the line and the path"
has "$T/stdout" '^doc/operations\.md:[0-9]+: names DESIGN\.md' "a Markdown link to it too"

# the contract cited bare, as the sandbox's README did
copy
sed -i '1s/^/See DESIGN.md, section 4.\n/' "$T/tree/tests/sandbox/README.md"
expect_exit 1 "a bare DESIGN.md, neither beside the page nor at the top, fails" \
	"$top/scripts/check-docrefs" "$T/tree"
has "$T/stdout" '^tests/sandbox/README\.md:1: names DESIGN\.md,' "it is named"

# a source file named on a man page, through mdoc's \& escapes
copy
printf '.Pa common/net/e\\&mail2.c\n' >>"$T/tree/man/cart-notify.1"
expect_exit 1 "a missing source on a man page fails" "$top/scripts/check-docrefs" "$T/tree"
has "$T/stdout" '^man/cart-notify\.1:[0-9]+: names common/net/email2\.c' "it is named"

# the systemd unit's page gone
copy
rm "$T/tree/doc/operations.md"
expect_exit 1 "the unit's missing page fails" "$top/scripts/check-docrefs" "$T/tree"
has "$T/stdout" '^contrib/systemd/cartwatch@\.service:[0-9]+: names doc/operations\.md' \
	"the unit is named"

# a glob or a placeholder that matches nothing, in the sandbox's README
copy
printf 'See `man/*.9` and `tests/sandbox/svc_NAME.rb`.\n' >>"$T/tree/tests/sandbox/README.md"
expect_exit 1 "a glob and a placeholder matching nothing fail" \
	"$top/scripts/check-docrefs" "$T/tree"
has "$T/stdout" 'names man/\*\.9,' "the glob is named"
has "$T/stdout" 'names tests/sandbox/svc_NAME\.rb,' "the placeholder is named"

# what is not a path of ours is left alone: absolute paths, build/, URLs
copy
printf 'Installed as /usr/local/share/cartwatch/templates/x.html; see build/demo/mail/ and https://example.com/doc/none.md.\n' \
	>>"$T/tree/README.md"
expect_exit 0 "absolute paths, build/ and URLs are not checked" \
	"$top/scripts/check-docrefs" "$T/tree"

expect_exit 2 "an option it does not know is a usage error" "$top/scripts/check-docrefs" -x
expect_exit 2 "a folder without a tree is an error" "$top/scripts/check-docrefs" "$T/nowhere"

done_testing
