// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page integrity: a wrong page is never handed to the block layer.
 *
 * TCP's 16-bit checksum lets corruption through, and a server that restarts
 * on an empty export, or a disk that returns stale blocks, answers reads
 * with the right framing and the wrong data.  So the device keeps, for every
 * NS_INTEGRITY_BLOCK, the crc32c of what the server acknowledged, and checks
 * every READ against it before the request completes:
 *
 *   - a WRITE's crcs are computed from the bio pages before it is queued
 *     (the queue asks for stable pages, so they cannot change while it is in
 *     flight) and become the known ones when the server acknowledges it;
 *     partial blocks, TRIM and WRITE_ZEROES make a block unknown;
 *   - a READ snapshots what was known at submission; a block that comes back
 *     different is read once more on a fresh connection (recovery resends
 *     it), then failed with an I/O error;
 *   - after every reconnect, before the connection carries requests, a few
 *     known blocks are read back (ns_integrity_probe): a server that lost
 *     them has lost everything written before, and every known block becomes
 *     lost, so that reading it fails at once instead of returning zeros.
 *
 * The tables are allocated at attach (vmalloc: 4 + 1 bytes per block) and
 * guarded by ns_dev.lock; nothing here allocates afterwards.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/blkdev.h>
#include <linux/crc32c.h>
#include <linux/highmem.h>
#include <linux/random.h>
#include <linux/vmalloc.h>

#include "netswap.h"

#define NS_META_STATE_MASK	0x3
#define NS_META_VER_SHIFT	2
#define NS_BLK_SHIFT		ilog2(NS_INTEGRITY_BLOCK)
#define NS_PROBES		3	/* first written, last written, one more */
#define NS_PROBE_CONFIRM	4	/* more, to tell a lost server from a bad block */
#define NS_PROBE_SCAN		4096	/* blocks looked at for the random one */
#define NS_PROBE_COOKIE		U64_MAX	/* never a request's (gen 0 unused) */
#define NS_CRC_SEED		(~0U)

static_assert(NS_INTEGRITY_BLOCK <= PAGE_SIZE);
static_assert(NS_REQ_BLOCKS <= 32);	/* ns_cmd.check is a u32 */

static bool ns_integrity_on(const struct ns_dev *dev)
{
	return dev->integ.crc;
}

static enum ns_blk_state ns_blk_state(const struct ns_integrity *ig, u64 b)
{
	return ig->meta[b] & NS_META_STATE_MASK;
}

static u8 ns_blk_ver(const struct ns_integrity *ig, u64 b)
{
	return ig->meta[b] >> NS_META_VER_SHIFT;
}

/* Under dev->lock: the one place a block changes state, and the counts. */
static void ns_blk_set(struct ns_integrity *ig, u64 b, enum ns_blk_state to,
		       bool bump)
{
	enum ns_blk_state from = ns_blk_state(ig, b);
	u8 ver = ns_blk_ver(ig, b) + bump;

	ig->known -= from == NS_BLK_KNOWN;
	ig->lost -= from == NS_BLK_LOST;
	ig->known += to == NS_BLK_KNOWN;
	ig->lost += to == NS_BLK_LOST;
	ig->meta[b] = to | (ver << NS_META_VER_SHIFT);
}

int ns_integrity_alloc(struct ns_dev *dev)
{
	struct ns_integrity *ig = &dev->integ;
	struct ns_conn *conn;

	if (!dev->cfg.integrity)
		return 0;
	ig->nblocks = dev->info.size >> NS_BLK_SHIFT;
	ig->first_written = U64_MAX;
	ig->last_written = U64_MAX;
	ig->crc = vzalloc(array_size(ig->nblocks, sizeof(*ig->crc)) ?: 1);
	ig->meta = vzalloc(ig->nblocks ?: 1);
	if (!ig->crc || !ig->meta)
		goto nomem;
	ns_for_each_conn(dev, conn) {
		conn->probe_buf = kmalloc(NS_INTEGRITY_BLOCK, GFP_KERNEL);
		if (!conn->probe_buf)
			goto nomem;
	}
	return 0;
nomem:
	ns_integrity_free(dev);
	return -ENOMEM;
}

