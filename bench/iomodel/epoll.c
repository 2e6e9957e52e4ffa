// SPDX-License-Identifier: GPL-2.0-only
/*
 * The epoll model, as netswapd's event loop does it: edge-triggered epoll;
 * request headers read in batches into a staging buffer (one recv of up to
 * -b bytes); a WRITE payload received straight into the mapping by one
 * recvmsg whose second iovec takes the next header; every reply produced in
 * an iteration sent by one sendmsg per connection, iovecs pointing into
 * the mapping.  Readiness is remembered (can_read/can_write) and a short
 * recv/send clears it: edge-triggered epoll raises a new edge for every
 * later arrival, so a drained socket needs no EAGAIN round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

#define RX_BUDGET 256		/* headers per connection per iteration */

struct econn {
	struct conn *c;
	bool can_read, can_write, rdhup;
};

static struct econn conns[MAX_CONNS];
static int epfd;

static void drop(struct econn *e)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, e->c->fd, NULL);
	conn_free(e->c);
	e->c = NULL;
}

/* Runs staged requests and reads more until the socket is drained, the
 * budget is spent, or the reply queue is full. */
static void rx(struct econn *e)
{
	struct conn *c = e->c;
	unsigned int budget = RX_BUDGET;

	for (;;) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
		size_t want;
		ssize_t n;

		if (!c->in_payload) {
			unsigned int ran = conn_parse(c);

			budget = ran < budget ? budget - ran : 0;
		}
		if (c->closing || !e->can_read || !budget)
			return;
		if (c->in_payload) {
			conn_payload_iov(c, iov);
			want = iov[0].iov_len + iov[1].iov_len;
			n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
		} else {
			void *p;

			conn_stage_room(c, &p, &want);
			if (!want)
				return;		/* reply queue full */
			n = recv(c->fd, p, want, MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EAGAIN)
				e->can_read = false;
			else if (errno != EINTR)
				c->closing = true;
			continue;
		}
		if (n == 0) {
			c->closing = true;
			return;
		}
		/* Short: drained.  After a FIN, read on until recv says 0. */
		if ((size_t)n < want && !e->rdhup)
			e->can_read = false;
		if (c->in_payload)
			conn_payload_got(c, (size_t)n);
		else
			c->end += (uint32_t)n;
	}
}

/* One sendmsg per call while the socket takes everything. */
static void tx(struct econn *e)
{
	struct conn *c = e->c;

	while (conn_has_tx(c) && e->can_write) {
		struct iovec iov[TX_IOV];
		struct msghdr msg = { .msg_iov = iov };
		size_t total;
		ssize_t n;

		msg.msg_iovlen = (size_t)conn_gather(c, iov, TX_IOV, &total);
		n = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				e->can_write = false;
			} else if (errno != EINTR) {
				c->closing = true;	/* nobody to send to */
				c->head = c->tail;
			}
			continue;
		}
		if ((size_t)n < total)
			e->can_write = false;
		conn_sent(c, (size_t)n, true);
	}
}

static void accept_one(int lfd, const struct opts *o)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP |
					    EPOLLET };
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct conn *c;
	int i;

	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && conns[i].c; i++)
		;
	if (i == MAX_CONNS) {
		close(fd);
		return;
	}
	c = conn_handshake(fd, o);
	if (!c)
		return;
	conns[i] = (struct econn){ .c = c, .can_write = true };
	ev.data.u32 = (uint32_t)i;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
		drop(&conns[i]);
}

int main(int argc, char **argv)
{
	struct opts o;
	int lfd = setup(argc, argv, &o);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = MAX_CONNS };

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll");
	for (;;) {
		struct epoll_event evs[64];
		bool more = false;
		int n;

		/* Do not sleep while a connection still has unread input
		 * (budget spent) or unsent replies it can send. */
		for (int i = 0; i < MAX_CONNS; i++) {
			const struct econn *e = &conns[i];

			if (e->c && ((e->can_read && !e->c->closing &&
				      e->c->tail - e->c->done < NREPLY) ||
				     (e->can_write && conn_has_tx(e->c))))
				more = true;
		}
		n = epoll_wait(epfd, evs, 64, more ? 0 : -1);
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			uint32_t k = evs[i].data.u32;

			if (k == MAX_CONNS) {
				accept_one(lfd, &o);
				continue;
			}
			if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				conns[k].rdhup = true;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				conns[k].can_read = true;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				conns[k].can_write = true;
		}
		/* Requests first, then every reply they produced in one go. */
		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i].c && conns[i].can_read)
				rx(&conns[i]);
		for (int i = 0; i < MAX_CONNS; i++) {
			if (!conns[i].c)
				continue;
			tx(&conns[i]);
			if (conns[i].c->closing && !conn_has_tx(conns[i].c))
				drop(&conns[i]);
		}
	}
}
