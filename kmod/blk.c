// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block side: blk-mq ops, tag set and disk.  queue_rq neither sleeps nor
 * allocates: it stamps the PDU, splits the request into one sub-request per
 * leg it goes to (a mirrored WRITE: both; a READ: one), and hands each to a
 * live connection's send queue, or parks it while none can take it.  A
 * block request completes when its last sub-request does.  Nothing here
 * fails a request because a connection is gone; only an expired
 * --io-timeout or a detach does.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/blkdev.h>
#include <linux/module.h>

#include "netswap.h"

static int ns_major;

static const struct block_device_operations ns_fops = {
	.owner = THIS_MODULE,
};

bool ns_cmd_expired(struct ns_dev *dev, struct ns_cmd *cmd)
{
	unsigned long limit = dev->cfg.io_timeout * HZ;

	return dev->dying || cmd->fail ||
	       (limit && time_after_eq(jiffies, cmd->submitted + limit));
}

/* Under dev->lock: a live connection of @leg, round-robin. */
static struct ns_conn *ns_pick_conn(struct ns_leg *leg)
{
	unsigned int i, n = leg->dev->nr_conns;
	struct ns_conn *conn;

	for (i = 0; i < n; i++) {
		conn = &leg->conns[(leg->next_conn + i) % n];
		if (conn->state == NS_CONN_LIVE) {
			leg->next_conn = (conn->id + 1) % n;
			return conn;
		}
	}
	return NULL;
}

static void ns_park_locked(struct ns_dev *dev, struct ns_sub *sub)
{
	sub->state = NS_CMD_PARKED;
	sub->conn = NULL;
	list_add_tail(&sub->node, sub->cmd->swap ? &dev->parked_swap :
						   &dev->parked_other);
}

/*
 * Under dev->lock: send @sub on a live connection of its leg (a READ: of
 * any leg that has its blocks), or park it until one comes up.  A sub of a
 * dropped leg stays parked; the leg watch completes it (mirror.c).
 */
void ns_dispatch_locked(struct ns_dev *dev, struct ns_sub *sub)
{
	struct ns_cmd *cmd = sub->cmd;
	struct ns_conn *conn = NULL;
	struct ns_leg *leg;

	lockdep_assert_held(&dev->lock);
	if (cmd->nbd_type == NBD_CMD_READ)
		leg = ns_read_leg_locked(dev, sub);
	else
		leg = &dev->legs[sub->leg];
	if (leg && leg->state != NS_LEG_DEGRADED)
		conn = ns_pick_conn(leg);
	if (!conn) {
		ns_park_locked(dev, sub);
		return;
	}
	sub->leg = leg->id;
	sub->conn = conn;
	sub->state = NS_CMD_QUEUED;
	sub->sent = jiffies;
	list_add_tail(&sub->node, cmd->swap ? &conn->send_swap : &conn->send_other);
	queue_work(conn->tx_wq, &conn->tx_work);
}

/* Under dev->lock: park a sub until @delay has passed (error retries). */
void ns_delay_locked(struct ns_dev *dev, struct ns_sub *sub, unsigned long delay)
{
	lockdep_assert_held(&dev->lock);
	sub->state = NS_CMD_DELAYED;
	sub->conn = NULL;
	sub->due = jiffies + delay;
	list_add_tail(&sub->node, &dev->delayed);
	/* A pending, later run is close enough: the delays are short. */
	queue_delayed_work(dev->ctl_wq, &dev->retry_work, delay);
}

/* Dispatch the delayed subs that are due; come back for the rest. */
void ns_retry_work(struct work_struct *work)
{
	struct ns_dev *dev = container_of(to_delayed_work(work), struct ns_dev,
					  retry_work);
	unsigned long next = MAX_JIFFY_OFFSET;
	struct ns_sub *sub, *tmp;

	spin_lock(&dev->lock);
	list_for_each_entry_safe(sub, tmp, &dev->delayed, node) {
		if (time_before(jiffies, sub->due)) {
			next = min(next, sub->due - jiffies);
			continue;
		}
		list_del_init(&sub->node);
		ns_dispatch_locked(dev, sub);
	}
	if (next != MAX_JIFFY_OFFSET && !dev->dying)
		queue_delayed_work(dev->ctl_wq, &dev->retry_work, next);
	spin_unlock(&dev->lock);
}

