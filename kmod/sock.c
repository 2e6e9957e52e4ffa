// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wire: making a memalloc socket, sending requests with the bio pages
 * themselves (TCP holds them, no copy), receiving replies into the
 * connection's preallocated header buffer and read payloads straight into
 * the bio pages.  Nothing here allocates except socket creation, which only
 * the connect path does.
 */
#define pr_fmt(fmt) "netswap: " fmt

#include <linux/bvec.h>
#include <linux/delay.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/tcp.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "netswap.h"

bool ns_memalloc = true;
module_param_named(memalloc, ns_memalloc, bool, 0444);
MODULE_PARM_DESC(memalloc,
		 "test switch, only at load: 0 = ordinary sockets without the memory reserves (to show the deadlock they prevent); default 1");

static bool ns_zerocopy = true;
module_param_named(zerocopy, ns_zerocopy, bool, 0444);
MODULE_PARM_DESC(zerocopy,
		 "only at load: 1 (default) = a write's pages go to TCP by reference; 0 = TCP copies them into memory it allocates, as the kernel's nbd does");

/*
 * Every byte of the socket's traffic may be what frees memory, so it may use
 * the PFMEMALLOC reserves, and its page fragments must come from the
 * socket (sk_allocation) rather than from whatever task happens to send.
 *
 * A link that died while idle must be found before the next swap-out needs
 * it: keepalive probes after req_timeout/3 of silence, and TCP_USER_TIMEOUT
 * bounds how long sent data may stay unacknowledged, so a dead peer costs
 * about req_timeout whether or not requests are in flight.
 */
static void ns_sock_prepare(struct socket *sock, const struct ns_config *cfg)
{
	struct sock *sk = sock->sk;
	int idle = max(1U, cfg->req_timeout / 3);

	if (ns_memalloc) {
		sk_set_memalloc(sk);
		sk->sk_allocation = GFP_NOIO | __GFP_MEMALLOC;
	} else {
		sk->sk_allocation = GFP_NOIO;
	}
	sk->sk_use_task_frag = false;
	sock_no_linger(sk);
	tcp_sock_set_nodelay(sk);
	sock_set_keepalive(sk);
	tcp_sock_set_keepidle(sk, idle);
	tcp_sock_set_keepintvl(sk, idle);
	tcp_sock_set_keepcnt(sk, 3);
	tcp_sock_set_user_timeout(sk, cfg->req_timeout * MSEC_PER_SEC);
	ns_sock_set_timeout(sock, cfg->connect_timeout * HZ);
}

/*
 * The device's idle memalloc socket (see ns_dev.memalloc_anchor).  Never
 * connected; its only job is to hold the kernel's memalloc-socket count up.
 */
struct socket *ns_sock_anchor(void)
{
	struct socket *sock;

	if (sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock))
		return NULL;
	sk_set_memalloc(sock->sk);
	return sock;
}

void ns_sock_set_timeout(struct socket *sock, long timeo)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	sk->sk_sndtimeo = timeo;
	sk->sk_rcvtimeo = timeo;
	release_sock(sk);
}

static int ns_addr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
					   sizeof(struct sockaddr_in);
}

/*
 * Try each configured address once, starting with the one that answered
 * last.  The connect honours sk_sndtimeo, so a link that is down costs
 * connect_timeout seconds per address, not TCP's two minutes of SYN retries.
 */
int ns_sock_connect(struct ns_leg *leg, unsigned int *addr_idx,
		    struct socket **sockp)
{
	const struct ns_leg_config *lc = leg->cfg;
	struct sockaddr_storage *ss;
	struct socket *sock;
	unsigned int i, idx;
	int err = -EDESTADDRREQ;

	for (i = 0; i < lc->nr_addrs; i++) {
		idx = (*addr_idx + i) % lc->nr_addrs;
		ss = (struct sockaddr_storage *)&lc->addrs[idx];
		err = sock_create_kern(&init_net, ss->ss_family, SOCK_STREAM,
				       IPPROTO_TCP, &sock);
		if (err)
			continue;
		ns_sock_prepare(sock, &leg->dev->cfg);
		err = kernel_connect(sock, (struct sockaddr *)ss,
				     ns_addr_len(ss), 0);
		if (!err) {
			*addr_idx = idx;
			*sockp = sock;
			return 0;
		}
		ns_sock_close(sock);
		/* A connect that ran out of time reports "in progress". */
		if (err == -EINPROGRESS || err == -EAGAIN)
			err = -ETIMEDOUT;
	}
	return err;
}

