// SPDX-License-Identifier: GPL-2.0-only
/*
 * A connection's socket I/O: batched header reads, payloads received
 * straight into their destination, and replies gathered into one sendmsg().
 * Sockets are edge-triggered; can_read/can_write remember readiness, and a
 * short recv/send clears it because the kernel raises a new edge for every
 * later arrival or freed send space.  All of it runs on the owning loop's
 * thread; workers only ever hand requests back through loop_post_completion.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netswapd.h"

#define TX_IOV 128
#define CONN_LINGER_MS 2000	/* a lingering client gets this long to close */
#define CONN_QUIET_MS 500	/* silent this long while stopping: drained */

static void linger(struct nsd_conn *c);

static int socket_domain(int fd)
{
	int domain = AF_UNIX;
	socklen_t len = sizeof(domain);

	getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len);
	return domain;
}

/*
 * A client that vanished (crash, power loss, a cut link) sends no FIN or
 * RST: without these its socket, and the reserve its connection holds,
 * would wait forever.  Keepalive finds an idle one dead; the user timeout
 * one that stopped acknowledging replies.  Set once per accepted socket,
 * never on the request path.
 */
static void set_dead_peer_timeouts(int fd, const struct nsd_config *cfg)
{
	int on = cfg->tcp_keepalive > 0;
	unsigned int ut = cfg->tcp_user_timeout * 1000U;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) ||
	    (on && (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE,
			       &cfg->tcp_keepalive, sizeof(int)) ||
		    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
			       &cfg->tcp_keepalive_interval, sizeof(int)) ||
		    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT,
			       &cfg->tcp_keepalive_count, sizeof(int)))) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ut, sizeof(ut)))
		log_warn("cannot set keepalive or user timeout: %s",
			 strerror(errno));
}

struct nsd_conn *conn_new(struct nsd_server *srv, int fd, const char *peer)
{
	struct nsd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* An account at once; a reserve only once it negotiated an export. */
	c->owner = arena_owner_create(srv->arena, 0, peer);
	if (!c->owner) {
		free(c);
		return NULL;
	}
	/* server_accept() identifies the peer later; whatever made the
	 * socket (a test harness too), its kind decides how input is
	 * dropped (recv_drop). */
	c->who.is_unix = socket_domain(fd) == AF_UNIX;
	if (!c->who.is_unix)
		set_dead_peer_timeouts(fd, srv->cfg);
	c->srv = srv;
	c->fd = fd;
	c->phase = PHASE_HANDSHAKE;
	c->hs = HS_CLIENT_FLAGS;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	return c;
}

void conn_attach(struct nsd_conn *c, struct nsd_loop *l)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = c,
	};

	c->loop = l;
	c->next = l->conns;
	if (l->conns)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev)) {
		conn_fail(c, "epoll_ctl failed");
		return;
	}
	c->can_write = true;
	hs_start(c);
}

void conn_destroy(struct nsd_conn *c)
{
	for (unsigned int i = 0; i < c->nslot_blocks; i++)
		arena_free(c->srv->arena, c->slot_block[i]);
	arena_owner_destroy(c->owner);
	atomic_fetch_sub(&c->srv->reserved, c->reserved);
	if (c->exp) {
		/* The export's totals keep what this connection was served. */
		pthread_mutex_lock(&c->exp->stats_lock);
		stats_add(&c->exp->stats_closed, &c->stats);
		pthread_mutex_unlock(&c->exp->stats_lock);
		catalog_release(c->srv, c->exp);	/* taken at GO */
	}
	free(c);
}

void *conn_alloc(struct nsd_conn *c, size_t len, unsigned int flags)
{
	void *p = arena_alloc_or_wait(c->srv->arena, c->owner, len, flags,
				      c->loop->id);

	if (!p) {
		loop_wait_pool(c->loop, c);
		if (!(flags & ARENA_CONTROL))
			atomic_store(&c->srv->pool_starved_ms, loop_now_ms());
	}
	return p;
}

void conn_free(struct nsd_conn *c, void *p)
{
	arena_free(c->srv->arena, p);
}

/*
 * The reserve that lets this connection always make progress, whatever the
 * others hold: its request slots and, for a file export, one swap-sized
 * request.  All reserves together stay within reserve_cap, so common memory
 * remains for everything else.  -1 when it cannot be granted.
 */
