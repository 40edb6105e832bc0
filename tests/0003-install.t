#!/bin/sh
# make install puts tools and man pages under DESTDIR/PREFIX; uninstall removes them.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

dest=$T/dest
# O= the build under test, which is up to date: install copies, it builds nothing.
expect_exit 0 "make install" make -s -C "$top" install O="$CW_BUILD" DESTDIR="$dest" PREFIX=/opt/cw
for f in bin/kv-secret share/man/man1/kv-secret.1 share/man/man7/cartwatch.7; do
	if [ -f "$dest/opt/cw/$f" ]; then ok "installed $f"; else not_ok "installed $f"; fi
done
if [ -x "$dest/opt/cw/bin/kv-secret" ]; then ok "the tool is executable"; else not_ok "the tool is executable"; fi
expect_exit 0 "the installed tool runs" "$dest/opt/cw/bin/kv-secret" --version
expect_exit 0 "make uninstall" make -s -C "$top" uninstall O="$CW_BUILD" DESTDIR="$dest" PREFIX=/opt/cw
left=$(find "$dest" -type f | wc -l | tr -d ' ')
is "$left" 0 "uninstall leaves no file behind"

done_testing
