/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netswap.ko: a blk-mq block device speaking NBD that a machine can swap to.
 *
 * State is layered, one struct per layer, each with one owner:
 *   struct ns_item   configfs directory: the configuration (main.c)
 *   struct ns_dev    a powered device: disk, tag set, legs
 *   struct ns_leg    one server (two when mirrored): its connections, its
 *                    state in the mirror, the blocks it lacks (mirror.c)
 *   struct ns_conn   one TCP connection slot of a leg, rebuilt on every
 *                    reconnect
 *   struct ns_cmd    per-request state, the blk-mq PDU (no allocation),
 *                    holding one ns_sub per leg the request goes to: a
 *                    mirrored WRITE is two NBD requests, a READ one
 *
 * One spinlock per device (ns_dev.lock) guards every leg and connection
 * state, every request list and every request state: the device is I/O
 * bound over TCP, a single lock costs nothing measurable and makes
 * ownership transfers (send queue -> in flight -> receiving -> done, or back
 * to parked) obviously atomic.
 */
#ifndef NETSWAP_H
#define NETSWAP_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "nbd.h"
#include "netswap_ctl.h"
#include "compat.h"

#define NS_BACKOFF_MIN_MS	100
#define NS_BACKOFF_MAX_MS	5000
#define NS_SCRATCH		256	/* per-connection discard buffer */
#define NS_MAX_REQ_BYTES	(128 * 1024)	/* see docs/kmod.md, "reserve" */
/* Whole integrity blocks one READ or WRITE can cover. */
#define NS_REQ_BLOCKS		(NS_MAX_REQ_BYTES / NS_INTEGRITY_BLOCK)
#define NS_ERR_RETRIES		3	/* NBD error replies retried, then failed */
#define NS_ERR_BACKOFF_MS	100	/* first retry; x4 each time */
/*
 * The cookie of synchronous requests (ns_sync_io): never a sub's, whose
 * index field is below NS_MAX_LEGS.
 */
#define NS_SYNC_COOKIE		U64_MAX

/* One server: where it is and what it exports. */
struct ns_leg_config {
	struct sockaddr_storage addrs[NS_MAX_ADDRS];
	unsigned int nr_addrs;
	char export[NS_MAX_EXPORT];
};

/* What userspace wrote into configfs; copied into the device at power-on. */
struct ns_config {
	struct ns_leg_config legs[NS_MAX_LEGS];	/* [1]: the mirror, if any */
	/* One per NS_CFG_UINT of netswap_ctl.h (main.c fails to build if not). */
	unsigned int connections;	/* per leg */
	unsigned int queue_depth;
	unsigned int io_timeout;	/* s; 0: swap I/O never fails */
	unsigned int req_timeout;	/* s without reply => reset connection */
	unsigned int connect_timeout;	/* s, per connect and per handshake */
	unsigned int integrity;		/* 1: verify every read (integrity.c) */
	unsigned int leg_timeout;	/* s down before a mirror leg is dropped */
};

/* Moves only through ns_conn_set_state(), which refuses any other move. */
enum ns_conn_state {
	NS_CONN_DOWN,		/* no socket; connect_work may be pending */
	NS_CONN_CONNECTING,	/* connect_work is building the socket */
	NS_CONN_LIVE,		/* carrying requests */
	NS_CONN_FAILED,		/* err_work will tear it down */
};

/*
 * A mirror leg.  Moves only through ns_leg_set_state() (mirror.c):
 *   IN_SYNC --down for leg_timeout--> DEGRADED --back--> RESYNC --> IN_SYNC
 *   IN_SYNC --a block read back wrong (repair)--> RESYNC
 *   RESYNC --down for leg_timeout--> DEGRADED
 * A single-server device has one leg, always IN_SYNC.
 */
enum ns_leg_state {
	NS_LEG_IN_SYNC,		/* has every block the device acknowledged */
	NS_LEG_RESYNC,		/* live, gets writes; dirty blocks being copied */
	NS_LEG_DEGRADED,	/* dropped: writes skip it, dirty bits record them */
};

/*
 * Where a sub-request is.  Exactly one context owns it at a time; the state
 * and the list it sits on change together under ns_dev.lock.
 */
