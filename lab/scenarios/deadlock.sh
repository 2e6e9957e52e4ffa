# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# deadlock: the swap-over-network deadlock, shown and cured.  Gorman's test
# (seeds/004: 8 x NCPU processes over 4 x RAM, stamp then verify) in a
# 256 MiB guest, so that it runs in minutes under TCG; kernel defaults
# otherwise (watermark boosting included: it raises the min watermark for
# a while after fragmenting allocations, and the memalloc sockets then live
# below it -- the reports show min_kib with the boost).
#
# What decides the verdict is the client's sockets.  netswap.ko with
# --modparam memalloc=0 (ordinary sockets) stops making progress within
# seconds of the first swap-out: the transmit worker needs memory to send
# the page that would free memory; it enters direct reclaim (GFP_NOIO: it
# may not write anon pages itself), finds nothing it may reclaim and loops
# there holding the socket lock, while kswapd and every direct reclaimer
# wait for bios that wait for it.  The watchdog ends the run (FAIL stall)
# and the host's sysrq dumps show all of this.  With its memalloc sockets
# (the default) the same allocation is served from the reserve below the
# min watermark, the page goes out, memory comes back: PASS.
# docs/lab.md has the measurements.
SC_PROCS=$((8 * LAB_SMP))
SC_MULT=4
SC_PASSES=2
SC_BACKING='mem'
SC_SINK=0
SC_OUTAGE=0
SC_MEM_DEFAULT=256
# The lab's default card, an Intel 82574 (e1000e): its receive buffers may
# come from the reserve; virtio_net's may not, which is a result of its
# own (docs/lab.md, "The NIC decides"; lab/run --nic virtio).
SC_SYSCTL=()

sc_tick() { :; }
