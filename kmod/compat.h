/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernels netswap.ko builds against (Debian's
 * 6.1 and 6.12) lives here, so the rest of the module has no version checks.
 *
 * The switches are feature probes run by Kbuild on the target's headers
 * (NS_HAVE_*), not LINUX_VERSION_CODE: stable and distribution kernels
 * backport.  The floor is 6.1 with sk_use_task_frag (upstream 6.2, in
 * Debian's 6.1 through stable), ITER_SOURCE/ITER_DEST and GENHD_FL_NO_PART.
 *
 *   NS_HAVE_DISK_LIMITS	blk_mq_alloc_disk() takes struct queue_limits
 *				(6.9+); the blk_queue_* setters are gone (6.11+)
 *   NS_HAVE_KERNEL_SENDPAGE	pages go to TCP by reference through
 *				kernel_sendpage(); from 6.5 through sendmsg()
 *				with MSG_SPLICE_PAGES, which Debian's 6.1
 *				defines but its TCP ignores (so not the probe)
 */
#ifndef NETSWAP_COMPAT_H
#define NETSWAP_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/uio.h>

/* What the handshake decided about the queue; applied once, at creation. */
struct ns_queue_limits {
	unsigned int lbs;		/* logical block size */
	unsigned int max_sectors;	/* largest request, 512-byte sectors */
	bool write_cache;		/* server takes NBD_CMD_FLUSH */
	bool fua;			/* server takes NBD_CMD_FLAG_FUA */
	bool discard;			/* server takes NBD_CMD_TRIM */
	bool write_zeroes;		/* server takes NBD_CMD_WRITE_ZEROES */
	bool stable_writes;		/* pages must not change under a write */
};

/* Largest discard or write-zeroes range one NBD request may carry. */
#define NS_MAX_RANGE_SECTORS	(UINT_MAX >> SECTOR_SHIFT)

#ifdef NS_HAVE_DISK_LIMITS
/* Limits are fixed at allocation; the blk_queue_* setters are gone. */
static inline struct gendisk *ns_alloc_disk(struct blk_mq_tag_set *set,
					    const struct ns_queue_limits *nl,
					    void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size	= nl->lbs,
		.physical_block_size	= max_t(unsigned int, nl->lbs, PAGE_SIZE),
		.io_min			= nl->lbs,
		.max_hw_sectors		= nl->max_sectors,
	};

	if (nl->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (nl->write_cache && nl->fua)
		lim.features |= BLK_FEAT_FUA;
	if (nl->discard) {
		lim.max_hw_discard_sectors = NS_MAX_RANGE_SECTORS;
		lim.discard_granularity = nl->lbs;
	}
	if (nl->write_zeroes)
		lim.max_write_zeroes_sectors = NS_MAX_RANGE_SECTORS;
	if (nl->stable_writes)
		lim.features |= BLK_FEAT_STABLE_WRITES;
	return blk_mq_alloc_disk(set, &lim, queuedata);
}
#else
static inline struct gendisk *ns_alloc_disk(struct blk_mq_tag_set *set,
					    const struct ns_queue_limits *nl,
					    void *queuedata)
{
	struct gendisk *disk = blk_mq_alloc_disk(set, queuedata);
	struct request_queue *q;

	if (IS_ERR(disk))
		return disk;
	q = disk->queue;
	blk_queue_logical_block_size(q, nl->lbs);
	blk_queue_physical_block_size(q, max_t(unsigned int, nl->lbs, PAGE_SIZE));
	blk_queue_io_min(q, nl->lbs);
	blk_queue_max_hw_sectors(q, nl->max_sectors);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
	blk_queue_write_cache(q, nl->write_cache, nl->write_cache && nl->fua);
	if (nl->discard) {
		blk_queue_max_discard_sectors(q, NS_MAX_RANGE_SECTORS);
		q->limits.discard_granularity = nl->lbs;
	}
	if (nl->write_zeroes)
		blk_queue_max_write_zeroes_sectors(q, NS_MAX_RANGE_SECTORS);
	if (nl->stable_writes)
		blk_queue_flag_set(QUEUE_FLAG_STABLE_WRITES, q);
	return disk;
}
#endif

/*
 * Queue what is left of @msg's one-segment bvec iterator on @sock by
 * reference: TCP holds the page instead of a copy.  Returns the bytes
 * queued or -errno, like sock_sendmsg(), and advances the iterator.
 */
#ifdef NS_HAVE_KERNEL_SENDPAGE
static inline int ns_sendmsg_by_ref(struct socket *sock, struct msghdr *msg)
{
	const struct bio_vec *bv = msg->msg_iter.bvec;
	size_t off = msg->msg_iter.iov_offset;
	int flags = msg->msg_flags;
	int ret;

	if (flags & MSG_MORE)
		flags |= MSG_SENDPAGE_NOTLAST;
	ret = kernel_sendpage(sock, bv->bv_page, bv->bv_offset + off,
			      bv->bv_len - off, flags);
	if (ret > 0)
		iov_iter_advance(&msg->msg_iter, ret);
	return ret;
}
#else
static inline int ns_sendmsg_by_ref(struct socket *sock, struct msghdr *msg)
{
	msg->msg_flags |= MSG_SPLICE_PAGES;
	return sock_sendmsg(sock, msg);
}
#endif

#endif /* NETSWAP_COMPAT_H */
