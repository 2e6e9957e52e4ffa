// SPDX-License-Identifier: GPL-2.0-only
/*
 * netswap.ko: module setup and the control plane.
 *
 * The control plane is configfs, as in null_blk: one directory per device
 * under /sys/kernel/config/netswap/, text attributes that a static CLI or a
 * busybox shell can write, and a "power" attribute whose write performs the
 * first connection and handshake synchronously and returns its errno, so
 * "connection refused" or "no such export" reaches the user as write(2)'s
 * error.  The directory's lifetime is the device's configuration lifetime;
 * everything after power-on (reconnects included) happens in the kernel.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/configfs.h>
#include <linux/idr.h>
#include <linux/inet.h>
#include <linux/kstrtox.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "netswap.h"

#define NS_VERSION		"0.2"
#define NS_MAX_DEVICES		1024

struct ns_item {
	struct config_item item;
	struct ns_config cfg;
	struct ns_dev *dev;		/* non-NULL while powered */
};

/* Serialises configuration writes against power on/off. */
static DEFINE_MUTEX(ns_cfg_lock);
static DEFINE_IDA(ns_index_ida);

static struct ns_item *to_ns_item(struct config_item *item)
{
	return container_of(item, struct ns_item, item);
}

/* ------------------------------------------------------------ the device -- */

/*
 * The device, from its legs' first handshakes: the size and the commands
 * every leg can serve.  A mirror's size is a whole number of integrity
 * blocks, the smaller leg's, so that every block has a dirty bit.
 */
static void ns_dev_merge_info(struct ns_dev *dev)
{
	struct ns_export_info *di = &dev->info;
	const struct ns_export_info *li;
	unsigned int i;

	*di = dev->legs[0].info;
	for (i = 1; i < dev->nr_legs; i++) {
		li = &dev->legs[i].info;
		di->size = min(di->size, li->size);
		di->tflags &= li->tflags | NBD_TFLAG_READ_ONLY;
		di->tflags |= li->tflags & NBD_TFLAG_READ_ONLY;
		di->min_block = max(di->min_block, li->min_block);
		di->max_payload = min(di->max_payload, li->max_payload);
	}
}

int ns_dev_configure(struct ns_dev *dev)
{
	struct ns_queue_limits *lim = &dev->limits;
	u16 tf;
	u32 max_bytes;
	int err;

	ns_dev_merge_info(dev);
	tf = dev->info.tflags;
	if (dev->nr_conns > 1 && !(tf & NBD_TFLAG_CAN_MULTI_CONN)) {
		pr_info("%s: server does not allow multiple connections, using one\n",
			dev->name);
		dev->nr_conns = 1;
	}
	lim->lbs = max_t(u32, SECTOR_SIZE, dev->info.min_block);
	max_bytes = min_t(u32, NS_MAX_REQ_BYTES,
			  rounddown(dev->info.max_payload, PAGE_SIZE));
	lim->max_sectors = max_bytes >> SECTOR_SHIFT;
	lim->write_cache = tf & NBD_TFLAG_SEND_FLUSH;
	lim->fua = tf & NBD_TFLAG_SEND_FUA;
	lim->discard = tf & NBD_TFLAG_SEND_TRIM;
	lim->write_zeroes = tf & NBD_TFLAG_SEND_WRITE_ZEROES;
	/* Checksums hold only if a page cannot change while it is written. */
	lim->stable_writes = dev->cfg.integrity;
	dev->info.size = round_down(dev->info.size, ns_mirrored(dev) ?
				    NS_INTEGRITY_BLOCK : lim->lbs);
	if (!dev->info.size)
		return -EINVAL;
	err = ns_integrity_alloc(dev);
	if (!err)
		err = ns_mirror_alloc(dev);
	if (err)
		return err;
	return ns_blk_init(dev);
}

