// SPDX-License-Identifier: GPL-2.0-only
/*
 * RBD exports: netswapd as a stateless gateway in front of a Ceph image.
 *
 *   NAME=rbd:POOL/[NAMESPACE/]IMAGE[,conf=PATH][,id=USER]
 *
 * I/O goes through librbd's asynchronous calls, issued from the event loop
 * with the request's arena buffer; librbd's callback (one of its threads)
 * hands the request back to the loop through loop_post_completion(), the
 * same way a worker does, so replies take the one path every export uses.
 *
 * Fencing.  Several gateways may open one image; only the holder of its
 * exclusive lock serves it.  A gateway takes the lock with
 * rbd_lock_acquire(), which also stops librbd from passing it on when
 * asked (the holder refuses with EROFS).  The others stand by and try
 * again every second.  librbd breaks a holder's lock only when the holder
 * is dead: its watch on the image header is gone, which the OSD decides
 * after osd_client_watch_timeout (30 s) without a ping, or at once for a
 * blocklisted client.  Before breaking the lock it blocklists the holder's
 * address (rbd_blocklist_on_break_lock, forced on here), so whatever a
 * stalled or partitioned old holder still sends is refused by the OSDs.
 * A gateway whose I/O fails because it no longer holds the lock answers
 * NBD_ESHUTDOWN (netswap.ko resends the request, elsewhere) and stops
 * serving: new clients are refused at the handshake.  Blocklisted, it is
 * fenced for good (restart it to stand by again).
 *
 * The librbd cache is off: a write is acknowledged only once the OSDs have
 * it, so a gateway that dies loses no acknowledged page.  FUA and FLUSH
 * still go to rbd_aio_flush, should a configuration turn it back on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netswapd.h"

/* Copy s[0..n) into a field of @cap bytes; -1 if empty or too long. */
static int take(char *field, size_t cap, const char *s, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(field, s, n);
	field[n] = '\0';
	return 0;
}

/* "POOL/[NAMESPACE/]IMAGE" */
static int parse_where(const char *s, size_t n, struct nsd_rbd_target *t)
{
	const char *a = memchr(s, '/', n), *b;

	if (!a)
		return -1;
	b = memchr(a + 1, '/', n - (size_t)(a + 1 - s));
	if (take(t->pool, sizeof(t->pool), s, (size_t)(a - s)))
		return -1;
	if (!b)
		return take(t->image, sizeof(t->image), a + 1, n - (size_t)(a + 1 - s));
	if (memchr(b + 1, '/', n - (size_t)(b + 1 - s)))
		return -1;
	return take(t->ns, sizeof(t->ns), a + 1, (size_t)(b - a - 1)) ||
	       take(t->image, sizeof(t->image), b + 1, n - (size_t)(b + 1 - s));
}

/* "POOL/[NAMESPACE/]IMAGE[,conf=PATH][,id=USER]" into its parts. */
int rbd_spec_parse(const char *s, struct nsd_rbd_target *t, char *why,
		   size_t len)
{
	const char *end = strchrnul(s, ',');

	memset(t, 0, sizeof(*t));
	if (parse_where(s, (size_t)(end - s), t)) {
		snprintf(why, len, "rbd: expected POOL/[NAMESPACE/]IMAGE, not '%.*s'",
			 (int)(end - s), s);
		return -1;
	}
	while (*end == ',') {
		const char *v = end + 1;
		int rc = -1;

		end = strchrnul(v, ',');
		if (!strncmp(v, "conf=", 5))
			rc = take(t->conf, sizeof(t->conf), v + 5, (size_t)(end - v - 5));
		else if (!strncmp(v, "id=", 3))
			rc = take(t->id, sizeof(t->id), v + 3, (size_t)(end - v - 3));
		if (rc) {
			snprintf(why, len, "rbd: bad option '%.*s' (conf=PATH or id=USER)",
				 (int)(end - v), v);
			return -1;
		}
	}
	return 0;
}

#ifndef NSD_HAVE_RBD

int rbd_export_open(struct nsd_export *e, const struct nsd_export_spec *s,
		    bool ro)
{
	(void)e, (void)ro;
	log_err("export '%s': rbd: exports are not compiled in (build with librbd-dev installed)",
		s->name);
	return -1;
}

void rbd_export_close(struct nsd_export *e)
{
	(void)e;
}

const char *rbd_export_unavailable(const struct nsd_export *e)
{
	(void)e;
	return "rbd exports are not compiled in";
}

void rbd_submit(struct nsd_req *r)
{
	r->error = NBD_EIO;
	loop_post_completion(r->conn->loop, r);
}

#else /* NSD_HAVE_RBD */

#include <time.h>

#include "rbd-lib.h"

/* librbd's -EBLOCKLISTED */
#define RBD_EBLOCKLISTED ESHUTDOWN

