// SPDX-License-Identifier: GPL-2.0-only
/* The buffer pool against a model: random alloc/free never overlaps, stays
 * within the region, accounts exactly, and coalesces back to whole blocks. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/netswapd.h"

#define NSLOT 4096

struct slot {
	char *p;
	size_t len;
};

static int fails;

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
				#cond);                                   \
			fails++;                                          \
		}                                                         \
	} while (0)

static void test_basics(void)
{
	struct nsd_pool *p = pool_create(64 << 20, 25);
	void *a, *b;

	CHECK(p);
	CHECK(pool_capacity(p) == 64 << 20);
	CHECK(pool_max_alloc(p) == 32 << 20);
	CHECK(pool_block_size(1) == 4096);
	CHECK(pool_block_size(4096) == 4096);
	CHECK(pool_block_size(4097) == 8192);
	a = pool_alloc(p, 32 << 20);
	b = pool_alloc(p, 32 << 20);
	CHECK(a && b && a != b);
	CHECK(pool_alloc(p, 1) == NULL);	/* exhausted */
	CHECK(pool_alloc(p, (32 << 20) + 1) == NULL);	/* too big, ever */
	pool_free(p, a, 32 << 20);
	CHECK(pool_alloc(p, 100) != NULL);
	pool_destroy(p);
}

/* A region that is not a power of two still hands out all of itself. */
static void test_odd_region(void)
{
	struct nsd_pool *p = pool_create((5 << 20) + 12288, 22);
	uint64_t got = 0;
	void *x;

	CHECK(pool_max_alloc(p) == 4 << 20);
	while ((x = pool_alloc(p, 4096)))
		got += 4096;
	CHECK(got == pool_capacity(p));
	CHECK(pool_used(p) == pool_capacity(p));
	pool_destroy(p);
}

static int waker_calls;
static unsigned int waker_last;

static void waker(void *arg, unsigned int w)
{
	(void)arg;
	waker_calls++;
	waker_last = w;
}

static void test_waiters(void)
{
	struct nsd_pool *p = pool_create(1 << 20, 20);
	void *a;

	pool_set_waker(p, waker, NULL);
	a = pool_alloc_or_wait(p, 1 << 20, 3, POOL_DATA);
	CHECK(a);
	CHECK(pool_alloc_or_wait(p, 4096, 7, POOL_DATA) == NULL);
	CHECK(waker_calls == 0);
	pool_free(p, a, 1 << 20);
	CHECK(waker_calls == 1 && waker_last == 7);
	a = pool_alloc(p, 4096);
	pool_free(p, a, 4096);
	CHECK(waker_calls == 1);	/* woken once, not forever */
	pool_destroy(p);
}

/* Payloads never take the reserve; control allocations may. */
static void test_reserve(void)
{
	struct nsd_pool *p = pool_create(8 << 20, 22);
	uint64_t data = 0, ctl = 0;

	pool_set_reserve(p, 1 << 20);
	CHECK(pool_data_capacity(p) == 7 << 20);
	while (pool_alloc_or_wait(p, 64 << 10, 0, POOL_DATA))
		data += 64 << 10;
	CHECK(data == 7 << 20);
	while (pool_alloc_or_wait(p, 4096, 0, POOL_CONTROL))
		ctl += 4096;
	CHECK(ctl == 1 << 20);
	pool_destroy(p);
}

static void test_random(unsigned int seed)
{
	static struct slot s[NSLOT];
	struct nsd_pool *p = pool_create(16 << 20, 22);
	uint64_t model_used = 0;

	srand(seed);
	memset(s, 0, sizeof(s));
	for (int step = 0; step < 200000; step++) {
		int i = rand() % NSLOT;

		if (s[i].p) {
			/* The stamp written at allocation is intact. */
			CHECK((unsigned char)s[i].p[0] == (i & 0xff));
			CHECK((unsigned char)s[i].p[s[i].len - 1] == (i & 0xff));
			pool_free(p, s[i].p, s[i].len);
			model_used -= pool_block_size(s[i].len);
			s[i].p = NULL;
		} else {
			size_t len = 1 + (size_t)rand() % (rand() % 8 ? 16384 : (1 << 22));
			char *x = pool_alloc(p, len);

			if (!x)
				continue;	/* full or fragmented: fine */
			CHECK(((uintptr_t)x & 4095) == 0);
			memset(x, i & 0xff, len);
			s[i].p = x;
			s[i].len = len;
			model_used += pool_block_size(len);
		}
		CHECK(pool_used(p) == model_used);
		CHECK(model_used <= pool_capacity(p));
	}
	for (int i = 0; i < NSLOT; i++)
		if (s[i].p)
			pool_free(p, s[i].p, s[i].len);
	CHECK(pool_used(p) == 0);
	/* Fully coalesced: every maximal block is available again. */
	for (int i = 0; i < 4; i++)
		CHECK(pool_alloc(p, 4 << 20) != NULL);
	pool_destroy(p);
}

int main(void)
{
	test_basics();
	test_odd_region();
	test_waiters();
	test_reserve();
	for (unsigned int seed = 1; seed <= 5; seed++)
		test_random(seed);
	if (fails) {
		fprintf(stderr, "test-pool: %d checks failed\n", fails);
		return 1;
	}
	puts("test-pool: ok");
	return 0;
}
