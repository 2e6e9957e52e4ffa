// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the arena: the input is a program of allocations,
 * frees, owners, groups, floors and waits over a small region.  A model
 * of every live block checks that no two overlap, that contents survive,
 * that a block is never smaller than asked, that an owner's reserve
 * serves it whenever it has room, and arena_check() audits the whole
 * region every few operations and at the end, when everything must be
 * back as one free extent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena/arena.h"

#define NSLOT 64
#define NOWNER 4

struct blk {
	unsigned char *p;
	size_t len;
	unsigned char fill;
};

struct input {
	const uint8_t *d;
	size_t n;
};

static unsigned int byte(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->d++;
}

/* Sizes from 1 byte to 256 KiB, skewed small like network buffers. */
static size_t size_arg(struct input *in)
{
	unsigned int k = byte(in);
	size_t v = byte(in) | (size_t)byte(in) << 8;

	if (k == 255)
		return SIZE_MAX - v;	/* never served, never wrapped */
	switch (k % 4) {
	case 0:
		return 1 + v % 256;
	case 1:
		return 1 + v % 16384;
	case 2:
		return 1 + v * 4 % (1U << 18);
	default: {
		static const size_t common[] = { 19, 37, 79, 28, 32, 1820,
						 9320, 4096, 16384, 131072 };
		return common[v % 10];
	}
	}
}

static void die(const char *why)
{
	fprintf(stderr, "fuzz-arena: %s\n", why);
	abort();
}

static void check_new(struct blk *s, unsigned int i, struct arena *a)
{
	uintptr_t lo = (uintptr_t)s[i].p, hi = lo + s[i].len;

	if (arena_usable_size(a, s[i].p) < s[i].len)
		die("block smaller than asked");
	for (unsigned int j = 0; j < NSLOT; j++) {
		uintptr_t l2 = (uintptr_t)s[j].p, h2 = l2 + s[j].len;

		if (j != i && s[j].p && lo < h2 && l2 < hi)
			die("blocks overlap");
	}
	s[i].fill = (unsigned char)(i * 37 + 11);
	memset(s[i].p, s[i].fill, s[i].len);
}

static void check_free(struct arena *a, struct blk *b)
{
	/* Sampled (overlaps are caught exactly at allocation). */
	for (size_t k = 0; k < b->len; k += 1 + k / 8)
		if (b->p[k] != b->fill)
			die("contents changed");
	if (b->p[b->len - 1] != b->fill)
		die("contents changed");
	arena_free(a, b->p);
	b->p = NULL;
}

static void nop_wake(void *arg, unsigned int waiter)
{
	unsigned int *woken = arg;

	if (waiter >= ARENA_MAX_WAITERS)
		die("waker got a bad id");
	woken[waiter]++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	unsigned int cfg = byte(&in);
	struct arena_params p = {
		.bytes = (64U << 10) << (cfg & 3),
		.unit_shift = cfg & 4 ? 6 : 5,
		.flags = cfg & 8 ? ARENA_NO_TCACHE : 0,
		.max_owners = NOWNER,
		.tcache_bytes = cfg & 16 ? 4096 : 0,
	};
	static unsigned int woken[ARENA_MAX_WAITERS];
	struct blk s[NSLOT] = { 0 };
	struct arena_owner *own[NOWNER] = { 0 };
	bool grown[NOWNER] = { false };	/* several slices: no single promise */
	struct arena_group g[2];
	bool g_live[2] = { false, false };
	struct arena_stats st;
	struct arena *a = arena_create(&p);
	unsigned int ops = 0;

	if (!a)
		die("arena_create failed");
	arena_set_waker(a, nop_wake, woken);
	while (in.n) {
		unsigned int op = byte(&in), i = byte(&in) % NSLOT;
		unsigned int k = i % NOWNER;

		switch (op % 10) {
		case 0: case 1: case 2: {	/* allocate */
			struct arena_owner_stats os;
			size_t len = size_arg(&in);
			bool res_room = false;

			if (s[i].p)
				check_free(a, &s[i]);
			if (own[k]) {
				arena_owner_stats(own[k], &os);
				/* Reserve with one free block of the size left. */
				res_room = os.reserve && os.used == 0 && !grown[k] &&
					   arena_block_size(a, len) &&
					   arena_block_size(a, len) <= os.reserve;
			}
			s[i].len = len;
			s[i].p = op % 10 == 2 ?
				 arena_alloc_or_wait(a, own[k], len, 0, op) :
				 arena_alloc(a, own[k], len,
					     op & 16 ? ARENA_CONTROL : 0);
			if (res_room && !s[i].p)
				die("an owner with an empty reserve was refused");
			if (s[i].p)
				check_new(s, i, a);
			break;
		}
		case 3: case 4:			/* free */
			if (s[i].p)
				check_free(a, &s[i]);
			break;
		case 5:				/* owner comes or goes */
			if (own[k]) {
				arena_owner_destroy(own[k]);
				own[k] = NULL;
			} else {
				own[k] = arena_owner_create(a, op & 16 ? 0 : size_arg(&in),
							    "fuzz");
				grown[k] = false;
			}
			break;
		case 6:				/* owner grows */
			if (own[k] && !arena_owner_grow(own[k], size_arg(&in)))
				grown[k] = true;
			break;
		case 7: {			/* groups */
			struct arena_group *gr = &g[i & 1];

			if (!g_live[i & 1]) {
				arena_group_init(gr, a, own[k], size_arg(&in), 0);
				g_live[i & 1] = true;
			} else if (op & 16) {
				arena_group_release(gr);
				g_live[i & 1] = false;
			} else {
				size_t len = size_arg(&in);
				unsigned char *q = arena_group_alloc(gr, len);

				if (q)
					memset(q, 0x5a, len);
			}
			break;
		}
		case 8:				/* the floor moves */
			arena_set_floor(a, op & 16 ? 0 : size_arg(&in));
			break;
		default:			/* audit */
			if (op & 16)
				arena_flush_caches(a);
			if (arena_check(a))
				die("arena_check failed");
			break;
		}
		if (++ops % 32 == 0 && arena_check(a))
			die("arena_check failed");
	}
	for (unsigned int j = 0; j < 2; j++)
		if (g_live[j])
			arena_group_release(&g[j]);
	for (unsigned int j = 0; j < NSLOT; j++)
		if (s[j].p)
			check_free(a, &s[j]);
	for (unsigned int j = 0; j < NOWNER; j++)
		if (own[j])
			arena_owner_destroy(own[j]);
	arena_flush_caches(a);
	if (arena_check(a))
		die("arena_check failed at the end");
	arena_stats(a, &st);
	if (st.used || st.requested || st.reserved || st.cached ||
	    st.free != st.capacity || st.largest_free != st.capacity)
		die("memory not all back after a full free");
	arena_destroy(a);
	return 0;
}
