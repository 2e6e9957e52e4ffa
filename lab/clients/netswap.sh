# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # the variables are read by lab/run
# Client plug-in: netswap.ko driven by the netswap CLI (the interface every
# lab/clients/NAME.sh implements is described in docs/lab.md).
#
# The module is built here for the guest's kernel series; the CLI is the
# static cli/netswap.  Once attached, the kernel owns the connection: it
# re-establishes it by itself, so a lost connection is not a dead one.  The
# only thing that would be is a request failed back to the block layer,
# which the lab already counts as an I/O error.

CLIENT_DEAD_RE='netswap[0-9]+: .*(request failed|giving up)'
# The guest library can size vm.min_free_kbytes from `netswap reserve`
# (lab/run --reserve PERCENT).
CLIENT_RESERVE=1

client_prepare() { # SERIES VERSION KROOT KDIR
	local series=$1 kdir=$4
	make -s -C "$LAB_TOP" cli/netswap >&2 ||
		{ echo "cannot build cli/netswap" >&2; return 1; }
	make -s -C "$LAB_TOP/kmod" SERIES="$series" KDIR="$kdir" >&2 ||
		{ echo "cannot build netswap.ko for $series" >&2; return 1; }
	NETSWAP_KO=$LAB_TOP/build/kmod/$series/netswap.ko
}

client_modules() {
	local m
	for m in $(kmod_netswap_deps); do
		echo "$m"
	done
}

# lab/run --modparam NAME=VALUE... (LAB_KO_PARAMS) go to netswap.ko, e.g.
# its test switch memalloc=0.
client_kos() {
	echo "$NETSWAP_KO ${LAB_KO_PARAMS:-}"
}

client_files() {
	echo "$LAB_TOP/cli/netswap /sbin/netswap"
}

# ns.netswap_opts: extra "netswap attach" options, commas for spaces.
client_cmdline() {
	[ -n "${LAB_NETSWAP_OPTS:-}" ] && echo "ns.netswap_opts=${LAB_NETSWAP_OPTS// /,}"
	return 0
}

client_guest_lib() {
	echo "$LAB_DIR/clients/netswap.guest.sh"
}
