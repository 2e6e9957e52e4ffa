// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection life: one path builds a connection, the first time or the
 * hundredth (ns_conn_setup), one path tears it down (ns_conn_teardown).
 *
 *   DOWN --connect_work--> CONNECTING --> LIVE --ns_conn_fail()--> FAILED
 *    ^                          |                                   |
 *    +------- setup failed -----+------------- err_work ------------+
 *
 * Every move goes through ns_conn_set_state(), which refuses any other.
 * ns_conn_fail() may be called from anywhere (rx, tx, the blk-mq timeout
 * handler); only the LIVE -> FAILED transition queues err_work, so a
 * connection is torn down once.  err_work stops the socket, waits for rx and
 * tx to let go, and hands every request the connection held to another live
 * connection or parks it: requests are requeued, never failed, unless the
 * user asked for an io_timeout and it has passed.  Then connect_work retries
 * with backoff (100 ms doubling to 5 s, with jitter), forever.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/sched/mm.h>

#include "netswap.h"

const char *ns_conn_state_name(enum ns_conn_state state)
{
	switch (state) {
	case NS_CONN_DOWN:
		return "down";
	case NS_CONN_CONNECTING:
		return "connecting";
	case NS_CONN_LIVE:
		return "live";
	case NS_CONN_FAILED:
		return "failed";
	}
	return "?";
}

/* The legal moves of the diagram above, as bit masks of target states. */
static const u8 ns_conn_moves[] = {
	[NS_CONN_DOWN]		= BIT(NS_CONN_CONNECTING),
	[NS_CONN_CONNECTING]	= BIT(NS_CONN_LIVE) | BIT(NS_CONN_DOWN),
	[NS_CONN_LIVE]		= BIT(NS_CONN_FAILED),
	[NS_CONN_FAILED]	= BIT(NS_CONN_DOWN),
};

/* Under dev->lock.  An illegal move is a bug: refuse it, loudly, once. */
bool ns_conn_set_state(struct ns_conn *conn, enum ns_conn_state to)
{
	enum ns_conn_state from = conn->state;

	lockdep_assert_held(&conn->dev->lock);
	if (WARN_ONCE(!(ns_conn_moves[from] & BIT(to)),
		      "netswap: connection %u: %s -> %s refused\n", conn->id,
		      ns_conn_state_name(from), ns_conn_state_name(to)))
		return false;
	conn->state = to;
	/* The leg counts its live connections: a leg with none is down. */
	if (to == NS_CONN_LIVE) {
		conn->gen++;
		ns_leg_up_locked(conn->leg);
	} else if (from == NS_CONN_LIVE) {
		ns_leg_down_locked(conn->leg);
	}
	return true;
}

void ns_conn_init(struct ns_leg *leg, struct ns_conn *conn, unsigned int id)
{
	conn->dev = leg->dev;
	conn->leg = leg;
	conn->id = id;
	conn->state = NS_CONN_DOWN;
	INIT_LIST_HEAD(&conn->send_swap);
	INIT_LIST_HEAD(&conn->send_other);
	INIT_LIST_HEAD(&conn->inflight);
	INIT_WORK(&conn->rx_work, ns_rx_work);
	INIT_WORK(&conn->tx_work, ns_tx_work);
	INIT_WORK(&conn->err_work, ns_err_work);
	INIT_DELAYED_WORK(&conn->connect_work, ns_connect_work);
	init_waitqueue_head(&conn->send_wait);
	conn->backoff_ms = NS_BACKOFF_MIN_MS;
}

/*
 * A reconnect must find the export its leg was built on.  Sizes compare as
 * the device uses them, rounded down to its block size: an export whose
 * size is not a multiple of it is still the same export.
 */
