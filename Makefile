# offca — build, test, demo.  `make help` lists the targets.
# Layout: each leaf folder (hsm/, templates/, crl/) builds into its own archive; ca/ links them all.
# Unit tests live in tests/unit/<folder>/test_*.c and link only their folder's archive (leaf tests)
# or everything (ca tests), so a leaf is testable alone.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
B       := build
PKGS    := libcrypto lmdb p11-kit-1 jansson

# Debian 12 packages the project needs (build, tests, demo, benchmarks).
DEPS_PKGS := build-essential pkg-config libssl-dev openssl liblmdb-dev lmdb-utils libcmocka-dev \
             libp11-kit-dev softhsm2 opensc gnutls-bin libengine-pkcs11-openssl python3 \
             clang valgrind time strace gdb xxd jq bc libnss3-tools curl systemd libjansson-dev \
             freeradius eapoltest scdoc man-db debhelper dpkg-dev

# Compiler and linker flags come from pkg-config, which only answers once `make deps` has
# installed the -dev packages. Public targets that install (test, demo, asan, ...) therefore run
# deps first and then a second make, which parses this file anew with the packages present.
# A build without them stops at `check-deps` with one line naming what to run.
PKG_OK     := $(shell pkg-config --exists $(PKGS) cmocka 2>/dev/null && echo yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libcrypto lmdb jansson 2>/dev/null)
CMOCKA_LIBS:= $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter -Wno-format-truncation -Wno-missing-field-initializers
DEFS    := -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += -std=c11 $(OPT) $(SAN) $(WARN) $(DEFS) -I. $(PKG_CFLAGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS += $(SAN)
LDLIBS  := $(PKG_LIBS) -ldl -lpthread

# base/ lies below the leaves (the one error slot, ...): every folder may use it, it uses nothing
# of ours. base/faultpoint.c exists only in the test build.
BASE_SRC := $(filter-out base/faultpoint.c,$(wildcard base/*.c))
BASE_OBJ := $(patsubst %.c,$(B)/%.o,$(BASE_SRC))
HSM_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard hsm/*.c))
TMPL_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard templates/*.c))
CRL_OBJ  := $(patsubst %.c,$(B)/%.o,$(wildcard crl/*.c))
CA_OBJ   := $(patsubst %.c,$(B)/%.o,$(filter-out ca/cli/main.c,$(wildcard ca/*/*.c)))

LIB_HSM  := $(B)/libhsm.a
LIB_TMPL := $(B)/libtemplates.a
LIB_CRL  := $(B)/libcrl.a
LIB_CA   := $(B)/libca.a
LIB_BASE := $(B)/libbase.a
ALL_LIBS := $(LIB_CA) $(LIB_TMPL) $(LIB_CRL) $(LIB_HSM) $(LIB_BASE)

