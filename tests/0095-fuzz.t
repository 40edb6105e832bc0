#!/bin/sh
# The libFuzzer harnesses (tests/fuzz/, see the README's Tests section): each
# builds with clang, passes every input of its checked-in corpus (the
# regression seeds among them), then fuzzes for a few seconds on a copy of it.
# `make fuzz` runs them longer. Without clang and its libFuzzer runtime this
# fails rather than skips (scripts/install-deps installs them).
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"

fuzz=$top/build-fuzz

# why: the line that says what failed, from the harness or a sanitizer.
why() {
	grep -a -m1 -E 'property failed|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' \
		"$T/stderr" | sed 's/^/#   why: /' >&2 || :
}
# A fuzz build of its own, whatever make invoked the suite (SANITIZE=1, O=...).
unset MAKEFLAGS MFLAGS MAKELEVEL
run make -C "$top" -s -j2 SANITIZE=fuzz O=build-fuzz fuzz-bin
if [ "$rc" != 0 ]; then
	not_ok "the harnesses build with clang and libFuzzer (make SANITIZE=fuzz fuzz-bin)"
	done_testing
	exit
fi
ok "the harnesses build with clang and libFuzzer"

for src in "$top"/tests/fuzz/*.c; do
	name=$(basename "$src" .c)
	bin=$fuzz/tests/fuzz/$name
	seeds=$top/tests/fuzz/corpus/$name
	if [ -n "$(ls "$seeds" 2>/dev/null)" ]; then ok "$name: has seeds"; else
		not_ok "$name: no seeds in tests/fuzz/corpus/$name"; continue; fi

	# Each seed once, with its own verdict. abort() is left to the system,
	# so a property's message is the last thing printed.
	for seed in "$seeds"/*; do
		expect_exit 0 "$name: seed ${seed##*/} passes" "$bin" -handle_abrt=0 "$seed"
		[ "$rc" = 0 ] || why
	done

	# A copy: libFuzzer adds what it finds to the corpus directory it is given.
	mkdir "$T/corpus-$name"
	cp "$seeds"/* "$T/corpus-$name/"
	mkdir -p "$fuzz/artifacts/$name"
	expect_exit 0 "$name: 3 s of fuzzing find nothing (a failing input is kept in build-fuzz/artifacts/$name/)" \
		"$bin" -max_total_time=3 -runs=300000 -timeout=10 -close_fd_mask=2 \
		-artifact_prefix="$fuzz/artifacts/$name/" "$T/corpus-$name"
	[ "$rc" = 0 ] || why
done

# negative: a harness whose property fails does fail the run
cat >"$T/bad.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { if (n > 0 && d[0] == 'x') abort(); return 0; }
C
printf 'x' >"$T/bad.seed"
run clang -fsanitize=fuzzer -o "$T/bad" "$T/bad.c"
expect_fail "a seed that breaks its property fails the replay" "$T/bad" "$T/bad.seed"

done_testing