/* Wakes rx and tx wherever they block on this socket. */
void ns_sock_shutdown(struct socket *sock)
{
	kernel_sock_shutdown(sock, SHUT_RDWR);
}

/*
 * Undo ns_sock_prepare() so the memalloc socket count stays balanced.  A
 * close may run when memory is scarcest, for a connection whose requests
 * are what would free it: it may use the reserves and never reclaims.
 */
void ns_sock_close(struct socket *sock)
{
	unsigned int noreclaim = ns_noreclaim_save();

	kernel_sock_shutdown(sock, SHUT_RDWR);
	lock_sock(sock->sk);
	if (sock_flag(sock->sk, SOCK_MEMALLOC))
		sk_clear_memalloc(sock->sk);
	release_sock(sock->sk);
	sock_release(sock);
	ns_noreclaim_restore(noreclaim);
}

/* What ns_sock_xfer() does with its iterator. */
enum ns_xfer {
	NS_RECV,	/* fill it */
	NS_SEND_COPY,	/* send it; TCP copies the bytes */
	NS_SEND_REF,	/* send it; TCP holds its page (a one-page bvec) */
};

/*
 * Move all of @iter, or fail.  Runs with PF_MEMALLOC: the allocations TCP
 * makes on our behalf may dip into the reserves and never recurse into
 * reclaim, which might be waiting for this very request.
 */
static int ns_sock_xfer(struct socket *sock, struct iov_iter *iter,
			enum ns_xfer how, int flags)
{
	struct msghdr msg = { .msg_iter = *iter };
	unsigned int noreclaim = ns_noreclaim_save();
	size_t total = msg_data_left(&msg);
	int ret = 0;

	while (msg_data_left(&msg)) {
		msg.msg_flags = flags | MSG_NOSIGNAL;
		if (how == NS_SEND_REF)
			ret = ns_sendmsg_by_ref(sock, &msg);
		else if (how == NS_SEND_COPY)
			ret = sock_sendmsg(sock, &msg);
		else
			ret = sock_recvmsg(sock, &msg, flags | MSG_NOSIGNAL);
		if (ret <= 0) {
			/*
			 * 0: the peer closed the connection; in the middle of
			 * a message that is a broken peer, not just a lost one.
			 */
			if (!ret)
				ret = msg_data_left(&msg) < total ? -EBADMSG : -ECONNRESET;
			break;
		}
		ret = 0;
	}
	ns_noreclaim_restore(noreclaim);
	return ret;
}

int ns_sock_recv(struct socket *sock, void *buf, size_t len)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, ITER_DEST, &kv, 1, len);
	return ns_sock_xfer(sock, &iter, NS_RECV, MSG_WAITALL);
}

int ns_sock_send(struct socket *sock, const void *buf, size_t len, int flags)
{
	struct kvec kv = { .iov_base = (void *)buf, .iov_len = len };
	struct iov_iter iter;

	iov_iter_kvec(&iter, ITER_SOURCE, &kv, 1, len);
	return ns_sock_xfer(sock, &iter, NS_SEND_COPY, flags);
}

/* ---------------------------------------------------------------- send -- */

static int ns_send_sub(struct ns_conn *conn, struct ns_sub *sub)
{
	struct ns_cmd *cmd = sub->cmd;
	struct request *rq = ns_cmd_rq(cmd);
	bool payload = cmd->nbd_type == NBD_CMD_WRITE;
	bool flush = cmd->nbd_type == NBD_CMD_FLUSH;
	struct nbd_req_hdr hdr = {
		.magic	= cpu_to_be32(NBD_REQ_MAGIC),
		.flags	= cpu_to_be16(cmd->nbd_flags),
		.type	= cpu_to_be16(cmd->nbd_type),
		.cookie	= cpu_to_be64(ns_cookie(sub)),
		.offset	= cpu_to_be64(flush ? 0 : blk_rq_pos(rq) << SECTOR_SHIFT),
		.len	= cpu_to_be32(flush ? 0 : blk_rq_bytes(rq)),
	};
	struct req_iterator it;
	struct iov_iter iter;
	struct bio_vec bvec;
	int err;

	err = ns_sock_send(conn->sock, &hdr, sizeof(hdr), payload ? MSG_MORE : 0);
	if (err || !payload)
		return err;

	/*
	 * The payload goes by reference: TCP holds the bio pages themselves
	 * (stable while the request is in flight when integrity is on) rather
	 * than copies in page fragments, which under pressure would come from
	 * the very reserve this write is meant to refill.  No page is read
	 * after its request completes: the reply that completes it carries
	 * TCP's acknowledgement of the data, processed before the reply can
	 * be read, and a connection torn down is closed -- its queue dropped
	 * (sock_no_linger) -- before its requests are resent.  Slab memory
	 * cannot be held that way and is copied.
	 */
	rq_for_each_segment(bvec, rq, it) {
		bool by_ref = ns_zerocopy && sendpage_ok(bvec.bv_page);

		iov_iter_bvec(&iter, ITER_SOURCE, &bvec, 1, bvec.bv_len);
		err = ns_sock_xfer(conn->sock, &iter,
				   by_ref ? NS_SEND_REF : NS_SEND_COPY,
				   rq_iter_last(bvec, it) ? 0 : MSG_MORE);
		if (err)
			return err;
	}
	return 0;
}

