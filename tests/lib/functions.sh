# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by the shell tests: start servers on random ports, clean up by PID,
# assert.  Source it; every test is a bash script that exits non-zero on
# failure and prints why.

set -euo pipefail

# Debian's nbdsh runs "python3 -m nbd": it must be Debian's python3.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NETSWAPD=${NETSWAPD:-$TOP/build/asan/server/netswapd}
NETSWAPD_REL=${NETSWAPD_REL:-$TOP/server/netswapd}
T=$(mktemp -d /tmp/netswap-test.XXXXXX)
_pids=()
_cleanups=()

# on_cleanup CMD...: run CMD at exit, before the PIDs are killed (e.g. kill
# a server whose PID is only known from a pidfile).
on_cleanup() {
	_cleanups+=("$*")
}

cleanup() {
	local p c
	for c in "${_cleanups[@]}"; do
		eval "$c" || true
	done
	for p in "${_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || fail "missing command $c (make test installs it)"
	done
}

# free_port: a TCP port nothing listens on now (for a server that must come
# back on the same port; others learn theirs from the server itself).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_listening HOST PORT: until something listens there (10 s).
wait_listening() {
	local _
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hltn "src $1 and sport = :$2" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# start_netswapd NAME ARGS...: runs netswapd in the background on a random
# port.  Sets NAME_PID, NAME_PORT, NAME_ERR (its stderr file).
start_netswapd() {
	local name=$1; shift
	start_server_bin "$name" "$NETSWAPD" "$@"
}

start_server_bin() {
	local name=$1 bin=$2; shift 2
	start_listening "$name" "$bin" --listen 127.0.0.1:0 "$@"
}

# start_listening NAME BIN ARGS...: like start_server_bin, but the caller
# gives every --listen; NAME_LISTEN gets the first "listening" line's
# address (ADDR:PORT or unix:PATH), NAME_PORT its port if it has one,
# NAME_OUT the server's stdout file.
start_listening() {
	local name=$1 bin=$2; shift 2
	local out="$T/$name.out" err="$T/$name.err" addr=
	: >"$out"	# exists before the first look at it below
	"$bin" "$@" >"$out" 2>"$err" &
	local pid=$!
	_pids+=("$pid")
	# 60 s: a sanitized server starts slowly on a loaded machine.
	for _ in $(seq 1 1200); do
		addr=$(sed -n 's/^listening //p' "$out" | head -1)
		[ -n "$addr" ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$err" >&2; fail "$name exited at start"; }
		sleep 0.05
	done
	[ -n "$addr" ] || fail "$name did not print where it listens"
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_LISTEN" '%s' "$addr"
	printf -v "${name}_PORT" '%s' "${addr##*:}"
	printf -v "${name}_ERR" '%s' "$err"
	printf -v "${name}_OUT" '%s' "$out"
}

# stop_server PID: SIGTERM and wait; returns the exit status.
stop_server() {
	local pid=$1 rc=0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	return $rc
}

# rss_kib PID: resident set size in KiB.
rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

# hwm_kib PID: peak resident set size in KiB.
hwm_kib() {
	awk '/^VmHWM:/ {print $2}' "/proc/$1/status"
}

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

# The server must still serve: a write/read round trip through nbdsh.
assert_serves() {
	local port=$1 export=${2:-mem}
	nbdsh -u "nbd://127.0.0.1:$port/$export" -c '
buf = b"alive!" * 100
h.pwrite(buf, 4096)
assert h.pread(len(buf), 4096) == buf
' || fail "server on port $port no longer serves '$export'"
}

# lab_field, for the lab tests.
# shellcheck source=lab/lib/result.sh
. "$TOP/lab/lib/result.sh"

# assert_lab_cleaned_up ERRFILE: the QEMU and server PIDs a lab/run logged
# on its stderr (ERRFILE) are gone: the lab ends everything it starts.
assert_lab_cleaned_up() {
	local pids pid
	pids=$(sed -n 's/.*(QEMU pid \([0-9]*\)), server .* pid \([0-9]*\) port.*/\1 \2/p' "$1")
	[ -n "$pids" ] || fail "lab/run did not log its QEMU and server PIDs"
	for pid in $pids; do
		if kill -0 "$pid" 2>/dev/null; then
			fail "process $pid started by the lab is still running"
		fi
	done
}

# lab_proxy ARGS...: build tests/tools/nbd-corrupt-proxy and write $T/proxy,
# the program for lab/run --proxy (started as PROG --listen A --upstream B),
# which runs the proxy with ARGS in front of those.
lab_proxy() {
	gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -pthread -I"$TOP" \
		-o "$T/nbd-corrupt-proxy" "$TOP/tests/tools/nbd-corrupt-proxy.c" ||
		fail "cannot build tests/tools/nbd-corrupt-proxy.c"
	{
		echo '#!/bin/sh'
		printf 'exec %q' "$T/nbd-corrupt-proxy"
		printf ' %q' "$@"
		echo ' "$@"'
	} >"$T/proxy"
	chmod +x "$T/proxy"
}
