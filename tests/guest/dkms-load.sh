# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a kmod-guest (busybox sh -e) whose netswap.ko is the one DKMS
# built and installed from the netswap-dkms package (tests/test-dkms.sh):
# it loaded, it is the version of the packaged source, and it works: attach to the
# host's netswapd (PORT, export "swap"), 4 MiB out and back, detach.
# shellcheck shell=sh disable=SC2154 # PORT and VERSION come from the env
say() { echo "KG: $*"; }
die() { say "FAIL $*"; exit 1; }

[ -d /sys/module/netswap ] || die "netswap.ko is not loaded"
got=$(cat /sys/module/netswap/version)
[ "$got" = "$VERSION" ] || die "module version $got, the packaged source says $VERSION"
say "loaded netswap.ko $got on $(uname -r)"

dev=$(netswap attach --name dkms "nbd://10.0.2.2:$PORT/swap")
[ -b "$dev" ] || die "attach gave '$dev'"
dd if=/dev/urandom of=/tmp/a bs=64k count=64 2>/dev/null
dd if=/tmp/a of="$dev" bs=64k oflag=direct 2>/dev/null || die "write"
dd if="$dev" of=/tmp/b bs=64k count=64 iflag=direct 2>/dev/null || die "read"
cmp /tmp/a /tmp/b || die "the data read back differs"
netswap detach dkms || die "detach"
say "all ok"