enum ns_cmd_state {
	NS_CMD_IDLE,		/* not ours (completed, or not started) */
	NS_CMD_PARKED,		/* on ns_dev.parked_*: no leg can take it now */
	NS_CMD_DELAYED,		/* on ns_dev.delayed: retry after an error reply */
	NS_CMD_QUEUED,		/* on a connection's send queue */
	NS_CMD_SENDING,		/* tx_work is writing it (on conn->inflight) */
	NS_CMD_SENT,		/* on conn->inflight, awaiting the reply */
	NS_CMD_RECEIVING,	/* rx_work owns it (off every list) */
};

/* What the server said about the export in the handshake. */
struct ns_export_info {
	u64 size;
	u16 tflags;
	u32 min_block;
	u32 max_payload;
};

struct ns_stats {
	atomic64_t reqs[4];		/* indexed by enum ns_dir */
	atomic64_t bytes[2];		/* read, write */
	atomic64_t swap_reqs;
	atomic_t in_flight;
	atomic64_t reconnects;		/* successful re-establishments */
	atomic64_t failed_connects;
	atomic64_t resends;
	atomic64_t timeouts;
	atomic64_t proto_errors;	/* bad magic, unknown cookie, ... */
	atomic64_t server_errors;	/* replies carrying an NBD error */
	atomic64_t error_retries;	/* ... that were retried */
	atomic64_t io_errors;		/* requests failed back to the block layer */
	atomic64_t integrity_errors;	/* blocks read back with a wrong crc */
	atomic64_t integrity_rereads;
	atomic64_t server_data_lost;	/* reconnects that found data gone */
	atomic64_t lost_connections;
	atomic64_t latency[NS_LAT_BUCKETS];
};

enum ns_dir { NS_DIR_READ, NS_DIR_WRITE, NS_DIR_FLUSH, NS_DIR_DISCARD };

/* Fault injection for the lab (debugfs); all zero in normal use. */
struct ns_faults {
	u32 drop_replies;	/* swallow this many good replies */
	u32 stall_ms;		/* rx sleeps this long before each reply */
};

/*
 * Page integrity (integrity.c): a crc32c per NS_INTEGRITY_BLOCK of the
 * device, and per block a byte holding its state and a version that every
 * write submission bumps.  A read compares what it got with the crc known
 * when it was submitted; the version tells a block that a concurrent write
 * changed (then either content is legal) from one that came back wrong.
 * Everything is allocated at attach and guarded by ns_dev.lock.  The
 * crcs describe the device, whichever leg a block is read from.
 */
enum ns_blk_state {
	NS_BLK_UNKNOWN,		/* never written, trimmed, or a write in flight */
	NS_BLK_KNOWN,		/* crc[] holds what the servers acknowledged */
	NS_BLK_LOST,		/* no server has it any more: reading it fails */
};

struct ns_integrity {
	u32 *crc;
	u8 *meta;			/* state | version << NS_META_VER_SHIFT */
	u64 nblocks;
	u64 known, lost;		/* blocks in those states */
	u64 first_written, last_written;	/* U64_MAX: none yet */
	u64 probe_cursor;		/* where the next random probe looks */
};

struct ns_dev;
struct ns_leg;

struct ns_conn {
	struct ns_dev *dev;
	struct ns_leg *leg;
	unsigned int id;		/* within its leg */
	enum ns_conn_state state;
	u32 gen;			/* bumped each time it goes LIVE */
	struct socket *sock;
	unsigned int addr_idx;		/* address that answered last */

	struct list_head send_swap;	/* queued REQ_SWAP requests: sent first */
	struct list_head send_other;	/* everything else */
	struct list_head inflight;	/* SENDING and SENT requests */
	unsigned int nr_inflight;

	struct workqueue_struct *rx_wq;	/* one each: a blocked rx never */
	struct workqueue_struct *tx_wq;	/* starves tx or the other conns */
	struct work_struct rx_work;
	struct work_struct tx_work;
	struct work_struct err_work;
	struct delayed_work connect_work;
	unsigned int backoff_ms;
	wait_queue_head_t send_wait;	/* rx waits here for SENDING -> SENT */

	/* Preallocated: reply headers and discarded bytes land here. */
	struct nbd_simple_reply_hdr rx_hdr;
	u8 scratch[NS_SCRATCH];
	void *probe_buf;		/* one integrity block, for probes */

	/* Statistics (read locklessly by sysfs). */
	u64 connects;
	int last_error;
	unsigned long live_since;	/* jiffies */
};

