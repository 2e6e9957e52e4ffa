#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# nbdcopy round trip of 256 MiB of random data (with a zeroed stretch, which
# nbdcopy sends as zero requests) through a memory export and a file
# export over 4 connections each: local file -> mem -> file (with 32 MiB
# requests, the maximum payload) -> local file (read with a cold page
# cache), compared with cmp, and the file export's backing file too.
# limit: 240
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdcopy cmp

src=$T/src.bin
img=$T/disk.img
head -c 256M /dev/urandom >"$src"
# 24 MiB of zeroes in the middle, 4 MiB at the end.
dd if=/dev/zero of="$src" bs=1M seek=100 count=24 conv=notrunc status=none
dd if=/dev/zero of="$src" bs=1M seek=252 count=4 conv=notrunc status=none

serve srv "$NETSWAPD" --export mem=mem:256M --export "file=file:$img:256M" \
	--quiet
uri=nbd://127.0.0.1:$srv_PORT

# Make the file export hold garbage first, so the zeroes must be written.
head -c 256M /dev/urandom | nbdcopy --flush - "$uri/file"

nbdcopy --connections=4 --flush "$src" "$uri/mem"
nbdcopy --connections=4 --request-size=$((32 << 20)) --flush \
	"$uri/mem" "$uri/file"
# Reads that miss the page cache take another path (worker threads): drop
# the file's clean pages first.
/usr/bin/python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fdatasync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$img"
nbdcopy --connections=4 "$uri/file" "$T/out.bin"
cmp "$src" "$T/out.bin" || fail "data changed on the round trip"
cmp "$src" "$img" || fail "the file export's backing file differs"
# And straight from the memory export.
nbdcopy "$uri/mem" - | cmp - "$src" || fail "memory export differs"
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "nbdcopy: 256 MiB round trip intact"
