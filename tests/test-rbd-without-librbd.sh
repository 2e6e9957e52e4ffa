#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswapd builds without librbd (RBD_LIBS empty, as on a machine without
# librbd-dev): it links no Ceph library, serves its other exports, and an
# rbd: export is refused at start with a reason, not a crash.
# limit: 300
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"

mkdir -p "$T/src"
cp -r "$TOP/Makefile" "$TOP/server" "$TOP/lib" "$TOP/proto" "$T/src/"
rm -f "$T/src/server/netswapd"
# RBD_OK / RBD_LIBS: what the Makefile's probe for librbd decides.
make -s -C "$T/src" -j2 RBD_OK= RBD_LIBS= CFLAGS=-O0 server/netswapd >"$T/build.log" 2>&1 ||
	{ cat "$T/build.log"; fail "netswapd does not build without librbd"; }
bin=$T/src/server/netswapd
ldd "$bin" | grep -qE 'librbd|librados' && fail "built without librbd, yet linked to it"
grep -qa rbd_aio_write_zeroes "$bin" && fail "built without librbd, yet it names librbd's calls"

! "$bin" --listen 127.0.0.1:0 --export "swap=rbd:rbd/swap" >"$T/out" 2>"$T/err" ||
	fail "an rbd: export started without librbd"
grep -q "not compiled in" "$T/err" || fail "no reason given: $(cat "$T/err")"

start_server_bin PLAIN "$bin" --export "mem=mem:1M"
assert_serves "$PLAIN_PORT" mem
echo "ok: without librbd, rbd: exports say so and the rest serves"
