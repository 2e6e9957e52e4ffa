// SPDX-License-Identifier: GPL-2.0-only
/*
 * nbd-pipeline: pipeline large READs and WRITEs at an NBD server without
 * waiting for replies, the way the upstream integrity tests do, and check
 * that every one of them succeeds and every read returns what was written.
 *
 *   nbd-pipeline HOST PORT EXPORT [-n COUNT] [-m MIN_MIB] [-M MAX_MIB]
 *                [-a ALIGN] [-s SEED] [-S] [-F]
 *
 * A sender thread sends COUNT requests (READ or WRITE at random, lengths
 * from MIN to MAX MiB, at most the server's advertised maximum payload)
 * as fast as the socket takes them; a receiver thread reads the replies.
 * The only thing a request ever waits for is an overlapping one still in
 * flight (a WRITE overlapping anything, a READ overlapping a WRITE), so
 * the expected content of every read is known: a shadow copy of the
 * export, updated when a WRITE is sent.  -S negotiates structured replies,
 * -F mixes in FUA writes and FLUSHes, -a sets the alignment of offsets and
 * lengths (default 4096; the spec's minimum block size is 1).
 * Exit 0 when all replies were successful and correct, 1 otherwise.
 */
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/nbd.h"
#include "tests/tools/fdio.h"

#define MAX_INFLIGHT 256
#define MIB (1ULL << 20)

struct req {
	bool busy;
	uint16_t type;
	uint64_t off;
	uint32_t len;
	unsigned int seq;	/* position in the run, for messages */
};

static struct {
	int fd;
	bool structured;
	uint64_t size;
	uint32_t max_payload;
	uint8_t *shadow;	/* what the export must hold */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct req reqs[MAX_INFLIGHT];
	unsigned int inflight, done, count;
	unsigned int lo, hi;	/* MiB */
	uint32_t align;		/* offsets and lengths, a power of two */
	bool mix;		/* FUA writes and FLUSHes too */
	bool failed;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "nbd-pipeline: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

static void get(void *buf, size_t len)
{
	if (read_full(g.fd, buf, len))
		die("connection closed: %s", strerror(errno ? errno : EPIPE));
}

static void put(const void *buf, size_t len)
{
	if (write_full(g.fd, buf, len))
		die("send failed: %s", strerror(errno));
}

static void send_opt(uint32_t opt, const void *data, uint32_t len)
{
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPTS_MAGIC),
		.option = htobe32(opt),
		.len = htobe32(len),
	};

	put(&h, sizeof(h));
	if (len)
		put(data, len);
}

/* One option reply; its payload (at most 1 KiB is kept) in @data. */
static uint32_t opt_reply(uint8_t *data, uint32_t *len)
{
	struct nbd_opt_reply_hdr h;
	uint32_t n;

	get(&h, sizeof(h));
	if (be64toh(h.magic) != NBD_REP_MAGIC)
		die("bad option reply magic%s", "");
	n = be32toh(h.len);
	if (n > 1024)
		die("option reply too long%s", "");
	get(data, n);
	*len = n;
	return be32toh(h.type);
}

static void handshake(const char *name)
{
	struct nbd_hello hello;
	uint32_t flags = htobe32(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	uint8_t buf[1024], data[1024];
	uint32_t nlen = (uint32_t)strlen(name), len, type;
	uint16_t nreq = htobe16(1), info = htobe16(NBD_INFO_BLOCK_SIZE);

	get(&hello, sizeof(hello));
	if (be64toh(hello.init_magic) != NBD_INIT_MAGIC ||
	    be64toh(hello.opts_magic) != NBD_OPTS_MAGIC)
		die("not a newstyle NBD server%s", "");
	put(&flags, sizeof(flags));
	if (g.structured) {
		send_opt(NBD_OPT_STRUCTURED_REPLY, NULL, 0);
		if (opt_reply(data, &len) != NBD_REP_ACK)
			die("structured replies refused%s", "");
	}
	if (nlen > 512)
		die("export name too long%s", "");
	len = htobe32(nlen);
	memcpy(buf, &len, 4);
	memcpy(buf + 4, name, nlen);
	memcpy(buf + 4 + nlen, &nreq, 2);
	memcpy(buf + 6 + nlen, &info, 2);
	send_opt(NBD_OPT_GO, buf, 8 + nlen);
	g.max_payload = NBD_DEFAULT_MAX_PAYLOAD;
	while ((type = opt_reply(data, &len)) == NBD_REP_INFO) {
		uint16_t it = be16toh(*(uint16_t *)data);
		uint64_t v64;
		uint32_t v32;

		if (it == NBD_INFO_EXPORT && len >= 12) {
			memcpy(&v64, data + 2, 8);
			g.size = be64toh(v64);
		} else if (it == NBD_INFO_BLOCK_SIZE && len >= 14) {
			memcpy(&v32, data + 10, 4);
			g.max_payload = be32toh(v32);
		}
	}
	if (type != NBD_REP_ACK)
		die("GO '%s' refused", name);
}

static bool overlaps(const struct req *a, uint64_t off, uint32_t len)
{
	return a->busy && a->off < off + len && off < a->off + a->len;
}

/* Whether a new request may go now (lock held). */
static bool conflicts(uint16_t type, uint64_t off, uint32_t len)
{
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (overlaps(&g.reqs[i], off, len) &&
		    (type == NBD_CMD_WRITE || g.reqs[i].type == NBD_CMD_WRITE))
			return true;
	return false;
}

static int free_slot(void)
{
	for (int i = 0; i < MAX_INFLIGHT; i++)
		if (!g.reqs[i].busy)
			return i;
	return -1;
}

static void fill(uint8_t *p, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i + 4 <= len; i += 4) {
		seed = seed * 1103515245U + 12345U;
		memcpy(p + i, &seed, 4);
	}
}

