#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswapd as a gateway to Ceph RBD, on a real single-node cluster: 256 MiB
# in and out with nbdcopy, byte for byte, and the same bytes in the image
# as the cluster itself reads it (rbd export); fio's crc32c verify over
# four connections at once to a second image served by the same gateway.
# limit: 300
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=tests/lib/rbd.sh
. "$TOP/tests/lib/rbd.sh"
need nbdcopy fio cmp

# shellcheck disable=SC2119 # no options: a cluster without cephx
rbd_cluster
rbd_image swap 256M
rbd_image fio 64M
rbd_gateway GW --export "$(rbd_spec swap swap)" --export "$(rbd_spec fio fio)"
wait_log "$GW_ERR" "'swap': rbd rbd/swap: holds the exclusive lock" 30
wait_log "$GW_ERR" "'fio': rbd rbd/fio: holds the exclusive lock" 30

# nbdcopy in and out.
head -c 256M /dev/urandom >"$T/in"
nbdcopy "$T/in" "nbd://127.0.0.1:$GW_PORT/swap" || fail "nbdcopy into the export"
nbdcopy "nbd://127.0.0.1:$GW_PORT/swap" "$T/out" || fail "nbdcopy out of the export"
cmp "$T/in" "$T/out" || fail "what came out differs from what went in"
rbd_cmd export rbd/swap "$T/image" >/dev/null 2>&1 || fail "rbd export"
cmp "$T/in" "$T/image" || fail "the image in Ceph differs from what was written"
rm -f "$T/out" "$T/image"
echo "ok: 256 MiB through nbdcopy, and the image in Ceph holds them"

# fio: four connections, random 4k writes each to its own 16 MiB, every
# block verified by crc32c afterwards.
fio --name=verify --ioengine=nbd --uri="nbd://127.0.0.1:$GW_PORT/fio" \
	--rw=randwrite --bs=4k --size=8M --offset_increment=8M --numjobs=4 \
	--iodepth=16 --verify=crc32c --verify_fatal=1 --verify_state_save=0 \
	--group_reporting \
	--output="$T/fio.out" || { cat "$T/fio.out"; fail "fio verify failed"; }
grep -q 'err= 0' "$T/fio.out" || { cat "$T/fio.out"; fail "fio reported errors"; }
echo "ok: fio crc32c verify over 4 connections"

# Graceful stop hands the lock back at once.
stop_server "$GW_PID" || fail "netswapd exited non-zero"
grep -q "'swap': rbd rbd/swap: released the exclusive lock" "$GW_ERR" ||
	fail "the lock was not released at shutdown: $(tail -5 "$GW_ERR")"
[ "$(rbd_cmd lock ls rbd/swap --format json)" = "[]" ] ||
	fail "the image is still locked after the gateway stopped"
echo "ok: a stopped gateway released its lock"
