/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Arena internals shared by its files.
 *
 * Bookkeeping lives in a side table (one tag per unit) rather than in
 * headers inside blocks, so a 32-byte header costs 32 bytes and a block
 * never handed out is never touched.  Only the first and the last unit of
 * every block, free or not, carry a meaningful tag; the others are stale.
 * Free extents additionally hold their free-list links in their own first
 * 8 bytes (memory that was either in use before, or is the first bytes of
 * a never-used extent: one page of RSS ahead at most).
 *
 * Locks, always taken in this order: a thread cache's, the arena's, an
 * owner's.  Who may write which tag:
 *  - common free extents and blocks being split off or merged into them:
 *    the arena lock;
 *  - anything inside an owner's reserve: that owner's lock;
 *  - the meta of a common block that is handed out or cached: the thread
 *    holding the block.
 * The first and last unit of a reserve always carry the owner's id, so the
 * common side, looking at a neighbour across a reserve's edge, sees "not
 * mine" whatever that owner is doing.  Tags are read and written with
 * relaxed atomics: never torn, and no data race in C11 terms.
 */
#ifndef NETSWAP_LIB_ARENA_INTERNAL_H
#define NETSWAP_LIB_ARENA_INTERNAL_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/arena/arena.h"

#define NIL UINT32_MAX

/* tag.len: length in units, and whether the extent is free. */
#define TAG_FREE	(1U << 31)
#define TAG_LEN		(TAG_FREE - 1)

/* tag.meta */
#define META_OWNER	0x7fffU		/* owner id, 0 = none */
#define META_RESV	(1U << 15)	/* block lies in its owner's reserve */
#define META_CACHED	(1U << 16)	/* block sits in a thread cache */
#define META_ORIGIN_SHIFT 17		/* thread cache that handed it out */
#define META_ORIGIN	(0x1ffU << META_ORIGIN_SHIFT)
#define META_SLACK_SHIFT 26		/* unit bytes the caller did not ask */
#define META_SLACK	(0x3fU << META_SLACK_SHIFT)

#define meta_owner(m)	((m) & META_OWNER)
#define meta_origin(m)	(((m) & META_ORIGIN) >> META_ORIGIN_SHIFT)
#define meta_slack(m)	(((m) & META_SLACK) >> META_SLACK_SHIFT)

struct tag {
	uint32_t len;
	uint32_t meta;
};

/* Free-list classes (two-level segregated fit): sizes below SL_COUNT
 * units have a list each; above, every power of two is cut in SL_COUNT
 * lists, so a list holds sizes within 1/32 of each other. */
#define SL_LOG 5
#define SL_COUNT (1U << SL_LOG)
#define FL_COUNT 27		/* sizes up to 2^31 - 1 units */

#define MAX_SLICES 4		/* reserve slices per owner */

#define TC_SMALL 64		/* exact bins for 1..64 units */
#define TC_LSET_LOG 3		/* larger sizes: 8 sets of 2 bins, by hash */
#define TC_LARGE (2U << TC_LSET_LOG)
#define TC_LARGE0 (TC_SMALL + 1)	/* first large bin */
#define TC_BINS (TC_LARGE0 + TC_LARGE)	/* [0] unused */
#define TC_BIN_MAX 64		/* blocks per bin at most */

struct spin {
	atomic_int v;
};

/* A bin counts down the blocks it may still take (@left), so a free
 * tests one field; it holds tcache.max[its index] - left blocks.  16
 * bytes: an index is a shift. */
struct tc_bin {
	void *head;
	uint32_t left;
	uint32_t units;		/* the size it holds (large bins: now; 0 none) */
};

/* One thread's cache.  Every field but the remote side is changed by its
 * thread inside tc_enter()/tc_leave() (or the inlined fast paths in
 * arena.c, which follow the same protocol), or by another thread holding
 * the cache as a foreigner (tc_lock_foreign()); counters are atomics so
 * that arena_stats() can read them any time.  The fields the fast paths
 * touch come first, in one or two cache lines. */
struct tcache {
	atomic_int busy;	/* owner thread inside a lock-free operation */
	atomic_int steal;	/* a foreign user wants in: owner takes @lock
				 * (always set where membarrier is missing) */
	/* Units the cache may still take: its cap minus what it holds, so
	 * the cap costs one comparison and arena_stats() reads "cached" as
	 * cap - room. */
	atomic_uint_fast64_t room;
	/* Unit bytes not asked for in the blocks it handed out, minus those
	 * freed here: arena_stats() derives "requested" from it, and a free
	 * subtracts its tag's slack as it stands, without a shift. */
	atomic_uint_fast64_t slack;
	struct tc_bin bin[TC_BINS];
	uint32_t max[TC_BINS];	/* blocks each bin may hold (slow paths) */
	struct spin lock;	/* foreign users, and the owner when asked */
	unsigned int id;
	atomic_uint_fast64_t tid;	/* claiming thread, 0 = none */
	atomic_uint_fast64_t drained;	/* cumulative: remote taken in */
	/* Remote side: other threads push here without any lock. */
	_Alignas(64) _Atomic(void *) remote;
	atomic_uint_fast64_t remote_units, remote_slack;	/* cumulative */
};