static void *sender(void *arg)
{
	unsigned int *rng = arg;
	uint32_t lo = g.lo, hi = g.hi;

	for (unsigned int seq = 0; seq < g.count; seq++) {
		unsigned int dice = (unsigned int)rand_r(rng) % 16;
		uint16_t type = dice % 2 ? NBD_CMD_WRITE : NBD_CMD_READ;
		uint16_t flags = g.mix && dice == 1 ? NBD_CMD_FLAG_FUA : 0;
		uint64_t span = (uint64_t)(hi - lo) * MIB;
		uint32_t len = (uint32_t)(lo * MIB +
			(span ? ((uint64_t)rand_r(rng) * g.align) % span : 0));
		uint64_t off;
		int slot;

		if (len > g.max_payload)
			len = g.max_payload;
		len &= ~(g.align - 1);
		if (g.mix && dice == 2) {
			type = NBD_CMD_FLUSH;
			len = 0;
		}
		pthread_mutex_lock(&g.lock);
		for (;;) {
			off = ((uint64_t)rand_r(rng) * g.align) % (g.size - len + 1);
			off &= ~(uint64_t)(g.align - 1);
			if (type == NBD_CMD_FLUSH)
				off = 0;
			slot = free_slot();
			if (slot >= 0 && !conflicts(type, off, len))
				break;
			pthread_cond_wait(&g.cond, &g.lock);
		}
		g.reqs[slot] = (struct req){ true, type, off, len, seq };
		g.inflight++;
		if (type == NBD_CMD_WRITE)
			fill(g.shadow + off, len, seq + 1);
		pthread_mutex_unlock(&g.lock);

		struct nbd_req_hdr h = {
			.magic = htobe32(NBD_REQ_MAGIC),
			.type = htobe16(type),
			.flags = htobe16(flags),
			.cookie = htobe64((uint64_t)slot),
			.offset = htobe64(off),
			.len = htobe32(len),
		};
		put(&h, sizeof(h));
		/* Nothing overlapping is in flight or can start: stable. */
		if (type == NBD_CMD_WRITE)
			put(g.shadow + off, len);
	}
	return NULL;
}

/* @err 0: the data read differ from what was written. */
static void fail_req(const struct req *r, uint32_t err)
{
	fprintf(stderr, "nbd-pipeline: request %u (%s of %u bytes at %llu): ",
		r->seq, r->type == NBD_CMD_WRITE ? "WRITE" :
			r->type == NBD_CMD_READ ? "READ" : "FLUSH", r->len,
		(unsigned long long)r->off);
	if (err)
		fprintf(stderr, "error reply %u\n", err);
	else
		fprintf(stderr, "read data differ from what was written\n");
	g.failed = true;
}

/* A simple reply, its magic already read. */
static uint32_t simple_reply(uint8_t *buf, uint64_t *cookie)
{
	struct nbd_simple_reply_hdr h;
	struct req *r;

	get((uint8_t *)&h + 4, sizeof(h) - 4);
	*cookie = be64toh(h.cookie);
	if (*cookie >= MAX_INFLIGHT || !g.reqs[*cookie].busy)
		die("reply with an unknown cookie%s", "");
	r = &g.reqs[*cookie];
	if (g.structured && r->type == NBD_CMD_READ)
		die("simple reply to a READ after structured replies%s", "");
	if (!h.error && r->type == NBD_CMD_READ)
		get(buf, r->len);
	return be32toh(h.error);
}

/* One chunk, its magic already read; sets *done on the last. */
static uint32_t chunk(uint8_t *buf, uint64_t *cookie, bool *done)
{
	struct nbd_chunk_hdr h;
	uint32_t len, err = 0;
	uint64_t off;
	struct req *r;

	get((uint8_t *)&h + 4, sizeof(h) - 4);
	*cookie = be64toh(h.cookie);
	if (*cookie >= MAX_INFLIGHT || !g.reqs[*cookie].busy)
		die("chunk with an unknown cookie%s", "");
	r = &g.reqs[*cookie];
	len = be32toh(h.len);
	*done = be16toh(h.flags) & NBD_REPLY_FLAG_DONE;
	switch (be16toh(h.type)) {
	case NBD_REPLY_TYPE_OFFSET_DATA:
		if (len < 8)
			die("short data chunk%s", "");
		get(&off, 8);
		off = be64toh(off);
		if (off < r->off || off - r->off + len - 8 > r->len)
			die("data chunk outside its request%s", "");
		get(buf + (off - r->off), len - 8);
		return 0;
	case NBD_REPLY_TYPE_ERROR: {
		uint8_t e[1024];

		if (len < 6 || len > sizeof(e))
			die("bad error chunk%s", "");
		get(e, len);
		memcpy(&err, e, 4);
		return be32toh(err);
	}
	case NBD_REPLY_TYPE_NONE:
		if (len == 0)
			return 0;
	}
	die("unexpected chunk%s", "");
	return 0;
}

