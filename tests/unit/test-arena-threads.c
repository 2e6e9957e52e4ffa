// SPDX-License-Identifier: GPL-2.0-only
/* The arena across threads: blocks freed by another thread than the one
 * that allocated them come back (remote frees), four threads hammering
 * shared slots leave exact accounts, memory parked in an idle thread's
 * cache is found when memory runs out, and a thread's exit returns its
 * cache.  Run under ASan+UBSan by make test. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "lib/arena/arena.h"
#include "tests/unit/check.h"

#define MIB (1U << 20)

static struct arena *make(uint64_t bytes)
{
	struct arena_params p = { .bytes = bytes, .max_threads = 8 };

	return arena_create(&p);
}

static void drained(struct arena *a)
{
	struct arena_stats st;

	arena_flush_caches(a);
	CHECK(arena_check(a) == 0);
	arena_stats(a, &st);
	CHECK(st.used == 0 && st.cached == 0 && st.free == st.capacity);
	CHECK(st.largest_free == st.capacity);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- shared slots: any thread frees what any other allocated ---- */

#define NSHARED 512

struct shared {
	struct arena *a;
	_Atomic(unsigned char *) slot[NSHARED];
	unsigned int seed;
};

static void *hammer(void *arg)
{
	struct shared *sh = arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL * (__atomic_fetch_add(&sh->seed, 1,
								  __ATOMIC_RELAXED) + 1);

	for (int r = 0; r < 60000; r++) {
		unsigned int i = (unsigned int)(xorshift(&s) % NSHARED);
		unsigned char *p = atomic_exchange(&sh->slot[i], NULL);

		if (p) {
			/* The block says its length, then its fill. */
			size_t len;

			memcpy(&len, p, sizeof(len));
			CHECK(p[len - 1] == p[sizeof(len)]);
			arena_free(sh->a, p);
			continue;
		}
		{
			static const size_t sizes[] = { 19, 37, 79, 28, 1820,
							4096, 9320, 131072 };
			size_t len = sizes[xorshift(&s) % 8];
			unsigned char *q = arena_alloc(sh->a, NULL, len, 0);
			unsigned char *none = NULL;

			if (!q)
				continue;
			memset(q, (int)(xorshift(&s) & 0xff), len);
			memcpy(q, &len, sizeof(len));
			if (!atomic_compare_exchange_strong(&sh->slot[i], &none, q))
				arena_free(sh->a, q);
		}
	}
	return NULL;
}

static void test_hammer(void)
{
	static struct shared sh;
	pthread_t t[4];

	memset(&sh, 0, sizeof(sh));
	sh.a = make(16 * MIB);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &sh);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NSHARED; i++)
		arena_free(sh.a, atomic_load(&sh.slot[i]));
	drained(sh.a);
	arena_destroy(sh.a);
}

/* ---- one thread allocates, the other frees: the remote path ---- */

#define RING 256

struct ring {
	struct arena *a;
	_Atomic(void *) cell[RING];
	atomic_bool done;
};

static void *consumer(void *arg)
{
	struct ring *r = arg;
	unsigned int i = 0;

	for (;;) {
		void *p = atomic_exchange(&r->cell[i % RING], NULL);

		if (p) {
			CHECK(*(unsigned int *)p == i);
			arena_free(r->a, p);
			i++;
		} else if (atomic_load(&r->done) &&
			   !atomic_load(&r->cell[i % RING])) {
			break;
		}
	}
	return NULL;
}

static void test_remote_frees(void)
{
	static struct ring r;
	struct arena_stats st;
	pthread_t t;

	memset(&r, 0, sizeof(r));
	r.a = make(8 * MIB);
	pthread_create(&t, NULL, consumer, &r);
	for (unsigned int i = 0; i < 100000; i++) {
		size_t len = i % 3 ? 4096 : 64 + i % 1000;
		unsigned int *p;

		while (atomic_load(&r.cell[i % RING]))
			;
		while (!(p = arena_alloc(r.a, NULL, len, 0)))
			;	/* the consumer is returning memory */
		*p = i;
		atomic_store(&r.cell[i % RING], p);
	}
	atomic_store(&r.done, true);
	pthread_join(t, NULL);
	arena_stats(r.a, &st);
	CHECK(st.used == 0);
	drained(r.a);
	arena_destroy(r.a);
}

/* ---- memory parked in an idle thread's cache is found ---- */

struct parked {
	struct arena *a;
	pthread_mutex_t m;
	pthread_cond_t c;
	int stage;
};

