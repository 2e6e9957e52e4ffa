#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Clients that stop reading their replies: in the handshake (options sent
# without reading the answers) and in transmission (READs of the maximum
# payload from a memory and from a file export, and small requests by the
# thousand).  While they sit there the server's peak RSS stays within
# --buffer-memory plus the export pages touched plus a few MiB, a good
# client is still served on both exports, and once the stalled clients go
# away no connection or pool memory remains.  Finally a stalled client
# cannot hold up SIGTERM past the grace period: exit 0.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

bufmem_kib=8192
img=$T/disk.img
serve rel "$NETSWAPD_REL" --export mem=mem:16M --export "file=file:$img:16M" \
	--buffer-memory ${bufmem_kib}K --quiet
export SERVER_PID=$rel_PID SERVER_ERR=$rel_ERR
# The memory export is written in full (16 MiB) so its reads are real.
export RSS_LIMIT_KIB=$((bufmem_kib + 16384 + 6144))

rawnbd "$rel_PORT" <<'EOF'
MiB = 1 << 20

def stall(c, cmd, length, count):
    """Queue @count requests and read no reply; returns how many the
    socket took within 3 s (the rest wait behind a server that has
    stopped reading)."""
    c.s.setblocking(False)
    hdrs = [struct.pack(">IHHQQI", REQ_MAGIC, 0, cmd, i, 0, length)
            for i in range(count)]
    data, sent = b"".join(hdrs), 0
    deadline = time.monotonic() + 3
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += c.s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.05)
    return sent // 28

c = go()
for i in range(4):
    c.pwrite(os.urandom(4 * MiB), i * 4 * MiB)
c.disc()
survived("filling the memory export")

# Transmission: 1000 maximum-payload READs (4 GiB of replies) per export.
stalled = []
for name in ("mem", "file"):
    c = go(name=name)
    n = stall(c, CMD_READ, 4 * MiB, 1000)
    print("# %s: %d READs of 4 MiB queued, no reply read" % (name, n),
          flush=True)
    stalled.append(c)
    time.sleep(1)
    for good in ("mem", "file"):
        still_serves(name=good)
# Small requests by the thousand.
c = go(name="file")
n = stall(c, CMD_READ, 4096, 100000)
print("# file: %d 4 KiB READs queued, no reply read" % n)
stalled.append(c)
c = go(name="mem")
n = stall(c, CMD_FLUSH, 0, 200000)
print("# mem: %d FLUSHes queued, no reply read" % n)
stalled.append(c)
# Handshake: 100,000 INFO options, no reply read.
s = newstyle()
s.setblocking(False)
opt = struct.pack(">QII", OPTS_MAGIC, OPT_INFO, 9) + info_go_data("mem")
data, sent, deadline = opt * 100000, 0, time.monotonic() + 3
while sent < len(data) and time.monotonic() < deadline:
    try:
        sent += s.send(data[sent:sent + 65536])
    except BlockingIOError:
        time.sleep(0.05)
print("# handshake: %d INFO options queued, no reply read"
      % (sent // len(opt)), flush=True)
stalled.append(Conn(s, 0, 0, False))
time.sleep(1)

# All five stalled at once: the good client is still served on both
# exports and RSS is bounded.
pid, limit = int(os.environ["SERVER_PID"]), int(os.environ["RSS_LIMIT_KIB"])
for good in ("mem", "file"):
    still_serves(name=good)
hwm = status_kib(pid, "VmHWM")
print("# with 5 stalled clients: VmHWM %d KiB (limit %d)" % (hwm, limit))
check(hwm <= limit, "VmHWM %d KiB > %d KiB" % (hwm, limit))
conns, used = server_stats()
check(conns == 5, "%d connections with 5 stalled clients" % conns)
check(used <= 8 * MiB, "pool use %d" % used)

# They go away: everything is given back.
for c in stalled:
    c.s.close()
survived("5 stalled readers, then gone")
EOF

# A stalled reader at SIGTERM: the server gives up on it after its grace
# period and exits 0.
rawnbd "$rel_PORT" <<'EOF' &
c = go(name="mem")
c.s.setblocking(False)
hdr = struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_READ, 1, 0, 4 << 20)
try:
    while True:
        c.s.send(hdr * 100)
except BlockingIOError:
    pass
print("# stalled client in place", flush=True)
# Stay, without reading, until the server is gone (at most 60 s).
for i in range(600):
    try:
        os.kill(int(os.environ["SERVER_PID"]), 0)
    except ProcessLookupError:
        break
    time.sleep(0.1)
EOF
staller=$!
sleep 2
start=$(date +%s)
rc=0; stop_server "$rel_PID" || rc=$?
took=$(($(date +%s) - start))
kill "$staller" 2>/dev/null || true
wait "$staller" 2>/dev/null || true
echo "# SIGTERM with a stalled reader: exit $rc after ${took}s"
assert_eq "$rc" 0 "exit status after SIGTERM with a stalled reader"
[ "$took" -le 20 ] || fail "SIGTERM took ${took}s with a stalled reader"
echo "stalled readers: all passed"
