# cartwatch: abandoned-cart reminders for Dynamics 365 Commerce, as a pipeline of small tools.
# Honours the user's CFLAGS; warnings are always on and are errors when CI=true or WERROR=1.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/cartwatch
DESTDIR ?=
PKG_CONFIG ?= pkg-config

# ICU (icu-i18n, icu-uc) formats the prices an email shows (common/mail/money.c).
PKGS := libcurl jansson libcrypto sqlite3 icu-i18n icu-uc
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wundef -Wno-format-nonliteral
ifeq ($(CI),true)
WERROR ?= 1
endif
ifeq ($(WERROR),1)
WARN += -Werror
endif

ifeq ($(SANITIZE),1)
O ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),fuzz)
# The libFuzzer build (make fuzz, tests/0095-fuzz.t): the library and the
# harnesses with clang, instrumented for coverage, ASan and UBSan.
O ?= build-fuzz
FUZZ_CC ?= clang
override CC := $(FUZZ_CC)
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
# gcc's build holds the warnings to -Werror; clang's own (such as
# -Wsometimes-uninitialized through jansson's foreach macros) must not stop it.
WARN := $(filter-out -Werror,$(WARN))
else
O ?= build
SANFLAGS :=
endif

# Hardening, on by default. The stack protector costs little anywhere.
# _FORTIFY_SOURCE=2 checks buffer sizes in the libc calls the compiler can see,
# but only when optimising: it is added when the user's CFLAGS optimise and
# neither they, the CPPFLAGS nor the compiler (Ubuntu's does) set it already.
# Not in sanitizer builds: ASan does not support source fortification (the
# __*_chk wrappers hide accesses from its interceptors), and it checks more.
HARDEN := -fstack-protector-strong
ifeq ($(SANFLAGS),)
fortify_probe := $(shell $(CC) $(CPPFLAGS) $(CFLAGS) -dM -E -x c /dev/null 2>/dev/null | \
	sed -n 's/^\#define \(__OPTIMIZE__\|_FORTIFY_SOURCE\) .*/\1/p')
ifeq ($(filter _FORTIFY_SOURCE,$(fortify_probe))$(filter __OPTIMIZE__,$(fortify_probe)),__OPTIMIZE__)
FORTIFY := -D_FORTIFY_SOURCE=2
endif
else
FORTIFY := -U_FORTIFY_SOURCE
endif

ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -DTEMPLATEDIR='"$(DATADIR)/templates"' $(FORTIFY) \
	$(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CPPFLAGS)
ALL_CFLAGS = -std=c11 $(WARN) $(HARDEN) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(LDLIBS)