static void *park(void *arg)
{
	struct parked *pk = arg;
	void *p[32];

	for (int i = 0; i < 32; i++)
		p[i] = arena_alloc(pk->a, NULL, 4096, 0);
	for (int i = 0; i < 32; i++)
		arena_free(pk->a, p[i]);
	pthread_mutex_lock(&pk->m);
	pk->stage = 1;
	pthread_cond_broadcast(&pk->c);
	while (pk->stage != 2)
		pthread_cond_wait(&pk->c, &pk->m);
	pthread_mutex_unlock(&pk->m);
	return NULL;	/* exits: its cache goes back */
}

static void test_parked_cache(void)
{
	struct parked pk = { .m = PTHREAD_MUTEX_INITIALIZER,
			     .c = PTHREAD_COND_INITIALIZER };
	struct arena_stats st;
	pthread_t t;
	void *all;

	pk.a = make(MIB);
	pthread_create(&t, NULL, park, &pk);
	pthread_mutex_lock(&pk.m);
	while (pk.stage != 1)
		pthread_cond_wait(&pk.c, &pk.m);
	pthread_mutex_unlock(&pk.m);
	arena_stats(pk.a, &st);
	CHECK(st.cached > 0);
	CHECK(st.threads == 1);
	all = arena_alloc(pk.a, NULL, MIB, 0);	/* needs the parked blocks */
	CHECK(all);
	arena_free(pk.a, all);
	/* Cached again by nobody; the thread's exit detaches it. */
	pthread_mutex_lock(&pk.m);
	pk.stage = 2;
	pthread_cond_broadcast(&pk.c);
	pthread_mutex_unlock(&pk.m);
	pthread_join(t, NULL);
	arena_stats(pk.a, &st);
	CHECK(st.threads == 0);
	drained(pk.a);
	arena_destroy(pk.a);
}

/* ---- a waiter on one thread, the free on another ---- */

static atomic_uint wakes;

static void waker(void *arg, unsigned int waiter)
{
	(void)arg;
	CHECK(waiter == 3);
	atomic_fetch_add(&wakes, 1);
}

static void *free_later(void *arg)
{
	void **pp = arg;

	arena_free(pp[0], pp[1]);
	return NULL;
}

static void test_cross_thread_wake(void)
{
	struct arena *a = make(MIB);
	void *args[2] = { a, NULL };
	pthread_t t;

	arena_set_waker(a, waker, NULL);
	args[1] = arena_alloc(a, NULL, MIB, 0);
	CHECK(args[1]);
	CHECK(arena_alloc_or_wait(a, NULL, 100, 0, 3) == NULL);
	pthread_create(&t, NULL, free_later, args);
	pthread_join(t, NULL);
	CHECK(atomic_load(&wakes) == 1);
	drained(a);
	arena_destroy(a);
}

/* ---- blocks of a cache whose thread detached, freed by two threads
 * that never allocated: both must go around the cache's bins ---- */

#define ORPHANS 4096

struct orphans {
	struct arena *a;
	void *p[ORPHANS];
	unsigned int start;
};

static void *free_orphans(void *arg)
{
	struct orphans *o = arg;
	unsigned int first = __atomic_fetch_add(&o->start, 1, __ATOMIC_RELAXED);

	for (unsigned int i = first; i < ORPHANS; i += 2)
		arena_free(o->a, o->p[i]);
	return NULL;
}

static void *make_orphans(void *arg)
{
	struct orphans *o = arg;

	for (unsigned int i = 0; i < ORPHANS; i++)
		o->p[i] = arena_alloc(o->a, NULL, 64 + i % 512, 0);
	arena_thread_detach(o->a);
	return NULL;
}

static void test_orphans(void)
{
	static struct orphans o;
	pthread_t t[2];

	memset(&o, 0, sizeof(o));
	o.a = make(8 * MIB);
	pthread_create(&t[0], NULL, make_orphans, &o);
	pthread_join(t[0], NULL);
	for (unsigned int i = 0; i < ORPHANS; i++)
		CHECK(o.p[i] != NULL);
	pthread_create(&t[0], NULL, free_orphans, &o);
	pthread_create(&t[1], NULL, free_orphans, &o);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	drained(o.a);
	arena_destroy(o.a);
}

int main(void)
{
	test_orphans();
	test_hammer();
	test_remote_frees();
	test_parked_cache();
	test_cross_thread_wake();
	if (fails) {
		fprintf(stderr, "%d checks failed\n", fails);
		return 1;
	}
	printf("arena threads: all checks passed\n");
	return 0;
}
