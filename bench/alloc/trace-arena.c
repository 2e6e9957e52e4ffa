// SPDX-License-Identifier: GPL-2.0-only
/*
 * A recorder of netswapd's buffer allocations, linked into a copy of the
 * unmodified server with ld --wrap: every arena_alloc(),
 * arena_alloc_or_wait() and arena_free() call the server makes goes
 * through here first, and one line per event is written to
 * $NETSWAPD_ALLOC_TRACE: "a ID LEN" (the size asked, before the arena
 * rounds it) or "f ID".  IDs are reused once freed, so they stay as
 * small as the number of live buffers.  bench/alloc/record-trace builds it
 * and runs fio against it; bench-alloc replays the trace.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/netswapd.h"

#define SLOTS (1U << 16)	/* live buffers tracked at most */

void *__real_arena_alloc(struct arena *a, struct arena_owner *o, size_t len,
			 unsigned int flags);
void *__real_arena_alloc_or_wait(struct arena *a, struct arena_owner *o,
				 size_t len, unsigned int flags,
				 unsigned int waiter);
void __real_arena_free(struct arena *a, void *ptr);
void *__wrap_arena_alloc(struct arena *a, struct arena_owner *o, size_t len,
			 unsigned int flags);
void *__wrap_arena_alloc_or_wait(struct arena *a, struct arena_owner *o,
				 size_t len, unsigned int flags,
				 unsigned int waiter);
void __wrap_arena_free(struct arena *a, void *ptr);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static bool failed;
static void *live[SLOTS];	/* id -> pointer */
static uint32_t free_ids[SLOTS];
static uint32_t nfree, next_id;

static void finish(void)
{
	pthread_mutex_lock(&lock);
	if (out)
		fclose(out);
	out = NULL;
	pthread_mutex_unlock(&lock);
}

/* Lock held. */
static bool ready(void)
{
	const char *path;

	if (out || failed)
		return out != NULL;
	path = getenv("NETSWAPD_ALLOC_TRACE");
	out = path ? fopen(path, "w") : NULL;
	failed = !out;
	if (out)
		atexit(finish);
	return out != NULL;
}

static void record_alloc(void *ptr, size_t len)
{
	uint32_t id;

	pthread_mutex_lock(&lock);
	if (ready()) {
		id = nfree ? free_ids[--nfree] : next_id < SLOTS ? next_id++ : SLOTS;
		if (id < SLOTS) {
			live[id] = ptr;
			fprintf(out, "a %u %zu\n", id, len);
		}
	}
	pthread_mutex_unlock(&lock);
}

static void record_free(void *ptr)
{
	pthread_mutex_lock(&lock);
	if (ready()) {
		/* Linear, but only over ids ever used (the live peak). */
		for (uint32_t id = 0; id < next_id; id++) {
			if (live[id] == ptr) {
				live[id] = NULL;
				free_ids[nfree++] = id;
				fprintf(out, "f %u\n", id);
				break;
			}
		}
	}
	pthread_mutex_unlock(&lock);
}

void *__wrap_arena_alloc(struct arena *a, struct arena_owner *o, size_t len,
			 unsigned int flags)
{
	void *r = __real_arena_alloc(a, o, len, flags);

	if (r)
		record_alloc(r, len);
	return r;
}

void *__wrap_arena_alloc_or_wait(struct arena *a, struct arena_owner *o,
				 size_t len, unsigned int flags,
				 unsigned int waiter)
{
	void *r = __real_arena_alloc_or_wait(a, o, len, flags, waiter);

	if (r)
		record_alloc(r, len);
	return r;
}

void __wrap_arena_free(struct arena *a, void *ptr)
{
	record_free(ptr);
	__real_arena_free(a, ptr);
}
