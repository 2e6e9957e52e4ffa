#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every handshake option, through libnbd (nbdsh) where it can send it and
# byte by byte where it cannot: EXPORT_NAME (with and without NO_ZEROES),
# ABORT, LIST, INFO, GO, STRUCTURED_REPLY, the unsupported ones, and their
# error replies.  Also LIST and INFO with names and descriptions at the
# protocol's 4096-byte limit, and LIST output that spans reply buffers.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh

img=$T/disk.img
serve srv "$NETSWAPD" --export mem=mem:16M --export "file=file:$img:4M" \
	--buffer-memory 8M --quiet
port=$srv_PORT

# ---- through libnbd ----
nbdsh -c "
import errno
uri = 'nbd://127.0.0.1:$port'
img = '$img'

# LIST: every export with its description, in command-line order (the
# description says what it is, never where: the path is the server's).
h = nbd.NBD()
h.set_opt_mode(True)
h.connect_uri(uri)
got = []
n = h.opt_list(lambda name, desc: got.append((name, desc)))
assert n == 2, n
assert got == [('mem', '16M memory'), ('file', '4M file')], got

# INFO, full info: size, description, canonical name, block sizes, flags.
# The same handle then does INFO on the other export and an unknown one.
h.set_full_info(True)
for name, size, desc in (('mem', 16 << 20, '16M memory'),
                         ('file', 4 << 20, '4M file')):
    h.set_export_name(name)
    h.opt_info()
    assert h.get_size() == size, (name, h.get_size())
    assert h.get_export_description() == desc, h.get_export_description()
    assert h.get_canonical_export_name() == name
    assert h.get_block_size(nbd.SIZE_MINIMUM) == 1
    assert h.get_block_size(nbd.SIZE_PREFERRED) == 4096
    assert h.get_block_size(nbd.SIZE_MAXIMUM) == 4 << 20   # half of 8M
    assert not h.is_read_only()
    for can in (h.can_flush, h.can_fua, h.can_trim, h.can_zero,
                h.can_fast_zero, h.can_cache, h.can_multi_conn, h.can_df):
        assert can(), can.__name__
h.set_export_name('nope')
try:
    h.opt_info()
    assert False, 'INFO of an unknown export succeeded'
except nbd.Error as e:
    assert e.errnum == errno.ENOENT, e
# The empty name is no export unless one is configured under it.
h.set_export_name('')
try:
    h.opt_info()
    assert False, 'INFO of the empty name succeeded'
except nbd.Error as e:
    assert e.errnum == errno.ENOENT, e

# GO of an unknown export fails and leaves the handshake open; GO of a
# real one enters transmission.
h.set_export_name('nope')
try:
    h.opt_go()
    assert False, 'GO of an unknown export succeeded'
except nbd.Error as e:
    assert e.errnum == errno.ENOENT, e
assert h.aio_is_negotiating()
h.set_export_name('file')
h.opt_go()
assert h.aio_is_ready()
assert h.get_size() == 4 << 20
h.pwrite(b'through GO', 512)
assert h.pread(10, 512) == b'through GO'
h.shutdown()

# LIST_META_CONTEXT is not supported: ENOTSUP, and the handshake goes on.
h = nbd.NBD()
h.set_opt_mode(True)
h.connect_uri(uri + '/mem')
try:
    h.opt_list_meta_context(lambda ctx: 0)
    assert False, 'LIST_META_CONTEXT succeeded'
except nbd.Error as e:
    assert e.errnum == errno.ENOTSUP, e
h.opt_go()
assert h.get_size() == 16 << 20

# ABORT closes the connection.
h = nbd.NBD()
h.set_opt_mode(True)
h.connect_uri(uri + '/mem')
h.opt_abort()
assert h.aio_is_closed()

# STRUCTURED_REPLY: negotiated by default (and with it DF); refused when
# the client does not ask.
h = nbd.NBD()
h.connect_uri(uri + '/mem')
assert h.get_structured_replies_negotiated()
assert h.can_df()
h = nbd.NBD()
h.set_request_structured_replies(False)
h.connect_uri(uri + '/mem')
assert not h.get_structured_replies_negotiated()
assert not h.can_df()
assert h.pread(10, 512) == bytes(10)

# EXPORT_NAME: a client without FIXED_NEWSTYLE can only use it (and
# gets the 124 bytes of padding, since it did not set NO_ZEROES).
h = nbd.NBD()
h.set_handshake_flags(0)
h.connect_uri(uri + '/file')
assert h.get_protocol() == 'newstyle', h.get_protocol()
assert h.get_size() == 4 << 20
assert h.pread(10, 512) == b'through GO'
print('libnbd option checks passed')
"

