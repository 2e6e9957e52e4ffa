#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Bad input during the handshake: truncated and garbage greetings, bad
# magics, unknown client flags, option lengths up to 4 GiB, export names
# with NUL or over 4096 bytes, malformed INFO/GO.  After every abuse the
# server must still serve a good client, and (release build) its peak RSS
# stays within --buffer-memory plus a few MiB.  The same abuse runs against
# the sanitized build, which must then exit 0.
# limit: 240
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

abuse() {
	rawnbd "$1" <<'EOF'
import random
rng = random.Random(3)

# Nothing at all, or only the greeting read.
connect().close()
survived("connect and close")
s = connect(); read_hello(s); s.close()
survived("close after the greeting")

# Truncated client flags, then EOF.
s = connect(); read_hello(s); s.sendall(b"\0\0"); s.close()
survived("2 of 4 client flag bytes")

# Unknown client flags: the spec says the server closes.
for flags in (1 << 31, 4, 0xFFFFFFFF):
    s = newstyle(flags=flags)
    expect_close(s)
survived("unknown client flags")

# Garbage instead of client flags and options.
for i in range(20):
    s = connect(); read_hello(s)
    s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randrange(4, 300))))
    expect_close(s)
survived("random garbage after the greeting")

# Garbage after valid client flags (first bytes are not IHAVEOPT).
for i in range(20):
    s = newstyle()
    s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randrange(16, 300))))
    expect_close(s)
survived("random garbage instead of an option")

# Bad option magics.
for magic in (b"IHAVEOPX", b"\0" * 8, b"NBDMAGIC", OPTS_MAGIC.to_bytes(8, "little")):
    s = newstyle()
    s.sendall(magic + struct.pack(">II", OPT_LIST, 0))
    expect_close(s)
survived("bad option magics")

# A valid handshake cut at every byte, then EOF.
full = (struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES) +
        struct.pack(">QII", OPTS_MAGIC, OPT_STRUCTURED_REPLY, 0) +
        struct.pack(">QII", OPTS_MAGIC, OPT_GO, 9) + info_go_data("mem"))
for k in range(len(full)):
    s = connect(); read_hello(s); s.sendall(full[:k]); s.close()
survived("a handshake truncated at each of %d bytes" % len(full))

# An option header promising more data than comes, then EOF.
s = newstyle(); send_opt(s, OPT_INFO, b"x" * 50, length=100); s.close()
s = newstyle(); send_opt(s, OPT_INFO, b"x" * 3000, length=8000); s.close()
survived("option data cut short")

# 4 GiB - 1 of option data: discarded, answered TOO_BIG, and the same
# connection then completes its handshake.
s = newstyle()
send_opt(s, OPT_INFO, length=0xFFFFFFFF)
chunk, left = bytes(1 << 20), 0xFFFFFFFF
while left:
    n = min(left, len(chunk))
    s.sendall(chunk[:n])
    left -= n
expect_opt_error(s, OPT_INFO, REP_ERR_TOO_BIG)
res = opt_info(s, "mem", opt=OPT_GO)
check(isinstance(res, dict) and res["size"] == 16 << 20, "GO after 4 GiB")
c = Conn(s, res["size"], res["tflags"], False)
c.pwrite(b"after 4 GiB", 0)
check(c.pread(11, 0) == b"after 4 GiB", "read after 4 GiB option")
c.disc()
survived("a 4 GiB option, fully sent")

# 4 GiB declared, 32 MiB sent, then EOF; and an unknown option the same.
for opt in (OPT_LIST, 0x12345678):
    s = newstyle()
    send_opt(s, opt, length=0xFFFFFFFF)
    for i in range(32):
        s.sendall(chunk)
    s.close()
survived("4 GiB options abandoned after 32 MiB")

# Just over the option limit: discarded, TOO_BIG, connection usable.
s = newstyle()
send_opt(s, OPT_GO, b"\0" * 8193)
expect_opt_error(s, OPT_GO, REP_ERR_TOO_BIG)
check(isinstance(opt_info(s, "mem"), dict), "INFO after TOO_BIG")
s.close()
survived("an 8193-byte option")

