// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reserve the kernel leaves to the admin (sk_set_memalloc: "It's the
 * responsibility of the admin to adjust min_free_kbytes"), estimated the way
 * Phillips proposed (estimate_skb_pages): count what the memalloc sockets
 * can have in flight, as skb pages with their truesize overhead.
 *
 * Per connection:
 *  receive  every request in the queue may be a READ of the largest size,
 *           its reply arriving as MSS-sized segments; each segment is an
 *           skb whose truesize is its buffer (MTU + headroom, rounded up to
 *           the allocator's power of two) plus struct sk_buff and
 *           skb_shared_info.  The receive window (tcp_rmem max) caps it.
 *  send     every request may be a WRITE of the largest size, copied into
 *           socket page fragments, capped by tcp_wmem max; plus one page per
 *           64 KiB GSO skb for its head.
 *  socket   the socket itself, route and TCP state: 4 pages.
 * min_free_kbytes = the kernel's own default (sqrt(16 * lowmem_kb)) + that.
 */
#include <string.h>

#include "cli/netswap.h"

#define IP_TCP_HDRS	52	/* IPv4 20 + TCP 20 + timestamps 12 */
#define ETH_HDR		14
#define NET_SKB_PAD	64
#define SKB_STRUCT	256	/* SKB_DATA_ALIGN(sizeof(struct sk_buff)) */
#define SKB_SHINFO	320	/* SKB_DATA_ALIGN(sizeof(skb_shared_info)) */
#define NBD_REPLY	16
#define NBD_REQUEST	28
#define GSO_MAX		65536
#define SOCK_PAGES	4

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t pow2_up(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* mm/page_alloc.c: int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]. */
uint64_t cli_default_min_free_kb(uint64_t mem_total_kb)
{
	uint64_t x = mem_total_kb * 16, r = 0, bit = (uint64_t)1 << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	if (r < 128)
		r = 128;
	if (r > 262144)
		r = 262144;
	return r;
}

static void per_conn(const struct cli_reserve_in *in,
		     const struct cli_reserve_dev *d, struct cli_reserve_conn *c)
{
	uint64_t segs_per_reply, window_segs;

	memset(c, 0, sizeof(*c));
	c->mss = in->mtu - IP_TCP_HDRS;
	c->seg_truesize = (unsigned int)(pow2_up(in->mtu + ETH_HDR + NET_SKB_PAD) +
					 SKB_STRUCT + SKB_SHINFO);
	segs_per_reply = div_up(d->max_request + NBD_REPLY, c->mss);
	c->rx_segments_uncapped = (uint64_t)d->queue_depth * segs_per_reply;
	window_segs = div_up(in->rmem_max, c->mss);
	/* A reply is at least one segment however small the window. */
	c->rx_segments = min_u64(c->rx_segments_uncapped,
				 window_segs > d->queue_depth ? window_segs :
								d->queue_depth);
	c->rx_pages = div_up(c->rx_segments * c->seg_truesize, in->page_size);

	c->tx_bytes = min_u64((uint64_t)d->queue_depth * (d->max_request + NBD_REQUEST),
			      in->wmem_max);
	c->tx_pages = div_up(c->tx_bytes, in->page_size) + div_up(c->tx_bytes, GSO_MAX);
	c->sock_pages = SOCK_PAGES;
	c->pages = c->rx_pages + c->tx_pages + c->sock_pages;
}

int cli_reserve_compute(const struct cli_reserve_in *in,
			struct cli_reserve_out *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (!in->page_size || in->mtu <= IP_TCP_HDRS + 64 || in->ndev > CLI_MAX_DEVICES)
		return -1;
	for (i = 0; i < in->ndev; i++) {
		const struct cli_reserve_dev *d = &in->dev[i];

		if (!d->queue_depth || !d->conns)
			return -1;
		per_conn(in, d, &out->per_dev[i]);
		out->pages += out->per_dev[i].pages * d->conns;
		out->conns += d->conns;
	}
	out->reserve_kb = out->pages * in->page_size / 1024;
	out->base_kb = cli_default_min_free_kb(in->mem_total_kb);
	out->recommended_kb = out->base_kb + out->reserve_kb;
	return 0;
}