# ---- byte by byte ----
rawnbd "$port" "$img" <<'EOF'
img = ARGS[0]
ALL_TF = (TF_HAS_FLAGS | TF_SEND_FLUSH | TF_SEND_FUA | TF_SEND_TRIM |
          TF_SEND_WRITE_ZEROES | TF_CAN_MULTI_CONN | TF_SEND_CACHE |
          TF_SEND_FAST_ZERO)

# EXPORT_NAME, each combination of NO_ZEROES and structured replies.
for flags in (FLAG_FIXED_NEWSTYLE, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES, 0,
              FLAG_NO_ZEROES):
    for structured in (False, True):
        if structured and not flags & FLAG_FIXED_NEWSTYLE:
            continue
        c = go(name="file", export_name=True, flags=flags,
               structured=structured)
        check(c.size == 4 << 20, "EXPORT_NAME size %d" % c.size)
        want = ALL_TF | (TF_SEND_DF if structured else 0)
        check(c.tflags == want, "EXPORT_NAME tflags %#x, want %#x"
              % (c.tflags, want))
        check(c.pread(10, 512) == b"through GO", "read after EXPORT_NAME")
        c.disc()
# The empty name is no export here: EXPORT_NAME of it hangs up.
s = newstyle()
send_opt(s, OPT_EXPORT_NAME, b"")
expect_close(s)

s = newstyle()
# Unsupported options: NBD_REP_ERR_UNSUP, connection goes on.
for opt in (0, OPT_PEEK_EXPORT, OPT_STARTTLS, OPT_LIST_META_CONTEXT,
            OPT_SET_META_CONTEXT, OPT_EXTENDED_HEADERS, 12, 0x7FFFFFFF,
            0xFFFFFFFF):
    send_opt(s, opt, b"some data" if opt % 2 else b"")
    msg = expect_opt_error(s, opt, REP_ERR_UNSUP)
# Options that take no data, given data.
send_opt(s, OPT_LIST, b"x")
expect_opt_error(s, OPT_LIST, REP_ERR_INVALID)
send_opt(s, OPT_STRUCTURED_REPLY, b"x")
expect_opt_error(s, OPT_STRUCTURED_REPLY, REP_ERR_INVALID)
# LIST replies one SERVER per export, then ACK.
send_opt(s, OPT_LIST)
for name, desc in ((b"mem", b"16M memory"), (b"file", b"4M file")):
    rtype, data = read_opt_reply(s, OPT_LIST)
    check(rtype == REP_SERVER, "LIST reply %#x" % rtype)
    (nlen,) = struct.unpack(">I", data[:4])
    check(data[4:4 + nlen] == name and data[4 + nlen:] == desc,
          "LIST entry %r" % data)
rtype, data = read_opt_reply(s, OPT_LIST)
check(rtype == REP_ACK and data == b"", "LIST not ended by ACK")
# INFO: NAME and DESCRIPTION only when asked, BLOCK_SIZE always; DF only
# after STRUCTURED_REPLY.
res = opt_info(s, "mem")
check(res["size"] == 16 << 20 and res["tflags"] == ALL_TF,
      "INFO before STRUCTURED_REPLY: %r" % res)
check(res["block"] == (1, 4096, 4 << 20), "block sizes %r" % (res["block"],))
check("name" not in res and "description" not in res, "unasked info")
res = opt_info(s, "mem", (INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE, 999))
check(res["name"] == b"mem" and res["description"] == b"16M memory",
      "INFO with NAME and DESCRIPTION: %r" % res)
check(opt_info(s, "") == REP_ERR_UNKNOWN, "INFO of the unconfigured ''")
send_opt(s, OPT_INFO, info_go_data("nope", (INFO_NAME,)))
expect_opt_error(s, OPT_INFO, REP_ERR_UNKNOWN)
opt_structured(s)
res = opt_info(s, "file")
check(res["tflags"] == ALL_TF | TF_SEND_DF, "INFO after STRUCTURED_REPLY")
# GO enters transmission with structured replies.
res = opt_info(s, "mem", opt=OPT_GO)
c = Conn(s, res["size"], res["tflags"], True)
c.pwrite(b"raw GO", 0)
check(c.pread(6, 0) == b"raw GO", "read after raw GO")
c.disc()

