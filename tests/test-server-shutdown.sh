#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# How connections end.  At SIGTERM, a client streaming requests gets every
# request it sent answered: done, or NBD_ESHUTDOWN for those read after
# the stop began; it then disconnects as the spec tells it to, the server
# closes cleanly (FIN, no reset) and exits 0 without waiting out its grace
# period.  An idle client gets a clean close.  A WRITE longer than any
# payload the server would skip (over 32 MiB) gets its EINVAL reply, which
# the client can read, before a clean close, whether its payload keeps
# coming or not.
# limit: 60
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

serve srv "$NETSWAPD" --export mem=mem:64M
export SERVER_PID=$srv_PID
rawnbd "$srv_PORT" <<'EOF'
import threading
ESHUTDOWN = 108
idle = go()
c = go()
stop = threading.Event()
sent = []

def sender():
    try:
        while not stop.is_set():
            sent.append(c.send(CMD_READ, 0, 4096))
        c.send(CMD_DISC)        # the soft disconnect ESHUTDOWN asks for
    except OSError as e:
        print("sender: %s" % e)

t = threading.Thread(target=sender)
t.start()
time.sleep(0.5)
os.kill(int(os.environ["SERVER_PID"]), signal.SIGTERM)
replies = {}
while True:
    try:
        err, _, msg = c.reply(None, 4096)
    except Closed:
        break
    if err == ESHUTDOWN:
        stop.set()
    check(err in (0, ESHUTDOWN), "reply with error %d (%s)" % (err, msg))
    replies[c.last_cookie] = err
t.join()
shut = sum(1 for e in replies.values() if e == ESHUTDOWN)
check(shut > 0, "no ESHUTDOWN among %d replies" % len(replies))
check(set(replies) == set(sent),
      "%d requests sent, %d answered" % (len(sent), len(replies)))
expect_close(idle.s, timeout=5, clean=True)
print("%d requests answered, %d of them with ESHUTDOWN; both closed cleanly"
      % (len(replies), shut))
EOF
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
! grep -q "grace period" "$srv_ERR" ||
	fail "the server waited out its grace period: $(cat "$srv_ERR")"

serve big "$NETSWAPD" --export mem=mem:64M --quiet
rawnbd "$big_PORT" <<'EOF'
import threading
MiB = 1 << 20
# The payload stops after 8 MiB: the reply still comes, then a clean close.
c = go()
ck = c.send(CMD_WRITE, 0, 40 * MiB, 0, bytes(8 * MiB))
err, _, msg = c.reply(ck)
check(err == EINVAL, "40 MiB WRITE: error %d" % err)
expect_close(c.s, timeout=10, clean=True)
# The payload keeps coming while the client reads: the same.
c = go()
ck = c.send(CMD_WRITE, 0, 64 * MiB)

def pour():
    try:
        for _ in range(64):
            c.s.sendall(bytes(MiB))
    except OSError:
        pass

t = threading.Thread(target=pour)
t.start()
err, _, msg = c.reply(ck)
check(err == EINVAL, "64 MiB WRITE: error %d" % err)
expect_close(c.s, timeout=10, clean=True)
t.join()
still_serves()
print("oversized WRITEs: the reply, then a clean close")
EOF
rc=0; stop_server "$big_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "shutdown: all passed"
