#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Bad input in the transmission phase: bad request magics, requests beyond
# the end and with offsets that wrap, lengths over 32 MiB (a WRITE that
# cannot be skipped ends the connection), unknown commands and flags in a
# random storm, requests and payloads cut by EOF, floods of pipelined
# requests, and large reads and writes queued far beyond the buffer pool.
# After each: the server still serves a good client, holds no connection
# or pool memory once the abuser is gone, and (release build) its peak RSS
# stays within --buffer-memory plus a few MiB.  The sanitized build runs
# the same abuse and must exit 0.
# limit: 240
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

abuse() {
	rawnbd "$1" <<'EOF'
import random
rng = random.Random(11)
MiB = 1 << 20
U64 = 1 << 64

# Bad magics: the connection is closed without a reply.
for magic in (0, 0x25609514, SIMPLE_MAGIC, CHUNK_MAGIC, 0xFFFFFFFF):
    c = go()
    c.send(CMD_READ, 0, 512, magic=magic)
    expect_close(c.s)
survived("bad request magics")

# Beyond the end, offsets that wrap, lengths up to 4 GiB: errors, and the
# connection goes on.
for structured in (False, True):
    c = go(structured=structured)
    size = c.size
    for cmd, off, ln, err in (
            (CMD_READ, size, 1, EINVAL), (CMD_READ, U64 - 1, 2, EINVAL),
            (CMD_READ, 0, 0xFFFFFFFF, EINVAL),
            (CMD_READ, 0, 32 * MiB + 1, EINVAL),
            (CMD_TRIM, U64 - 4096, 0xFFFFFFFF, EINVAL),
            (CMD_CACHE, U64 - 1, 0xFFFFFFFF, EINVAL),
            (CMD_WRITE_ZEROES, U64 - 1, 0xFFFFFFFF, ENOSPC),
            (CMD_WRITE_ZEROES, size, 1, ENOSPC)):
        c.expect_error(err, cmd, off, ln)
    c.pwrite(b"still here", 0)
    c.disc()
survived("requests beyond the end, wrapping offsets, 4 GiB lengths")

# WRITEs over 32 MiB: an error reply, then the server hangs up without
# waiting for the payload.
for ln in (32 * MiB + 1, 0xFFFFFFFF):
    c = go()
    ck = c.send(CMD_WRITE, 0, ln)
    err, _, _ = c.reply(ck)
    check(err == EINVAL, "WRITE of %d bytes: error %d" % (ln, err))
    expect_close(c.s)
# ... also with a payload flowing: the client sees a reset or EOF.
c = go()
c.send(CMD_WRITE, 0, 64 * MiB)
try:
    for i in range(64):
        c.s.sendall(bytes(MiB))
except (BrokenPipeError, ConnectionResetError):
    pass
c.s.close()
survived("WRITEs over 32 MiB")

# Random storm of commands without payload: unknown types, random flags,
# random ranges.  Every request is answered with an allowed error.
c = go()
cks = []
for i in range(3000):
    cmd = rng.choice([CMD_FLUSH, CMD_TRIM, CMD_CACHE, CMD_WRITE_ZEROES,
                      CMD_BLOCK_STATUS, CMD_RESIZE, 9, 10, 11, 0x7FFF,
                      0xFFFF])
    flags = rng.choice([0, rng.getrandbits(16)])
    off = rng.choice([0, rng.randrange(c.size), rng.getrandbits(64)])
    ln = rng.choice([0, rng.randrange(1, 65536), rng.getrandbits(32)])
    cks.append(c.send(cmd, off, ln, flags))
for ck, (err, msg) in c.replies(set(cks)).items():
    check(err in (0, EINVAL, ENOSPC, ENOTSUP), "storm: error %d" % err)
c.disc()
survived("3000 random commands")

# Cut by EOF: in a header, in a WRITE payload, in a refused WRITE's
# payload (being skipped), and right after a READ was sent.
c = go(); c.s.sendall(struct.pack(">IHH", REQ_MAGIC, 0, CMD_READ)); c.s.close()
c = go(); c.send(CMD_WRITE, 0, 65536, 0, bytes(1000)); c.s.close()
c = go(); c.send(CMD_WRITE, c.size, 65536, 0, bytes(1000)); c.s.close()
c = go(); c.send(CMD_WRITE, 0, 65536, CF_DF, bytes(1000)); c.s.close()
c = go(); c.send(CMD_READ, 0, 4 * MiB); c.s.close()
c = go(name="file"); c.send(CMD_WRITE, 0, 65536, 0, bytes(1000)); c.s.close()
c = go(name="file"); c.send(CMD_READ, 0, 4 * MiB); c.s.close()
c = go(); c.s.sendall(b"\x25\x60"); c.s.close()
survived("requests and payloads cut by EOF")

# Junk after DISC is ignored; the connection closes.
c = go()
c.send(CMD_DISC)
try:
    c.s.sendall(os.urandom(10000))
except (BrokenPipeError, ConnectionResetError):
    pass
expect_close(c.s)
survived("junk after DISC")

# 100,000 pipelined requests sent before reading any reply.
c = go()
hdr = b"".join(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_CACHE, i, 0, 4096)
               for i in range(100000))
