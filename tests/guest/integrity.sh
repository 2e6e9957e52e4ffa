# SPDX-License-Identifier: GPL-2.0-only
# Runs inside a kmod-guest (busybox sh -e): netswap.ko never hands back a
# wrong page.  The servers and proxies are the host's, started by
# tests/test-kmod-integrity.sh:
#   ONCE     corrupting proxy, damages one READ reply  (then behaves)
#   ALWAYS   corrupting proxy, damages every reply carrying one page
#   AMNESIA  netswapd that the host restarts empty on "KG-HOST: restart"
#   ERR1     nbd-hostile: one reply carries NBD_EIO
#   ENOSPC   nbd-hostile: every WRITE reply carries NBD_ENOSPC
#   ODD      nbdkit memory export whose size is not a multiple of 512
# shellcheck shell=sh disable=SC2154 # the ports come from the environment
H=10.0.2.2
D=/sys/block/netswap0/netswap
F=/sys/kernel/debug/netswap/netswap0

say() { echo "KG: $*"; }
die() { say "FAIL $*"; exit 1; }
c() { cat "$D/$1"; }

# wr OFFSET_64K COUNT_64K FILE, rd OFFSET_64K COUNT_64K FILE: O_DIRECT I/O.
wr() { dd if="$3" of=/dev/netswap0 bs=64k seek="$1" count="$2" oflag=direct 2>/dev/null; }
rd() { dd if=/dev/netswap0 of="$3" bs=64k skip="$1" count="$2" iflag=direct 2>/tmp/rd.err; }

wait_counter() { # NAME MIN: until the counter reaches MIN (60 s)
	i=0
	while [ "$(c "$1")" -lt "$2" ]; do
		i=$((i + 1))
		[ $i -lt 120 ] || die "$1 stayed at $(c "$1") (wanted $2): $(cat "$D/connections")"
		sleep 0.5
	done
}

dd if=/dev/urandom of=/tmp/data bs=64k count=64 2>/dev/null	# 4 MiB

say "a byte flipped once on the wire: detected, read again, right data"
netswap attach --name once "nbd://$H:$ONCE/swap" >/dev/null
[ "$(c integrity)" = 1 ] || die "integrity is not on by default"
[ "$(c integrity_bytes)" -gt 0 ] || die "integrity_bytes is 0"
wr 64 64 /tmp/data || die "write"
[ "$(c known_blocks)" -ge 1024 ] || die "known_blocks $(c known_blocks) after 4 MiB"
rd 64 64 /tmp/back || die "read failed: $(cat /tmp/rd.err)"
cmp /tmp/data /tmp/back || die "wrong data reached the reader"
[ "$(c integrity_errors)" -ge 1 ] || die "the flipped byte was not detected"
[ "$(c integrity_rereads)" -ge 1 ] || die "no re-read"
[ "$(c io_errors)" = 0 ] || die "io_errors $(c io_errors)"
say "ok integrity_errors=$(c integrity_errors) rereads=$(c integrity_rereads)"
netswap status once | grep -q "integrity  on" || die "status does not show integrity: $(netswap status once)"
netswap detach once

say "a page that always comes back wrong: an I/O error, never the page"
netswap attach --name always "nbd://$H:$ALWAYS/swap" >/dev/null
wr 64 64 /tmp/data || die "write"
if rd 64 64 /tmp/back; then
	die "the read succeeded although one page always comes back wrong"
fi
grep -q "Input/output error" /tmp/rd.err || die "not an I/O error: $(cat /tmp/rd.err)"
[ "$(c integrity_errors)" -ge 2 ] || die "integrity_errors $(c integrity_errors)"
[ "$(c io_errors)" -ge 1 ] || die "io_errors not counted"
[ "$(c server_data_lost)" = 0 ] || die "one bad page was taken for a lost server"
# The other pages still read right, one by one.
rd 72 56 /tmp/back || die "the good part failed: $(cat /tmp/rd.err)"
dd if=/tmp/data of=/tmp/part bs=64k skip=8 count=56 2>/dev/null
cmp /tmp/part /tmp/back || die "wrong data in the good part"
say "ok integrity_errors=$(c integrity_errors) io_errors=$(c io_errors)"
netswap detach always

