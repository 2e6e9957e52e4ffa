// SPDX-License-Identifier: GPL-2.0-only
/* The thread cache's fast paths, at their edges: every bin boundary
 * (the last exact bin, the first hashed one, the largest cached size and
 * one unit beyond) hits the bin it should, a refill takes a batch and
 * serves it without touching common memory, a full bin sends half of
 * itself back, more large sizes than bins fall back to common memory,
 * the cap holds, and the accounts the caches keep lazily (slack, not
 * bytes asked; room, not bytes held) add up exactly in arena_stats().
 * Run under ASan+UBSan by make test. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/arena/arena.h"
#include "tests/unit/check.h"

#define KIB 1024U
#define MIB (1024U * KIB)

static struct arena *make(uint64_t bytes, uint64_t tcache_bytes)
{
	struct arena_params p = { .bytes = bytes, .max_threads = 4,
				  .tcache_bytes = tcache_bytes };

	return arena_create(&p);
}

static struct arena_stats stats(struct arena *a)
{
	struct arena_stats st;

	arena_stats(a, &st);
	return st;
}

static void whole(struct arena *a)
{
	struct arena_stats st;

	arena_flush_caches(a);
	CHECK(arena_check(a) == 0);
	st = stats(a);
	CHECK(st.used == 0 && st.requested == 0 && st.cached == 0);
	CHECK(st.free == st.capacity && st.largest_free == st.capacity);
}

/* A freed block of a cached size goes on the bin (cached grows by its
 * size, common memory does not), and the next allocation of that size
 * is that block again; requested and used stay exact throughout. */
static void boundary(struct arena *a, size_t len, bool cached)
{
	size_t bs = arena_block_size(a, len);
	struct arena_stats s0, s1, s2;
	void *p, *q;

	/* Empty bins: a large size always finds one of its set free. */
	arena_flush_caches(a);
	p = arena_alloc(a, NULL, len, 0);
	CHECK(p != NULL);
	if (!p)
		return;
	memset(p, 0xa5, len);
	CHECK(arena_usable_size(a, p) == bs);
	s0 = stats(a);
	CHECK(s0.requested == len && s0.used == bs);
	CHECK(arena_check(a) == 0);
	arena_free(a, p);
	s1 = stats(a);
	CHECK(s1.used == 0 && s1.requested == 0);
	if (cached) {
		CHECK(s1.cached == s0.cached + bs);
		CHECK(s1.free == s0.free);
	} else {
		CHECK(s1.cached == s0.cached);
		CHECK(s1.free == s0.free + bs);
	}
	CHECK(arena_check(a) == 0);
	q = arena_alloc(a, NULL, len, 0);
	CHECK(q != NULL);
	if (cached)
		CHECK(q == p);	/* the bin's head, last in first out */
	s2 = stats(a);
	CHECK(s2.requested == len && s2.used == bs);
	CHECK(arena_check(a) == 0);
	arena_free(a, q);
}

static void test_boundaries(void)
{
	/* 32-byte units: bins 1..64 exact, larger ones hashed, up to
	 * tcache_max_block (256 KiB by default). */
	struct arena *a = make(64 * MIB, 0);
	static const size_t cached[] = {
		1, 31, 32, 33, 63, 64, 65, 2047, 2048, 2049, 2080, 2081,
		4095, 4096, 4097, 28, 16 * KIB, 128 * KIB, 256 * KIB - 1,
		256 * KIB,
	};

	CHECK(a != NULL);
	if (!a)
		return;
	for (size_t i = 0; i < sizeof(cached) / sizeof(cached[0]); i++)
		boundary(a, cached[i], true);
	/* One unit beyond the largest cached block, and far beyond. */
	boundary(a, 256 * KIB + 1, false);
	boundary(a, 256 * KIB + 32, false);
	boundary(a, 4 * MIB, false);
	CHECK(arena_alloc(a, NULL, 65 * MIB, 0) == NULL);
	whole(a);
	arena_destroy(a);
}

/* The first allocation of a size takes a batch from common memory in one
 * cut; the rest of the batch is served from the bin without common
 * memory moving, and the blocks are neighbours. */