import threading
t = threading.Thread(target=c.s.sendall, args=(hdr,))
t.start()
got = set()
for i in range(100000):
    err, _, _ = c.reply(None)
    check(err == 0, "flood: error %d" % err)
    got.add(c.last_cookie)
t.join()
check(len(got) == 100000, "flood: %d distinct replies" % len(got))
c.disc()
survived("100,000 pipelined requests")

# File export: 64 reads and 64 writes of 4 MiB queued at once, far more
# than the 8 MiB pool holds; all complete, the data is right.
for structured in (False, True):
    c = go(name="file", structured=structured)
    data = [os.urandom(256) * (16384) for i in range(4)]
    cks = {}
    payloads = b"".join(
        struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_WRITE, 1000 + i,
                    (i % 4) * 4 * MiB, 4 * MiB) + data[i % 4]
        for i in range(64))
    t = threading.Thread(target=c.s.sendall, args=(payloads,))
    t.start()
    for ck, (err, msg) in c.replies(set(range(1000, 1064))).items():
        check(err == 0, "queued write %d: %d %s" % (ck, err, msg))
    t.join()
    for i in range(64):
        c.send(CMD_READ, (i % 4) * 4 * MiB, 4 * MiB, cookie=2000 + i)
    seen = 0
    for i in range(64):
        # Replies may come in any order; each READ's data follows its
        # header, so match the cookie first.
        if structured:
            (magic,) = struct.unpack(">I", recv_exact(c.s, 4))
            flags, rtype, ck, ln = struct.unpack(">HHQI", recv_exact(c.s, 16))
            check(rtype == RT_OFFSET_DATA and ln == 8 + 4 * MiB,
                  "queued read chunk type %#x len %d" % (rtype, ln))
            (off,) = struct.unpack(">Q", recv_exact(c.s, 8))
        else:
            magic, err, ck = struct.unpack(">IIQ", recv_exact(c.s, 16))
            check(err == 0, "queued read error %d" % err)
        i = ck - 2000
        check(0 <= i < 64, "queued read cookie %d" % ck)
        check(recv_exact(c.s, 4 * MiB) == data[i % 4], "queued read %d" % i)
        seen += 1
    c.disc()
survived("64 x 4 MiB writes and reads queued on a file export")
EOF
}

# Release build: peak RSS within the pool, the 16 MiB memory export (the
# tests touch a few pages of it) and a few MiB.
bufmem_kib=8192
img=$T/disk.img
serve rel "$NETSWAPD_REL" --export mem=mem:16M --export "file=file:$img:16M" \
	--buffer-memory ${bufmem_kib}K --quiet
SERVER_PID=$rel_PID SERVER_ERR=$rel_ERR RSS_LIMIT_KIB=$((bufmem_kib + 8192)) \
	abuse "$rel_PORT"
rc=0; stop_server "$rel_PID" || rc=$?
assert_eq "$rc" 0 "release server exit status after SIGTERM"

serve asan "$NETSWAPD" --export mem=mem:16M --export "file=file:$img:16M" \
	--buffer-memory ${bufmem_kib}K --quiet
SERVER_PID=$asan_PID SERVER_ERR=$asan_ERR abuse "$asan_PORT"
rc=0; stop_server "$asan_PID" || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$asan_ERR" >&2
	fail "sanitized server exited $rc"
fi
echo "bad requests: all survived"
