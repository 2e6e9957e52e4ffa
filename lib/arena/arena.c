// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arena: its region and side table, the allocation and free paths
 * that pick between an owner's reserve, the thread cache and common
 * memory, the floor, waiters, and the accounting.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/arena/internal.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

static atomic_uint_fast64_t next_arena_id;

void arena_die(const char *what, const void *ptr)
{
	fprintf(stderr, "arena: %s (%p)\n", what, ptr);
	abort();
}

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int lock_range(void *p, size_t bytes, unsigned int flags)
{
	if (flags & ARENA_MLOCK)
		return mlock(p, bytes);
	if (flags & ARENA_MLOCK_ONFAULT)
		return mlock2(p, bytes, MLOCK_ONFAULT);
	return 0;
}

static size_t owners_bytes(unsigned int n)
{
	return (size_t)n * sizeof(struct arena_owner);
}

static size_t tcs_bytes(unsigned int n)
{
	return (size_t)(n + 1) * sizeof(struct tcache);
}

struct arena *arena_create(const struct arena_params *p)
{
	unsigned int shift = p->unit_shift ? p->unit_shift : 5;
	uint64_t nunits = p->bytes >> shift;
	struct arena *a;
	uint64_t cap;
	int err = ENOMEM;

	if (shift < 4 || shift > 6 || !nunits || nunits > TAG_LEN ||
	    p->max_owners > ARENA_MAX_OWNERS ||
	    p->max_threads > ARENA_MAX_THREADS) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->shift = shift;
	a->unit_mask = (1U << shift) - 1;
	a->flags = p->flags;
	a->nunits = (uint32_t)nunits;
	a->capacity = nunits << shift;
	a->max_owners = p->max_owners ? p->max_owners : 1024;
	a->max_tcs = p->flags & ARENA_NO_TCACHE ? 0 :
		     p->max_threads ? p->max_threads : 64;
	a->tags_bytes = (size_t)nunits * sizeof(struct tag);
	a->base = map(a->capacity);
	a->tags = map(a->tags_bytes);
	a->owners = map(owners_bytes(a->max_owners));
	a->tcs = map(tcs_bytes(a->max_tcs));
	if (!a->base || !a->tags || !a->owners || !a->tcs)
		goto fail;
	if (lock_range(a->base, a->capacity, a->flags) ||
	    lock_range(a->tags, a->tags_bytes, a->flags)) {
		err = errno;
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	ext_init(a);
	ext_give(a, 0, a->nunits);
	owners_init(a);
	/* A cache holds at most 1/64 of the region (64 KiB .. 4 MiB). */
	cap = p->tcache_bytes ? p->tcache_bytes : a->capacity / 64;
	if (!p->tcache_bytes)
		cap = cap < (64U << 10) ? 64U << 10 : cap > (4U << 20) ? 4U << 20 : cap;
	a->tc_cap = cap >> shift;
	a->tc_max_units = units_of(a, p->tcache_max_block ? p->tcache_max_block :
						    256U << 10);
	a->tc_max_bytes = a->max_tcs ? (size_t)a->tc_max_units << shift : 0;
	a->asym = a->max_tcs && tc_asym_available();
	for (unsigned int i = 0; i <= a->max_tcs; i++) {
		a->tcs[i].id = i;
		tc_bins_init(a, &a->tcs[i]);
	}
	a->id = atomic_fetch_add(&next_arena_id, 1) + 1;
	tc_registry_add(a);
	return a;
fail:
	if (a->base)
		munmap(a->base, a->capacity);
	if (a->tags)
		munmap(a->tags, a->tags_bytes);
	if (a->owners)
		munmap(a->owners, owners_bytes(a->max_owners));
	if (a->tcs)
		munmap(a->tcs, tcs_bytes(a->max_tcs));
	free(a);
	errno = err;
	return NULL;
}

void arena_destroy(struct arena *a)
{
	if (!a)
		return;
	tc_registry_remove(a);
	pthread_mutex_destroy(&a->lock);
	/* The region goes back unpoisoned: whoever maps it next owns it. */
	unpoison(a->base, a->capacity);
	munmap(a->base, a->capacity);
	munmap(a->tags, a->tags_bytes);
	munmap(a->owners, owners_bytes(a->max_owners));
	munmap(a->tcs, tcs_bytes(a->max_tcs));
	free(a);
}

uint64_t arena_capacity(const struct arena *a)
{
	return a->capacity;
}

size_t arena_block_size(const struct arena *a, size_t len)
{
	if (len > a->capacity)
		return 0;	/* never served */
	return (size_t)units_of(a, len ? len : 1) << a->shift;
}

size_t arena_usable_size(const struct arena *a, const void *ptr)
{
	uint32_t u = (uint32_t)(((const char *)ptr - a->base) >> a->shift);

	return (size_t)(tag_len(a, u) & TAG_LEN) << a->shift;
}

/* Arena lock held. */
bool floor_allows(const struct arena *a, uint64_t n, unsigned int flags)
{
	uint64_t f = ld((atomic_uint_fast64_t *)&a->core_free);

	return (flags & ARENA_CONTROL) || f >= a->floor + n;
}

void arena_set_floor(struct arena *a, uint64_t bytes)
{
	pthread_mutex_lock(&a->lock);
	a->floor = bytes >> a->shift;
	pthread_mutex_unlock(&a->lock);
	arena_wake_waiters(a);
}

void arena_set_waker(struct arena *a, arena_wake_fn fn, void *arg)
{
	a->wake = fn;
	a->wake_arg = arg;
}

static void *core_alloc(struct arena *a, uint32_t n, size_t len,
			uint32_t owner, unsigned int flags)
{
	uint32_t u = NIL;

	pthread_mutex_lock(&a->lock);
	if (floor_allows(a, n, flags))
		u = ext_take(a, n, owner | slack_of(a, len));
	if (u != NIL) {
		add(&a->direct_req, len);
		add(&a->direct_used, n);
	}
	pthread_mutex_unlock(&a->lock);
	if (u == NIL)
		return NULL;
	unpoison(unit_ptr(a, u), len);
	return unit_ptr(a, u);
}

/* The slow path: reserves, cache misses, common memory, reclaiming.
 * @careful: a waiter's retry, which must look under every lock rather
 * than trust counters read without one (see arena_alloc_or_wait). */
__attribute__((noinline))
static void *try_alloc(struct arena *a, struct arena_owner *o, size_t len,
		       unsigned int flags, bool careful)
{
	struct tcache *tc = NULL;
	uint32_t n, owner = 0;
	void *p;

	if (!len)
		len = 1;
	if (len > a->capacity)
		return NULL;
	n = units_of(a, len);
	if (o) {
		if ((careful || ld(&o->res_free) >= n) &&
		    (p = owner_alloc(o, n, len)))
			return p;
		owner = o->id;
	}
	if (n <= a->tc_max_units && a->max_tcs)
		tc = tc_self(a);
	p = tc ? tc_alloc(a, tc, n, len, owner, flags) :
		 core_alloc(a, n, len, owner, flags);
	if (!p && a->max_tcs) {
		/* Idle threads' caches may hold what is missing. */
		tc_reclaim_all(a, careful);
		p = core_alloc(a, n, len, owner, flags);
	}
	if (p && o)
		owner_charge(o, n, len);
	return p;
}

/* Everything but a hit in this thread's own bin or an owner's reserve. */
__attribute__((noinline))
static void *alloc_rest(struct arena *a, struct arena_owner *o, size_t len,
			unsigned int flags)
{
	void *p = try_alloc(a, o, len, flags, false);

	if (!p)
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
	return p;
}

/*
 * A hit in this thread's own bin (the fast path of arena_alloc()): no
 * lock, no atomic read-modify-write, no fence, plain stores of @busy
 * around the bin (see tcache.c) and one tag written.  NULL: take the slow
 * path.
 */
static inline void *tc_hit(struct arena *a, struct tcache *tc, uint32_t n,
			   size_t len, uint32_t meta)
{
	struct tc_bin *b = tc_bin_find(tc, n);
	char *p;

	if (!b)
		return NULL;
	atomic_store_explicit(&tc->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&tc->steal, memory_order_acquire) ||
	    !(p = b->head)) {
		atomic_store_explicit(&tc->busy, 0, memory_order_release);
		return NULL;
	}
	b->head = *(void **)p;
	b->left++;
	add(&tc->room, n);
	add(&tc->slack, meta >> META_SLACK_SHIFT);
	tag_set_meta(a, (uint32_t)((uint64_t)(p - a->base) >> a->shift), meta);
	atomic_store_explicit(&tc->busy, 0, memory_order_release);
	unpoison(p, len);
	return p;
}

