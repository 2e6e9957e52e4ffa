// SPDX-License-Identifier: GPL-2.0-only
/*
 * Owners and their reserves.  A reserve is a contiguous slice of the region
 * carved when the owner is created: it belongs to the owner alone, so its
 * guarantee survives whatever the others do to common memory, fragmentation
 * included (a byte count alone would not: a reserved 128 KiB is no use if
 * the free bytes are scattered in 4 KiB holes).  Inside a slice the owner
 * allocates and frees under its own lock, best fit over a short list,
 * merging neighbours within the slice only.  Blocks an owner takes from
 * common memory are only charged to it.
 *
 * A freed reserve block of a size the owner keeps using (a connection's
 * 4 KiB slots and payloads) waits unmerged on a small bin for the next
 * allocation of that size: no neighbours to look at, one tag to write.
 * Bins are merged back whenever a search of the free list fails, so the
 * guarantee stands: an owner holding nothing finds its whole slice.
 *
 * An owner destroyed with blocks still out lingers, unnamed, until the last
 * one comes back; its slot is then reused.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena/internal.h"

/* Candidates looked at before taking the best so far. */
#define FIT_SCAN 16

void owners_init(struct arena *a)
{
	for (unsigned int i = 0; i < a->max_owners; i++) {
		a->owners[i].a = a;
		a->owners[i].id = i + 1;
		a->owners[i].next_slot = i + 1 < a->max_owners ? i + 1 : NIL;
	}
	a->free_slot = a->max_owners ? 0 : NIL;
}

static void res_insert(struct arena_owner *o, uint32_t u, uint32_t n)
{
	struct arena *a = o->a;
	struct link *l = link_of(a, u);

	l->prev = NIL;
	l->next = o->head;
	if (o->head != NIL)
		link_of(a, o->head)->prev = u;
	o->head = u;
	block_set(a, u, n, n | TAG_FREE, o->id);
}

static void res_remove(struct arena_owner *o, uint32_t u)
{
	struct arena *a = o->a;
	struct link *l = link_of(a, u);

	if (l->prev != NIL)
		link_of(a, l->prev)->next = l->next;
	else
		o->head = l->next;
	if (l->next != NIL)
		link_of(a, l->next)->prev = l->prev;
	poison(l, sizeof(*l));
}

static void res_merge(struct arena_owner *o, uint32_t u, uint32_t n);
static void bins_merge(struct arena_owner *o);

/* Arena lock held; the owner's too unless nobody else can see it yet. */
static void slice_add(struct arena_owner *o, uint32_t u, uint32_t n)
{
	o->slice[o->nslices].start = u;
	o->slice[o->nslices].n = n;
	o->nslices++;
	o->reserve += n;
	add(&o->res_free, n);
	res_insert(o, u, n);
}

struct arena_owner *arena_owner_create(struct arena *a, uint64_t reserve,
				       const char *name)
{
	struct arena_owner *o;
	uint32_t n = 0, u = NIL;

	if (reserve > a->capacity) {
		errno = ENOMEM;
		return NULL;
	}
	if (reserve)
		n = units_of(a, (size_t)reserve);
	pthread_mutex_lock(&a->lock);
	if (a->free_slot == NIL) {
		pthread_mutex_unlock(&a->lock);
		errno = EAGAIN;
		return NULL;
	}
	if (n && (u = ext_take(a, n, 0)) == NIL) {
		pthread_mutex_unlock(&a->lock);
		errno = ENOMEM;
		return NULL;
	}
	o = &a->owners[a->free_slot];
	a->free_slot = o->next_slot;
	o->lock.v = 0;
	o->live = true;
	atomic_store(&o->dying, false);
	atomic_store(&o->recycled, false);
	o->head = NIL;
	memset(o->bin, 0, sizeof(o->bin));
	o->nslices = 0;
	o->reserve = 0;
	atomic_store(&o->res_free, 0);
	atomic_store(&o->res_used, 0);
	atomic_store(&o->res_req, 0);
	atomic_store(&o->com_used, 0);
	atomic_store(&o->com_req, 0);
	snprintf(o->name, sizeof(o->name), "%s", name ? name : "");
	if (n)
		slice_add(o, u, n);
	pthread_mutex_unlock(&a->lock);
	atomic_fetch_add(&a->nowners, 1);
	return o;
}