static void ns_dev_free(struct ns_dev *dev)
{
	struct ns_conn *conn;
	struct ns_leg *leg;

	/* An attach that failed early may have no connections at all. */
	ns_for_each_conn(dev, conn) {
		if (conn->rx_wq)
			destroy_workqueue(conn->rx_wq);
		if (conn->tx_wq)
			destroy_workqueue(conn->tx_wq);
	}
	if (dev->ctl_wq)
		destroy_workqueue(dev->ctl_wq);
	if (dev->sync_wq)
		destroy_workqueue(dev->sync_wq);
	ns_blk_free(dev);
	ns_integrity_free(dev);
	ns_mirror_free(dev);
	if (dev->memalloc_anchor)
		ns_sock_close(dev->memalloc_anchor);
	for (leg = dev->legs; leg < dev->legs + NS_MAX_LEGS; leg++)
		kfree(leg->conns);
	kfree(dev->by_tag);
	if (dev->index >= 0)
		ida_free(&ns_index_ida, dev->index);
	kfree(dev);
}

/*
 * Every workqueue can reclaim memory: each connection gets its own rx and
 * tx queue (and so its own rescuer), because rx blocks in recvmsg for the
 * connection's whole life and tx may block on a full socket.
 */
static int ns_dev_alloc_wqs(struct ns_dev *dev)
{
	unsigned int flags = WQ_MEM_RECLAIM | WQ_HIGHPRI | WQ_UNBOUND;
	struct ns_conn *conn;

	dev->ctl_wq = alloc_workqueue("netswap%d-ctl", flags, 0, dev->index);
	dev->sync_wq = alloc_ordered_workqueue("netswap%d-sync", WQ_MEM_RECLAIM,
					       dev->index);
	if (!dev->ctl_wq || !dev->sync_wq)
		return -ENOMEM;
	ns_for_each_conn(dev, conn) {
		ns_conn_init(conn->leg, conn, conn - conn->leg->conns);
		conn->rx_wq = alloc_workqueue("netswap%d-l%u-c%u-rx", flags, 1,
					      dev->index, conn->leg->id, conn->id);
		conn->tx_wq = alloc_workqueue("netswap%d-l%u-c%u-tx", flags, 1,
					      dev->index, conn->leg->id, conn->id);
		if (!conn->rx_wq || !conn->tx_wq)
			return -ENOMEM;
	}
	return 0;
}

/* Fail the parked subs; from here on nothing is requeued. */
static void ns_dev_set_dying(struct ns_dev *dev)
{
	struct ns_sub *sub, *next;
	LIST_HEAD(failed);

	spin_lock(&dev->lock);
	dev->dying = true;
	list_splice_tail_init(&dev->parked_swap, &failed);
	list_splice_tail_init(&dev->parked_other, &failed);
	list_splice_tail_init(&dev->delayed, &failed);
	list_splice_tail_init(&dev->sync_wait, &failed);
	list_for_each_entry(sub, &failed, node)
		sub->state = NS_CMD_RECEIVING;	/* ours, to fail */
	spin_unlock(&dev->lock);

	list_for_each_entry_safe(sub, next, &failed, node) {
		list_del_init(&sub->node);
		ns_sub_done(sub, BLK_STS_IOERR);
	}
}

static void ns_dev_destroy(struct ns_dev *dev, bool added)
{
	struct ns_conn *conn;

	ns_dev_set_dying(dev);
	cancel_delayed_work_sync(&dev->retry_work);
	cancel_delayed_work_sync(&dev->leg_watch);
	ns_resync_stop(dev);
	ns_for_each_conn(dev, conn)
		cancel_delayed_work_sync(&conn->connect_work);
	/* Waits for I/O in flight; dead connections fail theirs now. */
	if (added)
		ns_blk_del(dev);
	ns_for_each_conn(dev, conn)
		ns_conn_stop(conn);
	ns_dev_free(dev);
}

