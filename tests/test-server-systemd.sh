#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswapd under a service manager, by the protocols systemd speaks (no
# systemd as PID 1 here): READY=1, STATUS= and STOPPING=1 reach
# NOTIFY_SOCKET; a listening socket passed the way systemd passes it
# (systemd-socket-activate: LISTEN_FDS, LISTEN_PID) is served instead of
# --listen; --user/--group drop root after the exports are open; log lines
# carry their priority when standard error is the journal (JOURNAL_STREAM);
# the units make install puts in place pass systemd-analyze verify.
# limit: 120
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh systemd-socket-activate systemd-analyze

# listen_notify NAME: a Unix datagram socket at $T/NAME.sock whose every
# message becomes one line of $T/NAME.log (newlines shown as " | ").
listen_notify() {
	/usr/bin/python3 - "$T/$1.sock" "$T/$1.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as log:
    while True:
        msg = s.recv(4096).decode()
        log.write(msg.replace("\n", " | ") + "\n")
        log.flush()
EOF
	_pids+=($!)
	for _ in $(seq 1 100); do
		[ -S "$T/$1.sock" ] && return
		sleep 0.05
	done
	fail "notify socket $1 did not appear"
}

# wait_notify NAME PATTERN: a line of $T/NAME.log matches PATTERN.
wait_notify() {
	for _ in $(seq 1 100); do
		grep -q "$2" "$T/$1.log" 2>/dev/null && return
		sleep 0.05
	done
	fail "no '$2' on NOTIFY_SOCKET: $(cat "$T/$1.log" 2>/dev/null)"
}

# ---- sd_notify: ready once listening, stopping on SIGTERM ----
listen_notify plain
NOTIFY_SOCKET=$T/plain.sock serve plain "$NETSWAPD" --export m=mem:16M
wait_notify plain '^READY=1 | STATUS=serving on 1 socket(s)$'
assert_serves "$plain_PORT" m
rc=0; stop_server "$plain_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
wait_notify plain '^STOPPING=1 | STATUS=finishing in-flight requests$'

# ---- socket activation: the passed socket, not --listen, is served ----
listen_notify activated
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
systemd-socket-activate -l "127.0.0.1:$port" -E "NOTIFY_SOCKET=$T/activated.sock" \
	-- "$NETSWAPD" --listen unix:"$T/not-this.sock" --export m=mem:16M \
	>"$T/activated.out" 2>"$T/activated.err" &
act_pid=$!
_pids+=("$act_pid")
for _ in $(seq 1 100); do
	grep -q "^Listening on 127.0.0.1:$port" "$T/activated.err" && break
	sleep 0.05
done
# The first client starts the server, as systemd does (Accept=no).
assert_serves "$port" m
wait_notify activated '^READY=1'
grep -qx "listening 127.0.0.1:$port" "$T/activated.out" ||
	fail "activated server does not say where it listens: $(cat "$T/activated.out")"
grep -q "socket activation: serving 127.0.0.1:$port" "$T/activated.err" ||
	fail "no socket activation in the log: $(cat "$T/activated.err")"
[ ! -e "$T/not-this.sock" ] || fail "--listen was opened despite the passed socket"
assert_serves "$port" m		# a second client on the same socket
rc=0; stop_server "$act_pid" || rc=$?
assert_eq "$rc" 0 "activated server's exit status"
wait_notify activated '^STOPPING=1'

# ---- --user/--group: root is gone, the exports opened as root serve ----
img=$T/root-only.img
truncate -s 16M "$img"
chmod 0600 "$img"
serve drop "$NETSWAPD" --export "f=file:$img" --user nobody --group nogroup
uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$drop_PID/status")
gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$drop_PID/status")
nobody=$(id -u nobody)
nogroup=$(getent group nogroup | cut -d: -f3)
assert_eq "$uids" "$nobody $nobody $nobody $nobody" "uids after --user"
assert_eq "$gids" "$nogroup $nogroup $nogroup $nogroup" "gids after --group"
# Supplementary groups: nobody's (none) and the group given; not root's.
assert_eq "$(awk '/^Groups:/ { $1 = ""; print }' "/proc/$drop_PID/status" | xargs)" \
	"$nogroup" "supplementary groups after --user/--group"
assert_serves "$drop_PORT" f
rc=0; stop_server "$drop_PID" || rc=$?
assert_eq "$rc" 0 "exit status after --user"
rc=0
"$NETSWAPD" --listen 127.0.0.1:0 --export m=mem:1M --user no-such-user-here \
	>/dev/null 2>"$T/nouser.err" || rc=$?
assert_eq "$rc" 1 "exit status with an unknown --user"
grep -q "no user 'no-such-user-here'" "$T/nouser.err" ||
	fail "unknown user not reported: $(cat "$T/nouser.err")"

# ---- the journal: each line with its priority ----
: >"$T/journal.err"
stream=$(stat -c '%d:%i' "$T/journal.err")
JOURNAL_STREAM=$stream serve journal "$NETSWAPD" --export m=mem:16M \
	2>>"$T/journal.err"
assert_serves "$journal_PORT" m
rc=0; stop_server "$journal_PID" || rc=$?
rc=0
JOURNAL_STREAM=$stream "$NETSWAPD" --listen 127.0.0.1:0 \
	--export "x=file:$T/no/such/dir/x.img" >/dev/null 2>>"$T/journal.err" || rc=$?
assert_eq "$rc" 1 "exit status with a missing export"
grep -q "^<6>127.0.0.1:[0-9]*: serving 'm'" "$T/journal.err" ||
	fail "no info line with priority 6: $(cat "$T/journal.err")"
grep -q "^<3>error: export 'x'" "$T/journal.err" ||
	fail "no error line with priority 3: $(cat "$T/journal.err")"
! grep -v '^<[0-7]>' "$T/journal.err" | grep -v '^netswapd: stats:' | grep -q . ||
	fail "lines without a priority: $(grep -v '^<[0-7]>' "$T/journal.err")"

# ---- the units, as make install puts them ----
make -s -C "$TOP" install PREFIX="$T/prefix" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "make install failed"; }
units=$T/prefix/lib/systemd/system
grep -qx "ExecStart=$T/prefix/sbin/netswapd --config /etc/netswap/netswapd.conf" \
	"$units/netswapd.service" || fail "ExecStart not filled in"
MANPATH=$T/prefix/share/man systemd-analyze verify \
	"$units/netswapd.socket" "$units/netswapd.service" ||
	fail "systemd-analyze verify rejects the units"
echo "systemd: all passed"
