#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Unix sockets: created 0600 by default, --socket-mode and --socket-owner
# set them; allow-uid= admits Unix peers by SO_PEERCRED uid (numbers or
# user names), refuses others with NBD_REP_ERR_POLICY, and a TCP peer gets
# no way into an export restricted to uids (nor a Unix peer into one
# restricted to networks).  At start a Unix path is replaced only if it is
# a stale socket: a live server's socket and a regular file are left as
# they are and the start fails with one line.
# limit: 60
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdinfo

me=$(id -u)
other=$((me + 1))

# Default mode 0600; the uid lists.
start_listening ux "$NETSWAPD" --listen "unix:$T/ux.sock" --listen 127.0.0.1:0 \
	--export "mine=mem:1M,allow-uid=$other+$me" \
	--export "theirs=mem:1M,allow-uid=$other" \
	--export "named=mem:1M,allow-uid=$(id -un)" \
	--export "net=mem:1M,allow=127.0.0.0/8" --export open=mem:1M --quiet
assert_eq "$(stat -c %a "$T/ux.sock")" 600 "default socket mode"
tcp_port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$ux_OUT")
SERVER_PID=$ux_PID SERVER_ERR=$ux_ERR rawnbd "$tcp_port" "$T/ux.sock" <<'EOF'
sock = ARGS[0]
s = newstyle(unix=sock)
send_opt(s, OPT_LIST)
names = set()
while True:
    rtype, data = read_opt_reply(s, OPT_LIST)
    if rtype == REP_ACK:
        break
    (n,) = struct.unpack(">I", data[:4])
    names.add(data[4:4 + n].decode())
check(names == {"mine", "named", "open"}, "Unix LIST: %s" % sorted(names))
for name in ("theirs", "net"):
    check(opt_info(s, name) == REP_ERR_POLICY, "Unix peer got into " + name)
for name in ("mine", "named", "open"):
    check(isinstance(opt_info(s, name), dict), "Unix peer kept out of " + name)
s.close()
c = go(name="mine", unix=sock)
c.pwrite(b"by uid", 0)
check(c.pread(6, 0) == b"by uid", "data by uid")
c.disc()
# Over TCP a uid list lets nobody in; a network list does.
s = newstyle()
for name in ("mine", "theirs", "named"):
    check(opt_info(s, name) == REP_ERR_POLICY, "TCP peer got into " + name)
check(isinstance(opt_info(s, "net"), dict), "TCP peer kept out of net")
s.close()
settled("uid checks")
print("uid lists passed")
EOF
grep -q "unix(uid $me, pid [0-9]*): denied export 'theirs'" "$ux_ERR" ||
	fail "no denial logged for the Unix peer: $(cat "$ux_ERR")"

# A live server's socket is not taken over, nor is a file that is not a
# socket; either way the start fails (exit 1) with one line.
: >"$T/plain"
for path in "$T/ux.sock" "$T/plain"; do
	rc=0
	timeout 60 "$NETSWAPD" --listen "unix:$path" --export a=mem:1M \
		>"$T/bad.out" 2>"$T/bad.err" || rc=$?
	assert_eq "$rc" 1 "exit status over $path"
	assert_eq "$(wc -l <"$T/bad.err")" 1 "lines of error over $path"
	grep -q "cannot listen on $path" "$T/bad.err" ||
		fail "error over $path: $(cat "$T/bad.err")"
	echo "# $(cat "$T/bad.err")"
done
[ -S "$T/ux.sock" ] || fail "a live socket was removed"
[ -f "$T/plain" ] || fail "a plain file was removed"
assert_eq "$(nbdinfo --size "nbd+unix:///open?socket=$T/ux.sock")" 1048576 \
	"the first server after the second's failed start"
stop_server "$ux_PID" || fail "exit status"
[ ! -e "$T/ux.sock" ] || fail "socket left behind"

# --socket-mode and --socket-owner (another user only as root).
owner="$(id -un):$(id -gn)"
want_owner="$(id -un) $(id -gn)"
if [ "$me" -eq 0 ] && getent passwd nobody >/dev/null; then
	group=$(id -gn nobody)
	owner="nobody:$group"
	want_owner="nobody $group"
fi
start_listening mo "$NETSWAPD" --listen "unix:$T/mo.sock" --socket-mode 0660 \
	--socket-owner "$owner" --export a=mem:1M --quiet
assert_eq "$(stat -c %a "$T/mo.sock")" 660 "--socket-mode 0660"
assert_eq "$(stat -c '%U %G' "$T/mo.sock")" "$want_owner" "--socket-owner $owner"
stop_server "$mo_PID" || fail "exit status"
echo "unix sockets: all passed"
