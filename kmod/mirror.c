// SPDX-License-Identifier: GPL-2.0-only
/*
 * Mirroring: one device, two servers (legs), and the machine survives losing
 * either for good.  md RAID1 over two network devices would need mdadm to
 * re-add a leg and would fail I/O where netswap waits; this lives in the
 * kernel, beside the reconnect.
 *
 * - Every WRITE, TRIM, WRITE_ZEROES and FLUSH goes to both legs; a READ to
 *   one leg that has its blocks (alternating between in-sync legs).
 * - A leg with no live connection for leg_timeout seconds, while the other
 *   is live and in sync, is dropped (DEGRADED): its pending requests
 *   complete without it, later writes skip it, and each block it misses is
 *   set in its dirty bitmap (one bit per 4 KiB, allocated at attach).
 * - When it comes back, its dirty blocks are copied from the in-sync leg by
 *   the resync worker over side connections of its own (RESYNC), a chunk at
 *   a time, yielding to the I/O in flight, then it is IN_SYNC again.  If it
 *   lost its data meanwhile (the reconnect probe), every block written
 *   before is dirty.  No userspace is involved.
 * - A block read back wrong from one leg is read from the other and marked
 *   dirty on the first, which the resync rewrites (a repair).
 * - Both legs down: nothing is dropped (only a leg whose partner is live and
 *   in sync can be), requests wait, as with one server.
 *
 * A resync chunk and the writes that overlap it exclude each other: the
 * worker copies only blocks no write is in flight to, and while it copies,
 * writes to them wait in sync_wait.  So a copied block can never overwrite
 * newer data on the leg it repairs.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/bitmap.h>
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "netswap.h"

#define NS_BLK_SHIFT		ilog2(NS_INTEGRITY_BLOCK)
#define NS_WATCH_INTERVAL	HZ	/* the leg watch, while a leg is down */
/*
 * A resync chunk: up to 1 MiB (the buffer, allocated at attach), from the
 * first dirty block to the last dirty one within that window: fewer round
 * trips over the synchronous side connections, and clean blocks in between
 * copied again are harmless (both legs hold the same data there).
 */
#define NS_RESYNC_BYTES		(1024 * 1024)
#define NS_RESYNC_BLOCKS	(NS_RESYNC_BYTES / NS_INTEGRITY_BLOCK)
#define NS_RESYNC_RETRY		(5 * HZ)	/* after a side connection failed */

const char *ns_leg_state_name(enum ns_leg_state state)
{
	switch (state) {
	case NS_LEG_IN_SYNC:
		return "in-sync";
	case NS_LEG_RESYNC:
		return "resync";
	case NS_LEG_DEGRADED:
		return "degraded";
	}
	return "?";
}

/* The legal moves of the diagram in netswap.h, as target masks. */
static const u8 ns_leg_moves[] = {
	[NS_LEG_IN_SYNC]	= BIT(NS_LEG_DEGRADED) | BIT(NS_LEG_RESYNC),
	[NS_LEG_RESYNC]		= BIT(NS_LEG_IN_SYNC) | BIT(NS_LEG_DEGRADED),
	[NS_LEG_DEGRADED]	= BIT(NS_LEG_RESYNC) | BIT(NS_LEG_IN_SYNC),
};

/* Under dev->lock.  An illegal move is a bug: refuse it, loudly, once. */
static bool ns_leg_set_state(struct ns_leg *leg, enum ns_leg_state to)
{
	enum ns_leg_state from = leg->state;

	lockdep_assert_held(&leg->dev->lock);
	if (from == to)
		return true;
	if (WARN_ONCE(!(ns_leg_moves[from] & BIT(to)),
		      "netswap: leg %u: %s -> %s refused\n", leg->id,
		      ns_leg_state_name(from), ns_leg_state_name(to)))
		return false;
	leg->state = to;
	if (to == NS_LEG_RESYNC && !leg->resync_started)
		leg->resync_started = jiffies ?: 1;
	if (to == NS_LEG_DEGRADED)
		leg->degradations++;
	return true;
}

