#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Many and slow clients: 1,000 idle connections (silent, mid-option, and
# idle after GO) leave a good client served and RSS bounded; the handshake
# timeout drops the ones stuck in the handshake (including a slowloris
# that keeps sending a byte at a time) but neither idle transmission
# connections nor a slow client that finishes in time; --max-connections
# refuses the connection over the limit with a clean close and admits again
# once one has gone.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

bufmem_kib=8192
serve rel "$NETSWAPD_REL" --export mem=mem:16M --buffer-memory ${bufmem_kib}K \
	--quiet
export SERVER_PID=$rel_PID SERVER_ERR=$rel_ERR
export RSS_LIMIT_KIB=$((bufmem_kib + 8192))

# 1,000 idle connections (the default handshake timeout, 30 s, is far).
rawnbd "$rel_PORT" <<'EOF'
raise_nofile(4096)
pid, limit = int(os.environ["SERVER_PID"]), int(os.environ["RSS_LIMIT_KIB"])
silent = [connect() for i in range(500)]           # not even client flags
midopt = []
for i in range(250):                               # half an option header
    s = newstyle()
    s.sendall(struct.pack(">Q", OPTS_MAGIC))
    midopt.append(s)
idle = [go() for i in range(250)]                  # in transmission, idle
conns, used = server_stats()
check(conns == 1000, "server counts %d connections, not 1000" % conns)
still_serves()
hwm = status_kib(pid, "VmHWM")
print("# 1000 idle connections: VmHWM %d KiB (limit %d)" % (hwm, limit))
check(hwm <= limit, "VmHWM %d KiB > %d KiB" % (hwm, limit))
for c in idle[:10] + idle[-10:]:
    c.pwrite(b"idle", 0)
    check(c.pread(4, 0) == b"idle", "an idle connection lost its export")
for s in silent + midopt:
    s.close()
for c in idle:
    c.disc()
survived("1000 idle connections")
EOF
rc=0; stop_server "$rel_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# The handshake timeout (2 s here) drops whoever is still in the handshake,
# slowloris included; idle connections in transmission stay.
serve hs "$NETSWAPD" --export mem=mem:1M --handshake-timeout 2 --quiet
SERVER_PID=$hs_PID SERVER_ERR=$hs_ERR RSS_LIMIT_KIB=0 rawnbd "$hs_PORT" <<'EOF'
idle = [go() for i in range(20)]
silent = [connect() for i in range(50)]
midopt = []
for i in range(50):
    s = newstyle()
    s.sendall(struct.pack(">Q", OPTS_MAGIC))
    midopt.append(s)

# A slowloris: a valid handshake, one byte every 0.3 s, never finished in
# time.
slow = (struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES) +
        struct.pack(">QII", OPTS_MAGIC, OPT_GO, 9) + info_go_data("mem"))
loris = connect()
read_hello(loris)
t0 = time.monotonic()
closed_at = None
for b in slow * 10:
    try:
        loris.sendall(bytes([b]))
    except (BrokenPipeError, ConnectionResetError):
        closed_at = time.monotonic() - t0
        break
    loris.settimeout(0.3)
    try:
        if loris.recv(1) == b"":
            closed_at = time.monotonic() - t0
            break
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed_at = time.monotonic() - t0
        break
check(closed_at is not None, "the slowloris was never dropped")
print("# slowloris dropped after %.1fs" % closed_at, flush=True)
check(1.5 <= closed_at <= 8, "slowloris dropped after %.1fs, timeout 2s"
      % closed_at)

# A slow client that finishes within the timeout is served.
s = connect()
read_hello(s)
for b in slow:
    s.sendall(bytes([b]))
    time.sleep(1.0 / len(slow))
res = parse_info_replies(s, OPT_GO)
check(isinstance(res, dict), "slow but timely client refused")
c = Conn(s, res["size"], res["tflags"], False)
c.pwrite(b"slow", 0)
c.disc()

# Those stuck in the handshake were closed; the idle ones stay.
for s in silent:
    read_hello(s)
for s in silent + midopt:
    expect_close(s, timeout=10)
conns, used = server_stats()
check(conns == 20, "%d connections after the handshake timeout" % conns)
for c in idle:
    check(c.pread(4, 0) == b"slow", "an idle connection lost its export")
    c.disc()
survived("the handshake timeout")
EOF
rc=0; stop_server "$hs_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# --max-connections: the one over the limit is closed at once, cleanly;
# a slot that frees up admits again.
serve lim "$NETSWAPD" --export mem=mem:1M --max-connections 4 --quiet
rawnbd "$lim_PORT" <<'EOF'
held = [go() for i in range(4)]
for i in range(3):
    s = connect()
    expect_close(s, timeout=5, clean=True)
held.pop().disc()
time.sleep(0.2)
c = go()
c.pwrite(b"admitted", 0)
check(c.pread(8, 0) == b"admitted", "readmitted client")
c.disc()
for c in held:
    c.disc()
print("max-connections passed")
EOF
rc=0; stop_server "$lim_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "many clients: all passed"