/* An owner: its reserve first, else a hit in our bin charged to it. */
__attribute__((noinline))
static void *alloc_owner(struct arena *a, struct arena_owner *o, size_t len,
			 unsigned int flags)
{
	const struct tls_ent *e = &arena_tls[0];
	uint32_t n;
	void *p;

	if (len - 1 >= a->capacity)
		return alloc_rest(a, o, len, flags);
	n = (uint32_t)((len + a->unit_mask) >> a->shift);
	if (ld(&o->res_free) >= n && (p = owner_alloc(o, n, len)))
		return p;
	if (len - 1 < a->tc_max_bytes && e->id == a->id && e->tc &&
	    (p = tc_hit(a, e->tc, n, len, e->origin | o->id | slack_of(a, len)))) {
		owner_charge(o, n, len);
		return p;
	}
	return alloc_rest(a, o, len, flags);
}

/*
 * The fast path: no owner, a size the caches keep, this thread's cache
 * at the front of its thread-local list, a block on the bin.  Everything
 * else, and every doubt, goes to the functions above, by a tail call (so
 * this one needs no stack frame).
 */
void *arena_alloc(struct arena *a, struct arena_owner *o, size_t len,
		  unsigned int flags)
{
	const struct tls_ent *e = &arena_tls[0];
	void *p;

	if (o)
		return alloc_owner(a, o, len, flags);
	/* (len 0 wraps and goes the slow way, like sizes not cached.) */
	if (len - 1 >= a->tc_max_bytes || e->id != a->id || !e->tc ||
	    !(p = tc_hit(a, e->tc, (uint32_t)((len + a->unit_mask) >> a->shift),
			 len, e->origin | slack_of(a, len))))
		return alloc_rest(a, NULL, len, flags);
	return p;
}

