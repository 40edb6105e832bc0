#!/bin/sh
# The library's folders are its layers (ARCHITECTURE.md): scripts/check-layers
# passes on the tree, and fails, naming file and line, on each kind of
# violation planted in a copy of it, ARCHITECTURE.md's list of files included.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

expect_exit 0 "check-layers passes on the tree" "$top/scripts/check-layers"
is "$(cat "$T/stdout")" "" "check-layers says nothing when all is well"

# A fresh copy of the library for each plant.
copy() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	cp -R "$top/common" "$top/include" "$top/ARCHITECTURE.md" "$T/tree/"
}

copy
expect_exit 0 "the copy passes too" "$top/scripts/check-layers" "$T/tree"

# an include that points up: core/json.c reaching the provider interface
copy
sed -i '0,/^#include "cw\//s//#include "cw\/notify\/provider.h"\n&/' "$T/tree/common/core/json.c"
expect_exit 1 "an include pointing up fails" "$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/core/json\.c:[0-9]+: includes "cw/notify/provider\.h": notify is above core$' \
	"it names the file, the line and the layers"

# the same in a header
copy
sed -i '0,/^#define CW_/s//#include "cw\/tool\/tool.h"\n&/' "$T/tree/include/cw/net/http.h"
expect_exit 1 "a header including upward fails" "$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^include/cw/net/http\.h:[0-9]+: includes "cw/tool/tool\.h": tool is above net$' \
	"it names the header"

# an include without its layer
copy
printf '#include "cw/util.h"\n' >>"$T/tree/common/state/ledger.c"
expect_exit 1 "an include without a layer fails" "$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/state/ledger\.c:[0-9]+: includes "cw/util\.h"' "it names it"

# a source outside any layer, and a folder that is not a layer
copy
printf 'int x;\n' >"$T/tree/common/loose.c"
mkdir "$T/tree/common/misc"
printf 'int y;\n' >"$T/tree/common/misc/y.c"
expect_exit 1 "files outside the layers fail" "$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/loose\.c: not in a layer folder' "a loose file is named"
has "$T/stdout" '^common/misc/y\.c: folder "misc" is not a layer' "a stray folder is named"

# a header not beside its source: include/ mirrors common/
copy
mv "$T/tree/include/cw/net/smtp.h" "$T/tree/include/cw/mail/smtp.h"
expect_exit 1 "a header in another layer than its source fails" \
	"$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/net/smtp\.c: its header is in include/cw/mail/' "the pair is named"

expect_exit 2 "an option it does not know is a usage error" "$top/scripts/check-layers" -x
expect_exit 2 "a folder without the library is an error" "$top/scripts/check-layers" "$T/nowhere"
has "$T/stderr" "no common/, include/cw/ and ARCHITECTURE.md here" "it says why"

# ARCHITECTURE.md names every source under its layer, and nothing else
copy
sed -i '/^- `ledger\.c`/d' "$T/tree/ARCHITECTURE.md"
expect_exit 1 "a source ARCHITECTURE.md leaves out fails" "$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/state/ledger\.c: not in ARCHITECTURE\.md \(under "### state/"\)$' \
	"it names the file and the section it belongs in"
copy
sed -i 's/^- `json\.c`/- `jsonx.c`/' "$T/tree/ARCHITECTURE.md"
expect_exit 1 "a file ARCHITECTURE.md names that is not there fails" \
	"$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^ARCHITECTURE\.md:[0-9]+: names core/jsonx\.c, which common/ does not have$' \
	"it names the line"
copy
mv "$T/tree/common/core/ascii.c" "$T/tree/common/net/ascii.c"
mv "$T/tree/include/cw/core/util.h" "$T/tree/include/cw/net/util.h"
expect_exit 1 "a file moved to another layer without the page fails" \
	"$top/scripts/check-layers" "$T/tree"
has "$T/stdout" '^common/net/ascii\.c: not in ARCHITECTURE\.md' "the moved file is named"

done_testing