enum rbd_state {
	RBD_STANDBY,		/* another gateway holds the lock */
	RBD_SERVING,		/* we hold it (or the export is read-only) */
	RBD_FENCED,		/* blocklisted: out until restarted */
};

struct nsd_rbd {
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	char what[600];			/* "export 'NAME': rbd POOL/IMAGE" */
	bool read_only;
	atomic_int state;		/* enum rbd_state */

	/* The lock keeper: a thread that takes the lock, and checks it. */
	pthread_t keeper;
	bool keeper_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;			/* guarded by lock */
	bool recheck;			/* an I/O saw the lock gone */
	char holder[128];		/* last holder we were told of */
	int refused;			/* why we last stood by (-errno) */
};

static uint32_t nbd_error(ssize_t rc)
{
	switch (-rc) {
	case 0:
		return 0;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EDQUOT:
		return NBD_ENOSPC;
	case EROFS:
	case RBD_EBLOCKLISTED:
		return NBD_ESHUTDOWN;
	default:
		return NBD_EIO;
	}
}

static void keeper_kick(struct nsd_rbd *b)
{
	pthread_mutex_lock(&b->lock);
	b->recheck = true;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Every change of state but fencing: a fenced gateway stays fenced, even
 * if librbd, not yet told of its blocklisting, still claims the lock.
 * Returns the state before. */
static int set_state(struct nsd_rbd *b, int to)
{
	int cur = atomic_load(&b->state);

	while (cur != RBD_FENCED &&
	       !atomic_compare_exchange_weak(&b->state, &cur, to))
		;
	return cur;
}

/* Blocklisted: no request of this client reaches the OSDs again. */
static void fence(struct nsd_rbd *b)
{
	if (atomic_exchange(&b->state, RBD_FENCED) != RBD_FENCED)
		log_err("%s: fenced: this gateway was blocklisted (another one took the image over); restart it to stand by again",
			b->what);
}

/* Who holds the lock, for the log. */
static void note_holder(struct nsd_rbd *b)
{
	rbd_lock_mode_t mode;
	char *owners[4];
	size_t n = 4;

	snprintf(b->holder, sizeof(b->holder), "another client");
	if (RBD(rbd_lock_get_owners)(b->image, &mode, owners, &n) == 0) {
		if (n)
			snprintf(b->holder, sizeof(b->holder), "%s", owners[0]);
		RBD(rbd_lock_get_owners_cleanup)(owners, n);
	}
}

/* Take the lock if we can: SERVING, STANDBY (a live holder), or FENCED. */
static void take_lock(struct nsd_rbd *b, bool quiet)
{
	int rc = RBD(rbd_lock_acquire)(b->image, RBD_LOCK_MODE_EXCLUSIVE);
	int was;

	if (rc == -RBD_EBLOCKLISTED) {
		fence(b);
		return;
	}
	was = set_state(b, rc == 0 ? RBD_SERVING : RBD_STANDBY);
	if (was == RBD_FENCED)
		return;
	if (rc == 0) {
		if (was != RBD_SERVING)
			log_info("%s: holds the exclusive lock: serving", b->what);
		return;
	}
	/* A live holder answers EROFS, EBUSY or EAGAIN: one reason. */
	if (rc == -EROFS || rc == -EAGAIN)
		rc = -EBUSY;
	/* Once per reason: a standby tries every second. */
	if (quiet && was == RBD_STANDBY && rc == b->refused)
		return;
	b->refused = rc;
	if (rc == -EBUSY) {
		note_holder(b);
		log_info("%s: standing by: %s holds the exclusive lock", b->what,
			 b->holder);
	} else {
		/* EACCES/EPERM: the user may not blocklist the dead holder
		 * (its monitor caps need "profile rbd"). */
		log_warn("%s: cannot take the exclusive lock: %s; trying again",
			 b->what, strerror(-rc));
	}
}

/* Serving: is the lock still ours?  If librbd lost it, take it back
 * unless someone else has it now (then stand by) or we were blocklisted. */
static void check_lock(struct nsd_rbd *b, bool kicked)
{
	int owner = 0;
	int rc = RBD(rbd_is_exclusive_lock_owner)(b->image, &owner);

	if (rc == 0 && owner && !kicked)
		return;
	if (rc == 0 && !owner)
		log_warn("%s: lost the exclusive lock", b->what);
	take_lock(b, false);
}

static void *keeper_main(void *arg)
{
	struct nsd_rbd *b = arg;

	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		struct timespec ts;
		bool kicked;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		if (!b->recheck)
			pthread_cond_timedwait(&b->cond, &b->lock, &ts);
		if (b->stop)
			break;
		kicked = b->recheck;
		b->recheck = false;
		pthread_mutex_unlock(&b->lock);
		switch (atomic_load(&b->state)) {
		case RBD_STANDBY:
			take_lock(b, true);
			break;
		case RBD_SERVING:
			check_lock(b, kicked);
			break;
		}
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static int start_keeper(struct nsd_rbd *b)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&b->lock, NULL);
	if (pthread_create(&b->keeper, NULL, keeper_main, b))
		return -1;
	b->keeper_started = true;
	return 0;
}

