# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# flood-reserve: the flood sized to the reserve.  The sink's UDP queue may
# grow to 8 MiB (SO_RCVBUFFORCE 4 MiB, doubled by the kernel; udp_mem
# raised so that it can), so while the guest reclaims, the flood's atomic
# allocations take free memory down to their floor -- 3/8 of the min
# watermark, below which GFP_ATOMIC fails -- and receive buffers come from
# the PFMEMALLOC reserve: PFMemallocDrop counts the flood packets dropped at
# the sink's socket, and the swap client must still verify every page.
# On 6.1 netswap did in 3 of 6 runs (PFMemallocDrop 529-2316); the others
# stalled in the hole described below.
#
# LAB_SINK_RCVBUF (bytes) sizes it otherwise.  At 16 MiB (a 32 MiB queue)
# netswap's 6.1 guest did not survive (3 of 3 runs): the sk_buff head of a
# received packet is allocated with plain GFP_ATOMIC (__build_skb, and the
# NAPI skb cache), never from the reserve, and a queue that pins enough
# heads leaves none at the floor -- the receive ring runs dry and nothing,
# not the reply of a swap write nor the SYN-ACK of a reconnect, is
# received again.
# docs/lab.md, "The reserves", has the traces and the runs.
# shellcheck source=flood.sh
. "$LAB_DIR/scenarios/flood.sh"
SC_SINK_RCVBUF=${LAB_SINK_RCVBUF:-$((4 << 20))}
SC_SYSCTL+=("net.ipv4.udp_mem=8192 12288 16384")