/*
 * The waiter is registered after the failure and the allocation retried.
 * Every free makes its block available under some lock (a thread cache's,
 * an owner's, the arena's) or with a compare-and-swap on a cache's remote
 * stack, and only then looks at any_waiting.  The retry takes each of
 * those locks and exchanges each remote stack after setting any_waiting.
 * So either the retry comes later in that lock's (or stack's) order and
 * finds the block, or the free comes later and sees any_waiting: a free
 * racing with the failure is never lost, and the free path needs no fence.
 */
void *arena_alloc_or_wait(struct arena *a, struct arena_owner *o, size_t len,
			  unsigned int flags, unsigned int waiter)
{
	void *p = try_alloc(a, o, len, flags, false);

	if (p || waiter >= ARENA_MAX_WAITERS)
		goto out;
	atomic_fetch_or(&a->waiting[waiter / 64], 1ULL << (waiter % 64));
	atomic_store(&a->any_waiting, true);
	p = try_alloc(a, o, len, flags, true);
out:
	if (!p)
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
	return p;
}

void arena_wake_waiters(struct arena *a)
{
	if (!atomic_exchange(&a->any_waiting, false))
		return;
	for (unsigned int i = 0; i < ARENA_MAX_WAITERS / 64; i++) {
		uint64_t w = atomic_exchange(&a->waiting[i], 0);

		while (w) {
			unsigned int b = (unsigned int)__builtin_ctzll(w);

			w &= w - 1;
			if (a->wake)
				a->wake(a->wake_arg, i * 64 + b);
		}
	}
}

/* Everything but a free into our own cache's bin; also the only way a
 * cached block can come in, to die below. */
__attribute__((noinline))
static void free_slow(struct arena *a, uint32_t u, uint32_t n, uint32_t m)
{
	uint64_t req = ((uint64_t)n << a->shift) - meta_slack(m);

	if (m & META_CACHED)
		arena_die("double free, or not the start of a block",
			  unit_ptr(a, u));
	if (m & META_RESV) {
		owner_free(a, u, n, m);
	} else {
		if (meta_owner(m))
			owner_uncharge(a, meta_owner(m), n, req);
		if (meta_origin(m)) {
			tc_free(a, u, n, m);
		} else {
			pthread_mutex_lock(&a->lock);
			add(&a->direct_req, -req);
			add(&a->direct_used, -(uint64_t)n);
			ext_give(a, u, n);
			pthread_mutex_unlock(&a->lock);
		}
	}
	/* No fence: see arena_alloc_or_wait(). */
	if (atomic_load_explicit(&a->any_waiting, memory_order_relaxed))
		arena_wake_waiters(a);
}

/* A block of an owner's reserve (the owner's lock, its bins). */
__attribute__((noinline))
static void free_resv(struct arena *a, uint32_t u, uint32_t n, uint32_t m)
{
	if (m & META_CACHED)
		arena_die("double free, or not the start of a block",
			  unit_ptr(a, u));
	owner_free(a, u, n, m);
	if (atomic_load_explicit(&a->any_waiting, memory_order_relaxed))
		arena_wake_waiters(a);
}

__attribute__((noinline, noreturn))
static void free_bad(const void *ptr)
{
	arena_die("free of a pointer not from this arena, a double free, or not the start of a block",
		  ptr);
}

/*
 * The fast path: a block this thread's cache handed out to no owner (one
 * masked comparison of its tag says so, and that it is not cached), and
 * room on its bin and in the cache.  As in arena_alloc(), no lock, no
 * atomic read-modify-write, no fence.
 */
