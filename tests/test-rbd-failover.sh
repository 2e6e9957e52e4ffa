#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Gateways over one RBD image (a real single-node cluster), fenced by the
# image's exclusive lock:
#  - A serves, B stands by; data written through A, A SIGKILLed: B takes
#    the image over once A's watch expires, and reads the same data;
#  - C, started while B holds the lock, stands by and serves no client;
#  - B frozen (SIGSTOP) with a client's write still in its socket: C takes
#    over and blocklists B; the client writes again through C; B, thawed,
#    sends its stale write to the OSDs, which refuse it: the client is told
#    (ESHUTDOWN), B is fenced and refuses clients, and the image holds
#    what went through C.
# With cephx: the gateways are client.netswap with only the caps
# docs/ceph.md gives them (profile rbd), which must let them blocklist.
# limit: 300
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=tests/lib/rbd.sh
. "$TOP/tests/lib/rbd.sh"
need nbdcopy nbdsh nbdinfo cmp

rbd_cluster --cephx
rbd_image swap 64M
spec=$(rbd_spec swap swap)
serving="'swap': rbd rbd/swap: holds the exclusive lock: serving"
standby="'swap': rbd rbd/swap: standing by"

rbd_gateway A --export "$spec"
wait_log "$A_ERR" "$serving" 30
rbd_gateway B --export "$spec"
wait_log "$B_ERR" "$standby" 30
# libnbd shows the server's reason for a refusal in its debug output.
! LIBNBD_DEBUG=1 nbdinfo "nbd://127.0.0.1:$B_PORT/swap" >"$T/b-info" 2>&1 ||
	fail "a standby gateway let a client open the export"
grep -q "server error message: standing by" "$T/b-info" ||
	fail "the refusal does not say why: $(grep error "$T/b-info")"

# Through A, then A dies.
head -c 32M /dev/urandom >"$T/data"
nbdcopy "$T/data" "nbd://127.0.0.1:$A_PORT/swap" || fail "nbdcopy through A"
kill -KILL "$A_PID"
wait "$A_PID" 2>/dev/null || true
start=$SECONDS
wait_log "$B_ERR" "$serving" 90
echo "B took over $((SECONDS - start)) s after A's SIGKILL"
nbdcopy "nbd://127.0.0.1:$B_PORT/swap" "$T/back" || fail "nbdcopy through B"
cmp -n $((32 << 20)) "$T/data" "$T/back" || fail "B reads other data than A wrote"
echo "ok: what A wrote, B reads"

# C starts while B holds the lock: it stands by and serves nobody.
b_addr=$(rbd_locker swap)
rbd_gateway C --export "$spec"
wait_log "$C_ERR" "$standby" 30
LIBNBD_DEBUG=1 nbdsh -u "nbd://127.0.0.1:$C_PORT/swap" -c 'h.pwrite(b"C" * 4096, 0)' \
	>"$T/c-write" 2>&1 && fail "a standby gateway accepted a write"
grep -q "server error message: standing by" "$T/c-write" ||
	fail "C's refusal: $(grep error "$T/c-write")"
[ "$(rbd_locker swap)" = "$b_addr" ] || fail "C took the lock from a live B"
grep -q "$serving" "$C_ERR" && fail "C claims to serve"
echo "ok: a third gateway stands by while B holds the lock"

# B frozen with a write in its socket; C takes over; B's write is refused.
cat >"$T/client.py" <<'EOF'
import os, sys, time
t = sys.argv[1]
h.pwrite(b"1" * 4096, 0)
open(t + "/p1", "w").close()
while not os.path.exists(t + "/go"):
    time.sleep(0.05)
try:
    h.pwrite(b"2" * 4096, 0)
    print("stale write acknowledged")
except nbd.Error as e:
    print("stale write refused:", e)
EOF
nbdsh -u "nbd://127.0.0.1:$B_PORT/swap" -c "import sys; sys.argv = ['', '$T']; exec(open('$T/client.py').read())" \
	>"$T/client.out" 2>&1 &
client=$!
_pids+=("$client")
for _ in $(seq 1 100); do [ -e "$T/p1" ] && break; sleep 0.1; done
[ -e "$T/p1" ] || fail "the client's first write through B: $(cat "$T/client.out")"
kill -STOP "$B_PID"
touch "$T/go"
sleep 1				# the write is in B's socket now
wait_log "$C_ERR" "$serving" 90
nbdsh -u "nbd://127.0.0.1:$C_PORT/swap" -c 'h.pwrite(b"3" * 4096, 0)' ||
	fail "write through C after the takeover"
kill -CONT "$B_PID"
wait "$client" || true
grep -q "stale write refused" "$T/client.out" ||
	fail "B's stale write: $(cat "$T/client.out")"
wait_log "$B_ERR" "'swap': rbd rbd/swap: fenced" 30
! LIBNBD_DEBUG=1 nbdinfo "nbd://127.0.0.1:$B_PORT/swap" >"$T/b-info" 2>&1 ||
	fail "a fenced gateway let a client open the export"
grep -q "server error message: fenced" "$T/b-info" ||
	fail "B's refusal: $(grep error "$T/b-info")"
nbdsh -u "nbd://127.0.0.1:$C_PORT/swap" -c 'assert h.pread(4096, 0) == b"3" * 4096' ||
	fail "the image does not hold what was written through C"
nbdcopy "nbd://127.0.0.1:$C_PORT/swap" "$T/back" || fail "nbdcopy through C"
cmp -n $(((32 << 20) - 4096)) -i 4096 "$T/data" "$T/back" ||
	fail "C reads other data than A wrote"
echo "ok: the frozen gateway's write was refused by the OSDs, it is fenced"
