// SPDX-License-Identifier: GPL-2.0-only
/* Arena reservations, the floor, waiting and groups: an owner with a
 * reserve still allocates when common memory is gone (even when it is
 * fragmented to dust), admission fails cleanly when no slice is free, the
 * floor keeps payloads out of the control memory, a waiter is woken by
 * the free that returns memory, and a group returns all its buffers. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena/arena.h"
#include "tests/unit/check.h"

#define MIB (1U << 20)
#define KIB (1U << 10)

static struct arena *make(uint64_t bytes)
{
	struct arena_params p = { .bytes = bytes, .max_owners = 64 };

	return arena_create(&p);
}

static void drained(struct arena *a)
{
	struct arena_stats st;

	arena_flush_caches(a);
	arena_stats(a, &st);
	CHECK(st.used == 0 && st.reserved == 0 && st.cached == 0);
	CHECK(st.free == st.capacity && st.largest_free == st.capacity);
	CHECK(arena_check(a) == 0);
}

/* Common memory cut into 4 KiB holes: the reserve still serves 128 KiB. */
static void test_reserve_beats_fragmentation(void)
{
	struct arena *a = make(4 * MIB);
	struct arena_owner *swap = arena_owner_create(a, 132 * KIB, "swap");
	static void *blk[1024];
	unsigned int n = 0;
	struct arena_owner_stats os;
	struct arena_stats st;
	void *p, *q;

	CHECK(swap);
	while (n < 1024 && (blk[n] = arena_alloc(a, NULL, 4 * KIB, 0)))
		n++;
	CHECK(arena_alloc(a, NULL, 32, 0) == NULL);	/* all gone */
	for (unsigned int i = 0; i < n; i += 2) {	/* free every other */
		arena_free(a, blk[i]);
		blk[i] = NULL;
	}
	arena_flush_caches(a);
	arena_stats(a, &st);
	CHECK(st.free >= MIB);
	CHECK(st.largest_free == 4 * KIB);
	CHECK(arena_alloc(a, NULL, 128 * KIB, 0) == NULL);	/* fragmented */
	p = arena_alloc(a, swap, 128 * KIB, 0);	/* the reserve is whole */
	q = arena_alloc(a, swap, 4 * KIB, 0);
	CHECK(p && q);
	arena_owner_stats(swap, &os);
	CHECK(os.reserve == 132 * KIB);
	CHECK(os.reserve_free == 0);
	CHECK(os.used == 132 * KIB && os.requested == 132 * KIB);
	arena_free(a, p);
	arena_free(a, q);
	arena_owner_stats(swap, &os);
	CHECK(os.reserve_free == 132 * KIB && os.used == 0);
	/* Admission: no contiguous 132 KiB left for a second owner. */
	errno = 0;
	CHECK(arena_owner_create(a, 132 * KIB, "late") == NULL && errno == ENOMEM);
	CHECK(arena_owner_create(a, 4 * KIB, "small") != NULL);
	for (unsigned int i = 0; i < n; i++)
		arena_free(a, blk[i]);
	arena_owner_destroy(swap);
	arena_destroy(a);
}

/* Freed blocks wait on the owner's bins unmerged; an allocation that
 * needs the whole slice merges them first. */
static void test_owner_bins(void)
{
	struct arena *a = make(MIB);
	struct arena_owner *o = arena_owner_create(a, 64 * KIB, "bins");
	struct arena_owner_stats os;
	void *p[16], *all;

	for (int i = 0; i < 16; i++)
		CHECK((p[i] = arena_alloc(a, o, 4 * KIB, 0)) != NULL);
	for (int i = 0; i < 16; i += 2)
		arena_free(a, p[i]);
	CHECK(arena_check(a) == 0);
	for (int i = 0; i < 16; i += 2)	/* the same blocks come back */
		CHECK((p[i] = arena_alloc(a, o, 4 * KIB, 0)) != NULL);
	arena_owner_stats(o, &os);
	CHECK(os.reserve_free == 0 && os.used == 64 * KIB);
	for (int i = 0; i < 16; i++)
		arena_free(a, p[i]);
	arena_owner_stats(o, &os);
	CHECK(os.reserve_free == 64 * KIB && os.used == 0);
	CHECK(arena_check(a) == 0);
	/* Common memory gone, so only the merged slice can serve this. */
	all = arena_alloc(a, NULL, MIB - 64 * KIB, 0);
	CHECK(all);
	p[0] = arena_alloc(a, o, 64 * KIB, 0);
	CHECK(p[0]);
	arena_free(a, p[0]);
	arena_free(a, all);
	arena_owner_destroy(o);
	drained(a);
	arena_destroy(a);
}

