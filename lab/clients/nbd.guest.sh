# SPDX-License-Identifier: GPL-2.0-only
# Guest side of the nbd client plug-in (busybox sh), sourced by the guest's
# /init as /lab/client.sh.
# shellcheck shell=sh disable=SC2154 # ns_* are set by /init

# guest_attach HOST PORT EXPORT: connect, print the block device.
guest_attach() {
	nbd-client "$1" "$2" /dev/nbd0 -N "$3" -t "${ns_nbd_timeout:-60}" \
		-swap >&2 || return 1
	# What the kernel took as the request timeout (ms), for the record.
	echo "nbd0 io_timeout=$(cat /sys/block/nbd0/queue/io_timeout 2>/dev/null)" >&2
	echo /dev/nbd0
}

# guest_counters: the stock client never reconnects by itself and checks
# nothing it reads.
guest_counters() {
	echo "reconnects=0 integrity_errors=0 server_data_lost=0 resynced=0"
}