int conn_reserve(struct nsd_conn *c, const struct nsd_export *e)
{
	struct nsd_server *srv = c->srv;
	uint64_t want = e->kind != NSD_EXPORT_MEM ? srv->reserve_file
						   : srv->reserve_mem;
	uint64_t now = atomic_load(&srv->reserved);

	if (!want || c->reserved)
		return 0;
	do {
		if (now + want > srv->reserve_cap)
			return -1;
	} while (!atomic_compare_exchange_weak(&srv->reserved, &now,
					       now + want));
	if (arena_owner_grow(c->owner, want)) {
		atomic_fetch_sub(&srv->reserved, want);
		return -1;
	}
	c->reserved = want;
	return 0;
}

struct nsd_req *conn_get_req(struct nsd_conn *c)
{
	struct nsd_req *r = c->free_reqs;

	if (!r) {
		char *block;

		if (c->nslot_blocks == SLOT_BLOCKS) {
			c->rx_wait |= RX_WAIT_SLOTS;
			return NULL;
		}
		block = conn_alloc(c, SLOT_BLOCK, ARENA_CONTROL);
		if (!block)
			return NULL;
		c->slot_block[c->nslot_blocks++] = block;
		for (size_t i = 0; i < SLOTS_PER_BLOCK; i++) {
			r = (struct nsd_req *)(block + i * sizeof(*r));
			r->next = c->free_reqs;
			c->free_reqs = r;
		}
		r = c->free_reqs;
	}
	c->free_reqs = r->next;
	memset(r, 0, sizeof(*r));
	r->conn = c;
	c->inflight++;
	if (c->inflight >= CONN_MAX_INFLIGHT)
		c->rx_wait |= RX_WAIT_SLOTS;
	return r;
}

/* Undo conn_get_req() for a request that could not start (no buffer). */
void conn_unget_req(struct nsd_conn *c, struct nsd_req *r)
{
	r->next = c->free_reqs;
	c->free_reqs = r;
	c->inflight--;
}

/* A short read drains the socket for now: the kernel raises a new edge for
 * every later arrival.  Not so for a FIN that came with the last edge:
 * after RDHUP, keep reading until recv() says 0. */
static void note_short_read(struct nsd_conn *c)
{
	if (!c->rdhup)
		c->can_read = false;
}

#define DROP_CHUNK (1U << 20)	/* bytes discarded per recv() on TCP */
#define DROP_SCRATCH 16384	/* ... on a Unix socket, through a buffer */

/* recv() of up to @len bytes to drop: TCP drops them in the kernel
 * (MSG_TRUNC, no copy); a Unix stream socket has no such flag. */
static ssize_t recv_drop(int fd, bool is_unix, size_t len)
{
	char scratch[DROP_SCRATCH];

	if (is_unix)
		return recv(fd, scratch, len < sizeof(scratch) ? len : sizeof(scratch),
			    MSG_DONTWAIT);
	return recv(fd, NULL, len < DROP_CHUNK ? len : DROP_CHUNK,
		    MSG_TRUNC | MSG_DONTWAIT);
}

/* conn_recv(), into @dst, or dropped when @dst is NULL. */
static ssize_t recv_or_drop(struct nsd_conn *c, void *dst, size_t len)
{
	for (;;) {
		ssize_t n = dst ? recv(c->fd, dst, len, MSG_DONTWAIT)
				: recv_drop(c->fd, c->who.is_unix, len);

		if (n > 0) {
			if ((size_t)n < len)
				note_short_read(c);
			c->rx_progress_ms = c->loop->now_ms;
			return n;
		}
		if (n == 0) {
			c->can_read = false;
			conn_drain(c);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->can_read = false;
			return 0;
		}
		conn_fail(c, strerror(errno));
		return -1;
	}
}

ssize_t conn_recv(struct nsd_conn *c, void *dst, size_t len)
{
	return recv_or_drop(c, dst, len);
}

ssize_t conn_fill_staging(struct nsd_conn *c)
{
	ssize_t n;

	if (c->rx_start) {
		memmove(c->rxbuf, c->rxbuf + c->rx_start,
			c->rx_end - c->rx_start);
		c->rx_end -= c->rx_start;
		c->rx_start = 0;
	}
	n = conn_recv(c, c->rxbuf + c->rx_end, CONN_RXBUF - c->rx_end);
	if (n > 0)
		c->rx_end += (uint32_t)n;
	return n;
}

size_t conn_take_staged(struct nsd_conn *c, void *dst, size_t len)
{
	size_t have = c->rx_end - c->rx_start;

	if (have > len)
		have = len;
	if (dst)
		memcpy(dst, c->rxbuf + c->rx_start, have);
	c->rx_start += (uint32_t)have;
	if (c->rx_start == c->rx_end)
		c->rx_start = c->rx_end = 0;
	return have;
}