/* One whole reply; READ data lands in @buf.  Returns the NBD error. */
static uint32_t read_reply(uint8_t *buf, uint64_t *cookie)
{
	uint32_t err = 0;
	bool done = false;

	while (!done) {
		uint32_t magic;

		get(&magic, 4);
		if (be32toh(magic) == NBD_SIMPLE_REPLY_MAGIC)
			return simple_reply(buf, cookie);
		if (be32toh(magic) != NBD_CHUNK_MAGIC || !g.structured)
			die("bad reply magic%s", "");
		err |= chunk(buf, cookie, &done);
	}
	return err;
}

static void *receiver(void *arg)
{
	uint8_t *buf = malloc(g.max_payload);

	(void)arg;
	if (!buf)
		die("out of memory%s", "");
	while (g.done < g.count) {
		uint64_t ck;
		uint32_t err = read_reply(buf, &ck);
		struct req *r = &g.reqs[ck];

		if (err)
			fail_req(r, err);
		else if (r->type == NBD_CMD_READ &&
			 memcmp(buf, g.shadow + r->off, r->len))
			fail_req(r, 0);
		pthread_mutex_lock(&g.lock);
		r->busy = false;
		g.inflight--;
		g.done++;
		pthread_cond_signal(&g.cond);
		pthread_mutex_unlock(&g.lock);
	}
	free(buf);
	return NULL;
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd;

	if (getaddrinfo(host, port, &hints, &res))
		die("cannot resolve %s", host);
	fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen))
		die("cannot connect: %s", strerror(errno));
	freeaddrinfo(res);
	return fd;
}

int main(int argc, char **argv)
{
	unsigned int lo = 16, hi = 28, seed = 1;
	pthread_t st, rt;
	int opt;

	g.count = 64;
	g.align = 4096;
	while ((opt = getopt(argc, argv, "a:Fn:m:M:s:S")) != -1) {
		switch (opt) {
		case 'a': g.align = (uint32_t)atoi(optarg); break;
		case 'F': g.mix = true; break;
		case 'n': g.count = (unsigned int)atoi(optarg); break;
		case 'm': lo = (unsigned int)atoi(optarg); break;
		case 'M': hi = (unsigned int)atoi(optarg); break;
		case 's': seed = (unsigned int)atoi(optarg); break;
		case 'S': g.structured = true; break;
		default: die("usage: HOST PORT EXPORT [-n N] [-m MIB] [-M MIB] [-a ALIGN] [-s SEED] [-S] [-F]%s", "");
		}
	}
	if (argc - optind != 3 || lo == 0 || hi < lo || hi > 1024 ||
	    !g.align || (g.align & (g.align - 1)))
		die("usage: HOST PORT EXPORT [-n N] [-m MIB] [-M MIB] [-a ALIGN] [-s SEED] [-S] [-F]%s", "");
	g.fd = dial(argv[optind], argv[optind + 1]);
	handshake(argv[optind + 2]);
	if (g.size < hi * MIB || g.size > (4ULL << 30))
		die("export size must be from MAX MiB to 4 GiB%s", "");
	if (g.max_payload < hi * MIB)
		printf("nbd-pipeline: the server's maximum payload is %u bytes: lengths capped\n",
		       g.max_payload);
	g.shadow = malloc(g.size);
	if (!g.shadow)
		die("out of memory%s", "");
	/* The export's content is unknown until written: read it first. */
	for (uint64_t off = 0; off < g.size; off += g.max_payload) {
		uint32_t len = g.size - off < g.max_payload ? (uint32_t)(g.size - off)
							    : g.max_payload;
		struct nbd_req_hdr h = {
			.magic = htobe32(NBD_REQ_MAGIC),
			.type = htobe16(NBD_CMD_READ),
			.offset = htobe64(off),
			.len = htobe32(len),
		};
		uint64_t ck;

		g.reqs[0] = (struct req){ true, NBD_CMD_READ, off, len, 0 };
		put(&h, sizeof(h));
		if (read_reply(g.shadow + off, &ck))
			die("reading the export failed%s", "");
	}
	g.reqs[0].busy = false;
	g.lo = lo;
	g.hi = hi;
	pthread_create(&rt, NULL, receiver, NULL);
	pthread_create(&st, NULL, sender, &seed);
	pthread_join(st, NULL);
	pthread_join(rt, NULL);
	printf("nbd-pipeline: %u requests of %u-%u MiB, %s replies: %s\n",
	       g.count, lo, hi, g.structured ? "structured" : "simple",
	       g.failed ? "FAILED" : "all succeeded");
	free(g.shadow);
	close(g.fd);
	return g.failed ? 1 : 0;
}