int ns_mirror_alloc(struct ns_dev *dev)
{
	u64 nblocks = dev->info.size >> NS_BLK_SHIFT;
	unsigned int i;

	if (!ns_mirrored(dev))
		return 0;
	for (i = 0; i < dev->nr_legs; i++) {
		dev->legs[i].dirty = kvcalloc(BITS_TO_LONGS(nblocks) ?: 1,
					      sizeof(long), GFP_KERNEL);
		if (!dev->legs[i].dirty)
			return -ENOMEM;
	}
	dev->resync_buf = kvmalloc(NS_RESYNC_BYTES, GFP_KERNEL);
	return dev->resync_buf ? 0 : -ENOMEM;
}

void ns_mirror_free(struct ns_dev *dev)
{
	unsigned int i;

	for (i = 0; i < NS_MAX_LEGS; i++) {
		kvfree(dev->legs[i].dirty);
		dev->legs[i].dirty = NULL;
		ns_link_close(&dev->resync_link[i]);
	}
	kvfree(dev->resync_buf);
	dev->resync_buf = NULL;
}

size_t ns_mirror_bytes(const struct ns_dev *dev)
{
	u64 nblocks = dev->info.size >> NS_BLK_SHIFT;

	if (!ns_mirrored(dev))
		return 0;
	return dev->nr_legs * BITS_TO_LONGS(nblocks) * sizeof(long) +
	       NS_RESYNC_BYTES;
}

bool ns_leg_block_dirty_locked(const struct ns_leg *leg, u64 b)
{
	return leg->dirty && test_bit(b, leg->dirty);
}

/* Under dev->lock: the 4 KiB blocks a request touches, [*first, *last). */
static void ns_cmd_blocks(struct ns_dev *dev, struct ns_cmd *cmd, u64 *first,
			  u64 *last)
{
	struct request *rq = ns_cmd_rq(cmd);
	u64 start = blk_rq_pos(rq) << SECTOR_SHIFT;
	u64 nblocks = dev->info.size >> NS_BLK_SHIFT;

	*first = start >> NS_BLK_SHIFT;
	*last = min(DIV_ROUND_UP(start + blk_rq_bytes(rq), NS_INTEGRITY_BLOCK),
		    nblocks);
}

static bool ns_leg_range_clean(const struct ns_leg *leg, u64 first, u64 last)
{
	return !leg->dirty || !leg->ndirty ||
	       find_next_bit(leg->dirty, last, first) >= last;
}

static void ns_leg_mark_dirty(struct ns_leg *leg, u64 first, u64 last)
{
	u64 b;

	for (b = first; b < last; b++)
		if (!__test_and_set_bit(b, leg->dirty))
			leg->ndirty++;
}

static void ns_resync_kick(struct ns_dev *dev)
{
	if (!dev->dying)
		queue_work(dev->sync_wq, &dev->resync_work);
}

/* Under dev->lock: @leg lacks @first..@last now; a leg in sync is not. */
static void ns_leg_lacks_locked(struct ns_leg *leg, u64 first, u64 last)
{
	if (!leg->dirty || first >= last)
		return;
	ns_leg_mark_dirty(leg, first, last);
	if (leg->state == NS_LEG_IN_SYNC) {
		ns_leg_set_state(leg, NS_LEG_RESYNC);
		ns_resync_kick(leg->dev);
	}
}

/*
 * Under dev->lock: a WRITE, TRIM or WRITE_ZEROES did not reach @leg (it is
 * dropped, or it kept answering errors): it lacks those blocks.
 */
void ns_leg_skip_locked(struct ns_leg *leg, struct ns_cmd *cmd)
{
	u64 first, last;

	if (!ns_cmd_is_data(cmd))
		return;
	ns_cmd_blocks(leg->dev, cmd, &first, &last);
	ns_leg_lacks_locked(leg, first, last);
}

bool ns_leg_can_write(const struct ns_leg *leg)
{
	return leg->state != NS_LEG_DEGRADED;
}

/* Under dev->lock: may @leg serve a read of @first..@last? */
static bool ns_leg_can_read(const struct ns_leg *leg, u64 first, u64 last)
{
	if (leg->state == NS_LEG_IN_SYNC)
		return true;
	return leg->state == NS_LEG_RESYNC && ns_leg_range_clean(leg, first, last);
}

/*
 * Under dev->lock: the leg a READ goes to.  Live legs that have its blocks,
 * alternating; a sub that read wrong data from a leg avoids it.  NULL parks
 * the read until a leg that can serve it comes up.
 */
