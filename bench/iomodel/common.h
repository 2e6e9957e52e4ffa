/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the two I/O-model servers (epoll.c, uring.c) share, so that the only
 * difference between them is how bytes move between the socket and the
 * export: the command line, the memory export, a blocking fixed-newstyle
 * handshake, and a connection's protocol state (header staging, write
 * payload placement, the reply queue).  The models own every syscall.
 *
 * Benchmarks, not servers for use: one thread, READ/WRITE/FLUSH/DISC only,
 * and a request that cannot be answered sanely drops the client.
 */
#ifndef IOMODEL_COMMON_H
#define IOMODEL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto/nbd.h"

#define HDR_SIZE ((uint32_t)sizeof(struct nbd_req_hdr))
#define MAX_CONNS 64
#define NREPLY 1024		/* reply slots per connection (power of 2) */
#define TX_IOV 128		/* iovecs per sendmsg, as netswapd */

struct opts {
	uint64_t size;		/* -s: export size */
	uint32_t stage;		/* -b: header staging buffer bytes */
	const char *flags;	/* -o: switches, one letter each (g: greedy) */
	uint32_t zc_min;	/* -z: uring: SENDMSG_ZC for sends >= this */
};

/* A queued reply: its header lives here, its payload in the export. */
struct reply {
	uint8_t hdr[32];
	uint32_t hlen;
	uint32_t dlen;
	const char *data;
};

struct conn {
	int fd;
	bool structured;
	bool closing;		/* EOF, DISC or error: no more requests */
	bool greedy;		/* -o g: a payload recv fills the whole stage */

	/* Staged request headers (and whatever payload came with them). */
	uint8_t *stage;
	uint32_t stage_size, start, end;

	/* A WRITE whose payload is still arriving straight into the export. */
	bool in_payload;
	char *dst;
	uint32_t left;
	uint64_t wcookie;	/* answered once the payload is in */

	/* Replies: [done, head) sent but maybe still referenced by the kernel
	 * (zero-copy), [head, tail) waiting to be sent. */
	uint32_t done, head, tail;
	size_t tx_off;		/* bytes of q[head] already sent */
	struct reply q[NREPLY];
};

/* Parses argv, maps the export, opens the listener on 127.0.0.1 (the kernel
 * picks the port) and prints "port N".  Returns the listening fd. */
int setup(int argc, char **argv, struct opts *o);
bool opt_has(const struct opts *o, char flag);
void die(const char *what) __attribute__((noreturn));

/* Blocking handshake on a fresh connection.  Returns a connection in
 * transmission phase, or NULL (the fd is closed then). */
struct conn *conn_handshake(int fd, const struct opts *o);
void conn_free(struct conn *c);

/* Runs every complete staged header.  Stops early when a WRITE payload
 * must be received, when the reply queue is full, or on a fatal request
 * (closing set).  Returns the number of requests started. */
unsigned int conn_parse(struct conn *c);
/* Room to receive into: the payload's rest and the next header. */
void conn_payload_iov(struct conn *c, struct iovec iov[2]);
/* @n bytes arrived through conn_payload_iov()'s iovecs. */
void conn_payload_got(struct conn *c, size_t n);
/* @len bytes received into a buffer of our own (not through the iovecs
 * above): payload bytes are copied to their place, headers staged and run.
 * Returns false when they do not fit (the reply queue is full). */
bool conn_feed(struct conn *c, const char *p, size_t len);
/* Room to receive headers into (compacts the staging buffer). */
void conn_stage_room(struct conn *c, void **p, size_t *len);

/* Gathers queued replies into @iov; returns the count, sets @total. */
int conn_gather(const struct conn *c, struct iovec *iov, int max,
		size_t *total);
/* @n bytes of the queue went out; @release: the kernel holds no pointer
 * into them any more (always, except for zero-copy sends). */
void conn_sent(struct conn *c, size_t n, bool release);
void conn_release_sent(struct conn *c);
static inline bool conn_has_tx(const struct conn *c)
{
	return c->head != c->tail;
}

#endif /* IOMODEL_COMMON_H */