void ns_integrity_free(struct ns_dev *dev)
{
	struct ns_conn *conn;

	vfree(dev->integ.crc);
	vfree(dev->integ.meta);
	dev->integ.crc = NULL;
	dev->integ.meta = NULL;
	ns_for_each_conn(dev, conn) {
		kfree(conn->probe_buf);
		conn->probe_buf = NULL;
	}
}

size_t ns_integrity_bytes(const struct ns_dev *dev)
{
	if (!ns_integrity_on(dev))
		return 0;
	return dev->integ.nblocks * (sizeof(u32) + 1) +
	       dev->nr_legs * dev->cfg.connections * NS_INTEGRITY_BLOCK;
}

/* Byte range of a READ or WRITE, and the whole blocks inside it. */
static void ns_rq_range(struct request *rq, u64 *start, u64 *end)
{
	*start = blk_rq_pos(rq) << SECTOR_SHIFT;
	*end = *start + blk_rq_bytes(rq);
}

/*
 * crc32c of every whole block [cmd->blk0, + cmd->nblk) in the request's
 * pages.  Blocks may straddle segments (O_DIRECT), so crcs are chained.
 */
static void ns_rq_crcs(struct request *rq, u64 blk0, unsigned int nblk, u32 *crc)
{
	u64 want = blk0 << NS_BLK_SHIFT;
	u64 want_end = want + ((u64)nblk << NS_BLK_SHIFT);
	u64 pos = blk_rq_pos(rq) << SECTOR_SHIFT;
	struct req_iterator it;
	struct bio_vec bv;
	unsigned int i;

	for (i = 0; i < nblk; i++)
		crc[i] = NS_CRC_SEED;
	rq_for_each_segment(bv, rq, it) {
		u64 a = max(pos, want), b = min(pos + bv.bv_len, want_end);
		u8 *base;

		if (a < b) {
			base = bvec_kmap_local(&bv);
			while (a < b) {
				u64 blk = a >> NS_BLK_SHIFT;
				u64 stop = min((blk + 1) << NS_BLK_SHIFT, b);

				crc[blk - blk0] = crc32c(crc[blk - blk0],
							 base + (a - pos), stop - a);
				a = stop;
			}
			kunmap_local(base);
		}
		pos += bv.bv_len;
	}
}

/*
 * Before queue_rq takes the lock: which whole blocks a READ or WRITE
 * covers, and for a WRITE their crcs (computed outside the lock).
 */
int ns_integrity_prepare(struct ns_dev *dev, struct ns_cmd *cmd)
{
	struct request *rq = ns_cmd_rq(cmd);
	u64 start, end, b0, b1;

	cmd->nblk = 0;
	cmd->check = 0;
	if (!ns_integrity_on(dev) ||
	    (cmd->nbd_type != NBD_CMD_READ && cmd->nbd_type != NBD_CMD_WRITE))
		return 0;
	ns_rq_range(rq, &start, &end);
	b0 = DIV_ROUND_UP(start, NS_INTEGRITY_BLOCK);
	b1 = min(end >> NS_BLK_SHIFT, dev->integ.nblocks);
	if (b1 > b0) {
		if (WARN_ON_ONCE(b1 - b0 > NS_REQ_BLOCKS))
			return -EIO;
		cmd->blk0 = b0;
		cmd->nblk = b1 - b0;
	}
	if (cmd->nbd_type == NBD_CMD_WRITE && cmd->nblk)
		ns_rq_crcs(rq, cmd->blk0, cmd->nblk, cmd->crc);
	return 0;
}

/*
 * Under dev->lock, as the request enters the device.  Every block a write,
 * trim or zeroing touches becomes unknown until the server acknowledges it
 * (a lost block stays lost under a partial write: the rest of it is gone).
 * A read of a lost block fails here; a read snapshots the known crcs.
 * Returns -EIO to fail the request.
 */
