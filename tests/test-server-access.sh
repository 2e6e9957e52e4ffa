#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --allow and --read-only.  A peer outside every --allow rule is closed
# cleanly (EOF, no greeting) on IPv4 and IPv6 while allowed peers (by
# prefix, by source address, and every Unix-socket peer) are served.
# --read-only: the export advertises READ_ONLY and no TRIM/WRITE_ZEROES,
# every WRITE, TRIM and WRITE_ZEROES fails with EPERM (a refused WRITE's
# payload skipped), reads/FLUSH/CACHE work, nothing changes on disk, the
# file is opened O_RDONLY and may be shared by two read-only servers, while
# a writable server takes it exclusively.
# limit: 120
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh nbdinfo

# listen_port NAME FAMILY: the port of NAME's 127.0.0.1 or [::1] listener.
listen_port() {
	local out="$T/$1.out"
	case $2 in
	4) sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out" ;;
	6) sed -n 's/^listening \[::1\]:\([0-9]*\)$/\1/p' "$out" ;;
	esac
}

# check_allow NAME V4 V6 SRC2: whether 127.0.0.1, ::1 and 127.0.0.2 (as
# source address) are admitted ("yes"/"no"); the Unix socket always is.
check_allow() {
	local name=$1 p4 p6 pid_var=${1}_PID err_var=${1}_ERR
	p4=$(listen_port "$name" 4)
	p6=$(listen_port "$name" 6)
	{ [ -n "$p4" ] && [ -n "$p6" ]; } || fail "$name: listeners missing"
	SERVER_PID=${!pid_var} SERVER_ERR=${!err_var} \
		rawnbd "$p4" "$p6" "$T/$name.sock" "$2" "$3" "$4" <<'EOF'
p4, p6, sock = PORT, int(ARGS[0]), ARGS[1]
want = dict(zip(("127.0.0.1", "::1", "127.0.0.2"), ARGS[2:5]))

def attempt(host, port, src=None):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if src:
        s.bind((src, 0))
    s.connect((host, port))
    first = b""
    try:
        first = s.recv(18)
    except ConnectionResetError:
        raise AssertionError("%s: reset instead of a clean close" % host)
    if first == b"":
        return "no"
    check(first.startswith(struct.pack(">Q", INIT_MAGIC)), "greeting")
    s.sendall(struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
    res = opt_info(s, "mem", opt=OPT_GO)
    check(isinstance(res, dict), "GO failed for an admitted peer")
    c = Conn(s, res["size"], res["tflags"], False)
    c.pwrite(b"admitted", 0)
    check(c.pread(8, 0) == b"admitted", "admitted peer's data")
    c.disc()
    return "yes"

for host, port, src in (("127.0.0.1", p4, None), ("::1", p6, None),
                        ("127.0.0.1", p4, "127.0.0.2")):
    key = src or host
    for i in range(3):
        got = attempt(host, port, src)
        check(got == want[key], "peer %s: admitted %s, expected %s"
              % (key, got, want[key]))
c = go(unix=sock)
c.pwrite(b"unix", 0)
check(c.pread(4, 0) == b"unix", "Unix-socket peer")
c.disc()
settled("--allow checks")
print("allow %r passed" % (want,))
EOF
}

allow_case() {
	local name=$1 v4=$2 v6=$3 src2=$4; shift 4
	start_listening "$name" "$NETSWAPD" --listen 127.0.0.1:0 \
		--listen '[::1]:0' --listen "unix:$T/$name.sock" \
		--export mem=mem:1M --quiet "$@"
	check_allow "$name" "$v4" "$v6" "$src2"
	local pid_var=${name}_PID rc=0
	stop_server "${!pid_var}" || rc=$?
	assert_eq "$rc" 0 "$name exit status"
}

allow_case a1 no no no --allow 10.0.0.0/8
allow_case a2 yes no yes --allow 127.0.0.0/8
allow_case a3 yes yes no --allow 127.0.0.1/32 --allow ::1
allow_case a4 no yes yes --allow 127.0.0.2/31 --allow ::/0
allow_case a5 yes no no --allow 127.0.0.0/31 --allow fe80::/10
allow_case a6 no no yes --allow 127.0.0.2

# A denied client, seen by a real NBD client: it fails, the server lives.
start_listening deny "$NETSWAPD" --listen 127.0.0.1:0 --export mem=mem:1M \
	--allow 192.0.2.0/24 --quiet
if nbdinfo "nbd://127.0.0.1:$deny_PORT/mem" >/dev/null 2>&1; then
	fail "nbdinfo got through --allow 192.0.2.0/24"
fi
assert_alive "$deny_PID" "after a denied nbdinfo"
stop_server "$deny_PID" || fail "deny exit status"

# ---- --read-only ----
img=$T/ro.img
head -c $((4 << 20)) /dev/urandom >"$img"
sum_before=$(sha256sum <"$img")
serve ro "$NETSWAPD" --read-only --export "file=file:$img" \
	--export mem=mem:4M --quiet
serve ro2 "$NETSWAPD" --read-only --export "file=file:$img" --quiet
for exp in file mem; do
	json=$(nbdinfo --json "nbd://127.0.0.1:$ro_PORT/$exp")
	for kv in '"is_read_only": true' '"can_trim": false' \
		'"can_zero": false' '"can_fast_zero": false' \
		'"can_flush": true' '"can_cache": true'; do
		grep -qF "$kv" <<<"$json" || fail "$exp: nbdinfo lacks $kv"
	done
done
nbdsh -c "
import errno
for exp in ('file', 'mem'):
    h = nbd.NBD()
    h.connect_uri('nbd://127.0.0.1:$ro_PORT/' + exp)
    assert h.is_read_only()
    h.set_strict_mode(0)
    before = h.pread(65536, 0)
    for fn, args in ((h.pwrite, (b'x' * 4096, 0)),
                     (h.pwrite, (b'x' * 4096, 0, nbd.CMD_FLAG_FUA)),
                     (h.trim, (4096, 0)),
                     (h.zero, (4096, 0)),
                     (h.zero, (4096, 0, nbd.CMD_FLAG_NO_HOLE))):
        try:
            fn(*args)
            raise AssertionError('%s succeeded on a read-only export' % fn.__name__)
        except nbd.Error as e:
            assert e.errnum == errno.EPERM, (fn.__name__, e)
    h.flush()
    h.cache(65536, 0)
    assert h.pread(65536, 0) == before, 'read-only export changed'
    h.shutdown()
print('read-only via libnbd passed')
"
SERVER_PID=$ro_PID SERVER_ERR=$ro_ERR rawnbd "$ro_PORT" <<'EOF'
for structured in (False, True):
    c = go(name="file", structured=structured)
    check(c.tflags & TF_READ_ONLY, "READ_ONLY not advertised")
    check(not c.tflags & (TF_SEND_TRIM | TF_SEND_WRITE_ZEROES |
                          TF_SEND_FAST_ZERO), "write features advertised")
    before = c.pread(8192, 0)
    # The refused payload holds requests that must not be parsed.
    evil = struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_TRIM, 7, 0, 8192)
    c.expect_error(EPERM, CMD_WRITE, 0, 8192, 0, evil * 292 + bytes(16))
    c.expect_error(EPERM, CMD_WRITE, 0, 1 << 20, CF_FUA, bytes(1 << 20))
    c.expect_error(EPERM, CMD_TRIM, 0, 8192)
    c.expect_error(EPERM, CMD_WRITE_ZEROES, 0, 8192, CF_NO_HOLE)
    # FAST_ZERO is not advertised on a read-only export: the flag is invalid.
    c.expect_error(EINVAL, CMD_WRITE_ZEROES, 0, 8192, CF_FAST_ZERO)
    check(c.pread(8192, 0) == before, "read-only data changed")
    c.disc()
settled("read-only refusals")
print("read-only raw checks passed")
EOF
# The file is open read-only in both servers (they share it).
for pid in "$ro_PID" "$ro2_PID"; do
	found=
	for fd in /proc/"$pid"/fd/*; do
		[ "$(readlink "$fd")" = "$img" ] || continue
		flags=$(awk '/^flags:/ {print $2}' "/proc/$pid/fdinfo/${fd##*/}")
		[ $((8#$flags & 3)) -eq 0 ] || fail "$img open with flags $flags"
		found=1
	done
	[ -n "$found" ] || fail "server $pid does not hold $img open"
done
# A writable server cannot take a file that read-only servers hold.
rc=0
timeout 60 "$NETSWAPD" --listen 127.0.0.1:0 --export "file=file:$img" \
	>"$T/rw.out" 2>"$T/rw.err" || rc=$?
assert_eq "$rc" 1 "exit status of a writable server on a file in use"
grep -q "in use" "$T/rw.err" || fail "no 'in use' error: $(cat "$T/rw.err")"
stop_server "$ro_PID" || fail "ro exit status"
stop_server "$ro2_PID" || fail "ro2 exit status"
assert_eq "$(sha256sum <"$img")" "$sum_before" "read-only file changed"
echo "access: all passed"
