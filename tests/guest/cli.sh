# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a kmod-guest (busybox sh -e): the netswap CLI and netswap.ko
# against the servers tests/test-kmod-cli.sh started on the host.
# GOOD: netswapd port (export "swap"), REFUSED: a closed port,
# GARBAGE: a port that answers with something that is not NBD.
# shellcheck shell=sh disable=SC2154 # GOOD, REFUSED, GARBAGE from the env
H=10.0.2.2
D=/sys/block/netswap0/netswap
F=/sys/kernel/debug/netswap/netswap0

say() { echo "KG: $*"; }
die() { say "FAIL $*"; exit 1; }

# expect_fail DESC WANT CMD...: CMD fails with exit 1 and WANT in its one line.
expect_fail() {
	desc=$1 want=$2
	shift 2
	if out=$("$@" 2>&1); then
		die "$desc: succeeded: $out"
	fi
	echo "$out" | grep -q "$want" || die "$desc: '$out'"
	[ "$(echo "$out" | wc -l)" -eq 1 ] || die "$desc: more than one line: $out"
	say "ok $desc: $out"
}

# roundtrip DEV: 4 MiB of random data out and back, O_DIRECT.
roundtrip() {
	dd if=/dev/urandom of=/tmp/a bs=64k count=64 2>/dev/null
	dd if=/tmp/a of="$1" bs=64k oflag=direct 2>/dev/null || return 1
	dd if="$1" of=/tmp/b bs=64k count=64 iflag=direct 2>/dev/null || return 1
	cmp /tmp/a /tmp/b
}

counter() { cat "$D/$1"; }

wait_live() { # N: wait until N connections are live
	i=0
	while [ "$(grep -c ' live ' "$D/connections")" -lt "$1" ]; do
		i=$((i + 1))
		[ $i -lt 60 ] || die "connections never came up: $(cat "$D/connections")"
		sleep 1
	done
}

say "attach errors"
expect_fail "refused" "connection refused" netswap attach "nbd://$H:$REFUSED/swap"
expect_fail "no export" "no such export" netswap attach "nbd://$H:$GOOD/nope"
expect_fail "not nbd" "not an NBD server" netswap attach "nbd://$H:$GARBAGE/swap"
expect_fail "bad url" "expected nbd://" netswap attach "http://$H/swap"
left=$(find /sys/kernel/config/netswap -mindepth 1 -type d)
[ -z "$left" ] || die "failed attaches left directories: $left"

say "attach, round trip, status"
dev=$(netswap attach --name first --req-timeout 4 "nbd://$H:$GOOD/swap")
[ "$dev" = /dev/netswap0 ] || die "attach printed '$dev'"
[ -b "$dev" ] || die "$dev is not a block device"
[ "$(counter size_bytes)" = 67108864 ] || die "size $(counter size_bytes)"
roundtrip "$dev" || die "round trip"
netswap status
netswap status --json >/tmp/json
grep -q '"device":"/dev/netswap0"' /tmp/json || die "status --json: $(cat /tmp/json)"
grep -q '"name":"first"' /tmp/json || die "status --json has no name"
netswap status first | grep -q "connections 1/1 live" || die "status by name"
netswap reserve | grep -q "recommended" || die "reserve"
[ "$(counter write_requests)" -gt 0 ] || die "writes not counted"
[ "$(counter read_requests)" -gt 0 ] || die "reads not counted"
[ "$(counter write_bytes)" -ge 4194304 ] || die "bytes not counted"

say "fault: cut the connection"
echo 0 >"$F/cut"
roundtrip "$dev" || die "round trip after cut"
wait_live 1
[ "$(counter reconnects)" -ge 1 ] || die "no reconnect after cut"
[ "$(counter lost_connections)" -ge 1 ] || die "loss not counted"
say "ok reconnects=$(counter reconnects)"

say "fault: drop replies"
echo 2 >"$F/drop_replies"
roundtrip "$dev" || die "round trip with dropped replies"
[ "$(counter timeouts)" -ge 1 ] || die "no timeout counted"
[ "$(counter resends)" -ge 1 ] || die "no resend counted"
[ "$(counter io_errors)" = 0 ] || die "io errors: $(counter io_errors)"
say "ok timeouts=$(counter timeouts) resends=$(counter resends)"

say "detach refused while swapping on it"
mkswap "$dev" >/dev/null
swapon "$dev"
expect_fail "detach swap" "in use as swap" netswap detach "$dev"
swapoff "$dev"
say "detach refused while open, waits for an opener that lets go"
exec 3<"$dev"
expect_fail "detach open" "device is in use" netswap detach "$dev"
exec 3<&-
# udev's probe after an attach holds the device this way: briefly.
sh -c 'exec 3<"$1"; sleep 2' sh "$dev" &
sleep 0.5
netswap detach netswap0 || die "detach did not wait for a brief opener"
wait
[ ! -e /sys/block/netswap0 ] || die "netswap0 still there"
[ -z "$(find /sys/kernel/config/netswap -mindepth 1 -type d)" ] ||
	die "detach left a directory"
expect_fail "detach unknown" "no such netswap device" netswap detach netswap0

say "two connections"
dev=$(netswap attach --connections 2 "nbd://$H:$GOOD/swap")
wait_live 2
roundtrip "$dev" || die "round trip on two connections"
echo 1 >"$F/cut"
roundtrip "$dev" || die "round trip after cutting connection 1"
wait_live 2
netswap status
netswap detach "$dev"

say "io timeout: a user who wants errors gets them"
dev=$(netswap attach --io-timeout 2 --req-timeout 30 "nbd://$H:$GOOD/swap")
roundtrip "$dev" || die "round trip before the stall"
echo 6000 >"$F/stall_ms"
if dd if="$dev" of=/dev/null bs=4k count=1 skip=100 iflag=direct 2>/tmp/err; then
	die "read succeeded although the server stalled past --io-timeout"
fi
say "ok read failed: $(head -1 /tmp/err)"
[ "$(counter io_errors)" -ge 1 ] || die "io_errors not counted"
echo 0 >"$F/stall_ms"
wait_live 1
roundtrip "$dev" || die "round trip after the stall"
netswap detach "$dev"

say "module unload and reload"
dev=$(netswap attach --name pinned "nbd://$H:$GOOD/swap")
if rmmod netswap 2>/dev/null; then
	die "rmmod succeeded with a device attached"
fi
netswap detach pinned
rmmod netswap || die "rmmod failed with no device"
expect_fail "no module" "module not loaded" netswap status
insmod /mods/netswap.ko
dev=$(netswap attach "nbd://$H:$GOOD/swap")
roundtrip "$dev" || die "round trip after reload"
netswap detach "$dev"
say "all ok"
