// SPDX-License-Identifier: GPL-2.0-only
/* The server's lifecycle: exports, arena, loops and workers; admission of
 * accepted sockets; graceful shutdown. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netswapd.h"

#define MAX_PAYLOAD (32U << 20)	/* the spec's "never a DoS" size */
#define SWAP_REQUEST (128U << 10)	/* netswap.ko's largest request */

static void arena_waker(void *arg, unsigned int waiter)
{
	struct nsd_server *srv = arg;

	if (waiter < srv->nloops)
		loop_pool_wake(&srv->loops[waiter]);
}

/* The largest payload is half the arena at most, so two clients sending
 * maximum-size writes cannot lock each other out for good. */
static uint32_t max_payload(uint64_t capacity)
{
	return capacity / 2 < MAX_PAYLOAD ? (uint32_t)(capacity / 2)
					  : MAX_PAYLOAD;
}

/* Memory payloads may not take, kept for handshakes, request slots and new
 * reserves: an eighth, at least enough for a few dozen clients, at most
 * 8 MiB.  The largest payload (half the arena) always fits beside it. */
static uint64_t control_floor(uint64_t capacity)
{
	uint64_t r = capacity / 8;

	if (r < (256U << 10))
		r = 256U << 10;
	return r > (8U << 20) ? 8U << 20 : r;
}

/*
 * Reserves per connection.  The default guarantees a swap client progress:
 * its request slots, and for a file export one request of the largest size
 * netswap.ko sends (memory exports receive payloads in place and need no
 * buffer).  One 32 MiB request per connection would admit two clients into
 * 64 MiB; larger requests use common memory and wait when it is short.
 * All reserves together are capped at half the arena.
 */
static void set_reserves(struct nsd_server *srv, uint64_t capacity)
{
	uint64_t r = srv->cfg->reserve;

	if (r != NSD_AUTO_SIZE) {
		srv->reserve_mem = srv->reserve_file = r;
	} else {
		srv->reserve_mem = SLOT_BLOCK;
		srv->reserve_file = SLOT_BLOCK +
			(srv->max_payload < SWAP_REQUEST ? srv->max_payload
							 : SWAP_REQUEST);
	}
	srv->reserve_cap = capacity / 2;
}

int server_init(struct nsd_server *srv, struct nsd_config *cfg)
{
	unsigned int nworkers = 2 * cfg->threads + 2;
	struct arena_params ap = {
		.bytes = cfg->buffer_memory,
		.unit_shift = 5,
		.max_owners = cfg->max_connections + 64,
		.max_threads = cfg->threads + 2,
	};
	uint64_t capacity;

	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->reap_fd = -1;
	if (catalog_init(srv) || !(srv->catalog = catalog_build(srv, cfg)))
		goto fail;
	if (ap.max_owners > ARENA_MAX_OWNERS)
		ap.max_owners = ARENA_MAX_OWNERS;
	srv->arena = arena_create(&ap);
	if (!srv->arena) {
		log_err("cannot reserve %llu bytes of buffer memory: %s",
			(unsigned long long)cfg->buffer_memory, strerror(errno));
		goto fail;
	}
	capacity = arena_capacity(srv->arena);
	srv->max_payload = max_payload(capacity);
	arena_set_floor(srv->arena, control_floor(capacity));
	srv->conn_pool_quota = (capacity - control_floor(capacity)) / 4;
	if (srv->conn_pool_quota < srv->max_payload)
		srv->conn_pool_quota = srv->max_payload;
	set_reserves(srv, capacity);
	arena_set_waker(srv->arena, arena_waker, srv);
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
	if (srv->arena)
		arena_destroy(srv->arena);
	srv->arena = NULL;
	catalog_destroy(srv);
}

int server_start_loops(struct nsd_server *srv)
{
	for (unsigned int i = 0; i < srv->nloops; i++)
		if (loop_start(&srv->loops[i]))
			return -1;
	return 0;
}

/* Who the peer is, for the access checks at OPT_GO/INFO/EXPORT_NAME. */
static void identify(struct nsd_conn *c, int fd, const struct sockaddr *sa)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	memset(&c->who, 0, sizeof(c->who));
	c->who.is_unix = sa->sa_family == AF_UNIX;
	if (!c->who.is_unix) {
		memcpy(&c->who.addr, sa, sa->sa_family == AF_INET6
		       ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		return;
	}
	if (!getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		c->who.has_cred = true;
		c->who.uid = cred.uid;
		snprintf(c->peer, sizeof(c->peer), "unix(uid %u, pid %d)",
			 (unsigned int)cred.uid, (int)cred.pid);
	}
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
		log_warn("%s: refused: no room for another client", peer);
		close(fd);
		return;
	}
	identify(c, fd, sa);
	atomic_fetch_add(&srv->nconns, 1);
	loop_add_conn(&srv->loops[srv->next_loop++ % srv->nloops], c);
}

/* Loops finish what they read, then exit; the workers drain last, since
 * loops wait for the requests the workers still hold.  Then every export
 * is synced.  Returns how many syncs failed (the exit status says so). */
int server_shutdown(struct nsd_server *srv)
{
	struct nsd_catalog *cat = srv->catalog;
	int failed = 0;

	atomic_store(&srv->shutting_down, true);
	for (unsigned int i = 0; i < srv->nloops; i++)
		loop_stop(&srv->loops[i]);
	for (unsigned int i = 0; i < srv->nloops; i++)
		loop_join(&srv->loops[i]);
	workers_stop(srv->workers);
	srv->workers = NULL;
	failed += catalog_reap(srv);	/* exports of earlier catalogs */
	for (int i = 0; cat && i < cat->n; i++)
		if (export_sync(cat->ent[i].exp)) {
			log_err("export '%s': fdatasync failed",
				cat->ent[i].spec.name);
			failed++;
		}
	return failed;
}