say "--no-integrity: the same wire now hands the damage through"
netswap attach --no-integrity --name off "nbd://$H:$ALWAYS/swap" >/dev/null
[ "$(c integrity)" = 0 ] || die "integrity still on"
[ "$(c integrity_bytes)" = 0 ] || die "integrity_bytes $(c integrity_bytes)"
wr 64 64 /tmp/data || die "write"
rd 64 64 /tmp/back || die "read: $(cat /tmp/rd.err)"
if cmp -s /tmp/data /tmp/back; then
	die "the proxy did not damage anything: this test proves nothing"
fi
say "ok the damage went through unchecked, as asked"
netswap detach off

say "a server that lost its data: found at reconnect, reads fail, rewrites work"
netswap attach --name amnesia "nbd://$H:$AMNESIA/swap" >/dev/null
wr 64 64 /tmp/data || die "write"
echo "KG-HOST: restart"
wait_counter reconnects 1
[ "$(c server_data_lost)" = 1 ] || die "server_data_lost $(c server_data_lost)"
[ "$(c lost_blocks)" -ge 1024 ] || die "lost_blocks $(c lost_blocks)"
if rd 64 64 /tmp/back; then
	die "a block the server lost was read back as data"
fi
rd 512 16 /tmp/back || die "a never-written block failed: $(cat /tmp/rd.err)"
wr 64 64 /tmp/data || die "rewrite"
rd 64 64 /tmp/back || die "read after rewrite: $(cat /tmp/rd.err)"
cmp /tmp/data /tmp/back || die "wrong data after rewrite"
[ "$(c lost_blocks)" = 0 ] || die "lost_blocks $(c lost_blocks) after rewriting them"
say "ok server_data_lost=$(c server_data_lost) integrity_errors=$(c integrity_errors)"
netswap detach amnesia

say "one error reply: retried on the same connection"
netswap attach --name err1 "nbd://$H:$ERR1/swap" >/dev/null
wr 64 64 /tmp/data || die "write"
rd 64 64 /tmp/back || die "read: $(cat /tmp/rd.err)"
cmp /tmp/data /tmp/back || die "wrong data"
[ "$(c server_errors)" = 1 ] || die "server_errors $(c server_errors)"
[ "$(c error_retries)" = 1 ] || die "error_retries $(c error_retries)"
[ "$(c lost_connections)" = 0 ] || die "the connection was reset for an error reply"
[ "$(c io_errors)" = 0 ] || die "io_errors $(c io_errors)"
say "ok"
netswap detach err1

say "a full server (ENOSPC): the write fails with ENOSPC, the connection stays"
netswap attach --name full "nbd://$H:$ENOSPC/swap" >/dev/null
if wr 64 1 /tmp/data 2>/tmp/wr.err; then
	die "a write succeeded on a full server"
fi
[ "$(c error_retries)" -ge 3 ] || die "error_retries $(c error_retries)"
[ "$(c lost_connections)" = 0 ] || die "reconnect storm: $(c lost_connections) lost"
[ "$(c reconnects)" = 0 ] || die "reconnects $(c reconnects)"
rd 512 16 /tmp/back || die "reads failed too: $(cat /tmp/rd.err)"
dmesg | grep -q "answered error 28" || die "no log line naming the error"
say "ok error_retries=$(c error_retries) io_errors=$(c io_errors)"
netswap detach full

say "an export whose size is not a multiple of the block size reconnects"
netswap attach --name odd "nbd://$H:$ODD/" >/dev/null
[ "$(c size_bytes)" = 67108864 ] || die "size $(c size_bytes)"
echo 0 >"$F/cut"
wr 64 64 /tmp/data || die "write after cut"
wait_counter reconnects 1
rd 64 64 /tmp/back || die "read: $(cat /tmp/rd.err)"
cmp /tmp/data /tmp/back || die "wrong data"
say "ok reconnects=$(c reconnects)"
netswap detach odd
say "all ok"