# EXPORT_NAME cannot report errors: too long, 4 GiB, NUL, unknown all
# end in a disconnect (the 4 GiB one without reading the data).
for data, length in ((b"m" * 8193, None), (b"", 0xFFFFFFFF),
                     (b"m" * 5000, None), (b"m" * 4097, None),
                     (b"me\0m", None), (b"mem\0", None), (b"nope", None)):
    s = newstyle()
    send_opt(s, OPT_EXPORT_NAME, data, length)
    expect_close(s)
survived("bad EXPORT_NAME names")

# INFO/GO names with NUL or over 4096 bytes: NBD_REP_ERR_INVALID, and the
# connection goes on.
for opt in (OPT_INFO, OPT_GO):
    s = newstyle()
    for name in (b"mem\0", b"\0mem", b"m\0em", b"m" * 4097, b"\0" * 8000):
        send_opt(s, opt, info_go_data(name))
        expect_opt_error(s, opt, REP_ERR_INVALID)
    send_opt(s, opt, info_go_data(b"m" * 4096))
    expect_opt_error(s, opt, REP_ERR_UNKNOWN)
    check(isinstance(opt_info(s, "mem"), dict), "INFO after bad names")
    s.close()
survived("INFO/GO names with NUL, over 4096 bytes")

# Malformed INFO/GO payloads.
bad = [b"", b"\0\0\0", b"\0\0\0\0\0",                 # shorter than 6
       struct.pack(">I", 100) + b"mem\0\0",            # name past the end
       struct.pack(">I", 0xFFFFFFFF) + b"\0\0",        # huge name length
       info_go_data("mem")[:-2] + struct.pack(">H", 5),  # 5 infos, none sent
       info_go_data("mem", (INFO_NAME,)) + b"\0",      # odd trailing byte
       info_go_data("mem") + b"junk"]                  # trailing junk
for opt in (OPT_INFO, OPT_GO):
    s = newstyle()
    for data in bad:
        send_opt(s, opt, data)
        expect_opt_error(s, opt, REP_ERR_INVALID)
    s.close()
survived("malformed INFO/GO payloads")

# Options larger than the staging buffer but within the limit.
s = newstyle()
send_opt(s, 0xDEAD, b"x" * 5000)
expect_opt_error(s, 0xDEAD, REP_ERR_UNSUP)
send_opt(s, OPT_LIST, b"x" * 3000)
expect_opt_error(s, OPT_LIST, REP_ERR_INVALID)
send_opt(s, OPT_INFO, info_go_data("mem", [0x7777] * 4088))  # 8192 bytes
res = parse_info_replies(s, OPT_INFO)
check(isinstance(res, dict) and res["size"] == 16 << 20,
      "INFO with 4088 unknown info requests")
s.close()
survived("options of 3000 to 8192 bytes")

# 1000 options pipelined before reading any reply: all answered in order.
s = newstyle()
s.sendall(b"".join(struct.pack(">QII", OPTS_MAGIC, OPT_INFO, 9) +
                   info_go_data("mem") for i in range(1000)))
for i in range(1000):
    check(isinstance(parse_info_replies(s, OPT_INFO), dict),
          "pipelined INFO %d" % i)
s.close()
survived("1000 pipelined INFO options")
EOF
}

# Release build: RSS stays within the pool plus a few MiB (the export is
# 16 MiB, of which the tests touch one page).
bufmem_kib=8192
serve rel "$NETSWAPD_REL" --export mem=mem:16M \
	--buffer-memory ${bufmem_kib}K --quiet
SERVER_PID=$rel_PID SERVER_ERR=$rel_ERR RSS_LIMIT_KIB=$((bufmem_kib + 6144)) abuse "$rel_PORT"
assert_alive "$rel_PID" "after the release-build abuse"
rc=0; stop_server "$rel_PID" || rc=$?
assert_eq "$rc" 0 "release server exit status after SIGTERM"

# Sanitized build: any memory error aborts it.
serve asan "$NETSWAPD" --export mem=mem:16M --buffer-memory ${bufmem_kib}K --quiet
SERVER_PID=$asan_PID SERVER_ERR=$asan_ERR abuse "$asan_PORT"
rc=0; stop_server "$asan_PID" || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$asan_ERR" >&2
	fail "sanitized server exited $rc"
fi
echo "bad handshakes: all survived"
