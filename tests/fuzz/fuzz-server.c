// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness over netswapd's handshake and transmission parsing.
 *
 * Each input is one client's byte stream, fed through a socketpair into a
 * real connection on a real (hand-driven) event loop, with a memory export
 * and a file export behind it.  The first input byte picks a prelude: none
 * (fuzz the handshake from the first byte), or a canned handshake that
 * reaches the transmission phase, with or without structured replies, on
 * either export.  Oracles, beyond the sanitizers: the connection must end
 * once the client's stream ends, every arena byte and reserve must come
 * back, and the server's output must be well-formed NBD.
 */
#include <endian.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/netswapd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nsd_server srv;
static struct nsd_config cfg;
static char file_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char *args[] = { "fuzz", "--export", "mem=mem:1M", "--export",
				NULL, "--threads", "1", "--buffer-memory", "4M",
				"--quiet", NULL };
	static char file_spec[96];
	int fd;

	(void)argc;
	(void)argv;
	snprintf(file_path, sizeof(file_path), "/tmp/netswap-fuzz-%d.img",
		 (int)getpid());
	snprintf(file_spec, sizeof(file_spec), "file=file:%s:1M", file_path);
	args[4] = file_spec;
	fd = open(file_path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd >= 0)
		close(fd);
	if (config_parse(&cfg, 10, args) || server_init(&srv, &cfg)) {
		fprintf(stderr, "fuzz: server_init failed\n");
		abort();
	}
	unlink(file_path);	/* the export keeps its descriptor */
	log_quiet = true;
	return 0;
}

/* Fixed newstyle + NO_ZEROES, [STRUCTURED_REPLY], GO with a name. */
static size_t prelude(uint8_t mode, uint8_t *out)
{
	const char *name = (mode & 4) ? "file" : "mem";
	uint32_t nlen = (uint32_t)strlen(name);
	size_t n = 0;
	uint32_t v32;
	uint64_t v64;
	uint16_t v16;

	v32 = htobe32(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	memcpy(out + n, &v32, 4);
	n += 4;
	if (mode & 2) {
		struct nbd_opt_hdr h = { htobe64(NBD_OPTS_MAGIC),
					 htobe32(NBD_OPT_STRUCTURED_REPLY), 0 };

		memcpy(out + n, &h, sizeof(h));
		n += sizeof(h);
	}
	struct nbd_opt_hdr go = { htobe64(NBD_OPTS_MAGIC), htobe32(NBD_OPT_GO),
				  htobe32(4 + nlen + 2 + 2) };

	memcpy(out + n, &go, sizeof(go));
	n += sizeof(go);
	v32 = htobe32(nlen);
	memcpy(out + n, &v32, 4);
	n += 4;
	memcpy(out + n, name, nlen);
	n += nlen;
	v16 = htobe16(1);
	memcpy(out + n, &v16, 2);
	n += 2;
	v16 = htobe16(NBD_INFO_BLOCK_SIZE);
	memcpy(out + n, &v16, 2);
	n += 2;
	(void)v64;
	return n;
}

/* Checks the server's bytes as a client would parse them. */
struct out_parser {
	uint8_t buf[256];
	size_t have;
	uint64_t skip;		/* payload bytes still to skip */
	int phase;		/* 0: hello, 1: option replies, 2: replies */
};

static void parse_output(struct out_parser *p, const uint8_t *d, size_t n)
{
	while (n) {
		if (p->skip) {
			size_t k = p->skip < n ? (size_t)p->skip : n;

			p->skip -= k;
			d += k;
			n -= k;
			continue;
		}
		size_t want = p->phase == 0 ? 18 : 20;
		size_t k = want - p->have < n ? want - p->have : n;

		memcpy(p->buf + p->have, d, k);
		p->have += k;
		d += k;
		n -= k;
		if (p->have < want)
			continue;
		p->have = 0;
		if (p->phase == 0) {
			uint64_t m;

			memcpy(&m, p->buf, 8);
			if (be64toh(m) != NBD_INIT_MAGIC)
				abort();
			p->phase = 1;
			continue;
		}
		/* Option replies and transmission replies are told apart by
		 * their magic; once transmission starts, stop checking
		 * lengths (simple replies carry unannounced payloads). */
		uint64_t m64;
		uint32_t m32, len;

		memcpy(&m64, p->buf, 8);
		memcpy(&m32, p->buf, 4);
		if (p->phase == 1 && be64toh(m64) == NBD_REP_MAGIC) {
			memcpy(&len, p->buf + 16, 4);
			p->skip = be32toh(len);
			if (p->skip > 16384)
				abort();	/* replies are never that big */
			continue;
		}
		m32 = be32toh(m32);
		if (m32 != NBD_SIMPLE_REPLY_MAGIC && m32 != NBD_CHUNK_MAGIC &&
		    p->phase == 1) {
			/* EXPORT_NAME's reply has no magic: stop checking. */
			p->phase = 3;
		}
		if (p->phase == 3)
			return;
		p->phase = 2;
		if (m32 == NBD_CHUNK_MAGIC) {
			memcpy(&len, p->buf + 16, 4);
			p->skip = be32toh(len);
		} else if (m32 == NBD_SIMPLE_REPLY_MAGIC) {
			p->phase = 3;	/* read payloads are unannounced */
			return;
		} else {
			abort();
		}
	}
}

static void drain(int fd, struct out_parser *p)
{
	uint8_t buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		parse_output(p, buf, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsd_loop *l = &srv.loops[0];
	struct out_parser parser = { 0 };
	uint8_t *stream;
	size_t n = 0, sent = 0;
	int sv[2], big = 1 << 20;
	bool eof_sent = false;
	struct nsd_conn *c;
	struct arena_stats st;
	uint64_t pool_before;

	if (size == 0)
		return 0;
	arena_stats(srv.arena, &st);
	pool_before = st.used;
	stream = malloc(size + 128);
	if (data[0] & 1)
		n = prelude(data[0], stream);
	memcpy(stream + n, data + 1, size - 1);
	n += size - 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	c = conn_new(&srv, sv[0], "fuzz");
	atomic_fetch_add(&srv.nconns, 1);
	conn_attach(c, l);

	for (int i = 0; i < 20000; i++) {
		if (sent < n) {
			ssize_t k = send(sv[1], stream + sent, n - sent,
					 MSG_DONTWAIT | MSG_NOSIGNAL);

			if (k > 0)
				sent += (size_t)k;
		}
		if (sent == n && !eof_sent) {
			shutdown(sv[1], SHUT_WR);
			eof_sent = true;
		}
		drain(sv[1], &parser);
		if (l->nconns == 0 && !l->grave)
			break;
		loop_run_once(l, l->ready || l->dirty ? 0 : 2);
	}
	if (l->nconns != 0 || l->grave) {
		fprintf(stderr, "fuzz: connection did not end after its input\n");
		abort();
	}
	arena_stats(srv.arena, &st);
	if (st.used != pool_before || st.reserved != 0 ||
	    atomic_load(&srv.reserved) != 0) {
		fprintf(stderr, "fuzz: leak: used %llu -> %llu bytes, %llu reserved\n",
			(unsigned long long)pool_before,
			(unsigned long long)st.used,
			(unsigned long long)st.reserved);
		abort();
	}
	close(sv[1]);
	free(stream);
	return 0;
}
