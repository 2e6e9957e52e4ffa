// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-thread caches of common blocks, by exact size in units (so caching
 * costs no rounding): 64 bins for 1..64 units and a few associative bins
 * for the larger sizes a thread keeps using (4 KiB, 128 KiB payloads).
 *
 * A block remembers the cache that handed it out.  Freed by that cache's
 * thread, it goes back on a bin; freed by any other thread, it is pushed
 * on the cache's remote stack with one compare-and-swap, and the owning
 * thread takes the whole stack at once when a bin runs dry (a pop-all has
 * no ABA problem).  No arena lock on either path.
 *
 * Memory is short, and a thread that found none empties every cache into
 * common memory: memory parked in an idle thread's cache is never lost.
 * So a cache does have foreign users, rarely.  Its owner thread does not
 * pay for them with an atomic instruction per operation: it raises @busy
 * with a plain store and checks @steal; a foreigner raises @steal, has
 * every thread of the process execute a memory barrier (membarrier(2),
 * expedited), then waits for @busy to drop.  Either the owner's store was
 * before its barrier and the foreigner waits, or its check was after and
 * it sees @steal and takes the lock like a foreigner.  Where membarrier
 * is missing, owners just take the lock.
 */
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/arena/internal.h"

_Thread_local struct tls_ent arena_tls[TLS_ENTS];
#define tls arena_tls
_Thread_local uint64_t arena_my_tid;
#define my_tid arena_my_tid
static atomic_uint_fast64_t next_tid;

/* Live arenas, so that a thread's exit can tell whether the arenas it
 * cached for still exist. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct arena *reg_head;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

uint64_t tc_thread_id(void)
{
	if (!my_tid)
		my_tid = atomic_fetch_add(&next_tid, 1) + 1;
	return my_tid;
}

void tc_registry_add(struct arena *a)
{
	pthread_mutex_lock(&reg_lock);
	a->reg_next = reg_head;
	reg_head = a;
	pthread_mutex_unlock(&reg_lock);
}

void tc_registry_remove(struct arena *a)
{
	pthread_mutex_lock(&reg_lock);
	for (struct arena **pp = &reg_head; *pp; pp = &(*pp)->reg_next) {
		if (*pp == a) {
			*pp = a->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
}

/* reg_lock held */
static bool registered(const struct arena *a, uint64_t id)
{
	for (struct arena *r = reg_head; r; r = r->reg_next)
		if (r == a && r->id == id)
			return true;
	return false;
}

bool tc_asym_available(void)
{
	return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		       0, 0) == 0;
}