struct slice {
	uint32_t start, n;
};

#define OWNER_BINS 4	/* sizes an owner keeps freed blocks of, unmerged */
#define OWNER_BIN_MAX 1024	/* the reserve is the owner's anyway */

struct owner_bin {
	void *head;		/* linked through the blocks' first word */
	uint32_t units, count;
};

struct arena_owner {
	struct arena *a;
	struct spin lock;
	struct owner_bin bin[OWNER_BINS];
	unsigned int id;
	bool live;		/* created, not destroyed */
	atomic_bool dying;	/* destroyed, blocks may still be out */
	atomic_bool recycled;
	uint32_t head;		/* reserve free list (unit index) */
	unsigned int nslices;
	struct slice slice[MAX_SLICES];
	uint64_t reserve;	/* units reserved in all */
	atomic_uint_fast64_t res_free;	/* units of the reserve not in use */
	atomic_uint_fast64_t res_used, res_req;	/* blocks in the reserve */
	atomic_uint_fast64_t com_used, com_req;	/* blocks in common memory */
	uint32_t next_slot;	/* free slot list */
	char name[24];
} __attribute__((aligned(64)));

struct arena {
	char *base;
	uint64_t capacity;
	uint32_t nunits;
	unsigned int shift;
	uint32_t unit_mask;	/* unit bytes - 1 */
	unsigned int flags;
	struct tag *tags;
	size_t tags_bytes;
	uint64_t id;		/* unique per arena: thread-cache lookups */
	struct arena *reg_next;

	pthread_mutex_t lock;
	uint32_t fl_map;
	uint32_t sl_map[FL_COUNT];
	uint32_t head[FL_COUNT][SL_COUNT];
	atomic_uint_fast64_t core_free;		/* units, under lock */
	atomic_uint_fast64_t direct_req;	/* bytes asked, uncached blocks */
	atomic_uint_fast64_t direct_used;	/* their units */
	uint64_t floor;		/* units */

	struct arena_owner *owners;
	unsigned int max_owners;
	uint32_t free_slot;	/* owner slot free list, under lock */
	atomic_uint nowners;

	struct tcache *tcs;	/* [0] unused: origin 0 means "none" */
	unsigned int max_tcs;
	uint32_t tc_max_units;	/* largest cached block */
	size_t tc_max_bytes;	/* the same in bytes, 0 without caches */
	uint64_t tc_cap;	/* units one cache may hold */

	bool asym;		/* membarrier: owners skip the cache lock */

	arena_wake_fn wake;
	void *wake_arg;
	atomic_bool any_waiting;
	atomic_uint_fast64_t waiting[ARENA_MAX_WAITERS / 64];
	atomic_uint_fast64_t failures;
};

/* ---- small helpers ---- */

