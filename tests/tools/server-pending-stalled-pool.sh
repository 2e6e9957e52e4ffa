#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# PENDING, NOT RUN BY tests/run: a reproducer for a design-level problem,
# kept out of tests/test-*.sh so that make test stays green.  It fails
# today; once fixed, move it to tests/test-server-stalled-pool.sh.
#
# A few clients that read from a file export and never read the replies
# hold the whole buffer pool (each up to its quota of max(pool/4, max
# payload), and the quota is not a share of what is left), with no timeout
# in the transmission phase.  Then every new client is refused at once
# ("no buffer memory for a new client", hs_start), clients in the middle
# of the handshake wait forever for a reply block, and file I/O of every
# other connection waits forever for a buffer.  Asserted here: with seven
# such stalled readers a new client is still admitted and served.
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/../lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

img=$T/disk.img
serve srv "$NETSWAPD_REL" --export "file=file:$img:64M" --export mem=mem:1M \
	--buffer-memory 8M
SERVER_PID=$srv_PID SERVER_ERR=$srv_ERR rawnbd "$srv_PORT" <<'EOF'
stalled = []
# Each sends far more than the socket buffers absorb; the sizes go down so
# that the smaller reads pick up what the larger ones leave.
for length, count in ((1 << 20, 200), (1 << 20, 200), (1 << 20, 200),
                      (256 << 10, 500), (64 << 10, 1000), (16 << 10, 2000),
                      (16 << 10, 2000)):
    try:
        c = go(name="file")
    except Closed:
        print("# stalled reader %d was itself refused" % (len(stalled) + 1))
        break
    c.s.sendall(b"".join(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_READ,
                                     k, 0, length) for k in range(count)))
    stalled.append(c)
    time.sleep(0.3)
time.sleep(1)
conns, used = server_stats()
print("# %d stalled readers hold %d of 8 MiB of pool" % (conns, used),
      flush=True)
for name in ("mem", "file"):
    try:
        c = go(name=name, timeout=5)
        c.pwrite(b"served", 0)
        check(c.pread(6, 0) == b"served", "read back")
        c.disc()
    except (Closed, OSError, AssertionError) as e:
        raise AssertionError("with stalled readers, a new client of '%s' "
                             "is not served: %r" % (name, e))
print("a new client is served despite stalled readers")
EOF
stop_server "$srv_PID" || fail "exit status"