TOOLS := kv-secret cart-fetch cart-dedupe cart-enrich cart-notify
LIB_SRC := $(sort $(wildcard common/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)
# Test drivers: programs the shell tests run against real services.
DRIVER_SRC := $(sort $(wildcard tests/drivers/*.c))
DRIVER_BIN := $(DRIVER_SRC:%.c=$(O)/%)
BINS := $(TOOLS:%=$(O)/%)
# libFuzzer harnesses (tests/fuzz/NAME.c), each with its seeds in
# tests/fuzz/corpus/NAME/; built by SANITIZE=fuzz only.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/*.c))
FUZZ_NAMES := $(notdir $(FUZZ_SRC:.c=))
FUZZ_BIN := $(FUZZ_NAMES:%=$(O)/tests/fuzz/%)
FUZZ_SECONDS ?= 60
MAN1 := $(TOOLS:%=man/%.1) man/cartwatch-run.1
MAN7 := man/cartwatch.7

all: $(BINS)

$(O)/libcw.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/%: $(O)/tools/%.o $(O)/libcw.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libcw.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $$($(PKG_CONFIG) --libs cmocka) $(LIBS)

$(O)/tests/drivers/%: $(O)/tests/drivers/%.o $(O)/libcw.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(O)/libcw.a
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

unit: $(UNIT_BIN) $(DRIVER_BIN)

# The suite first installs what a fresh machine lacks, then builds with the
# toolchain it found (a second make, so pkg-config runs after the install).
check:
	scripts/install-deps --test
	$(MAKE) check-run

check-run: check-layers check-functions all unit
	CW_BUILD=$(abspath $(O)) CMOCKA_MESSAGE_OUTPUT=TAP \
		prove --exec '' -j2 $(if $(V),-v) $(UNIT_BIN) $(sort $(wildcard tests/*.t))

# The library's folders are its layers: no include may point up (ARCHITECTURE.md).
check-layers:
	scripts/check-layers

# No library function over 80 lines, no tool's main() over 60.
check-functions:
	scripts/check-functions

# Like check: a fresh machine gets what it lacks before the build.
# Throughput and memory per stage on the sandbox: medians, for the README.
bench: all
	scripts/bench

# No --test: the demo starts no Cosmos DB server, so it runs no npm.
demo:
	scripts/install-deps
	$(MAKE) all
	scripts/demo

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(DATADIR)/templates
	for t in $(TOOLS); do install -m 755 $(O)/$$t $(DESTDIR)$(BINDIR)/$$t || exit; done
	install -m 755 pipeline.sh $(DESTDIR)$(BINDIR)/cartwatch-run
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	install -m 644 templates/* $(DESTDIR)$(DATADIR)/templates/

uninstall:
	for t in $(TOOLS) cartwatch-run; do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	rm -rf $(DESTDIR)$(DATADIR)
	for m in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${m#man/}; done

fuzz-bin: $(FUZZ_BIN)

# Each harness for FUZZ_SECONDS on a copy of its seeds in build-fuzz/corpus
# (what it finds stays there, never in the checked-in corpus); a failing input
# is kept in build-fuzz/artifacts/NAME/. Every harness runs even when one fails.
fuzz:
	$(MAKE) SANITIZE=fuzz fuzz-bin
	@failed=; for f in $(FUZZ_NAMES); do \
		mkdir -p build-fuzz/corpus/$$f build-fuzz/artifacts/$$f; \
		cp tests/fuzz/corpus/$$f/* build-fuzz/corpus/$$f/; \
		echo "fuzz: $$f for $(FUZZ_SECONDS) s"; \
		build-fuzz/tests/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		    -close_fd_mask=2 -print_final_stats=1 \
		    -artifact_prefix=build-fuzz/artifacts/$$f/ build-fuzz/corpus/$$f || \
		    failed="$$failed $$f"; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failed:$$failed (see build-fuzz/artifacts/)"; exit 1; fi

# The crash soak: the pipeline SIGKILLed at random moments, then run clean.
soak: all
	scripts/soak

# Static analysis of the library and the tools with clang-tidy, one file per
# job (make -j2 lint). The checks: bugprone-*, cert-* and the clang static
# analyser, less those that only flag what this code does on purpose:
#  bugprone-easily-swappable-parameters: API shape (two strings side by side).
#  bugprone-implicit-widening-of-multiplication-result: int products of small
#    constants (60 * 24, 3 * tm_mon), far from overflowing.
#  bugprone-not-null-terminated-result: memcpy into counted buffers (wsse.c).
#  bugprone-narrowing-conversions: char arithmetic on ASCII letters (cosmos.c).
#  bugprone-signed-char-misuse, cert-str34-c: strchr(set, *p), where a plain
#    char is what strchr compares (render.c).
#  cert-err33-c: unchecked printf/snprintf results; output is checked once
#    with ferror() by cw_eoutput_finish(), and snprintf truncation is meant.
#  clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling:
#    wants C11 Annex K (snprintf_s), which glibc does not have.
#  clang-analyzer-security.insecureAPI.strcpy: bans strcpy outright; the
#    strcpy calls copy constants or measured strings, and FORTIFY checks them.
#  bugprone-sizeof-expression: clang-tidy 14 flags cw_calloc(n, sizeof(*p))
#    for p an array of struct pointers, the allocation idiom here (batch.c,
#    cart-notify.c); 15 can turn just that off (WarnOnSizeOfPointerToAggregate).
# Per file, where a check is wrong about one spot (to re-check when the file
# changes). The analyser does not see across files, so it takes a function
# that fails through `return cw_seterr(...)` (always -1) for one that may
# return 0 having set nothing:
#  smtp.c: check_url() sets *where when it returns 0; and MaxAttempts is at
#    least 1, so cerr is set by the loop.
#  mime.c: cw_mail_parse() sets *addr when it returns 0.
LINT_SRC := $(sort $(wildcard common/*/*.c tools/*.c))
lint_checks := -*,bugprone-*,cert-*,clang-analyzer-*,\
-bugprone-easily-swappable-parameters,\
-bugprone-implicit-widening-of-multiplication-result,\
-bugprone-not-null-terminated-result,-bugprone-narrowing-conversions,\
-bugprone-signed-char-misuse,-cert-str34-c,-cert-err33-c,\
-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,\
-clang-analyzer-security.insecureAPI.strcpy,-bugprone-sizeof-expression
# (make turns each backslash-newline into a blank: the list must have none)
empty :=
LINT_CHECKS := $(subst $(empty) ,,$(lint_checks))
CLANG_TIDY ?= clang-tidy
lint/common/net/smtp.c: LINT_SKIP := ,-clang-analyzer-core.CallAndMessage,$(strip \
	)-clang-analyzer-core.uninitialized.Assign,-clang-analyzer-core.UndefinedBinaryOperatorResult
lint/common/mail/mime.c: LINT_SKIP := ,-clang-analyzer-core.NonNullParamChecker

lint: $(LINT_SRC:%=lint/%)

lint/%: %
	@out=$$($(CLANG_TIDY) --quiet --warnings-as-errors='*' --checks='$(LINT_CHECKS)$(LINT_SKIP)' \
	    $< -- -std=c11 $(filter-out $(FORTIFY),$(ALL_CPPFLAGS)) 2>&1) || \
	    { printf '%s\n' "$$out" | grep -v 'warnings\{0,1\} generated\.$$' >&2; exit 1; }

clean:
	rm -rf build build-san build-fuzz

.PHONY: all unit check-layers check-functions fuzz-bin fuzz soak lint check check-run bench demo install uninstall clean
.SECONDARY:
-include $(LIB_OBJ:.o=.d) $(TOOLS:%=$(O)/tools/%.d) $(UNIT_BIN:=.d) $(DRIVER_BIN:=.d) \
	$(FUZZ_BIN:=.d)
