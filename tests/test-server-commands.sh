#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every transmission command through libnbd (nbdsh), on a memory and a
# file export, with structured and simple replies: READ (also with DF and at
# the maximum payload), WRITE (+FUA), FLUSH, TRIM (+FUA), CACHE,
# WRITE_ZEROES (+NO_HOLE, FAST_ZERO, FUA), DISC; unaligned and last-byte
# I/O; 64 requests in flight; a write on one connection read on another;
# the file's bytes after FLUSH, and reads of them that miss the page cache;
# DISC after pipelined writes.
# limit: 240
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh

img=$T/disk.img
serve srv "$NETSWAPD" --export mem=mem:64M --export "file=file:$img:64M" \
	--quiet
port=$srv_PORT

for exp in mem file; do
	for sr in True False; do
		echo "# export $exp, structured replies $sr"
		nbdsh -c "
import errno, os, random
exp, sr, img = '$exp', $sr, '$img'
uri = 'nbd://127.0.0.1:$port/' + exp
rng = random.Random(7)
MiB = 1 << 20

h = nbd.NBD()
h.set_request_structured_replies(sr)
h.connect_uri(uri)
assert h.get_structured_replies_negotiated() == sr
size = h.get_size()
assert size == 64 * MiB
maxp = h.get_block_size(nbd.SIZE_MAXIMUM)
assert maxp == 32 * MiB, maxp
model = bytearray(size)       # what the export must hold

def write(off, data, flags=0):
    h.pwrite(data, off, flags)
    model[off:off + len(data)] = data

def check_range(off, n, what):
    got = h.pread(n, off)
    if got != bytes(model[off:off + n]):
        bad = next(i for i in range(n) if got[i] != model[off + i])
        raise AssertionError('%s: mismatch at %d' % (what, off + bad))

# Start from zero: the export may hold a previous round's data.
h.zero(size, 0)
check_range(0, 4 * MiB, 'after zeroing all')

# WRITE/READ, unaligned, and at the very end.
write(4096 + 7, os.urandom(MiB + 13))
check_range(4096, MiB + 100, 'unaligned write')
write(size - 1, b'Z')
check_range(size - 4096, 4096, 'last byte')
# WRITE with FUA.
write(3 * MiB + 1, os.urandom(300000), nbd.CMD_FLAG_FUA)
check_range(3 * MiB, MiB, 'FUA write')
# Maximum payload both ways.
big = os.urandom(maxp)
write(8 * MiB, big)
assert h.pread(maxp, 8 * MiB) == big, 'max-payload read'
if sr:
    # DF: the whole read must come as one chunk.
    chunks = []
    def chunk(sub, off, status, err):
        chunks.append((bytes(sub), off, status))
        return 0
    h.pread_structured(maxp, 8 * MiB, chunk, nbd.CMD_FLAG_DF)
    assert len(chunks) == 1, len(chunks)
    assert chunks[0] == (big, 8 * MiB, nbd.READ_DATA), 'DF read'
# FLUSH.
h.flush()

# WRITE_ZEROES: plain, NO_HOLE, FUA, and FAST_ZERO (which may refuse with
# ENOTSUP, but then must not have changed anything).
for flags in (0, nbd.CMD_FLAG_NO_HOLE, nbd.CMD_FLAG_FUA,
              nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA):
    off = 8 * MiB + rng.randrange(0, 20 * MiB)
    n = rng.randrange(1, 2 * MiB)
    h.zero(n, off, flags)
    model[off:off + n] = bytes(n)
    check_range(off - 4096, n + 8192, 'zero flags %#x' % flags)
for flags in (nbd.CMD_FLAG_FAST_ZERO,
              nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE):
    off, n = 8 * MiB + 12345, 70000
    try:
        h.zero(n, off, flags)
        model[off:off + n] = bytes(n)
    except nbd.Error as e:
        assert e.errnum == errno.ENOTSUP, e
        assert exp != 'mem', 'memory exports zero fast'
    check_range(off - 4096, n + 8192, 'fast zero %#x' % flags)
# Large zeroing (memory exports hand it to a worker), aligned and not.
write(59 * MiB, os.urandom(2 * MiB))
h.zero(40 * MiB - 3, 20 * MiB + 3)
model[20 * MiB + 3:60 * MiB] = bytes(40 * MiB - 3)
check_range(20 * MiB - 4096, 8192, 'start of a 40M zero')
check_range(60 * MiB - 8192, 16384, 'end of a 40M zero')