int ns_integrity_submit_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	struct ns_integrity *ig = &dev->integ;
	struct request *rq = ns_cmd_rq(cmd);
	u64 start, end, b, first, last, whole0, whole1;
	bool read = cmd->nbd_type == NBD_CMD_READ;
	bool whole;

	lockdep_assert_held(&dev->lock);
	if (!ns_integrity_on(dev) || cmd->nbd_type == NBD_CMD_FLUSH)
		return 0;
	ns_rq_range(rq, &start, &end);
	first = start >> NS_BLK_SHIFT;
	last = min(DIV_ROUND_UP(end, NS_INTEGRITY_BLOCK), ig->nblocks);
	whole0 = DIV_ROUND_UP(start, NS_INTEGRITY_BLOCK);
	whole1 = end >> NS_BLK_SHIFT;

	for (b = first; b < last; b++) {
		whole = b >= whole0 && b < whole1;
		if (read) {
			if (ns_blk_state(ig, b) == NS_BLK_LOST)
				return -EIO;
			if (!whole)
				continue;
			cmd->ver[b - cmd->blk0] = ns_blk_ver(ig, b);
			if (ns_blk_state(ig, b) == NS_BLK_KNOWN) {
				cmd->crc[b - cmd->blk0] = ig->crc[b];
				cmd->check |= BIT(b - cmd->blk0);
			}
			continue;
		}
		/* What is left of a lost block is still lost. */
		if (!whole && ns_blk_state(ig, b) == NS_BLK_LOST) {
			ns_blk_set(ig, b, NS_BLK_LOST, true);
			continue;
		}
		ns_blk_set(ig, b, NS_BLK_UNKNOWN, true);
		if (whole && cmd->nblk)
			cmd->ver[b - cmd->blk0] = ns_blk_ver(ig, b);
	}
	return 0;
}

/* Under dev->lock: the server has this WRITE; its crcs are the truth now. */
void ns_integrity_write_acked_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	struct ns_integrity *ig = &dev->integ;
	unsigned int i;
	u64 b;

	lockdep_assert_held(&dev->lock);
	if (!ns_integrity_on(dev) || cmd->nbd_type != NBD_CMD_WRITE)
		return;
	for (i = 0; i < cmd->nblk; i++) {
		b = cmd->blk0 + i;
		/* A later write owns the block now; its ack will record it. */
		if (ns_blk_ver(ig, b) != cmd->ver[i] ||
		    ns_blk_state(ig, b) != NS_BLK_UNKNOWN)
			continue;
		ig->crc[b] = cmd->crc[i];
		ns_blk_set(ig, b, NS_BLK_KNOWN, false);
		if (ig->first_written == U64_MAX)
			ig->first_written = b;
		ig->last_written = b;
	}
}

static const char *ns_dev_name(const struct ns_dev *dev)
{
	return dev->disk ? dev->disk->disk_name : dev->name;
}

/*
 * After a READ's payload arrived, before it completes.  Returns 0 if every
 * block whose crc was known came back right (or was rewritten meanwhile, so
 * either content is legal), -EAGAIN to read it again on a fresh connection,
 * -EIO to fail it.
 */