/* The device and its legs, before any connection. */
static struct ns_dev *ns_dev_alloc(struct ns_item *it)
{
	const struct ns_config *cfg = &it->cfg;
	struct ns_leg *leg;
	struct ns_dev *dev;
	unsigned int i, k;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return NULL;
	dev->cfg = *cfg;
	strscpy(dev->name, config_item_name(&it->item), sizeof(dev->name));
	spin_lock_init(&dev->lock);
	mutex_init(&dev->link_lock);
	INIT_LIST_HEAD(&dev->parked_swap);
	INIT_LIST_HEAD(&dev->parked_other);
	INIT_LIST_HEAD(&dev->delayed);
	INIT_LIST_HEAD(&dev->sync_wait);
	INIT_DELAYED_WORK(&dev->retry_work, ns_retry_work);
	INIT_DELAYED_WORK(&dev->leg_watch, ns_leg_watch);
	INIT_WORK(&dev->resync_work, ns_resync_work);
	dev->nr_conns = cfg->connections;
	dev->nr_legs = cfg->legs[1].nr_addrs ? 2 : 1;
	dev->index = ida_alloc_max(&ns_index_ida, NS_MAX_DEVICES - 1, GFP_KERNEL);
	for (i = 0; i < dev->nr_legs; i++) {
		leg = &dev->legs[i];
		leg->dev = dev;
		leg->id = i;
		leg->cfg = &dev->cfg.legs[i];
		leg->conns = kcalloc(dev->nr_conns, sizeof(*leg->conns), GFP_KERNEL);
		for (k = 0; leg->conns && k < dev->nr_conns; k++) {
			leg->conns[k].dev = dev;
			leg->conns[k].leg = leg;
		}
		dev->resync_link[i].leg = leg;
	}
	dev->by_tag = kcalloc(cfg->queue_depth, sizeof(*dev->by_tag), GFP_KERNEL);
	if (ns_memalloc)
		dev->memalloc_anchor = ns_sock_anchor();
	return dev;
}

static int ns_dev_start(struct ns_item *it)
{
	const struct ns_config *cfg = &it->cfg;
	struct ns_conn *conn;
	struct ns_leg *leg;
	struct ns_dev *dev;
	int err;

	if (!cfg->legs[0].nr_addrs)
		return -EDESTADDRREQ;
	/* The mirror's resync and probes need the integrity tables. */
	if (cfg->legs[1].nr_addrs && !cfg->integrity)
		return -EINVAL;
	dev = ns_dev_alloc(it);
	if (!dev)
		return -ENOMEM;
	err = -ENOMEM;
	if (dev->index < 0 || !dev->by_tag || !dev->legs[0].conns ||
	    (dev->nr_legs > 1 && !dev->legs[1].conns) ||
	    (ns_memalloc && !dev->memalloc_anchor)) {
		err = dev->index < 0 ? dev->index : -ENOMEM;
		goto out_free;
	}
	err = ns_dev_alloc_wqs(dev);
	if (err)
		goto out_free;

	/* Each leg's first connection; together they size the device. */
	for (leg = dev->legs; leg < dev->legs + dev->nr_legs; leg++) {
		err = ns_conn_setup(&leg->conns[0], true);
		if (err) {
			pr_info("%s: leg %u: first connection failed (%d)\n",
				dev->name, leg->id, err);
			goto out_destroy;
		}
	}
	err = ns_dev_configure(dev);
	if (err)
		goto out_destroy;
	ns_for_each_conn(dev, conn)
		if (conn->id && conn->id < dev->nr_conns)
			queue_delayed_work(dev->ctl_wq, &conn->connect_work, 0);

	err = ns_blk_add(dev);
	if (err)
		goto out_destroy;
	ns_debugfs_add(dev);
	it->dev = dev;
	pr_info("%s: %s attached, export '%s', %llu bytes, %u leg(s) of %u connection(s), integrity %s\n",
		dev->disk->disk_name, dev->name, dev->cfg.legs[0].export,
		dev->info.size, dev->nr_legs, dev->nr_conns,
		dev->cfg.integrity ? "on" : "off");
	return 0;

out_destroy:
	ns_dev_destroy(dev, false);
	return err;
out_free:
	ns_dev_free(dev);
	return err;
}

