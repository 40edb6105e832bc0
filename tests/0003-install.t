#!/bin/sh
# make install puts tools and man pages under DESTDIR/PREFIX; uninstall removes them.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

dest=$T/dest
# O= the build under test, which is up to date: install copies, it builds nothing.
expect_exit 0 "make install" make -s -C "$top" install O="$CW_BUILD" DESTDIR="$dest" PREFIX=/opt/cw
for f in bin/kv-secret bin/cart-fetch bin/cart-dedupe bin/cart-enrich bin/cart-notify \
    bin/cartwatch-run share/man/man1/kv-secret.1 share/man/man1/cart-notify.1 \
    share/man/man7/cartwatch.7 share/cartwatch/templates/cart.html share/cartwatch/templates/cart.txt; do
	if [ -f "$dest/opt/cw/$f" ]; then ok "installed $f"; else not_ok "installed $f"; fi
done
if [ -x "$dest/opt/cw/bin/kv-secret" ]; then ok "the tool is executable"; else not_ok "the tool is executable"; fi
expect_exit 0 "the installed tool runs" "$dest/opt/cw/bin/kv-secret" --version
# The installed tree finds its templates wherever it is moved (EXEDIR/../share).
printf '{"notificationId":"n1","cartId":"c1","email":"a@example.com","firstName":"Ann","orderDetails":[]}\n' >"$T/n.ndjson"
printf '{"Cartwatch":{"Notify":{"Preview":{"Dir":"%s"}}}}' "$T/pv" >"$T/c.json"
(cd / && "$dest/opt/cw/bin/cart-notify" -c "$T/c.json" --dry-run <"$T/n.ndjson" >"$T/r.ndjson" 2>"$T/stderr") || :
if [ -f "$T/pv/n1.html" ] && grep -q Ann "$T/pv/n1.html"; then ok "the installed cart-notify renders with the installed template"
else not_ok "the installed cart-notify renders with the installed template"; fi
expect_exit 0 "make uninstall" make -s -C "$top" uninstall O="$CW_BUILD" DESTDIR="$dest" PREFIX=/opt/cw
left=$(find "$dest" -type f | wc -l | tr -d ' ')
is "$left" 0 "uninstall leaves no file behind"

done_testing
