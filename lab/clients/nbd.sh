# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # the variables are read by lab/run
# Client plug-in: the stock kernel nbd.ko driven by Debian's nbd-client, the
# baseline.  The interface every lab/clients/NAME.sh implements is described
# in docs/lab.md ("Client plug-ins").
#
# nbd-client (3.24) configures the device over netlink and exits: from then
# on the kernel owns the socket and nothing reconnects it.  -t sets the
# request timeout after which the kernel declares the connection dead.
# -swap only matters in ioctl mode (it mlocks the nbd-client that stays
# resident); it is passed as the documented recipe for swap over NBD.

CLIENT_DEAD_RE='nbd[0-9]+: (Connection timed out|Dead connection|Receive control failed|Send control failed|shutting down sockets|Attempted send on invalid socket|Receive data failed)'

client_prepare() { # SERIES VERSION KROOT KDIR
	"$LAB_TOP/tests/lib/apt-ensure" nbd-client ||
		{ echo "cannot install nbd-client" >&2; return 1; }
}

client_modules() {
	echo "nbd nbds_max=1"
}

client_kos() {
	:
}

client_files() {
	echo "/usr/sbin/nbd-client /sbin/nbd-client"
}

client_cmdline() {
	echo "ns.nbd_timeout=${LAB_NBD_TIMEOUT:-60}"
}

client_guest_lib() {
	echo "$LAB_DIR/clients/nbd.guest.sh"
}
