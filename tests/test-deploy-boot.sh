#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The packages on a real Debian 12 system, booted with systemd as init.
#
# A debootstrap'd bookworm root (tests/tools/debian-root, cached under
# ~/.cache/netswap/debian-root) gets the three packages from make deb with
# dpkg -i, as an administrator would: DKMS builds netswap.ko for its 6.1
# kernel, the initramfs is rebuilt with the netswap hook.  The image (an
# ext4 file, a virtio disk in QEMU TCG) boots its own kernel and initramfs
# while the host runs the packaged netswapd on loopback (10.0.2.2 from the
# guest), configured from a netswapd.conf file.
#   boot 1: /etc/netswap/devices names swap0; netswap.target brings it up
#           at boot: /dev/netswap0 is an active swap, the Prometheus timer
#           writes a file promtool accepts, a memhog that swaps verifies
#           every page, netswapd.service serves as README sets it up;
#           systemctl poweroff swaps off (reading back the 64 MiB a
#           process kept in swap) and detaches before systemd-networkd
#           (which drops the address) stops.
#   boot 2: netswap=nbd://.../early on the kernel command line: the
#           initramfs swaps on it before the root is mounted (kernel log
#           order), netswap@boot0.service adopts it, netswapd serves again
#           after the reboot, and poweroff takes both devices down before
#           the network.
# Every boot: no I/O error, no hung task, no kernel complaint.
# The guest-side checks are tests/guest/deploy-check.sh.
# limit: 2700
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=tests/lib/deploy.sh
. "$TOP/tests/lib/deploy.sh"
"$TOP/tests/lib/apt-ensure" qemu-system-x86 e2fsprogs debootstrap dpkg-dev \
	prometheus || fail "cannot install the test's packages"

deploy_debs
memhog=$("$TOP/lab/build-tools")/memhog

# The server, from its package, configured as in /etc/netswap/netswapd.conf.
dpkg-deb -x "${DEBS[0]}" "$T/srv"
cat >"$T/netswapd.conf" <<'EOF'
listen = 127.0.0.1:0
export = swap=mem:1G,allow=127.0.0.1/32
export = early=mem:512M,allow=127.0.0.1/32
EOF
start_listening srv "$T/srv/usr/sbin/netswapd" --config "$T/netswapd.conf"
# shellcheck disable=SC2154 # srv_PORT is set by start_listening
url=nbd://10.0.2.2:$srv_PORT

root=$T/root
mapfile -t deps < <(deploy_depends "${DEBS[@]}")
deploy_root "$root" --series 6.1 "${deps[@]}"
kver=$(cat "$("$TOP/lab/fetch-kernel" 6.1)/version")

# The machine's own settings, before the packages (their triggers build
# the initramfs with them).  The initramfs holds the virtio drivers and
# ext4 only (MODULES=list): Debian's default, every driver, takes minutes
# on this shared machine, and the netswap hook adds what it needs itself.
mkdir -p "$root/etc/systemd/network" "$root/var/lib/prometheus/node-exporter" \
	"$root/etc/systemd/system/netswap@.service.d"
echo "/dev/vda / ext4 errors=remount-ro 0 1" >"$root/etc/fstab"
echo netswap-guest >"$root/etc/hostname"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' \
	>"$root/etc/systemd/network/20-wired.network"
echo MODULES=list >"$root/etc/initramfs-tools/conf.d/netswap-test.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 >>"$root/etc/initramfs-tools/modules"
# netswap up/down on the console too, to read their order against the
# network's there: written to the console directly, as systemd writes its
# "Stopping ..." lines, not forwarded by journald, whose copy can lag
# behind them on a loaded machine and invert the order read there.
printf '[Service]\nStandardOutput=tty\nStandardError=tty\nTTYPath=/dev/console\nTTYReset=no\nTTYVHangup=no\n' \
	>"$root/etc/systemd/system/netswap@.service.d/console.conf"