struct ns_leg *ns_read_leg_locked(struct ns_dev *dev, struct ns_sub *sub)
{
	struct ns_leg *leg;
	unsigned int i, k;
	u64 first, last;

	if (!ns_mirrored(dev))
		return &dev->legs[0];
	ns_cmd_blocks(dev, sub->cmd, &first, &last);
	for (i = 0; i < dev->nr_legs; i++) {
		k = (dev->next_leg + i) % dev->nr_legs;
		leg = &dev->legs[k];
		if (!leg->nr_live || (sub->avoid & BIT(k)) ||
		    !ns_leg_can_read(leg, first, last))
			continue;
		dev->next_leg = (k + 1) % dev->nr_legs;
		return leg;
	}
	return NULL;
}

/* Under dev->lock: another leg, live or not, that is in sync. */
static struct ns_leg *ns_other_in_sync(struct ns_dev *dev, struct ns_leg *leg,
				       bool live)
{
	unsigned int i;

	for (i = 0; i < dev->nr_legs; i++)
		if (&dev->legs[i] != leg && dev->legs[i].state == NS_LEG_IN_SYNC &&
		    (!live || dev->legs[i].nr_live))
			return &dev->legs[i];
	return NULL;
}

/*
 * Under dev->lock, from ns_conn_set_state(): a connection went live.  A leg
 * that is down is late only from now on: after both were down, the one that
 * comes back second gets a whole leg_timeout, not the time both were away.
 */
void ns_leg_up_locked(struct ns_leg *leg)
{
	struct ns_dev *dev = leg->dev;
	unsigned int i;

	if (leg->nr_live++)
		return;
	for (i = 0; i < dev->nr_legs; i++)
		if (!dev->legs[i].nr_live && time_before(dev->legs[i].down_since, jiffies))
			dev->legs[i].down_since = jiffies;
	if (leg->state == NS_LEG_DEGRADED) {
		ns_leg_set_state(leg, leg->ndirty ? NS_LEG_RESYNC : NS_LEG_IN_SYNC);
		pr_info("%s: leg %u back, %llu block(s) to resync\n",
			dev->disk ? dev->disk->disk_name : dev->name,
			leg->id, leg->ndirty);
	}
	if (ns_mirrored(dev))
		ns_resync_kick(dev);
}

/* Under dev->lock: a connection left LIVE. */
void ns_leg_down_locked(struct ns_leg *leg)
{
	if (--leg->nr_live)
		return;
	leg->down_since = jiffies;
	if (ns_mirrored(leg->dev) && !leg->dev->dying)
		mod_delayed_work(leg->dev->ctl_wq, &leg->dev->leg_watch,
				 NS_WATCH_INTERVAL);
}

/*
 * The reconnect probe found that @leg lost its data.  If the other leg has
 * it, every block written before is dirty on this one (the resync copies
 * them back) and nothing is lost; otherwise the caller marks them lost.
 */
bool ns_leg_lost_data(struct ns_leg *leg)
{
	struct ns_dev *dev = leg->dev;
	const struct ns_integrity *ig = &dev->integ;
	u64 b, n = 0;
	bool saved;

	spin_lock(&dev->lock);
	saved = ns_mirrored(dev) && ns_other_in_sync(dev, leg, false);
	if (saved) {
		/* Any block with a history: known, or written in part. */
		for (b = 0; b < ig->nblocks; b++)
			if (ig->meta[b] && !__test_and_set_bit(b, leg->dirty)) {
				leg->ndirty++;
				n++;
			}
		if (leg->state == NS_LEG_IN_SYNC)
			ns_leg_set_state(leg, NS_LEG_RESYNC);
	}
	spin_unlock(&dev->lock);
	if (saved) {
		pr_err("%s: leg %u lost its data: %llu block(s) will be copied back from the other leg\n",
		       dev->disk->disk_name, leg->id, n);
		ns_resync_kick(dev);
	}
	return saved;
}

/*
 * A READ came back wrong from @conn's leg.  If another leg has the blocks,
 * read them there, and mark them dirty here so that the resync rewrites
 * them (a repair).  Returns false if there is no other leg to read from.
 */
