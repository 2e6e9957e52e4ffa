// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_uring model: one ring, one thread, many connections; the same
 * data path as epoll.c (headers received in batches into a staging buffer,
 * a WRITE payload received straight into the mapping by one RECVMSG whose
 * second iovec takes the next header, replies gathered into one SENDMSG
 * per connection pointing into the mapping), but every socket operation is
 * an SQE, and all SQEs produced while handling one batch of completions go
 * to the kernel with the wait for the next batch in one io_uring_enter().
 *
 * Choices, each switchable to measure it (-o letters):
 *   DEFER_TASKRUN + SINGLE_ISSUER: completions are run only when we wait,
 *     in our context, with no IPIs or task_work interrupts.  (-o c: use
 *     COOP_TASKRUN instead.)
 *   Registered files: no fdget/fdput per operation.  (-o f: plain fds.)
 *   POLL_FIRST on a recv when the previous one drained the socket (the
 *     CQE did not carry SOCK_NONEMPTY): the inline attempt would only fail.
 *     (-o p: never.)
 *   -o t: sends count toward the wait.  A SENDMSG that completes inline
 *     posts its CQE during the very io_uring_enter() that then waits, so
 *     the wait ends at once and a QD1 request costs two enters.  Waiting
 *     for 1 + (sends just submitted) completions makes it one; but a send
 *     that does not complete inline (its client is not reading) would make
 *     the wait miss an event, so it needs a timeout as a backstop (1 ms),
 *     and on this host arming that timer costs more than the enter saved.
 *     Off by default for that reason (measured: docs/io-model.md).
 *   Replies wait while the socket holds more requests (the last recv's CQE
 *     carried SOCK_NONEMPTY), up to SEND_BATCH of them: with one recv in
 *     flight per connection, a stream of WRITEs completes one per
 *     iteration, and sending each reply alone costs a send and a wakeup of
 *     the client per request.  epoll.c batches the same way by reading
 *     until the socket is drained before it sends.  (-o e: send at once.)
 *   -o m: one multishot RECV per connection into provided buffers (a
 *     buffer ring) instead of a RECV/RECVMSG per read: no SQE and no poll
 *     arming per request, but every byte, WRITE payloads included, is
 *     copied out of the kernel-chosen buffer into the stage or the mapping.
 *   -z BYTES: SENDMSG_ZC for sends of at least BYTES (0: never).  Headers
 *     stay referenced until the notification CQE, so reply slots are only
 *     reused after it.
 *
 * Not used: SQPOLL (a kernel thread spinning on the SQ takes a CPU, and
 * this host has two, shared), registered buffers (they would pin the whole
 * sparse export, and only SEND_ZC could use them).  -b and -o g (the size
 * and use of the staging buffer) are common.c's, as in epoll.c.
 *
 * Each connection has at most one recv and one send in flight: two sends
 * in flight on one stream could complete out of order.  MSG_WAITALL makes
 * the kernel retry a partial send itself, so a send's CQE means all of it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "common.h"

/* Newer than liburing 2.3's header; the kernel (6.2+) knows them. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

#define SEND_BATCH 64
#define BGID 0			/* -o m: the provided-buffer group */
#define NBUF 128
#define BUF_SIZE (32U << 10)

enum { OP_ACCEPT, OP_RECV, OP_SEND };

struct uconn {
	struct conn *c;
	bool recv_busy, send_busy;
	bool nonempty;		/* last recv left data in the socket */
	bool shut;		/* shutdown() done: the recv will end */
	unsigned int zc_pending;	/* notifications still to come */
	struct msghdr rmsg, smsg;
	struct iovec riov[2], siov[TX_IOV];
};

static struct uconn conns[MAX_CONNS];
static struct io_uring ring;
static struct opts o;
static bool fixed_files, multishot;
static struct io_uring_buf_ring *bufring;
static char *bufs;
static int lfd;
static volatile sig_atomic_t stop;
static unsigned long long st_enter, st_sends, st_zc, st_zc_copied,
	st_backstop;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {		/* SQ full: push what we have first */
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
		if (!sqe)
			die("io_uring_get_sqe");
	}
	return sqe;
}