/* Receive the rest of a WRITE payload into its destination, and in the same
 * call the next request header into the (empty) staging buffer. */
static int rx_payload(struct nsd_conn *c)
{
	struct iovec iov[2] = {
		{ c->rx_dst, c->rx_left },
		{ c->rxbuf, sizeof(struct nbd_req_hdr) },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (!c->can_read)
		return 0;
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && errno == EINTR)
			return 1;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->can_read = false;
			return 0;
		}
		if (n == 0)
			conn_fail(c, "disconnected in the middle of a write");
		else
			conn_fail(c, strerror(errno));
		return -1;
	}
	c->rx_progress_ms = c->loop->now_ms;
	if ((uint64_t)n < c->rx_left + sizeof(struct nbd_req_hdr))
		note_short_read(c);
	if ((uint64_t)n < c->rx_left) {
		c->rx_dst += n;
		c->rx_left -= (uint64_t)n;
		return 1;
	}
	c->rx_start = 0;
	c->rx_end = (uint32_t)((uint64_t)n - c->rx_left);
	c->rx_left = 0;
	c->rx = RX_HDR;
	req_payload_done(c, c->rx_req);
	c->rx_req = NULL;
	return 1;
}

/* Skip discard_left bytes (the payload of a refused write or option). */
static int rx_discard(struct nsd_conn *c)
{
	uint64_t want;
	ssize_t n;

	c->discard_left -= conn_take_staged(c, NULL, c->discard_left);
	while (c->discard_left) {
		want = c->discard_left < DROP_CHUNK ? c->discard_left : DROP_CHUNK;
		if (!c->can_read)
			return 0;
		n = recv_or_drop(c, NULL, (size_t)want);
		if (n <= 0)
			return (int)n;
		c->discard_left -= (uint64_t)n;
	}
	return 1;
}

int conn_discard(struct nsd_conn *c)
{
	return rx_discard(c);
}

static void rx_transmission(struct nsd_conn *c)
{
	const size_t hsz = sizeof(struct nbd_req_hdr);
	unsigned int budget = 256;
	int rc;

	while (c->closing == CONN_OPEN) {
		if (c->rx == RX_PAYLOAD) {
			if (rx_payload(c) <= 0)
				return;
			continue;
		}
		if (c->rx == RX_DISCARD) {
			struct nsd_req *r = c->rx_req;

			rc = rx_discard(c);
			if (rc < 0 && r)
				conn_fail(c, "disconnected in the middle of a write");
			if (rc <= 0)
				return;
			c->rx = RX_HDR;
			c->rx_req = NULL;
			if (r)		/* a refused write: now answer it */
				req_payload_done(c, r);
			continue;
		}
		if (c->rx_wait)
			return;
		if (c->rx_end - c->rx_start >= hsz) {
			struct nbd_req_hdr h;

			memcpy(&h, c->rxbuf + c->rx_start, hsz);
			c->rx_start += hsz;
			rc = req_dispatch(c, &h);
			if (rc < 0)
				return;
			if (rc == 0) {
				c->rx_start -= hsz;	/* parse it again later */
				return;
			}
			if (c->rx_start == c->rx_end)
				c->rx_start = c->rx_end = 0;
			if (--budget == 0) {
				/* Let the other connections of this loop in. */
				loop_mark_ready(c->loop, c);
				return;
			}
			continue;
		}
		if (!c->can_read || conn_fill_staging(c) <= 0)
			return;
	}
}

/*
 * While the server stops, requests are answered with ESHUTDOWN (see
 * req_dispatch), and a client told so disconnects.  One that has sent
 * nothing for a while (idle, or done) is drained and closed then, so it is
 * not kept to the end of the grace period; one still sending is answered
 * until it stops.
 */
void conn_drain_if_quiet(struct nsd_conn *c, int64_t now)
{
	if (c->closing == CONN_OPEN && c->phase == PHASE_TRANSMISSION &&
	    c->rx == RX_HDR && !c->can_read &&
	    c->rx_end - c->rx_start < sizeof(struct nbd_req_hdr) &&
	    now - c->rx_progress_ms >= CONN_QUIET_MS)
		conn_drain(c);
}

void conn_process(struct nsd_conn *c)
{
	if (c->closing == CONN_LINGERING)
		linger(c);
	if (c->closing != CONN_OPEN)
		return;
	if (c->phase == PHASE_HANDSHAKE)
		hs_process(c);
	else
		rx_transmission(c);
	if (c->closing < CONN_LINGERING && (c->txq_head || c->out_len))
		loop_mark_dirty(c->loop, c);
}

