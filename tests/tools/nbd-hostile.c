// SPDX-License-Identifier: GPL-2.0-only
/*
 * nbd-hostile: a hostile NBD server for testing clients.  It stands in front
 * of a real server (a proxy: the data lives upstream), behaves for a while,
 * then breaks the reply stream in one scripted way, on the first --conns
 * connections only; later connections are forwarded faithfully, i.e. the
 * good server "returns".  A client must survive the breakage, reset the
 * connection, reconnect and resend, and lose no data.
 *
 *   nbd-hostile --listen HOST:PORT --upstream HOST:PORT
 *               [--mode MODE] [--conns N] [--after N] [--errno N]
 *
 * The options may also come from the environment (NBD_HOSTILE_MODE,
 * NBD_HOSTILE_CONNS, NBD_HOSTILE_AFTER, NBD_HOSTILE_ERRNO), so lab/run
 * --proxy can use it.
 * MODE, applied to the first reply after --after good ones (and for the
 * payload modes, to the first READ reply from then on):
 *   bad-magic       the reply header's magic is wrong
 *   unknown-cookie  an extra reply naming a request never sent
 *   duplicate       the reply is sent twice
 *   short-payload   half a READ payload, then the connection closes
 *   error           the reply carries NBD_EIO, or --errno (its READ payload
 *                   dropped)
 *   write-errors    every WRITE reply from then on carries --errno (default
 *                   NBD_ENOSPC): a server whose disk is full, connection fine
 *   disconnect      the connection closes in the middle of a reply header
 *   stall           replies stop; the connection stays open, forever
 *   wrong-length    a READ payload followed by 512 bytes too many
 *   stall-payload   half a READ payload, then silence on an open connection
 *   none            forward faithfully
 *
 * Handshake bytes are forwarded untouched; the transmission phase starts
 * with the client's first request (the server cannot speak before it).
 * Only simple replies are framed: a structured reply ends the run, loudly.
 * Prints "listening HOST:PORT"; logs each injection on stderr.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/nbd.h"
#include "tests/tools/fdio.h"

enum mode {
	M_NONE, M_BAD_MAGIC, M_UNKNOWN_COOKIE, M_DUPLICATE, M_SHORT_PAYLOAD,
	M_ERROR, M_DISCONNECT, M_STALL, M_WRONG_LENGTH, M_STALL_PAYLOAD,
	M_WRITE_ERRORS,
};

static const char *const mode_names[] = {
	"none", "bad-magic", "unknown-cookie", "duplicate", "short-payload",
	"error", "disconnect", "stall", "wrong-length", "stall-payload",
	"write-errors",
};

#define NMODES (sizeof(mode_names) / sizeof(mode_names[0]))
#define MAX_INFLIGHT 4096
#define MAX_PAYLOAD (32u << 20)

static enum mode opt_mode = M_NONE;
static unsigned int opt_conns = 1, opt_after = 200;
static uint32_t opt_errno;		/* 0: the mode's own */
static struct sockaddr_storage upstream;
static socklen_t upstream_len;

struct inflight {
	uint64_t cookie;
	uint16_t type;
	uint32_t len;
	bool used;
};

/* What s2c has read from the server and not yet framed. */
struct reader {
	int fd;
	size_t off, len;
	char buf[65536];
};

struct pair {
	int cfd, sfd;
	struct reader rd;
	unsigned int index;
	bool hostile;
	pthread_mutex_t lock;
	bool transmission;		/* the client sent its first request */
	struct inflight table[MAX_INFLIGHT];
	char *buf;			/* payload relay buffer (s2c) */
};

static void die(const char *msg)
{
	fprintf(stderr, "nbd-hostile: %s: %s\n", msg, strerror(errno));
	exit(1);
}

static int relay(int from, int to, char *buf, size_t n)
{
	while (n) {
		size_t k = n < MAX_PAYLOAD ? n : MAX_PAYLOAD;

		if (read_full(from, buf, k) || (to >= 0 && write_full(to, buf, k)))
			return -1;
		n -= k;
	}
	return 0;
}

