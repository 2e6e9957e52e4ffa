#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# fio's nbd engine with verify=crc32c over 4 connections (4 jobs, each its
# own 16 MiB region, 16 requests in flight, 4 KiB to 1 MiB blocks), on a
# memory and a file export; then a verify-only pass from fresh connections,
# for the file export after a server restart.  Then 16 connections of 4 MiB
# writes and reads (8 in flight each) through an 8 MiB buffer pool and 4
# event loops: everyone waits for pool memory in turn, nobody hangs.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need fio
cd "$T" || fail "cannot enter $T"	# fio leaves files in its working directory

img=$T/disk.img
serve srv "$NETSWAPD" --export mem=mem:64M --export "file=file:$img:64M"

# run_fio PORT EXPORT [EXTRA...]
run_fio() {
	local port=$1 exp=$2; shift 2
	fio --name="verify-$exp" --ioengine=nbd \
		--uri="nbd://127.0.0.1:$port/$exp" \
		--rw=randwrite --bsrange=4k-1m --size=16M --numjobs=4 \
		--offset_increment=16M --iodepth=16 --randseed=4242 \
		--verify=crc32c --verify_fatal=1 --do_verify=1 \
		--verify_state_save=0 --group_reporting "$@" \
		>"$T/fio-$exp.log" 2>&1 ||
		{ tail -30 "$T/fio-$exp.log" >&2; fail "fio on $exp failed"; }
	grep -q 'err= 0' "$T/fio-$exp.log" ||
		{ tail -30 "$T/fio-$exp.log" >&2; fail "fio on $exp reported errors"; }
	grep -E '^ *(READ|WRITE):' "$T/fio-$exp.log"
}

for exp in mem file; do
	before=$(grep -c "serving '$exp'" "$srv_ERR" || true)
	run_fio "$srv_PORT" "$exp"
	# Each job read back and checked all it wrote: 64 MiB in all.
	grep -qE 'READ: .*io=64\.0MiB' "$T/fio-$exp.log" ||
		fail "fio on $exp did not verify 64 MiB"
	after=$(grep -c "serving '$exp'" "$srv_ERR" || true)
	[ $((after - before)) -ge 4 ] ||
		fail "fio used $((after - before)) connections to $exp, not 4"
	run_fio "$srv_PORT" "$exp" --verify_only
done
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# The file export's data outlives the server.
serve srv2 "$NETSWAPD" --export "file=file:$img" --quiet
run_fio "$srv2_PORT" file --verify_only
rc=0; stop_server "$srv2_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
# Pool contention: far more payload in flight than --buffer-memory.
serve srv3 "$NETSWAPD" --export "file=file:$T/small-pool.img:128M" \
	--buffer-memory 8M --threads 4 --quiet
fio --name=contend --ioengine=nbd --uri="nbd://127.0.0.1:$srv3_PORT/file" \
	--rw=randwrite --bs=4m --size=8M --numjobs=16 --offset_increment=8M \
	--iodepth=8 --verify=crc32c --verify_fatal=1 --do_verify=1 \
	--verify_state_save=0 --group_reporting >"$T/fio-contend.log" 2>&1 ||
	{ tail -30 "$T/fio-contend.log" >&2; fail "fio under pool contention"; }
grep -qE 'READ: .*io=128MiB' "$T/fio-contend.log" ||
	{ tail -30 "$T/fio-contend.log" >&2; fail "contention run did not verify 128 MiB"; }
rc=0; stop_server "$srv3_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "fio: all verified"
