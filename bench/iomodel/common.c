// SPDX-License-Identifier: GPL-2.0-only
/*
 * The protocol half of the I/O-model servers; see common.h.  The request
 * path mirrors netswapd's memory exports: a READ reply points into the
 * mapping, a WRITE payload is received straight into it (only the bytes
 * that already sit in the staging buffer behind the header are copied).
 */
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static char *export_map;
static uint64_t export_size;

void die(const char *what)
{
	perror(what);
	exit(1);
}

bool opt_has(const struct opts *o, char flag)
{
	return o->flags && strchr(o->flags, flag);
}

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'G': return v << 30;
	case 'M': return v << 20;
	case 'K': case 'k': return v << 10;
	default: return v;
	}
}

int setup(int argc, char **argv, struct opts *o)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd, c, one = 1;

	*o = (struct opts){ .size = 1ULL << 30, .stage = 2048, .flags = "" };
	while ((c = getopt(argc, argv, "s:b:o:z:")) != -1) {
		switch (c) {
		case 's': o->size = parse_size(optarg); break;
		case 'b': o->stage = (uint32_t)parse_size(optarg); break;
		case 'o': o->flags = optarg; break;
		case 'z': o->zc_min = (uint32_t)parse_size(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-s SIZE] [-b STAGE] [-o FLAGS] [-z ZC_MIN]\n",
				argv[0]);
			exit(2);
		}
	}
	if (o->stage < HDR_SIZE)
		o->stage = HDR_SIZE;

	/* As netswapd's memory export: sparse, no huge pages. */
	export_size = o->size;
	export_map = mmap(NULL, export_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (export_map == MAP_FAILED)
		die("mmap");
	madvise(export_map, export_size, MADV_NOHUGEPAGE);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		die("listen");
	printf("port %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

/* ---- the handshake: blocking, it only runs once per connection ---- */

static int read_full(int fd, void *buf, size_t len)
{
	while (len) {
		ssize_t n = read(fd, buf, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf = (const char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static int opt_reply(int fd, uint32_t opt, uint32_t type, const void *data,
		     uint32_t len)
{
	struct nbd_opt_reply_hdr h = {
		.magic = htobe64(NBD_REP_MAGIC),
		.option = htobe32(opt),
		.type = htobe32(type),
		.len = htobe32(len),
	};

	if (write_full(fd, &h, sizeof(h)))
		return -1;
	return len ? write_full(fd, data, len) : 0;
}

#define TFLAGS (NBD_TFLAG_HAS_FLAGS | NBD_TFLAG_SEND_FLUSH | \
		NBD_TFLAG_SEND_FUA | NBD_TFLAG_CAN_MULTI_CONN)

/* Option negotiation up to GO/EXPORT_NAME.  Returns 0 to transmit. */
static int negotiate(int fd, bool *structured)
{
	struct nbd_hello hello = {
		.init_magic = htobe64(NBD_INIT_MAGIC),
		.opts_magic = htobe64(NBD_OPTS_MAGIC),
		.handshake_flags = htobe16(NBD_FLAG_FIXED_NEWSTYLE |
					   NBD_FLAG_NO_ZEROES),
	};
	uint8_t data[NBD_MAX_STRING + 64];
	uint32_t cflags;

	if (write_full(fd, &hello, sizeof(hello)) ||
	    read_full(fd, &cflags, sizeof(cflags)) ||
	    !(be32toh(cflags) & NBD_FLAG_C_FIXED_NEWSTYLE))
		return -1;
	for (;;) {
		struct nbd_opt_hdr h;
		uint32_t opt, len;

		if (read_full(fd, &h, sizeof(h)) ||
		    be64toh(h.magic) != NBD_OPTS_MAGIC)
			return -1;
		opt = be32toh(h.option);
		len = be32toh(h.len);
		if (len > sizeof(data) || read_full(fd, data, len))
			return -1;
		switch (opt) {
		case NBD_OPT_STRUCTURED_REPLY:
			*structured = true;
			if (opt_reply(fd, opt, NBD_REP_ACK, NULL, 0))
				return -1;
			break;
		case NBD_OPT_INFO:
		case NBD_OPT_GO: {
			struct nbd_info_export info = {
				.type = htobe16(NBD_INFO_EXPORT),
				.size = htobe64(export_size),
				.tflags = htobe16(TFLAGS),
			};

			/* One export: whatever name was asked for is it. */
			if (opt_reply(fd, opt, NBD_REP_INFO, &info, sizeof(info)) ||
			    opt_reply(fd, opt, NBD_REP_ACK, NULL, 0))
				return -1;
			if (opt == NBD_OPT_GO)
				return 0;
			break;
		}
		case NBD_OPT_EXPORT_NAME: {
			struct nbd_export_name_reply r = {
				.size = htobe64(export_size),
				.tflags = htobe16(TFLAGS),
			};
			static const uint8_t zeroes[NBD_EXPORT_NAME_ZEROES];

			if (write_full(fd, &r, sizeof(r)))
				return -1;
			if (!(be32toh(cflags) & NBD_FLAG_C_NO_ZEROES) &&
			    write_full(fd, zeroes, sizeof(zeroes)))
				return -1;
			return 0;
		}
		case NBD_OPT_ABORT:
			opt_reply(fd, opt, NBD_REP_ACK, NULL, 0);
			return -1;
		default:
			if (opt_reply(fd, opt, NBD_REP_ERR_UNSUP, NULL, 0))
				return -1;
		}
	}
}

struct conn *conn_handshake(int fd, const struct opts *o)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (c)
		c->stage = malloc(o->stage);
	if (!c || !c->stage || negotiate(fd, &c->structured)) {
		if (c)
			free(c->stage);
		free(c);
		close(fd);
		return NULL;
	}
	/* Replies must not wait for Nagle: a QD1 client waits for each. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->stage_size = o->stage;
	c->greedy = opt_has(o, 'g');
	return c;
}

void conn_free(struct conn *c)
{
	close(c->fd);
	free(c->stage);
	free(c);
}

/* ---- transmission ---- */

static void put16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }

/* Queues a reply; @data/@dlen is a READ's payload in the mapping. */
static void queue_reply(struct conn *c, uint16_t type, uint64_t cookie,
			uint64_t off, uint32_t err, const char *data,
			uint32_t dlen)
{
	struct reply *r = &c->q[c->tail++ % NREPLY];
	uint8_t *h = r->hdr;

	r->data = data;
	r->dlen = dlen;
	if (c->structured && type == NBD_CMD_READ) {
		/* libnbd negotiates structured replies: a read is answered
		 * by one OFFSET_DATA chunk (or ERROR) flagged DONE. */
		uint16_t ctype = err ? NBD_REPLY_TYPE_ERROR
				 : dlen ? NBD_REPLY_TYPE_OFFSET_DATA
				 : NBD_REPLY_TYPE_NONE;
		uint32_t plen = err ? 6 : dlen ? 8 + dlen : 0;

		put32(h, NBD_CHUNK_MAGIC);
		put16(h + 4, NBD_REPLY_FLAG_DONE);
		put16(h + 6, ctype);
		put64(h + 8, cookie);
		put32(h + 16, plen);
		if (err) {
			put32(h + 20, err);
			put16(h + 24, 0);	/* no message */
			r->dlen = 0;
		} else if (dlen) {
			put64(h + 20, off);
		}
		r->hlen = 20 + (plen > 8 ? 8 : plen);
		return;
	}
	put32(h, NBD_SIMPLE_REPLY_MAGIC);
	put32(h + 4, err);
	put64(h + 8, cookie);
	r->hlen = 16;
	if (err)
		r->dlen = 0;
}

static bool in_export(uint64_t off, uint32_t len)
{
	return len <= export_size && off <= export_size - len;
}

/* One request header.  Returns false when the client must go. */
static bool dispatch(struct conn *c, const uint8_t *p)
{
	struct nbd_req_hdr h;
	uint16_t type;
	uint64_t cookie, off;
	uint32_t len, got;

	memcpy(&h, p, sizeof(h));
	if (be32toh(h.magic) != NBD_REQ_MAGIC)
		return false;
	type = be16toh(h.type);
	cookie = be64toh(h.cookie);
	off = be64toh(h.offset);
	len = be32toh(h.len);
	switch (type) {
	case NBD_CMD_READ:
		if (!in_export(off, len) || len > NBD_DEFAULT_MAX_PAYLOAD)
			queue_reply(c, type, cookie, off, NBD_EINVAL, NULL, 0);
		else
			queue_reply(c, type, cookie, off, 0, export_map + off, len);
		return true;
	case NBD_CMD_WRITE:
		/* Unlike netswapd, no skipping of a refused payload here. */
		if (!in_export(off, len) || len > NBD_DEFAULT_MAX_PAYLOAD)
			return false;
		got = c->end - c->start < len ? c->end - c->start : len;
		memcpy(export_map + off, c->stage + c->start, got);
		c->start += got;
		if (got < len) {
			c->in_payload = true;
			c->dst = export_map + off + got;
			c->left = len - got;
			c->wcookie = cookie;
			return true;
		}
		queue_reply(c, type, cookie, off, 0, NULL, 0);
		return true;
	case NBD_CMD_FLUSH:	/* memory is as durable as it gets */
		queue_reply(c, type, cookie, off, 0, NULL, 0);
		return true;
	case NBD_CMD_DISC:
		return false;
	default:
		queue_reply(c, type, cookie, off, NBD_EINVAL, NULL, 0);
		return true;
	}
}

unsigned int conn_parse(struct conn *c)
{
	unsigned int n = 0;

	while (!c->closing && !c->in_payload && c->end - c->start >= HDR_SIZE &&
	       c->tail - c->done < NREPLY) {
		const uint8_t *p = c->stage + c->start;

		c->start += HDR_SIZE;
		if (!dispatch(c, p)) {
			c->closing = true;
			break;
		}
		n++;
	}
	if (c->start == c->end)
		c->start = c->end = 0;
	return n;
}

/* netswapd (and this by default) takes only the next header behind a
 * payload: in a stream of WRITEs every payload then costs one recvmsg, and
 * a larger stage never fills.  Greedy takes the whole stage: the requests
 * behind the payload come along, their payloads copied out of the stage. */
void conn_payload_iov(struct conn *c, struct iovec iov[2])
{
	/* A payload is only pending once the staged bytes are used up. */
	c->start = c->end = 0;
	iov[0] = (struct iovec){ c->dst, c->left };
	iov[1] = (struct iovec){ c->stage, c->greedy ? c->stage_size : HDR_SIZE };
}

void conn_payload_got(struct conn *c, size_t n)
{
	if (n < c->left) {
		c->dst += n;
		c->left -= (uint32_t)n;
		return;
	}
	c->end = (uint32_t)(n - c->left);
	c->left = 0;
	c->in_payload = false;
	queue_reply(c, NBD_CMD_WRITE, c->wcookie, 0, 0, NULL, 0);
}

bool conn_feed(struct conn *c, const char *p, size_t len)
{
	while (len && !c->closing) {
		void *room;
		size_t n;

		if (c->in_payload) {
			n = len < c->left ? len : c->left;
			memcpy(c->dst, p, n);
			conn_payload_got(c, n);
		} else {
			conn_stage_room(c, &room, &n);
			if (!n)
				return false;
			n = len < n ? len : n;
			memcpy(room, p, n);
			c->end += (uint32_t)n;
			conn_parse(c);
		}
		p += n;
		len -= n;
	}
	return true;
}

void conn_stage_room(struct conn *c, void **p, size_t *len)
{
	if (c->start) {
		memmove(c->stage, c->stage + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	*p = c->stage + c->end;
	*len = c->stage_size - c->end;
}

int conn_gather(const struct conn *c, struct iovec *iov, int max,
		size_t *total)
{
	size_t skip = c->tx_off;
	int n = 0;

	*total = 0;
	for (uint32_t i = c->head; i != c->tail && n + 2 <= max; i++) {
		const struct reply *r = &c->q[i % NREPLY];

		if (skip < r->hlen) {
			iov[n] = (struct iovec){ (void *)(r->hdr + skip),
						 r->hlen - skip };
			*total += iov[n++].iov_len;
			skip = 0;
		} else {
			skip -= r->hlen;
		}
		if (r->dlen > skip) {
			iov[n] = (struct iovec){ (void *)(r->data + skip),
						 r->dlen - skip };
			*total += iov[n++].iov_len;
		}
		skip = 0;
	}
	return n;
}

void conn_sent(struct conn *c, size_t n, bool release)
{
	while (c->head != c->tail) {
		const struct reply *r = &c->q[c->head % NREPLY];
		size_t left = r->hlen + r->dlen - c->tx_off;

		if (n < left) {
			c->tx_off += n;
			break;
		}
		n -= left;
		c->tx_off = 0;
		c->head++;
	}
	if (release)
		c->done = c->head;
}

void conn_release_sent(struct conn *c)
{
	c->done = c->head;
}
