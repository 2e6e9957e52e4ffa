// SPDX-License-Identifier: GPL-2.0-only
/*
 * ns_rx_reserve: a livepatch for the lab's guest kernels, not part of
 * netswap.  It tests one claim of docs/lab.md ("The reserves"): that a
 * swapping guest flooded below its atomic floor stops receiving because
 * the sk_buff head of a receive buffer never comes from the PFMEMALLOC
 * reserve, although its data does.
 *
 * __netdev_alloc_skb() (6.1, 6.12) builds a small receive buffer from a
 * page fragment -- taken with __GFP_MEMALLOC while memalloc sockets exist
 * -- and a head from the sk_buff cache with plain GFP_ATOMIC.  Below 3/8
 * of the min watermark that head fails, the driver's ring is not refilled
 * and nothing, not even the reply a swap write waits for, is received.
 *
 * The replacement takes every receive buffer the way the kernel takes its
 * large ones, with __alloc_skb(), in two steps.  First with
 * __GFP_NOMEMALLOC: neither head nor data from the reserve.  Only if that
 * fails, and a memalloc socket exists, again with SKB_ALLOC_RX, which lets
 * head and data into the reserve, and the skb is marked pfmemalloc
 * whichever of the two needed it: a socket without SOCK_MEMALLOC drops it
 * (PFMemallocDrop) and no reserve memory waits in its queue.  (Taking
 * the second step alone, as the lab's first version did, marks only
 * reserve data, and a head from the reserve may wait in any queue.)  The
 * data is a kmalloc object instead of a page fragment: more memory per
 * packet, nothing a driver can tell.
 */
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/sock.h>

static struct sk_buff *rx_reserve_netdev_alloc_skb(struct net_device *dev,
						   unsigned int len,
						   gfp_t gfp_mask)
{
	struct sk_buff *skb;

	len += NET_SKB_PAD;
	skb = __alloc_skb(len, gfp_mask | __GFP_NOMEMALLOC, 0, NUMA_NO_NODE);
	if (!skb && sk_memalloc_socks()) {
		skb = __alloc_skb(len, gfp_mask, SKB_ALLOC_RX, NUMA_NO_NODE);
		if (skb)
			skb->pfmemalloc = 1;
	}
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD);
	skb->dev = dev;
	return skb;
}

static struct klp_func rx_reserve_funcs[] = {
	{
		.old_name = "__netdev_alloc_skb",
		.new_func = rx_reserve_netdev_alloc_skb,
	},
	{ }
};

static struct klp_object rx_reserve_objs[] = {
	{
		/* vmlinux */
		.funcs = rx_reserve_funcs,
	},
	{ }
};

static struct klp_patch rx_reserve_patch = {
	.mod = THIS_MODULE,
	.objs = rx_reserve_objs,
};

static int __init rx_reserve_init(void)
{
	return klp_enable_patch(&rx_reserve_patch);
}

static void __exit rx_reserve_exit(void)
{
}

module_init(rx_reserve_init);
module_exit(rx_reserve_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lab only: receive buffers' heads from the PFMEMALLOC reserve");
MODULE_INFO(livepatch, "Y");
