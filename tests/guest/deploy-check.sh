#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs inside the deployed Debian guest of tests/test-deploy-boot.sh, as
# deploy-check.service once the system is up (netswap.target reached): the
# host reads its "NS-DEPLOY" lines on the serial console.  The kernel
# command line says what to check: ns.deploy=systemd (swap from
# /etc/netswap/devices, then a memhog that verifies every page) or
# ns.deploy=early (swap attached in the initramfs from netswap=, adopted by
# netswap@boot0.service; the root was mounted after it).  Either way it
# ends with "systemctl poweroff": the host then reads the shutdown order.
# shellcheck shell=sh
say() { echo "NS-DEPLOY $*"; }
fail() {
	say "FAIL $*"
	systemctl poweroff --no-block
	exit 1
}

mode=$(sed -n 's/.*ns\.deploy=\([a-z]*\).*/\1/p' /proc/cmdline)
mib=$(sed -n 's/.*ns\.mib=\([0-9]*\).*/\1/p' /proc/cmdline)
say "START mode=$mode kernel=$(uname -r)"

for unit in netswap.target netswap@swap0.service systemd-networkd.service; do
	say "unit $unit $(systemctl is-active "$unit")"
done
say "swapon $(swapon --show=NAME,TYPE,PRIO --noheadings --raw | tr '\n' ';')"
netswap devices | sed 's/^/NS-DEPLOY devices /'
grep -q '^/dev/netswap' /proc/swaps || fail "no netswap device in /proc/swaps"
systemctl is-active --quiet netswap@swap0.service || fail "netswap@swap0 is not active"

if [ "$mode" = early ]; then
	systemctl is-active --quiet netswap@boot0.service ||
		fail "netswap@boot0 (from netswap=) is not active"
	# The kernel log, in the kernel's own time: the initramfs's swapon
	# and the root's mount.
	dmesg | grep -E 'netswap: boot0: swap is on|EXT4-fs \(vda\): mounted' |
		sed 's/^/NS-DEPLOY kmsg /'
fi

if [ "$mode" = systemd ]; then
	# The server package, as README's three commands set it up (here on
	# this machine's loopback): its configuration file and its units.
	printf 'listen = 127.0.0.1:10900\nexport = local=mem:64M,allow=127.0.0.1/32\n' \
		>>/etc/netswap/netswapd.conf
	systemctl enable --now netswapd.service 2>&1 | sed 's/^/NS-DEPLOY server /'
	say "server netswapd.service $(systemctl is-active netswapd.service)" \
		"netswapd.socket $(systemctl is-active netswapd.socket)"
	dev=$(netswap attach --name srvcheck nbd://127.0.0.1:10900/local) ||
		fail "cannot attach to the packaged netswapd"
	netswap detach srvcheck || fail "cannot detach $dev"
	say "server ok: attached $dev from netswapd.service on 127.0.0.1:10900"
fi

# The Prometheus timer has written node_exporter's textfile.
prom=/var/lib/prometheus/node-exporter/netswap.prom
i=0
until [ -s "$prom" ] || [ $i -ge 30 ]; do
	sleep 1
	i=$((i + 1))
done
[ -s "$prom" ] || fail "no $prom"
say "prom-begin"
sed 's/^/NS-PROM /' "$prom"
say "prom-end"

if [ "$mode" = early ]; then
	# After a reboot, the server README set up serves again by itself.
	dev=$(netswap attach --name srvcheck nbd://127.0.0.1:10900/local) ||
		fail "the packaged netswapd does not serve after a reboot"
	netswap detach srvcheck || fail "cannot detach $dev"
	say "server ok after reboot: netswapd.service $(systemctl is-active netswapd.service)" \
		"netswapd.socket $(systemctl is-active netswapd.socket)"
fi

if [ -n "$mib" ]; then
	# 64 MiB that stay in swap until the very end of the shutdown (a unit
	# without shutdown dependencies): swapoff then has to read them back
	# over the network, which must still be there.
	systemd-run --unit=ns-holder -p DefaultDependencies=no sh -c \
		'{ head -c 64M /dev/zero; exec sleep infinity; } | tail -c 64M >/dev/null'
	/usr/local/bin/memhog --procs 1 --mib "$mib" --passes 2 --report 10
	rc=$?
	say "memhog rc=$rc"
	say "swap after memhog: $(grep '^/dev/netswap' /proc/swaps | tr -s ' \t' ' ' | tr '\n' ';')"
	say "swap used at poweroff: $(awk '/^\/dev\/netswap/ { u += $4 } END { print u }' /proc/swaps) KiB"
	netswap status | sed 's/^/NS-DEPLOY status /'
	[ $rc -eq 0 ] || fail "memhog exit $rc"
fi
say "OK, powering off"
systemctl poweroff --no-block