int ns_integrity_verify(struct ns_conn *conn, struct ns_sub *sub)
{
	struct ns_cmd *cmd = sub->cmd;
	struct ns_dev *dev = conn->dev;
	struct ns_integrity *ig = &dev->integ;
	u32 got[NS_REQ_BLOCKS];
	unsigned int i, bad = 0;
	bool lost = false;
	u64 b, bad_blk = 0;

	if (!cmd->check)
		return 0;
	ns_rq_crcs(ns_cmd_rq(cmd), cmd->blk0, cmd->nblk, got);

	spin_lock(&dev->lock);
	for (i = 0; i < cmd->nblk; i++) {
		b = cmd->blk0 + i;
		if (!(cmd->check & BIT(i)) || got[i] == cmd->crc[i] ||
		    ns_blk_ver(ig, b) != cmd->ver[i])
			continue;
		if (!bad++)
			bad_blk = b;
		lost |= ns_blk_state(ig, b) == NS_BLK_LOST;
	}
	spin_unlock(&dev->lock);
	if (!bad)
		return 0;

	atomic64_add(bad, &dev->stats.integrity_errors);
	pr_err_ratelimited("%s: integrity error: %u block(s) from sector %llu read from %pISpc do not match what was written%s\n",
			   ns_dev_name(dev), bad,
			   bad_blk << (NS_BLK_SHIFT - SECTOR_SHIFT),
			   &conn->leg->cfg->addrs[conn->addr_idx],
			   lost ? " (the server lost them)" :
			   sub->reread ? ", again" : "");
	if (lost || sub->reread)
		return -EIO;
	sub->reread = true;
	atomic64_inc(&dev->stats.integrity_rereads);
	return -EAGAIN;
}

/* ------------------------------------------------------ reconnect probe -- */

/* Under dev->lock: a known block @leg should have, to read back, or U64_MAX. */
static u64 ns_probe_pick(struct ns_integrity *ig, struct ns_leg *leg,
			 unsigned int k)
{
	u64 b, n;

	switch (k) {
	case 0:
		b = ig->first_written;
		break;
	case 1:
		b = ig->last_written;
		break;
	default:
		/* Anywhere else: a server may lose part of its data. */
		if (!ig->known)
			return U64_MAX;
		b = ig->probe_cursor;
		for (n = 0; n < NS_PROBE_SCAN; n++, b = (b + 1) % ig->nblocks)
			if (ns_blk_state(ig, b) == NS_BLK_KNOWN &&
			    !ns_leg_block_dirty_locked(leg, b))
				break;
		ig->probe_cursor = get_random_u64() % ig->nblocks;
		break;
	}
	if (b >= ig->nblocks || ns_blk_state(ig, b) != NS_BLK_KNOWN ||
	    ns_leg_block_dirty_locked(leg, b))
		return U64_MAX;
	return b;
}

/* One synchronous READ of block @b on a socket that is not live yet. */
static int ns_probe_read(struct ns_conn *conn, struct socket *sock, u64 b,
			 u32 *crc)
{
	u32 nbd_err;
	int err;

	err = ns_sync_io(sock, NBD_CMD_READ, b << NS_BLK_SHIFT,
			 NS_INTEGRITY_BLOCK, conn->probe_buf, &nbd_err);
	if (err == -EREMOTEIO)
		atomic64_inc(&conn->dev->stats.server_errors);
	if (!err)
		*crc = ns_block_crc(conn->probe_buf);
	return err;
}

u32 ns_block_crc(const void *data)
{
	return crc32c(NS_CRC_SEED, data, NS_INTEGRITY_BLOCK);
}

/* Under dev->lock: does @crc contradict what block @b is known to hold? */
bool ns_integrity_contradicts_locked(struct ns_dev *dev, u64 b, u32 crc)
{
	struct ns_integrity *ig = &dev->integ;

	return ig->crc && ns_blk_state(ig, b) == NS_BLK_KNOWN && ig->crc[b] != crc;
}

/* Under dev->lock: block @b is gone (the rest of the device may not be). */
static void ns_mark_lost_locked(struct ns_integrity *ig, u64 b)
{
	if (ns_blk_state(ig, b) == NS_BLK_KNOWN)
		ns_blk_set(ig, b, NS_BLK_LOST, false);
	if (ig->first_written == b)
		ig->first_written = U64_MAX;
	if (ig->last_written == b)
		ig->last_written = U64_MAX;
}

void ns_integrity_mark_lost_locked(struct ns_dev *dev, u64 b)
{
	ns_mark_lost_locked(&dev->integ, b);
}

/* Every block known so far is gone with the server's data. */
static u64 ns_mark_all_lost(struct ns_dev *dev)
{
	struct ns_integrity *ig = &dev->integ;
	u64 b, n;

	spin_lock(&dev->lock);
	n = ig->known;
	for (b = 0; b < ig->nblocks; b++)
		ns_mark_lost_locked(ig, b);
	spin_unlock(&dev->lock);
	return n;
}