/* Swap requests first: they are what frees memory. */
static struct ns_sub *ns_next_to_send(struct ns_conn *conn)
{
	if (!list_empty(&conn->send_swap))
		return list_first_entry(&conn->send_swap, struct ns_sub, node);
	if (!list_empty(&conn->send_other))
		return list_first_entry(&conn->send_other, struct ns_sub, node);
	return NULL;
}

void ns_tx_work(struct work_struct *work)
{
	struct ns_conn *conn = container_of(work, struct ns_conn, tx_work);
	struct ns_dev *dev = conn->dev;
	struct ns_sub *sub;
	int err;

	for (;;) {
		spin_lock(&dev->lock);
		sub = conn->state == NS_CONN_LIVE ? ns_next_to_send(conn) : NULL;
		if (!sub) {
			spin_unlock(&dev->lock);
			return;
		}
		list_move_tail(&sub->node, &conn->inflight);
		conn->nr_inflight++;
		sub->state = NS_CMD_SENDING;
		sub->gen = ++dev->seq;
		sub->sent = jiffies;
		spin_unlock(&dev->lock);

		err = ns_send_sub(conn, sub);

		spin_lock(&dev->lock);
		sub->state = NS_CMD_SENT;
		spin_unlock(&dev->lock);
		wake_up_all(&conn->send_wait);
		if (err) {
			ns_conn_fail(conn, err, "send failed");
			return;
		}
	}
}

/* -------------------------------------------------------------- receive -- */

/* The reply (cookie) must name a sub-request this connection sent. */
static struct ns_sub *ns_find_sub(struct ns_conn *conn, u64 cookie)
{
	struct ns_dev *dev = conn->dev;
	u32 tag = cookie & 0xffff, idx = (cookie >> 16) & 0xffff;
	struct ns_cmd *cmd;
	struct ns_sub *sub;

	lockdep_assert_held(&dev->lock);
	if (tag >= dev->cfg.queue_depth || idx >= NS_MAX_LEGS)
		return NULL;
	cmd = dev->by_tag[tag];
	if (!cmd || idx >= cmd->nr_subs)
		return NULL;
	sub = &cmd->sub[idx];
	if (sub->conn != conn || sub->gen != upper_32_bits(cookie))
		return NULL;
	if (sub->state != NS_CMD_SENDING && sub->state != NS_CMD_SENT)
		return NULL;
	return sub;
}

/* Hand a sub back to the connection: recovery will resend it. */
static void ns_sub_unreceive(struct ns_conn *conn, struct ns_sub *sub)
{
	spin_lock(&conn->dev->lock);
	sub->state = NS_CMD_SENT;
	list_add(&sub->node, &conn->inflight);
	conn->nr_inflight++;
	spin_unlock(&conn->dev->lock);
}

static int ns_recv_data(struct ns_conn *conn, struct ns_cmd *cmd)
{
	struct request *rq = ns_cmd_rq(cmd);
	struct req_iterator it;
	struct iov_iter iter;
	struct bio_vec bvec;
	int err;

	rq_for_each_segment(bvec, rq, it) {
		iov_iter_bvec(&iter, ITER_DEST, &bvec, 1, bvec.bv_len);
		err = ns_sock_xfer(conn->sock, &iter, NS_RECV, MSG_WAITALL);
		if (err)
			return err;
	}
	return 0;
}

static bool ns_fault_drop(struct ns_dev *dev)
{
	u32 n = READ_ONCE(dev->faults.drop_replies);

	return n && cmpxchg(&dev->faults.drop_replies, n, n - 1) == n;
}

/*
 * Take ownership of the sub a reply names.  A reply may overtake the end of
 * its own send (the server answers a READ before tx_work has marked it
 * SENT): wait for tx_work to finish with it rather than race it.
 */
