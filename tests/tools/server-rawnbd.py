#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""A raw NBD client for abusing netswapd from the server tests.

Usage: server-rawnbd.py PORT [ARG...] < SCRIPT

Runs the Python SCRIPT read from stdin with everything below in scope, PORT
as the int PORT and the rest as ARGS.  The helpers speak the wire format
byte by byte so a script can send what no well-behaved client would:
truncated handshakes, bad magics, 4 GiB option lengths, unknown commands.
Every value here is taken from the NBD spec, not from proto/nbd.h, so the
tests also check the shared header against the spec.
"""
import errno
import os
import signal
import socket
import struct
import sys
import time

INIT_MAGIC = 0x4E42444D41474943          # "NBDMAGIC"
OPTS_MAGIC = 0x49484156454F5054          # "IHAVEOPT"
REP_MAGIC = 0x0003E889045565A9
REQ_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
CHUNK_MAGIC = 0x668E33EF

FLAG_FIXED_NEWSTYLE = 1
FLAG_NO_ZEROES = 2

OPT_EXPORT_NAME = 1
OPT_ABORT = 2
OPT_LIST = 3
OPT_PEEK_EXPORT = 4
OPT_STARTTLS = 5
OPT_INFO = 6
OPT_GO = 7
OPT_STRUCTURED_REPLY = 8
OPT_LIST_META_CONTEXT = 9
OPT_SET_META_CONTEXT = 10
OPT_EXTENDED_HEADERS = 11

REP_ACK = 1
REP_SERVER = 2
REP_INFO = 3
REP_ERR_UNSUP = 0x80000001
REP_ERR_POLICY = 0x80000002
REP_ERR_INVALID = 0x80000003
REP_ERR_UNKNOWN = 0x80000006
REP_ERR_TOO_BIG = 0x80000009

INFO_EXPORT = 0
INFO_NAME = 1
INFO_DESCRIPTION = 2
INFO_BLOCK_SIZE = 3

TF_HAS_FLAGS = 1 << 0
TF_READ_ONLY = 1 << 1
TF_SEND_FLUSH = 1 << 2
TF_SEND_FUA = 1 << 3
TF_SEND_TRIM = 1 << 5
TF_SEND_WRITE_ZEROES = 1 << 6
TF_SEND_DF = 1 << 7
TF_CAN_MULTI_CONN = 1 << 8
TF_SEND_CACHE = 1 << 10
TF_SEND_FAST_ZERO = 1 << 11

CMD_READ = 0
CMD_WRITE = 1
CMD_DISC = 2
CMD_FLUSH = 3
CMD_TRIM = 4
CMD_CACHE = 5
CMD_WRITE_ZEROES = 6
CMD_BLOCK_STATUS = 7
CMD_RESIZE = 8

CF_FUA = 1 << 0
CF_NO_HOLE = 1 << 1
CF_DF = 1 << 2
CF_REQ_ONE = 1 << 3
CF_FAST_ZERO = 1 << 4

REPLY_FLAG_DONE = 1
RT_NONE = 0
RT_OFFSET_DATA = 1
RT_OFFSET_HOLE = 2
RT_ERROR = 0x8001
RT_ERROR_OFFSET = 0x8002

EPERM = 1
EIO = 5
EINVAL = 22
ENOSPC = 28
ENOTSUP = 95

TIMEOUT = 20.0
START = time.monotonic()


class Closed(Exception):
    """The server closed the connection."""


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def connect(port=None, host="127.0.0.1", unix=None, timeout=TIMEOUT):
    if unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(unix)
        return s
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, PORT if port is None else port))
    return s


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        try:
            got = s.recv(min(n - len(buf), 1 << 20))
        except ConnectionResetError as e:
            raise Closed("connection reset after %d of %d bytes"
                         % (len(buf), n)) from e
        if not got:
            raise Closed("EOF after %d of %d bytes" % (len(buf), n))
        buf += got
    return bytes(buf)


def expect_close(s, timeout=TIMEOUT, clean=False):
    """The server must close: EOF (or, unless @clean, a reset) within
    @timeout seconds, with no further bytes.  Returns the seconds it took."""
    start = time.monotonic()
    s.settimeout(timeout)
    try:
        got = s.recv(65536)
    except ConnectionResetError:
        check(not clean, "connection reset instead of a clean close")
        return time.monotonic() - start
    except socket.timeout:
        raise AssertionError("server did not close within %gs" % timeout)
    check(got == b"", "expected the server to close, got %r" % got[:64])
    return time.monotonic() - start


def expect_open(s, seconds):
    """Nothing arrives and the connection stays up for @seconds."""
    s.settimeout(seconds)
    try:
        got = s.recv(1)
    except socket.timeout:
        return
    raise AssertionError("expected silence, got %r" % got)


def read_hello(s):
    m1, m2, flags = struct.unpack(">QQH", recv_exact(s, 18))
    check(m1 == INIT_MAGIC, "bad init magic %#x" % m1)
    check(m2 == OPTS_MAGIC, "server is not newstyle: %#x" % m2)
    return flags


def newstyle(port=None, flags=FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, **kw):
    """Connect, check the greeting, send client flags."""
    s = connect(port, **kw)
    sflags = read_hello(s)
    check(sflags & FLAG_FIXED_NEWSTYLE, "server lacks FIXED_NEWSTYLE")
    check(sflags & FLAG_NO_ZEROES, "server lacks NO_ZEROES")
    s.sendall(struct.pack(">I", flags))
    return s


def send_opt(s, opt, data=b"", length=None):
    if length is None:
        length = len(data)
    s.sendall(struct.pack(">QII", OPTS_MAGIC, opt, length) + data)


def read_opt_reply(s, opt=None):
    magic, ropt, rtype, rlen = struct.unpack(">QIII", recv_exact(s, 20))
    check(magic == REP_MAGIC, "bad option reply magic %#x" % magic)
    if opt is not None:
        check(ropt == opt, "reply is for option %d, sent %d" % (ropt, opt))
    check(rlen <= 65536, "option reply of %d bytes" % rlen)
    return rtype, recv_exact(s, rlen)


def expect_opt_error(s, opt, rtype):
    got, data = read_opt_reply(s, opt)
    check(got == rtype, "option %d: expected reply %#x, got %#x (%r)"
          % (opt, rtype, got, data))
    return data


def info_go_data(name, infos=()):
    if isinstance(name, str):
        name = name.encode()
    return (struct.pack(">I", len(name)) + name +
            struct.pack(">H", len(infos)) +
            b"".join(struct.pack(">H", i) for i in infos))


def parse_info_replies(s, opt):
    """Collect NBD_REP_INFO replies up to the ACK.  Returns a dict with
    size, tflags, block sizes, name, description; or the error type."""
    res = {}
    while True:
        rtype, data = read_opt_reply(s, opt)
        if rtype == REP_ACK:
            check(data == b"", "ACK with data")
            check("size" in res, "no NBD_INFO_EXPORT before the ACK")
            return res
        if rtype & 0x80000000:
            check(not res, "error after INFO replies")
            return rtype
        check(rtype == REP_INFO, "unexpected reply type %#x" % rtype)
        (itype,) = struct.unpack(">H", data[:2])
        if itype == INFO_EXPORT:
            check(len(data) == 12, "INFO_EXPORT of %d bytes" % len(data))
            res["size"], res["tflags"] = struct.unpack(">QH", data[2:])
        elif itype == INFO_NAME:
            res["name"] = data[2:]
        elif itype == INFO_DESCRIPTION:
            res["description"] = data[2:]
        elif itype == INFO_BLOCK_SIZE:
            check(len(data) == 14, "INFO_BLOCK_SIZE of %d bytes" % len(data))
            res["block"] = struct.unpack(">III", data[2:])
        else:
            raise AssertionError("unknown info type %d" % itype)


def opt_info(s, name, infos=(), opt=OPT_INFO):
    send_opt(s, opt, info_go_data(name, infos))
    return parse_info_replies(s, opt)


def opt_structured(s):
    send_opt(s, OPT_STRUCTURED_REPLY)
    rtype, data = read_opt_reply(s, OPT_STRUCTURED_REPLY)
    check(rtype == REP_ACK and data == b"", "STRUCTURED_REPLY not acked")


class Conn:
    """A connection in the transmission phase."""

    def __init__(self, s, size, tflags, structured):
        self.s = s
        self.size = size
        self.tflags = tflags
        self.structured = structured
        self.cookie = 0

    def send(self, cmd, offset=0, length=0, flags=0, payload=b"",
             cookie=None, magic=REQ_MAGIC):
        if cookie is None:
            self.cookie += 1
            cookie = self.cookie
        self.s.sendall(struct.pack(">IHHQQI", magic, flags, cmd, cookie,
                                   offset, length) + payload)
        return cookie

    def reply(self, cookie, readlen=None, offset=0):
        """One reply: (error, data, message).  Checks the cookie; @readlen
        and @offset describe the READ it answers (None: not a READ)."""
        is_read = readlen is not None
        readlen = readlen or 0
        (magic,) = struct.unpack(">I", recv_exact(self.s, 4))
        self.last_magic = magic
        if magic == CHUNK_MAGIC:
            check(self.structured, "structured reply not negotiated")
            return self._structured(cookie, readlen, offset)
        check(magic == SIMPLE_MAGIC, "bad reply magic %#x" % magic)
        # The spec forbids a simple reply to a READ once structured
        # replies are negotiated, even for an error.
        check(not (self.structured and is_read),
              "simple reply to a structured READ")
        err, ck = struct.unpack(">IQ", recv_exact(self.s, 12))
        self.last_cookie = ck
        check(cookie is None or ck == cookie,
              "cookie %d, expected %r" % (ck, cookie))
        data = recv_exact(self.s, readlen) if readlen and not err else b""
        return err, data, None

    def _structured(self, cookie, readlen, base):
        err, msg, data = 0, None, None
        # Allocated on the first data chunk: an invalid READ may claim 4 GiB.
        def buf():
            return bytearray(readlen) if data is None else data
        first = True
        while True:
            if not first:
                (magic,) = struct.unpack(">I", recv_exact(self.s, 4))
                check(magic == CHUNK_MAGIC, "bad chunk magic %#x" % magic)
            first = False
            flags, rtype, ck, ln = struct.unpack(
                ">HHQI", recv_exact(self.s, 16))
            if cookie is None:
                cookie = ck
            self.last_cookie = ck
            check(ck == cookie, "cookie %d, expected %d" % (ck, cookie))
            body = recv_exact(self.s, ln)
            if rtype == RT_ERROR:
                err, mlen = struct.unpack(">IH", body[:6])
                check(mlen == ln - 6, "error message length mismatch")
                check(err != 0, "error chunk with error 0")
                msg = body[6:].decode()
            elif rtype == RT_OFFSET_DATA:
                (off,) = struct.unpack(">Q", body[:8])
                check(base <= off and off - base + ln - 8 <= readlen,
                      "data chunk outside the request")
                data = buf()
                data[off - base:off - base + ln - 8] = body[8:]
            elif rtype == RT_OFFSET_HOLE:
                off, hl = struct.unpack(">QI", body)
                check(base <= off and off - base + hl <= readlen,
                      "hole chunk outside the request")
                data = buf()
                data[off - base:off - base + hl] = bytes(hl)
            elif rtype == RT_NONE:
                check(ln == 0, "NONE chunk with payload")
                check(flags & REPLY_FLAG_DONE, "NONE chunk without DONE")
            else:
                raise AssertionError("unexpected chunk type %#x" % rtype)
            if flags & REPLY_FLAG_DONE:
                if err:
                    return err, b"", msg
                return err, bytes(buf()), msg

    def replies(self, cookies):
        """Replies to non-READ requests @cookies, in whatever order they
        come: {cookie: (error, message)}."""
        got = {}
        while len(got) < len(cookies):
            err, _, msg = self.reply(None)
            ck = self.last_cookie
            check(ck in cookies and ck not in got, "unexpected cookie %d" % ck)
            got[ck] = (err, msg)
        return got

    def req(self, cmd, offset=0, length=0, flags=0, payload=b""):
        """Send one request and wait for its reply."""
        ck = self.send(cmd, offset, length, flags, payload)
        return self.reply(ck, length if cmd == CMD_READ else None, offset)

    def expect_error(self, err, cmd, offset=0, length=0, flags=0,
                     payload=b""):
        got, _, msg = self.req(cmd, offset, length, flags, payload)
        check(got == err, "cmd %d flags %#x off %d len %d: error %d, "
              "expected %d (%s)" % (cmd, flags, offset, length, got, err,
                                    msg))
        if self.structured and err:
            check(msg, "structured error without a message")
        return msg

    def pwrite(self, data, offset, flags=0):
        err, _, msg = self.req(CMD_WRITE, offset, len(data), flags, data)
        check(err == 0, "write failed: %d %s" % (err, msg))

    def pread(self, length, offset, flags=0):
        err, data, msg = self.req(CMD_READ, offset, length, flags)
        check(err == 0, "read failed: %d %s" % (err, msg))
        return data

    def disc(self):
        self.send(CMD_DISC)
        expect_close(self.s, clean=True)
        self.s.close()


def go(port=None, name="mem", structured=True, export_name=False,
       flags=FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, **kw):
    """A complete handshake; returns a Conn."""
    s = newstyle(port, flags, **kw)
    if structured:
        opt_structured(s)
    if export_name:
        send_opt(s, OPT_EXPORT_NAME, name.encode())
        size, tflags = struct.unpack(">QH", recv_exact(s, 10))
        if not flags & FLAG_NO_ZEROES:
            check(recv_exact(s, 124) == bytes(124), "padding not zero")
    else:
        res = opt_info(s, name, opt=OPT_GO)
        check(isinstance(res, dict), "GO '%s' failed: %#x" % (name, res
              if isinstance(res, int) else 0))
        size, tflags = res["size"], res["tflags"]
    return Conn(s, size, tflags, structured)


def still_serves(port=None, name="mem"):
    """A fresh well-behaved client gets a write and a read through."""
    c = go(port, name)
    buf = os.urandom(4096)
    c.pwrite(buf, 0)
    check(c.pread(4096, 0) == buf, "read back differs")
    c.disc()


def server_stats():
    """SIGUSR1 to SERVER_PID; returns (connections, pool bytes used) from
    the stats line it prints to SERVER_ERR."""
    pid, err = int(os.environ["SERVER_PID"]), os.environ["SERVER_ERR"]

    def lines():
        with open(err, errors="replace") as f:
            return [l for l in f if "stats:" in l]
    before = len(lines())
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while len(lines()) == before:
        check(time.monotonic() < deadline, "no stats from the server")
        time.sleep(0.02)
    line = lines()[-1]
    conns = int(line.split("connections=")[1].split()[0])
    used = line.split("pool_used=")[1].split()[0]
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    used = int(used[:-1]) * mult[used[-1]] if used[-1] in mult else int(used)
    return conns, used


def settled(what, timeout=5.0):
    """Once the abusive clients are gone, the server holds no connection
    and no pool memory (nothing leaked, nothing stuck)."""
    deadline = time.monotonic() + timeout
    while True:
        conns, used = server_stats()
        if conns == 0 and used == 0:
            return
        check(time.monotonic() < deadline, "after %s: %d connections and "
              "%d pool bytes remain" % (what, conns, used))
        time.sleep(0.1)


def survived(what, name="mem"):
    """After an abuse: the server (SERVER_PID) is alive, still serves a
    good client, its RSS is within RSS_LIMIT_KIB when that is set, and
    when SERVER_ERR is set, it holds no connection or pool memory once
    the abusive clients have gone (close them first)."""
    pid = int(os.environ.get("SERVER_PID", "0"))
    limit = int(os.environ.get("RSS_LIMIT_KIB", "0"))
    if pid:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise AssertionError("server died after: " + what)
    try:
        still_serves(name=name)
    except Exception as e:
        raise AssertionError("no longer serves after %s: %r" % (what, e))
    if pid and os.environ.get("SERVER_ERR"):
        settled(what)
    msg = "ok: " + what
    if pid and limit:
        rss, hwm = status_kib(pid, "VmRSS"), status_kib(pid, "VmHWM")
        msg += " (VmRSS %d KiB, VmHWM %d KiB)" % (rss, hwm)
        check(hwm <= limit, "after %s: VmHWM %d KiB > %d KiB"
              % (what, hwm, limit))
    print(msg, round(time.monotonic() - START, 2), flush=True)


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (field, pid))


def raise_nofile(n):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def main():
    global PORT, ARGS
    PORT = int(sys.argv[1]) if len(sys.argv) > 1 else None
    ARGS = sys.argv[2:]
    code = compile(sys.stdin.read(), "<test script>", "exec")
    exec(code, globals())


if __name__ == "__main__":
    main()