const char *ns_check_export(struct ns_leg *leg, const struct ns_export_info *info)
{
	struct ns_dev *dev = leg->dev;
	const struct ns_queue_limits *lim = &dev->limits;
	u16 tf = info->tflags;

	if (round_down(info->size, lim->lbs) != round_down(leg->info.size, lim->lbs))
		return "the export's size changed";
	if ((tf & NBD_TFLAG_READ_ONLY) && !(dev->info.tflags & NBD_TFLAG_READ_ONLY))
		return "the export became read-only";
	if ((lim->write_cache && !(tf & NBD_TFLAG_SEND_FLUSH)) ||
	    (lim->fua && !(tf & NBD_TFLAG_SEND_FUA)) ||
	    (lim->discard && !(tf & NBD_TFLAG_SEND_TRIM)) ||
	    (lim->write_zeroes && !(tf & NBD_TFLAG_SEND_WRITE_ZEROES)))
		return "the export lost a command the device relies on";
	if (!ns_conn_multi_ok(dev, tf))
		return "the server no longer allows several connections";
	if (info->min_block > lim->lbs ||
	    info->max_payload < (lim->max_sectors << SECTOR_SHIFT))
		return "the export's block sizes no longer fit the device";
	return NULL;
}

/* Only the first of a run of identical refusals is worth a log line. */
static int ns_refuse_export(struct ns_conn *conn, const struct ns_export_info *info,
			    const char *why)
{
	struct ns_dev *dev = conn->dev;

	if (conn->last_error != -EMEDIUMTYPE)
		pr_err("%s: %pISpc: %s (size %llu, flags 0x%x; it had %llu, 0x%x): it cannot serve this device, retrying until it can\n",
		       dev->disk->disk_name, &conn->leg->cfg->addrs[conn->addr_idx],
		       why, info->size, info->tflags, conn->leg->info.size,
		       conn->leg->info.tflags);
	return -EMEDIUMTYPE;
}

/* Under dev->lock: give each sub to a live connection, or park it. */
static void ns_requeue_locked(struct ns_dev *dev, struct list_head *victims,
			      struct list_head *failed)
{
	struct ns_sub *sub, *next;

	list_for_each_entry_safe(sub, next, victims, node) {
		list_del_init(&sub->node);
		if (ns_cmd_expired(dev, sub->cmd)) {
			sub->state = NS_CMD_RECEIVING;	/* ours, to fail */
			list_add_tail(&sub->node, failed);
			continue;
		}
		if (sub->state == NS_CMD_SENT)
			atomic64_inc(&dev->stats.resends);
		ns_dispatch_locked(dev, sub);
	}
}

static void ns_fail_list(struct list_head *failed)
{
	struct ns_sub *sub, *next;

	list_for_each_entry_safe(sub, next, failed, node) {
		list_del_init(&sub->node);
		ns_sub_done(sub, BLK_STS_IOERR);
	}
}

static void ns_schedule_reconnect(struct ns_conn *conn)
{
	unsigned int ms = READ_ONCE(conn->backoff_ms);
	unsigned int delay;

	/* +-25% so that many clients of one server do not reconnect in step. */
	delay = ms - ms / 4 + get_random_u32_below(ms / 2 + 1);
	WRITE_ONCE(conn->backoff_ms, min(ms * 2, NS_BACKOFF_MAX_MS));
	queue_delayed_work(conn->dev->ctl_wq, &conn->connect_work,
			   msecs_to_jiffies(delay));
}

/*
 * Connect and handshake to @leg, on @addr_idx's address first, with the
 * reserves (a reconnect happens when memory is scarcest).
 */
static int ns_leg_connect(struct ns_leg *leg, unsigned int *addr_idx,
			  u8 *scratch, struct socket **sockp,
			  struct ns_export_info *info)
{
	unsigned int noreclaim = ns_noreclaim_save();
	unsigned int idx = *addr_idx;
	int err;

	err = ns_sock_connect(leg, &idx, sockp);
	if (err)
		goto out;
	err = ns_handshake(leg, *sockp, scratch, info);
	if (err) {
		ns_sock_close(*sockp);
		/*
		 * It answered but refused (a gateway standing by, an export
		 * gone): start with the next address next time, so a list of
		 * gateways is walked rather than stuck on one.
		 */
		idx = (idx + 1) % leg->cfg->nr_addrs;
	}
	*addr_idx = idx;
out:
	ns_noreclaim_restore(noreclaim);
	return err;
}

