#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# File exports across server stops.  SIGTERM: data written without FLUSH
# is intact after a restart and in the file, the server exits 0 at once
# with an idle client connected, and with writes streaming in at the
# moment of SIGTERM every write that was acknowledged is in the file.
# SIGKILL: every write acknowledged before a FLUSH (or written with FUA)
# is intact after a restart on the same file (the lock does not outlive
# the process).
# limit: 120
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh cmp

img=$T/disk.img
size=$((64 << 20))
ref=$T/ref.bin

# ---- SIGTERM, no FLUSH, an idle client still connected ----
serve a "$NETSWAPD" --export "file=file:$img:64M" --quiet
# The client writes, never flushes, reports, then idles until closed.
nbdsh -c "
import os, sys, time
h = nbd.NBD()
h.connect_uri('nbd://127.0.0.1:$a_PORT/file')
data = os.urandom($size)
for off in range(0, $size, 4 << 20):
    h.pwrite(data[off:off + (4 << 20)], off)
open('$ref', 'wb').write(data)
print('written', flush=True)
try:
    while True:
        h.pread(512, 0)
        time.sleep(0.1)
except nbd.Error:
    pass
" >"$T/client.out" 2>&1 &
client=$!
for _ in $(seq 1 100); do
	grep -q written "$T/client.out" && break
	sleep 0.1
done
grep -q written "$T/client.out" || fail "client did not write"
start=$(date +%s)
rc=0; stop_server "$a_PID" || rc=$?
took=$(($(date +%s) - start))
assert_eq "$rc" 0 "exit status after SIGTERM"
[ "$took" -le 5 ] || fail "SIGTERM with an idle client took ${took}s"
wait "$client" || fail "client failed: $(cat "$T/client.out")"
cmp "$ref" "$img" || fail "file differs after SIGTERM"
serve b "$NETSWAPD" --export "file=file:$img" --quiet
nbdsh -u "nbd://127.0.0.1:$b_PORT/file" -c "
assert h.get_size() == $size
ref = open('$ref', 'rb').read()
for off in range(0, $size, 4 << 20):
    assert h.pread(4 << 20, off) == ref[off:off + (4 << 20)], off
print('SIGTERM: all data intact after restart')
"

# ---- SIGTERM while writes stream in ----
export SERVER_PID=$b_PID
rawnbd "$b_PORT" "$T/acked.txt" >"$T/stream.out" 2>&1 <<'EOF' &
import threading
c = go(name="file")
acked = open(ARGS[0], "w")
sent = {}
stop = threading.Event()

def writer():
    i = 0
    try:
        while not stop.is_set():
            off = (i % 1024) * 65536
            payload = bytes([i % 251 + 1]) * 65536
            ck = 10000 + i
            sent[ck] = (off, payload[0])
            c.send(CMD_WRITE, off, 65536, 0, payload, cookie=ck)
            i += 1
    except OSError:
        pass

t = threading.Thread(target=writer)
t.start()
n = 0
try:
    while True:
        err, _, _ = c.reply(None)
        if err == 0:
            off, byte = sent[c.last_cookie]
            acked.write("%d %d %d\n" % (c.last_cookie, off, byte))
            n += 1
            if n == 200:
                print("streaming", flush=True)
except (Closed, OSError):
    pass
stop.set()
t.join()
acked.close()
print("acknowledged %d writes" % n, flush=True)
EOF
streamer=$!
for _ in $(seq 1 100); do
	grep -q streaming "$T/stream.out" && break
	sleep 0.1
done
grep -q streaming "$T/stream.out" || fail "streaming client did not start: $(cat "$T/stream.out")"
rc=0; stop_server "$b_PID" || rc=$?
assert_eq "$rc" 0 "exit status after SIGTERM during writes"
wait "$streamer" || fail "streaming client: $(cat "$T/stream.out")"
grep acknowledged "$T/stream.out"
# The last acknowledged write to each offset must be in the file.
/usr/bin/python3 - "$T/acked.txt" "$img" <<'EOF'
import sys
last = {}
for line in open(sys.argv[1]):
    ck, off, byte = map(int, line.split())
    if off not in last or ck > last[off][0]:
        last[off] = (ck, byte)
assert len(last) > 0
with open(sys.argv[2], "rb") as f:
    for off, (ck, byte) in last.items():
        f.seek(off)
        block = f.read(65536)
        assert block == bytes([byte]) * 65536, \
            "acknowledged write %d at %d is not in the file" % (ck, off)
print("SIGTERM during writes: %d offsets checked" % len(last))
EOF

# ---- SIGKILL after FLUSH (and FUA) ----
serve c "$NETSWAPD" --export "file=file:$img" --quiet
nbdsh -u "nbd://127.0.0.1:$c_PORT/file" -c "
import os
data = os.urandom(16 << 20)
h.pwrite(data, 8 << 20)
h.zero(1 << 20, 30 << 20)
h.trim(1 << 20, 32 << 20)
h.flush()
fua = os.urandom(1 << 20)
h.pwrite(fua, 40 << 20, nbd.CMD_FLAG_FUA)
h.zero(1 << 20, 41 << 20, nbd.CMD_FLAG_FUA)
with open('$T/flushed.bin', 'wb') as f:
    f.write(data + fua)
print('flushed')
"
kill -KILL "$c_PID"
wait "$c_PID" 2>/dev/null || true
serve d "$NETSWAPD" --export "file=file:$img" --quiet
nbdsh -u "nbd://127.0.0.1:$d_PORT/file" -c "
ref = open('$T/flushed.bin', 'rb').read()
assert h.pread(16 << 20, 8 << 20) == ref[:16 << 20], 'flushed data lost'
assert h.pread(1 << 20, 40 << 20) == ref[16 << 20:], 'FUA data lost'
assert h.pread(1 << 20, 30 << 20) == bytes(1 << 20), 'flushed zeroes lost'
assert h.pread(1 << 20, 41 << 20) == bytes(1 << 20), 'FUA zeroes lost'
print('SIGKILL: flushed and FUA data intact after restart')
"
rc=0; stop_server "$d_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "durability: all passed"
