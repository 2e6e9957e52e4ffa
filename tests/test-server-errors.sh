#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every transmission error case, on a memory and a file export, with simple
# and structured replies: out of range (EINVAL for READ/TRIM/CACHE, ENOSPC
# for WRITE/WRITE_ZEROES, including offsets that wrap), lengths over the
# maximum payload, bad flags, unknown commands, FLUSH with a range.  A
# refused WRITE's payload is skipped, never parsed as requests nor written;
# a WRITE over 32 MiB is answered, then the connection is closed; a bad
# request magic closes it.  Structured errors carry a message.  libnbd with
# strict mode off sees the same errnos.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh

img=$T/disk.img
# 8M of buffer memory: the maximum payload is 4 MiB.
serve srv "$NETSWAPD" --export mem=mem:16M --export "file=file:$img:16M" \
	--buffer-memory 8M --quiet
port=$srv_PORT

rawnbd "$port" <<'EOF'
MiB = 1 << 20
U64 = 1 << 64
for exp in ("mem", "file"):
    for structured in (False, True):
        where = "%s/%s" % (exp, "structured" if structured else "simple")
        c = go(name=exp, structured=structured)
        size = c.size
        check(size == 16 * MiB, "size")
        marker = os.urandom(4096)
        c.pwrite(marker, 0)
        tail = os.urandom(4096)
        c.pwrite(tail, size - 4096)

        def intact(what):
            check(c.pread(4096, 0) == marker, "%s: %s: data at 0 changed"
                  % (where, what))
            check(c.pread(4096, size - 4096) == tail,
                  "%s: %s: data at the end changed" % (where, what))

        cases = [
            # out of range
            (EINVAL, CMD_READ, size - 100, 200, 0),
            (EINVAL, CMD_READ, size, 1, 0),
            (EINVAL, CMD_READ, U64 - 1, 2, 0),
            (EINVAL, CMD_READ, 1 << 63, 4096, 0),
            (EINVAL, CMD_TRIM, size - 4096, 8192, 0),
            (EINVAL, CMD_TRIM, U64 - 4096, 8192, 0),
            (EINVAL, CMD_TRIM, 0, 0xFFFFFFFF, 0),
            (EINVAL, CMD_CACHE, size, 4096, 0),
            (EINVAL, CMD_CACHE, U64 - 1, 2, 0),
            (ENOSPC, CMD_WRITE_ZEROES, size - 4096, 8192, 0),
            (ENOSPC, CMD_WRITE_ZEROES, U64 - 4096, 8192, 0),
            (ENOSPC, CMD_WRITE_ZEROES, 0, 0xFFFFFFFF, 0),
            # over the maximum payload (4 MiB here), and over 32 MiB
            (EINVAL, CMD_READ, 0, 4 * MiB + 1, 0),
            (EINVAL, CMD_READ, 0, 32 * MiB + 1, 0),
            (EINVAL, CMD_READ, 0, 0xFFFFFFFF, 0),
            # FLUSH takes no range
            (EINVAL, CMD_FLUSH, 4096, 0, 0),
            (EINVAL, CMD_FLUSH, 0, 4096, 0),
            # flags not documented for the command, and unknown flags
            (EINVAL, CMD_READ, 0, 4096, CF_NO_HOLE),
            (EINVAL, CMD_READ, 0, 4096, CF_FAST_ZERO),
            (EINVAL, CMD_READ, 0, 4096, CF_REQ_ONE),
            (EINVAL, CMD_READ, 0, 4096, 1 << 5),
            (EINVAL, CMD_READ, 0, 4096, 1 << 15),
            (EINVAL, CMD_TRIM, 0, 4096, CF_NO_HOLE),
            (EINVAL, CMD_TRIM, 0, 4096, CF_DF),
            (EINVAL, CMD_FLUSH, 0, 0, CF_NO_HOLE),
            (EINVAL, CMD_CACHE, 0, 4096, CF_DF),
            (EINVAL, CMD_CACHE, 0, 4096, CF_FAST_ZERO),
            (EINVAL, CMD_WRITE_ZEROES, 0, 4096, CF_DF),
            (EINVAL, CMD_WRITE_ZEROES, 0, 4096, CF_REQ_ONE),
            (EINVAL, CMD_WRITE_ZEROES, 0, 4096, 0xFFFF),
            # unknown commands (BLOCK_STATUS without a meta context)
            (EINVAL, CMD_BLOCK_STATUS, 0, 4096, 0),
            (EINVAL, CMD_RESIZE, 0, 0, 0),
            (EINVAL, 9, 0, 0, 0),
            (EINVAL, 0x100, 0, 4096, 0),
            (EINVAL, 0xFFFF, 0, 0, 0),
        ]
        if not structured:
            # DF needs structured replies.
            cases.append((EINVAL, CMD_READ, 0, 4096, CF_DF))
        for err, cmd, off, ln, flags in cases:
            msg = c.expect_error(err, cmd, off, ln, flags)
            if structured:
                check(msg, "%s: no message for error %d" % (where, err))
        intact("errors without payload")

        # Refused WRITEs: their payloads are skipped.  Each payload is made
        # of WRITE requests that would overwrite offset 0 if parsed.
        evil = struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_WRITE, 666, 0, 4) + b"EVIL"
        def payload(n):
            return (evil * (n // len(evil) + 1))[:n]
        for err, off, ln, flags in (
                (ENOSPC, size - 100, 200, 0),
                (ENOSPC, size, 4096, 0),
                (ENOSPC, U64 - 100, 200, 0),
                (EINVAL, 0, 4096, CF_NO_HOLE),
                (EINVAL, 0, 4096, CF_DF),
                (EINVAL, 0, 4096, 1 << 15),
                (EINVAL, 0, 4 * MiB + 1, 0),        # over max payload
                (EINVAL, 0, 32 * MiB, 0)):          # ... up to 32 MiB
            msg = c.expect_error(err, CMD_WRITE, off, ln, flags, payload(ln))
            if structured:
                check(msg, "%s: no message for a refused write" % where)
        intact("refused writes")
        # Pipelined: a refused write between good requests.
        cks = [c.send(CMD_WRITE, 8192, 4, 0, b"good"),
               c.send(CMD_WRITE, size - 2, 4, 0, b"bad!"),
               c.send(CMD_FLUSH)]
        got = c.replies(cks)
        check(got[cks[0]][0] == 0 and got[cks[1]][0] == ENOSPC and
              got[cks[2]][0] == 0, "%s: pipelined %r" % (where, got))
        check(c.pread(4, 8192) == b"good", "pipelined good write")
        intact("pipelined refused write")
        c.disc()

        # A WRITE over 32 MiB cannot be skipped: error reply, then close.
        c = go(name=exp, structured=structured)
        ck = c.send(CMD_WRITE, 0, 32 * MiB + 1, 0)
        err, _, msg = c.reply(ck)
        check(err == EINVAL, "%s: 32M+1 write: error %d" % (where, err))
        expect_close(c.s)
        c = go(name=exp, structured=structured)
        ck = c.send(CMD_WRITE, 0, 0xFFFFFFFF, 0)
        err, _, msg = c.reply(ck)
        check(err == EINVAL, "%s: 4G write: error %d" % (where, err))
        expect_close(c.s)

        # A bad request magic: no reply, the connection is closed.
        c = go(name=exp, structured=structured)
        c.send(CMD_READ, 0, 4096, magic=0x25609514)
        expect_close(c.s)
        c = go(name=exp, structured=structured)
        c.s.sendall(b"\xff" * 28)
        expect_close(c.s)
        c = go(name=exp, structured=structured)
        intact("closed connections")
        c.disc()
print("raw error checks passed")
EOF

# The same errors as libnbd reports them to a real client.
nbdsh -c "
import errno
for exp in ('mem', 'file'):
    h = nbd.NBD()
    h.connect_uri('nbd://127.0.0.1:$port/' + exp)
    h.set_strict_mode(0)
    size = h.get_size()
    def expect(err, fn, *args):
        try:
            fn(*args)
        except nbd.Error as e:
            assert e.errnum == err, (fn.__name__, e)
            return
        raise AssertionError('%s succeeded' % fn.__name__)
    expect(errno.EINVAL, h.pread, 200, size - 100)
    expect(errno.ENOSPC, h.pwrite, bytes(200), size - 100)
    expect(errno.ENOSPC, h.zero, 8192, size - 4096)
    expect(errno.EINVAL, h.trim, 8192, size - 4096)
    expect(errno.EINVAL, h.cache, 8192, size - 4096)
    expect(errno.EINVAL, h.pread, 8 << 20, 0)
    expect(errno.EINVAL, h.pwrite, bytes(8 << 20), 0)
    expect(errno.EINVAL, h.pread, 4096, 0, nbd.CMD_FLAG_FUA << 15)
    h.pwrite(b'still fine', 0)
    assert h.pread(10, 0) == b'still fine'
    h.shutdown()
print('libnbd error checks passed')
"
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "errors: all passed"
