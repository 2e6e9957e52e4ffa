# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# flood: the deadlock scenario while the host floods sockets in the guest
# that never read (lab/guest/sink.c) -- 64 TCP connections kept at a full
# receive window, which pin their queues' memory, and a stream of small UDP
# packets (lab/tools/flood.c).
#
# Every packet is received before anyone knows whose it is.  Once the guest
# is below its min watermark, a receive buffer may come from the PFMEMALLOC
# reserve -- small packets are copied into skb heads that napi_alloc_skb()
# takes with __GFP_MEMALLOC while a memalloc socket exists, the rest land in
# pages the driver refilled from softirq on top of a reclaiming task -- and
# the kernel must drop such a packet at any socket not entitled to it
# (sk_filter_trim_cap: TcpExt PFMemallocDrop) instead of letting the flood
# eat the memory the swap socket needs.  The sink's UDP socket is full, so
# every flood packet reaches that check.  PFMemallocDrop > 0 shows packets
# landed in the reserve while the guest was under its min watermark; the
# swap device must still verify every page.
#
# The guest's card is the lab's Intel 82574 (e1000e), not virtio-net: e1000e
# refills its receive ring with __netdev_alloc_skb(), which takes the
# reserve (__GFP_MEMALLOC) while a memalloc socket exists, so a reply can
# always be received.  virtio_net (6.1) refills from plain page fragments
# (GFP_ATOMIC in NAPI, GFP_KERNEL in refill_work): when a burst of reclaim
# takes free memory below the atomic floor its ring runs dry, refill_work
# blocks in reclaim behind the very swap writes whose replies it would
# receive, and the guest stops, memalloc sockets or not -- in 2 of 3 flood
# runs with --nic virtio (docs/lab.md, "The NIC decides").
# shellcheck source=deadlock.sh
. "$LAB_DIR/scenarios/deadlock.sh"
SC_SINK=1
# 64-byte datagrams: frames of 106 bytes, under virtio-net's copy threshold
# (GOOD_COPY_LEN 128), so each takes an skb head from the NAPI cache.
SC_FLOOD_ARGS=(--conns 64 --pps 3000 --size 64)
sc_state='wait'

# When the flood starts: once the guest's sink listens (flood-reserve may
# wait longer, and names its moment in the event).
sc_flood_ready() { [ "${S[sink]}" = 1 ]; }
sc_flood_event='flood started'

sc_tick() {
	[ "$sc_state" = wait ] || return 0
	sc_flood_ready || return 0
	lab_flood_start
	lab_event "$sc_flood_event"
	sc_state=flooding
}