/* Exhaustion: the common memory is gone, only owners with reserve left
 * succeed; an owner's allocations beyond its reserve are charged to it. */
static void test_exhaustion(void)
{
	struct arena *a = make(2 * MIB);
	struct arena_owner *g = arena_owner_create(a, 64 * KIB, "greedy");
	struct arena_owner *s = arena_owner_create(a, 64 * KIB, "swap");
	struct arena_owner_stats os;
	void *blk[64], *x, *y;
	unsigned int n = 0;

	while (n < 64 && (blk[n] = arena_alloc(a, g, 64 * KIB, 0)))
		n++;
	CHECK(n == (2 * MIB - 64 * KIB) / (64 * KIB));	/* its reserve + common */
	arena_owner_stats(g, &os);
	CHECK(os.used == n * 64ULL * KIB && os.reserve_free == 0);
	CHECK(arena_alloc(a, g, 4 * KIB, 0) == NULL);
	CHECK(arena_alloc(a, NULL, 4 * KIB, 0) == NULL);
	x = arena_alloc(a, s, 4 * KIB, 0);
	y = arena_alloc(a, s, 60 * KIB, 0);
	CHECK(x && y);
	CHECK(arena_alloc(a, s, 32, 0) == NULL);	/* reserve used up */
	arena_free(a, x);
	CHECK((x = arena_alloc(a, s, 4 * KIB, 0)) != NULL);
	arena_free(a, x);
	arena_free(a, y);
	for (unsigned int i = 0; i < n; i++)
		arena_free(a, blk[i]);
	arena_owner_destroy(g);
	arena_owner_destroy(s);
	drained(a);
	arena_destroy(a);
}

/* Owners come back: a destroyed owner's reserve is free at once, blocks
 * it left out come back later, and its slot is reused only then. */
static void test_owner_lifecycle(void)
{
	struct arena_params p = { .bytes = MIB, .max_owners = 2 };
	struct arena *a = arena_create(&p);
	struct arena_owner *o1 = arena_owner_create(a, 256 * KIB, "a");
	struct arena_owner *o2 = arena_owner_create(a, 0, "b");
	struct arena_stats st;
	void *in_res, *in_common;

	CHECK(o1 && o2);
	errno = 0;
	CHECK(arena_owner_create(a, 0, "c") == NULL && errno == EAGAIN);
	in_res = arena_alloc(a, o1, 1000, 0);
	in_common = arena_alloc(a, o1, 300 * KIB, 0);	/* beyond its reserve */
	CHECK(in_res && in_common);
	arena_owner_destroy(o1);
	arena_stats(a, &st);
	CHECK(st.reserved == 0);
	CHECK(st.owners == 1);
	CHECK(arena_check(a) == 0);
	errno = 0;
	CHECK(arena_owner_create(a, 0, "c") == NULL && errno == EAGAIN);
	arena_free(a, in_res);
	CHECK(arena_check(a) == 0);
	arena_free(a, in_common);
	o1 = arena_owner_create(a, 512 * KIB, "c");	/* slot reused */
	CHECK(o1);
	CHECK(arena_check(a) == 0);
	CHECK(arena_owner_grow(o1, 128 * KIB) == 0);
	/* Two slices, 512 + 128 KiB, 384 KiB common: 600 KiB fits nowhere,
	 * 500 and 128 KiB fit one slice each. */
	CHECK(arena_alloc(a, o1, 600 * KIB, 0) == NULL);
	in_res = arena_alloc(a, o1, 500 * KIB, 0);
	in_common = arena_alloc(a, o1, 128 * KIB, 0);
	CHECK(in_res && in_common);
	arena_stats(a, &st);
	CHECK(st.reserved == 12 * KIB);
	arena_free(a, in_res);
	arena_free(a, in_common);
	arena_owner_destroy(o1);
	arena_owner_destroy(o2);
	drained(a);
	arena_destroy(a);
}

/* The floor: payloads stop short of it, control blocks and reserves go
 * into it. */
static void test_floor(void)
{
	struct arena *a = make(MIB);
	void *big, *ctl;
	struct arena_owner *o;

	arena_set_floor(a, 256 * KIB);
	CHECK(arena_alloc(a, NULL, 800 * KIB, 0) == NULL);
	big = arena_alloc(a, NULL, 768 * KIB, 0);
	CHECK(big);
	CHECK(arena_alloc(a, NULL, 4 * KIB, 0) == NULL);
	ctl = arena_alloc(a, NULL, 16 * KIB, ARENA_CONTROL);
	CHECK(ctl);
	o = arena_owner_create(a, 64 * KIB, "admitted");
	CHECK(o);
	arena_owner_destroy(o);
	arena_free(a, ctl);
	arena_free(a, big);
	drained(a);
	arena_destroy(a);
}

