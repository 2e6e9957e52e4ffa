// SPDX-License-Identifier: GPL-2.0-only
/*
 * nbd-corrupt-proxy: an NBD proxy that damages exactly one READ reply, so
 * that a test can prove the lab notices a page that comes back wrong.
 *
 *   nbd-corrupt-proxy --listen ADDR:PORT --upstream ADDR:PORT
 *                     [--skip N] [--min-offset BYTES] [--magic HEX]
 *                     [--blackhole-after BYTES] [--times N]
 *
 * Prints "listening ADDR:PORT" once it accepts.  It parses both directions
 * of the protocol (fixed newstyle handshake, then simple replies or
 * structured chunks), passes everything through unchanged except the
 * payload of one successful READ: the (N+1)-th whose offset is at least
 * --min-offset (default 1 MiB), which ends at least 1 MiB before the end of
 * the export (both keep partition probes and the swap header intact) and,
 * with --magic, whose payload starts with that 64-bit little-endian value
 * (the lab passes memhog's page magic, so the damage lands in a page that
 * will be verified, not in a swapped-out shell).  The first page of that
 * payload becomes the target: one of its bytes is inverted, in that reply
 * and in every later reply that carries the same page -- a server that
 * returns one page wrong.  Corrupting a single reply is not enough: swap
 * readahead may drop a page it read without using it, and the next read
 * would bring the right data.  --times N damages only the first N replies
 * that carry it (a wire that flips a byte, then behaves).  Each corrupted
 * reply is logged on stderr:
 *   corrupted READ offset=O len=L page=P
 * Each connection gets two threads, one per direction.
 *
 * --blackhole-after BYTES turns it into a different fault (and corrupts
 * nothing): once that many bytes of WRITE data went to the server, nothing
 * more is forwarded either way and the connections stay open -- a peer that
 * hangs, for testing the lab's stall watchdog.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/nbd.h"
#include "tests/tools/fdio.h"

#define MAX_READS	4096	/* READs in flight per connection */
#define MAX_OPTS	64	/* options awaiting their reply */
#define FLIP_AT		100	/* byte of the target page that is inverted */
#define MARGIN		(1ULL << 20)

struct pending_read {
	uint64_t cookie, offset;
	uint32_t len;
	int used;
};

struct conn {
	int cfd, sfd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t client_flags;
	uint32_t opts[MAX_OPTS];	/* options sent, reply not finished */
	unsigned nopts;
	int transmission, dead;
	uint64_t export_size;
	struct pending_read reads[MAX_READS];
};

static long skip_reads;
static uint64_t min_offset = MARGIN;
static uint64_t page_magic;
static int have_magic;
static uint64_t blackhole_after;	/* 0: never */
static _Atomic uint64_t written;
static atomic_int blackholed;
static atomic_int have_target;
static atomic_long times_left = -1;	/* -1: every reply with the page */
static _Atomic uint64_t target;		/* byte offset of the bad page */

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A hung peer: keep the sockets, forward nothing, until we are killed. */
static void hang_if_blackholed(void)
{
	while (atomic_load(&blackholed))
		pause();
}

struct conn;
static void choose(const struct conn *c, uint64_t offset, uint64_t len,
		   const unsigned char *head, size_t head_len);

/*
 * Copy @len bytes.  If @c is set, they are the data of a READ at @offset:
 * once the first chunk is in, choose() may pick the target page; if the
 * payload carries the target, one byte of it is inverted.
 */