bool ns_mirror_repair(struct ns_conn *conn, struct ns_sub *sub)
{
	struct ns_dev *dev = conn->dev;
	struct ns_leg *bad = conn->leg, *good;
	u64 first, last;

	if (!ns_mirrored(dev))
		return false;
	spin_lock(&dev->lock);
	ns_cmd_blocks(dev, sub->cmd, &first, &last);
	good = ns_other_in_sync(dev, bad, false);
	if (!good || (sub->avoid & BIT(good->id)) ||
	    !ns_leg_can_read(good, first, last)) {
		spin_unlock(&dev->lock);
		return false;
	}
	bad->repairs += last - first;
	ns_leg_lacks_locked(bad, first, last);
	sub->avoid |= BIT(bad->id);
	sub->state = NS_CMD_IDLE;
	ns_dispatch_locked(dev, sub);
	spin_unlock(&dev->lock);
	pr_warn_ratelimited("%s: leg %u returned blocks %llu-%llu wrong: read from leg %u, rewriting them on leg %u\n",
			    dev->disk->disk_name, bad->id, first, last - 1,
			    good->id, bad->id);
	return true;
}

/* ---------------------------------------------------------- leg watch -- */

/*
 * Under dev->lock: drop @leg.  Its parked and delayed subs complete without
 * it (writes mark their blocks dirty); they go on @done.
 */
static void ns_leg_drop_locked(struct ns_leg *leg, struct list_head *done)
{
	struct ns_dev *dev = leg->dev;
	struct list_head *lists[] = { &dev->parked_swap, &dev->parked_other,
				      &dev->delayed, &dev->sync_wait };
	struct ns_sub *sub, *tmp;
	unsigned int i;

	ns_leg_set_state(leg, NS_LEG_DEGRADED);
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		list_for_each_entry_safe(sub, tmp, lists[i], node) {
			if (sub->cmd->nbd_type == NBD_CMD_READ || sub->leg != leg->id)
				continue;
			ns_leg_skip_locked(leg, sub->cmd);
			sub->state = NS_CMD_RECEIVING;	/* ours, to finish */
			list_move_tail(&sub->node, done);
		}
	}
}

/*
 * Every second while a leg is down: a leg down for leg_timeout whose partner
 * is live and in sync is dropped; subs that reached a dropped leg since (a
 * teardown requeueing them) are finished too.
 */
void ns_leg_watch(struct work_struct *work)
{
	struct ns_dev *dev = container_of(to_delayed_work(work), struct ns_dev,
					  leg_watch);
	unsigned long limit = dev->cfg.leg_timeout * HZ;
	struct ns_sub *sub, *tmp;
	bool again = false;
	struct ns_leg *leg;
	LIST_HEAD(done);

	spin_lock(&dev->lock);
	for (leg = dev->legs; leg < dev->legs + dev->nr_legs; leg++) {
		if (leg->nr_live)
			continue;
		again = true;
		if (leg->state == NS_LEG_DEGRADED) {
			ns_leg_drop_locked(leg, &done);	/* stragglers */
			continue;
		}
		if (time_before(jiffies, leg->down_since + limit) ||
		    !ns_other_in_sync(dev, leg, true))
			continue;
		ns_leg_drop_locked(leg, &done);
		pr_err("%s: leg %u (%pISpc) down for %u s: dropped; the device goes on with leg %u\n",
		       dev->disk->disk_name, leg->id, &leg->cfg->addrs[0],
		       dev->cfg.leg_timeout, ns_other_in_sync(dev, leg, true)->id);
	}
	if (again && !dev->dying)
		queue_delayed_work(dev->ctl_wq, &dev->leg_watch, NS_WATCH_INTERVAL);
	spin_unlock(&dev->lock);

	list_for_each_entry_safe(sub, tmp, &done, node) {
		list_del_init(&sub->node);
		ns_sub_done(sub, BLK_STS_OFFLINE);
	}
}

/* ------------------------------------------------------------- resync -- */

/* Under dev->lock: is a WRITE, TRIM or WRITE_ZEROES to @first..@last in flight? */
static bool ns_writes_overlap_locked(struct ns_dev *dev, u64 first, u64 last)
{
	struct ns_cmd *cmd;
	unsigned int tag;
	u64 a, b;

	for (tag = 0; tag < dev->cfg.queue_depth; tag++) {
		cmd = dev->by_tag[tag];
		if (!cmd || !ns_cmd_is_data(cmd))
			continue;
		ns_cmd_blocks(dev, cmd, &a, &b);
		if (a < last && first < b)
			return true;
	}
	return false;
}