void conn_resume(struct nsd_conn *c, unsigned int why)
{
	if (!(c->rx_wait & why))
		return;
	c->rx_wait &= ~why;
	if (!c->rx_wait)
		loop_mark_ready(c->loop, c);
}

void conn_queue_reply(struct nsd_conn *c, struct nsd_req *r)
{
	r->next = NULL;
	if (c->closing >= CONN_ABORTED) {
		conn_release_req(c, r);
		return;
	}
	if (c->txq_tail)
		c->txq_tail->next = r;
	else
		c->txq_head = r;
	c->txq_tail = r;
	c->txq_bytes += r->hdr_len + r->data_len;
	if (c->txq_bytes > CONN_MAX_TXQ_BYTES)
		c->rx_wait |= RX_WAIT_TX;
	loop_mark_dirty(c->loop, c);
}

void conn_release_req(struct nsd_conn *c, struct nsd_req *r)
{
	if (r->buf) {
		conn_free(c, r->buf);
		c->pool_held -= r->buf_len;
		conn_resume(c, RX_WAIT_QUOTA);
	}
	r->next = c->free_reqs;
	c->free_reqs = r;
	c->inflight--;
	if (c->inflight < CONN_MAX_INFLIGHT / 2)
		conn_resume(c, RX_WAIT_SLOTS);
	conn_close_if_drained(c);
}

static int flush_handshake(struct nsd_conn *c)
{
	while (c->out_off < c->out_len && c->can_write) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->can_write = false;
			return 0;
		}
		if (n < 0) {
			conn_fail(c, strerror(errno));
			return -1;
		}
		c->out_off += (uint32_t)n;
	}
	if (c->out_off < c->out_len)
		return 0;
	/* Nothing pending: give the block back until the next reply. */
	conn_free(c, c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	conn_resume(c, RX_WAIT_OUT);
	return 1;
}

/* Gather up to TX_IOV pieces of queued replies, starting tx_off bytes into
 * the head.  Returns the iovec count. */
static int gather(struct nsd_conn *c, struct iovec *iov, size_t *total)
{
	size_t skip = c->tx_off;
	int n = 0;

	*total = 0;
	for (struct nsd_req *r = c->txq_head; r && n + 2 <= TX_IOV; r = r->next) {
		if (skip < r->hdr_len) {
			iov[n].iov_base = r->hdr + skip;
			iov[n].iov_len = r->hdr_len - skip;
			*total += iov[n++].iov_len;
			skip = 0;
		} else {
			skip -= r->hdr_len;
		}
		if (r->data_len > skip) {
			iov[n].iov_base = (void *)(r->data + skip);
			iov[n].iov_len = r->data_len - skip;
			*total += iov[n++].iov_len;
		}
		skip = 0;
	}
	return n;
}

/* A reply went out: count it (its loop's thread, no atomics). */
static void account(struct nsd_conn *c, const struct nsd_req *r)
{
	struct nsd_io_stats *st = &c->stats;
	uint32_t us = c->loop->now_us - r->t_read_us;
	/* Bucket i holds latencies up to 8 us << i: ceil(log2(us)) - 3. */
	unsigned int b = us <= 8 ? 0 : 32 - (unsigned int)__builtin_clz(us - 1) - 3;

	st->requests[r->type < NSD_STAT_CMDS - 1 ? r->type : NSD_STAT_CMDS - 1]++;
	if (r->error)
		st->errors[stats_err_slot(r->error)]++;
	else if (r->type == NBD_CMD_READ)
		st->bytes_read += r->len;
	else if (r->type == NBD_CMD_WRITE)
		st->bytes_written += r->len;
	st->latency[b < NSD_STAT_LAT - 1 ? b : NSD_STAT_LAT - 1]++;
	st->latency_us += us;
}

static void tx_advance(struct nsd_conn *c, size_t sent)
{
	while (c->txq_head) {
		struct nsd_req *r = c->txq_head;
		size_t left = (size_t)r->hdr_len + r->data_len - c->tx_off;

		if (sent < left) {
			c->tx_off += sent;
			c->txq_bytes -= sent;
			return;
		}
		sent -= left;
		c->txq_bytes -= left;
		c->tx_off = 0;
		c->txq_head = r->next;
		if (!c->txq_head)
			c->txq_tail = NULL;
		account(c, r);
		conn_release_req(c, r);
	}
}