static void ns_finish(struct ns_cmd *cmd, blk_status_t status)
{
	struct request *rq = ns_cmd_rq(cmd);
	struct ns_dev *dev = rq->q->queuedata;

	cmd->status = status;
	if (status != BLK_STS_OK)
		atomic64_inc(&dev->stats.io_errors);
	blk_mq_complete_request(rq);
}

/*
 * Under dev->lock, at the last sub: what the block request gets.  It
 * succeeded if some leg did; a leg that did not (an error it kept
 * answering, a drop) now lacks those blocks.
 */
static blk_status_t ns_cmd_outcome_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	unsigned int i;

	if (!cmd->ok_legs)
		return cmd->err ?: BLK_STS_IOERR;
	if (ns_cmd_is_data(cmd))
		for (i = 0; i < dev->nr_legs; i++)
			if (!(cmd->ok_legs & BIT(i)))
				ns_leg_skip_locked(&dev->legs[i], cmd);
	ns_integrity_write_acked_locked(dev, cmd);
	return BLK_STS_OK;
}

/*
 * A sub is finished (the caller owns it: off every list): count it, and
 * complete the block request with its last one.  A sub of a dropped leg is
 * finished with BLK_STS_OFFLINE: it neither succeeded nor failed.
 */
bool ns_sub_done(struct ns_sub *sub, blk_status_t status)
{
	struct ns_cmd *cmd = sub->cmd;
	struct request *rq = ns_cmd_rq(cmd);
	struct ns_dev *dev = rq->q->queuedata;
	bool last;

	spin_lock(&dev->lock);
	sub->state = NS_CMD_IDLE;
	sub->conn = NULL;
	if (status == BLK_STS_OK)
		cmd->ok_legs |= BIT(sub->leg);
	else if (status != BLK_STS_OFFLINE && !cmd->err)
		cmd->err = status;
	last = !--cmd->pending;
	if (last) {
		status = ns_cmd_outcome_locked(dev, cmd);
		dev->by_tag[rq->tag] = NULL;
	}
	spin_unlock(&dev->lock);
	if (last)
		ns_finish(cmd, status);
	return last;
}

static void ns_complete_rq(struct request *rq)
{
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct ns_dev *dev = rq->q->queuedata;

	if (cmd->status == BLK_STS_OK)
		ns_stats_complete(dev, rq, cmd->start_ns);
	atomic_dec(&dev->stats.in_flight);
	blk_mq_end_request(rq, cmd->status);
}

static int ns_setup_cmd(struct request *rq, struct ns_cmd *cmd)
{
	cmd->nbd_flags = 0;
	switch (req_op(rq)) {
	case REQ_OP_READ:
		cmd->nbd_type = NBD_CMD_READ;
		break;
	case REQ_OP_WRITE:
		cmd->nbd_type = NBD_CMD_WRITE;
		if (rq->cmd_flags & REQ_FUA)
			cmd->nbd_flags |= NBD_CMD_FLAG_FUA;
		break;
	case REQ_OP_FLUSH:
		cmd->nbd_type = NBD_CMD_FLUSH;
		break;
	case REQ_OP_DISCARD:
		cmd->nbd_type = NBD_CMD_TRIM;
		break;
	case REQ_OP_WRITE_ZEROES:
		cmd->nbd_type = NBD_CMD_WRITE_ZEROES;
		if (rq->cmd_flags & REQ_NOUNMAP)
			cmd->nbd_flags |= NBD_CMD_FLAG_NO_HOLE;
		break;
	default:
		return -EOPNOTSUPP;
	}
	cmd->swap = rq->cmd_flags & REQ_SWAP;
	cmd->fail = false;
	cmd->ok_legs = 0;
	cmd->err = BLK_STS_OK;
	cmd->status = BLK_STS_OK;
	cmd->submitted = jiffies;
	cmd->start_ns = ktime_get_ns();
	return 0;
}

