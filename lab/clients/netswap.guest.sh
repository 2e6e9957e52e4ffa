# SPDX-License-Identifier: GPL-2.0-only
# Guest side of the netswap client plug-in (busybox sh), sourced by the
# guest's /init as /lab/client.sh.
# shellcheck shell=sh disable=SC2154 # ns_* are set by /init

# guest_attach HOST PORT EXPORT: connect, print the block device.  With
# ns.mirror_port (lab/run --mirror), the same export on that port too.
guest_attach() {
	mount -t configfs configfs /sys/kernel/config 2>/dev/null
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	mirror=''
	[ -n "${ns_mirror_port:-}" ] && mirror="--mirror nbd://$1:$ns_mirror_port/$3"
	# shellcheck disable=SC2046,SC2086 # options are words
	netswap attach $(echo "${ns_netswap_opts:-}" | tr ',' ' ') \
		${mirror:+--mirror} "nbd://$1:$2/$3" ${mirror#--mirror } || return 1
	netswap reserve >&2
	# lab/run --reserve PERCENT: min_free_kbytes at that share of the
	# recommendation (the estimate checked against a deadlock scenario).
	if [ -n "${ns_reserve:-}" ]; then
		rec=$(netswap reserve | sed -n 's/.* recommended \([0-9]*\) .*/\1/p')
		[ -n "$rec" ] || { echo "NS-ERROR no recommendation from netswap reserve" >&2; return 1; }
		echo $((rec * ns_reserve / 100)) >/proc/sys/vm/min_free_kbytes || return 1
		echo "NS-RESERVE recommended_kib=$rec percent=$ns_reserve" \
			"min_free_kbytes=$(cat /proc/sys/vm/min_free_kbytes)" >&2
	fi
}

# guest_counters: what the lab's result line reports (reconnects the kernel
# made by itself, blocks that came back wrong, servers found to have lost
# their data) on stdout; every recovery counter goes to the console as an
# "NS-NETSWAP KEY=VALUE..." line, for tests that want them.
guest_counters() {
	d=/sys/block/netswap0/netswap
	if [ ! -d $d ]; then
		echo "reconnects=0 integrity_errors=0 server_data_lost=0 resynced=0"
		return
	fi
	line="NS-NETSWAP reconnects=$(cat $d/reconnects)"
	for c in lost_connections resends timeouts protocol_errors \
		server_errors error_retries io_errors swap_requests \
		integrity_errors integrity_rereads server_data_lost lost_blocks \
		integrity_bytes size_bytes resynced_blocks repairs degradations \
		legs_in_sync; do
		line="$line $c=$(cat $d/$c)"
	done
	echo "$line" >&2
	# A mirror: each leg's state, dirty blocks, resync (see netswap(8)).
	[ "$(cat $d/mirror_legs)" -gt 1 ] && sed 's/^/NS-LEG /' $d/legs >&2
	echo "reconnects=$(cat $d/reconnects) integrity_errors=$(cat $d/integrity_errors)" \
		"server_data_lost=$(cat $d/server_data_lost) resynced=$(cat $d/resynced_blocks)"
}