static void set_fd(struct io_uring_sqe *sqe, int i)
{
	if (fixed_files) {
		sqe->fd = i;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static uint64_t udata(int i, int op)
{
	return (uint64_t)i << 8 | (uint64_t)op;
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, udata(0, OP_ACCEPT));
}

static void arm_recv(int i)
{
	struct uconn *u = &conns[i];
	struct conn *c = u->c;
	struct io_uring_sqe *sqe;

	if (multishot) {
		sqe = sqe_get();
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
	} else if (c->in_payload) {
		conn_payload_iov(c, u->riov);
		u->rmsg = (struct msghdr){ .msg_iov = u->riov, .msg_iovlen = 2 };
		sqe = sqe_get();
		io_uring_prep_recvmsg(sqe, c->fd, &u->rmsg, 0);
	} else {
		void *p;
		size_t room;

		if (c->tail - c->done >= NREPLY)
			return;		/* reply queue full: wait for sends */
		conn_stage_room(c, &p, &room);
		if (!room)
			return;
		sqe = sqe_get();
		io_uring_prep_recv(sqe, c->fd, p, room, 0);
	}
	if (!u->nonempty && !multishot && !opt_has(&o, 'p'))
		sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	set_fd(sqe, i);
	io_uring_sqe_set_data64(sqe, udata(i, OP_RECV));
	u->recv_busy = true;
}

/* Returns 1 if a send was queued. */
static int arm_send(int i)
{
	struct uconn *u = &conns[i];
	struct io_uring_sqe *sqe;
	size_t total;

	u->smsg = (struct msghdr){ .msg_iov = u->siov };
	u->smsg.msg_iovlen = (size_t)conn_gather(u->c, u->siov, TX_IOV, &total);
	sqe = sqe_get();
	if (o.zc_min && total >= o.zc_min) {
		io_uring_prep_sendmsg_zc(sqe, u->c->fd, &u->smsg,
					 MSG_WAITALL | MSG_NOSIGNAL);
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	} else {
		io_uring_prep_sendmsg(sqe, u->c->fd, &u->smsg,
				      MSG_WAITALL | MSG_NOSIGNAL);
	}
	set_fd(sqe, i);
	io_uring_sqe_set_data64(sqe, udata(i, OP_SEND));
	u->send_busy = true;
	st_sends++;
	return 1;
}

static void drop(int i)
{
	struct uconn *u = &conns[i];
	int none = -1;

	if (fixed_files)
		io_uring_register_files_update(&ring, (unsigned int)i, &none, 1);
	conn_free(u->c);
	*u = (struct uconn){ 0 };
}

static void on_accept(int fd)
{
	struct conn *c;
	int i;

	arm_accept();
	if (fd < 0)
		return;
	for (i = 0; i < MAX_CONNS && conns[i].c; i++)
		;
	if (i == MAX_CONNS) {
		close(fd);
		return;
	}
	c = conn_handshake(fd, &o);
	if (!c)
		return;
	if (fixed_files &&
	    io_uring_register_files_update(&ring, (unsigned int)i, &fd, 1) != 1) {
		conn_free(c);
		return;
	}
	conns[i].c = c;
}

/* A multishot completion: copy out of the provided buffer, give it back. */
static void on_recv_buf(struct uconn *u, const struct io_uring_cqe *cqe)
{
	unsigned short bid = (unsigned short)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
	char *buf = bufs + (size_t)bid * BUF_SIZE;

	if (!conn_feed(u->c, buf, (size_t)cqe->res))
		u->c->closing = true;	/* pipelined past NREPLY */
	io_uring_buf_ring_add(bufring, buf, BUF_SIZE, bid,
			      io_uring_buf_ring_mask(NBUF), 0);
	io_uring_buf_ring_advance(bufring, 1);
}

static void on_recv(struct uconn *u, const struct io_uring_cqe *cqe)
{
	struct conn *c = u->c;

	if (!multishot || !(cqe->flags & IORING_CQE_F_MORE))
		u->recv_busy = false;
	u->nonempty = cqe->flags & IORING_CQE_F_SOCK_NONEMPTY;
	if (cqe->res <= 0) {
		/* Out of provided buffers: simply re-arm once some return. */
		if (cqe->res != -EINTR && cqe->res != -EAGAIN &&
		    cqe->res != -ENOBUFS)
			c->closing = true;
		return;
	}
	if (multishot) {
		on_recv_buf(u, cqe);
		return;
	}
	if (c->in_payload)
		conn_payload_got(c, (size_t)cqe->res);
	else
		c->end += (uint32_t)cqe->res;
}

static void on_send(struct uconn *u, const struct io_uring_cqe *cqe)
{
	struct conn *c = u->c;

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		st_zc++;
		if ((uint32_t)cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			st_zc_copied++;
		if (--u->zc_pending == 0)
			conn_release_sent(c);
		return;
	}
	u->send_busy = false;
	if (cqe->flags & IORING_CQE_F_MORE)
		u->zc_pending++;
	if (cqe->res < 0) {
		c->closing = true;
		c->head = c->tail;	/* nobody to send to */
		return;
	}
	conn_sent(c, (size_t)cqe->res, u->zc_pending == 0);
}

static void handle(const struct io_uring_cqe *cqe)
{
	int i = (int)(cqe->user_data >> 8);

	switch (cqe->user_data & 0xff) {
	case OP_ACCEPT:
		on_accept(cqe->res);
		break;
	case OP_RECV:
		on_recv(&conns[i], cqe);
		break;
	case OP_SEND:
		on_send(&conns[i], cqe);
		break;
	}
}

/* After a batch of completions: new SQEs for every connection.  Returns
 * the number of sends queued. */
static unsigned int arm_all(void)
{
	unsigned int sends = 0;

	for (int i = 0; i < MAX_CONNS; i++) {
		struct uconn *u = &conns[i];
		struct conn *c = u->c;

		if (!c)
			continue;
		/* Staged headers run only while no recv targets the staging
		 * buffer; this also resumes requests parked by a full queue. */
		if (!u->recv_busy || multishot)
			conn_parse(c);
		if (!u->send_busy && conn_has_tx(c) &&
		    (!u->nonempty || c->closing || u->recv_busy ||
		     c->tail - c->head >= SEND_BATCH || opt_has(&o, 'e')))
			sends += (unsigned int)arm_send(i);
		if (!c->closing) {
			if (!u->recv_busy)
				arm_recv(i);
			continue;
		}
		/* Closing: answer what was read, then end the pending recv
		 * and free once the kernel holds nothing of ours. */
		if (u->send_busy || conn_has_tx(c))
			continue;
		if (u->recv_busy && !u->shut) {
			shutdown(c->fd, SHUT_RDWR);
			u->shut = true;
		}
		if (!u->recv_busy && !u->zc_pending)
			drop(i);
	}
	return sends;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void setup_ring(void)
{
	struct io_uring_params p = { 0 };
	int ret;

	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	if (opt_has(&o, 'c'))
		p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params(256, &ring, &p);
	if (ret < 0) {
		errno = -ret;
		die("io_uring_queue_init_params");
	}
	/* The ring fd itself registered: no fdget on every enter. */
	io_uring_register_ring_fd(&ring);
	multishot = opt_has(&o, 'm');
	if (multishot) {
		struct io_uring_buf_reg reg = { .ring_entries = NBUF, .bgid = BGID };

		bufring = mmap(NULL, NBUF * sizeof(struct io_uring_buf),
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		bufs = malloc((size_t)NBUF * BUF_SIZE);
		if (bufring == MAP_FAILED || !bufs)
			die("buffer ring");
		reg.ring_addr = (uint64_t)(uintptr_t)bufring;
		if (io_uring_register_buf_ring(&ring, &reg, 0))
			die("io_uring_register_buf_ring");
		io_uring_buf_ring_init(bufring);
		for (int b = 0; b < NBUF; b++)
			io_uring_buf_ring_add(bufring, bufs + (size_t)b * BUF_SIZE,
					      BUF_SIZE, (unsigned short)b,
					      io_uring_buf_ring_mask(NBUF), b);
		io_uring_buf_ring_advance(bufring, NBUF);
	}
	fixed_files = !opt_has(&o, 'f');
	if (fixed_files && io_uring_register_files_sparse(&ring, MAX_CONNS)) {
		fprintf(stderr, "uring: no registered files\n");
		fixed_files = false;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	unsigned int sends = 0;

	lfd = setup(argc, argv, &o);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setup_ring();
	arm_accept();
	while (!stop) {
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;
		int ret;

		st_enter++;
		if (sends && opt_has(&o, 't')) {
			struct __kernel_timespec ts = { .tv_nsec = 1000000 };

			ret = io_uring_submit_and_wait_timeout(&ring, &cqe,
							       1 + sends, &ts, NULL);
			if (ret == -ETIME)
				st_backstop++;
		} else {
			ret = io_uring_submit_and_wait(&ring, 1);
		}
		if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EAGAIN) {
			errno = -ret;
			die("io_uring_enter");
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			handle(cqe);
			n++;
		}
		io_uring_cq_advance(&ring, n);
		sends = arm_all();
	}
	fprintf(stderr, "uring: %llu waits, %llu sends, %llu backstop timeouts, "
		"%llu zc notifications (%llu copied)\n", st_enter, st_sends,
		st_backstop, st_zc, st_zc_copied);
	return 0;
}
