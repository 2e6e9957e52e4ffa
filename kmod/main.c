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

int ns_dev_configure(struct ns_dev *dev, const struct ns_export_info *info)
{
	struct ns_queue_limits *lim = &dev->limits;
	u16 tf = info->tflags;
	u32 max_bytes;
	int err;

	dev->info = *info;
	if (dev->nr_conns > 1 && !(tf & NBD_TFLAG_CAN_MULTI_CONN)) {
		pr_info("%s: server does not allow multiple connections, using one\n",
			dev->name);
		dev->nr_conns = 1;
	}
	lim->lbs = max_t(u32, SECTOR_SIZE, info->min_block);
	max_bytes = min_t(u32, NS_MAX_REQ_BYTES,
			  rounddown(info->max_payload, PAGE_SIZE));
	lim->max_sectors = max_bytes >> SECTOR_SHIFT;
	lim->write_cache = tf & NBD_TFLAG_SEND_FLUSH;
	lim->fua = tf & NBD_TFLAG_SEND_FUA;
	lim->discard = tf & NBD_TFLAG_SEND_TRIM;
	lim->write_zeroes = tf & NBD_TFLAG_SEND_WRITE_ZEROES;
	/* Checksums hold only if a page cannot change while it is written. */
	lim->stable_writes = dev->cfg.integrity;
	dev->raw_size = info->size;
	dev->info.size = round_down(info->size, lim->lbs);
	err = ns_integrity_alloc(dev);
	if (err)
		return err;
	return ns_blk_init(dev);
}

