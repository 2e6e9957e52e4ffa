// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the device tells the world: counters under
 * /sys/block/netswapN/netswap/ (one value per file, except the per
 * connection table and the latency histogram, which are tables by nature),
 * and the lab's fault-injection knobs under debugfs netswap/netswapN/.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/inet.h>
#include <linux/kstrtox.h>
#include <linux/log2.h>
#include <linux/sysfs.h>

#include "netswap.h"

static struct dentry *ns_debugfs_root;

static enum ns_dir ns_rq_dir(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return NS_DIR_READ;
	case REQ_OP_FLUSH:
		return NS_DIR_FLUSH;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		return NS_DIR_DISCARD;
	default:
		return NS_DIR_WRITE;
	}
}

void ns_stats_complete(struct ns_dev *dev, struct request *rq, u64 start_ns)
{
	struct ns_stats *st = &dev->stats;
	enum ns_dir dir = ns_rq_dir(rq);
	u64 us = div_u64(ktime_get_ns() - start_ns, NSEC_PER_USEC);
	unsigned int bucket = us ? ilog2(us) + 1 : 0;

	atomic64_inc(&st->reqs[dir]);
	if (dir == NS_DIR_READ || dir == NS_DIR_WRITE)
		atomic64_add(blk_rq_bytes(rq), &st->bytes[dir]);
	if (rq->cmd_flags & REQ_SWAP)
		atomic64_inc(&st->swap_reqs);
	atomic64_inc(&st->latency[min(bucket, NS_LAT_BUCKETS - 1)]);
}

static struct ns_dev *ns_dev_of(struct device *d)
{
	return dev_to_disk(d)->private_data;
}

static u64 ns_locked_u64(struct ns_dev *dev, const u64 *v)
{
	u64 r;

	spin_lock(&dev->lock);
	r = *v;
	spin_unlock(&dev->lock);
	return r;
}

enum ns_legs_what {
	NS_LEGS_IN_SYNC, NS_LEGS_DIRTY, NS_LEGS_RESYNCED, NS_LEGS_REPAIRS,
	NS_LEGS_DEGRADATIONS,
};

/* One figure over every leg, read under the lock. */
static u64 ns_legs_sum(struct ns_dev *dev, enum ns_legs_what what)
{
	const struct ns_leg *leg;
	u64 sum = 0;

	spin_lock(&dev->lock);
	for (leg = dev->legs; leg < dev->legs + dev->nr_legs; leg++) {
		switch (what) {
		case NS_LEGS_IN_SYNC:
			sum += leg->state == NS_LEG_IN_SYNC;
			break;
		case NS_LEGS_DIRTY:
			sum += leg->ndirty;
			break;
		case NS_LEGS_RESYNCED:
			sum += leg->resynced;
			break;
		case NS_LEGS_REPAIRS:
			sum += leg->repairs;
			break;
		case NS_LEGS_DEGRADATIONS:
			sum += leg->degradations;
			break;
		}
	}
	spin_unlock(&dev->lock);
	return sum;
}

#define NS_STAT_ATTR(_name, _expr)					\
static ssize_t _name##_show(struct device *d,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct ns_dev *dev = ns_dev_of(d);				\
									\
	return sysfs_emit(buf, "%lld\n", (long long)(_expr));		\
}									\
static DEVICE_ATTR_RO(_name)