/* Another thread takes the caches @tcs[0..n) (in index order). */
static void lock_foreign(struct arena *a, struct tcache **tcs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		spin_lock(&tcs[i]->lock);
		atomic_store_explicit(&tcs[i]->steal, 1, memory_order_relaxed);
	}
	if (!a->asym || !n)
		return;
	syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int spins = 0;

		while (atomic_load_explicit(&tcs[i]->busy, memory_order_acquire)) {
			if (++spins < 128)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

/* Without membarrier @steal stays raised: the owner always locks. */
static void unlock_foreign(struct arena *a, struct tcache *tc)
{
	atomic_store_explicit(&tc->steal, !a->asym, memory_order_release);
	spin_unlock(&tc->lock);
}

static uint32_t bin_max(const struct arena *a, uint32_t n)
{
	uint64_t m = a->tc_cap / 4 / n;

	return m < 1 ? 1 : m > TC_BIN_MAX ? TC_BIN_MAX : (uint32_t)m;
}

void tc_bins_init(struct arena *a, struct tcache *tc)
{
	for (uint32_t n = 1; n <= TC_SMALL; n++) {
		tc->bin[n].units = n;
		tc->max[n] = tc->bin[n].left = bin_max(a, n);
	}
	atomic_store_explicit(&tc->room, a->tc_cap, memory_order_relaxed);
	/* Without membarrier the owner thread always takes the lock. */
	atomic_store_explicit(&tc->steal, !a->asym, memory_order_relaxed);
}

/* A bin for @n, taking over an empty large one of its set if needed. */
static struct tc_bin *bin_get(struct arena *a, struct tcache *tc, uint32_t n)
{
	struct tc_bin *b = tc_bin_find(tc, n);

	if (b)
		return b;
	b = tc_large_set(tc, n);
	if (b->head && (++b)->head)
		return NULL;	/* both hold other sizes: uncached */
	b->units = n;
	tc->max[b - tc->bin] = b->left = bin_max(a, n);
	return b;
}

static void push(struct tc_bin *b, void *p)
{
	unpoison(p, sizeof(void *));
	*(void **)p = b->head;
	b->head = p;
	b->left--;
}

static uint32_t unit_of(const struct arena *a, const void *p)
{
	return (uint32_t)(((const char *)p - a->base) >> a->shift);
}

/* Give a chain of blocks (linked through their first word) to common
 * memory.  Cache lock held; takes the arena lock. */
static void give_chain(struct arena *a, void *chain)
{
	if (!chain)
		return;
	pthread_mutex_lock(&a->lock);
	while (chain) {
		void *next = *(void **)chain;
		uint32_t u = unit_of(a, chain);

		ext_give(a, u, tag_len(a, u) & TAG_LEN);
		chain = next;
	}
	pthread_mutex_unlock(&a->lock);
}

/* Take in what other threads freed: into the bins while they have room,
 * the rest to common memory.  Cache lock held. */
static void drain_remote(struct arena *a, struct tcache *tc, bool keep)
{
	/* acq_rel: pairs with the pushers' acq_rel CAS, so that a pusher
	 * that comes after a waiter's drain sees the waiter's registration
	 * (see arena_alloc_or_wait()). */
	void *p = atomic_exchange_explicit(&tc->remote, NULL,
					   memory_order_acq_rel);
	void *spill = NULL;
	uint64_t drained = 0, cached = 0;

	while (p) {
		void *next = *(void **)p;
		uint32_t n = tag_len(a, unit_of(a, p)) & TAG_LEN;
		struct tc_bin *b = keep ? bin_get(a, tc, n) : NULL;

		drained += n;
		if (b && b->left && ld(&tc->room) >= cached + n) {
			push(b, p);
			cached += n;
		} else {
			*(void **)p = spill;
			spill = p;
		}
		p = next;
	}
	add(&tc->drained, drained);
	add(&tc->room, -cached);
	give_chain(a, spill);
}

/* Everything in the cache to common memory.  Cache lock held. */
static void flush_all(struct arena *a, struct tcache *tc)
{
	void *chain = NULL;

	drain_remote(a, tc, false);
	for (unsigned int i = 1; i < TC_BINS; i++) {
		struct tc_bin *b = &tc->bin[i];

		while (b->head) {
			void *p = b->head;

			b->head = *(void **)p;
			*(void **)p = chain;
			chain = p;
		}
		b->left = tc->max[i];
	}
	atomic_store_explicit(&tc->room, a->tc_cap, memory_order_relaxed);
	give_chain(a, chain);
}

static void thread_exit(void *unused)
{
	(void)unused;
	for (unsigned int i = 0; i < TLS_ENTS; i++) {
		struct tls_ent *e = &tls[i];

		if (!e->a)
			continue;
		pthread_mutex_lock(&reg_lock);
		if (e->tc && registered(e->a, e->id))
			tc_detach(e->a, e->tc);
		pthread_mutex_unlock(&reg_lock);
		e->a = NULL;
		e->id = 0;
	}
}

static void exit_key_create(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

void tc_detach(struct arena *a, struct tcache *tc)
{
	spin_lock(&tc->lock);
	flush_all(a, tc);
	atomic_store(&tc->tid, 0);
	spin_unlock(&tc->lock);
}

/* Slow path: this thread has no entry for @a yet. */
static struct tcache *claim(struct arena *a)
{
	uint64_t me = tc_thread_id();
	struct tls_ent *e = NULL;
	struct tcache *tc = NULL;

	pthread_mutex_lock(&reg_lock);
	for (unsigned int i = 0; i < TLS_ENTS && !e; i++)
		if (!tls[i].a || !registered(tls[i].a, tls[i].id))
			e = &tls[i];
	pthread_mutex_unlock(&reg_lock);
	if (!e)
		return NULL;	/* this thread uses too many arenas: uncached */
	if (!(a->flags & ARENA_NO_TCACHE)) {
		for (unsigned int i = 1; i <= a->max_tcs && !tc; i++) {
			uint_fast64_t free_tid = 0;

			if (atomic_compare_exchange_strong(&a->tcs[i].tid,
							   &free_tid, me))
				tc = &a->tcs[i];
		}
	}
	pthread_once(&exit_once, exit_key_create);
	pthread_setspecific(exit_key, (void *)1);
	e->a = a;
	e->id = a->id;
	e->tc = tc;
	e->origin = tc ? tc->id << META_ORIGIN_SHIFT : NO_ORIGIN;
	return tc;
}

struct tcache *tc_self_slow(struct arena *a)
{
	for (unsigned int i = 1; i < TLS_ENTS; i++) {
		if (tls[i].a == a && tls[i].id == a->id) {
			struct tls_ent t = tls[0];

			tls[0] = tls[i];
			tls[i] = t;
			return tls[0].tc;
		}
	}
	return claim(a);
}

void arena_thread_detach(struct arena *a)
{
	for (unsigned int i = 0; i < TLS_ENTS; i++) {
		if (tls[i].a == a && tls[i].id == a->id) {
			if (tls[i].tc)
				tc_detach(a, tls[i].tc);
			tls[i].a = NULL;
			tls[i].id = 0;	/* the fast paths look at the id alone */
			tls[i].tc = NULL;
			tls[i].origin = NO_ORIGIN;
		}
	}
}

/*
 * A bin ran dry: blocks from common memory, several at once when memory
 * is plentiful (one lock round trip, one cut, adjacent blocks).  Returns
 * the first block's unit, the others go on the bin.  Cache lock held.
 */
static uint32_t refill(struct arena *a, struct tcache *tc, uint32_t n,
		       uint32_t meta, unsigned int flags)
{
	struct tc_bin *b = bin_get(a, tc, n);
	uint32_t k = b ? tc->max[b - tc->bin] / 2 : 1, u;

	if (k > 16)
		k = 16;
	/* The extra blocks must fit the bin and the cache's cap. */
	if (b && k > b->left + 1)
		k = b->left + 1;
	if (k > ld(&tc->room) / n + 1)
		k = (uint32_t)(ld(&tc->room) / n) + 1;
	if (k < 1)
		k = 1;
	pthread_mutex_lock(&a->lock);
	if (!floor_allows(a, n, flags)) {
		pthread_mutex_unlock(&a->lock);
		return NIL;
	}
	/* Batches only while a quarter of the region is free: when memory
	 * is scarce, a cache must not sit on what others wait for. */
	while (k > 1 && ld(&a->core_free) < a->floor + (uint64_t)k * n +
					     a->nunits / 4)
		k /= 2;
	u = ext_take(a, k * n, meta);
	if (u == NIL && k > 1) {
		k = 1;
		u = ext_take(a, n, meta);
	}
	pthread_mutex_unlock(&a->lock);
	if (u == NIL)
		return NIL;
	block_set(a, u, n, n, meta);
	for (uint32_t i = 1; i < k; i++) {
		uint32_t v = u + i * n;

		block_set(a, v, n, n, META_CACHED | tc->id << META_ORIGIN_SHIFT);
		push(b, unit_ptr(a, v));
	}
	add(&tc->room, -(uint64_t)(k - 1) * n);
	return u;
}

void *tc_alloc(struct arena *a, struct tcache *tc, uint32_t n, size_t len,
	       uint32_t owner, unsigned int flags)
{
	uint32_t meta = owner | tc->id << META_ORIGIN_SHIFT |
			slack_of(a, len);
	struct tc_bin *b;
	char *p;

	bool locked = tc_enter(tc);

	b = tc_bin_find(tc, n);
	if ((!b || !b->head) &&
	    atomic_load_explicit(&tc->remote, memory_order_relaxed)) {
		drain_remote(a, tc, true);
		b = tc_bin_find(tc, n);
	}
	if (b && b->head) {
		p = b->head;
		b->head = *(void **)p;
		b->left++;
		add(&tc->room, n);
		tag_set_meta(a, unit_of(a, p), meta);
	} else {
		uint32_t u = refill(a, tc, n, meta, flags);

		if (u == NIL) {
			tc_leave(tc, locked);
			return NULL;
		}
		p = unit_ptr(a, u);
	}
	add(&tc->slack, meta_slack(meta));
	tc_leave(tc, locked);
	unpoison(p, len);
	return p;
}

void tc_free(struct arena *a, uint32_t u, uint32_t n, uint32_t meta)
{
	struct tcache *tc = &a->tcs[meta_origin(meta)];
	uint64_t slack = meta_slack(meta);
	uint64_t owner = atomic_load_explicit(&tc->tid, memory_order_relaxed);
	char *p = unit_ptr(a, u);
	struct tc_bin *b;
	bool locked;

	poison(p, (size_t)n << a->shift);
	if (owner && owner != my_tid) {
		void *old = atomic_load_explicit(&tc->remote,
						 memory_order_relaxed);

		tag_set_meta(a, u, META_CACHED | (meta & META_ORIGIN));
		/* Counted before it is visible, so "drained" never leads. */
		atomic_fetch_add_explicit(&tc->remote_units, n,
					  memory_order_relaxed);
		atomic_fetch_add_explicit(&tc->remote_slack, slack,
					  memory_order_relaxed);
		unpoison(p, sizeof(void *));
		do {
			*(void **)p = old;
		} while (!atomic_compare_exchange_weak_explicit(
				&tc->remote, &old, p, memory_order_acq_rel,
				memory_order_relaxed));
		return;
	}
	if (!owner) {
		/* Nobody's cache (its thread is gone): straight to common
		 * memory, with the cache's accounts held as a foreigner. */
		lock_foreign(a, &tc, 1);
		add(&tc->slack, -slack);
		unpoison(p, sizeof(void *));
		*(void **)p = NULL;
		give_chain(a, p);
		unlock_foreign(a, tc);
		return;
	}
	locked = tc_enter(tc);
	add(&tc->slack, -slack);
	b = bin_get(a, tc, n);
	if (b && b->left && ld(&tc->room) >= n) {
		tag_set_meta(a, u, META_CACHED | (meta & META_ORIGIN));
		push(b, p);
		add(&tc->room, -(uint64_t)n);
	} else {
		/* Bin full: half the bin goes along, so the next frees find
		 * room. */
		void *chain = p;

		unpoison(p, sizeof(void *));
		*(void **)p = NULL;
		for (uint32_t i = b ? (tc->max[b - tc->bin] - b->left) / 2 : 0;
		     i; i--) {
			void *q = b->head;

			b->head = *(void **)q;
			b->left++;
			add(&tc->room, n);
			*(void **)q = chain;
			chain = q;
		}
		give_chain(a, chain);
	}
	tc_leave(tc, locked);
}

/* Every cache, claimed or not, into common memory: one barrier for all. */
void tc_reclaim_all(struct arena *a, bool all)
{
	struct tcache *tcs[ARENA_MAX_THREADS];
	unsigned int n = 0;

	for (unsigned int i = 1; i <= a->max_tcs; i++) {
		struct tcache *tc = &a->tcs[i];

		if (all || ld(&tc->room) != a->tc_cap ||
		    atomic_load_explicit(&tc->remote, memory_order_relaxed))
			tcs[n++] = tc;
	}
	lock_foreign(a, tcs, n);
	for (unsigned int i = 0; i < n; i++) {
		flush_all(a, tcs[i]);
		unlock_foreign(a, tcs[i]);
	}
}

void arena_flush_caches(struct arena *a)
{
	tc_reclaim_all(a, true);
}
