#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswapd's command line and lifecycle: each bad command line gets one
# line on stderr and exit 2 (a start that fails at runtime, exit 1);
# --help/--version; SIZE with K/M/G/T; file exports created, grown, served
# as a prefix; port 0 prints "listening ADDR:PORT"; IPv4, IPv6 [::1] and
# unix:PATH listeners together; --pidfile written and removed; SIGTERM and
# SIGINT exit 0 and remove the Unix socket; a stale socket file does not
# block a restart; --mlock locks without populating; a busy port fails the
# start.
# limit: 600
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdinfo

# bad_cmdline WANT_RC ARGS...: netswapd exits WANT_RC at once with exactly
# one line on stderr, nothing on stdout.
bad_cmdline() {
	local want=$1 rc=0 lines; shift
	timeout 60 "$NETSWAPD" "$@" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "netswapd $*: exit $rc, expected $want: $(head -5 "$T/bad.err")"
	lines=$(wc -l <"$T/bad.err")
	[ "$lines" -eq 1 ] ||
		fail "netswapd $*: $lines lines on stderr: $(head -5 "$T/bad.err")"
	grep -q '^netswapd: ' "$T/bad.err" || fail "netswapd $*: unprefixed error"
	if [ "$want" -eq 2 ] && [ -s "$T/bad.out" ]; then
		fail "netswapd $*: wrote to stdout"
	fi
	echo "# exit $rc: netswapd $* -> $(cat "$T/bad.err")"
}

m=(--export m=mem:1M)
bad_cmdline 2
bad_cmdline 2 --listen 127.0.0.1:0
bad_cmdline 2 --bogus "${m[@]}"
bad_cmdline 2 "${m[@]}" extra-argument
bad_cmdline 2 --export
bad_cmdline 2 --export nameonly
bad_cmdline 2 --export a=mem:0
bad_cmdline 2 --export a=mem:12Q
bad_cmdline 2 --export a=mem:1.5M
bad_cmdline 2 --export a=mem:-1
bad_cmdline 2 --export a=mem:99999999T
bad_cmdline 2 --export a=disk:1M
bad_cmdline 2 --export a=file:
bad_cmdline 2 --export "$(printf 'n%.0s' $(seq 4097))=mem:1M"
bad_cmdline 2 --export a=mem:1M --export a=mem:2M
bad_cmdline 2 --export "a=mem:1M,description=$(printf 'd%.0s' $(seq 4097))"
bad_cmdline 2 --export a=mem:1M,allow=10.0.0.0/33
bad_cmdline 2 --export a=mem:1M,read-only,bogus
bad_cmdline 2 --config "$T/missing.conf"
bad_cmdline 2 "${m[@]}" --listen nohost
bad_cmdline 2 "${m[@]}" --listen 127.0.0.1:
bad_cmdline 2 "${m[@]}" --listen '[::1'
bad_cmdline 2 "${m[@]}" --listen '[::1]0'
bad_cmdline 2 "${m[@]}" --listen unix:
bad_cmdline 2 "${m[@]}" --listen 300.1.1.1:0
bad_cmdline 2 "${m[@]}" --allow 300.1.2.3/8
bad_cmdline 2 "${m[@]}" --allow 10.0.0.0/33
bad_cmdline 2 "${m[@]}" --allow ::1/129
bad_cmdline 2 "${m[@]}" --allow 10.0.0.0/
bad_cmdline 2 "${m[@]}" --allow ''
bad_cmdline 2 "${m[@]}" --max-connections 0
bad_cmdline 2 "${m[@]}" --max-connections x
bad_cmdline 2 "${m[@]}" --threads 0
bad_cmdline 2 "${m[@]}" --threads 257
bad_cmdline 2 "${m[@]}" --handshake-timeout 0
bad_cmdline 2 "${m[@]}" --handshake-timeout 1s
bad_cmdline 2 "${m[@]}" --send-timeout 0
bad_cmdline 2 "${m[@]}" --send-timeout soon
bad_cmdline 2 "${m[@]}" --buffer-memory 512K
bad_cmdline 2 "${m[@]}" --buffer-memory 1M
bad_cmdline 2 "${m[@]}" --buffer-memory 2T
bad_cmdline 2 "${m[@]}" --buffer-memory lots
bad_cmdline 2 "${m[@]}" --threads
# Runtime failures: exit 1, still one line.
: >"$T/empty.img"
bad_cmdline 1 --listen 127.0.0.1:0 --export a=file:"$T"/missing/x.img
bad_cmdline 1 --listen 127.0.0.1:0 --export a=file:"$T"/empty.img
bad_cmdline 1 --listen 127.0.0.1:0 "${m[@]}" --pidfile "$T"/missing/pid
bad_cmdline 1 --listen unix:"$T"/missing/sock "${m[@]}"

# --help and --version: stdout, exit 0.
"$NETSWAPD" --help >"$T/help.out" || fail "--help exit status"
grep -q -- '--export' "$T/help.out" || fail "--help lacks --export"
"$NETSWAPD" --version >"$T/version.out" || fail "--version exit status"
grep -q '^netswapd [0-9]' "$T/version.out" || fail "--version: $(cat "$T/version.out")"

# SIZE suffixes, and file exports: created sparse at SIZE, grown to SIZE,
# or served as a prefix of a larger file; without SIZE the file's size.
truncate -s 3M "$T/grow.img"
head -c 5M /dev/zero >"$T/big.img"
cp "$T/big.img" "$T/big2.img"
truncate -s 12345 "$T/odd.img"
serve sz "$NETSWAPD" --export b=mem:1000 --export k=mem:4K --export k2=mem:64k \
	--export m=mem:3M --export g=mem:2G --export t=mem:1T \
	--export "new=file:$T/new.img:5M" --export "grow=file:$T/grow.img:8M" \
	--export "prefix=file:$T/big.img:1M" --export "whole=file:$T/big2.img" \
	--export "odd=file:$T/odd.img" --overcommit --quiet