static int relay_data(int from, int to, uint64_t len, const struct conn *c,
		      uint64_t offset)
{
	static _Thread_local unsigned char buf[65536];
	uint64_t pos = 0, flip_at = UINT64_MAX;

	while (pos < len) {
		size_t n = len - pos > sizeof(buf) ? sizeof(buf) : len - pos;

		if (read_full(from, buf, n))
			return -1;
		if (c && pos == 0) {
			uint64_t t;

			choose(c, offset, len, buf, n);
			t = atomic_load(&target);
			if (atomic_load(&have_target) && t >= offset &&
			    t < offset + len && atomic_load(&times_left) != 0) {
				if (atomic_load(&times_left) > 0)
					atomic_fetch_sub(&times_left, 1);
				flip_at = t - offset + FLIP_AT;
				fprintf(stderr, "corrupted READ offset=%llu "
					"len=%llu page=%llu\n",
					(unsigned long long)offset,
					(unsigned long long)len,
					(unsigned long long)t);
			}
		}
		if (flip_at >= pos && flip_at < pos + n)
			buf[flip_at - pos] ^= 0xff;
		if (write_full(to, buf, n))
			return -1;
		pos += n;
	}
	return 0;
}

static int relay(int from, int to, uint64_t len)
{
	return relay_data(from, to, len, NULL, 0);
}

static int fwd(int from, int to, void *buf, size_t len)
{
	return read_full(from, buf, len) || write_full(to, buf, len) ? -1 : 0;
}

/* Client to server: flags, options, then requests (tracking READs). */
static void *client_to_server(void *arg)
{
	struct conn *c = arg;
	struct nbd_opt_hdr opt;
	struct nbd_req_hdr req;
	uint32_t flags;

	if (fwd(c->cfd, c->sfd, &flags, sizeof(flags)))
		goto out;
	c->client_flags = be32toh(flags);
	while (!c->transmission) {
		uint32_t code, len;

		if (read_full(c->cfd, &opt, sizeof(opt)))
			goto out;
		code = be32toh(opt.option);
		len = be32toh(opt.len);
		pthread_mutex_lock(&c->mu);
		if (c->nopts == MAX_OPTS) {
			pthread_mutex_unlock(&c->mu);
			goto out;
		}
		c->opts[c->nopts++] = code;
		pthread_mutex_unlock(&c->mu);
		if (write_full(c->sfd, &opt, sizeof(opt)) ||
		    relay(c->cfd, c->sfd, len))
			goto out;
		/* The client waits for the answer before it goes on; so do we,
		 * to know whether transmission has begun. */
		pthread_mutex_lock(&c->mu);
		while (c->nopts && !c->dead)
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
		if (c->dead)
			goto out;
	}
	for (;;) {
		uint16_t type;
		uint32_t len;

		if (read_full(c->cfd, &req, sizeof(req)))
			goto out;
		type = be16toh(req.type);
		len = be32toh(req.len);
		if (type == NBD_CMD_READ) {
			int i;

			pthread_mutex_lock(&c->mu);
			for (i = 0; i < MAX_READS && c->reads[i].used; i++)
				;
			if (i < MAX_READS)
				c->reads[i] = (struct pending_read){
					.cookie = req.cookie,
					.offset = be64toh(req.offset),
					.len = len, .used = 1 };
			pthread_mutex_unlock(&c->mu);
			if (i == MAX_READS)
				goto out;
		}
		hang_if_blackholed();
		if (write_full(c->sfd, &req, sizeof(req)))
			goto out;
		if (type == NBD_CMD_WRITE && relay(c->cfd, c->sfd, len))
			goto out;
		if (type == NBD_CMD_WRITE && blackhole_after &&
		    atomic_fetch_add(&written, len) + len >= blackhole_after &&
		    !atomic_exchange(&blackholed, 1))
			fprintf(stderr, "blackholed after %llu bytes written\n",
				(unsigned long long)atomic_load(&written));
	}
out:
	pthread_mutex_lock(&c->mu);
	c->dead = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	shutdown(c->cfd, SHUT_RDWR);
	shutdown(c->sfd, SHUT_RDWR);
	return NULL;
}

