# SPDX-License-Identifier: GPL-2.0-only
#
# make            build netswapd (and the CLI) in the tree
# make test       every test, under ASan+UBSan; ends with "N passed, N failed"
# make demo       the main job, on a fresh machine
# make bench      server benchmark against peers (not a test)
# make bench-alloc  the buffer allocator study (not a test)
# make bench-rbd  netswapd's rbd: export against qemu-nbd on Ceph (not a test)
# make fuzz       a long libFuzzer run
# make lab        every lab scenario, every client; writes docs/results.md
# make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
GENERATORDIR ?= $(PREFIX)/lib/systemd/system-generators
INITRAMFSDIR ?= $(PREFIX)/share/initramfs-tools
CC ?= gcc

STD_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wpointer-arith -Wmissing-prototypes -Wstrict-prototypes -I. -pthread
CFLAGS ?= -O2 -g
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
# netswapd's optional libraries, found by pkg-config (make test installs
# both): libmicrohttpd serves --metrics, libsystemd sd_notify and socket
# activation.  Without one, that feature says so when asked for.
MHD_LIBS := $(shell pkg-config --libs libmicrohttpd 2>/dev/null)
SD_LIBS := $(shell pkg-config --libs libsystemd 2>/dev/null)
STD_CFLAGS += $(if $(MHD_LIBS),-DNSD_HAVE_MHD) $(if $(SD_LIBS),-DNSD_HAVE_SYSTEMD)
LDLIBS := -pthread $(MHD_LIBS) $(SD_LIBS)
# librbd serves rbd: exports (server/rbd.c), loaded at run time by
# server/rbd-lib.c: only its headers (librbd-dev) are needed to build, and a
# compile probe checks that they have what rbd.c calls.
RBD_PROBE := printf '\#include <rbd/librbd.h>\nvoid *p = (void *)rbd_aio_write_zeroes;\n' | \
	$(CC) -x c -c - -o /dev/null
RBD_OK := $(shell $(RBD_PROBE) 2>/dev/null && echo y)
STD_CFLAGS += $(if $(RBD_OK),-DNSD_HAVE_RBD)

