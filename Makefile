# cartwatch: abandoned-cart reminders for Dynamics 365 Commerce, as a pipeline of small tools.
# Honours the user's CFLAGS; warnings are always on and are errors when CI=true or WERROR=1.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/cartwatch
DESTDIR ?=
PKG_CONFIG ?= pkg-config

PKGS := libcurl jansson libcrypto sqlite3
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
else
O ?= build
SANFLAGS :=
endif

ALL_CPPFLAGS = -D_GNU_SOURCE -Iinclude -DTEMPLATEDIR='"$(DATADIR)/templates"' \
	$(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CPPFLAGS)
ALL_CFLAGS = -std=c11 $(WARN) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(LDLIBS)

TOOLS := kv-secret cart-fetch cart-dedupe cart-enrich cart-notify
LIB_SRC := $(sort $(wildcard common/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:%.c=$(O)/%)
# Test drivers: programs the shell tests run against real services.
DRIVER_SRC := $(sort $(wildcard tests/drivers/*.c))
DRIVER_BIN := $(DRIVER_SRC:%.c=$(O)/%)
BINS := $(TOOLS:%=$(O)/%)
MAN1 := $(TOOLS:%=man/%.1) man/cartwatch-run.1
MAN7 := man/cartwatch.7

all: $(BINS)

$(O)/libcw.a: $(LIB_OBJ)
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

unit: $(UNIT_BIN) $(DRIVER_BIN)

# The suite first installs what a fresh machine lacks, then builds with the
# toolchain it found (a second make, so pkg-config runs after the install).
check:
	scripts/install-deps
	$(MAKE) check-run

check-run: all unit
	CW_BUILD=$(abspath $(O)) CMOCKA_MESSAGE_OUTPUT=TAP \
		prove --exec '' -j2 $(if $(V),-v) $(UNIT_BIN) $(sort $(wildcard tests/*.t))

# Like check: a fresh machine gets what it lacks before the build.
# Throughput and memory per stage on the sandbox: medians, for the README.
bench: all
	scripts/bench

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

clean:
	rm -rf build build-san

.PHONY: all unit check check-run bench demo install uninstall clean
.SECONDARY:
-include $(LIB_OBJ:.o=.d) $(BINS:%=$(O)/tools/%.d)