install -D -m 0755 "$memhog" "$root/usr/local/bin/memhog"
install -D -m 0755 "$TOP/tests/guest/deploy-check.sh" "$root/usr/local/sbin/deploy-check"
install -m 0644 "$TOP/tests/guest/deploy-check.service" "$root/etc/systemd/system/"
in_root "$root" systemctl enable systemd-networkd deploy-check >"$T/enable.log" 2>&1 ||
	{ cat "$T/enable.log"; fail "cannot enable the guest's units"; }
# No login prompt on the serial console: printed while deploy-check
# writes, it joined one of its lines ("netswap-guest login: [...] NS-PROM
# # HELP ..."), which the host's line-based reading then lost.
in_root "$root" systemctl mask serial-getty@ttyS0.service >>"$T/enable.log" 2>&1 ||
	{ cat "$T/enable.log"; fail "cannot mask the console's getty"; }

deploy_install "$root" "${DEBS[@]}"
# Enabled by the packages: the client's target and timer; not netswapd's
# units, which wait for an export in netswapd.conf.
w=$root/etc/systemd/system
for u in multi-user.target.wants/netswap.target timers.target.wants/netswap-prometheus.timer; do
	[ -L "$w/$u" ] || fail "the package did not enable ${u#*/}"
done
for u in multi-user.target.wants/netswapd.service sockets.target.wants/netswapd.socket; do
	[ ! -e "$w/$u" ] || fail "${u#*/} is enabled before an export is configured"
done
[ -f "$root/lib/modules/$kver/updates/dkms/netswap.ko" ] ||
	fail "DKMS built no netswap.ko for $kver: $(tail -5 "$T/dpkg.log")"
in_root "$root" lsinitramfs "/boot/initrd.img-$kver" >"$T/initrd.list"
for f in usr/sbin/netswap scripts/local-top/netswap updates/dkms/netswap.ko sbin/mkswap; do
	grep -q "$f\$" "$T/initrd.list" || fail "the initramfs has no $f"
done
echo "swap0 $url/swap pri=10" >>"$root/etc/netswap/devices"
in_root "$root" netswap devices | tee "$T/devices.txt"
grep -q "^swap0 .*$url/swap pri=10" "$T/devices.txt" || fail "netswap devices: $(cat "$T/devices.txt")"

cp "$root/boot/vmlinuz-$kver" "$root/boot/initrd.img-$kver" "$T/"
img=$T/root.img
mkfs.ext4 -q -F -L root -d "$root" "$img" 2G || fail "mkfs.ext4 -d failed"
rm -rf "$root"
# nosoftlockup, rcu_cpu_stall_suppress: TCG on this shared 2-core host can
# leave the vCPU without a host CPU for tens of seconds, which the
# soft-lockup watchdog reports as a kernel BUG and RCU as a stall with a
# call trace; hung tasks (a swapoff stuck behind a dead network) are still
# reported, after Debian's 120 s.
base="root=/dev/vda ro console=ttyS0 panic=-1 systemd.show_status=1 nosoftlockup"
base+=" rcupdate.rcu_cpu_stall_suppress=1"

# console RAW OUT: the console as text lines.  journald copies the units'
# output there as "[  12.3] unit[pid]: line": keep the line.
console() {
	tr -d '\r' <"$1" | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' \
		-e 's/^\[ *[0-9.]*\] [A-Za-z0-9_.@-]*\[[0-9]*\]: //' >"$2"
}

# The order of two console lines: FIRST's before SECOND's, both present.
assert_before() {
	local file=$1 first=$2 second=$3 a b
	a=$(line_of "$file" "$first")
	b=$(line_of "$file" "$second")
	[ "$a" -gt 0 ] || fail "no '$first' on the console"
	[ "$b" -gt 0 ] || fail "no '$second' on the console"
	[ "$a" -lt "$b" ] || fail "'$second' (line $b) came before '$first' (line $a)"
	echo "ok: '$first' (line $a) before '$second' (line $b)"
}

