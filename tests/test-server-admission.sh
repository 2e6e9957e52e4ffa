#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Reservations are granted at GO and admitted within their cap: with 2 MiB
# of buffer memory (reserves capped at half) and 256 KiB per connection,
# four clients get in and hold their reserves (the arena's stats say so);
# a fifth GO is refused with NBD_REP_ERR_POLICY and a message, a fifth
# EXPORT_NAME is hung up on (it cannot carry an error); a slot that frees
# up admits again; everything is given back when the clients go.
# limit: 60
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

serve srv "$NETSWAPD" --buffer-memory 2M --reserve-per-connection 256K \
	--export "disk=file:$T/disk.img:16M"
SERVER_PID=$srv_PID SERVER_ERR=$srv_ERR rawnbd "$srv_PORT" <<'EOF'
import re

def arena_field(name):
    server_stats()
    with open(os.environ["SERVER_ERR"], errors="replace") as f:
        line = [l for l in f if "stats:" in l][-1]
    return int(re.search(r"\b%s=(\d+)" % name, line).group(1))

check(arena_field("reserved") == 0, "reserves before any client")
admitted = []
for i in range(4):
    c = go(name="disk")
    c.pwrite(b"client %d" % i, 4096 * i)
    admitted.append(c)
# Each reserve is 256 KiB; what its owner is using is not counted as free.
reserved = arena_field("reserved")
check(3 * (256 << 10) < reserved <= 4 * (256 << 10),
      "4 reserves of 256 KiB, the arena reports %d bytes" % reserved)
print("4 clients admitted, %d bytes reserved" % reserved)

s = newstyle()
send_opt(s, OPT_GO, info_go_data("disk"))
rtype, msg = read_opt_reply(s, OPT_GO)
check(rtype == REP_ERR_POLICY, "fifth GO: reply %#x, not ERR_POLICY" % rtype)
check(b"full" in msg, "fifth GO's error carries no message: %r" % msg)
print("fifth GO refused: %s" % msg.decode())
# Still negotiating: the client may ask again once there is room.
admitted.pop().disc()
time.sleep(0.3)
res = opt_info(s, "disk", opt=OPT_GO)
check(isinstance(res, dict), "GO after a slot freed up: %r" % res)
print("the refused client got in once a slot freed up")

e = newstyle()		# four are in again: no room
e.sendall(struct.pack(">QII", OPTS_MAGIC, OPT_EXPORT_NAME, 4) + b"disk")
expect_close(e)
print("EXPORT_NAME without room for a reserve: hung up on")

s.close()
for c in admitted:
    c.disc()
time.sleep(0.3)
check(arena_field("reserved") == 0 and arena_field("used") == 0,
      "reserves or buffers not given back")
print("all reserves given back")
EOF
stop_server "$srv_PID" || fail "netswapd did not stop cleanly"
