#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Space that is promised is there.  ,preallocate reserves every block of a
# file export at start, and neither TRIM nor WRITE_ZEROES punches holes in
# it later.  Unaligned WRITE_ZEROES and TRIM (which a block device would
# refuse with EINVAL) zero exactly their bytes: whole blocks by fallocate,
# the partial ones at either end by writing zeroes, on a file export that
# takes the block-device path.  Memory exports larger together than the
# available memory are refused unless --overcommit.  With --mlock, memory
# exports are locked, and WRITE_ZEROES still zeroes and releases pages
# (locked pages cannot simply be dropped).
# limit: 90
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh stat

allocated() { echo $(($(stat -c '%b * %B' "$1"))); }

# ---- preallocate ----
serve pre "$NETSWAPD" --export "p=file:$T/p.img:64M,preallocate" \
	--export "s=file:$T/s.img:64M" --quiet
[ "$(allocated "$T/p.img")" -ge $((64 << 20)) ] ||
	fail "preallocate: only $(allocated "$T/p.img") bytes allocated"
[ "$(allocated "$T/s.img")" -lt $((1 << 20)) ] ||
	fail "an export without preallocate is not sparse"
nbdsh -u "nbd://127.0.0.1:$pre_PORT/p" -c '
h.pwrite(b"\xaa" * (16 << 20), 0)
h.zero(8 << 20, 0)                  # may punch, were it allowed to
h.trim(8 << 20, 8 << 20)
h.flush()
assert h.pread(8 << 20, 0) == bytes(8 << 20)
'
[ "$(allocated "$T/p.img")" -ge $((64 << 20)) ] ||
	fail "TRIM or WRITE_ZEROES punched a preallocated export"
rc=0; stop_server "$pre_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# ---- unaligned zeroing, the block-device way ----
serve una "$NETSWAPD" --export "f=file:$T/u.img:16M" --quiet
rawnbd "$una_PORT" <<'EOF'
c = go(name="f")
pattern = bytes(range(1, 256)) * 300          # no zero byte in it
size = len(pattern)
for off, ln, flags, cmd in (
        (1000, 10000, 0, CMD_WRITE_ZEROES),        # head and tail partial
        (1000, 10000, CF_NO_HOLE, CMD_WRITE_ZEROES),
        (5000, 100, 0, CMD_WRITE_ZEROES),          # inside one block
        (4095, 4098, CF_FAST_ZERO, CMD_WRITE_ZEROES),
        (8192, 8192, 0, CMD_WRITE_ZEROES),         # aligned
        (1000, 10000, CF_FUA, CMD_WRITE_ZEROES),
        (777, 20000, 0, CMD_TRIM)):
    c.pwrite(pattern, 0)
    err, _, msg = c.req(cmd, off, ln, flags)
    check(err == 0, "cmd %d at %d+%d flags %#x: error %d (%s)"
          % (cmd, off, ln, flags, err, msg))
    got = c.pread(size, 0)
    check(got[:off] == pattern[:off] and got[off + ln:] == pattern[off + ln:],
          "cmd %d at %d+%d: bytes outside the range changed" % (cmd, off, ln))
    if cmd == CMD_WRITE_ZEROES:
        check(got[off:off + ln] == bytes(ln),
              "zeroes at %d+%d flags %#x: not all zero" % (off, ln, flags))
c.disc()
print("unaligned WRITE_ZEROES and TRIM: exact")
EOF
stop_server "$una_PID" || fail "exit status"

# ---- memory exports must fit unless --overcommit ----
avail_kib=$(awk '/^(MemAvailable|SwapFree):/ { s += $2 } END { print s }' /proc/meminfo)
big=$((avail_kib * 6 / 10))K
rc=0
"$NETSWAPD" --listen 127.0.0.1:0 --export "a=mem:$big" --export "b=mem:$big" \
	>/dev/null 2>"$T/over.err" || rc=$?
assert_eq "$rc" 1 "exit status with exports larger than memory"
grep -q "give --overcommit" "$T/over.err" ||
	fail "no reason given: $(cat "$T/over.err")"
serve one "$NETSWAPD" --export "a=mem:$big" --quiet	# one of them fits
stop_server "$one_PID" || fail "exit status"
serve over "$NETSWAPD" --export "a=mem:$big" --export "b=mem:$big" \
	--overcommit --quiet
assert_serves "$over_PORT" b
stop_server "$over_PID" || fail "exit status with --overcommit"

# ---- --mlock: memory exports locked, zeroing still zeroes ----
serve lck "$NETSWAPD" --export m=mem:64M --mlock --quiet
locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$lck_PID/status")
[ "$locked" -ge $((64 << 10)) ] || fail "--mlock: only ${locked} KiB locked"
nbdsh -u "nbd://127.0.0.1:$lck_PORT/m" -c '
h.pwrite(b"\x55" * (32 << 20), 0)
h.zero(16 << 20, 4096 + 100)       # pages to release, unaligned edges
h.trim(8 << 20, 20 << 20)
d = h.pread(32 << 20, 0)
assert d[:4196] == b"\x55" * 4196
assert d[4196:4196 + (16 << 20)] == bytes(16 << 20), "zeroing a locked export"
assert d[4196 + (16 << 20):20 << 20] == b"\x55" * ((20 << 20) - 4196 - (16 << 20))
'
rss=$(rss_kib "$lck_PID")
locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$lck_PID/status")
echo "# --mlock after zeroing: VmRSS ${rss} KiB, VmLck ${locked} KiB"
[ "$locked" -ge $((64 << 10)) ] || fail "released pages are no longer locked"
stop_server "$lck_PID" || fail "exit status with --mlock"
echo "durability space: all passed"