int arena_owner_grow(struct arena_owner *o, uint64_t more)
{
	struct arena *a = o->a;
	uint32_t n, u;

	if (!more)
		return 0;
	if (more > a->capacity || o->nslices == MAX_SLICES) {
		errno = more > a->capacity ? ENOMEM : ENOSPC;
		return -1;
	}
	n = units_of(a, (size_t)more);
	pthread_mutex_lock(&a->lock);
	u = ext_take(a, n, 0);
	if (u == NIL) {
		pthread_mutex_unlock(&a->lock);
		errno = ENOMEM;
		return -1;
	}
	spin_lock(&o->lock);
	slice_add(o, u, n);
	spin_unlock(&o->lock);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/*
 * Arena lock held.  A destroyed owner's slot is reused once none of its
 * blocks is out.  Reserve blocks of a destroyed owner are freed under the
 * arena lock; common ones are uncharged with a sequentially consistent
 * decrement followed by a look at "dying", against destroy's store of
 * "dying" followed by this look at the counters: one of the two sees the
 * other, and the token keeps it from happening twice.
 */
static void maybe_recycle(struct arena_owner *o)
{
	struct arena *a = o->a;

	if (!atomic_load(&o->dying) || ld(&o->res_used) ||
	    atomic_load(&o->com_used) || atomic_exchange(&o->recycled, true))
		return;
	o->live = false;
	atomic_store(&o->dying, false);
	o->next_slot = a->free_slot;
	a->free_slot = o->id - 1;
}

void arena_owner_destroy(struct arena_owner *o)
{
	struct arena *a = o->a;

	pthread_mutex_lock(&a->lock);
	spin_lock(&o->lock);
	bins_merge(o);
	/* Each free extent of the reserve becomes common and merges with
	 * whatever common neighbours it has; extents still tagged with the
	 * owner merge when their own turn comes. */
	for (uint32_t u = o->head, next; u != NIL; u = next) {
		next = link_of(a, u)->next;
		ext_give(a, u, tag_len(a, u) & TAG_LEN);
	}
	o->head = NIL;
	o->nslices = 0;
	o->reserve = 0;
	atomic_store(&o->res_free, 0);
	o->name[0] = 0;
	o->live = false;
	atomic_store(&o->dying, true);
	spin_unlock(&o->lock);
	maybe_recycle(o);
	pthread_mutex_unlock(&a->lock);
	atomic_fetch_sub(&a->nowners, 1);
	arena_wake_waiters(a);
}

/* Owner lock held: a block of exactly @n units from a bin, or NULL. */
static char *bin_pop(struct arena_owner *o, uint32_t n)
{
	for (unsigned int i = 0; i < OWNER_BINS; i++) {
		struct owner_bin *b = &o->bin[i];
		char *p = b->head;

		if (b->units == n && p) {
			b->head = *(void **)p;
			b->count--;
			return p;
		}
	}
	return NULL;
}

/* Owner lock held: every binned block merged into the free list. */
static void bins_merge(struct arena_owner *o)
{
	for (unsigned int i = 0; i < OWNER_BINS; i++) {
		struct owner_bin *b = &o->bin[i];

		while (b->head) {
			char *p = b->head;

			b->head = *(void **)p;
			res_merge(o, (uint32_t)((p - o->a->base) >> o->a->shift),
				  b->units);
		}
		b->count = 0;
	}
}

void *owner_alloc(struct arena_owner *o, uint32_t n, size_t len)
{
	struct arena *a = o->a;
	uint32_t best = NIL, have = 0;
	unsigned int seen = 0;
	bool merged = false;
	char *p;

	spin_lock(&o->lock);
	p = bin_pop(o, n);
	if (p) {
		tag_set_meta(a, (uint32_t)((p - a->base) >> a->shift),
			     o->id | META_RESV | slack_of(a, len));
		goto got;
	}
again:
	for (uint32_t u = o->head; u != NIL; u = link_of(a, u)->next) {
		uint32_t m = tag_len(a, u) & TAG_LEN;

		if (m < n || (best != NIL && m >= have))
			continue;
		best = u;
		have = m;
		if (m == n || ++seen == FIT_SCAN)
			break;
	}
	if (best == NIL && !merged) {
		merged = true;
		bins_merge(o);
		goto again;
	}
	if (best == NIL) {
		spin_unlock(&o->lock);
		return NULL;
	}
	res_remove(o, best);
	if (have > n)
		res_insert(o, best + n, have - n);
	block_set(a, best, n, n, o->id | META_RESV | slack_of(a, len));
	p = unit_ptr(a, best);
got:
	add(&o->res_free, -(uint64_t)n);
	add(&o->res_used, n);
	add(&o->res_req, len);
	spin_unlock(&o->lock);
	unpoison(p, len);
	return p;
}

static const struct slice *slice_of(const struct arena_owner *o, uint32_t u)
{
	for (unsigned int i = 0; i < o->nslices; i++)
		if (u >= o->slice[i].start &&
		    u < o->slice[i].start + o->slice[i].n)
			return &o->slice[i];
	return NULL;
}

/* Owner lock held: @n units at @u back on the free list, merged with
 * free neighbours inside their slice. */
static void res_merge(struct arena_owner *o, uint32_t u, uint32_t n)
{
	struct arena *a = o->a;
	const struct slice *s = slice_of(o, u);

	if (!s)
		arena_die("reserve block outside its owner's slices", unit_ptr(a, u));
	if (u > s->start) {
		uint32_t t = tag_len(a, u - 1);

		if (t & TAG_FREE) {
			uint32_t ln = t & TAG_LEN;

			res_remove(o, u - ln);
			u -= ln;
			n += ln;
		}
	}
	if (u + n < s->start + s->n) {
		uint32_t t = tag_len(a, u + n);

		if (t & TAG_FREE) {
			res_remove(o, u + n);
			n += t & TAG_LEN;
		}
	}
	res_insert(o, u, n);
}

/* Owner lock held: on a bin of its size if one has room (or is free to
 * take that size). */
static bool bin_push(struct arena_owner *o, uint32_t u, uint32_t n)
{
	struct owner_bin *spare = NULL;
	char *p = unit_ptr(o->a, u);

	for (unsigned int i = 0; i < OWNER_BINS; i++) {
		struct owner_bin *b = &o->bin[i];

		if (b->units == n && b->count < OWNER_BIN_MAX) {
			spare = b;
			break;
		}
		if (!b->head && !spare)
			spare = b;
	}
	if (!spare)
		return false;
	spare->units = n;
	unpoison(p, sizeof(void *));
	*(void **)p = spare->head;
	spare->head = p;
	spare->count++;
	tag_set_meta(o->a, u, o->id | META_RESV | META_CACHED);
	return true;
}

void owner_free(struct arena *a, uint32_t u, uint32_t n, uint32_t meta)
{
	struct arena_owner *o = &a->owners[meta_owner(meta) - 1];
	uint64_t req = ((uint64_t)n << a->shift) - meta_slack(meta);

	spin_lock(&o->lock);
	if (atomic_load_explicit(&o->dying, memory_order_relaxed)) {
		/* The reserve is gone: the block joins common memory. */
		spin_unlock(&o->lock);
		pthread_mutex_lock(&a->lock);
		add(&o->res_used, -(uint64_t)n);
		add(&o->res_req, -req);
		ext_give(a, u, n);
		maybe_recycle(o);
		pthread_mutex_unlock(&a->lock);
		return;
	}
	poison(unit_ptr(a, u), (size_t)n << a->shift);
	if (!bin_push(o, u, n))
		res_merge(o, u, n);
	add(&o->res_free, n);
	add(&o->res_used, -(uint64_t)n);
	add(&o->res_req, -req);
	spin_unlock(&o->lock);
}

void owner_charge(struct arena_owner *o, uint32_t n, size_t len)
{
	atomic_fetch_add_explicit(&o->com_used, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&o->com_req, len, memory_order_relaxed);
}

void owner_uncharge(struct arena *a, unsigned int id, uint64_t units,
		    uint64_t req)
{
	struct arena_owner *o = &a->owners[id - 1];

	atomic_fetch_sub_explicit(&o->com_req, req, memory_order_relaxed);
	atomic_fetch_sub(&o->com_used, units);
	if (atomic_load(&o->dying)) {
		pthread_mutex_lock(&a->lock);
		maybe_recycle(o);
		pthread_mutex_unlock(&a->lock);
	}
}

void arena_owner_stats(const struct arena_owner *o,
		       struct arena_owner_stats *st)
{
	struct arena_owner *w = (struct arena_owner *)o;
	unsigned int shift = o->a->shift;

	st->reserve = o->reserve << shift;
	st->reserve_free = ld(&w->res_free) << shift;
	st->used = (ld(&w->res_used) + ld(&w->com_used)) << shift;
	st->requested = ld(&w->res_req) + ld(&w->com_req);
}
