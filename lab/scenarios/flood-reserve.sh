# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# flood-reserve: the flood sized to the reserve.  The sink's UDP queue may
# grow to 32 MiB (SO_RCVBUFFORCE 16 MiB, doubled by the kernel; udp_mem
# raised so that it can), so while the guest reclaims, the flood's atomic
# allocations hold free memory at their floor -- 3/8 of the min watermark,
# below which GFP_ATOMIC fails -- and receive buffers come from the
# PFMEMALLOC reserve: PFMemallocDrop counts the flood packets dropped at
# the sink's socket.
#
# On 6.1 netswap's guest did not survive it (3 of 3 runs; the stock
# client's one run never came down to the floor and passed): the sk_buff
# head of every received packet comes from the NAPI skb cache, refilled
# with plain GFP_ATOMIC (__napi_build_skb -> napi_skb_cache_get ->
# kmem_cache_alloc_bulk), not from the reserve, so at the floor nothing is
# received -- not the reply that would complete a swap write, not the
# SYN-ACK of a reconnect -- and nothing can be reclaimed without one.
# docs/lab.md, "The reserves", has the traces.
# shellcheck source=flood.sh
. "$LAB_DIR/scenarios/flood.sh"
SC_SINK_RCVBUF=$((16 << 20))
SC_SYSCTL+=("net.ipv4.udp_mem=8192 12288 16384")