static void flush_transmission(struct nsd_conn *c)
{
	struct iovec iov[TX_IOV];
	size_t sent = 0;

	while (c->txq_head && c->can_write && c->closing < CONN_ABORTED) {
		struct msghdr msg = { .msg_iov = iov };
		size_t total;
		ssize_t n;

		msg.msg_iovlen = (size_t)gather(c, iov, &total);
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->can_write = false;
			break;
		}
		if (n < 0) {
			conn_fail(c, strerror(errno));
			return;
		}
		if ((size_t)n < total)
			c->can_write = false;
		sent += (size_t)n;
		tx_advance(c, (size_t)n);
	}
	/* Remember since when a client has not taken its replies. */
	if (!c->txq_head || sent)
		c->tx_stalled_ms = 0;
	if (c->txq_head && !c->can_write && !c->tx_stalled_ms)
		c->tx_stalled_ms = loop_now_ms();
	if (c->txq_bytes <= CONN_MAX_TXQ_BYTES / 2)
		conn_resume(c, RX_WAIT_TX);
}

void conn_flush(struct nsd_conn *c)
{
	if (c->closing >= CONN_LINGERING)
		return;
	/* The handshake's last reply goes out before any request's reply. */
	if (c->out_len && flush_handshake(c) <= 0)
		return;
	if (c->phase == PHASE_TRANSMISSION)
		flush_transmission(c);
	else if (c->hs == HS_LISTING || c->hs == HS_CLOSE_AFTER_FLUSH)
		hs_process(c);
	conn_close_if_drained(c);
}

/* Drop everything that can be dropped now; the rest (requests at workers)
 * comes back through completions and is released then. */
void conn_fail(struct nsd_conn *c, const char *why)
{
	if (c->closing >= CONN_ABORTED)
		return;
	if (why)
		log_info("%s: closing: %s", c->peer, why);
	c->closing = CONN_ABORTED;
	shutdown(c->fd, SHUT_RDWR);
	while (c->txq_head) {
		struct nsd_req *r = c->txq_head;

		c->txq_head = r->next;
		conn_release_req(c, r);
	}
	c->txq_tail = NULL;
	c->txq_bytes = 0;
	c->tx_off = 0;
	if (c->rx_req) {
		struct nsd_req *r = c->rx_req;

		c->rx_req = NULL;
		conn_release_req(c, r);
	}
	conn_close_if_drained(c);
}

void conn_drain(struct nsd_conn *c)
{
	if (c->closing != CONN_OPEN)
		return;
	c->closing = CONN_DRAINING;
	conn_close_if_drained(c);
}

static void hs_buffers_free(struct nsd_conn *c)
{
	if (c->out) {
		conn_free(c, c->out);
		c->out = NULL;
	}
	if (c->opt_buf) {
		conn_free(c, c->opt_buf);
		c->opt_buf = NULL;
	}
	c->out_len = c->out_off = 0;
}

static void close_now(struct nsd_conn *c)
{
	struct nsd_loop *l = c->loop;

	hs_buffers_free(c);
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->closing = CONN_CLOSED;
	loop_bury(l, c);
}

/* Every reply is out: send FIN, and discard what the client still sends
 * (the rest of a refused payload, requests it sent before seeing the
 * FIN).  Closing with unread input would reset the connection, and a
 * reset can destroy replies the client has not read yet. */
static void start_linger(struct nsd_conn *c)
{
	hs_buffers_free(c);
	if (shutdown(c->fd, SHUT_WR)) {
		close_now(c);
		return;
	}
	c->closing = CONN_LINGERING;
	c->linger_until_ms = loop_now_ms() + CONN_LINGER_MS;
	c->can_read = true;	/* EOF may already be there, edge long gone */
	loop_mark_ready(c->loop, c);
}

/* Lingering: read and drop input until EOF, a bounded amount per turn. */
static void linger(struct nsd_conn *c)
{
	for (int budget = 64; budget; budget--) {
		ssize_t n = recv_drop(c->fd, c->who.is_unix, DROP_CHUNK);

		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			c->can_read = false;
			return;
		}
		close_now(c);	/* EOF or error: the client is gone */
		return;
	}
	loop_mark_ready(c->loop, c);	/* more next turn */
}

void conn_close_if_drained(struct nsd_conn *c)
{
	if (c->closing == CONN_OPEN || c->closing == CONN_LINGERING ||
	    c->closing == CONN_CLOSED || c->inflight || c->rx_req)
		return;
	if (c->closing == CONN_ABORTED)
		close_now(c);
	else if (!c->txq_head && !c->out_len)
		start_linger(c);
}