/*
 * Connect, handshake, check the export (or record it, the first time: the
 * device is sized from its legs' first handshakes, ns_dev_configure()),
 * read back a few known blocks, go live.  The probe and the check happen
 * before any request can reach the new socket.
 */
int ns_conn_setup(struct ns_conn *conn, bool new)
{
	struct ns_dev *dev = conn->dev;
	struct ns_export_info info;
	const char *why;
	LIST_HEAD(parked);
	LIST_HEAD(failed);
	struct socket *sock;
	unsigned int noreclaim;
	int err;

	spin_lock(&dev->lock);
	if (dev->dying) {
		spin_unlock(&dev->lock);
		return -ESHUTDOWN;
	}
	ns_conn_set_state(conn, NS_CONN_CONNECTING);
	spin_unlock(&dev->lock);

	err = ns_leg_connect(conn->leg, &conn->addr_idx, conn->scratch, &sock,
			     &info);
	if (err)
		goto out_down;

	if (new) {
		conn->leg->info = info;
	} else {
		why = ns_check_export(conn->leg, &info);
		err = why ? ns_refuse_export(conn, &info, why) : 0;
	}
	if (!err && !new) {
		noreclaim = ns_noreclaim_save();
		err = ns_integrity_probe(conn, sock);
		ns_noreclaim_restore(noreclaim);
	}
	if (err)
		goto out_close;

	/* Transmission: no socket timeouts, the request timeout rules. */
	ns_sock_set_timeout(sock, MAX_SCHEDULE_TIMEOUT);

	spin_lock(&dev->lock);
	if (dev->dying) {
		spin_unlock(&dev->lock);
		err = -ESHUTDOWN;
		goto out_close;
	}
	conn->sock = sock;
	ns_conn_set_state(conn, NS_CONN_LIVE);
	conn->live_since = jiffies;
	conn->last_error = 0;
	conn->connects++;
	/* Before anyone can fail it: rx must own the socket it will read. */
	queue_work(conn->rx_wq, &conn->rx_work);
	list_splice_tail_init(&dev->parked_swap, &parked);
	list_splice_tail_init(&dev->parked_other, &parked);
	ns_requeue_locked(dev, &parked, &failed);
	spin_unlock(&dev->lock);

	ns_fail_list(&failed);
	return 0;

out_close:
	ns_sock_close(sock);
out_down:
	spin_lock(&dev->lock);
	ns_conn_set_state(conn, NS_CONN_DOWN);
	conn->last_error = err;
	spin_unlock(&dev->lock);
	return err;
}

/* Fail @conn if it is still incarnation @gen, LIVE.  Any context. */
void ns_conn_fail_gen(struct ns_conn *conn, u32 gen, int err, const char *why)
{
	struct ns_dev *dev = conn->dev;

	spin_lock(&dev->lock);
	if (conn->state != NS_CONN_LIVE || conn->gen != gen) {
		spin_unlock(&dev->lock);
		return;
	}
	ns_conn_set_state(conn, NS_CONN_FAILED);
	conn->last_error = err;
	spin_unlock(&dev->lock);

	atomic64_inc(&dev->stats.lost_connections);
	if (!READ_ONCE(dev->dying))
		pr_warn_ratelimited("%s: connection %u lost: %s (%d)\n",
				    dev->disk ? dev->disk->disk_name : dev->name,
				    conn->id, why, err);
	queue_work(dev->ctl_wq, &conn->err_work);
}

/*
 * Fail whatever incarnation of @conn is live: for its own rx and tx (which
 * never outlive their incarnation) and for fault injection.
 */
void ns_conn_fail(struct ns_conn *conn, int err, const char *why)
{
	ns_conn_fail_gen(conn, READ_ONCE(conn->gen), err, why);
}

/*
 * Stop a FAILED connection.  The shutdown wakes rx and tx wherever they
 * block; once both works have returned nothing else touches the requests on
 * this connection.  The socket is released before they move: NBD has no
 * fencing, and a WRITE resent on another connection while its first copy
 * could still reach the server might be overtaken by it.
 */