/* A client of the cluster, configured for a gateway. */
static int connect_cluster(struct nsd_rbd *b, const struct nsd_rbd_target *t)
{
	static const char *const settings[][2] = {
		/* Acknowledged means on the OSDs: no write-back cache. */
		{ "rbd_cache", "false" },
		/* Fencing depends on it (see the top of this file). */
		{ "rbd_blocklist_on_break_lock", "true" },
		/* A cluster that cannot be reached fails the start, in time. */
		{ "client_mount_timeout", "30" },
	};
	char why[300];
	int rc;

	if (nsd_rbd_lib_load(why, sizeof(why))) {
		log_err("%s: cannot load librbd: %s", b->what, why);
		return -1;
	}
	rc = RBD(rados_create)(&b->cluster, t->id[0] ? t->id : NULL);
	if (rc) {
		log_err("%s: rados_create: %s", b->what, strerror(-rc));
		return -1;
	}
	rc = RBD(rados_conf_read_file)(b->cluster, t->conf[0] ? t->conf : NULL);
	if (rc) {
		log_err("%s: cannot read %s: %s", b->what,
			t->conf[0] ? t->conf : "the default ceph.conf",
			strerror(-rc));
		return -1;
	}
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		RBD(rados_conf_set)(b->cluster, settings[i][0], settings[i][1]);
	rc = RBD(rados_connect)(b->cluster);
	if (rc) {
		log_err("%s: cannot connect to the cluster: %s", b->what,
			strerror(-rc));
		RBD(rados_shutdown)(b->cluster);
		b->cluster = NULL;
		return -1;
	}
	return 0;
}

static int open_image(struct nsd_rbd *b, const struct nsd_rbd_target *t,
		      uint64_t *size)
{
	uint64_t features = 0;
	int rc = RBD(rados_ioctx_create)(b->cluster, t->pool, &b->io);

	if (rc) {
		log_err("%s: pool '%s': %s", b->what, t->pool, strerror(-rc));
		return -1;
	}
	RBD(rados_ioctx_set_namespace)(b->io, t->ns[0] ? t->ns : NULL);
	rc = b->read_only ? RBD(rbd_open_read_only)(b->io, t->image, &b->image, NULL)
			  : RBD(rbd_open)(b->io, t->image, &b->image, NULL);
	if (rc) {
		log_err("%s: cannot open the image: %s", b->what, strerror(-rc));
		b->image = NULL;
		return -1;
	}
	if ((rc = RBD(rbd_get_size)(b->image, size)) ||
	    (rc = RBD(rbd_get_features)(b->image, &features))) {
		log_err("%s: %s", b->what, strerror(-rc));
		return -1;
	}
	if (!b->read_only && !(features & RBD_FEATURE_EXCLUSIVE_LOCK)) {
		log_err("%s: the image lacks the exclusive-lock feature, without which two gateways could both write it (rbd feature enable %s/%s exclusive-lock)",
			b->what, t->pool, t->image);
		return -1;
	}
	return 0;
}

