#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab's card table (lab/lib/nic.sh), without a guest: every card it
# names is a device this QEMU has, and the initramfs built for it carries
# the card's driver modules, in the load order /init follows.
# limit: 300
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=../lab/lib/nic.sh
. "$TOP/lab/lib/nic.sh"

need qemu-system-x86_64 cpio
devices=$(qemu-system-x86_64 -device help 2>/dev/null)
[ "$(wc -w <<<"$LAB_NICS")" -ge 3 ] || fail "card table: '$LAB_NICS'"
for nic in $LAB_NICS; do
	dev=$(lab_nic_device "$nic") || fail "$nic: no QEMU device"
	grep -q "^name \"$dev\"" <<<"$devices" || fail "$nic: QEMU has no device $dev"
	mods=$(lab_nic_modules "$nic") || fail "$nic: no driver modules"
	img=$(LAB_NIC=$nic "$TOP/lab/build-initramfs" 6.1 nbd) || fail "$nic: initramfs"
	mkdir -p "$T/$nic"
	(cd "$T/$nic" && gzip -dc "$img" | cpio -id --quiet lab/modules/order 'lab/modules/*.ko') ||
		fail "$nic: cannot unpack $img"
	# The card's modules, each present, in the table's order in the load order.
	order=$(awk '{ sub(/\.ko$/, "", $1); print $1 }' "$T/$nic/lab/modules/order" | paste -sd' ')
	last=0
	for m in $mods; do
		[ -f "$T/$nic/lab/modules/$m.ko" ] || fail "$nic: $m.ko not in the image"
		pos=$(tr ' ' '\n' <<<"$order" | grep -nx "$m" | cut -d: -f1)
		if [ -z "$pos" ] || [ "$pos" -le "$last" ]; then
			fail "$nic: $m out of order in '$order'"
		fi
		last=$pos
	done
	echo "$nic: QEMU $dev, modules [$mods] in [$order]"
done
rc=0
LAB_NIC=nosuchcard "$TOP/lab/build-initramfs" 6.1 nbd >/dev/null 2>"$T/bad.err" || rc=$?
[ "$rc" -ne 0 ] || fail "an unknown card built an image"
grep -q -- "$(lab_nic_usage)" "$T/bad.err" || fail "unknown card: $(cat "$T/bad.err")"