for pair in b:1000 k:4096 k2:65536 m:$((3 << 20)) g:$((2 << 30)) \
	t:$((1 << 40)) new:$((5 << 20)) grow:$((8 << 20)) prefix:$((1 << 20)) \
	whole:$((5 << 20)) odd:12345; do
	got=$(nbdinfo --size "nbd://127.0.0.1:$sz_PORT/${pair%%:*}")
	assert_eq "$got" "${pair#*:}" "size of export ${pair%%:*}"
done
assert_eq "$(stat -c %s "$T/new.img")" $((5 << 20)) "created file size"
[ "$(stat -c %b "$T/new.img")" -lt 64 ] || fail "created file is not sparse"
assert_eq "$(stat -c %s "$T/grow.img")" $((8 << 20)) "grown file size"
assert_eq "$(stat -c %s "$T/big.img")" $((5 << 20)) "prefix export resized its file"
stop_server "$sz_PID" || fail "size server exit status"

# Every kind of listener at once, with --pidfile.  Port 0 is a real port.
start_listening all "$NETSWAPD" --listen 127.0.0.1:0 --listen '[::1]:0' \
	--listen "unix:$T/nbd.sock" --export mem=mem:1M \
	--pidfile "$T/netswapd.pid" --quiet
mapfile -t lines <"$all_OUT"
assert_eq "${#lines[@]}" 3 "listening lines"
[[ ${lines[0]} =~ ^listening\ 127\.0\.0\.1:([0-9]+)$ ]] ||
	fail "IPv4 line: ${lines[0]}"
p4=${BASH_REMATCH[1]}
[[ ${lines[1]} =~ ^listening\ \[::1\]:([0-9]+)$ ]] || fail "IPv6 line: ${lines[1]}"
p6=${BASH_REMATCH[1]}
assert_eq "${lines[2]}" "listening unix:$T/nbd.sock" "unix line"
[ "$p4" -gt 0 ] || fail "port 0 printed as a port"
[ "$p6" -gt 0 ] || fail "port 0 printed as a port"
for _ in $(seq 1 50); do [ -s "$T/netswapd.pid" ] && break; sleep 0.1; done
assert_eq "$(cat "$T/netswapd.pid")" "$all_PID" "pidfile contents"
for uri in "nbd://127.0.0.1:$p4/mem" "nbd://[::1]:$p6/mem" \
	"nbd+unix:///mem?socket=$T/nbd.sock"; do
	assert_eq "$(nbdinfo --size "$uri")" 1048576 "size via $uri"
done
[ -S "$T/nbd.sock" ] || fail "no socket file"
rc=0; stop_server "$all_PID" || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
[ ! -e "$T/netswapd.pid" ] || fail "pidfile left behind"
[ ! -e "$T/nbd.sock" ] || fail "unix socket left behind"

# SIGINT is as graceful; a socket file left by a killed server does not
# block the next one.
start_listening int "$NETSWAPD" --listen "unix:$T/nbd.sock" --export mem=mem:1M
kill -KILL "$int_PID"
wait "$int_PID" 2>/dev/null || true
[ -S "$T/nbd.sock" ] || fail "SIGKILL removed the socket?"
start_listening int2 "$NETSWAPD" --listen "unix:$T/nbd.sock" --export mem=mem:1M
assert_eq "$(nbdinfo --size "nbd+unix:///mem?socket=$T/nbd.sock")" 1048576 \
	"size after a stale socket"
kill -INT "$int2_PID"
rc=0; wait "$int2_PID" || rc=$?
assert_eq "$rc" 0 "exit status after SIGINT"
grep -q "signal 2" "$int2_ERR" || fail "no log of SIGINT: $(cat "$int2_ERR")"

# --mlock locks the mappings (the 64 MiB export among them) but, being
# MCL_ONFAULT, populates nothing up front: its RSS stays within a few MiB
# of the same server's without --mlock (whose libraries weigh what they
# weigh), and without it nothing is locked.
serve nolck "$NETSWAPD_REL" --export mem=mem:64M
assert_eq "$(awk '/^VmLck:/ {print $2}' "/proc/$nolck_PID/status")" 0 \
	"VmLck without --mlock"
base_rss=$(rss_kib "$nolck_PID")
stop_server "$nolck_PID" || fail "server exit status"
grep -q stopped "$nolck_ERR" || fail "a server without --quiet did not log"
serve lck "$NETSWAPD_REL" --export mem=mem:64M --mlock --quiet
locked=$(awk '/^VmLck:/ {print $2}' "/proc/$lck_PID/status")
rss=$(rss_kib "$lck_PID")
echo "# --mlock: VmLck ${locked} KiB, VmRSS ${rss} KiB (${base_rss} KiB without)"
[ "$locked" -ge $((64 << 10)) ] || fail "--mlock: only ${locked} KiB locked"
[ "$rss" -le $((base_rss + (8 << 10))) ] ||
	fail "--mlock populated $((rss - base_rss)) KiB up front"
assert_serves "$lck_PORT" mem
stop_server "$lck_PID" || fail "--mlock server exit status"
# (--quiet: no informational lines.)
if grep -E 'serving|signal|stopped' "$lck_ERR"; then
	fail "--quiet server logged informational lines"
fi

# A port in use: the start fails (exit 1) with one line.
serve busy "$NETSWAPD" --export mem=mem:1M --quiet
bad_cmdline 1 --listen "127.0.0.1:$busy_PORT" --export mem=mem:1M
stop_server "$busy_PID" || fail "busy server exit status"
echo "command line: all passed"