/*
 * A synchronous side connection of a leg: the resync worker's (mirror.c),
 * which copies blocks while the data path runs.  Same connect, same
 * handshake, same export check as a data connection.
 */
struct ns_link {
	struct ns_leg *leg;
	struct socket *sock;
	unsigned int addr_idx;
	u8 scratch[NS_SCRATCH];
};

struct ns_leg {
	struct ns_dev *dev;
	unsigned int id;
	enum ns_leg_state state;
	const struct ns_leg_config *cfg;	/* &dev->cfg.legs[id] */
	struct ns_conn *conns;			/* dev->nr_conns of them */
	unsigned int next_conn;			/* round-robin cursor */
	unsigned int nr_live;			/* LIVE connections */
	unsigned long down_since;		/* jiffies; valid if !nr_live */
	struct ns_export_info info;		/* from its first handshake */

	/* Blocks this leg lacks (mirror.c); NULL on a single leg. */
	unsigned long *dirty;
	u64 ndirty;

	/* Statistics. */
	u64 degradations;		/* times it was dropped */
	u64 resynced;			/* blocks copied to it */
	u64 repairs;			/* blocks found wrong on it, rewritten */
	u64 resync_started;		/* jiffies of the current resync, or 0 */
	unsigned int last_resync_ms;	/* how long the last one took */
};

struct ns_dev {
	struct ns_config cfg;
	int index;
	char name[NS_MAX_NAME];		/* configfs directory name */
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	bool tag_set_ready;

	spinlock_t lock;		/* see the top of this file */
	/* Sub-requests waiting for a leg that can take them; swap first. */
	struct list_head parked_swap;
	struct list_head parked_other;
	/* Sub-requests waiting to be retried after an NBD error reply. */
	struct list_head delayed;
	struct delayed_work retry_work;
	struct ns_cmd **by_tag;		/* requests we own, by tag: reply lookup */
	bool dying;
	u32 seq;			/* last cookie generation handed out */

	struct ns_export_info info;	/* the device: legs' common ground */
	struct ns_queue_limits limits;
	unsigned int nr_conns;		/* per leg: 1 unless CAN_MULTI_CONN */
	unsigned int nr_legs;		/* 1, or 2 when mirrored */
	unsigned int next_leg;		/* reads alternate between in-sync legs */
	struct ns_leg legs[NS_MAX_LEGS];
	struct workqueue_struct *ctl_wq;	/* err_work, connect_work */
	struct delayed_work leg_watch;	/* drops legs down past leg_timeout */
	/* The resync (mirror.c): its worker, buffer and side connections. */
	struct workqueue_struct *sync_wq;
	struct work_struct resync_work;
	void *resync_buf;		/* NS_RESYNC_BYTES (mirror.c) */
	struct ns_link resync_link[NS_MAX_LEGS];
	struct mutex link_lock;		/* a link's socket vs. detach's shutdown */
	u64 sync_lo, sync_hi;		/* blocks being copied; sync_hi 0: none */
	struct list_head sync_wait;	/* writes to them, waiting */

	/*
	 * Memalloc sockets switch on a static key on the first and off on the
	 * last; this idle socket keeps it on while the device exists, so a
	 * reconnect never patches kernel text under memory pressure.
	 */
	struct socket *memalloc_anchor;
	struct ns_integrity integ;

	struct ns_stats stats;
	struct ns_faults faults;
	struct dentry *debugfs;
};

/*
 * One NBD request of a block request, to one leg.  sub[i] goes to leg i,
 * except for a READ: its only sub goes to whichever leg can serve it.
 */
struct ns_sub {
	struct list_head node;
	struct ns_cmd *cmd;
	struct ns_conn *conn;
	enum ns_cmd_state state;
	u8 idx;				/* in cmd->sub[] */
	u8 leg;				/* where it is (or was) sent */
	u8 avoid;			/* READ: legs not to read from, a mask */
	bool reread;			/* re-read once after a crc mismatch */
	u8 err_retries;			/* NBD error replies so far */
	u32 gen;			/* ns_dev.seq at send: stale replies miss */
	unsigned long due;		/* jiffies: DELAYED until then */
	unsigned long sent;		/* jiffies, for req_timeout */
};

