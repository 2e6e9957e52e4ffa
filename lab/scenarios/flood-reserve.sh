# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# flood-reserve: the flood sized to the reserve.  The sink's UDP queue may
# grow to 8 MiB (SO_RCVBUFFORCE 4 MiB, doubled by the kernel; udp_mem
# raised so that it can), so while the guest reclaims, the flood's atomic
# allocations may take free memory down to their floor -- 3/8 of the min
# watermark, below which GFP_ATOMIC fails -- where receive buffers come
# from the PFMEMALLOC reserve: PFMemallocDrop counts the flood packets
# dropped at the sink's socket, and the swap client must still verify
# every page.  netswap.ko copying its writes (zerocopy=0, as before
# 2026-12-02) took its guest there and passed 3 of 6 runs (PFMemallocDrop
# 529-2316); sending its pages by reference (the default) it seldom comes
# down to the floor here: PASS, drops in 1 of 5.
#
# Knobs, for pushing harder: LAB_SINK_RCVBUF (bytes; at 16 MiB, a 32 MiB
# queue, the copying netswap never survived), LAB_FLOOD_PPS and
# LAB_FLOOD_SIZE (the UDP stream, default 3000 datagrams/s of 64 bytes),
# LAB_FLOOD_AT=swapout (start the flood at the guest's first swap-out, so
# that the queue grows while the guest reclaims, instead of when the sink
# listens), LAB_SINK_DRAIN_MS (the sink reads its queue empty that often,
# so that it fills again and again).  Whatever takes the guest to the
# floor, the sk_buff head of a received packet is allocated with plain
# GFP_ATOMIC (__build_skb, and the NAPI skb cache), never from the
# reserve; a flood that keeps taking memory there leaves no head for the
# receive ring, which runs dry, and nothing -- not the reply of a swap
# write nor the SYN-ACK of a reconnect -- is received again (with vmxnet3,
# whose ring never runs dry, every packet is dropped instead: the same).
# lab/run --livepatch rx_reserve gives receive buffers the reserve and
# closes that hole in the guest's kernel, to show what it is worth.
# docs/lab.md, "The reserves", has the traces and the runs.
# shellcheck source=flood.sh
. "$LAB_DIR/scenarios/flood.sh"
SC_SINK_RCVBUF=${LAB_SINK_RCVBUF:-$((4 << 20))}
SC_SINK_DRAIN_MS=${LAB_SINK_DRAIN_MS:-}
SC_SYSCTL+=("net.ipv4.udp_mem=8192 12288 16384")
SC_FLOOD_ARGS=(--conns 64 --pps "${LAB_FLOOD_PPS:-3000}"
	--size "${LAB_FLOOD_SIZE:-64}")
case ${LAB_FLOOD_AT:-sink} in
sink) ;;
swapout)
	sc_flood_ready() { [ "${S[sink]}" = 1 ] && [ "${S[pswpout]:-0}" -gt 0 ]; }
	sc_flood_event='flood started at the first swap-out'
	;;
*) lab_die "LAB_FLOOD_AT is sink or swapout, not '$LAB_FLOOD_AT'" ;;
esac
