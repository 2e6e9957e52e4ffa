// SPDX-License-Identifier: GPL-2.0-only
/* The arena against a model: random allocations and frees of every size
 * class never overlap, stay in the region, keep their contents, account
 * exactly (arena_check walks everything), and all memory comes back as
 * one extent after a full free.  Both unit sizes, caches on and off. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena/arena.h"
#include "tests/unit/check.h"

#define NSLOT 2048

struct slot {
	unsigned char *p;
	size_t len;
	unsigned char fill;
	struct arena_owner *o;
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Sizes as the server sees them, and the debate's. */
static size_t pick_size(void)
{
	static const size_t common[] = { 19, 37, 79, 28, 32, 1820, 9320,
					 4096, 8192, 16384, 131072, 1 };

	switch (rnd() % 4) {
	case 0:
		return common[rnd() % (sizeof(common) / sizeof(common[0]))];
	case 1:
		return 1 + rnd() % 256;
	case 2:
		return 1 + rnd() % 20000;
	default:
		return 1 + rnd() % 300000;
	}
}

static bool contents_ok(const struct slot *s)
{
	for (size_t i = 0; i < s->len; i += 1 + s->len / 64)
		if (s->p[i] != s->fill)
			return false;
	return s->p[s->len - 1] == s->fill;
}

static void expect_whole(struct arena *a)
{
	struct arena_stats st;

	arena_flush_caches(a);
	arena_stats(a, &st);
	CHECK(st.used == 0);
	CHECK(st.requested == 0);
	CHECK(st.cached == 0);
	CHECK(st.reserved == 0);
	CHECK(st.free == st.capacity);
	CHECK(st.largest_free == st.capacity);
	CHECK(arena_check(a) == 0);
}

static void test_basics(void)
{
	struct arena_params p = { .bytes = 64 << 20 };
	struct arena *a = arena_create(&p);
	void *x, *y;

	CHECK(a);
	CHECK(arena_capacity(a) == 64 << 20);
	CHECK(arena_block_size(a, 19) == 32);
	CHECK(arena_block_size(a, 37) == 64);
	CHECK(arena_block_size(a, 79) == 96);
	CHECK(arena_block_size(a, 1500) == 1504);
	CHECK(arena_block_size(a, 9000) == 9024);
	CHECK(arena_block_size(a, 0) == 32);
	/* Two halves: the region is one extent, nothing in the way. */
	x = arena_alloc(a, NULL, 32 << 20, 0);
	y = arena_alloc(a, NULL, 32 << 20, 0);
	CHECK(x && y);
	CHECK(arena_alloc(a, NULL, 1, 0) == NULL);
	CHECK(arena_alloc(a, NULL, (64 << 20) + 1, 0) == NULL);
	memset(x, 1, 32 << 20);
	arena_free(a, x);
	x = arena_alloc(a, NULL, 100, 0);
	CHECK(x);
	CHECK(arena_usable_size(a, x) == 128);
	arena_free(a, x);
	arena_free(a, y);
	expect_whole(a);
	arena_destroy(a);

	p.unit_shift = 6;
	a = arena_create(&p);
	CHECK(arena_block_size(a, 19) == 64);
	CHECK(arena_block_size(a, 79) == 128);
	CHECK(arena_block_size(a, 1500) == 1536);
	arena_destroy(a);

	p.unit_shift = 9;
	CHECK(arena_create(&p) == NULL);
	p.unit_shift = 5;
	p.bytes = 16;
	CHECK(arena_create(&p) == NULL);
}

/* Random operations with a model of what is live. */
static void test_random(unsigned int shift, unsigned int flags, int rounds)
{
	struct arena_params p = { .bytes = (24 << 20) + 4096 * 3,
				  .unit_shift = shift, .flags = flags,
				  .max_owners = 16 };
	struct arena *a = arena_create(&p);
	static struct slot s[NSLOT];
	struct arena_owner *own[4] = { 0 };
	unsigned int unit = 1U << shift;

	CHECK(a);
	memset(s, 0, sizeof(s));
	for (int r = 0; r < rounds; r++) {
		unsigned int i = (unsigned int)(rnd() % NSLOT);
		unsigned int k = (unsigned int)(rnd() % 4);

		if (rnd() % 64 == 0) {
			/* Owners come and go; their blocks may outlive them. */
			if (own[k])
				arena_owner_destroy(own[k]);
			own[k] = arena_owner_create(a, rnd() % 2 ? 0 : pick_size() * 2,
						    "model");
			for (unsigned int j = 0; j < NSLOT; j++)
				if (s[j].o == own[k] && own[k])
					s[j].o = NULL;
		}
		if (s[i].p) {
			CHECK(contents_ok(&s[i]));
			arena_free(a, s[i].p);
			s[i].p = NULL;
			continue;
		}
		s[i].len = pick_size();
		s[i].fill = (unsigned char)rnd();
		s[i].o = rnd() % 2 ? own[k] : NULL;
		s[i].p = arena_alloc(a, s[i].o, s[i].len, rnd() % 8 ? 0 : ARENA_CONTROL);
		if (!s[i].p)
			continue;
		CHECK((uintptr_t)s[i].p % unit == 0);
		CHECK(arena_usable_size(a, s[i].p) >= s[i].len);
		CHECK(arena_usable_size(a, s[i].p) < s[i].len + unit);
		memset(s[i].p, s[i].fill, s[i].len);
		if (r % 4096 == 0)
			CHECK(arena_check(a) == 0);
	}
	CHECK(arena_check(a) == 0);
	/* Overlap: sort-free check via contents, then a full free. */
	for (unsigned int i = 0; i < NSLOT; i++) {
		if (!s[i].p)
			continue;
		CHECK(contents_ok(&s[i]));
		arena_free(a, s[i].p);
		s[i].p = NULL;
	}
	for (unsigned int k = 0; k < 4; k++)
		if (own[k])
			arena_owner_destroy(own[k]);
	expect_whole(a);
	arena_destroy(a);
}

int main(void)
{
	test_basics();
	test_random(5, 0, 200000);
	test_random(6, 0, 100000);
	test_random(5, ARENA_NO_TCACHE, 100000);
	if (fails) {
		fprintf(stderr, "%d checks failed\n", fails);
		return 1;
	}
	printf("arena: all checks passed\n");
	return 0;
}
