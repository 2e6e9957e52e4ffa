/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netswapd internals.  Prototypes are grouped under the file that defines
 * them.  The model in one paragraph: N event-loop threads each own a set of
 * connections; a connection reads request headers in batches into a small
 * staging buffer, serves memory exports inline (payloads move straight
 * between the socket and the export mapping), hands file I/O that would
 * block to a worker pool, and sends finished replies in batched sendmsg()
 * calls.  Every variable-size buffer comes from one bounded arena
 * (lib/arena), each connection an owner with a reserve of its own; when
 * memory is short a connection stops reading (backpressure) until it
 * returns.
 */
#ifndef NETSWAPD_H
#define NETSWAPD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "lib/arena/arena.h"
#include "proto/nbd.h"

#define NSD_VERSION "0.1.0"
#define NSD_DEFAULT_PORT 10809
#define NSD_MAX_LISTEN 16
#define NSD_MAX_EXPORTS 64
#define NSD_MAX_ALLOW 64

/* ---- options.c, config.c, export-spec.c, cidr.c: the configuration ---- */

#include "options.h"

enum nsd_export_kind { NSD_EXPORT_MEM, NSD_EXPORT_FILE, NSD_EXPORT_RBD };

struct nsd_listen_spec {
	bool is_unix;
	char *path;		/* unix socket path */
	struct sockaddr_storage addr;	/* tcp */
	socklen_t addrlen;
};

struct nsd_cidr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int prefix;
};

/* Who may open an export: TCP peers by address (allow=), Unix-socket peers
 * by SO_PEERCRED uid (allow-uid=).  An export with neither list is open to
 * every admitted peer; with either, a peer must match the list for its
 * kind of socket (a list for the other kind does not let it in). */
struct nsd_access {
	struct nsd_cidr *cidr;
	int ncidr;
	uid_t *uid;
	int nuid;
};

struct nsd_export_spec {
	char *name;
	enum nsd_export_kind kind;
	char *path;		/* file exports */
	uint64_t size;		/* 0 = take the file's size */
	bool read_only;		/* ,read-only or --read-only */
	bool preallocate;	/* ,preallocate: reserve a file's blocks */
	char *description;	/* ,description=TEXT, or NULL */
	struct nsd_access access;
};

/* One row of options.h, expanded by options.c. */
enum nsd_opt_kind {
	OPT_KIND_UINT, OPT_KIND_MODE, OPT_KIND_SIZE, OPT_KIND_FLAG,
	OPT_KIND_STR, OPT_KIND_FN,
};

struct nsd_config;
/* An FN option's parser: 0, 1 = stop (it printed what was asked), or -1
 * with a reason in @why. */
typedef int nsd_opt_fn(struct nsd_config *cfg, const char *arg, char *why,
		       size_t len);

struct nsd_option {
	const char *name;	/* --name, and the config-file key */
	const char *arg;	/* its argument's name; NULL = takes none */
	enum nsd_opt_kind kind;
	unsigned int flags;	/* OPT_CLI, OPT_RELOAD */
	uint64_t min, max, def;
	const char *help;
	size_t offset;		/* of its field in struct nsd_config */
	nsd_opt_fn *fn;		/* OPT_KIND_FN */
};

#define NSD_FIELD_UINT(f) unsigned int f;
#define NSD_FIELD_MODE(f) unsigned int f;
#define NSD_FIELD_SIZE(f) uint64_t f;
#define NSD_FIELD_FLAG(f) bool f;
#define NSD_FIELD_STR(f) char *f;
#define NSD_FIELD_FN(f)
#define NSD_FIELD(kind, f, ...) NSD_FIELD_##kind(f)
#define NSD_PARSER_UINT(f)
#define NSD_PARSER_MODE(f)
#define NSD_PARSER_SIZE(f)
#define NSD_PARSER_FLAG(f)
#define NSD_PARSER_STR(f)
#define NSD_PARSER_FN(f) nsd_opt_fn f;
#define NSD_PARSER(kind, f, ...) NSD_PARSER_##kind(f)

/* The FN options' parsers (config.c). */
NSD_OPTIONS(NSD_PARSER)