/*
 * Under dev->lock: the subs of a new request.  A READ has one, sent to a leg
 * that has its blocks; anything else one per leg, except a dropped leg,
 * which only records that it lacks the blocks.
 */
static unsigned int ns_issue_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	struct ns_sub *sub;
	unsigned int i, n = 0;

	for (i = 0; i < dev->nr_legs; i++) {
		if (cmd->nbd_type == NBD_CMD_READ && n)
			break;
		if (cmd->nbd_type != NBD_CMD_READ &&
		    dev->legs[i].state == NS_LEG_DEGRADED) {
			ns_leg_skip_locked(&dev->legs[i], cmd);
			continue;
		}
		sub = &cmd->sub[n];
		sub->idx = n;
		sub->leg = i;
		sub->avoid = 0;
		sub->reread = false;
		sub->err_retries = 0;
		n++;
	}
	cmd->nr_subs = n;
	cmd->pending = n;
	for (i = 0; i < n; i++) {
		/* Blocks the resync is copying: wait until it has. */
		if (ns_resync_blocks_locked(dev, cmd)) {
			cmd->sub[i].state = NS_CMD_PARKED;
			list_add_tail(&cmd->sub[i].node, &dev->sync_wait);
			continue;
		}
		ns_dispatch_locked(dev, &cmd->sub[i]);
	}
	return n;
}

static blk_status_t ns_queue_rq(struct blk_mq_hw_ctx *hctx,
				const struct blk_mq_queue_data *bd)
{
	struct ns_dev *dev = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (ns_setup_cmd(rq, cmd))
		return BLK_STS_NOTSUPP;
	/* A WRITE's crcs, before the lock: they read the whole payload. */
	if (ns_integrity_prepare(dev, cmd))
		return BLK_STS_IOERR;

	blk_mq_start_request(rq);
	atomic_inc(&dev->stats.in_flight);
	spin_lock(&dev->lock);
	/* Dying, or a read of a block the servers are known to have lost. */
	if (dev->dying || ns_integrity_submit_locked(dev, cmd)) {
		spin_unlock(&dev->lock);
		ns_finish(cmd, BLK_STS_IOERR);
		return BLK_STS_OK;
	}
	dev->by_tag[rq->tag] = cmd;
	if (!ns_issue_locked(dev, cmd)) {
		/* Every leg dropped: cannot happen while one is in sync. */
		dev->by_tag[rq->tag] = NULL;
		spin_unlock(&dev->lock);
		ns_finish(cmd, BLK_STS_IOERR);
		return BLK_STS_OK;
	}
	spin_unlock(&dev->lock);
	return BLK_STS_OK;
}

/*
 * A sub without a (complete) reply for req_timeout resets its connection;
 * recovery resends it.  The handler itself finishes only parked and delayed
 * subs (no connection holds them), and only once the request expired;
 * everything else belongs to rx, tx or recovery.
 */
static enum blk_eh_timer_return ns_timeout(struct request *rq)
{
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct ns_dev *dev = rq->q->queuedata;
	unsigned long req_timeout = dev->cfg.req_timeout * HZ;
	struct ns_conn *conns[NS_MAX_LEGS];
	struct ns_sub *expired[NS_MAX_LEGS];
	u32 gens[NS_MAX_LEGS];
	unsigned int i, nconns = 0, nexp = 0;
	bool done = false;
	struct ns_sub *sub;