/* Per-request state, the blk-mq PDU. */
struct ns_cmd {
	struct ns_sub sub[NS_MAX_LEGS];
	unsigned int nr_subs;		/* sub[0..nr_subs) were issued */
	unsigned int pending;		/* ... and are not finished */
	u8 ok_legs;			/* legs that completed it, a mask */
	blk_status_t err;		/* the first error of a sub */
	u16 nbd_type;
	u16 nbd_flags;
	bool swap;
	bool fail;			/* io_timeout passed: fail, don't resend */
	blk_status_t status;
	unsigned long submitted;	/* jiffies, for io_timeout */
	u64 start_ns;			/* latency histogram */

	/*
	 * Integrity: the whole blocks [blk0, blk0 + nblk) the request covers.
	 * WRITE: crc[] of the data sent, ver[] the versions it gave them.
	 * READ: crc[] and ver[] as known at submission; check has a bit per
	 * block whose crc was known then.
	 */
	u64 blk0;
	u8 nblk;
	u32 check;
	u32 crc[NS_REQ_BLOCKS];
	u8 ver[NS_REQ_BLOCKS];
};

static inline struct request *ns_cmd_rq(struct ns_cmd *cmd)
{
	return blk_mq_rq_from_pdu(cmd);
}

/* generation << 32 | sub index << 16 | tag */
static inline u64 ns_cookie(struct ns_sub *sub)
{
	return ((u64)sub->gen << 32) | ((u32)sub->idx << 16) |
	       ns_cmd_rq(sub->cmd)->tag;
}

static inline bool ns_cmd_is_data(const struct ns_cmd *cmd)
{
	return cmd->nbd_type != NBD_CMD_READ && cmd->nbd_type != NBD_CMD_FLUSH;
}

static inline bool ns_mirrored(const struct ns_dev *dev)
{
	return dev->nr_legs > 1;
}

static inline const char *ns_nbd_cmd_name(u16 type)
{
	switch (type) {
	case NBD_CMD_READ:
		return "READ";
	case NBD_CMD_WRITE:
		return "WRITE";
	case NBD_CMD_FLUSH:
		return "FLUSH";
	case NBD_CMD_TRIM:
		return "TRIM";
	case NBD_CMD_WRITE_ZEROES:
		return "WRITE_ZEROES";
	}
	return "?";
}

static inline bool ns_conn_multi_ok(const struct ns_dev *dev, u16 tflags)
{
	return dev->nr_conns == 1 || (tflags & NBD_TFLAG_CAN_MULTI_CONN);
}

/* Every allocated connection slot of every leg, in order. */
static inline struct ns_conn *ns_conn_after(struct ns_dev *dev,
					    struct ns_conn *conn)
{
	struct ns_leg *leg = conn ? conn->leg : NULL;

	if (leg && conn + 1 < leg->conns + dev->cfg.connections)
		return conn + 1;
	for (leg = leg ? leg + 1 : dev->legs; leg < dev->legs + dev->nr_legs; leg++)
		if (leg->conns)
			return leg->conns;
	return NULL;
}

#define ns_for_each_conn(dev, conn)					\
	for ((conn) = ns_conn_after(dev, NULL); (conn);			\
	     (conn) = ns_conn_after(dev, conn))

/* blk.c */
int ns_blk_init(struct ns_dev *dev);
int ns_blk_add(struct ns_dev *dev);
void ns_blk_del(struct ns_dev *dev);
void ns_blk_free(struct ns_dev *dev);
void ns_dispatch_locked(struct ns_dev *dev, struct ns_sub *sub);
void ns_delay_locked(struct ns_dev *dev, struct ns_sub *sub, unsigned long delay);
void ns_retry_work(struct work_struct *work);
bool ns_sub_done(struct ns_sub *sub, blk_status_t status);
bool ns_cmd_expired(struct ns_dev *dev, struct ns_cmd *cmd);
int ns_register_blkdev(void);
void ns_unregister_blkdev(void);

/*
 * sock.c: the memalloc test switch (module parameter memalloc, default 1,
 * fixed at load).  Off, the sockets are ordinary: no sk_set_memalloc(), no
 * __GFP_MEMALLOC, no PF_MEMALLOC around socket I/O.  It exists to show the
 * deadlock the reserves prevent; nothing else changes with it.
 */
extern bool ns_memalloc;

static inline unsigned int ns_noreclaim_save(void)
{
	return ns_memalloc ? memalloc_noreclaim_save() : 0;
}

static inline void ns_noreclaim_restore(unsigned int flags)
{
	if (ns_memalloc)
		memalloc_noreclaim_restore(flags);
}

