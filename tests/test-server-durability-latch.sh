#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A lost write is never forgotten.  The export's file lives on a FUSE
# filesystem (tests/tools/eio-fs.c) whose fsync fails on command, as the
# kernel reports a writeback that did not reach a failing disk.  After one
# failed FLUSH, every later FLUSH and FUA write fails with EIO, on every
# connection, even once the filesystem's fsync works again (the kernel
# reported the error once and forgot it); reads and plain writes go on;
# stats and /metrics show the export failed.  SIGUSR2 clears it.  A sync
# that fails at shutdown makes the exit status non-zero.
# limit: 90
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need fusermount3 mountpoint pkg-config

read -ra fuse_cflags <<<"$(pkg-config --cflags fuse3)"
read -ra fuse_libs <<<"$(pkg-config --libs fuse3)"
gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 "${fuse_cflags[@]}" \
	-o "$T/eio-fs" "$TOP/tests/tools/eio-fs.c" "${fuse_libs[@]}" ||
	fail "cannot build tests/tools/eio-fs.c"
mkdir "$T/back" "$T/mnt"
fail_switch=$T/fail-fsync
unmount() {
	mountpoint -q "$T/mnt" && fusermount3 -u -z "$T/mnt"
	return 0
}
trap 'unmount; cleanup' EXIT
"$T/eio-fs" "$T/back" "$fail_switch" "$T/mnt" -f -s &
_pids+=($!)
for _ in $(seq 1 100); do
	mountpoint -q "$T/mnt" && break
	sleep 0.05
done
mountpoint -q "$T/mnt" || fail "eio-fs did not mount"

serve srv "$NETSWAPD" --export "d=file:$T/mnt/disk.img:16M" \
	--metrics 127.0.0.1:0 --quiet
url=$(sed -n 's/^metrics //p' "$srv_OUT")
export FAIL_SWITCH=$fail_switch SERVER_PID=$srv_PID SERVER_ERR=$srv_ERR METRICS=$url
rawnbd "$srv_PORT" <<'EOF'
import urllib.request

def failed_metric():
    text = urllib.request.urlopen(os.environ["METRICS"], timeout=10).read()
    for line in text.decode().splitlines():
        if line.startswith('netswapd_export_failed{export="d"} '):
            return int(line.split()[1])
    raise AssertionError("no failed metric")

def stats_failed():
    before = os.path.getsize(os.environ["SERVER_ERR"])
    os.kill(int(os.environ["SERVER_PID"]), signal.SIGUSR1)
    for _ in range(100):
        text = open(os.environ["SERVER_ERR"]).read()[before:]
        if "stats:" in text:
            return " failed=d" in text
        time.sleep(0.05)
    raise AssertionError("no stats line")

c = go(name="d")
data = os.urandom(65536)
c.pwrite(data, 0)
check(c.req(CMD_FLUSH)[0] == 0, "healthy FLUSH failed")
check(c.req(CMD_WRITE, 65536, 4096, CF_FUA, data[:4096])[0] == 0,
      "healthy FUA write failed")
check(failed_metric() == 0 and not stats_failed(), "failed while healthy")

# The disk fails: the write is accepted (page cache), its writeback lost.
open(os.environ["FAIL_SWITCH"], "w").close()
c.pwrite(data, 131072)
err = c.req(CMD_FLUSH)[0]
check(err == EIO, "FLUSH after a lost write: error %d" % err)
# The disk works again; the kernel has forgotten.  The export has not.
os.unlink(os.environ["FAIL_SWITCH"])
for what, args in (("FLUSH", (CMD_FLUSH,)),
                   ("FUA write", (CMD_WRITE, 0, 4096, CF_FUA, data[:4096])),
                   ("FUA zeroes", (CMD_WRITE_ZEROES, 0, 4096, CF_FUA)),
                   ("FUA trim", (CMD_TRIM, 0, 4096, CF_FUA))):
    err = c.req(*args)[0]
    check(err == EIO, "%s while failed: error %d" % (what, err))
c.pwrite(data, 0)                           # plain writes still work
check(c.pread(65536, 0) == data, "reads still work")
d = go(name="d")                            # on every connection
check(d.req(CMD_FLUSH)[0] == EIO, "FLUSH on a new connection")
check(failed_metric() == 1, "metrics do not show the export failed")
check(stats_failed(), "stats do not show the export failed")

# The operator repaired the storage and says so.
os.kill(int(os.environ["SERVER_PID"]), signal.SIGUSR2)
for _ in range(100):
    if d.req(CMD_FLUSH)[0] == 0:
        break
    time.sleep(0.05)
check(c.req(CMD_FLUSH)[0] == 0, "FLUSH after SIGUSR2")
check(c.req(CMD_WRITE, 0, 4096, CF_FUA, data[:4096])[0] == 0,
      "FUA write after SIGUSR2")
check(failed_metric() == 0 and not stats_failed(), "still failed after SIGUSR2")
c.disc()
d.disc()
print("latch: FLUSH and FUA failed from the lost write until SIGUSR2")
EOF
grep -q "failed state cleared by the operator" "$srv_ERR" ||
	fail "SIGUSR2 not logged: $(cat "$srv_ERR")"
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status after a clean stop"

# A lost write that nobody flushed: the final sync fails, and says so.
serve last "$NETSWAPD" --export "d=file:$T/mnt/disk.img" --quiet
nbdsh -u "nbd://127.0.0.1:$last_PORT/d" -c 'h.pwrite(b"x" * 4096, 0)'
touch "$fail_switch"
rc=0; stop_server "$last_PID" || rc=$?
rm -f "$fail_switch"
[ "$rc" -ne 0 ] || fail "a failed final sync exited 0"
grep -q "writeback failed" "$last_ERR" ||
	fail "the failed final sync is not logged: $(cat "$last_ERR")"
echo "durability latch: all passed"