# ABORT: ACK, then the server closes.
s = newstyle()
send_opt(s, OPT_ABORT)
rtype, data = read_opt_reply(s, OPT_ABORT)
check(rtype == REP_ACK and data == b"", "ABORT not acked")
expect_close(s, clean=True)
# ABORT with data is still an abort.
s = newstyle()
send_opt(s, OPT_ABORT, b"bye")
read_opt_reply(s, OPT_ABORT)
expect_close(s)
print("raw option checks passed")
EOF
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# ---- strings at the 4096-byte limit ----
# A name of 4096 bytes, a description= of 4096 bytes of two-byte UTF-8
# characters (sent whole), and file exports whose paths are 4095 bytes
# long (their descriptions say size and kind only, so stay short).  A
# longer description is refused at start (test-server-cli).
dir=$T/d
mkdir -p "$dir"
# long_path LEAF: a path of exactly 4095 bytes ending in /LEAF.
long_path() {
	local leaf=$1 p=$dir n
	n=$(printf '%s' "/$leaf" | wc -c)
	while [ $((${#p} + n)) -lt 4095 ]; do
		if [ $(((4095 - n - ${#p}) % 2)) -eq 1 ]; then
			p=$p/
		else
			p=$p/.
		fi
	done
	printf '%s/%s' "$p" "$leaf"
}
longpath=$(long_path x.img)
[ ${#longpath} -eq 4095 ] || fail "long path is ${#longpath} bytes"
utf8path=$(long_path "$(printf '\xc3\xa9%.0s' 1 2 3 4 5).img")
[ "$(printf '%s' "$utf8path" | wc -c)" -eq 4095 ] || fail "utf-8 path length"
truncate -s 1M "$longpath" "$utf8path"
name4096=$(printf 'n%.0s' $(seq 4096))
desc4096=$(printf '\xc3\xa9%.0s' $(seq 2048))
serve long "$NETSWAPD" --read-only --export "$name4096=mem:1M" \
	--export "f=file:$longpath:1M" --export "u=file:$utf8path:1M" \
	--export "d=mem:1M,description=$desc4096" --quiet
rawnbd "$long_PORT" "$name4096" <<'EOF'
name = ARGS[0].encode()
s = newstyle()
res = opt_info(s, "d", (INFO_DESCRIPTION,))
check(res["description"] == "\u00e9".encode() * 2048,
      "the 4096-byte description, %d bytes" % len(res["description"]))
for n in (name, b"f", b"u"):
    res = opt_info(s, n, (INFO_NAME, INFO_DESCRIPTION))
    check(res["name"] == n, "INFO_NAME of a long name")
    check(res["description"] == b"1M memory, read-only" if n == name
          else res["description"] == b"1M file, read-only",
          "description %r" % res["description"][:64])
    try:
        res["description"].decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("description of %r cut inside a UTF-8 "
                             "sequence: %s" % (n, e))
send_opt(s, OPT_LIST)
while True:
    rtype, data = read_opt_reply(s, OPT_LIST)
    if rtype == REP_ACK:
        break
    (nlen,) = struct.unpack(">I", data[:4])
    check(nlen <= 4096 and len(data) - 4 - nlen <= 4096,
          "LIST entry with a %d-byte name, %d-byte description"
          % (nlen, len(data) - 4 - nlen))
s.close()
c = go(name="f")
check(c.pread(4, 0) == bytes(4), "read of the long-path export")
c.disc()
print("4096-byte strings passed")
EOF
rc=0; stop_server "$long_PID" || rc=$?
[ "$rc" -eq 0 ] || { cat "$long_ERR" >&2; fail "long-string server exited $rc"; }

# ---- LIST output that fills its reply buffer ----
# Entries are 20 + 4 + name + description bytes; names of 4060 bytes with
# "1M memory" fill 16372 of the server's 16384-byte reply block, leaving
# no room for the ACK.  Also 64 maximal entries, which span many blocks.
list_check() {
	local n=$1; shift
	serve lst "$NETSWAPD" "$@" --quiet
	rawnbd "$lst_PORT" "$n" <<'EOF'
want = int(ARGS[0])
for round in range(2):
    s = newstyle()
    send_opt(s, OPT_LIST)
    got = 0
    while True:
        rtype, data = read_opt_reply(s, OPT_LIST)
        if rtype == REP_ACK:
            break
        check(rtype == REP_SERVER, "LIST reply %#x" % rtype)
        got += 1
    check(got == want, "LIST gave %d of %d exports" % (got, want))
    # The handshake goes on after a long LIST.
    check(opt_info(s, "") == REP_ERR_UNKNOWN, "INFO after LIST")
    s.close()
print("LIST of %d exports passed" % want)
EOF
	stop_server "$lst_PID" || fail "LIST server exit status"
}
args=()
for c in a b c d; do
	args+=(--export "$(printf "$c%.0s" $(seq 4060))=mem:1M")
done
list_check 4 "${args[@]}"
args=()
for c in a b c d; do
	args+=(--export "$(printf "$c%.0s" $(seq 4063))=mem:1M")
done
list_check 4 "${args[@]}"
args=()
for i in $(seq 10 73); do
	args+=(--export "$i$(printf 'x%.0s' $(seq 4094))=mem:1M")
done
list_check 64 "${args[@]}"
echo "options: all passed"
