// SPDX-License-Identifier: GPL-2.0-only
/* The server's lifecycle: exports, pool, loops and workers; admission of
 * accepted sockets; graceful shutdown. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netswapd.h"

#define MAX_PAYLOAD_SHIFT 25	/* 32 MiB: the spec's "never a DoS" size */

static void pool_waker(void *arg, unsigned int waiter)
{
	struct nsd_server *srv = arg;

	if (waiter < srv->nloops)
		loop_pool_wake(&srv->loops[waiter]);
}

/* The largest payload is half the pool at most, so two clients sending
 * maximum-size writes cannot lock each other out for good. */
static unsigned int payload_shift(uint64_t buffer_memory)
{
	unsigned int s = MAX_PAYLOAD_SHIFT;

	while (s > POOL_MIN_SHIFT && (1ULL << s) > buffer_memory / 2)
		s--;
	return s;
}

/* Pool bytes that payloads may not take, kept for handshakes and request
 * slots: an eighth, at least enough for a few dozen clients, at most 8 MiB.
 * The largest payload (half the pool) always fits beside it. */
static uint64_t control_reserve(uint64_t capacity)
{
	uint64_t r = capacity / 8;

	if (r < (256U << 10))
		r = 256U << 10;
	return r > (8U << 20) ? 8U << 20 : r;
}

int server_init(struct nsd_server *srv, struct nsd_config *cfg)
{
	unsigned int shift = payload_shift(cfg->buffer_memory);
	unsigned int nworkers = 2 * cfg->threads + 2;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	for (int i = 0; i < cfg->nexports; i++) {
		if (export_open(&srv->exports[i], &cfg->exports[i],
				cfg->read_only))
			goto fail;
		srv->nexports++;
	}
	srv->pool = pool_create(cfg->buffer_memory, shift);
	if (!srv->pool) {
		log_err("cannot reserve %llu bytes of buffer memory",
			(unsigned long long)cfg->buffer_memory);
		goto fail;
	}
	srv->max_payload = 1U << shift;
	pool_set_reserve(srv->pool, control_reserve(pool_capacity(srv->pool)));
	srv->conn_pool_quota = pool_data_capacity(srv->pool) / 4;
	if (srv->conn_pool_quota < srv->max_payload)
		srv->conn_pool_quota = srv->max_payload;
	pool_set_waker(srv->pool, pool_waker, srv);
	srv->loops = calloc(cfg->threads, sizeof(*srv->loops));
	if (!srv->loops)
		goto fail;
	for (unsigned int i = 0; i < cfg->threads; i++) {
		if (loop_init(&srv->loops[i], srv, i))
			goto fail;
		srv->nloops++;
	}
	srv->workers = workers_start(nworkers > 64 ? 64 : nworkers);
	if (!srv->workers)
		goto fail;
	return 0;
fail:
	server_destroy(srv);
	return -1;
}

void server_destroy(struct nsd_server *srv)
{
	workers_stop(srv->workers);
	srv->workers = NULL;
	for (unsigned int i = 0; i < srv->nloops; i++)
		loop_destroy(&srv->loops[i]);
	free(srv->loops);
	srv->loops = NULL;
	srv->nloops = 0;
	pool_destroy(srv->pool);
	srv->pool = NULL;
	for (int i = 0; i < srv->nexports; i++)
		export_close(&srv->exports[i]);
	srv->nexports = 0;
}

int server_start_loops(struct nsd_server *srv)
{
	for (unsigned int i = 0; i < srv->nloops; i++)
		if (loop_start(&srv->loops[i]))
			return -1;
	return 0;
}

/* Admission: --allow, --max-connections, then round-robin over loops. */
void server_accept(struct nsd_server *srv, int fd, const struct sockaddr *sa)
{
	char host[64], peer[80];
	struct nsd_conn *c;
	int one = 1;

	sockaddr_describe(sa, host, sizeof(host), peer, sizeof(peer));
	if (!cidr_allowed(srv->cfg->allow, srv->cfg->nallow, sa)) {
		log_info("%s: refused by --allow", peer);
		close(fd);
		return;
	}
	if (atomic_load(&srv->nconns) >= srv->cfg->max_connections) {
		log_warn("%s: refused: %u connections already",
			 peer, srv->cfg->max_connections);
		close(fd);
		return;
	}
	if (sa->sa_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c = conn_new(srv, fd, peer);
	if (!c) {
		close(fd);
		return;
	}
	atomic_fetch_add(&srv->nconns, 1);
	loop_add_conn(&srv->loops[srv->next_loop++ % srv->nloops], c);
}

/* Loops finish what they read, then exit; the workers drain last, since
 * loops wait for the requests the workers still hold. */
void server_shutdown(struct nsd_server *srv)
{
	atomic_store(&srv->shutting_down, true);
	for (unsigned int i = 0; i < srv->nloops; i++)
		loop_stop(&srv->loops[i]);
	for (unsigned int i = 0; i < srv->nloops; i++)
		loop_join(&srv->loops[i]);
	workers_stop(srv->workers);
	srv->workers = NULL;
	for (int i = 0; i < srv->nexports; i++)
		if (export_sync(&srv->exports[i]))
			log_err("export '%s': fdatasync failed",
				srv->exports[i].name);
}