# Shutdown: every device swapped off and detached before the network goes.
assert_shutdown_order() {
	local c=$1 name
	shift
	for name in "$@"; do
		assert_before "$c" "^$name: swapoff /dev/netswap" "^$name: detached /dev/netswap"
		assert_before "$c" "^$name: detached /dev/netswap" "Stopping systemd-networkd"
	done
	grep -q 'reboot: Power down' "$c" || fail "the guest did not power off cleanly"
}

# The consoles stay in build/deploy-boot/ for whoever reads a failure.
keep=$TOP/build/deploy-boot
rm -rf "$keep"
mkdir -p "$keep"

# Boot 1: swap from /etc/netswap/devices, a memhog, poweroff.
c1=$T/console-1
deploy_boot "$img" "$T/vmlinuz-$kver" "$T/initrd.img-$kver" \
	"$base ns.deploy=systemd ns.mib=288" "$c1" 900 320
console "$c1" "$keep/console-1.txt"
c1=$keep/console-1.txt
grep 'NS-DEPLOY\|NS-MEMHOG-END' "$c1"
grep -q '^NS-DEPLOY OK' "$c1" || fail "the guest's checks failed: $(grep 'NS-DEPLOY FAIL' "$c1")"
grep -q '^NS-DEPLOY swapon /dev/netswap0 partition' "$c1" || fail "/dev/netswap0 is not swap"
end=$(grep '^NS-MEMHOG-END' "$c1" | tail -1)
if [ "$(lab_field rc "$end")" != 0 ] || [ "$(lab_field mismatches "$end")" != 0 ] ||
	[ "$(lab_field verified "$end")" != "$(lab_field expected "$end")" ]; then
	fail "memhog did not verify every page: $end"
fi
out=$(grep '^NS-PROGRESS' "$c1" | tail -1)
[ "$(lab_field pswpout "$out")" -gt 0 ] || fail "memhog did not make the guest swap: $out"
sed -n 's/^NS-PROM //p' "$c1" >"$T/netswap.prom"
grep -q '^netswap_write_requests_total{device="netswap0",name="swap0"} [1-9]' "$T/netswap.prom" ||
	fail "the Prometheus file has no write counter: $(head -20 "$T/netswap.prom")"
promtool check metrics <"$T/netswap.prom" || fail "promtool rejects the timer's file"
# The shutdown's swapoff had pages to read back over the network.
used=$(sed -n 's/^NS-DEPLOY swap used at poweroff: \([0-9]*\) KiB$/\1/p' "$c1")
[ "${used:-0}" -ge 32768 ] || fail "only ${used:-no} KiB in swap at poweroff"
assert_shutdown_order "$c1" swap0
assert_clean_console "$c1"

# Boot 2: netswap= on the kernel command line, before the root is mounted.
c2=$T/console-2
deploy_boot "$img" "$T/vmlinuz-$kver" "$T/initrd.img-$kver" \
	"$base ns.deploy=early netswap=$url/early,pri=5" "$c2" 600 320
console "$c2" "$keep/console-2.txt"
c2=$keep/console-2.txt
grep 'NS-DEPLOY' "$c2"
grep -q '^NS-DEPLOY OK' "$c2" || fail "the guest's checks failed: $(grep 'NS-DEPLOY FAIL' "$c2")"
assert_before "$c2" "netswap: boot0: swap is on, before the root is mounted" \
	"EXT4-fs \(vda\): mounted filesystem"
grep -q '^NS-DEPLOY swapon .*/dev/netswap0 partition.*/dev/netswap1 partition' "$c2" ||
	fail "not both devices are swap: $(grep 'NS-DEPLOY swapon' "$c2")"
assert_shutdown_order "$c2" boot0 swap0
assert_clean_console "$c2"
echo "ok: both boots"