static void test_batch_refill(void)
{
	struct arena *a = make(64 * MIB, 0);
	struct arena_stats st0, st;
	char *p[64];
	size_t bs = arena_block_size(a, 100);
	unsigned int k;

	CHECK(a != NULL);
	if (!a)
		return;
	p[0] = arena_alloc(a, NULL, 100, 0);
	CHECK(p[0] != NULL);
	st0 = stats(a);
	CHECK(st0.cached > 0 && st0.cached % bs == 0);
	k = (unsigned int)(st0.cached / bs);
	CHECK(k >= 1 && k < 64);
	for (unsigned int i = 1; i <= k && i < 64; i++) {
		p[i] = arena_alloc(a, NULL, 100, 0);
		/* One cut: the batch's blocks follow the first one. */
		CHECK(p[i] > p[0] && p[i] <= p[0] + k * bs &&
		      (size_t)(p[i] - p[0]) % bs == 0);
		st = stats(a);
		CHECK(st.free == st0.free);
		CHECK(st.cached == st0.cached - i * bs);
		CHECK(st.requested == (i + 1) * 100ULL);
	}
	CHECK(stats(a).cached == 0);
	CHECK(arena_check(a) == 0);
	for (unsigned int i = 0; i <= k && i < 64; i++)
		arena_free(a, p[i]);
	whole(a);
	arena_destroy(a);
}

/* Freeing far more blocks of one size than a bin holds: the cache never
 * holds more than its cap, half a full bin goes back at once (common
 * memory grows by more than one block in one free), and everything is
 * accounted for at every step. */
static void test_batch_flush_and_cap(void)
{
	enum { N = 400 };
	uint64_t cap = 64 * KIB;
	struct arena *a = make(16 * MIB, cap);
	static void *p[N];
	size_t len = 1000, bs;
	bool batch = false;

	CHECK(a != NULL);
	if (!a)
		return;
	bs = arena_block_size(a, len);
	for (int i = 0; i < N; i++) {
		p[i] = arena_alloc(a, NULL, len, 0);
		CHECK(p[i] != NULL);
	}
	for (int i = 0; i < N; i++) {
		struct arena_stats before = stats(a), after;

		arena_free(a, p[i]);
		after = stats(a);
		CHECK(after.cached <= cap);
		CHECK(after.used == (uint64_t)(N - 1 - i) * bs);
		CHECK(after.requested == (uint64_t)(N - 1 - i) * len);
		if (after.free > before.free + bs)
			batch = true;
	}
	CHECK(batch);
	CHECK(arena_check(a) == 0);
	whole(a);
	arena_destroy(a);
}

/* More large sizes than a cache has bins: the ones without a bin go to
 * common memory, the others stay cached, nothing is lost or miscounted. */
static void test_many_large_sizes(void)
{
	enum { SIZES = 48, ROUNDS = 6 };
	struct arena *a = make(64 * MIB, 0);
	void *p[SIZES];
	uint64_t req = 0;

	CHECK(a != NULL);
	if (!a)
		return;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < SIZES; i++) {
			size_t len = 2049 + (size_t)i * 4096 + (size_t)r * 32;

			p[i] = arena_alloc(a, NULL, len, 0);
			CHECK(p[i] != NULL);
			if (p[i])
				memset(p[i], i, len);
			req += len;
		}
		CHECK(stats(a).requested == req);
		CHECK(arena_check(a) == 0);
		for (int i = 0; i < SIZES; i++)
			arena_free(a, p[i]);
		req = 0;
		CHECK(stats(a).used == 0 && stats(a).requested == 0);
		CHECK(arena_check(a) == 0);
	}
	whole(a);
	arena_destroy(a);
}

/* Lazily kept accounts, across threads: two threads allocate sizes with
 * unit slack, each frees half of its own and half of the other's blocks
 * (remote frees), owners mix reserve and common blocks in; at every
 * quiescent point requested and used are exactly the model's. */
struct mix {
	struct arena *a;
	struct arena_owner *o;
	void *mine[256];
	size_t len[256];
	pthread_barrier_t *bar;
	struct mix *other;
};