/* Under dev->lock: must this new request wait for the chunk being copied? */
bool ns_resync_blocks_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	u64 first, last;

	if (!dev->sync_hi || !ns_cmd_is_data(cmd))
		return false;
	ns_cmd_blocks(dev, cmd, &first, &last);
	return first < dev->sync_hi && dev->sync_lo < last;
}

/* The chunk is copied (or given up): let the writes that waited go. */
static void ns_resync_release(struct ns_dev *dev)
{
	struct ns_sub *sub, *tmp;
	LIST_HEAD(waiting);

	spin_lock(&dev->lock);
	dev->sync_hi = 0;
	list_splice_init(&dev->sync_wait, &waiting);
	list_for_each_entry_safe(sub, tmp, &waiting, node) {
		list_del_init(&sub->node);
		ns_dispatch_locked(dev, sub);
	}
	spin_unlock(&dev->lock);
}

/*
 * Copy @n blocks from @b: read them from @src (checked against the known
 * crcs: a copy must not spread damage), write them to @dst.  A block the
 * source has wrong too is lost for good.
 */
static int ns_resync_copy(struct ns_dev *dev, struct ns_leg *src, u64 b,
			  unsigned int n, struct ns_leg *dst)
{
	struct ns_integrity *ig = &dev->integ;
	u8 *buf = dev->resync_buf;
	unsigned int i;
	u32 nbd_err, crc;
	int err;

	err = ns_sync_io(dev->resync_link[src->id].sock, NBD_CMD_READ,
			 b << NS_BLK_SHIFT, n << NS_BLK_SHIFT, buf, &nbd_err);
	if (err)
		return err;
	for (i = 0; ig->crc && i < n; i++) {
		crc = ns_block_crc(buf + ((size_t)i << NS_BLK_SHIFT));
		spin_lock(&dev->lock);
		if (ns_integrity_contradicts_locked(dev, b + i, crc)) {
			ns_integrity_mark_lost_locked(dev, b + i);
			atomic64_inc(&dev->stats.integrity_errors);
		}
		spin_unlock(&dev->lock);
	}
	return ns_sync_io(dev->resync_link[dst->id].sock, NBD_CMD_WRITE,
			  b << NS_BLK_SHIFT, n << NS_BLK_SHIFT, buf, &nbd_err);
}

/*
 * Under dev->lock: the next chunk of @dst from @from: its first dirty block,
 * through the last dirty one within a window the buffer and the servers'
 * largest request allow.
 */
static unsigned int ns_resync_next(struct ns_dev *dev, struct ns_leg *dst,
				   u64 from, u64 *b)
{
	u64 nblocks = dev->integ.nblocks, lim, last, x;
	u64 max = min_t(u64, NS_RESYNC_BLOCKS,
			dev->info.max_payload >> ilog2(NS_INTEGRITY_BLOCK));

	*b = find_next_bit(dst->dirty, nblocks, from);
	if (*b >= nblocks)
		return 0;
	lim = min(nblocks, *b + max);
	last = *b;
	while ((x = find_next_bit(dst->dirty, lim, last + 1)) < lim)
		last = x;
	return last + 1 - *b;
}

/*
 * One pass over @dst's dirty blocks.  Returns 0 when it is in sync, -EAGAIN
 * to come back (blocks were busy, or a leg changed state), -errno when a
 * side connection failed.
 */
static int ns_resync_pass(struct ns_dev *dev, struct ns_leg *src,
			  struct ns_leg *dst)
{
	u64 b, from = 0, i;
	bool busy = false;
	unsigned int n;
	int err;