void arena_free(struct arena *a, void *ptr)
{
	const struct tls_ent *e = &arena_tls[0];
	uint64_t off = (uint64_t)((uintptr_t)ptr - (uintptr_t)a->base);
	struct tcache *tc;
	struct tc_bin *b;
	uint64_t room;
	uint32_t u, t, m;

	/* (A pointer below the region wraps to a large offset.) */
	if (off >= a->capacity || (off & a->unit_mask)) {
		if (!ptr)
			return;
		free_bad(ptr);
	}
	u = (uint32_t)(off >> a->shift);
	t = tag_len(a, u);
	m = tag_meta(a, u);
	/* A length of 0 or a free extent's tag: not a live block's start.
	 * (The end tag is not compared: another cache miss per free.
	 * arena_check() does.) */
	if (t - 1 >= TAG_LEN)
		free_bad(ptr);
	if ((m & META_FAST) != e->origin || e->id != a->id) {
		if (m & META_RESV)
			return free_resv(a, u, t, m);
		return free_slow(a, u, t, m);
	}
	tc = e->tc;
	b = tc_bin_find(tc, t);
	if (!b)
		return free_slow(a, u, t, m);
	atomic_store_explicit(&tc->busy, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&tc->steal, memory_order_acquire) ||
	    !b->left || (room = ld(&tc->room)) < t) {
		atomic_store_explicit(&tc->busy, 0, memory_order_release);
		return free_slow(a, u, t, m);
	}
	poison(ptr, (size_t)t << a->shift);
	unpoison(ptr, sizeof(void *));
	*(void **)ptr = b->head;
	b->head = ptr;
	b->left--;
	atomic_store_explicit(&tc->room, room - t, memory_order_relaxed);
	add(&tc->slack, -(uint64_t)(m >> META_SLACK_SHIFT));
	tag_set_meta(a, u, e->origin | META_CACHED);
	atomic_store_explicit(&tc->busy, 0, memory_order_release);
	/* No fence: see arena_alloc_or_wait(). */
	if (atomic_load_explicit(&a->any_waiting, memory_order_relaxed))
		arena_wake_waiters(a);
}

void arena_stats(struct arena *a, struct arena_stats *st)
{
	uint64_t req, cached = 0, reserved = 0, slack = 0, other;
	unsigned int threads = 0;

	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&a->lock);
	st->free = ld(&a->core_free) << a->shift;
	st->largest_free = (uint64_t)ext_largest(a) << a->shift;
	pthread_mutex_unlock(&a->lock);
	req = ld(&a->direct_req);
	other = ld(&a->direct_used);
	for (unsigned int i = 1; i <= a->max_tcs; i++) {
		struct tcache *tc = &a->tcs[i];
		uint64_t remote = ld(&tc->remote_units), drained = ld(&tc->drained);

		slack += ld(&tc->slack) - ld(&tc->remote_slack);
		cached += a->tc_cap - ld(&tc->room) +
			  (remote > drained ? remote - drained : 0);
		threads += ld(&tc->tid) != 0;
	}
	for (unsigned int i = 0; i < a->max_owners; i++) {
		struct arena_owner *o = &a->owners[i];

		req += ld(&o->res_req);
		other += ld(&o->res_used);
		reserved += ld(&o->res_free);
	}
	st->capacity = a->capacity;
	st->reserved = reserved << a->shift;
	st->cached = cached << a->shift;
	/* Used is what is in no other state; arena_check() compares it with
	 * the blocks it walks. */
	st->used = st->free + st->reserved + st->cached > st->capacity ? 0 :
		   st->capacity - st->free - st->reserved - st->cached;
	/* The blocks the caches handed out are the used ones neither direct
	 * nor in a reserve; what was asked for in them is their size less
	 * their slack (the caches count slack: cheaper on the fast paths).
	 * Exact when no call is in flight; during calls, kept in range. */
	other <<= a->shift;
	if (other <= st->used && slack <= st->used - other)
		req += st->used - other - slack;
	st->requested = req > st->used ? st->used : req;
	st->floor = a->floor << a->shift;
	st->metadata = a->tags_bytes + owners_bytes(a->max_owners) +
		       tcs_bytes(a->max_tcs);
	st->owners = atomic_load(&a->nowners);
	st->threads = threads;
	st->failures = ld(&a->failures);
}

void arena_stats_format(const struct arena_stats *st, char *buf, size_t len)
{
	snprintf(buf, len,
		 "capacity=%" PRIu64 " used=%" PRIu64 " requested=%" PRIu64
		 " reserved=%" PRIu64 " cached=%" PRIu64 " free=%" PRIu64
		 " largest_free=%" PRIu64 " internal_waste=%" PRIu64
		 " external_frag=%" PRIu64 " owners=%u threads=%u failures=%" PRIu64,
		 st->capacity, st->used, st->requested, st->reserved, st->cached,
		 st->free, st->largest_free, st->used - st->requested,
		 st->free - st->largest_free, st->owners, st->threads,
		 st->failures);
}