static void *mix_thread(void *arg)
{
	struct mix *m = arg;

	for (int i = 0; i < 256; i++) {
		m->len[i] = 1 + (size_t)(i * 37 % 5000);
		m->mine[i] = arena_alloc(m->a, i % 3 ? NULL : m->o, m->len[i], 0);
		CHECK(m->mine[i] != NULL);
	}
	pthread_barrier_wait(m->bar);	/* main checks the accounts */
	pthread_barrier_wait(m->bar);
	/* Our even blocks, the other thread's odd ones. */
	for (int i = 0; i < 256; i += 2) {
		arena_free(m->a, m->mine[i]);
		arena_free(m->a, m->other->mine[i + 1]);
	}
	pthread_barrier_wait(m->bar);	/* main checks again... */
	/* ...before we exit: our exit gives the cache back, an arena call
	 * that arena_check() must not overlap. */
	pthread_barrier_wait(m->bar);
	return NULL;
}

static void test_lazy_accounts(void)
{
	struct arena *a = make(64 * MIB, 0);
	pthread_barrier_t bar;
	struct mix m[2];
	pthread_t t[2];
	struct arena_stats st;
	uint64_t req = 0, used = 0;

	CHECK(a != NULL);
	if (!a)
		return;
	pthread_barrier_init(&bar, NULL, 3);
	for (int k = 0; k < 2; k++) {
		memset(&m[k], 0, sizeof(m[k]));
		m[k].a = a;
		m[k].o = arena_owner_create(a, 64 * KIB, "mix");
		CHECK(m[k].o != NULL);
		m[k].bar = &bar;
		m[k].other = &m[1 - k];
	}
	for (int k = 0; k < 2; k++)
		pthread_create(&t[k], NULL, mix_thread, &m[k]);
	pthread_barrier_wait(&bar);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < 256; i++) {
			req += m[k].len[i];
			used += arena_block_size(a, m[k].len[i]);
		}
	st = stats(a);
	CHECK(st.requested == req);
	CHECK(st.used == used);
	CHECK(st.used + st.reserved + st.cached + st.free == st.capacity);
	CHECK(arena_check(a) == 0);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	st = stats(a);
	CHECK(st.requested == 0 && st.used == 0);
	CHECK(st.used + st.reserved + st.cached + st.free == st.capacity);
	CHECK(arena_check(a) == 0);
	pthread_barrier_wait(&bar);
	for (int k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	CHECK(arena_check(a) == 0);
	pthread_barrier_destroy(&bar);
	for (int k = 0; k < 2; k++)
		arena_owner_destroy(m[k].o);
	whole(a);
	arena_destroy(a);
}

/* A thread that gave its cache back gets one again on its next call
 * (its thread-local entry must not keep naming the arena). */
static void test_detach_reclaims(void)
{
	struct arena *a = make(16 * MIB, 0);
	void *p;

	CHECK(a != NULL);
	if (!a)
		return;
	p = arena_alloc(a, NULL, 64, 0);
	CHECK(p != NULL && stats(a).threads == 1);
	arena_thread_detach(a);
	CHECK(stats(a).threads == 0);
	arena_free(a, p);	/* its cache is unclaimed now: common memory */
	CHECK(stats(a).cached == 0 && stats(a).used == 0);
	p = arena_alloc(a, NULL, 64, 0);
	CHECK(p != NULL && stats(a).threads == 1);
	arena_free(a, p);
	/* Back on a bin of the new cache: the next allocation is it. */
	CHECK(arena_alloc(a, NULL, 64, 0) == p);
	arena_free(a, p);
	CHECK(arena_check(a) == 0);
	arena_thread_detach(a);
	whole(a);
	arena_destroy(a);
}

/* A double free caught on the fast path's doorstep: a block freed into
 * the cache and freed again must not be cached twice.  (The abort is the
 * arena's answer; checked in a child.) */
static void test_double_free_dies(void)
{
	struct arena *a = make(16 * MIB, 0);
	pid_t pid;
	int status = 0;
	void *p;

	CHECK(a != NULL);
	if (!a)
		return;
	p = arena_alloc(a, NULL, 64, 0);
	CHECK(p != NULL);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		arena_free(a, p);
		arena_free(a, p);
		_exit(0);
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	arena_free(a, p);
	whole(a);
	arena_destroy(a);
}

int main(void)
{
	test_boundaries();
	test_batch_refill();
	test_batch_flush_and_cap();
	test_many_large_sizes();
	test_lazy_accounts();
	test_detach_reclaims();
	test_double_free_dies();
	if (fails)
		fprintf(stderr, "%d checks failed\n", fails);
	return fails != 0;
}
