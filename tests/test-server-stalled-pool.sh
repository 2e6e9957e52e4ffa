#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Clients that read from a file export and never read the replies pin
# payload buffers.  However many do so:
#  - new clients still negotiate and memory exports still serve at once
#    (payloads may not take the pool's control reserve);
#  - once others wait for payload memory, a client that took none of its
#    replies for --send-timeout seconds is dropped, and file clients are
#    served again;
#  - without contention, a slow reader is left alone.
# limit: 120
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

img=$T/disk.img
serve srv "$NETSWAPD_REL" --export "file=file:$img:64M" --export mem=mem:1M \
	--buffer-memory 8M --send-timeout 2
SERVER_PID=$srv_PID SERVER_ERR=$srv_ERR rawnbd "$srv_PORT" <<'EOF'
def stall(name, length, count):
    c = go(name=name)
    c.s.sendall(b"".join(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_READ,
                                     k, 0, length) for k in range(count)))
    return c

# Without contention: one slow reader holding buffers stays connected well
# past the send timeout.
slow = stall("file", 1 << 20, 200)
time.sleep(4)
conns, used = server_stats()
check(conns == 1 and used > 0, "a slow reader was dropped without contention "
      "(%d connections, %d bytes in use)" % (conns, used))
print("a slow reader holding %d bytes is left alone without contention" % used)

# Pin the payload share of the pool: each stalled reader sends far more
# than the socket buffers absorb; smaller reads take what larger ones leave.
stalled = [slow]
for length, count in ((1 << 20, 200), (1 << 20, 200), (256 << 10, 500),
                      (64 << 10, 1000), (16 << 10, 2000)):
    stalled.append(stall("file", length, count))
    time.sleep(0.3)
conns, used = server_stats()
print("# %d clients, %d bytes of the 8 MiB pool in use" % (conns, used),
      flush=True)
check(used >= 6 << 20, "the stalled readers did not pin the pool")

# Memory exports need no payload buffers: served at once.
t0 = time.monotonic()
c = go(name="mem", timeout=3)
c.pwrite(b"served", 0)
check(c.pread(6, 0) == b"served", "mem read back")
c.disc()
print("memory export served in %.1f s" % (time.monotonic() - t0))

# File I/O waits for payload memory; the stalled readers are dropped after
# the send timeout and the new client is served.
t0 = time.monotonic()
c = go(name="file", timeout=20)
c.pwrite(b"served", 0)
check(c.pread(6, 0) == b"served", "file read back")
c.disc()
print("file export served after %.1f s" % (time.monotonic() - t0))
EOF
grep -q "replies not taken while others wait for memory" "$srv_ERR" ||
	fail "no stalled reader was dropped"
stop_server "$srv_PID" || fail "netswapd did not stop cleanly"