int rbd_export_open(struct nsd_export *e, const struct nsd_export_spec *s,
		    bool ro)
{
	struct nsd_rbd_target t;
	struct nsd_rbd *b;
	char why[256];

	if (rbd_spec_parse(s->path, &t, why, sizeof(why))) {
		log_err("export '%s': %s", s->name, why);
		return -1;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	e->rbd = b;
	b->read_only = ro;
	snprintf(b->what, sizeof(b->what), "export '%.100s': rbd %s/%s%s%s",
		 s->name, t.pool, t.ns, t.ns[0] ? "/" : "", t.image);
	if (connect_cluster(b, &t) || open_image(b, &t, &e->size))
		return -1;
	if (e->size == 0) {
		log_err("%s: the image is empty", b->what);
		return -1;
	}
	if (ro) {
		atomic_store(&b->state, RBD_SERVING);	/* no lock to read */
		return 0;
	}
	/* The first try here, so a gateway that can serve does from its
	 * first "listening" line; the keeper takes over from there. */
	take_lock(b, false);
	return start_keeper(b);
}

void rbd_export_close(struct nsd_export *e)
{
	struct nsd_rbd *b = e->rbd;

	if (!b)
		return;
	if (b->keeper_started) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_signal(&b->cond);
		pthread_mutex_unlock(&b->lock);
		pthread_join(b->keeper, NULL);
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	if (b->image) {
		/* Handing the lock over now spares a standby the watch
		 * timeout. */
		if (atomic_load(&b->state) == RBD_SERVING && !b->read_only &&
		    RBD(rbd_lock_release)(b->image) == 0)
			log_info("%s: released the exclusive lock", b->what);
		RBD(rbd_close)(b->image);
	}
	if (b->io)
		RBD(rados_ioctx_destroy)(b->io);
	if (b->cluster)
		RBD(rados_shutdown)(b->cluster);
	free(b);
	e->rbd = NULL;
}

const char *rbd_export_unavailable(const struct nsd_export *e)
{
	switch (atomic_load(&e->rbd->state)) {
	case RBD_SERVING:
		return NULL;
	case RBD_STANDBY:
		return "standing by: another gateway holds the image's exclusive lock";
	default:
		return "fenced: another gateway took the image over";
	}
}

/* librbd's thread: the request goes back to its loop. */
static void io_done(rbd_completion_t comp, void *arg)
{
	struct nsd_req *r = arg;
	ssize_t rc = RBD(rbd_aio_get_return_value)(comp);
	struct nsd_rbd *b = r->conn->exp->rbd;

	RBD(rbd_aio_release)(comp);
	r->error = nbd_error(rc < 0 ? rc : 0);
	if (rc == -RBD_EBLOCKLISTED) {
		fence(b);
	} else if (rc == -EROFS && !b->read_only) {
		/* librbd no longer holds the lock: stop serving until the
		 * keeper has it back, or knows another gateway has it. */
		int serving = RBD_SERVING;

		if (atomic_compare_exchange_strong(&b->state, &serving,
						   RBD_STANDBY))
			keeper_kick(b);
	}
	if (r->type == NBD_CMD_READ && !r->error) {
		r->data = r->buf;
		r->data_len = (uint32_t)r->len;
	}
	loop_post_completion(r->conn->loop, r);
}

/* A FUA write: once written, flushed, then answered. */
static void write_done(rbd_completion_t comp, void *arg)
{
	struct nsd_req *r = arg;
	ssize_t rc = RBD(rbd_aio_get_return_value)(comp);
	rbd_completion_t flush;

	if (rc < 0) {
		io_done(comp, arg);
		return;
	}
	RBD(rbd_aio_release)(comp);
	if (RBD(rbd_aio_create_completion)(r, io_done, &flush) == 0) {
		rc = RBD(rbd_aio_flush)(r->conn->exp->rbd->image, flush);
		if (rc == 0)
			return;
		RBD(rbd_aio_release)(flush);
	}
	r->error = NBD_EIO;
	loop_post_completion(r->conn->loop, r);
}

static int start_io(rbd_image_t img, struct nsd_req *r, rbd_completion_t comp)
{
	switch (r->type) {
	case NBD_CMD_READ:
		return RBD(rbd_aio_read)(img, r->offset, r->len, r->buf, comp);
	case NBD_CMD_WRITE:
		return RBD(rbd_aio_write)(img, r->offset, r->len, r->buf, comp);
	case NBD_CMD_FLUSH:
		return RBD(rbd_aio_flush)(img, comp);
	case NBD_CMD_TRIM:
		return RBD(rbd_aio_discard)(img, r->offset, r->len, comp);
	case NBD_CMD_WRITE_ZEROES:
		/* Reads back as zero, whole objects deallocated: always
		 * faster than writing, so FAST_ZERO holds. */
		return RBD(rbd_aio_write_zeroes)(img, r->offset, r->len, comp, 0, 0);
	}
	return -EINVAL;
}

/* Loop thread: start @r on librbd; it comes back through the loop. */
void rbd_submit(struct nsd_req *r)
{
	struct nsd_rbd *b = r->conn->exp->rbd;
	bool fua = r->type == NBD_CMD_WRITE && (r->flags & NBD_CMD_FLAG_FUA);
	rbd_completion_t comp;
	int rc;

	if (atomic_load(&b->state) != RBD_SERVING) {
		r->error = NBD_ESHUTDOWN;	/* resent to the new holder */
		loop_post_completion(r->conn->loop, r);
		return;
	}
	if (r->type == NBD_CMD_CACHE) {		/* a hint: nothing to do */
		r->error = 0;
		loop_post_completion(r->conn->loop, r);
		return;
	}
	rc = RBD(rbd_aio_create_completion)(r, fua ? write_done : io_done, &comp);
	if (rc == 0) {
		rc = start_io(b->image, r, comp);
		if (rc == 0)
			return;
		RBD(rbd_aio_release)(comp);
	}
	r->error = nbd_error(rc);
	loop_post_completion(r->conn->loop, r);
}

#endif /* NSD_HAVE_RBD */