LIB_SRC := $(wildcard lib/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
UNIT_SRC := $(wildcard tests/unit/test-*.c)
CLI_SRC := $(filter-out cli/main.c,$(wildcard cli/*.c))
HEADERS := $(wildcard proto/*.h lib/*.h server/*.h cli/*.h)
# The network buffer arena (lib/arena/): linked wherever lib/ is.
LIB_SRC += $(wildcard lib/arena/*.c)
HEADERS += $(wildcard lib/arena/*.h tests/unit/*.h)

REL := build/rel
ASAN := build/asan
FUZZ := build/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer \
	-fsanitize=fuzzer-no-link,address,undefined

rel_obj = $(patsubst %.c,$(REL)/%.o,$(1))
asan_obj = $(patsubst %.c,$(ASAN)/%.o,$(1))

.PHONY: all asan test demo bench fuzz fuzz-build lab install clean kmod bench-alloc bench-rbd deb
.DELETE_ON_ERROR:

all: server/netswapd cli/netswap

$(REL)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(STD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(ASAN)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(STD_CFLAGS) $(ASAN_FLAGS) -c -o $@ $<

server/netswapd: $(call rel_obj,server/main.c $(SERVER_SRC) $(LIB_SRC))
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN)/server/netswapd: $(call asan_obj,server/main.c $(SERVER_SRC) $(LIB_SRC))
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

# Static: it goes into the lab guest's initramfs as is.  (glibc warns that a
# static getaddrinfo needs its NSS libraries for names; numbers need none.)
cli/netswap: $(call rel_obj,cli/main.c $(CLI_SRC))
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^

# netswap.ko for both lab guest kernels: build/kmod/{6.1,6.12}/netswap.ko
kmod:
	$(MAKE) -C kmod SERIES=6.1
	$(MAKE) -C kmod SERIES=6.12

$(FUZZ)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(STD_CFLAGS) $(FUZZ_FLAGS) -c -o $@ $<

$(FUZZ)/fuzz-server: $(FUZZ)/tests/fuzz/fuzz-server.o $(patsubst %.c,$(FUZZ)/%.o,$(SERVER_SRC) $(LIB_SRC))
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# The arena's harness: the arena alone (tests/fuzz/run-arena drives it).
$(FUZZ)/fuzz-arena: $(FUZZ)/tests/fuzz/fuzz-arena.o $(patsubst %.c,$(FUZZ)/%.o,$(wildcard lib/arena/*.c))
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(ASAN)/tests/unit/%: $(ASAN)/tests/unit/%.o $(call asan_obj,$(SERVER_SRC) $(LIB_SRC) $(CLI_SRC))
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

# Everything make test runs: the sanitized daemon, unit tests, and the
# optimised daemon (RSS bounds are measured on what users run).
asan: all $(ASAN)/server/netswapd $(patsubst %.c,$(ASAN)/%,$(UNIT_SRC))

test:
	@tests/run

demo: all
	@lab/demo
	@tests/tools/netswap-demo

bench: all
	@bench/server/run

# The allocator study (bench/alloc/run, docs/allocator.md): not a test.
BENCH_ALLOC_SRC := bench/alloc/bench.c bench/alloc/allocators.c \
	bench/alloc/pow2.c bench/alloc/workload.c
$(call rel_obj,$(BENCH_ALLOC_SRC) bench/alloc/trace-arena.c): bench/alloc/bench.h

build/bench/bench-alloc: $(call rel_obj,$(BENCH_ALLOC_SRC) $(wildcard lib/arena/*.c))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -ldl

# netswapd as it is, its arena calls recorded (bench/alloc/record-trace).
build/bench/netswapd-trace: $(call rel_obj,server/main.c $(SERVER_SRC) $(LIB_SRC) bench/alloc/trace-arena.c)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wl,--wrap=arena_alloc,--wrap=arena_alloc_or_wait,--wrap=arena_free \
		-o $@ $^ $(LDLIBS)

bench-rbd: all
	@bench/rbd/run

bench-alloc:
	@bench/alloc/run

lab: all
	@lab/run-all

fuzz-build: $(FUZZ)/fuzz-server

fuzz:
	@tests/fuzz/run $${FUZZ_SECONDS:-600}

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8
	install -m 0755 server/netswapd $(DESTDIR)$(SBINDIR)/netswapd
	install -m 0644 docs/netswapd.8 $(DESTDIR)$(MANDIR)/man8/netswapd.8
	install -m 0755 cli/netswap $(DESTDIR)$(SBINDIR)/netswap
	install -m 0644 docs/netswap.8 $(DESTDIR)$(MANDIR)/man8/netswap.8
	@# The client's boot-time swap: units, generator, initramfs-tools
	@# scripts (cli/systemd, cli/initramfs; netswap(8)), with paths filled in.
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(GENERATORDIR) \
		$(DESTDIR)$(INITRAMFSDIR)/hooks $(DESTDIR)$(INITRAMFSDIR)/scripts/local-top \
		$(DESTDIR)$(SYSCONFDIR)/netswap
	@# netswapd's own units (server/systemd) go with them.
	for f in cli/systemd/*.service cli/systemd/*.target cli/systemd/*.timer \
		server/systemd/*.service server/systemd/*.socket; do \
		$(FILL_PATHS) $$f >$(DESTDIR)$(UNITDIR)/$${f##*/} && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${f##*/} || exit 1; done
	$(FILL_PATHS) cli/systemd/netswap-generator >$(DESTDIR)$(GENERATORDIR)/netswap-generator
	$(FILL_PATHS) cli/initramfs/hook >$(DESTDIR)$(INITRAMFSDIR)/hooks/netswap
	$(FILL_PATHS) cli/initramfs/local-top >$(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/netswap
	chmod 0755 $(DESTDIR)$(GENERATORDIR)/netswap-generator \
		$(DESTDIR)$(INITRAMFSDIR)/hooks/netswap $(DESTDIR)$(INITRAMFSDIR)/scripts/local-top/netswap
	install -m 0644 cli/systemd/devices $(DESTDIR)$(SYSCONFDIR)/netswap/devices

FILL_PATHS = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g'

# Debian packages (netswapd, netswap-client, netswap-dkms) into build/deb/,
# with dpkg-buildpackage on a copy of the tree; installs the build
# dependencies; fails on a lintian error (docs/packaging.md).
deb:
	@debian/make-deb

clean:
	rm -rf build server/netswapd cli/netswap