static struct ns_sub *ns_claim_sub(struct ns_conn *conn, u64 cookie)
{
	struct ns_dev *dev = conn->dev;
	struct ns_sub *sub;

	spin_lock(&dev->lock);
	sub = ns_find_sub(conn, cookie);
	if (sub && sub->state == NS_CMD_SENDING) {
		spin_unlock(&dev->lock);
		wait_event(conn->send_wait,
			   READ_ONCE(sub->state) != NS_CMD_SENDING);
		spin_lock(&dev->lock);
		sub = ns_find_sub(conn, cookie);
	}
	if (sub) {
		sub->state = NS_CMD_RECEIVING;
		list_del_init(&sub->node);
		conn->nr_inflight--;
	}
	spin_unlock(&dev->lock);
	return sub;
}

/* What an NBD error reply means to the block layer, once retries are spent. */
static blk_status_t ns_nbd_error_status(u32 error)
{
	switch (error) {
	case NBD_ENOSPC:
		return BLK_STS_NOSPC;
	case NBD_EINVAL:
	case NBD_ENOTSUP:
		return BLK_STS_NOTSUPP;
	case NBD_EPERM:
		return BLK_STS_TARGET;
	default:
		return BLK_STS_IOERR;
	}
}

/*
 * The server refused a request (ENOSPC, EINVAL for a TRIM, a failing disk):
 * the connection is healthy, so keep it, and try again a few times with
 * backoff before the error reaches the block layer.  A READ tries the
 * other leg first, if there is one that has its blocks.
 */
static void ns_sub_server_error(struct ns_conn *conn, struct ns_sub *sub,
				u32 error)
{
	struct ns_dev *dev = conn->dev;
	struct ns_cmd *cmd = sub->cmd;
	unsigned long delay;

	pr_warn_ratelimited("%s: server %pISpc answered error %u to %s at sector %llu%s\n",
			    dev->disk->disk_name,
			    &conn->leg->cfg->addrs[conn->addr_idx], error,
			    ns_nbd_cmd_name(cmd->nbd_type),
			    (u64)blk_rq_pos(ns_cmd_rq(cmd)),
			    sub->err_retries < NS_ERR_RETRIES ? "; retrying" : "");
	spin_lock(&dev->lock);
	if (sub->err_retries < NS_ERR_RETRIES && !ns_cmd_expired(dev, cmd)) {
		delay = msecs_to_jiffies(NS_ERR_BACKOFF_MS << (2 * sub->err_retries));
		sub->err_retries++;
		if (cmd->nbd_type == NBD_CMD_READ && ns_mirrored(dev))
			sub->avoid |= BIT(conn->leg->id);
		ns_delay_locked(dev, sub, delay);
		spin_unlock(&dev->lock);
		atomic64_inc(&dev->stats.error_retries);
		return;
	}
	spin_unlock(&dev->lock);
	ns_sub_done(sub, ns_nbd_error_status(error));
}

/* A READ's payload arrived: check it, then complete, redirect or retry. */
static int ns_read_arrived(struct ns_conn *conn, struct ns_sub *sub,
			   const char **why)
{
	int err = ns_integrity_verify(conn, sub);

	if (!err)
		return 0;
	/* Wrong on this leg, right on the other: read there, repair this. */
	if (ns_mirror_repair(conn, sub))
		return 1;
	if (err == -EAGAIN) {
		/* Read it again on a fresh connection. */
		ns_sub_unreceive(conn, sub);
		*why = "integrity error, reading again";
		return -EBADMSG;
	}
	ns_sub_done(sub, BLK_STS_IOERR);
	return 1;
}

