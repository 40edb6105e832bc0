#!/bin/sh
# One table of configuration keys (common/core/keys.c): scripts/check-config-keys
# passes on the tree, and fails, naming the key, when the code reads a key the
# table lacks, a man page documents one it lacks, or the table has a key that
# no code reads or that man/cartwatch.7 does not list; each planted in a copy.
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

check=$top/scripts/check-config-keys
expect_exit 0 "the driver prints the table" "$CW_BUILD/tests/drivers/config_keys"
cp "$T/stdout" "$T/keys"
is "$(awk -F '\t' 'NF != 6' "$T/keys")" "" "every line is name, type, default, range, alias, doc"
has "$T/keys" '^Cartwatch\.Http\.MaxAttempts	int	5	1\.\.100	-	' "an int has its default and range"
has "$T/keys" '^KeyVaultOptions\.KeyVaultUrl	str	-	-	KeyVaultOptions\.KeyVaultURI	' \
	"an alias is the same row"
has "$T/keys" '^MediaOptions\.ImageViewPorts\.\*\.imageWidth	int	' "an array's members are one row"
is "$(cut -f 1 "$T/keys" | sort | uniq -d)" "" "no key has two rows"

expect_exit 0 "check-config-keys passes on the tree" "$check" "$T/keys"
is "$(cat "$T/stdout")" "" "it says nothing when all is well"

# A fresh copy of the code and the man pages for each plant.
copy() {
	rm -rf "$T/tree"
	mkdir -p "$T/tree"
	cp -R "$top/common" "$top/tools" "$top/man" "$T/tree/"
}

copy
expect_exit 0 "the copy passes too" "$check" "$T/keys" "$T/tree"

# (a) code that reads a key the table lacks, in each way code names a key
copy
cat >>"$T/tree/tools/cart-fetch.c" <<'EOF'
static int
planted(struct cw_config *c)
{
	return cw_config_bool(c,
	    "Cartwatch.NoSuchKey");
}
EOF
expect_exit 1 "a read of a key the table lacks fails" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^tools/cart-fetch\.c:[0-9]+: reads Cartwatch\.NoSuchKey, which the table lacks$' \
	"it names the file, the line and the key"

copy
printf 'static const char *p(struct cw_config *c) { return cw_config_str(c, "Other.Key"); }\n' \
	>>"$T/tree/common/state/ledger.c"
expect_exit 1 "a getter's key in another section fails too" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^common/state/ledger\.c:[0-9]+: reads Other\.Key, which the table lacks$' \
	"it is named"

copy
printf 'static const char k[] = "Cartwatch.Reminders.%%zu.Delay";\n' >>"$T/tree/common/state/ledger.c"
expect_exit 1 "a key made with an index fails" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^common/state/ledger\.c:[0-9]+: reads Cartwatch\.Reminders\.\*\.Delay, which the table lacks$' \
	"it is named with its index as *"

copy
printf 'static long long n(struct cw_config *c) { return cw_config_int_raw(c, "Cartwatch.Http.TimeoutMs", 1, 0, 9); }\n' \
	>>"$T/tree/common/net/http.c"
expect_exit 1 "a _raw getter in the code fails" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^common/net/http\.c:[0-9]+: calls cw_config_int_raw, which bypasses the table$' \
	"it is named"

# (b) a man page that documents a key the table lacks
copy
printf '.Pp\n.Cm Cartwatch.Enrich.Threads\nsets the threads.\n' >>"$T/tree/man/cart-enrich.1"
expect_exit 1 "a documented key the table lacks fails" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^man/cart-enrich\.1:[0-9]+: documents Cartwatch\.Enrich\.Threads, which the table lacks$' \
	"it names the page, the line and the key"

# (c) a row that no code reads, or that cartwatch.7 does not list
copy
cp "$T/keys" "$T/keys.plus"
printf 'Cartwatch.Planted\tstr\t-\t-\t-\ta row of the test\n' >>"$T/keys.plus"
expect_exit 1 "a row no code reads and no page lists fails" "$check" "$T/keys.plus" "$T/tree"
has "$T/stdout" '^Cartwatch\.Planted: in the table, but no code reads it$' "no code reads it"
has "$T/stdout" '^Cartwatch\.Planted: in the table, but man/cartwatch\.7 does not list it$' \
	"no page lists it"

copy
sed -i '/"Cartwatch\.Notify\.CheckOptOuts"/d' "$T/tree/tools/cart-notify.c"
expect_exit 1 "a row whose one read is gone fails" "$check" "$T/keys" "$T/tree"
is "$(cat "$T/stdout")" "Cartwatch.Notify.CheckOptOuts: in the table, but no code reads it" \
	"only that key is named"

copy
sed -i '/^\.It Cm Cartwatch\.Enrich\.ProductCacheSize$/d' "$T/tree/man/cartwatch.7"
expect_exit 1 "a key cartwatch.7 no longer lists fails, though cart-enrich.1 names it" \
	"$check" "$T/keys" "$T/tree"
is "$(cat "$T/stdout")" \
	"Cartwatch.Enrich.ProductCacheSize: in the table, but man/cartwatch.7 does not list it" \
	"only that key is named"

copy
sed -i '/^\.It Cm Cartwatch\.Reminders$/d' "$T/tree/man/cartwatch.7"
expect_exit 1 "an array's members are documented with the array" "$check" "$T/keys" "$T/tree"
has "$T/stdout" '^Cartwatch\.Reminders\.\*\.AfterMinutes: in the table, but man/cartwatch\.7 does not list it$' \
	"its members are named with it"

expect_exit 2 "no table is a usage error" "$check"
expect_exit 2 "an option it does not know is a usage error" "$check" -x
expect_exit 2 "a folder without the code is an error" "$check" "$T/keys" "$T/nowhere"
has "$T/stderr" "no common/, tools/ and man/ here" "it says why"

done_testing
