#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Buffer-memory reservations (issue 6): four greedy clients flood 1 MiB FUA
# writes at QD 128 on a file export, more than the server's 4 MiB of
# buffer memory can hold, while a "swap" client does synchronous 4 KiB
# write+read pairs on another file export.  With the default reservations
# the swap client never stalls (its longest pair stays under a generous
# bound) and every pair verifies.  The same run with reservations off
# (--reserve-per-connection 0) is measured and printed, not asserted: it
# is the comparison for the note.  The arena must have refused the flood
# memory in both runs, or the test proved nothing.
# limit: 180
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

BOUND=${BOUND:-2.0}	# seconds: generous, for a loaded CI machine

# run LABEL NETSWAPD-ARGS...: prints the swap client's numbers.
run() {
	local label=$1; shift
	serve "$label" "$NETSWAPD_REL" --quiet --threads 2 --buffer-memory 4M \
		--export "disk=file:$T/$label-disk.img:512M" \
		--export "swap=file:$T/$label-swap.img:64M" "$@"
	local pid_var=${label}_PID err_var=${label}_ERR port_var=${label}_PORT
	SERVER_PID=${!pid_var} SERVER_ERR=${!err_var} rawnbd "${!port_var}" \
		"$label" "$BOUND" <<'EOF'
import random, threading
label, bound = ARGS[0], float(ARGS[1])
stop = threading.Event()
flood_mib = [0]

def greedy():
    c = go(name="disk")
    payload = os.urandom(1 << 20)
    pending = threading.Semaphore(128)        # QD 128
    def reader():
        while True:
            c.reply(None)                     # replies come in any order
            pending.release()
    threading.Thread(target=reader, daemon=True).start()
    while not stop.is_set():
        pending.acquire()
        c.send(CMD_WRITE, random.randrange(0, 511) << 20, 1 << 20,
               CF_FUA, payload)
        flood_mib[0] += 1

for _ in range(4):
    threading.Thread(target=greedy, daemon=True).start()
time.sleep(2)

c = go(name="swap")
lat = []
end = time.monotonic() + 8
while time.monotonic() < end:
    off = random.randrange(0, (64 << 20) // 4096) * 4096
    data = os.urandom(4096)
    t0 = time.monotonic()
    err, _, _ = c.reply(c.send(CMD_WRITE, off, 4096, 0, data))
    err2, got, _ = c.reply(c.send(CMD_READ, off, 4096), 4096, off)
    lat.append(time.monotonic() - t0)
    check(err == 0 and err2 == 0 and got == data,
          "swap client data did not verify at offset %d" % off)
stop.set()
lat.sort()
print("%s: swap client %d verified 4k write+read pairs in 8 s: median "
      "%.2f ms, p99 %.2f ms, longest %.1f ms; flood %d MiB"
      % (label, len(lat), 1e3 * lat[len(lat) // 2],
         1e3 * lat[int(len(lat) * 0.99)], 1e3 * lat[-1], flood_mib[0]),
      flush=True)
if label == "reserved":
    check(lat[-1] < bound, "the swap client stalled %.2f s (bound %.1f s)"
          % (lat[-1], bound))
c.disc()
EOF
	kill -USR1 "${!pid_var}"
	sleep 0.5
	local failures
	failures=$(grep 'stats:' "${!err_var}" | tail -1 | sed -n 's/.*failures=\([0-9]*\).*/\1/p')
	echo "$label: the arena refused $failures allocations during the flood"
	[ "${failures:-0}" -gt 0 ] ||
		fail "$label: the flood never exhausted buffer memory: no contention was tested"
	stop_server "${!pid_var}" || fail "$label: netswapd did not stop cleanly"
}

run reserved
run unreserved --reserve-per-connection 0