struct nsd_config {
	char *config_path;	/* --config */
	struct nsd_listen_spec listen[NSD_MAX_LISTEN];
	int nlisten;
	struct nsd_export_spec exports[NSD_MAX_EXPORTS];
	int nexports;
	struct nsd_cidr allow[NSD_MAX_ALLOW];
	int nallow;
	uid_t socket_uid;	/* --socket-owner; (uid_t)-1 = unchanged */
	gid_t socket_gid;
	struct nsd_listen_spec metrics;	/* --metrics; addrlen 0 = none */
	NSD_OPTIONS(NSD_FIELD)	/* every other option: options.h */
};

/* options.c */
struct option;
extern const struct nsd_option nsd_options[];
extern const int nsd_noptions;
void options_defaults(struct nsd_config *cfg);
const struct nsd_option *options_find(const char *name);
int options_apply(struct nsd_config *cfg, const struct nsd_option *o,
		  const char *arg, char *why, size_t len);
void options_getopt(struct option *out);	/* nsd_noptions + 1 */
void options_usage(FILE *f);

/* config.c.  config_load(): defaults, then --config's file, then the
 * command line (so it overrides the file; lists add up).  Returns 0, 1
 * after --help/--version were printed, or -1 with a one-line reason in
 * @err ("FILE:LINE: key: why" for the file).  config_parse() prints the
 * reason (the caller exits 2). */
int config_load(struct nsd_config *cfg, int argc, char **argv, char *err,
		size_t len);
int config_parse(struct nsd_config *cfg, int argc, char **argv);
void config_free(struct nsd_config *cfg);

/* export-spec.c: NAME=SPEC[,ATTR]... */
int export_spec_parse(const char *arg, struct nsd_export_spec *es,
		      char *why, size_t len);
void export_spec_free(struct nsd_export_spec *es);
/* A uid or gid as a number. */
int export_spec_parse_id(const char *s, unsigned int *out);
/* Whether clients of @a may go on with what @b opens (same data, same
 * mode): then a reload keeps the open export and changes only access. */
bool export_spec_same_backing(const struct nsd_export_spec *a,
			      const struct nsd_export_spec *b);
int export_spec_dup(struct nsd_export_spec *to,
		    const struct nsd_export_spec *from);

/* ---- cidr.c ---- */
int cidr_parse(const char *s, struct nsd_cidr *out);
bool cidr_match(const struct nsd_cidr *c, const struct sockaddr *sa);
bool cidr_allowed(const struct nsd_cidr *list, int n, const struct sockaddr *sa);

/* ---- log.c ---- */
extern bool log_quiet;
/* Before the first line: --syslog, else stderr (the journal's, if so). */
void log_init(bool use_syslog);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- metrics.c: what was served ---- */

#define NSD_STAT_CMDS 8		/* NBD_CMD_READ..WRITE_ZEROES, then other */
#define NSD_STAT_ERRS 9		/* the spec's errors (metrics.c), then other */
#define NSD_STAT_LAT 19		/* latency buckets: <= 8 us << i, then +Inf */

/* Counters of answered requests.  One writer each (a connection's loop
 * thread), no atomics or locks on the request path: a scrape asks every
 * loop for a copy (loop_snapshot) and adds them up. */
struct nsd_io_stats {
	uint64_t requests[NSD_STAT_CMDS];
	uint64_t errors[NSD_STAT_ERRS];
	uint64_t bytes_read, bytes_written;	/* READ/WRITE payloads */
	uint64_t latency[NSD_STAT_LAT];	/* header read to reply sent */
	uint64_t latency_us;		/* their sum */
};

void stats_add(struct nsd_io_stats *to, const struct nsd_io_stats *from);

/* The errors a reply may carry, in the order of nsd_io_stats.errors. */
#define NSD_STAT_ERR_LIST(X)						\
	X(NBD_EPERM, "EPERM") X(NBD_EIO, "EIO") X(NBD_ENOMEM, "ENOMEM")	\
	X(NBD_EINVAL, "EINVAL") X(NBD_ENOSPC, "ENOSPC")			\
	X(NBD_EOVERFLOW, "EOVERFLOW") X(NBD_ENOTSUP, "ENOTSUP")		\
	X(NBD_ESHUTDOWN, "ESHUTDOWN")