	spin_lock(&dev->lock);
	if (dev->by_tag[rq->tag] != cmd) {
		spin_unlock(&dev->lock);
		return BLK_EH_RESET_TIMER;
	}
	for (i = 0; i < cmd->nr_subs; i++) {
		sub = &cmd->sub[i];
		switch (sub->state) {
		case NS_CMD_PARKED:
		case NS_CMD_DELAYED:
			if (ns_cmd_expired(dev, cmd)) {
				list_del_init(&sub->node);
				sub->state = NS_CMD_RECEIVING;	/* ours now */
				expired[nexp++] = sub;
			}
			break;
		case NS_CMD_QUEUED:
		case NS_CMD_SENDING:
		case NS_CMD_SENT:
		case NS_CMD_RECEIVING:	/* a payload that stopped half way */
			if (ns_cmd_expired(dev, cmd))
				cmd->fail = true;
			else if (time_before(jiffies, sub->sent + req_timeout))
				break;
			conns[nconns] = sub->conn;
			gens[nconns++] = sub->conn->gen;
			break;
		default:
			break;
		}
	}
	spin_unlock(&dev->lock);

	for (i = 0; i < nexp; i++)
		done |= ns_sub_done(expired[i], BLK_STS_IOERR);
	/* The incarnation it saw: a newer one, set up meanwhile, is innocent. */
	for (i = 0; i < nconns; i++) {
		atomic64_inc(&dev->stats.timeouts);
		ns_conn_fail_gen(conns[i], gens[i], -ETIMEDOUT, "request timed out");
	}
	return done ? BLK_EH_DONE : BLK_EH_RESET_TIMER;
}

static int ns_init_request(struct blk_mq_tag_set *set, struct request *rq,
			   unsigned int hctx_idx, unsigned int numa_node)
{
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);
	unsigned int i;

	for (i = 0; i < NS_MAX_LEGS; i++) {
		INIT_LIST_HEAD(&cmd->sub[i].node);
		cmd->sub[i].cmd = cmd;
		cmd->sub[i].state = NS_CMD_IDLE;
	}
	return 0;
}

static const struct blk_mq_ops ns_mq_ops = {
	.queue_rq	= ns_queue_rq,
	.complete	= ns_complete_rq,
	.timeout	= ns_timeout,
	.init_request	= ns_init_request,
};

static unsigned int ns_blk_timeout(const struct ns_config *cfg)
{
	unsigned int s = cfg->req_timeout;

	if (cfg->io_timeout && cfg->io_timeout < s)
		s = cfg->io_timeout;
	return s * HZ;
}

/* Tag set and disk, sized by the first handshake; not yet visible. */
int ns_blk_init(struct ns_dev *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;
	struct gendisk *disk;
	int err;

	set->ops = &ns_mq_ops;
	set->nr_hw_queues = 1;
	set->queue_depth = dev->cfg.queue_depth;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct ns_cmd);
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	set->timeout = ns_blk_timeout(&dev->cfg);
	set->driver_data = dev;
	err = blk_mq_alloc_tag_set(set);
	if (err)
		return err;

	disk = ns_alloc_disk(set, &dev->limits, dev);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(set);
		return PTR_ERR(disk);
	}
	disk->major = ns_major;
	disk->first_minor = dev->index;
	disk->minors = 1;
	disk->flags |= GENHD_FL_NO_PART;
	disk->fops = &ns_fops;
	disk->private_data = dev;
	snprintf(disk->disk_name, DISK_NAME_LEN, "netswap%d", dev->index);
	set_capacity(disk, dev->info.size >> SECTOR_SHIFT);
	if (dev->info.tflags & NBD_TFLAG_READ_ONLY)
		set_disk_ro(disk, true);
	dev->disk = disk;
	dev->tag_set_ready = true;
	return 0;
}

int ns_blk_add(struct ns_dev *dev)
{
	return device_add_disk(NULL, dev->disk, ns_attr_groups);
}

void ns_blk_del(struct ns_dev *dev)
{
	del_gendisk(dev->disk);
}

void ns_blk_free(struct ns_dev *dev)
{
	if (!dev->tag_set_ready)
		return;
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	dev->disk = NULL;
	dev->tag_set_ready = false;
}

int ns_register_blkdev(void)
{
	ns_major = register_blkdev(0, "netswap");
	return ns_major < 0 ? ns_major : 0;
}

void ns_unregister_blkdev(void)
{
	unregister_blkdev(ns_major, "netswap");
}