/* Returns 0 to go on reading, or -errno and *why to reset the connection. */
static int ns_handle_reply(struct ns_conn *conn, const char **why, bool *proto)
{
	struct ns_dev *dev = conn->dev;
	struct nbd_simple_reply_hdr *h = &conn->rx_hdr;
	u32 stall = READ_ONCE(dev->faults.stall_ms);
	struct ns_sub *sub;
	u32 error;
	int err;

	if (be32_to_cpu(h->magic) != NBD_SIMPLE_REPLY_MAGIC) {
		*why = "bad reply magic";
		*proto = true;
		return -EPROTO;
	}
	if (stall) {
		msleep(stall);
		/* Reset meanwhile (a timeout): what is queued is stale. */
		if (READ_ONCE(conn->state) != NS_CONN_LIVE)
			return -ECONNABORTED;
	}

	sub = ns_claim_sub(conn, be64_to_cpu(h->cookie));
	if (!sub) {
		*why = "reply for an unknown or finished request";
		*proto = true;
		return -EPROTO;
	}
	error = be32_to_cpu(h->error);
	if (error) {
		atomic64_inc(&dev->stats.server_errors);
		if (error != NBD_ESHUTDOWN) {
			ns_sub_server_error(conn, sub, error);
			return 0;
		}
		/* It is going away: resend elsewhere, or after it is back. */
		ns_sub_unreceive(conn, sub);
		*why = "server is shutting down";
		return -ESHUTDOWN;
	}
	if (sub->cmd->nbd_type == NBD_CMD_READ) {
		err = ns_recv_data(conn, sub->cmd);
		if (err) {
			ns_sub_unreceive(conn, sub);
			*why = "read payload cut short";
			*proto = err == -EBADMSG || err == -ECONNRESET;
			return err;
		}
		err = ns_read_arrived(conn, sub, why);
		if (err)
			return err < 0 ? err : 0;
	}
	if (ns_fault_drop(dev)) {
		ns_sub_unreceive(conn, sub);
		return 0;
	}

	/* The server answers again: the next loss starts a fresh backoff. */
	WRITE_ONCE(conn->backoff_ms, NS_BACKOFF_MIN_MS);
	ns_sub_done(sub, BLK_STS_OK);
	return 0;
}

void ns_rx_work(struct work_struct *work)
{
	struct ns_conn *conn = container_of(work, struct ns_conn, rx_work);
	unsigned int noreclaim = ns_noreclaim_save();
	const char *why = "receive failed";
	bool proto = false;
	int err;

	do {
		err = ns_sock_recv(conn->sock, &conn->rx_hdr,
				   sizeof(conn->rx_hdr));
		if (err) {
			if (err == -EBADMSG) {
				why = "connection closed in the middle of a reply";
				proto = true;
			}
			break;
		}
		err = ns_handle_reply(conn, &why, &proto);
	} while (!err);
	ns_noreclaim_restore(noreclaim);

	/* Not when we reset it ourselves: then EOF is our own doing. */
	if (proto && READ_ONCE(conn->state) == NS_CONN_LIVE)
		atomic64_inc(&conn->dev->stats.proto_errors);
	ns_conn_fail(conn, err, why);
}

/*
 * One synchronous request on a socket nobody else reads: the integrity
 * probe (before a connection goes live) and the resync worker's links.  A
 * READ's payload lands in @buf, a WRITE's comes from it.  Returns 0,
 * -EREMOTEIO with *nbd_error set for an error reply, or -errno.
 */
int ns_sync_io(struct socket *sock, u16 type, u64 off, u32 len, void *buf,
	       u32 *nbd_error)
{
	bool flush = type == NBD_CMD_FLUSH, write = type == NBD_CMD_WRITE;
	struct nbd_req_hdr req = {
		.magic	= cpu_to_be32(NBD_REQ_MAGIC),
		.type	= cpu_to_be16(type),
		.cookie	= cpu_to_be64(NS_SYNC_COOKIE),
		.offset	= cpu_to_be64(flush ? 0 : off),
		.len	= cpu_to_be32(flush ? 0 : len),
	};
	struct nbd_simple_reply_hdr rep;
	int err;

	err = ns_sock_send(sock, &req, sizeof(req), write ? MSG_MORE : 0);
	if (!err && write)
		err = ns_sock_send(sock, buf, len, 0);
	if (!err)
		err = ns_sock_recv(sock, &rep, sizeof(rep));
	if (err)
		return err;
	if (be32_to_cpu(rep.magic) != NBD_SIMPLE_REPLY_MAGIC ||
	    be64_to_cpu(rep.cookie) != NS_SYNC_COOKIE)
		return -EPROTO;
	if (rep.error) {
		*nbd_error = be32_to_cpu(rep.error);
		return -EREMOTEIO;
	}
	return type == NBD_CMD_READ ? ns_sock_recv(sock, buf, len) : 0;
}

/* Polite goodbye at detach; the server may already be gone. */
void ns_send_disconnect(struct ns_conn *conn)
{
	struct nbd_req_hdr hdr = {
		.magic	= cpu_to_be32(NBD_REQ_MAGIC),
		.type	= cpu_to_be16(NBD_CMD_DISC),
	};

	ns_sock_set_timeout(conn->sock, HZ);
	ns_sock_send(conn->sock, &hdr, sizeof(hdr), 0);
}
