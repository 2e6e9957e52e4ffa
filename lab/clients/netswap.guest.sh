# SPDX-License-Identifier: GPL-2.0-only
# Guest side of the netswap client plug-in (busybox sh), sourced by the
# guest's /init as /lab/client.sh.
# shellcheck shell=sh disable=SC2154 # ns_* are set by /init

# guest_attach HOST PORT EXPORT: connect, print the block device.
guest_attach() {
	mount -t configfs configfs /sys/kernel/config 2>/dev/null
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	# shellcheck disable=SC2046 # options are words
	netswap attach $(echo "${ns_netswap_opts:-}" | tr ',' ' ') \
		"nbd://$1:$2/$3" || return 1
	netswap reserve >&2
}

# guest_reconnects: connections the kernel re-established by itself (one
# integer on stdout).  The other recovery counters go to the console as an
# "NS-NETSWAP KEY=VALUE..." line, for tests that want them.
guest_reconnects() {
	d=/sys/block/netswap0/netswap
	if [ ! -d $d ]; then
		echo 0
		return
	fi
	line="NS-NETSWAP reconnects=$(cat $d/reconnects)"
	for c in lost_connections resends timeouts protocol_errors \
		server_errors io_errors swap_requests; do
		line="$line $c=$(cat $d/$c)"
	done
	echo "$line" >&2
	cat $d/reconnects
}