# TRIM: contents of the range are unspecified afterwards, but nothing
# outside it may change.
write(MiB, os.urandom(4 * MiB))
h.trim(2 * MiB, MiB + 4096)
h.trim(5000, 4 * MiB + 100, nbd.CMD_FLAG_FUA)
h.trim(size, 0)
model[:] = h.pread(maxp, 0) + h.pread(maxp, maxp)
write(MiB - 7, b'after trim')
check_range(MiB - 4096, 8192, 'write after trim')

# CACHE: succeeds, changes nothing.
h.cache(MiB, 0)
h.cache(size, 0)
check_range(0, 2 * MiB, 'after cache')

# 64 requests in flight at once: writes, then reads, checked at the end.
chunks = [(i * 256 * 1024 + rng.randrange(0, 1000), os.urandom(rng.randrange(1, 200000)))
          for i in range(64)]
for off, data in chunks:
    h.aio_pwrite(data, off)
    model[off:off + len(data)] = data
while h.aio_in_flight() > 0:
    h.poll(-1)
bufs = []
for off, data in chunks:
    b = nbd.Buffer(len(data))
    bufs.append((b, off, data))
    h.aio_pread(b, off)
while h.aio_in_flight() > 0:
    h.poll(-1)
for b, off, data in bufs:
    assert b.to_bytearray() == data, 'aio read at %d' % off
h.flush()

# multi-conn: after FLUSH, a second connection sees the writes.
h2 = nbd.NBD()
h2.connect_uri(uri)
assert h2.can_multi_conn()
write(10 * MiB, b'seen by the other connection')
h.flush()
assert h2.pread(28, 10 * MiB) == b'seen by the other connection'
h2.shutdown()

# For the file export, FLUSHed data is in the file itself; and reads that
# miss the page cache (served by a worker, not inline) return it too.
if exp == 'file':
    with open(img, 'rb') as f:
        disk = f.read()
        assert len(disk) == size, len(disk)
        assert disk == bytes(model), 'file contents differ from the model'
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    for off in range(0, size, 4 * MiB):
        check_range(off, 4 * MiB, 'read after the page cache was dropped')
    with open(img, 'rb') as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    check_range(12345, 3 * MiB, 'unaligned cold read')
    # Unaligned writes into pages not in the cache, then cold reads again.
    with open(img, 'rb') as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    write(5 * MiB + 1001, os.urandom(MiB + 13))
    write(7 * MiB + 77, os.urandom(100), nbd.CMD_FLAG_FUA)
    h.flush()
    with open(img, 'rb') as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    check_range(5 * MiB, 3 * MiB, 'cold writes, read cold')
# DISC.
h.shutdown()
print('commands on %s (structured %s) passed' % (exp, sr))
"
	done
done

# DISC after pipelined writes: every write is answered before the close.
rawnbd "$port" <<'EOF'
for structured in (False, True):
    c = go(name="file", structured=structured)
    cookies = [c.send(CMD_WRITE, i * 4096, 4096, 0, bytes([i]) * 4096)
               for i in range(100)]
    c.send(CMD_DISC)
    for ck, (err, msg) in c.replies(cookies).items():
        check(err == 0, "pipelined write %d failed: %s" % (ck, msg))
    expect_close(c.s, clean=True)
    c = go(name="file", structured=structured)
    for i in (0, 50, 99):
        check(c.pread(4096, i * 4096) == bytes([i]) * 4096,
              "pipelined write %d not there" % i)
    # FUA is valid on every command (libnbd only sends it on writes).
    for cmd, length in ((CMD_READ, 4096), (CMD_FLUSH, 0), (CMD_CACHE, 4096)):
        err, _, msg = c.req(cmd, 0, length, CF_FUA)
        check(err == 0, "cmd %d with FUA: %d %s" % (cmd, err, msg))
    # A zero-length read succeeds with no data (structured: a NONE chunk).
    err, data, _ = c.req(CMD_READ, 4096, 0)
    check(err == 0 and data == b"", "zero-length read")
    c.disc()
print("DISC after pipelined writes passed")
EOF
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "commands: all passed"