static void ns_conn_teardown(struct ns_conn *conn)
{
	struct ns_dev *dev = conn->dev;
	LIST_HEAD(victims);
	LIST_HEAD(failed);
	struct socket *sock;

	ns_sock_shutdown(conn->sock);
	cancel_work_sync(&conn->tx_work);
	cancel_work_sync(&conn->rx_work);

	spin_lock(&dev->lock);
	list_splice_tail_init(&conn->send_swap, &victims);
	list_splice_tail_init(&conn->inflight, &victims);
	list_splice_tail_init(&conn->send_other, &victims);
	conn->nr_inflight = 0;
	sock = conn->sock;
	conn->sock = NULL;
	ns_conn_set_state(conn, NS_CONN_DOWN);
	spin_unlock(&dev->lock);

	ns_sock_close(sock);

	spin_lock(&dev->lock);
	ns_requeue_locked(dev, &victims, &failed);
	spin_unlock(&dev->lock);
	ns_fail_list(&failed);
}

void ns_err_work(struct work_struct *work)
{
	struct ns_conn *conn = container_of(work, struct ns_conn, err_work);

	ns_conn_teardown(conn);
	if (!READ_ONCE(conn->dev->dying))
		ns_schedule_reconnect(conn);
}

void ns_connect_work(struct work_struct *work)
{
	struct ns_conn *conn = container_of(to_delayed_work(work),
					    struct ns_conn, connect_work);
	struct ns_dev *dev = conn->dev;
	int err;

	err = ns_conn_setup(conn, false);
	if (!err) {
		/* Extra connections of a fresh device come up here too. */
		if (conn->connects > 1) {
			atomic64_inc(&dev->stats.reconnects);
			pr_info("%s: leg %u connection %u re-established\n",
				dev->disk->disk_name, conn->leg->id, conn->id);
		}
		return;
	}
	if (READ_ONCE(dev->dying))
		return;
	atomic64_inc(&dev->stats.failed_connects);
	ns_schedule_reconnect(conn);
}

/* Detach: the device is dying, so nothing reconnects or gets requeued. */
void ns_conn_stop(struct ns_conn *conn)
{
	struct ns_dev *dev = conn->dev;
	bool live;

	cancel_delayed_work_sync(&conn->connect_work);
	flush_work(&conn->err_work);

	spin_lock(&dev->lock);
	live = conn->state == NS_CONN_LIVE;
	if (live)
		ns_conn_set_state(conn, NS_CONN_FAILED);
	spin_unlock(&dev->lock);

	if (live) {
		ns_send_disconnect(conn);
		ns_conn_teardown(conn);
	}
	flush_work(&conn->err_work);
	cancel_delayed_work_sync(&conn->connect_work);
}

/*
 * The resync worker's side connection to a leg (mirror.c): the same
 * connect, handshake and export check as a data connection, then plain
 * blocking I/O with no socket timeout but TCP's own (keepalive, user
 * timeout).
 */
int ns_link_open(struct ns_link *link)
{
	struct ns_dev *dev = link->leg->dev;
	struct ns_export_info info;
	struct socket *sock;
	const char *why;
	int err;

	if (link->sock)
		return 0;
	err = ns_leg_connect(link->leg, &link->addr_idx, link->scratch, &sock,
			     &info);
	if (err)
		return err;
	why = ns_check_export(link->leg, &info);
	if (why) {
		ns_sock_close(sock);
		return -EMEDIUMTYPE;
	}
	ns_sock_set_timeout(sock, MAX_SCHEDULE_TIMEOUT);
	mutex_lock(&dev->link_lock);
	link->sock = sock;
	mutex_unlock(&dev->link_lock);
	return 0;
}

void ns_link_close(struct ns_link *link)
{
	struct socket *sock;
	struct ns_dev *dev;

	if (!link->leg)
		return;		/* the mirror link of a single leg */
	dev = link->leg->dev;
	mutex_lock(&dev->link_lock);
	sock = link->sock;
	link->sock = NULL;
	mutex_unlock(&dev->link_lock);
	if (sock)
		ns_sock_close(sock);
}