NS_STAT_ATTR(read_requests, atomic64_read(&dev->stats.reqs[NS_DIR_READ]));
NS_STAT_ATTR(write_requests, atomic64_read(&dev->stats.reqs[NS_DIR_WRITE]));
NS_STAT_ATTR(flush_requests, atomic64_read(&dev->stats.reqs[NS_DIR_FLUSH]));
NS_STAT_ATTR(discard_requests, atomic64_read(&dev->stats.reqs[NS_DIR_DISCARD]));
NS_STAT_ATTR(read_bytes, atomic64_read(&dev->stats.bytes[NS_DIR_READ]));
NS_STAT_ATTR(write_bytes, atomic64_read(&dev->stats.bytes[NS_DIR_WRITE]));
NS_STAT_ATTR(swap_requests, atomic64_read(&dev->stats.swap_reqs));
NS_STAT_ATTR(in_flight, atomic_read(&dev->stats.in_flight));
NS_STAT_ATTR(reconnects, atomic64_read(&dev->stats.reconnects));
NS_STAT_ATTR(failed_connects, atomic64_read(&dev->stats.failed_connects));
NS_STAT_ATTR(lost_connections, atomic64_read(&dev->stats.lost_connections));
NS_STAT_ATTR(resends, atomic64_read(&dev->stats.resends));
NS_STAT_ATTR(timeouts, atomic64_read(&dev->stats.timeouts));
NS_STAT_ATTR(protocol_errors, atomic64_read(&dev->stats.proto_errors));
NS_STAT_ATTR(server_errors, atomic64_read(&dev->stats.server_errors));
NS_STAT_ATTR(error_retries, atomic64_read(&dev->stats.error_retries));
NS_STAT_ATTR(io_errors, atomic64_read(&dev->stats.io_errors));
NS_STAT_ATTR(integrity_errors, atomic64_read(&dev->stats.integrity_errors));
NS_STAT_ATTR(integrity_rereads, atomic64_read(&dev->stats.integrity_rereads));
NS_STAT_ATTR(server_data_lost, atomic64_read(&dev->stats.server_data_lost));
NS_STAT_ATTR(lost_blocks, ns_locked_u64(dev, &dev->integ.lost));
NS_STAT_ATTR(known_blocks, ns_locked_u64(dev, &dev->integ.known));
NS_STAT_ATTR(integrity, dev->cfg.integrity);
NS_STAT_ATTR(integrity_bytes, ns_integrity_bytes(dev));
NS_STAT_ATTR(mirror_legs, dev->nr_legs);
NS_STAT_ATTR(legs_in_sync, ns_legs_sum(dev, NS_LEGS_IN_SYNC));
NS_STAT_ATTR(dirty_blocks, ns_legs_sum(dev, NS_LEGS_DIRTY));
NS_STAT_ATTR(resynced_blocks, ns_legs_sum(dev, NS_LEGS_RESYNCED));
NS_STAT_ATTR(repairs, ns_legs_sum(dev, NS_LEGS_REPAIRS));
NS_STAT_ATTR(degradations, ns_legs_sum(dev, NS_LEGS_DEGRADATIONS));
NS_STAT_ATTR(mirror_bytes, ns_mirror_bytes(dev));
NS_STAT_ATTR(leg_timeout, dev->cfg.leg_timeout);
NS_STAT_ATTR(size_bytes, dev->info.size);
NS_STAT_ATTR(transmission_flags, dev->info.tflags);
NS_STAT_ATTR(io_timeout, dev->cfg.io_timeout);
NS_STAT_ATTR(req_timeout, dev->cfg.req_timeout);
NS_STAT_ATTR(queue_depth, dev->cfg.queue_depth);
NS_STAT_ATTR(max_request_bytes, dev->limits.max_sectors << SECTOR_SHIFT);

static ssize_t export_show(struct device *d, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", ns_dev_of(d)->cfg.legs[0].export);
}
static DEVICE_ATTR_RO(export);

static ssize_t name_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", ns_dev_of(d)->name);
}
static DEVICE_ATTR_RO(name);

/*
 * One line per connection: id state address connects inflight errno age_s
 * leg (ids count on over the legs: leg 1's first is nr_conns).
 */
static ssize_t connections_show(struct device *d, struct device_attribute *attr,
				char *buf)
{
	struct ns_dev *dev = ns_dev_of(d);
	enum ns_conn_state state;
	unsigned int inflight;
	unsigned long since;
	struct ns_conn *conn;
	int len = 0, err;

	ns_for_each_conn(dev, conn) {
		if (conn->id >= dev->nr_conns)
			continue;
		spin_lock(&dev->lock);
		state = conn->state;
		inflight = conn->nr_inflight;
		err = conn->last_error;
		since = conn->live_since;
		spin_unlock(&dev->lock);
		len += sysfs_emit_at(buf, len, "%u %s %pISpc %llu %u %d %lu %u\n",
				     conn->leg->id * dev->nr_conns + conn->id,
				     ns_conn_state_name(state),
				     &conn->leg->cfg->addrs[conn->addr_idx],
				     conn->connects, inflight, err,
				     state == NS_CONN_LIVE ?
				     (jiffies - since) / HZ : 0, conn->leg->id);
	}
	return len;
}
static DEVICE_ATTR_RO(connections);

/*
 * One line per leg: id state address export dirty resynced repairs
 * degradations live resync_ms resyncing_s (the last resync's duration, and
 * how long the current one has run, 0 if none).
 */