static int ns_dev_stop(struct ns_item *it, bool force)
{
	struct ns_dev *dev = it->dev;

	/* Swap or a mount on it: detaching would turn into I/O errors. */
	if (!force && disk_openers(dev->disk))
		return -EBUSY;
	pr_info("%s: detaching\n", dev->disk->disk_name);
	ns_debugfs_del(dev);
	ns_dev_destroy(dev, true);
	it->dev = NULL;
	return 0;
}

/* ------------------------------------------------------------- configfs -- */

/* "HOST:PORT", "[V6]:PORT", or a bare host with the default port. */
static int ns_parse_addr(char *tok, struct sockaddr_storage *ss)
{
	char *host = tok, *port = NULL, *end;

	if (*tok == '[') {
		end = strchr(tok, ']');
		if (!end)
			return -EINVAL;
		host = tok + 1;
		*end = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -EINVAL;
	} else {
		end = strrchr(tok, ':');
		if (end && strchr(tok, ':') == end) {
			*end = '\0';
			port = end + 1;
		}
	}
	return inet_pton_with_scope(&init_net, AF_UNSPEC, host,
				    port ? port : NS_DEFAULT_PORT, ss);
}

static ssize_t ns_addrs_show(const struct ns_leg_config *lc, char *page)
{
	unsigned int i;
	int len = 0;

	mutex_lock(&ns_cfg_lock);
	for (i = 0; i < lc->nr_addrs; i++)
		len += scnprintf(page + len, PAGE_SIZE - len, "%s%pISpc",
				 i ? " " : "", &lc->addrs[i]);
	mutex_unlock(&ns_cfg_lock);
	len += scnprintf(page + len, PAGE_SIZE - len, "\n");
	return len;
}

static ssize_t ns_addrs_store(struct ns_item *it, struct ns_leg_config *lc,
			      const char *page, size_t count)
{
	struct sockaddr_storage addrs[NS_MAX_ADDRS];
	char *buf, *cur, *tok;
	unsigned int n = 0;
	int err = 0;

	buf = kstrndup(page, count, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = buf;
	while ((tok = strsep(&cur, " ,\t\n"))) {
		if (!*tok)
			continue;
		if (n == NS_MAX_ADDRS) {
			err = -E2BIG;
			break;
		}
		err = ns_parse_addr(tok, &addrs[n]);
		if (err)
			break;
		n++;
	}
	kfree(buf);
	if (!err && !n)
		err = -EINVAL;
	if (err)
		return err;

	mutex_lock(&ns_cfg_lock);
	if (it->dev) {
		err = -EBUSY;
	} else {
		memcpy(lc->addrs, addrs, n * sizeof(addrs[0]));
		lc->nr_addrs = n;
	}
	mutex_unlock(&ns_cfg_lock);
	return err ? err : count;
}

static ssize_t ns_export_show(const struct ns_leg_config *lc, char *page)
{
	ssize_t len;

	mutex_lock(&ns_cfg_lock);
	len = scnprintf(page, PAGE_SIZE, "%s\n", lc->export);
	mutex_unlock(&ns_cfg_lock);
	return len;
}

static ssize_t ns_export_store(struct ns_item *it, struct ns_leg_config *lc,
			       const char *page, size_t count)
{
	size_t len = count;
	int err = 0;

	if (len && page[len - 1] == '\n')
		len--;
	if (len >= NS_MAX_EXPORT || memchr(page, '\0', len))
		return -EINVAL;
	mutex_lock(&ns_cfg_lock);
	if (it->dev) {
		err = -EBUSY;
	} else {
		memcpy(lc->export, page, len);
		lc->export[len] = '\0';
	}
	mutex_unlock(&ns_cfg_lock);
	return err ? err : count;
}

/*
 * A leg's address list and export name: "addresses"/"export" for the first,
 * "mirror_addresses"/"mirror_export" for the mirror (which the power-on
 * uses only if its addresses were written).
 */
#define NS_LEG_ATTRS(_pfx, _leg)					\
static ssize_t ns_item_##_pfx##addresses_show(struct config_item *item,	\
					      char *page)		\
{									\
	return ns_addrs_show(&to_ns_item(item)->cfg.legs[_leg], page);	\
}									\
static ssize_t ns_item_##_pfx##addresses_store(struct config_item *item, \
					       const char *page, size_t count) \
{									\
	struct ns_item *it = to_ns_item(item);				\
									\
	return ns_addrs_store(it, &it->cfg.legs[_leg], page, count);	\
}									\
static ssize_t ns_item_##_pfx##export_show(struct config_item *item,	\
					   char *page)			\
{									\
	return ns_export_show(&to_ns_item(item)->cfg.legs[_leg], page);	\
}									\
static ssize_t ns_item_##_pfx##export_store(struct config_item *item,	\
					    const char *page, size_t count) \
{									\
	struct ns_item *it = to_ns_item(item);				\
									\
	return ns_export_store(it, &it->cfg.legs[_leg], page, count);	\
}