/* sock.c */
int ns_sock_connect(struct ns_leg *leg, unsigned int *addr_idx,
		    struct socket **sockp);
void ns_sock_shutdown(struct socket *sock);
void ns_sock_close(struct socket *sock);
int ns_sock_recv(struct socket *sock, void *buf, size_t len);
int ns_sock_send(struct socket *sock, const void *buf, size_t len, int flags);
void ns_sock_set_timeout(struct socket *sock, long timeo);
struct socket *ns_sock_anchor(void);
int ns_sync_io(struct socket *sock, u16 type, u64 off, u32 len, void *buf,
	       u32 *nbd_error);
void ns_tx_work(struct work_struct *work);
void ns_rx_work(struct work_struct *work);
void ns_send_disconnect(struct ns_conn *conn);

/* handshake.c */
int ns_handshake(struct ns_leg *leg, struct socket *sock, u8 *scratch,
		 struct ns_export_info *info);

/* integrity.c */
int ns_integrity_alloc(struct ns_dev *dev);
void ns_integrity_free(struct ns_dev *dev);
int ns_integrity_prepare(struct ns_dev *dev, struct ns_cmd *cmd);
int ns_integrity_submit_locked(struct ns_dev *dev, struct ns_cmd *cmd);
void ns_integrity_write_acked_locked(struct ns_dev *dev, struct ns_cmd *cmd);
int ns_integrity_verify(struct ns_conn *conn, struct ns_sub *sub);
int ns_integrity_probe(struct ns_conn *conn, struct socket *sock);
u32 ns_block_crc(const void *data);
bool ns_integrity_contradicts_locked(struct ns_dev *dev, u64 b, u32 crc);
void ns_integrity_mark_lost_locked(struct ns_dev *dev, u64 b);
size_t ns_integrity_bytes(const struct ns_dev *dev);

/* main.c */
int ns_dev_configure(struct ns_dev *dev);

/* mirror.c */
int ns_mirror_alloc(struct ns_dev *dev);
void ns_mirror_free(struct ns_dev *dev);
const char *ns_leg_state_name(enum ns_leg_state state);
struct ns_leg *ns_read_leg_locked(struct ns_dev *dev, struct ns_sub *sub);
void ns_leg_skip_locked(struct ns_leg *leg, struct ns_cmd *cmd);
bool ns_leg_can_write(const struct ns_leg *leg);
void ns_leg_up_locked(struct ns_leg *leg);
void ns_leg_down_locked(struct ns_leg *leg);
bool ns_leg_lost_data(struct ns_leg *leg);
bool ns_mirror_repair(struct ns_conn *conn, struct ns_sub *sub);
bool ns_leg_block_dirty_locked(const struct ns_leg *leg, u64 b);
bool ns_resync_blocks_locked(struct ns_dev *dev, struct ns_cmd *cmd);
void ns_resync_stop(struct ns_dev *dev);
void ns_leg_watch(struct work_struct *work);
void ns_resync_work(struct work_struct *work);
size_t ns_mirror_bytes(const struct ns_dev *dev);

/* recovery.c */
void ns_conn_init(struct ns_leg *leg, struct ns_conn *conn, unsigned int id);
int ns_conn_setup(struct ns_conn *conn, bool new);
bool ns_conn_set_state(struct ns_conn *conn, enum ns_conn_state to);
void ns_conn_fail(struct ns_conn *conn, int err, const char *why);
void ns_conn_fail_gen(struct ns_conn *conn, u32 gen, int err, const char *why);
void ns_conn_stop(struct ns_conn *conn);
void ns_err_work(struct work_struct *work);
void ns_connect_work(struct work_struct *work);
const char *ns_conn_state_name(enum ns_conn_state state);
int ns_link_open(struct ns_link *link);
void ns_link_close(struct ns_link *link);
const char *ns_check_export(struct ns_leg *leg,
			    const struct ns_export_info *info);

/* stats.c */
extern const struct attribute_group *ns_attr_groups[];
void ns_stats_complete(struct ns_dev *dev, struct request *rq, u64 start_ns);
void ns_debugfs_init(void);
void ns_debugfs_exit(void);
void ns_debugfs_add(struct ns_dev *dev);
void ns_debugfs_del(struct ns_dev *dev);

#endif /* NETSWAP_H */
