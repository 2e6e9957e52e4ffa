#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Access per export, on a server listening on 0.0.0.0: a client from
# 127.0.0.2 can neither open nor list an export allowed only to 127.0.0.1
# (INFO and GO answer NBD_REP_ERR_POLICY and the handshake goes on;
# EXPORT_NAME closes the connection), and 127.0.0.1 likewise for one
# allowed only to 127.0.0.2; LIST shows each peer exactly the exports it
# may open; --no-list refuses LIST with ERR_POLICY; the empty name is an
# export only if one is configured; a description never shows the server's
# file path unless the operator wrote it; denials are logged, at most 10
# lines per 10 s however many there are; real clients (nbdinfo) agree.
# limit: 90
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdinfo

img=$T/secret-node7-swap.img
start_listening acc "$NETSWAPD" --listen 0.0.0.0:0 \
	--export "one=mem:1M,allow=127.0.0.1" \
	--export "two=mem:2M,allow=127.0.0.2/32+10.0.0.0/8" \
	--export "open=file:$img:1M" \
	--export "told=mem:1M,description=node 7, swap; see $img" --quiet
SERVER_PID=$acc_PID SERVER_ERR=$acc_ERR rawnbd "$acc_PORT" "$img" <<'EOF'
img = ARGS[0].encode()

def peer(src):
    """A newstyle handshake from source address @src."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.bind((src, 0))
    s.connect(("127.0.0.1", PORT))
    read_hello(s)
    s.sendall(struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
    return s

def listing(s):
    send_opt(s, OPT_LIST)
    got = {}
    while True:
        rtype, data = read_opt_reply(s, OPT_LIST)
        if rtype == REP_ACK:
            return got
        check(rtype == REP_SERVER, "LIST reply %#x" % rtype)
        (n,) = struct.unpack(">I", data[:4])
        got[data[4:4 + n].decode()] = data[4 + n:]

want_desc = {"one": b"1M memory", "two": b"2M memory", "open": b"1M file",
             "told": b"node 7, swap; see " + img}
for src, may in (("127.0.0.1", {"one", "open", "told"}),
                 ("127.0.0.2", {"two", "open", "told"})):
    s = peer(src)
    got = listing(s)
    check(set(got) == may, "%s: LIST shows %s, may open %s"
          % (src, sorted(got), sorted(may)))
    for name in got:
        check(got[name] == want_desc[name], "LIST description %r" % got[name])
    for name in ("one", "two", "open", "told", "", "nope"):
        for opt in (OPT_INFO, OPT_GO):
            if opt == OPT_GO and name in may:
                continue
            res = opt_info(s, name, (INFO_DESCRIPTION,), opt=opt)
            if name in may:
                check(isinstance(res, dict), "%s: INFO %s: %r" % (src, name, res))
                check(res["description"] == want_desc[name],
                      "INFO description %r" % res["description"])
            elif name in ("", "nope"):
                check(res == REP_ERR_UNKNOWN, "%s: %r: %#x" % (src, name, res))
            else:
                check(res == REP_ERR_POLICY, "%s: opt %d of %s gave %r"
                      % (src, opt, name, res))
    # Denied GOs left the handshake open: GO an allowed one and use it.
    res = opt_info(s, sorted(may - {"open", "told"})[0], opt=OPT_GO)
    check(isinstance(res, dict), "GO after denials")
    c = Conn(s, res["size"], res["tflags"], False)
    c.pwrite(src.encode(), 0)
    check(c.pread(9, 0) == src.encode(), "data through an allowed export")
    c.disc()
    # EXPORT_NAME cannot carry an error: a denied one closes.
    for name in ("two" if src == "127.0.0.1" else "one", "", "nope"):
        s = peer(src)
        send_opt(s, OPT_EXPORT_NAME, name.encode())
        expect_close(s)
# 30 denials from one client: logged, but at most 10 lines in a 10 s
# window (two windows at the most, whatever the machine's speed).
s = peer("127.0.0.2")
for _ in range(30):
    send_opt(s, OPT_INFO, info_go_data("one"))
    check(parse_info_replies(s, OPT_INFO) == REP_ERR_POLICY, "denial")
s.close()
settled("access checks")
print("per-export access passed")
EOF
denials=$(grep -c "denied export" "$acc_ERR" || true)
echo "# $denials denial lines logged for over 40 denials"
if [ "$denials" -lt 10 ] || [ "$denials" -gt 20 ]; then
	fail "$denials denial lines logged (want 10 to 20)"
fi
grep -q "127.0.0.2:[0-9]*: denied export 'one'" "$acc_ERR" ||
	fail "denial log lacks peer or name: $(grep denied "$acc_ERR" | head -1)"
# The path shows only where the operator wrote it: in "told".
nbdinfo --list --json "nbd://127.0.0.1:$acc_PORT/" >"$T/list.json"
assert_eq "$(grep -c secret-node7 "$T/list.json")" 1 "lines naming the file"
grep -q '"description": "1M file"' "$T/list.json" ||
	fail "nbdinfo --list: no '1M file' description: $(cat "$T/list.json")"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$acc_PORT/one")" 1048576 "nbdinfo one"
if nbdinfo --size "nbd://127.0.0.1:$acc_PORT/two" >/dev/null 2>&1; then
	fail "nbdinfo from 127.0.0.1 opened an export allowed to 127.0.0.2"
fi
rc=0; stop_server "$acc_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# --no-list: LIST is refused with ERR_POLICY, GO still works; an export
# named "" is the default one.
serve nl "$NETSWAPD" --no-list --export "=mem:1M" --export b=mem:2M --quiet
SERVER_PID=$nl_PID SERVER_ERR=$nl_ERR rawnbd "$nl_PORT" <<'EOF'
s = newstyle()
send_opt(s, OPT_LIST)
expect_opt_error(s, OPT_LIST, REP_ERR_POLICY)
res = opt_info(s, "")
check(isinstance(res, dict) and res["size"] == 1 << 20, "INFO of ''")
res = opt_info(s, "b", opt=OPT_GO)
check(isinstance(res, dict) and res["size"] == 2 << 20, "GO after LIST")
c = Conn(s, res["size"], res["tflags"], False)
c.disc()
c = go(name="", export_name=True)
check(c.size == 1 << 20, "EXPORT_NAME of ''")
c.disc()
settled("--no-list")
print("--no-list passed")
EOF
stop_server "$nl_PID" || fail "no-list server exit status"
echo "access per export: all passed"