NS_LEG_ATTRS(, 0)
NS_LEG_ATTRS(mirror_, 1)

/*
 * Unsigned settings, each with its bounds; all frozen while powered.  The
 * attribute comes first so the macro ends with a function body.
 */
#define NS_UINT_ATTR(_name, _min, _max)					\
static ssize_t ns_item_##_name##_show(struct config_item *item, char *page); \
static ssize_t ns_item_##_name##_store(struct config_item *item,	\
				       const char *page, size_t count);	\
CONFIGFS_ATTR(ns_item_, _name);						\
static ssize_t ns_item_##_name##_show(struct config_item *item, char *page) \
{									\
	return sprintf(page, "%u\n", to_ns_item(item)->cfg._name);	\
}									\
static ssize_t ns_item_##_name##_store(struct config_item *item,	\
				       const char *page, size_t count)	\
{									\
	struct ns_item *it = to_ns_item(item);				\
	unsigned int v;							\
	int err = kstrtouint(page, 0, &v);				\
									\
	if (err)							\
		return err;						\
	if (v < (_min) || v > (_max))					\
		return -ERANGE;						\
	mutex_lock(&ns_cfg_lock);					\
	if (it->dev)							\
		err = -EBUSY;						\
	else								\
		it->cfg._name = v;					\
	mutex_unlock(&ns_cfg_lock);					\
	return err ? err : count;					\
}

/* One attribute per NS_CFG_UINT of proto/netswap_ctl.h. */
#define NS_CFG_UINT(name, min, max, def, help) NS_UINT_ATTR(name, min, max)
#include "netswap_ctl.h"

#define NS_CFG_UINT(name, min, max, def, help) NS_CFG_IDX_##name,
enum ns_cfg_idx {
#include "netswap_ctl.h"
	NS_CFG_NR_UINTS
};

#define NS_CFG_UINT(name, min, max, def, help) .name = def,
static const struct ns_config ns_cfg_defaults = {
#include "netswap_ctl.h"
};

CONFIGFS_ATTR(ns_item_, addresses);
CONFIGFS_ATTR(ns_item_, export);
CONFIGFS_ATTR(ns_item_, mirror_addresses);
CONFIGFS_ATTR(ns_item_, mirror_export);

static ssize_t ns_item_power_show(struct config_item *item, char *page)
{
	return sprintf(page, "%d\n", !!to_ns_item(item)->dev);
}

static ssize_t ns_item_power_store(struct config_item *item,
				   const char *page, size_t count)
{
	struct ns_item *it = to_ns_item(item);
	bool on;
	int err;

	err = kstrtobool(page, &on);
	if (err)
		return err;
	mutex_lock(&ns_cfg_lock);
	if (on && !it->dev)
		err = ns_dev_start(it);
	else if (!on && it->dev)
		err = ns_dev_stop(it, false);
	mutex_unlock(&ns_cfg_lock);
	return err ? err : count;
}
CONFIGFS_ATTR(ns_item_, power);

static ssize_t ns_item_device_show(struct config_item *item, char *page)
{
	struct ns_item *it = to_ns_item(item);
	ssize_t len;

	mutex_lock(&ns_cfg_lock);
	len = sprintf(page, "%s\n", it->dev ? it->dev->disk->disk_name : "");
	mutex_unlock(&ns_cfg_lock);
	return len;
}
CONFIGFS_ATTR_RO(ns_item_, device);

