#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# SIGHUP reloads --config while fio (nbd engine, crc32c verify, 4
# connections) writes and verifies one export, without an error there:
# an export is added; one whose access changed keeps its open mapping (its
# data, its connected client); one whose backing changed serves new
# clients the new way and its connected client the old (a file's lock
# passes between them); a removed one serves its connected client until
# it leaves and is then closed; a file that does not parse and one whose
# export cannot open are refused whole, with one line, while the old
# exports keep serving (and a file lock passed on is taken back).  SIGHUP, SIGQUIT and SIGUSR2, many times over, kill
# nothing.  On SIGTERM a client still negotiating gets
# NBD_REP_ERR_SHUTDOWN for its next option, and the server exits 0.
# limit: 120
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need fio nbdinfo
cd "$T" || fail "cannot enter $T"	# fio leaves files in its working directory

conf=$T/netswapd.conf
cat >"$conf" <<EOF
# the first configuration
export = fio=file:$T/fio.img:64M
export = keep=mem:16M,allow=127.0.0.0/8
export = f=file:$T/f.img:1M
export = gone=mem:1M
EOF
start_listening rl "$NETSWAPD" --listen 127.0.0.1:0 --config "$conf"

# fio at a bounded rate, so that it is still running through every reload
# below (checked: a reload after fio ended would prove nothing).
fio --name=verify --ioengine=nbd --uri="nbd://127.0.0.1:$rl_PORT/fio" \
	--rw=randwrite --bs=4k --size=4M --numjobs=4 --offset_increment=16M \
	--iodepth=8 --rate_iops=300 --randseed=1616 --verify=crc32c \
	--verify_fatal=1 --do_verify=1 --verify_state_save=0 \
	--group_reporting >"$T/fio.log" 2>&1 &
fio_pid=$!
_pids+=("$fio_pid")
for _ in $(seq 1 200); do
	[ "$(grep -c "serving 'fio'" "$rl_ERR" || true)" -ge 4 ] && break
	sleep 0.05
done
[ "$(grep -c "serving 'fio'" "$rl_ERR" || true)" -ge 4 ] ||
	fail "fio did not connect: $(tail -5 "$T/fio.log")"

SERVER_PID=$rl_PID SERVER_ERR=$rl_ERR rawnbd "$rl_PORT" "$conf" "$T" "$fio_pid" <<'EOF'
conf, tmp, fio_pid = ARGS[0], ARGS[1], int(ARGS[2])
pid = int(os.environ["SERVER_PID"])

def log_count(what):
    with open(os.environ["SERVER_ERR"], errors="replace") as f:
        return sum(what in l for l in f)

def reload(text, expect="reloaded"):
    """Write the config, SIGHUP, wait for its outcome line."""
    with open(conf, "w") as f:
        f.write(text)
    before = log_count(expect)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + 10
    while log_count(expect) == before:
        check(time.monotonic() < deadline, "no '%s' after SIGHUP" % expect)
        time.sleep(0.02)
    os.kill(fio_pid, 0)    # fio still runs: the reload happened under it

def names():
    s = newstyle()
    send_opt(s, OPT_LIST)
    got = set()
    while True:
        rtype, data = read_opt_reply(s, OPT_LIST)
        if rtype == REP_ACK:
            s.close()
            return got
        got.add(data[4:4 + struct.unpack(">I", data[:4])[0]].decode())

base = ("export = fio=file:%s/fio.img:64M\n" % tmp)
check(names() == {"fio", "keep", "f", "gone"}, "first exports")
keep = go(name="keep")
keep.pwrite(b"kept data", 4096)
f_old = go(name="f")
f_old.pwrite(b"old rw", 0)
gone = go(name="gone")
gone.pwrite(b"still here", 0)

# Added, access changed, backing changed (read-only), removed.
reload(base +
       "export = keep=mem:16M,allow=127.0.0.1,description=kept\n"
       "export = f=file:%s/f.img:1M,read-only\n"
       "export = added=mem:2M\n" % tmp)