static void ns_dev_free(struct ns_dev *dev, unsigned int nr_alloc)
{
	unsigned int i;

	/* An attach that failed early may have no connections at all. */
	for (i = 0; dev->conns && i < nr_alloc; i++) {
		if (dev->conns[i].rx_wq)
			destroy_workqueue(dev->conns[i].rx_wq);
		if (dev->conns[i].tx_wq)
			destroy_workqueue(dev->conns[i].tx_wq);
	}
	if (dev->ctl_wq)
		destroy_workqueue(dev->ctl_wq);
	ns_blk_free(dev);
	ns_integrity_free(dev);
	if (dev->memalloc_anchor)
		ns_sock_close(dev->memalloc_anchor);
	kfree(dev->conns);
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
static int ns_dev_alloc_wqs(struct ns_dev *dev, unsigned int nr_alloc)
{
	unsigned int i, flags = WQ_MEM_RECLAIM | WQ_HIGHPRI | WQ_UNBOUND;
	struct ns_conn *conn;

	dev->ctl_wq = alloc_workqueue("netswap%d-ctl", flags, 0, dev->index);
	if (!dev->ctl_wq)
		return -ENOMEM;
	for (i = 0; i < nr_alloc; i++) {
		conn = &dev->conns[i];
		ns_conn_init(dev, conn, i);
		conn->rx_wq = alloc_workqueue("netswap%d-c%u-rx", flags, 1,
					      dev->index, i);
		conn->tx_wq = alloc_workqueue("netswap%d-c%u-tx", flags, 1,
					      dev->index, i);
		if (!conn->rx_wq || !conn->tx_wq)
			return -ENOMEM;
	}
	return 0;
}

/* Fail the parked requests; from here on nothing is requeued. */
static void ns_dev_set_dying(struct ns_dev *dev)
{
	struct ns_cmd *cmd, *next;
	LIST_HEAD(failed);

	spin_lock(&dev->lock);
	dev->dying = true;
	list_splice_tail_init(&dev->parked_swap, &failed);
	list_splice_tail_init(&dev->parked_other, &failed);
	list_splice_tail_init(&dev->delayed, &failed);
	list_for_each_entry(cmd, &failed, node) {
		cmd->state = NS_CMD_IDLE;
		dev->by_tag[ns_cmd_rq(cmd)->tag] = NULL;
	}
	spin_unlock(&dev->lock);

	list_for_each_entry_safe(cmd, next, &failed, node) {
		list_del_init(&cmd->node);
		ns_finish(cmd, BLK_STS_IOERR);
	}
}

static void ns_dev_destroy(struct ns_dev *dev, unsigned int nr_alloc,
			   bool added)
{
	unsigned int i;

	ns_dev_set_dying(dev);
	cancel_delayed_work_sync(&dev->retry_work);
	for (i = 0; i < nr_alloc; i++)
		cancel_delayed_work_sync(&dev->conns[i].connect_work);
	/* Waits for I/O in flight; dead connections fail theirs now. */
	if (added)
		ns_blk_del(dev);
	for (i = 0; i < nr_alloc; i++)
		ns_conn_stop(&dev->conns[i]);
	ns_dev_free(dev, nr_alloc);
}

static int ns_dev_start(struct ns_item *it)
{
	const struct ns_config *cfg = &it->cfg;
	unsigned int i, nr_alloc = cfg->connections;
	struct ns_dev *dev;
	int err;

	if (!cfg->nr_addrs)
		return -EDESTADDRREQ;
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->cfg = *cfg;
	strscpy(dev->name, config_item_name(&it->item), sizeof(dev->name));
	spin_lock_init(&dev->lock);
	INIT_LIST_HEAD(&dev->parked_swap);
	INIT_LIST_HEAD(&dev->parked_other);
	INIT_LIST_HEAD(&dev->delayed);
	INIT_DELAYED_WORK(&dev->retry_work, ns_retry_work);
	dev->nr_conns = nr_alloc;
	dev->index = ida_alloc_max(&ns_index_ida, NS_MAX_DEVICES - 1, GFP_KERNEL);
	dev->conns = kcalloc(nr_alloc, sizeof(*dev->conns), GFP_KERNEL);
	dev->by_tag = kcalloc(cfg->queue_depth, sizeof(*dev->by_tag), GFP_KERNEL);
	if (ns_memalloc)
		dev->memalloc_anchor = ns_sock_anchor();
	if (dev->index < 0 || !dev->conns || !dev->by_tag ||
	    (ns_memalloc && !dev->memalloc_anchor)) {
		err = dev->index < 0 ? dev->index : -ENOMEM;
		goto out_free;
	}
	err = ns_dev_alloc_wqs(dev, nr_alloc);
	if (err)
		goto out_free;

	/* The first connection sizes the device (nvme-tcp's "new" setup). */
	err = ns_conn_setup(&dev->conns[0], true);
	if (err)
		goto out_free;
	for (i = 1; i < dev->nr_conns; i++)
		queue_delayed_work(dev->ctl_wq, &dev->conns[i].connect_work, 0);

	err = ns_blk_add(dev);
	if (err) {
		ns_dev_destroy(dev, nr_alloc, false);
		return err;
	}
	ns_debugfs_add(dev);
	it->dev = dev;
	pr_info("%s: %s attached, export '%s', %llu bytes, %u connection(s), integrity %s\n",
		dev->disk->disk_name, dev->name, dev->cfg.export,
		dev->info.size, dev->nr_conns,
		dev->cfg.integrity ? "on" : "off");
	return 0;

out_free:
	ns_dev_free(dev, nr_alloc);
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
	ns_dev_destroy(dev, dev->cfg.connections, true);
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

static ssize_t ns_item_addresses_show(struct config_item *item, char *page)
{
	struct ns_config *cfg = &to_ns_item(item)->cfg;
	unsigned int i;
	int len = 0;

	mutex_lock(&ns_cfg_lock);
	for (i = 0; i < cfg->nr_addrs; i++)
		len += scnprintf(page + len, PAGE_SIZE - len, "%s%pISpc",
				 i ? " " : "", &cfg->addrs[i]);
	mutex_unlock(&ns_cfg_lock);
	len += scnprintf(page + len, PAGE_SIZE - len, "\n");
	return len;
}

static ssize_t ns_item_addresses_store(struct config_item *item,
				       const char *page, size_t count)
{
	struct ns_item *it = to_ns_item(item);
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
		memcpy(it->cfg.addrs, addrs, n * sizeof(addrs[0]));
		it->cfg.nr_addrs = n;
	}
	mutex_unlock(&ns_cfg_lock);
	return err ? err : count;
}

static ssize_t ns_item_export_show(struct config_item *item, char *page)
{
	ssize_t len;

	mutex_lock(&ns_cfg_lock);
	len = scnprintf(page, PAGE_SIZE, "%s\n", to_ns_item(item)->cfg.export);
	mutex_unlock(&ns_cfg_lock);
	return len;
}

static ssize_t ns_item_export_store(struct config_item *item,
				    const char *page, size_t count)
{
	struct ns_item *it = to_ns_item(item);
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
		memcpy(it->cfg.export, page, len);
		it->cfg.export[len] = '\0';
	}
	mutex_unlock(&ns_cfg_lock);
	return err ? err : count;
}

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