static inline void spin_lock(struct spin *s)
{
	unsigned int n = 0;

	while (atomic_exchange_explicit(&s->v, 1, memory_order_acquire)) {
		while (atomic_load_explicit(&s->v, memory_order_relaxed)) {
			if (++n < 128)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

static inline void spin_unlock(struct spin *s)
{
	atomic_store_explicit(&s->v, 0, memory_order_release);
}

static inline uint32_t tag_len(const struct arena *a, uint32_t u)
{
	return __atomic_load_n(&a->tags[u].len, __ATOMIC_RELAXED);
}

static inline uint32_t tag_meta(const struct arena *a, uint32_t u)
{
	return __atomic_load_n(&a->tags[u].meta, __ATOMIC_RELAXED);
}

static inline void tag_set(struct arena *a, uint32_t u, uint32_t len,
			   uint32_t meta)
{
	__atomic_store_n(&a->tags[u].len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&a->tags[u].meta, meta, __ATOMIC_RELAXED);
}

static inline void tag_set_meta(struct arena *a, uint32_t u, uint32_t meta)
{
	__atomic_store_n(&a->tags[u].meta, meta, __ATOMIC_RELAXED);
}

/* A block's tags at both ends. */
static inline void block_set(struct arena *a, uint32_t u, uint32_t n,
			     uint32_t len, uint32_t meta)
{
	tag_set(a, u, len, meta);
	if (n > 1)
		tag_set(a, u + n - 1, len, meta);
}

static inline char *unit_ptr(const struct arena *a, uint32_t u)
{
	return a->base + ((uint64_t)u << a->shift);
}

static inline uint32_t units_of(const struct arena *a, size_t len)
{
	return len ? (uint32_t)((len + (1U << a->shift) - 1) >> a->shift) : 1;
}

/* The unit bytes not asked for, in place in a tag's meta. */
static inline uint32_t slack_of(const struct arena *a, size_t len)
{
	return (uint32_t)(-len & a->unit_mask) << META_SLACK_SHIFT;
}

static inline uint64_t ld(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* Single-writer counters (under a lock): no read-modify-write needed. */
static inline void add(atomic_uint_fast64_t *c, uint64_t v)
{
	atomic_store_explicit(c, ld(c) + v, memory_order_relaxed);
}

/* ---- poisoning: ASan builds catch use of freed buffers ---- */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define poison(p, n) __asan_poison_memory_region((p), (n))
#define unpoison(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define poison(p, n) ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

/* Links stored in a free block's first 8 bytes. */
struct link {
	uint32_t prev, next;
};

static inline struct link *link_of(struct arena *a, uint32_t u)
{
	struct link *l = (struct link *)unit_ptr(a, u);

	unpoison(l, sizeof(*l));
	return l;
}

/* ---- extent.c: common free extents (caller holds a->lock) ---- */
void ext_init(struct arena *a);
/* @n units cut from a free extent and tagged as one block with @meta;
 * NIL if no extent is large enough. */
uint32_t ext_take(struct arena *a, uint32_t n, uint32_t meta);
/* Give back @n units at @u: merged with free common neighbours. */
void ext_give(struct arena *a, uint32_t u, uint32_t n);
uint32_t ext_largest(struct arena *a);
int ext_check_lists(struct arena *a, uint64_t *free_units);

/* ---- tcache.c ---- */
#define TLS_ENTS 8

/* Which cache this thread uses for which arena (most recent first). */
struct tls_ent {
	struct arena *a;
	uint64_t id;		/* a->id: unique, so it alone names the arena */
	struct tcache *tc;	/* NULL: no cache free, run uncached */
	/* What a block's meta reads, masked with META_FAST, when this cache
	 * handed it out to no owner and it is not cached: the free path's
	 * whole test (NO_ORIGIN without a cache: matches nothing). */
	uint32_t origin;
};

#define META_FAST	(META_OWNER | META_RESV | META_CACHED | META_ORIGIN)
#define NO_ORIGIN	UINT32_MAX

extern _Thread_local struct tls_ent arena_tls[TLS_ENTS];
extern _Thread_local uint64_t arena_my_tid;	/* 0 until it caches */
struct tcache *tc_self_slow(struct arena *a);

static inline struct tcache *tc_self(struct arena *a)
{
	if (arena_tls[0].id == a->id)
		return arena_tls[0].tc;
	return tc_self_slow(a);
}

void tc_bins_init(struct arena *a, struct tcache *tc);

/* The owner thread, before touching its cache; returns "locked".
 * Where membarrier is missing @steal stays raised, so this always locks. */
static inline bool tc_enter(struct tcache *tc)
{
	atomic_store_explicit(&tc->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&tc->steal, memory_order_acquire))
		return false;
	atomic_store_explicit(&tc->busy, 0, memory_order_release);
	spin_lock(&tc->lock);
	return true;
}

static inline void tc_leave(struct tcache *tc, bool locked)
{
	if (locked)
		spin_unlock(&tc->lock);
	else
		atomic_store_explicit(&tc->busy, 0, memory_order_release);
}

/* Larger sizes go to a set of two bins by a multiplicative hash: two
 * probes instead of a walk over every large bin. */
static inline struct tc_bin *tc_large_set(struct tcache *tc, uint32_t n)
{
	/* (One scaled offset from the first large bin.) */
	return (struct tc_bin *)((char *)&tc->bin[TC_LARGE0] +
				 (((n * 0x9e3779b1U) >> (32 - TC_LSET_LOG)) *
				  (2 * sizeof(struct tc_bin))));
}

/* The bin holding blocks of @n units, or NULL. */
static inline struct tc_bin *tc_bin_find(struct tcache *tc, uint32_t n)
{
	struct tc_bin *b;

	if (n <= TC_SMALL)
		return &tc->bin[n];
	b = tc_large_set(tc, n);
	if (b->units == n)
		return b;
	b++;
	return b->units == n ? b : NULL;
}

bool tc_asym_available(void);
void *tc_alloc(struct arena *a, struct tcache *tc, uint32_t n, size_t len,
	       uint32_t owner, unsigned int flags);
void tc_free(struct arena *a, uint32_t u, uint32_t n, uint32_t meta);
/* @all: lock every cache, even those that look empty (waiters' retry). */
void tc_reclaim_all(struct arena *a, bool all);
void tc_detach(struct arena *a, struct tcache *tc);
void tc_registry_add(struct arena *a);
void tc_registry_remove(struct arena *a);
uint64_t tc_thread_id(void);

/* ---- owner.c ---- */
void *owner_alloc(struct arena_owner *o, uint32_t n, size_t len);
void owner_free(struct arena *a, uint32_t u, uint32_t n, uint32_t meta);
void owner_charge(struct arena_owner *o, uint32_t n, size_t len);
void owner_uncharge(struct arena *a, unsigned int id, uint64_t units,
		    uint64_t req);
void owners_init(struct arena *a);

/* ---- arena.c ---- */
bool floor_allows(const struct arena *a, uint64_t n, unsigned int flags);
void arena_wake_waiters(struct arena *a);
void arena_die(const char *what, const void *ptr) __attribute__((noreturn));

#endif
