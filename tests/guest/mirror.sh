# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a kmod-guest (busybox sh -e): a mirrored netswap.ko device
# survives losing a server.  The host (tests/test-kmod-mirror.sh) runs two
# file-backed netswapd, A and B, and acts on "KG-HOST: kill|start|wipe X":
#   A, B     their ports; ONCE: a proxy to C that flips a byte once; CC, DD:
#   the ports of a second pair of servers, C and D.
# shellcheck shell=sh disable=SC2154 # the ports come from the environment
H=10.0.2.2
D=/sys/block/netswap0/netswap

say() { echo "KG: $*"; }
die() { say "FAIL $*"; cat $D/legs; exit 1; }
c() { cat "$D/$1"; }
host() { echo "KG-HOST: $*"; }

wr() { dd if="$3" of=/dev/netswap0 bs=64k seek="$1" count="$2" oflag=direct 2>/dev/null; }
rd() { dd if=/dev/netswap0 of="$3" bs=64k skip="$1" count="$2" iflag=direct 2>/tmp/rd.err; }
same() { # OFF COUNT FILE: the device holds FILE there
	rd "$1" "$2" /tmp/back || die "read at $1: $(cat /tmp/rd.err)"
	cmp "$3" /tmp/back || die "wrong data at $1"
}
wait_for() { # SECONDS TEST...: until TEST holds
	t=$(($1 * 2))
	shift
	while ! "$@"; do
		t=$((t - 1))
		[ $t -gt 0 ] || return 1
		sleep 0.5
	done
}
legs_in_sync() { [ "$(c legs_in_sync)" = "$1" ]; }
leg_down() { [ "$(awk -v l="$1" '$1 == l { print $9 }' $D/legs)" = 0 ]; }
counter_ge() { [ "$(c "$1")" -ge "$2" ]; }

dd if=/dev/urandom of=/tmp/d1 bs=64k count=64 2>/dev/null
dd if=/dev/urandom of=/tmp/d2 bs=64k count=64 2>/dev/null
dd if=/dev/urandom of=/tmp/d3 bs=64k count=64 2>/dev/null

say "attach a mirror: both legs in sync"
netswap attach --mirror --leg-timeout 3 --name m "nbd://$H:$A/swap" "nbd://$H:$B/swap" >/dev/null
[ "$(c mirror_legs)" = 2 ] || die "mirror_legs $(c mirror_legs)"
legs_in_sync 2 || die "legs_in_sync $(c legs_in_sync)"
wr 64 64 /tmp/d1 || die "write d1"
same 64 64 /tmp/d1
netswap status m | grep -q "mirror     2 legs, 2 in sync" || die "status: $(netswap status m)"

say "lose B: a write completes once B is dropped, B's blocks are recorded"
host kill B
wait_for 20 leg_down 1 || die "B's connection never went down"
t0=$(date +%s)
wr 128 64 /tmp/d2 || die "write d2 with B gone"
t1=$(date +%s)
say "the write waited $((t1 - t0)) s (leg_timeout 3)"
[ "$(c degradations)" = 1 ] || die "degradations $(c degradations)"
legs_in_sync 1 || die "legs_in_sync $(c legs_in_sync)"
counter_ge dirty_blocks 1024 || die "dirty_blocks $(c dirty_blocks)"
same 128 64 /tmp/d2
same 64 64 /tmp/d1
[ "$(c io_errors)" = 0 ] || die "io_errors $(c io_errors)"

say "B back on an empty export: it lost its data, the kernel copies it back"
host wipe B
host start B
wait_for 60 legs_in_sync 2 || die "B never came back in sync: $(cat $D/legs)"
counter_ge resynced_blocks 2048 || die "resynced_blocks $(c resynced_blocks)"
[ "$(c server_data_lost)" -ge 1 ] || die "B's loss was not noticed"
netswap status m
netswap status --json m | grep -q '"legs":\[{"id":0,"state":"in-sync"' || die "status --json legs"

say "lose A for good: B alone serves what was copied to it"
host kill A
wait_for 20 leg_down 0 || die "A's connection never went down"
same 64 64 /tmp/d1
same 128 64 /tmp/d2
wr 192 64 /tmp/d3 || die "write d3 with A gone"
same 192 64 /tmp/d3
[ "$(c io_errors)" = 0 ] || die "io_errors $(c io_errors)"
[ "$(c lost_blocks)" = 0 ] || die "lost_blocks $(c lost_blocks)"
say "ok degradations=$(c degradations) resynced=$(c resynced_blocks)"
netswap detach m

say "a byte flipped on one leg: read from the other, repaired"
netswap attach --mirror --name r "nbd://$H:$ONCE/swap" "nbd://$H:$DD/swap" >/dev/null
wr 64 64 /tmp/d1 || die "write"
same 64 64 /tmp/d1
same 64 64 /tmp/d1
counter_ge repairs 1 || die "no repair: integrity_errors=$(c integrity_errors)"
[ "$(c io_errors)" = 0 ] || die "io_errors $(c io_errors)"
wait_for 30 legs_in_sync 2 || die "the repaired leg never came back in sync"
say "ok repairs=$(c repairs) integrity_errors=$(c integrity_errors)"
netswap detach r

say "both legs down, then back: the device waits, drops nobody"
# leg_timeout counts from the moment the other leg is back, and is longer
# than one reconnect backoff: the late one is not dropped for being late.
netswap attach --mirror --leg-timeout 8 --name w "nbd://$H:$CC/swap" "nbd://$H:$DD/swap" >/dev/null
wr 64 64 /tmp/d1 || die "write"
host kill C
host kill D
sleep 4
host start C
host start D
wr 128 64 /tmp/d2 || die "write across the outage"
same 64 64 /tmp/d1
same 128 64 /tmp/d2
[ "$(c degradations)" = 0 ] || die "a leg was dropped with both down"
legs_in_sync 2 || die "legs_in_sync $(c legs_in_sync)"
say "ok reconnects=$(c reconnects)"
netswap detach w
say "all ok"