static void option_done(struct conn *c, int start_transmission)
{
	pthread_mutex_lock(&c->mu);
	memmove(c->opts, c->opts + 1, --c->nopts * sizeof(c->opts[0]));
	c->transmission |= start_transmission;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int server_options(struct conn *c)
{
	unsigned char buf[NBD_EXPORT_NAME_ZEROES];
	struct nbd_opt_reply_hdr rep;
	struct nbd_export_name_reply er;

	while (!c->transmission) {
		uint32_t head, type, len;

		pthread_mutex_lock(&c->mu);
		head = c->nopts ? c->opts[0] : 0;
		pthread_mutex_unlock(&c->mu);
		if (head == NBD_OPT_EXPORT_NAME) {
			if (fwd(c->sfd, c->cfd, &er, sizeof(er)))
				return -1;
			c->export_size = be64toh(er.size);
			if (!(c->client_flags & NBD_FLAG_C_NO_ZEROES) &&
			    fwd(c->sfd, c->cfd, buf, sizeof(buf)))
				return -1;
			option_done(c, 1);
			continue;
		}
		if (fwd(c->sfd, c->cfd, &rep, sizeof(rep)))
			return -1;
		type = be32toh(rep.type);
		len = be32toh(rep.len);
		if (type == NBD_REP_INFO && len >= sizeof(struct nbd_info_export)) {
			struct nbd_info_export ie;

			if (fwd(c->sfd, c->cfd, &ie, sizeof(ie)))
				return -1;
			if (be16toh(ie.type) == NBD_INFO_EXPORT)
				c->export_size = be64toh(ie.size);
			len -= sizeof(ie);
		}
		if (relay(c->sfd, c->cfd, len))
			return -1;
		if (type == NBD_REP_ACK || (type & NBD_REP_FLAG_ERROR))
			option_done(c, type == NBD_REP_ACK && head == NBD_OPT_GO);
	}
	return 0;
}

/* Find and forget the READ with @cookie; returns 0 if it was not one. */
static int take_read(struct conn *c, uint64_t cookie, int done,
		     struct pending_read *out)
{
	int i, found = 0;

	pthread_mutex_lock(&c->mu);
	for (i = 0; i < MAX_READS; i++) {
		if (c->reads[i].used && c->reads[i].cookie == cookie) {
			*out = c->reads[i];
			c->reads[i].used = !done;
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return found;
}

/* Pick the target page: the first page of the (skip+1)-th eligible READ.
 * Replies are relayed by one thread per connection, and the lab has one. */
static void choose(const struct conn *c, uint64_t offset, uint64_t len,
		   const unsigned char *head, size_t head_len)
{
	uint64_t first;

	if (blackhole_after || atomic_load(&have_target) || len < 4096 ||
	    offset < min_offset ||
	    offset + len + MARGIN > c->export_size)
		return;
	if (have_magic) {
		if (head_len < sizeof(first))
			return;
		memcpy(&first, head, sizeof(first));
		if (le64toh(first) != page_magic)
			return;
	}
	if (skip_reads > 0) {
		skip_reads--;
		return;
	}
	atomic_store(&target, offset);
	atomic_store(&have_target, 1);
}

/* Server to client: hello, option replies, then replies to requests. */
static void *server_to_client(void *arg)
{
	struct conn *c = arg;
	struct nbd_hello hello;
	struct pending_read r;

	if (fwd(c->sfd, c->cfd, &hello, sizeof(hello)) || server_options(c))
		goto out;
	for (;;) {
		uint32_t magic;

		if (read_full(c->sfd, &magic, sizeof(magic)))
			goto out;
		hang_if_blackholed();
		if (be32toh(magic) == NBD_SIMPLE_REPLY_MAGIC) {
			struct nbd_simple_reply_hdr h;

			h.magic = magic;
			if (read_full(c->sfd, (char *)&h + 4, sizeof(h) - 4) ||
			    write_full(c->cfd, &h, sizeof(h)))
				goto out;
			if (take_read(c, h.cookie, 1, &r) && !h.error &&
			    relay_data(c->sfd, c->cfd, r.len, c, r.offset))
				goto out;
		} else if (be32toh(magic) == NBD_CHUNK_MAGIC) {
			struct nbd_chunk_hdr h;
			struct nbd_chunk_offset_data od;
			uint32_t len;
			int done, is_read;

			h.magic = magic;
			if (read_full(c->sfd, (char *)&h + 4, sizeof(h) - 4) ||
			    write_full(c->cfd, &h, sizeof(h)))
				goto out;
			len = be32toh(h.len);
			done = be16toh(h.flags) & NBD_REPLY_FLAG_DONE;
			is_read = take_read(c, h.cookie, done, &r);
			if (is_read && be16toh(h.type) == NBD_REPLY_TYPE_OFFSET_DATA &&
			    len > sizeof(od)) {
				if (fwd(c->sfd, c->cfd, &od, sizeof(od)))
					goto out;
				len -= sizeof(od);
				if (relay_data(c->sfd, c->cfd, len, c,
					       be64toh(od.offset)))
					goto out;
			} else if (relay(c->sfd, c->cfd, len)) {
				goto out;
			}
		} else {
			fprintf(stderr, "nbd-corrupt-proxy: bad reply magic\n");
			goto out;
		}
	}
out:
	pthread_mutex_lock(&c->mu);
	c->dead = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	shutdown(c->cfd, SHUT_RDWR);
	shutdown(c->sfd, SHUT_RDWR);
	return NULL;
}

static struct sockaddr_in upstream;

static void *serve(void *arg)
{
	struct conn *c = arg;
	pthread_t a, b;
	int one = 1;

	c->sfd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->sfd < 0 || connect(c->sfd, (struct sockaddr *)&upstream,
				  sizeof(upstream))) {
		perror("nbd-corrupt-proxy: upstream");
		close(c->cfd);
		free(c);
		return NULL;
	}
	setsockopt(c->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_create(&a, NULL, client_to_server, c);
	pthread_create(&b, NULL, server_to_client, c);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	close(c->cfd);
	close(c->sfd);
	free(c);
	return NULL;
}

static void parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host)) {
		fprintf(stderr, "nbd-corrupt-proxy: bad address %s\n", s);
		exit(2);
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
		fprintf(stderr, "nbd-corrupt-proxy: bad address %s\n", s);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in listen_a = { 0 };
	socklen_t alen = sizeof(listen_a);
	char host[INET_ADDRSTRLEN];
	int i, lfd, one = 1, have_listen = 0, have_up = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--listen"))
			parse_addr(argv[i + 1], &listen_a), have_listen = 1;
		else if (!strcmp(argv[i], "--upstream"))
			parse_addr(argv[i + 1], &upstream), have_up = 1;
		else if (!strcmp(argv[i], "--skip"))
			skip_reads = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--min-offset"))
			min_offset = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--times"))
			atomic_store(&times_left, atol(argv[i + 1]));
		else if (!strcmp(argv[i], "--blackhole-after"))
			blackhole_after = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--magic"))
			page_magic = strtoull(argv[i + 1], NULL, 16), have_magic = 1;
		else
			break;
	}
	if (i != argc || !have_listen || !have_up) {
		fprintf(stderr, "usage: nbd-corrupt-proxy --listen ADDR:PORT "
			"--upstream ADDR:PORT [--skip N] [--min-offset BYTES] "
			"[--magic HEX] [--blackhole-after BYTES]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&listen_a, sizeof(listen_a)) ||
	    listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&listen_a, &alen))
		die("nbd-corrupt-proxy: listen");
	inet_ntop(AF_INET, &listen_a.sin_addr, host, sizeof(host));
	printf("listening %s:%u\n", host, ntohs(listen_a.sin_port));
	fflush(stdout);
	for (;;) {
		struct conn *c;
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->cfd = fd;
		if (pthread_create(&t, NULL, serve, c))
			die("pthread_create");
		pthread_detach(t);
	}
}
