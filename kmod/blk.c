// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block side: blk-mq ops, tag set and disk.  queue_rq neither sleeps nor
 * allocates: it stamps the PDU and hands the request to a live connection's
 * send queue, or parks it while none is live.  Nothing here fails a request
 * because a connection is gone; only an expired --io-timeout or a detach
 * does.
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

static struct ns_conn *ns_pick_conn(struct ns_dev *dev)
{
	unsigned int i, n = dev->nr_conns;
	struct ns_conn *conn;

	for (i = 0; i < n; i++) {
		conn = &dev->conns[(dev->next_conn + i) % n];
		if (conn->state == NS_CONN_LIVE) {
			dev->next_conn = (conn->id + 1) % n;
			return conn;
		}
	}
	return NULL;
}

void ns_dispatch_locked(struct ns_dev *dev, struct ns_cmd *cmd)
{
	struct ns_conn *conn;

	lockdep_assert_held(&dev->lock);
	conn = ns_pick_conn(dev);
	cmd->conn = conn;
	if (!conn) {
		cmd->state = NS_CMD_PARKED;
		list_add_tail(&cmd->node,
			      cmd->swap ? &dev->parked_swap : &dev->parked_other);
		return;
	}
	cmd->state = NS_CMD_QUEUED;
	cmd->sent = jiffies;
	list_add_tail(&cmd->node, cmd->swap ? &conn->send_swap : &conn->send_other);
	queue_work(conn->tx_wq, &conn->tx_work);
}

/* Under dev->lock: park a request until @delay has passed (error retries). */
void ns_delay_locked(struct ns_dev *dev, struct ns_cmd *cmd, unsigned long delay)
{
	lockdep_assert_held(&dev->lock);
	cmd->state = NS_CMD_DELAYED;
	cmd->conn = NULL;
	cmd->due = jiffies + delay;
	list_add_tail(&cmd->node, &dev->delayed);
	/* A pending, later run is close enough: the delays are short. */
	queue_delayed_work(dev->ctl_wq, &dev->retry_work, delay);
}

/* Dispatch the delayed requests that are due; come back for the rest. */
void ns_retry_work(struct work_struct *work)
{
	struct ns_dev *dev = container_of(to_delayed_work(work), struct ns_dev,
					  retry_work);
	unsigned long next = MAX_JIFFY_OFFSET;
	struct ns_cmd *cmd, *tmp;

	spin_lock(&dev->lock);
	list_for_each_entry_safe(cmd, tmp, &dev->delayed, node) {
		if (time_before(jiffies, cmd->due)) {
			next = min(next, cmd->due - jiffies);
			continue;
		}
		list_del_init(&cmd->node);
		ns_dispatch_locked(dev, cmd);
	}
	if (next != MAX_JIFFY_OFFSET && !dev->dying)
		queue_delayed_work(dev->ctl_wq, &dev->retry_work, next);
	spin_unlock(&dev->lock);
}

/* The caller has taken the request off every list and out of by_tag. */
void ns_finish(struct ns_cmd *cmd, blk_status_t status)
{
	struct request *rq = ns_cmd_rq(cmd);
	struct ns_dev *dev = rq->q->queuedata;

	cmd->status = status;
	if (status != BLK_STS_OK)
		atomic64_inc(&dev->stats.io_errors);
	blk_mq_complete_request(rq);
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
	cmd->err_retries = 0;
	cmd->status = BLK_STS_OK;
	cmd->submitted = jiffies;
	cmd->start_ns = ktime_get_ns();
	return 0;
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
	/* Dying, or a read of a block the server is known to have lost. */
	if (dev->dying || ns_integrity_submit_locked(dev, cmd)) {
		spin_unlock(&dev->lock);
		ns_finish(cmd, BLK_STS_IOERR);
		return BLK_STS_OK;
	}
	dev->by_tag[rq->tag] = cmd;
	ns_dispatch_locked(dev, cmd);
	spin_unlock(&dev->lock);
	return BLK_STS_OK;
}

/*
 * A request without a (complete) reply for req_timeout resets its
 * connection; recovery resends it.  The handler itself completes only parked
 * requests (no connection holds them); everything else belongs to rx, tx or
 * recovery.
 */
static enum blk_eh_timer_return ns_timeout(struct request *rq)
{
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);
	struct ns_dev *dev = rq->q->queuedata;
	unsigned long req_timeout = dev->cfg.req_timeout * HZ;
	struct ns_conn *conn = NULL;
	u32 gen = 0;

	spin_lock(&dev->lock);
	switch (cmd->state) {
	case NS_CMD_PARKED:
	case NS_CMD_DELAYED:
		if (ns_cmd_expired(dev, cmd)) {
			list_del_init(&cmd->node);
			cmd->state = NS_CMD_IDLE;
			dev->by_tag[rq->tag] = NULL;
			spin_unlock(&dev->lock);
			ns_finish(cmd, BLK_STS_IOERR);
			return BLK_EH_DONE;
		}
		break;
	case NS_CMD_QUEUED:
	case NS_CMD_SENDING:
	case NS_CMD_SENT:
	case NS_CMD_RECEIVING:	/* a payload that stopped half way */
		if (ns_cmd_expired(dev, cmd))
			cmd->fail = true;
		else if (time_before(jiffies, cmd->sent + req_timeout))
			break;
		conn = cmd->conn;
		gen = conn->gen;
		break;
	default:
		break;
	}
	spin_unlock(&dev->lock);

	/* The incarnation it saw: a newer one, set up meanwhile, is innocent. */
	if (conn) {
		atomic64_inc(&dev->stats.timeouts);
		ns_conn_fail_gen(conn, gen, -ETIMEDOUT, "request timed out");
	}
	return BLK_EH_RESET_TIMER;
}

static int ns_init_request(struct blk_mq_tag_set *set, struct request *rq,
			   unsigned int hctx_idx, unsigned int numa_node)
{
	struct ns_cmd *cmd = blk_mq_rq_to_pdu(rq);

	INIT_LIST_HEAD(&cmd->node);
	cmd->state = NS_CMD_IDLE;
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