static int rd_full(struct reader *rd, void *p, size_t n)
{
	size_t k = rd->len - rd->off < n ? rd->len - rd->off : n;

	memcpy(p, rd->buf + rd->off, k);
	rd->off += k;
	return read_full(rd->fd, (char *)p + k, n - k);
}

/* Server payload to the client (or nowhere, to < 0); keeps it in buf. */
static int rd_relay(struct reader *rd, int to, char *buf, size_t n)
{
	if (n > MAX_PAYLOAD)
		return -1;
	if (rd_full(rd, buf, n))
		return -1;
	return to >= 0 ? write_full(to, buf, n) : 0;
}

static void table_put(struct pair *p, uint64_t cookie, uint16_t type, uint32_t len)
{
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < MAX_INFLIGHT; i++) {
		if (!p->table[i].used) {
			p->table[i] = (struct inflight){ cookie, type, len, true };
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
}

static bool table_take(struct pair *p, uint64_t cookie, uint16_t *type, uint32_t *len)
{
	unsigned int i;
	bool found = false;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < MAX_INFLIGHT; i++) {
		if (p->table[i].used && p->table[i].cookie == cookie) {
			*type = p->table[i].type;
			*len = p->table[i].len;
			p->table[i].used = false;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return found;
}

static void cut(struct pair *p)
{
	shutdown(p->cfd, SHUT_RDWR);
	shutdown(p->sfd, SHUT_RDWR);
}

/* Client to server: options verbatim, then requests, recording each. */
static void *c2s(void *arg)
{
	struct pair *p = arg;
	struct nbd_req_hdr req;
	struct nbd_opt_hdr opt;
	char *buf = malloc(MAX_PAYLOAD);
	uint32_t flags, magic;

	if (!buf || read_full(p->cfd, &flags, 4) || write_full(p->sfd, &flags, 4))
		goto out;
	for (;;) {
		if (read_full(p->cfd, &magic, 4))
			goto out;
		if (be32toh(magic) == NBD_REQ_MAGIC)
			break;
		memcpy(&opt, &magic, 4);
		if (read_full(p->cfd, (char *)&opt + 4, sizeof(opt) - 4) ||
		    be64toh(opt.magic) != NBD_OPTS_MAGIC ||
		    write_full(p->sfd, &opt, sizeof(opt)) ||
		    relay(p->cfd, p->sfd, buf, be32toh(opt.len)))
			goto out;
	}
	pthread_mutex_lock(&p->lock);
	p->transmission = true;
	pthread_mutex_unlock(&p->lock);

	memcpy(&req, &magic, 4);
	if (read_full(p->cfd, (char *)&req + 4, sizeof(req) - 4))
		goto out;
	for (;;) {
		uint16_t type = be16toh(req.type);
		uint32_t len = be32toh(req.len);

		if (be32toh(req.magic) != NBD_REQ_MAGIC)
			goto out;
		if (type != NBD_CMD_DISC)
			table_put(p, be64toh(req.cookie), type, len);
		if (write_full(p->sfd, &req, sizeof(req)))
			goto out;
		if (type == NBD_CMD_WRITE && relay(p->cfd, p->sfd, buf, len))
			goto out;
		if (type == NBD_CMD_DISC || read_full(p->cfd, &req, sizeof(req)))
			goto out;
	}
out:
	free(buf);
	cut(p);
	return NULL;
}

/* Sends a READ reply's payload: all, half, or with garbage after it. */
static int relay_payload(struct pair *p, uint32_t len, enum mode how)
{
	static const char garbage[512] = { [0 ... 511] = (char)0xa5 };

	if (how == M_SHORT_PAYLOAD || how == M_STALL_PAYLOAD) {
		if (rd_relay(&p->rd, -1, p->buf, len))
			return -1;
		write_full(p->cfd, p->buf, len / 2);
		if (how == M_SHORT_PAYLOAD) {
			cut(p);
			return -1;
		}
		return 1;	/* stall from here on */
	}
	if (rd_relay(&p->rd, how == M_ERROR ? -1 : p->cfd, p->buf, len))
		return -1;
	if (how == M_WRONG_LENGTH)
		return write_full(p->cfd, garbage, sizeof(garbage));
	return 0;
}

/* Server to client: handshake verbatim, then replies, maybe broken. */
static void *s2c(void *arg)
{
	struct pair *p = arg;
	struct nbd_simple_reply_hdr rep;
	unsigned int good = 0;
	bool injected = !p->hostile || opt_mode == M_NONE, stalled = false;
	struct reader *rd = &p->rd;

	rd->fd = p->sfd;
	for (;;) {
		ssize_t r = read(p->sfd, rd->buf, sizeof(rd->buf));
		bool tx;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		pthread_mutex_lock(&p->lock);
		tx = p->transmission;
		pthread_mutex_unlock(&p->lock);
		if (tx) {
			rd->off = 0;
			rd->len = (size_t)r;
			break;
		}
		if (write_full(p->cfd, rd->buf, (size_t)r))
			goto out;
	}

	for (;;) {
		uint16_t type = 0;
		uint32_t len = 0;
		enum mode how = M_NONE;
		bool payload;

		if (rd_full(rd, &rep, sizeof(rep)))
			goto out;
		if (be32toh(rep.magic) != NBD_SIMPLE_REPLY_MAGIC) {
			fprintf(stderr, "nbd-hostile: conn %u: not a simple reply, giving up\n",
				p->index);
			goto out;
		}
		if (!table_take(p, be64toh(rep.cookie), &type, &len)) {
			fprintf(stderr, "nbd-hostile: conn %u: server replied to an unknown cookie\n",
				p->index);
			goto out;
		}
		payload = type == NBD_CMD_READ && !rep.error;

		if (stalled) {
			if (payload && rd_relay(rd, -1, p->buf, len))
				goto out;
			continue;
		}
		if (injected && p->hostile && opt_mode == M_WRITE_ERRORS &&
		    type == NBD_CMD_WRITE)
			how = M_WRITE_ERRORS;
		if (!injected && good >= opt_after) {
			bool needs_read = opt_mode == M_SHORT_PAYLOAD ||
					  opt_mode == M_WRONG_LENGTH ||
					  opt_mode == M_STALL_PAYLOAD;

			if (!needs_read || payload) {
				how = opt_mode;
				injected = true;
				fprintf(stderr, "nbd-hostile: conn %u: injecting %s after %u replies\n",
					p->index, mode_names[how], good);
			}
		}
		good++;

		switch (how) {
		case M_BAD_MAGIC:
			rep.magic = htobe32(0xdeadbeef);
			break;
		case M_UNKNOWN_COOKIE: {
			struct nbd_simple_reply_hdr bogus = rep;

			bogus.cookie = htobe64(0xfeedface0000ffffULL);
			if (write_full(p->cfd, &bogus, sizeof(bogus)))
				goto out;
			break;
		}
		case M_ERROR:
			rep.error = htobe32(opt_errno ? opt_errno : NBD_EIO);
			break;
		case M_WRITE_ERRORS:
			if (type == NBD_CMD_WRITE)
				rep.error = htobe32(opt_errno ? opt_errno : NBD_ENOSPC);
			break;
		case M_DISCONNECT:
			write_full(p->cfd, &rep, sizeof(rep) / 2);
			goto out;
		case M_STALL:
			stalled = true;
			if (payload && rd_relay(rd, -1, p->buf, len))
				goto out;
			continue;
		default:
			break;
		}
		if (write_full(p->cfd, &rep, sizeof(rep)))
			goto out;
		if (payload) {
			int r = relay_payload(p, len, how);

			if (r < 0)
				goto out;
			if (r > 0)
				stalled = true;
		}
		if (how == M_DUPLICATE) {
			/* The payload is gone upstream: resend the same bytes. */
			if (write_full(p->cfd, &rep, sizeof(rep)) ||
			    (payload && write_full(p->cfd, p->buf, len)))
				goto out;
		}
	}
out:
	if (stalled) {
		/* Keep the client's socket open: it must notice by itself. */
		char sink[4096];

		while (read(p->cfd, sink, sizeof(sink)) > 0)
			;
	}
	cut(p);
	return NULL;
}

static void *serve(void *arg)
{
	struct pair *p = arg;
	pthread_t a, b;

	pthread_create(&a, NULL, c2s, p);
	pthread_create(&b, NULL, s2c, p);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	close(p->cfd);
	close(p->sfd);
	free(p->buf);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}

static int parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &res))
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static enum mode parse_mode(const char *s)
{
	unsigned int i;

	for (i = 0; i < NMODES; i++)
		if (!strcmp(s, mode_names[i]))
			return (enum mode)i;
	fprintf(stderr, "nbd-hostile: unknown mode '%s'\n", s);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage lss;
	socklen_t llen;
	const char *listen_at = NULL, *up = NULL, *e;
	unsigned int index = 0;
	int lfd, one = 1, i;
	char host[64], port[16];

	if ((e = getenv("NBD_HOSTILE_MODE")))
		opt_mode = parse_mode(e);
	if ((e = getenv("NBD_HOSTILE_CONNS")))
		opt_conns = (unsigned int)atoi(e);
	if ((e = getenv("NBD_HOSTILE_AFTER")))
		opt_after = (unsigned int)atoi(e);
	if ((e = getenv("NBD_HOSTILE_ERRNO")))
		opt_errno = (uint32_t)atoi(e);
	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			listen_at = argv[i + 1];
		else if (!strcmp(argv[i], "--upstream"))
			up = argv[i + 1];
		else if (!strcmp(argv[i], "--mode"))
			opt_mode = parse_mode(argv[i + 1]);
		else if (!strcmp(argv[i], "--conns"))
			opt_conns = (unsigned int)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--after"))
			opt_after = (unsigned int)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--errno"))
			opt_errno = (uint32_t)atoi(argv[i + 1]);
		else
			break;
	}
	if (i != argc || !listen_at || !up) {
		fprintf(stderr, "usage: nbd-hostile --listen HOST:PORT --upstream HOST:PORT "
			"[--mode MODE] [--conns N] [--after N] [--errno N]\n");
		return 2;
	}
	if (parse_hostport(up, &upstream, &upstream_len) ||
	    parse_hostport(listen_at, &lss, &llen)) {
		fprintf(stderr, "nbd-hostile: bad address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(lss.ss_family, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&lss, llen) || listen(lfd, 16))
		die("bind/listen");
	llen = sizeof(lss);
	getsockname(lfd, (struct sockaddr *)&lss, &llen);
	getnameinfo((struct sockaddr *)&lss, llen, host, sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	printf("listening %s:%s\n", host, port);
	fflush(stdout);
	fprintf(stderr, "nbd-hostile: mode %s on the first %u connection(s) after %u replies\n",
		mode_names[opt_mode], opt_conns, opt_after);

	for (;;) {
		struct pair *p;
		pthread_t t;
		int cfd = accept(lfd, NULL, NULL), sfd;

		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		sfd = socket(upstream.ss_family, SOCK_STREAM, 0);
		if (sfd < 0 || connect(sfd, (struct sockaddr *)&upstream, upstream_len)) {
			fprintf(stderr, "nbd-hostile: upstream: %s\n", strerror(errno));
			close(cfd);
			if (sfd >= 0)
				close(sfd);
			continue;
		}
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		p = calloc(1, sizeof(*p));
		if (!p || !(p->buf = malloc(MAX_PAYLOAD)))
			die("malloc");
		p->cfd = cfd;
		p->sfd = sfd;
		p->index = index;
		p->hostile = index < opt_conns;
		pthread_mutex_init(&p->lock, NULL);
		fprintf(stderr, "nbd-hostile: conn %u accepted (%s)\n", index,
			p->hostile ? "hostile" : "faithful");
		index++;
		pthread_create(&t, NULL, serve, p);
		pthread_detach(t);
	}
}
