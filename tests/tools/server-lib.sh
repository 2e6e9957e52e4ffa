# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by tests/test-server-*.sh, sourced after tests/lib/functions.sh:
# the raw NBD client, RSS bounds, servers with listeners of our choosing.

TOOLS=$TOP/tests/tools

# serve NAME BIN ARGS...: start_server_bin with NAME.out created first.
# start_server_bin's first "sed NAME.out" can run before the backgrounded
# server has opened that file, and under set -e and pipefail the failed
# sed ends the test.
serve() {
	: >"$T/$1.out"
	start_server_bin "$@"
}

# rawnbd PORT [ARG...] <<'EOF' ... EOF: run a Python script against the
# server with the helpers of tests/tools/server-rawnbd.py in scope.
rawnbd() {
	/usr/bin/python3 "$TOOLS/server-rawnbd.py" "$@"
}

# assert_rss_within PID LIMIT_KIB WHAT: peak and current RSS of a live
# server stay within the limit.
assert_rss_within() {
	local pid=$1 limit=$2 what=$3 rss hwm
	kill -0 "$pid" 2>/dev/null || fail "server $pid died ($what)"
	rss=$(rss_kib "$pid")
	hwm=$(hwm_kib "$pid")
	echo "# $what: VmRSS ${rss} KiB, VmHWM ${hwm} KiB (limit ${limit} KiB)"
	[ "$hwm" -le "$limit" ] ||
		fail "$what: VmHWM ${hwm} KiB exceeds ${limit} KiB"
	[ "$rss" -le "$limit" ] ||
		fail "$what: VmRSS ${rss} KiB exceeds ${limit} KiB"
}

# assert_alive PID WHAT
assert_alive() {
	kill -0 "$1" 2>/dev/null || fail "server $1 died: $2"
}

# pool_used_kib PID ERRFILE: ask a server for its stats (SIGUSR1) and
# return the buffer-pool bytes in use, in KiB.
pool_used_kib() {
	local pid=$1 err=$2 before line
	before=$(grep -c 'stats:' "$err" || true)
	kill -USR1 "$pid"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'stats:' "$err" || true)" -gt "$before" ] && break
		sleep 0.05
	done
	line=$(grep 'stats:' "$err" | tail -1)
	[ -n "$line" ] || fail "server $pid printed no stats"
	/usr/bin/python3 - "$line" <<'EOF'
import re, sys
m = re.search(r"pool_used=(\d+(?:\.\d+)?)([KMGT]?)", sys.argv[1])
if not m:
    sys.exit("cannot parse: " + sys.argv[1])
shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2)]
print(int(float(m.group(1)) * (1 << shift) / 1024))
EOF
}

