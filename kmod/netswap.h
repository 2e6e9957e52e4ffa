/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netswap.ko: a blk-mq block device speaking NBD that a machine can swap to.
 *
 * State is layered, one struct per layer, each with one owner:
 *   struct ns_item   configfs directory: the configuration (main.c)
 *   struct ns_dev    a powered device: disk, tag set, connections
 *   struct ns_conn   one TCP connection slot, rebuilt on every reconnect
 *   struct ns_cmd    per-request state, the blk-mq PDU (no allocation)
 *
 * One spinlock per device (ns_dev.lock) guards every connection state, every
 * request list and every request state: the device is I/O bound over TCP, a
 * single lock costs nothing measurable and makes ownership transfers (send
 * queue -> in flight -> receiving -> done, or back to parked) obviously
 * atomic.
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

/* What userspace wrote into configfs; copied into the device at power-on. */
struct ns_config {
	struct sockaddr_storage addrs[NS_MAX_ADDRS];
	unsigned int nr_addrs;
	char export[NS_MAX_EXPORT];
	/* One per NS_CFG_UINT of netswap_ctl.h (main.c fails to build if not). */
	unsigned int connections;
	unsigned int queue_depth;
	unsigned int io_timeout;	/* s; 0: swap I/O never fails */
	unsigned int req_timeout;	/* s without reply => reset connection */
	unsigned int connect_timeout;	/* s, per connect and per handshake */
	unsigned int integrity;		/* 1: verify every read (integrity.c) */
};

/* Moves only through ns_conn_set_state(), which refuses any other move. */
enum ns_conn_state {
	NS_CONN_DOWN,		/* no socket; connect_work may be pending */
	NS_CONN_CONNECTING,	/* connect_work is building the socket */
	NS_CONN_LIVE,		/* carrying requests */
	NS_CONN_FAILED,		/* err_work will tear it down */
};

/*
 * Where a request is.  Exactly one context owns a request at a time; the
 * state and the list it sits on change together under ns_dev.lock.
 */
enum ns_cmd_state {
	NS_CMD_IDLE,		/* not ours (completed, or not started) */
	NS_CMD_PARKED,		/* on ns_dev.parked_*: no live connection */
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
 * Everything is allocated at attach and guarded by ns_dev.lock.
 */
enum ns_blk_state {
	NS_BLK_UNKNOWN,		/* never written, trimmed, or a write in flight */
	NS_BLK_KNOWN,		/* crc[] holds what the server acknowledged */
	NS_BLK_LOST,		/* the server lost it: reading it fails */
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

struct ns_conn {
	struct ns_dev *dev;
	unsigned int id;
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

struct ns_dev {
	struct ns_config cfg;
	int index;
	char name[NS_MAX_NAME];		/* configfs directory name */
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	bool tag_set_ready;

	spinlock_t lock;		/* see the top of this file */
	/* Requests waiting for any live connection; swap goes out first. */
	struct list_head parked_swap;
	struct list_head parked_other;
	/* Requests waiting to be retried after an NBD error reply. */
	struct list_head delayed;
	struct delayed_work retry_work;
	struct ns_cmd **by_tag;		/* requests we own, by tag: reply lookup */
	bool dying;
	unsigned int next_conn;		/* round-robin cursor */
	u32 seq;			/* last cookie generation handed out */

	struct ns_export_info info;	/* from the first handshake */
	u64 raw_size;			/* size as the server said it */
	struct ns_queue_limits limits;
	unsigned int nr_conns;		/* in use: 1 unless CAN_MULTI_CONN */
	struct ns_conn *conns;
	struct workqueue_struct *ctl_wq;	/* err_work, connect_work */
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

/* Per-request state, the blk-mq PDU. */
struct ns_cmd {
	struct list_head node;
	struct ns_conn *conn;
	enum ns_cmd_state state;
	u32 gen;			/* ns_dev.seq at send: stale replies miss */
	u16 nbd_type;
	u16 nbd_flags;
	bool swap;
	bool fail;			/* io_timeout passed: fail, don't resend */
	bool reread;			/* re-read once after a crc mismatch */
	u8 err_retries;			/* NBD error replies so far */
	blk_status_t status;
	unsigned long due;		/* jiffies: DELAYED until then */
	unsigned long submitted;	/* jiffies, for io_timeout */
	unsigned long sent;		/* jiffies, for req_timeout */
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

static inline u64 ns_cookie(struct ns_cmd *cmd)
{
	return ((u64)cmd->gen << 32) | ns_cmd_rq(cmd)->tag;
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

/* blk.c */
int ns_blk_init(struct ns_dev *dev);
int ns_blk_add(struct ns_dev *dev);
void ns_blk_del(struct ns_dev *dev);
void ns_blk_free(struct ns_dev *dev);
void ns_dispatch_locked(struct ns_dev *dev, struct ns_cmd *cmd);
void ns_delay_locked(struct ns_dev *dev, struct ns_cmd *cmd, unsigned long delay);
void ns_retry_work(struct work_struct *work);
void ns_finish(struct ns_cmd *cmd, blk_status_t status);
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
int ns_sock_connect(struct ns_conn *conn, struct socket **sockp);
void ns_sock_shutdown(struct socket *sock);
void ns_sock_close(struct socket *sock);
int ns_sock_recv(struct socket *sock, void *buf, size_t len);
int ns_sock_send(struct socket *sock, const void *buf, size_t len, int flags);
struct socket *ns_sock_anchor(void);
void ns_sock_set_timeout(struct socket *sock, long timeo);
void ns_tx_work(struct work_struct *work);
void ns_rx_work(struct work_struct *work);
void ns_send_disconnect(struct ns_conn *conn);

/* handshake.c */
int ns_handshake(struct ns_conn *conn, struct socket *sock,
		 struct ns_export_info *info);

/* integrity.c */
int ns_integrity_alloc(struct ns_dev *dev);
void ns_integrity_free(struct ns_dev *dev);
int ns_integrity_prepare(struct ns_dev *dev, struct ns_cmd *cmd);
int ns_integrity_submit_locked(struct ns_dev *dev, struct ns_cmd *cmd);
void ns_integrity_write_acked_locked(struct ns_dev *dev, struct ns_cmd *cmd);
int ns_integrity_verify(struct ns_conn *conn, struct ns_cmd *cmd);
int ns_integrity_probe(struct ns_conn *conn, struct socket *sock);
size_t ns_integrity_bytes(const struct ns_dev *dev);

/* main.c */
int ns_dev_configure(struct ns_dev *dev, const struct ns_export_info *info);

/* recovery.c */
void ns_conn_init(struct ns_dev *dev, struct ns_conn *conn, unsigned int id);
int ns_conn_setup(struct ns_conn *conn, bool new);
bool ns_conn_set_state(struct ns_conn *conn, enum ns_conn_state to);
void ns_conn_fail(struct ns_conn *conn, int err, const char *why);
void ns_conn_fail_gen(struct ns_conn *conn, u32 gen, int err, const char *why);
void ns_conn_stop(struct ns_conn *conn);
void ns_err_work(struct work_struct *work);
void ns_connect_work(struct work_struct *work);
const char *ns_conn_state_name(enum ns_conn_state state);

/* stats.c */
extern const struct attribute_group *ns_attr_groups[];
void ns_stats_complete(struct ns_dev *dev, struct request *rq, u64 start_ns);
void ns_debugfs_init(void);
void ns_debugfs_exit(void);
void ns_debugfs_add(struct ns_dev *dev);
void ns_debugfs_del(struct ns_dev *dev);

#endif /* NETSWAP_H */