check(names() == {"fio", "keep", "f", "added"}, "exports after reload 1")
check(keep.pread(9, 4096) == b"kept data", "keep's client lost its data")
k2 = go(name="keep")
check(k2.pread(9, 4096) == b"kept data", "keep's mapping was not kept")
k2.disc()
f_new = go(name="f")
check(f_new.tflags & TF_READ_ONLY, "new client of f is not read-only")
check(f_new.pread(6, 0) == b"old rw", "f's new export reads another file")
f_new.expect_error(EPERM, CMD_WRITE, 0, 3, 0, b"new")
f_old.pwrite(b"old rw 2", 0)         # the old client still writes
check(f_new.pread(8, 0) == b"old rw 2", "f: two views of one file differ")
f_new.disc()
check(gone.pread(10, 0) == b"still here", "removed export's client")
s = newstyle()
check(opt_info(s, "gone") == REP_ERR_UNKNOWN, "removed export still opens")
s.close()
gone.disc()
deadline = time.monotonic() + 10
while log_count("export 'gone' closed") == 0:
    check(time.monotonic() < deadline, "removed export never closed")
    time.sleep(0.02)
a = go(name="added")
a.pwrite(b"added", 0)
a.disc()

# Refused whole: a line that does not parse, an export that cannot open.
for bad in ("threads = 2\nexport = x=mem:1M\nbogus line here\n",
            # f back to read-write: its lock passes to the new f and, when
            # c fails, back to the one serving (checked below).
            "export = zz=mem:1M\nexport = f=file:%s/f.img:1M\n"
            "export = c=file:%s/missing/c.img:1M\n" % (tmp, tmp)):
    reload(base + bad, expect="reload refused")
    check(names() == {"fio", "keep", "f", "added"}, "exports after a refusal")
    s = newstyle()
    check(opt_info(s, "zz") == REP_ERR_UNKNOWN, "refused reload half-applied")
    s.close()
check(log_count("netswapd.conf:4: unknown key 'bogus line here'") == 1,
      "no FILE:LINE error for the bad line")
check(keep.pread(9, 4096) == b"kept data", "keep after refusals")
keep.disc()
f_old.disc()

# Signals that must never kill, many times over, under load.
for _ in range(5):
    for sig in (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR2):
        os.kill(pid, sig)
        time.sleep(0.01)
still_serves(name="added")
os.kill(fio_pid, 0)
print("reloads passed")
EOF
rc=0; wait "$fio_pid" || rc=$?
[ "$rc" -eq 0 ] || { tail -30 "$T/fio.log" >&2; fail "fio failed across reloads"; }
grep -q 'err= 0' "$T/fio.log" || { tail -30 "$T/fio.log" >&2; fail "fio errors"; }
grep -qE 'READ: .*io=16\.0MiB' "$T/fio.log" ||
	{ tail -30 "$T/fio.log" >&2; fail "fio did not verify 16 MiB"; }
assert_alive "$rl_PID" "after the reloads and signals"
# f's lock is held again after the refused reload: no writer can take f.
rc=0
timeout 60 "$NETSWAPD" --listen 127.0.0.1:0 --export "f=file:$T/f.img:1M" \
	>"$T/second.out" 2>"$T/second.err" || rc=$?
assert_eq "$rc" 1 "a second server on f"
grep -q "in use" "$T/second.err" || fail "second server on f: $(cat "$T/second.err")"
grep -E 'reload|signal' "$rl_ERR" | sed 's/^/# /' | head -20

# SIGTERM while a client negotiates: ERR_SHUTDOWN for its next option.
SERVER_PID=$rl_PID SERVER_ERR=$rl_ERR rawnbd "$rl_PORT" <<'EOF'
REP_ERR_SHUTDOWN = 0x80000007
s = newstyle()
check(isinstance(opt_info(s, "added"), dict), "INFO before SIGTERM")
os.kill(int(os.environ["SERVER_PID"]), signal.SIGTERM)
deadline = time.monotonic() + 10
while True:
    send_opt(s, OPT_INFO, info_go_data("added"))
    res = parse_info_replies(s, OPT_INFO)
    if res == REP_ERR_SHUTDOWN:
        break
    check(isinstance(res, dict), "INFO while stopping: %r" % res)
    check(time.monotonic() < deadline, "no ERR_SHUTDOWN after SIGTERM")
    time.sleep(0.01)
expect_close(s)
print("ERR_SHUTDOWN passed")
EOF
rc=0; wait "$rl_PID" || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM"
echo "reload: all passed"