static unsigned int woken[ARENA_MAX_WAITERS];

static void waker(void *arg, unsigned int waiter)
{
	CHECK(arg == (void *)woken);
	woken[waiter]++;
}

/* A failure registers the waiter; the free that returns memory wakes it,
 * once; a later free wakes nobody. */
static void test_waiting(void)
{
	struct arena *a = make(MIB);
	void *all, *p;

	arena_set_waker(a, waker, woken);
	all = arena_alloc(a, NULL, MIB, 0);
	CHECK(all);
	CHECK(arena_alloc_or_wait(a, NULL, 4 * KIB, 0, 7) == NULL);
	CHECK(arena_alloc_or_wait(a, NULL, 4 * KIB, 0, 200) == NULL);
	CHECK(woken[7] == 0 && woken[200] == 0);
	arena_free(a, all);
	CHECK(woken[7] == 1 && woken[200] == 1);
	p = arena_alloc_or_wait(a, NULL, 4 * KIB, 0, 7);
	CHECK(p);
	arena_free(a, p);
	CHECK(woken[7] == 1);
	drained(a);
	arena_destroy(a);
}

/* A group: a request's header, payload and reply in one chunk when the
 * hint fits them, chunks of their own beyond; all back at release. */
static void test_group(void)
{
	struct arena *a = make(4 * MIB);
	struct arena_owner *o = arena_owner_create(a, 256 * KIB, "conn");
	struct arena_owner_stats os;
	struct arena_group g;
	char *h, *pl, *r, *big;

	arena_group_init(&g, a, o, 28 + 4096 + 32 + 64, 0);
	h = arena_group_alloc(&g, 28);
	pl = arena_group_alloc(&g, 4096);
	r = arena_group_alloc(&g, 32);
	CHECK(h && pl && r);
	CHECK(pl >= h + 28 && r >= pl + 4096);
	CHECK(r + 32 <= h + 28 + 4096 + 32 + 64);	/* one chunk */
	memset(h, 1, 28);
	memset(pl, 2, 4096);
	memset(r, 3, 32);
	CHECK(h[27] == 1 && pl[0] == 2 && pl[4095] == 2 && r[0] == 3);
	big = arena_group_alloc(&g, 200 * KIB);
	CHECK(big);
	memset(big, 4, 200 * KIB);
	CHECK(g.requested == 28 + 4096 + 32 + 200 * KIB);
	arena_owner_stats(o, &os);
	CHECK(os.used >= 200 * KIB + 4096);
	arena_group_release(&g);
	arena_owner_stats(o, &os);
	CHECK(os.used == 0 && os.reserve_free == 256 * KIB);
	arena_owner_destroy(o);
	drained(a);
	arena_destroy(a);
}

/* Sizes no region holds are refused on every path, never wrapped. */
static void test_huge(void)
{
	struct arena *a = make(MIB);
	struct arena_owner *o = arena_owner_create(a, 64 * KIB, "huge");
	struct arena_group g;

	CHECK(arena_alloc(a, NULL, SIZE_MAX, 0) == NULL);
	CHECK(arena_alloc(a, o, SIZE_MAX, 0) == NULL);
	CHECK(arena_alloc(a, o, (size_t)1 << 40, 0) == NULL);
	CHECK(arena_alloc(a, NULL, ((size_t)1 << 37) + 32, 0) == NULL);
	CHECK(arena_alloc_or_wait(a, o, SIZE_MAX - 7, 0, 1) == NULL);
	CHECK(arena_block_size(a, SIZE_MAX) == 0);
	arena_group_init(&g, a, o, 0, 0);
	CHECK(arena_group_alloc(&g, SIZE_MAX - 20) == NULL);
	CHECK(arena_group_alloc(&g, (size_t)1 << 36) == NULL);
	arena_group_release(&g);
	arena_owner_destroy(o);
	drained(a);
	arena_destroy(a);
}

int main(void)
{
	test_huge();
	test_reserve_beats_fragmentation();
	test_owner_bins();
	test_exhaustion();
	test_owner_lifecycle();
	test_floor();
	test_waiting();
	test_group();
	if (fails) {
		fprintf(stderr, "%d checks failed\n", fails);
		return 1;
	}
	printf("arena reservations: all checks passed\n");
	return 0;
}
