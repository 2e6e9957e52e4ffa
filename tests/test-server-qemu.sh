#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# QEMU's NBD client against netswapd: qemu-img info, convert into the
# exports and out of them (to qcow2), compare; qemu-io pattern writes and
# reads (write -P / read -P, FUA, vectored, async), discard and zero
# (write -z, with and without unmap), on a memory and a file export.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need qemu-img qemu-io

src=$T/src.raw
img=$T/disk.img
head -c 64M /dev/urandom >"$src"
dd if=/dev/zero of="$src" bs=1M seek=10 count=6 conv=notrunc status=none

serve srv "$NETSWAPD" --export mem=mem:64M --export "file=file:$img:64M" \
	--quiet
uri=nbd://127.0.0.1:$srv_PORT

# qio EXPORT COMMAND...: qemu-io commands; any failed command (exit status
# or a "failed" pattern message) fails the test.
qio() {
	local exp=$1; shift
	local args=() c out rc=0
	for c in "$@"; do args+=(-c "$c"); done
	out=$(qemu-io -f raw "$uri/$exp" "${args[@]}" 2>&1) || rc=$?
	if [ $rc -ne 0 ] || grep -qiE 'fail|error' <<<"$out"; then
		echo "$out" >&2
		fail "qemu-io on $exp: $* (exit $rc)"
	fi
}

for exp in mem file; do
	vsize=$(qemu-img info --output=json "$uri/$exp" |
		/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')
	assert_eq "$vsize" $((64 << 20)) "qemu-img info virtual size of $exp"

	# Into the export, compare, out of it to qcow2, compare again.
	qemu-img convert -n -f raw -O raw "$src" "$uri/$exp"
	qemu-img compare -f raw -F raw "$src" "$uri/$exp" ||
		fail "qemu-img compare: $exp differs from the source"
	qemu-img convert -f raw -O qcow2 "$uri/$exp" "$T/$exp.qcow2"
	qemu-img compare -f raw -F qcow2 "$src" "$T/$exp.qcow2" ||
		fail "qemu-img compare: qcow2 copy of $exp differs"

	# Patterns.  (qemu-io takes no arithmetic: offsets in bytes.)
	last=$(((64 << 20) - 4096))
	qio "$exp" 'write -P 0xa5 0 1M' 'read -P 0xa5 0 1M' \
		'write -P 0x11 4095 3' 'read -P 0x11 4095 3' \
		'read -P 0xa5 0 4095' 'read -P 0xa5 4098 1044478' \
		'write -f -P 0x22 1M 64k' 'read -P 0x22 1M 64k' \
		'writev -P 0x33 2M 4k 8k 512' 'readv -P 0x33 2M 12k 512' \
		'aio_write -P 0x44 3M 256k' 'aio_write -P 0x55 4M 256k' 'aio_flush' \
		'read -P 0x44 3M 256k' 'read -P 0x55 4M 256k' \
		"write -P 0x66 $last 4k" "read -P 0x66 $last 4k" 'flush'
	# Discard, zero (allocating and unmapping), and what is around them.
	k=1024 b=$((8 << 20))
	qio "$exp" "write -P 0x77 $b 1M" \
		"discard $((b + 64 * k)) 128k" "read -P 0x77 $b 64k" \
		"read -P 0x77 $((b + 192 * k)) 64k" \
		"write -z $((b + 256 * k)) 64k" "read -P 0 $((b + 256 * k)) 64k" \
		"write -z -u $((b + 512 * k)) 128k" "read -P 0 $((b + 512 * k)) 128k" \
		"write -z $((b + 700 * k)) 1" "read -P 0 $((b + 700 * k)) 1" \
		"read -P 0x77 $((b + 320 * k)) 192k" \
		"read -P 0x77 $((b + 640 * k)) 60k" \
		"read -P 0x77 $((b + 701 * k)) 323k" \
		'write -z 20M 40M' 'read -P 0 20M 40M' 'flush'
	# A fresh qemu-io sees what the last one left.
	qio "$exp" 'read -P 0xa5 0 4095' "read -P 0x66 $last 4k" \
		"read -P 0 $((b + 256 * k)) 64k"
done
# The file's bytes on disk: the zeroed 40 MiB and the pattern before it.
cmp -n 4095 "$img" <(head -c 4095 /dev/zero | tr '\0' '\245') ||
	fail "file export's pattern not on disk"
cmp -i $((20 << 20)):0 -n $((40 << 20)) "$img" /dev/zero ||
	fail "file export's zeroed range not zero on disk"
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "qemu: all passed"