# The test build: the same sources compiled with -DOFFCA_TEST_BUILD into $(TB), plus base/ (the
# fault points, base/faultpoint.c), linked as $(B)/offca-test. Only it has the test seams: the
# $$OFFCA_TEST_NOW clock (ca/common/clock.c), the raw store hooks (ca/store/store.c), $$OFFCA_FAULT. $(B)/offca
# is built without any of them (tests/integration/t_testbuild.sh proves it).
TB       := $(B)/test-obj
TB_OBJ    = $(patsubst $(B)/%,$(TB)/%,$(1))
TBASE_OBJ:= $(patsubst %.c,$(TB)/%.o,$(wildcard base/*.c))
TLIB_BASE:= $(TB)/libbase.a
TLIB_HSM := $(TB)/libhsm.a
TLIB_TMPL:= $(TB)/libtemplates.a
TLIB_CRL := $(TB)/libcrl.a
TLIB_CA  := $(TB)/libca.a
TALL_LIBS:= $(TLIB_CA) $(TLIB_TMPL) $(TLIB_CRL) $(TLIB_HSM) $(TLIB_BASE)
TEST_BIN := $(B)/offca-test

UNIT_SRC := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
TEST_SUPPORT := $(patsubst %.c,$(B)/%.o,$(wildcard tests/unit/support/*.c))

.PHONY: all deps check-deps test unit integration demo asan bench fuzz valgrind install clean help test-asan-inner fresh-check man install-system deb deb-check

# The man pages, written in scdoc (man/*.scd), generated into $(B)/man/.
MAN_SRC := $(wildcard man/*.scd)
MAN_OUT := $(patsubst man/%.scd,$(B)/man/%,$(MAN_SRC))

all: $(B)/offca $(TEST_BIN) $(MAN_OUT)

help:
	@echo "make deps         install the Debian 12 packages offca needs (idempotent; root)"
	@echo "make              build ./build/offca (and ./build/offca-test, the test build)"
	@echo "make test         unit + SoftHSM integration tests; last line 'N passed, N failed'"
	@echo "make demo         end-to-end run on a throwaway SoftHSM token under ./demo/"
	@echo "make asan         the whole test suite under ASan+UBSan"
	@echo "make bench        benchmarks against openssl ca; writes bench/RESULTS.md"
	@echo "make fuzz         libFuzzer targets, FUZZ_SECONDS per target (default 60)"
	@echo "make valgrind     integration scripts with offca under valgrind memcheck"
	@echo "make man          the man pages offca(1), offca-ca.toml(5), offca-template(5) into build/man/"
	@echo "make install      offca, its man pages and bash completion under \$$(DESTDIR)\$$(PREFIX)"
	@echo "make install-system  /etc/offca (example config, templates), systemd units, cron file"
	@echo "make deb          build the Debian package (dpkg-buildpackage) into build/deb/"
	@echo "make deb-check    install, use and purge that package in a fresh Debian 12 root filesystem"
	@echo "make fresh-check  make demo + make test, once each, in a brand-new Debian 12 root filesystem"

# ---- dependencies -------------------------------------------------------------------------------
deps:
	@sh tools/deps.sh $(DEPS_PKGS)

# Every object depends on this (order-only): on a machine without the -dev packages the build
# stops here with the one thing to do, instead of a compiler error about a missing header.
check-deps:
ifneq ($(PKG_OK),yes)
	@echo "offca: build dependencies are missing (pkg-config does not know $(PKGS) cmocka); run 'make deps' as root (or just 'make test' / 'make demo', which run it), then make again" >&2
	@exit 1
endif

# ---- build --------------------------------------------------------------------------------------
$(B)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB_HSM): $(HSM_OBJ)
$(LIB_TMPL): $(TMPL_OBJ)
$(LIB_CRL): $(CRL_OBJ)
$(LIB_CA): $(CA_OBJ)
$(LIB_BASE): $(BASE_OBJ)
$(B)/lib%.a:
	@mkdir -p $(B)
	rm -f $@ && ar rcs $@ $^

$(B)/offca: $(B)/ca/cli/main.o $(ALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# test build objects (the shorter stem makes this rule win over $(B)/%.o for $(TB)/...)
$(TB)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DOFFCA_TEST_BUILD -MMD -MP -c $< -o $@

$(TLIB_BASE): $(TBASE_OBJ)
$(TLIB_HSM): $(call TB_OBJ,$(HSM_OBJ))
$(TLIB_TMPL): $(call TB_OBJ,$(TMPL_OBJ))
$(TLIB_CRL): $(call TB_OBJ,$(CRL_OBJ))
$(TLIB_CA): $(call TB_OBJ,$(CA_OBJ))
$(TB)/lib%.a:
	@mkdir -p $(TB)
	rm -f $@ && ar rcs $@ $^

$(TEST_BIN): $(TB)/ca/cli/main.o $(TALL_LIBS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Leaf unit tests link only their own folder's archive (production objects); ca tests link
# everything from the test build (test_store.c needs the raw store hooks).
$(B)/tests/base/%: tests/unit/base/%.c $(LIB_BASE) $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)
$(B)/tests/hsm/%: tests/unit/hsm/%.c $(LIB_HSM) $(LIB_BASE) $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)
$(B)/tests/templates/%: tests/unit/templates/%.c $(LIB_TMPL) $(LIB_BASE) $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)
$(B)/tests/crl/%: tests/unit/crl/%.c $(LIB_CRL) $(LIB_BASE) $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)
# The ca/ tests' shared CA (token, config, store, root): before the archives it needs.
CA_FIXTURE := $(B)/tests/unit/ca/ca_fixture.o
$(B)/tests/ca/%: tests/unit/ca/%.c $(CA_FIXTURE) $(TALL_LIBS) $(TEST_SUPPORT)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DOFFCA_TEST_BUILD $(LDFLAGS) -o $@ $(filter-out tests/fuzz/%,$^) $(CMOCKA_LIBS) $(LDLIBS)

# A test-only PKCS#11 module wrapping SoftHSM that misbehaves on command (tests/shim/p11shim.c).
SHIM := $(B)/tests/p11shim.so
$(SHIM): tests/shim/p11shim.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -g -fPIC -shared $(WARN) -D_GNU_SOURCE $(PKG_CFLAGS) -o $@ $< -ldl

# test_fuzz_replay.c #includes the fuzz targets (one translation unit): rebuild when they change.
$(B)/tests/ca/test_fuzz_replay: tests/fuzz/targets.c tests/fuzz/targets.h

# ---- tests --------------------------------------------------------------------------------------
# tools/run-tests.sh runs every unit binary and every tests/integration/t_*.sh, sums the counts and
# prints the one closing line; it exits non-zero when anything failed.
test: deps
	@$(MAKE) --no-print-directory $(B)/offca $(TEST_BIN) $(SHIM) $(UNIT_BIN) $(MAN_OUT)
	@sh tools/run-tests.sh $(B) $(UNIT_BIN)

unit: $(UNIT_BIN)
	@OFFCA_SKIP_INTEGRATION=1 sh tools/run-tests.sh $(B) $(UNIT_BIN)

integration: $(B)/offca $(TEST_BIN) $(SHIM) $(MAN_OUT)
	@sh tools/run-tests.sh $(B)

asan: deps
	@$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all" test-asan-inner

test-asan-inner: $(B)/offca $(TEST_BIN) $(SHIM) $(UNIT_BIN) $(MAN_OUT)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	 OFFCA_SANITIZER=1 sh tools/run-tests.sh $(B) $(UNIT_BIN)

# ---- demo, bench, install -----------------------------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory $(B)/offca
	@bash tools/demo.sh $(B)/offca

# libFuzzer targets (clang), bounded time per target; not part of `make test` (which replays the
# committed regression corpora through tests/unit/*/test_fuzz_replay.c instead).
FUZZ_SECONDS ?= 60
fuzz: deps
	@bash tools/fuzz.sh $(FUZZ_SECONDS)

# The real offca under valgrind memcheck inside integration scripts (slow: minutes).
valgrind: deps
	@$(MAKE) --no-print-directory $(B)/offca $(TEST_BIN) $(SHIM)
	@bash tools/valgrind.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory $(B)/offca
	@bash tools/bench.sh $(B)

# The Quick start proven where nothing was installed by hand: a fresh Debian 12 minbase root
# filesystem (mmdebstrap), a fresh clone of HEAD, `make demo` then `make test`. Root only.
fresh-check:
	@bash tools/fresh-check.sh

# ---- man pages, install, Debian package ---------------------------------------------------------
man: $(MAN_OUT)

$(B)/man/%: man/%.scd
	@command -v scdoc >/dev/null || { echo "offca: scdoc is missing (it makes the man pages); run 'make deps' as root" >&2; exit 1; }
	@mkdir -p $(dir $@)
	scdoc <$< >$@.tmp && mv $@.tmp $@

MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system

# The program, its man pages and its bash completion.
install: $(B)/offca $(MAN_OUT)
	install -d -m 0755 $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(B)/offca $(DESTDIR)$(PREFIX)/bin/offca
	install -m 0644 $(filter %.1,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(filter %.5,$(MAN_OUT)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 tools/offca.bash-completion $(DESTDIR)$(BASHCOMPDIR)/offca

# What a system install adds (the Debian package uses it): /etc/offca with the example config
# and the shipped templates, the hourly CRL job as systemd units (not enabled) and as a cron
# file whose job line is commented out. Paths in them follow PREFIX and SYSCONFDIR.
SYS_SED = -e 's|/usr/local/bin/offca|$(PREFIX)/bin/offca|g' -e 's|/etc/offca/|$(SYSCONFDIR)/offca/|g'
install-system:
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/offca/templates $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/cron.d
	install -m 0644 ca.toml.example $(DESTDIR)$(SYSCONFDIR)/offca/ca.toml.example
	install -m 0644 templates/shipped/*.toml $(DESTDIR)$(SYSCONFDIR)/offca/templates/
	sed $(SYS_SED) tools/offca-crl.service >$(DESTDIR)$(UNITDIR)/offca-crl.service
	sed $(SYS_SED) tools/offca-crl.timer >$(DESTDIR)$(UNITDIR)/offca-crl.timer
	sed $(SYS_SED) -e 's|^\([0-9]\)|# Disabled by default: remove the "\#" that starts the next line to publish hourly.\n\#\1|' \
	    tools/offca.cron \
	    >$(DESTDIR)$(SYSCONFDIR)/cron.d/offca
	chmod 0644 $(DESTDIR)$(UNITDIR)/offca-crl.service $(DESTDIR)$(UNITDIR)/offca-crl.timer \
	    $(DESTDIR)$(SYSCONFDIR)/cron.d/offca

# dpkg-buildpackage on a copy of the tracked files (the tree as it is, uncommitted changes
# included), in build/deb/, so nothing is written beside the source tree.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
deb: deps
	@rm -rf $(B)/deb && mkdir -p $(B)/deb/src
	@git ls-files -z --cached --others --exclude-standard | \
	    tar --null -T - -cf - | tar -xf - -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -b -us -uc --no-pre-clean >../build.log 2>&1 || \
	    { tail -n 30 ../build.log >&2; echo "offca: dpkg-buildpackage failed; full log: $(B)/deb/build.log" >&2; exit 1; }
	@rm -rf $(B)/deb/src
	@ls $(B)/deb/*.deb

# The package proven on a fresh Debian 12 root filesystem (tools/fresh-check.sh deb mode): install,
# offca --version, man -w, a demo run as the offca user, purge. Root only.
deb-check: deb
	@FRESH_DEB=$$(ls $(B)/deb/offca_*.deb | head -n 1) bash tools/fresh-check.sh

clean:
	rm -rf build build-asan demo

-include $(shell find $(B) -name '*.d' 2>/dev/null)