	for (;;) {
		spin_lock(&dev->lock);
		if (dev->dying || dst->state != NS_LEG_RESYNC ||
		    src->state != NS_LEG_IN_SYNC) {
			spin_unlock(&dev->lock);
			return -EAGAIN;
		}
		n = ns_resync_next(dev, dst, from, &b);
		if (!n) {
			spin_unlock(&dev->lock);
			break;
		}
		from = b + n;
		if (ns_writes_overlap_locked(dev, b, b + n)) {
			busy = true;	/* next pass */
			spin_unlock(&dev->lock);
			continue;
		}
		dev->sync_lo = b;
		dev->sync_hi = b + n;
		spin_unlock(&dev->lock);

		err = ns_resync_copy(dev, src, b, n, dst);

		spin_lock(&dev->lock);
		for (i = b; !err && i < b + n; i++) {
			if (__test_and_clear_bit(i, dst->dirty)) {
				dst->ndirty--;
				dst->resynced++;
			}
		}
		spin_unlock(&dev->lock);
		ns_resync_release(dev);
		if (err)
			return err;
		/* Swap I/O first: give way while the device is really busy. */
		if (atomic_read(&dev->stats.in_flight) > dev->cfg.queue_depth / 2)
			usleep_range(500, 1000);
		cond_resched();
	}
	return busy ? -EAGAIN : 0;
}

/* @dst holds every block: make it durable, then let reads use it. */
static int ns_resync_finish(struct ns_dev *dev, struct ns_leg *dst)
{
	u32 nbd_err;
	int err = 0;

	if (dst->info.tflags & NBD_TFLAG_SEND_FLUSH)
		err = ns_sync_io(dev->resync_link[dst->id].sock, NBD_CMD_FLUSH,
				 0, 0, NULL, &nbd_err);
	if (err)
		return err;
	spin_lock(&dev->lock);
	if (dst->state == NS_LEG_RESYNC && !dst->ndirty) {
		ns_leg_set_state(dst, NS_LEG_IN_SYNC);
		dst->last_resync_ms = jiffies_to_msecs(jiffies - dst->resync_started);
		dst->resync_started = 0;
		err = 1;
	}
	spin_unlock(&dev->lock);
	if (err > 0)
		pr_info("%s: leg %u in sync again (%llu block(s) resynced so far, last resync took %u ms)\n",
			dev->disk->disk_name, dst->id, dst->resynced,
			dst->last_resync_ms);
	return 0;
}

/* Under dev->lock: a live leg to resync, and a live in-sync leg to copy from. */
static bool ns_resync_pick(struct ns_dev *dev, struct ns_leg **src,
			   struct ns_leg **dst)
{
	unsigned int i;

	for (i = 0; i < dev->nr_legs; i++) {
		*dst = &dev->legs[i];
		if ((*dst)->state != NS_LEG_RESYNC || !(*dst)->nr_live)
			continue;
		*src = ns_other_in_sync(dev, *dst, true);
		if (*src)
			return true;
	}
	return false;
}

/* Detach: wake the resync wherever it blocks on a side connection. */
void ns_resync_stop(struct ns_dev *dev)
{
	unsigned int i;

	mutex_lock(&dev->link_lock);
	for (i = 0; i < NS_MAX_LEGS; i++)
		if (dev->resync_link[i].sock)
			ns_sock_shutdown(dev->resync_link[i].sock);
	mutex_unlock(&dev->link_lock);
	cancel_work_sync(&dev->resync_work);
}

void ns_resync_work(struct work_struct *work)
{
	struct ns_dev *dev = container_of(work, struct ns_dev, resync_work);
	struct ns_leg *src, *dst;
	bool have;
	int err;

	for (;;) {
		spin_lock(&dev->lock);
		have = !dev->dying && ns_resync_pick(dev, &src, &dst);
		spin_unlock(&dev->lock);
		if (!have)
			break;
		err = ns_link_open(&dev->resync_link[src->id]);
		if (!err)
			err = ns_link_open(&dev->resync_link[dst->id]);
		if (!err)
			err = ns_resync_pass(dev, src, dst);
		if (!err)
			err = ns_resync_finish(dev, dst);
		if (err == -EAGAIN) {
			msleep(20);
			continue;
		}
		if (err) {
			pr_warn_ratelimited("%s: resync of leg %u stopped (%d), retrying\n",
					    dev->disk->disk_name, dst->id, err);
			ns_link_close(&dev->resync_link[src->id]);
			ns_link_close(&dev->resync_link[dst->id]);
			if (!READ_ONCE(dev->dying))
				msleep(jiffies_to_msecs(NS_RESYNC_RETRY));
		}
	}
	ns_link_close(&dev->resync_link[0]);
	ns_link_close(&dev->resync_link[1]);
}