#define NS_CFG_UINT(name, min, max, def, help) \
	[NS_CFG_IDX_##name] = &ns_item_attr_##name,
static struct configfs_attribute *ns_item_attrs[] = {
#include "netswap_ctl.h"
	[NS_CFG_NR_UINTS] = &ns_item_attr_addresses,
	&ns_item_attr_export,
	&ns_item_attr_mirror_addresses,
	&ns_item_attr_mirror_export,
	&ns_item_attr_power,
	&ns_item_attr_device,
	NULL,
};

static void ns_item_release(struct config_item *item)
{
	kfree(to_ns_item(item));
}

static struct configfs_item_operations ns_item_ops = {
	.release	= ns_item_release,
};

static const struct config_item_type ns_item_type = {
	.ct_item_ops	= &ns_item_ops,
	.ct_attrs	= ns_item_attrs,
	.ct_owner	= THIS_MODULE,
};

static struct config_item *ns_group_make_item(struct config_group *group,
					      const char *name)
{
	struct ns_item *it;

	if (strlen(name) >= NS_MAX_NAME)
		return ERR_PTR(-ENAMETOOLONG);
	it = kzalloc(sizeof(*it), GFP_KERNEL);
	if (!it)
		return ERR_PTR(-ENOMEM);
	it->cfg = ns_cfg_defaults;
	config_item_init_type_name(&it->item, name, &ns_item_type);
	return &it->item;
}

/* rmdir cannot fail: a powered device goes away even if it is open. */
static void ns_group_drop_item(struct config_group *group,
			       struct config_item *item)
{
	struct ns_item *it = to_ns_item(item);

	mutex_lock(&ns_cfg_lock);
	if (it->dev)
		ns_dev_stop(it, true);
	mutex_unlock(&ns_cfg_lock);
	config_item_put(item);
}

static ssize_t ns_group_version_show(struct config_item *item, char *page)
{
	return sprintf(page, "%s\n", NS_VERSION);
}
CONFIGFS_ATTR_RO(ns_group_, version);

static struct configfs_attribute *ns_group_attrs[] = {
	&ns_group_attr_version,
	NULL,
};

static struct configfs_group_operations ns_group_ops = {
	.make_item	= ns_group_make_item,
	.drop_item	= ns_group_drop_item,
};

static const struct config_item_type ns_group_type = {
	.ct_group_ops	= &ns_group_ops,
	.ct_attrs	= ns_group_attrs,
	.ct_owner	= THIS_MODULE,
};

static struct configfs_subsystem ns_subsys = {
	.su_group = {
		.cg_item = {
			.ci_namebuf	= "netswap",
			.ci_type	= &ns_group_type,
		},
	},
};

/* --------------------------------------------------------------- module -- */

static int __init ns_init(void)
{
	int err;

	err = ns_register_blkdev();
	if (err)
		return err;
	ns_debugfs_init();
	config_group_init(&ns_subsys.su_group);
	mutex_init(&ns_subsys.su_mutex);
	err = configfs_register_subsystem(&ns_subsys);
	if (err) {
		ns_debugfs_exit();
		ns_unregister_blkdev();
		return err;
	}
	if (ns_memalloc)
		pr_info("version %s loaded\n", NS_VERSION);
	else
		pr_warn("version %s loaded with memalloc=0: sockets without the memory reserves, for testing only; swapping to it can deadlock\n",
			NS_VERSION);
	return 0;
}

/* configfs pins the module while any device directory exists. */
static void __exit ns_exit(void)
{
	configfs_unregister_subsystem(&ns_subsys);
	ns_debugfs_exit();
	ns_unregister_blkdev();
	ida_destroy(&ns_index_ida);
}

module_init(ns_init);
module_exit(ns_exit);
MODULE_DESCRIPTION("netswap: swap-safe NBD block device");
MODULE_LICENSE("GPL");
MODULE_VERSION(NS_VERSION);