static inline unsigned int stats_err_slot(uint32_t err)
{
	unsigned int slot = 0;

#define NSD_ERR_SLOT(e, name) if (err == (e)) return slot; slot++;
	NSD_STAT_ERR_LIST(NSD_ERR_SLOT)
#undef NSD_ERR_SLOT
	return slot;		/* other */
}

/* --metrics ADDR:PORT: Prometheus text at /metrics, served by its own
 * thread (libmicrohttpd).  NULL with a logged reason if it cannot start;
 * prints "metrics http://ADDR:PORT/metrics" on stdout when it can. */
struct nsd_server;
struct nsd_metrics;
struct nsd_metrics *metrics_start(struct nsd_server *srv,
				  const struct nsd_listen_spec *where);
void metrics_stop(struct nsd_metrics *m);

/* ---- systemd.c: running as a daemon ---- */

/* sd_notify: @state ("READY=1", "STOPPING=1", NULL) and a STATUS= line
 * from @fmt (NULL: none).  Nothing happens outside a service manager. */
void service_notify(const char *state, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Listening sockets passed by socket activation (LISTEN_FDS): how many
 * (0: none), or -1 after logging why they cannot be served. */
struct nsd_passed_socket {
	int fd;
	bool is_unix;
	char desc[128];		/* ADDR:PORT or unix:PATH */
};
int service_passed_sockets(struct nsd_passed_socket *out, int max);

/* --user/--group (NULL: unchanged).  0, or -1 after logging why. */
int service_drop_privileges(const char *user, const char *group);

/* ---- export.c: what is served ---- */

struct nsd_export {
	char *name;
	char *description;
	enum nsd_export_kind kind;
	uint64_t size;
	bool read_only;
	int fd;			/* file exports */
	char *map;		/* memory exports: the whole export, sparse */
	bool mlocked;		/* mem: its pages are locked as touched */
	bool preallocated;	/* file: blocks reserved, never punched */
	uint32_t zero_align;	/* file: fallocate's granularity */
	atomic_bool zero_range_ok;	/* file: FALLOC_FL_ZERO_RANGE works */
	atomic_bool punch_ok;		/* file: FALLOC_FL_PUNCH_HOLE works */
	struct nsd_rbd *rbd;		/* rbd exports (rbd.c) */
	/* A writeback error, latched (its NBD error; 0 = none): every later
	 * FLUSH and FUA write fails until export_clear_failed(). */
	atomic_int failed;
	/* What its closed connections were served (metrics). */
	pthread_mutex_t stats_lock;
	struct nsd_io_stats stats_closed;
};

/* Before the first export_open(): --overcommit and --mlock. */
void export_set_policy(bool overcommit, bool mlock);
/* The operator's word that the storage is sound again (SIGUSR2). */
void export_clear_failed(struct nsd_export *e);

int export_open(struct nsd_export *e, const struct nsd_export_spec *spec,
		bool read_only);
void export_close(struct nsd_export *e);
uint16_t export_tflags(const struct nsd_export *e, bool structured);
int export_sync(struct nsd_export *e);

/* Blocking operations; return 0 or a positive NBD_E* error. */
int export_read(struct nsd_export *e, void *buf, uint64_t off, uint32_t len);
int export_write(struct nsd_export *e, const void *buf, uint64_t off,
		 uint32_t len, bool fua);
int export_trim(struct nsd_export *e, uint64_t off, uint64_t len, bool fua);
int export_zero(struct nsd_export *e, uint64_t off, uint64_t len,
		uint16_t flags);
int export_flush(struct nsd_export *e);
int export_cache(struct nsd_export *e, uint64_t off, uint64_t len);
/* Non-blocking attempts for the event loop: -EAGAIN means "use a worker". */
int export_try_read(struct nsd_export *e, void *buf, uint64_t off,
		    uint32_t len);
int export_try_write(struct nsd_export *e, const void *buf, uint64_t off,
		     uint32_t len);

/* ---- rbd.c: Ceph RBD images through librbd (built with NSD_HAVE_RBD) ---- */

struct nsd_req;
struct nsd_rbd_target {
	char pool[128], ns[128], image[128];
	char conf[4096], id[64];	/* "": librados' defaults */
};
/* The text after "rbd:": POOL/[NAMESPACE/]IMAGE[,conf=PATH][,id=USER]. */
int rbd_spec_parse(const char *s, struct nsd_rbd_target *t, char *why,
		   size_t len);
/* Connect, open the image (sets e->size), take its exclusive lock or
 * stand by.  0, or -1 after logging why. */
int rbd_export_open(struct nsd_export *e, const struct nsd_export_spec *s,
		    bool ro);
void rbd_export_close(struct nsd_export *e);
/* NULL while this gateway serves the image, else why not (for a client
 * that asks to open it). */
const char *rbd_export_unavailable(const struct nsd_export *e);
/* Loop thread: start a request on librbd; it comes back through
 * loop_post_completion(). */
void rbd_submit(struct nsd_req *r);

/* ---- catalog.c: the exports clients may open, swapped whole on reload ---- */

/* Who is asking, for the access checks (set by server_accept). */
struct nsd_peer {
	struct sockaddr_storage addr;	/* TCP peers */
	bool is_unix;
	bool has_cred;			/* Unix: SO_PEERCRED answered */
	uid_t uid;
};

struct nsd_entry {
	struct nsd_export_spec spec;	/* its own copy: name, access... */
	char *description;		/* what INFO and LIST show */
	struct nsd_export *exp;		/* holds a reference */
};

struct nsd_catalog {
	atomic_uint refs;
	bool no_list;			/* --no-list */
	int n;
	struct nsd_entry ent[NSD_MAX_EXPORTS];
};

struct nsd_server;
int catalog_init(struct nsd_server *srv);
void catalog_destroy(struct nsd_server *srv);
/* Main thread: a catalog for @cfg (NULL: an export failed, logged, and
 * nothing changed), then swap it in. */
struct nsd_catalog *catalog_build(struct nsd_server *srv,
				  const struct nsd_config *cfg);
void catalog_publish(struct nsd_server *srv, struct nsd_catalog *cat);
int catalog_reap(struct nsd_server *srv);	/* failed syncs */
/* Any thread: the current catalog, held until put. */
struct nsd_catalog *catalog_get(struct nsd_server *srv);
void catalog_put(struct nsd_server *srv, struct nsd_catalog *cat);
const struct nsd_entry *catalog_find(const struct nsd_catalog *cat,
				     const void *name, size_t len);
bool catalog_allows(const struct nsd_entry *ent, const struct nsd_peer *who);
/* A connection's reference to its export (taken at GO, released by
 * conn_destroy). */
struct nsd_export *catalog_hold(struct nsd_export *e);
void catalog_release(struct nsd_server *srv, struct nsd_export *e);

/* ---- request.c / conn.c: connections and their requests ---- */

struct nsd_loop;
struct nsd_conn;

/* One request in flight.  Lives from header parse until its reply is sent. */
struct nsd_req {
	struct nsd_req *next;	/* txq, worker queue, completion list */
	struct nsd_conn *conn;
	uint64_t cookie;
	uint64_t offset;
	uint64_t len;		/* TRIM/ZERO may exceed 32 bits' payload */
	uint16_t type;
	uint16_t flags;
	uint32_t error;		/* NBD error for the reply, 0 = success */
	void *buf;		/* arena buffer (file exports), or NULL */
	size_t buf_len;
	const char *data;	/* reply payload: export mapping or @buf */
	uint32_t data_len;
	const char *msg;	/* structured error message (static) */
	uint8_t hdr_len;
	uint8_t hdr[32];	/* reply header, built at completion */
	uint32_t t_read_us;	/* when its header was read (metrics) */
};

enum conn_phase { PHASE_HANDSHAKE, PHASE_TRANSMISSION };

enum hs_state {
	HS_CLIENT_FLAGS,	/* waiting for the 4 bytes of client flags */
	HS_OPT_HDR,		/* waiting for an option header */
	HS_OPT_DATA,		/* collecting option data */
	HS_OPT_DISCARD,		/* skipping data of an oversized option */
	HS_LISTING,		/* NBD_OPT_LIST replies still being produced */
	HS_CLOSE_AFTER_FLUSH,	/* ABORT or a failed EXPORT_NAME */
};

enum rx_state { RX_HDR, RX_PAYLOAD, RX_DISCARD };

/* Why a connection has stopped reading for now. */
#define RX_WAIT_POOL	(1U << 0)	/* buffer memory exhausted */
#define RX_WAIT_SLOTS	(1U << 1)	/* too many requests in flight */
#define RX_WAIT_TX	(1U << 2)	/* client not reading its replies */
#define RX_WAIT_OUT	(1U << 3)	/* handshake reply not yet sent */
#define RX_WAIT_QUOTA	(1U << 4)	/* connection holds its memory share */

/* A connection's way out, in order; the one spelling of "closing". */
enum conn_closing {
	CONN_OPEN,		/* serving */
	CONN_DRAINING,		/* reads no new request, answers what it read */
	CONN_LINGERING,		/* all answered, write side shut: input is
				 * discarded until EOF, so a reply is read
				 * before a close could reset it */
	CONN_ABORTED,		/* socket unusable: replies are dropped */
	CONN_CLOSED,		/* socket closed, in the loop's grave */
};

#define CONN_RXBUF 2048		/* header staging: 73 requests per recv */
#define SLOT_BLOCK 4096		/* request slots come from the arena in these */
#define SLOTS_PER_BLOCK (SLOT_BLOCK / sizeof(struct nsd_req))
#define SLOT_BLOCKS 16
#define CONN_MAX_INFLIGHT (SLOT_BLOCKS * SLOTS_PER_BLOCK)
#define CONN_MAX_TXQ_BYTES (64U << 20)
#define HS_OPT_MAX 8192		/* larger options get NBD_REP_ERR_TOO_BIG */
#define HS_OUT_SIZE 16384

struct nsd_conn {
	struct nsd_conn *prev, *next;	/* loop->conns */
	struct nsd_conn *ready_next;
	struct nsd_conn *dirty_next;
	struct nsd_conn *wait_next;
	struct nsd_loop *loop;
	struct nsd_server *srv;
	int fd;
	bool in_ready, in_dirty, in_wait;
	bool can_read, can_write;
	bool rdhup;		/* peer's FIN seen: read until recv() is 0 */
	uint8_t closing;	/* enum conn_closing */
	uint8_t phase;
	unsigned int rx_wait;	/* RX_WAIT_* */
	int64_t deadline_ms;	/* handshake must finish by then (0 = none) */
	int64_t linger_until_ms;	/* CONN_LINGERING ends then at the latest */
	char peer[80];
	struct nsd_peer who;	/* for the access checks */

	/* handshake */
	uint8_t hs;
	uint32_t client_flags;
	bool structured;
	uint32_t opt;
	uint32_t opt_len;
	uint32_t opt_got;
	uint8_t *opt_buf;	/* arena block while an option is large */
	uint64_t discard_left;
	uint8_t *out;		/* arena block while replies are pending */
	uint32_t out_len, out_off;
	int list_next;

	/* requests waiting for a worker (guarded by the workers' lock) */
	struct nsd_req *wq_head, *wq_tail;
	struct nsd_conn *wq_next;
	bool wq_queued;

	/* its account and reserve in the arena */
	struct arena_owner *owner;
	uint64_t reserved;	/* bytes of reserve granted at GO */

	/* request slots: carved from arena blocks, kept until close */
	struct nsd_req *free_reqs;
	void *slot_block[SLOT_BLOCKS];
	unsigned int nslot_blocks;

	/* transmission */
	struct nsd_export *exp;
	uint16_t tflags;
	uint8_t rx;
	struct nsd_req *rx_req;
	char *rx_dst;
	uint64_t rx_left;
	unsigned int inflight;	/* requests parsed but not yet sent */
	struct nsd_req *txq_head, *txq_tail;
	size_t tx_off;		/* bytes of txq_head already sent */
	int64_t tx_stalled_ms;	/* replies queued, none sent since (0 = no) */
	int64_t rx_progress_ms;	/* last payload bytes received */
	uint64_t txq_bytes;
	uint64_t pool_held;	/* payload bytes held, for the quota */
	struct nsd_io_stats stats;	/* written by its loop only */

	uint32_t rx_start, rx_end;
	uint8_t rxbuf[CONN_RXBUF];
};

/* conn.c */
struct nsd_conn *conn_new(struct nsd_server *srv, int fd, const char *peer);
void conn_attach(struct nsd_conn *c, struct nsd_loop *l);
void conn_destroy(struct nsd_conn *c);
/* A free request slot, or NULL with the connection queued for memory. */
struct nsd_req *conn_get_req(struct nsd_conn *c);
void conn_unget_req(struct nsd_conn *c, struct nsd_req *r);
/* Arena memory for this connection (@flags: ARENA_CONTROL for handshake
 * and slot blocks), or NULL with it queued until memory returns. */
void *conn_alloc(struct nsd_conn *c, size_t len, unsigned int flags);
void conn_free(struct nsd_conn *c, void *p);
/* Grant the connection its reserve for the transmission phase. */
int conn_reserve(struct nsd_conn *c, const struct nsd_export *e);
int conn_discard(struct nsd_conn *c);
void conn_process(struct nsd_conn *c);
void conn_flush(struct nsd_conn *c);
/* Close at once, dropping replies (socket error, protocol violation). */
void conn_fail(struct nsd_conn *c, const char *why);
/* Close after answering every request already read (DISC, EOF). */
void conn_drain(struct nsd_conn *c);
/* Take the next step out once nothing holds the current one: drained ->
 * lingering, aborted -> closed.  Called wherever something may have been
 * the last request, reply or payload in flight. */
void conn_close_if_drained(struct nsd_conn *c);
/* While stopping: drain a client that has fallen silent (loop tick). */
void conn_drain_if_quiet(struct nsd_conn *c, int64_t now);
static inline bool conn_is_closing(const struct nsd_conn *c)
{
	return c->closing != CONN_OPEN;
}
void conn_resume(struct nsd_conn *c, unsigned int why);
void conn_queue_reply(struct nsd_conn *c, struct nsd_req *r);
void conn_release_req(struct nsd_conn *c, struct nsd_req *r);
/* Receive into @dst; returns bytes, 0 on EAGAIN (can_read cleared), -1 on
 * EOF or error (connection failed). */
ssize_t conn_recv(struct nsd_conn *c, void *dst, size_t len);
/* Compact the staging buffer and receive more into it (as conn_recv). */
ssize_t conn_fill_staging(struct nsd_conn *c);
/* Take @len staged bytes into @dst; returns how many were there. */
size_t conn_take_staged(struct nsd_conn *c, void *dst, size_t len);

/* handshake.c */
void hs_start(struct nsd_conn *c);
void hs_process(struct nsd_conn *c);
/* Shutdown: answer the next option with NBD_REP_ERR_SHUTDOWN, then close. */
void hs_shutdown(struct nsd_conn *c);

/* request.c */
/* Returns 1 if consumed, 0 if the header must wait (memory), -1 if fatal. */
int req_dispatch(struct nsd_conn *c, const struct nbd_req_hdr *h);
void req_payload_done(struct nsd_conn *c, struct nsd_req *r);
void req_finish(struct nsd_req *r);

/* ---- loop.c: one event-loop thread ---- */

struct nsd_server;

struct nsd_loop {
	unsigned int id;
	pthread_t thread;
	int epfd;
	int evfd;		/* wakes the loop: new conns, completions */
	struct nsd_server *srv;

	pthread_mutex_t lock;	/* guards the inbox below */
	struct nsd_conn *new_conns;
	struct nsd_req *completions;
	bool pool_wake;
	bool stop_requested;

	struct nsd_conn *conns;		/* every live conn of this loop */
	struct nsd_conn *grave;		/* closed, freed when unreferenced */
	struct nsd_conn *ready;		/* conns with input to process */
	struct nsd_conn *dirty;		/* conns with replies to send */
	struct nsd_conn *pool_waiters;	/* FIFO of conns waiting for memory */
	struct nsd_conn *pool_waiters_tail;
	unsigned int nconns;
	bool started;
	bool stopping;
	int64_t stop_deadline_ms;
	int64_t next_tick_ms;
	int64_t now_ms;			/* at the last wake-up */
	uint32_t now_us;		/* likewise, wrapping (latencies) */
	struct nsd_snapshot *snapshot;	/* inbox: a scrape waits for it */
};

struct nsd_server {
	struct nsd_config *cfg;
	struct nsd_catalog *catalog;	/* catalog.c: what clients may open */
	pthread_mutex_t catalog_lock;	/* the pointer, held and retired */
	struct nsd_held *held;		/* every open export */
	struct nsd_held *retired;	/* to close on the main thread */
	int reap_fd;			/* eventfd: retired is not empty */
	struct arena *arena;
	uint32_t max_payload;
	uint64_t conn_pool_quota;	/* request buffers one conn may hold */
	uint64_t reserve_mem;		/* reserve granted per conn, by export */
	uint64_t reserve_file;
	uint64_t reserve_cap;		/* all reserves together at most this */
	_Atomic uint64_t reserved;	/* granted now */
	atomic_llong pool_starved_ms;	/* last time a data allocation failed */
	unsigned int next_loop;
	struct nsd_loop *loops;
	unsigned int nloops;
	atomic_uint nconns;
	atomic_bool shutting_down;
	struct nsd_workers *workers;
};

int loop_init(struct nsd_loop *l, struct nsd_server *srv, unsigned int id);
void loop_destroy(struct nsd_loop *l);
int loop_start(struct nsd_loop *l);
void loop_join(struct nsd_loop *l);
/* Any thread: hand a new connection to a loop, or a finished request. */
void loop_add_conn(struct nsd_loop *l, struct nsd_conn *c);
void loop_post_completion(struct nsd_loop *l, struct nsd_req *r);
void loop_wake(struct nsd_loop *l);
/* Run one iteration (tests and fuzzing drive a loop by hand). */
int loop_run_once(struct nsd_loop *l, int timeout_ms);
void loop_pool_wake(struct nsd_loop *l);
void loop_stop(struct nsd_loop *l);
void loop_begin_stop(struct nsd_loop *l);
void loop_mark_ready(struct nsd_loop *l, struct nsd_conn *c);
void loop_mark_dirty(struct nsd_loop *l, struct nsd_conn *c);
void loop_wait_pool(struct nsd_loop *l, struct nsd_conn *c);
void loop_bury(struct nsd_loop *l, struct nsd_conn *c);
int64_t loop_now_ms(void);
uint32_t loop_now_us(void);

/* A scrape's copy of every connection in transmission. */
struct nsd_conn_sample {
	const struct nsd_export *exp;	/* compared, never followed */
	char peer[80];
	char export[128];		/* its name, cut if longer */
	struct nsd_io_stats stats;
};

struct nsd_snapshot {
	pthread_mutex_t lock;
	pthread_cond_t done;
	unsigned int pending;		/* loops yet to answer */
	unsigned int refs;		/* the scraper and every loop */
	bool closed;			/* the scraper stopped waiting */
	struct nsd_conn_sample *v;
	size_t n, cap;
};

/* Any thread: ask every loop for its connections' counters, wait for the
 * answers (at most @timeout_ms), and return them; loop_snapshot_put()
 * when done. */
struct nsd_snapshot *loop_snapshot(struct nsd_server *srv, int timeout_ms);
void loop_snapshot_put(struct nsd_snapshot *s);

/* ---- workers.c: blocking file I/O off the event loops ---- */
struct nsd_workers *workers_start(unsigned int n);
void workers_submit(struct nsd_workers *w, struct nsd_req *r);
void workers_stop(struct nsd_workers *w);
/* Executes the blocking part of a request; defined in request.c. */
void req_execute_blocking(struct nsd_req *r);

/* ---- listen.c: listening sockets and admission ---- */
/* Unix sockets: a stale one is replaced, a live one or another file is
 * not (EADDRINUSE, EEXIST); --socket-mode and --socket-owner apply. */
int listen_open(const struct nsd_listen_spec *ls, const struct nsd_config *cfg,
		int *fd_out);
void listen_describe(int fd, bool is_unix, const char *path, char *buf,
		     size_t len);
void sockaddr_describe(const struct sockaddr *sa, char *host, size_t hlen,
		       char *buf, size_t len);
bool sockaddr_is_loopback(const struct sockaddr *sa);

/* ---- server.c: lifecycle ---- */
int server_init(struct nsd_server *srv, struct nsd_config *cfg);
void server_destroy(struct nsd_server *srv);
int server_start_loops(struct nsd_server *srv);
void server_accept(struct nsd_server *srv, int fd, const struct sockaddr *sa);
int server_shutdown(struct nsd_server *srv);	/* failed syncs */

#endif /* NETSWAPD_H */