static ssize_t legs_show(struct device *d, struct device_attribute *attr,
			 char *buf)
{
	struct ns_dev *dev = ns_dev_of(d);
	struct ns_leg copy;
	unsigned int i;
	int len = 0;

	for (i = 0; i < dev->nr_legs; i++) {
		spin_lock(&dev->lock);
		copy = dev->legs[i];
		spin_unlock(&dev->lock);
		len += sysfs_emit_at(buf, len, "%u %s %pISpc %s %llu %llu %llu %llu %u %u %lu\n",
				     i, ns_leg_state_name(copy.state),
				     &copy.cfg->addrs[0],
				     copy.cfg->export[0] ? copy.cfg->export : "-",
				     copy.ndirty, copy.resynced, copy.repairs,
				     copy.degradations, copy.nr_live,
				     copy.last_resync_ms,
				     copy.resync_started ?
				     (unsigned long)(jiffies - copy.resync_started) / HZ : 0);
	}
	return len;
}
static DEVICE_ATTR_RO(legs);

/* Bucket i counts completions that took [2^(i-1), 2^i) microseconds. */
static ssize_t latency_histogram_show(struct device *d,
				      struct device_attribute *attr, char *buf)
{
	struct ns_dev *dev = ns_dev_of(d);
	int i, len = 0;

	for (i = 0; i < NS_LAT_BUCKETS; i++)
		len += sysfs_emit_at(buf, len, "%s%lld", i ? " " : "",
				     (long long)atomic64_read(&dev->stats.latency[i]));
	len += sysfs_emit_at(buf, len, "\n");
	return len;
}
static DEVICE_ATTR_RO(latency_histogram);

/* Every NS_SYSFS_VALUE of proto/netswap_ctl.h, each defined above. */
#define NS_SYSFS_VALUE(name, kind, help) NS_SV_##name,
enum ns_sysfs_idx {
#include "netswap_ctl.h"
	NS_SV_NR
};

#define NS_SYSFS_VALUE(name, kind, help) \
	[NS_SV_##name] = &dev_attr_##name.attr,
static struct attribute *ns_attrs[] = {
#include "netswap_ctl.h"
	[NS_SV_NR] = &dev_attr_export.attr,
	&dev_attr_name.attr,
	&dev_attr_connections.attr,
	&dev_attr_legs.attr,
	&dev_attr_latency_histogram.attr,
	NULL,
};

static const struct attribute_group ns_attr_group = {
	.name = "netswap",
	.attrs = ns_attrs,
};

const struct attribute_group *ns_attr_groups[] = {
	&ns_attr_group,
	NULL,
};

/* ------------------------------------------------------ fault injection -- */

/*
 * Writing a connection id (as in the connections file) cuts that connection
 * as if the link had dropped.
 */
static ssize_t ns_cut_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct ns_dev *dev = file->private_data;
	unsigned int id;
	int err;

	err = kstrtouint_from_user(ubuf, count, 0, &id);
	if (err)
		return err;
	if (id >= dev->nr_legs * dev->nr_conns)
		return -EINVAL;
	ns_conn_fail(&dev->legs[id / dev->nr_conns].conns[id % dev->nr_conns],
		     -ECONNABORTED, "cut by fault injection");
	return count;
}

static const struct file_operations ns_cut_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= ns_cut_write,
	.llseek	= noop_llseek,
};

void ns_debugfs_add(struct ns_dev *dev)
{
	struct dentry *dir;

	if (!ns_debugfs_root)
		return;
	dir = debugfs_create_dir(dev->disk->disk_name, ns_debugfs_root);
	debugfs_create_u32("drop_replies", 0600, dir, &dev->faults.drop_replies);
	debugfs_create_u32("stall_ms", 0600, dir, &dev->faults.stall_ms);
	debugfs_create_file("cut", 0200, dir, dev, &ns_cut_fops);
	dev->debugfs = dir;
}

void ns_debugfs_del(struct ns_dev *dev)
{
	debugfs_remove_recursive(dev->debugfs);
	dev->debugfs = NULL;
}

void ns_debugfs_init(void)
{
	ns_debugfs_root = debugfs_create_dir("netswap", NULL);
	if (IS_ERR(ns_debugfs_root))
		ns_debugfs_root = NULL;
}

void ns_debugfs_exit(void)
{
	debugfs_remove_recursive(ns_debugfs_root);
}