/*
 * Probe block @b: 1 if the server has lost it (wrong twice: a wire that
 * flips a byte does not flip it the same way twice), 0 if it is right or
 * was rewritten meanwhile, -errno if the connection broke.
 */
static int ns_probe_one(struct ns_conn *conn, struct socket *sock, u64 b)
{
	struct ns_dev *dev = conn->dev;
	struct ns_integrity *ig = &dev->integ;
	unsigned int tries;
	bool rewritten;
	u32 want, got;
	u8 ver;
	int err;

	spin_lock(&dev->lock);
	want = ig->crc[b];
	ver = ns_blk_ver(ig, b);
	spin_unlock(&dev->lock);

	for (tries = 0; tries < 2; tries++) {
		err = ns_probe_read(conn, sock, b, &got);
		if (err == -EREMOTEIO)
			return 0;	/* says nothing about the data */
		if (err)
			return err;
		if (got == want)
			return 0;
		spin_lock(&dev->lock);
		rewritten = ns_blk_ver(ig, b) != ver;
		spin_unlock(&dev->lock);
		if (rewritten)
			return 0;
		atomic64_inc(&dev->stats.integrity_errors);
	}
	return 1;
}

/* Probe the @k-th pick; 1 lost, 0 fine or nothing to probe, -errno. */
static int ns_probe_pick_one(struct ns_conn *conn, struct socket *sock,
			     unsigned int k, u64 *b)
{
	struct ns_dev *dev = conn->dev;

	spin_lock(&dev->lock);
	*b = ns_probe_pick(&dev->integ, conn->leg, k);
	spin_unlock(&dev->lock);
	return *b == U64_MAX ? 0 : ns_probe_one(conn, sock, *b);
}

/*
 * Before a reconnected socket goes live: read back a few blocks whose crc is
 * known.  One that comes back wrong is lost; if another one, picked at
 * random, is wrong too, the server lost its data, and with it everything
 * written before.  (One bad block alone is a bad block, not a lost server:
 * reading it fails, the rest is still checked read by read.)
 */
int ns_integrity_probe(struct ns_conn *conn, struct socket *sock)
{
	struct ns_dev *dev = conn->dev;
	unsigned int k;
	u64 b, bad, n;
	int err;

	if (!ns_integrity_on(dev))
		return 0;
	for (k = 0; k < NS_PROBES; k++) {
		err = ns_probe_pick_one(conn, sock, k, &bad);
		if (err)
			break;
	}
	if (err <= 0)
		return err;

	/* Mirrored, the other leg has it: this leg just lacks the block. */
	spin_lock(&dev->lock);
	if (ns_mirrored(dev) && conn->leg->dirty) {
		if (!__test_and_set_bit(bad, conn->leg->dirty))
			conn->leg->ndirty++;
		conn->leg->repairs++;
	} else {
		ns_mark_lost_locked(&dev->integ, bad);
	}
	spin_unlock(&dev->lock);
	for (k = 0; k < NS_PROBE_CONFIRM; k++) {
		err = ns_probe_pick_one(conn, sock, NS_PROBES, &b);
		if (err < 0)
			return err;
		if (err)
			break;
	}
	if (!err) {
		pr_err("%s: block %llu from %pISpc came back wrong twice: it is lost there\n",
		       ns_dev_name(dev), bad, &conn->leg->cfg->addrs[conn->addr_idx]);
		return 0;
	}
	atomic64_inc(&dev->stats.server_data_lost);
	if (ns_leg_lost_data(conn->leg))
		return 0;
	n = ns_mark_all_lost(dev);
	pr_err("%s: server %pISpc lost its data (blocks %llu and %llu came back wrong): %llu written block(s) are gone, reading them fails\n",
	       ns_dev_name(dev), &conn->leg->cfg->addrs[conn->addr_idx], bad, b,
	       n + 1);
	return 0;
}
