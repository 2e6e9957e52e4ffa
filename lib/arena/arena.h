/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The network buffer arena: one region reserved up front and carved at a
 * fine granularity (32 or 64 byte units), for buffers whose sizes a network
 * peer decides.  Nothing is taken from malloc once the arena exists.
 *
 * Four ideas from the 2006 debate about network memory, side by side:
 *  - fine granularity with coalescing (Polyakov's Network Tree Allocator):
 *    a 1500-byte frame costs 1504 bytes, not 2048, and neighbours merge
 *    again when freed, so a 32 MiB payload can follow a million headers;
 *  - per-thread caches, with frees from another thread handed back to the
 *    cache that gave the block out, without the arena lock;
 *  - reservations (the reserve of Zijlstra's SOCK_MEMALLOC work, per
 *    owner): an owner (a connection) gets a contiguous slice of the region
 *    at creation; its allocations use that slice first, so when everybody
 *    else has exhausted the common memory it still makes progress;
 *  - groups (Zijlstra's SROG): the buffers of one request come from one
 *    group and go back together.
 *
 * Threads: any call from any thread, except that one owner's allocations
 * and one group must not be used by two threads at once (a connection
 * belongs to one event loop).  Frees may come from any thread.
 *
 * Waiting: arena_alloc_or_wait() registers a waiter id when it fails; the
 * next free that returns memory calls the waker (outside any arena lock)
 * once for every registered id.  A free racing with the failure is never
 * lost: the allocation is retried after the registration.
 */
#ifndef NETSWAP_LIB_ARENA_H
#define NETSWAP_LIB_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct arena_owner;

#define ARENA_MAX_WAITERS 256
#define ARENA_MAX_OWNERS 32767
#define ARENA_MAX_THREADS 511	/* thread caches; more threads run uncached */

/* arena_params.flags */
#define ARENA_MLOCK		(1U << 0)	/* lock the region, populated */
#define ARENA_MLOCK_ONFAULT	(1U << 1)	/* lock pages as they are touched */
#define ARENA_NO_TCACHE		(1U << 2)	/* every call takes the arena lock */

struct arena_params {
	uint64_t bytes;		/* region size (rounded down to whole units) */
	unsigned int unit_shift;	/* 5 = 32 B units, 6 = 64 B; 0 = 5 */
	unsigned int flags;		/* ARENA_* above */
	unsigned int max_owners;	/* 0 = 1024 */
	unsigned int max_threads;	/* thread caches; 0 = 64 */
	uint64_t tcache_bytes;		/* cap per thread cache; 0 = auto */
	size_t tcache_max_block;	/* largest cached block; 0 = 256 KiB */
};

/* NULL with errno set (EINVAL, ENOMEM, or mlock's error). */
struct arena *arena_create(const struct arena_params *p);
/* Every owner must be destroyed and every block freed before. */
void arena_destroy(struct arena *a);

/* arena_alloc() flags */
#define ARENA_CONTROL	(1U << 0)	/* may use the floor (see below) */

/*
 * @len bytes, aligned to the unit (32 or 64 bytes), from @o's reserve if
 * it has room, else from common memory.  @o may be NULL.  NULL when the
 * memory is not there now; len 0 is served as one unit.
 */
void *arena_alloc(struct arena *a, struct arena_owner *o, size_t len,
		  unsigned int flags);
/* As arena_alloc(); a failure registers @waiter (< ARENA_MAX_WAITERS). */
void *arena_alloc_or_wait(struct arena *a, struct arena_owner *o, size_t len,
			  unsigned int flags, unsigned int waiter);
/* Any thread.  Aborts on a pointer the arena did not hand out. */
void arena_free(struct arena *a, void *ptr);

/* Bytes a block of @len consumes (0: larger than the region, never
 * served); bytes usable in the block at @ptr. */
size_t arena_block_size(const struct arena *a, size_t len);
size_t arena_usable_size(const struct arena *a, const void *ptr);
/* The largest allocation that can ever succeed (the region). */
uint64_t arena_capacity(const struct arena *a);

/*
 * The floor: allocations without ARENA_CONTROL fail rather than leave less
 * than @bytes of common memory free, so control blocks (handshakes,
 * request slots) and new reservations still find memory when payloads
 * have taken everything else.  Blocks already in thread caches are served
 * regardless (at most the caches' cap).
 */
void arena_set_floor(struct arena *a, uint64_t bytes);

typedef void (*arena_wake_fn)(void *arg, unsigned int waiter);
void arena_set_waker(struct arena *a, arena_wake_fn fn, void *arg);

/*
 * Owners.  arena_owner_create() carves @reserve bytes (rounded up to a
 * unit) as one contiguous slice, or fails (NULL, errno ENOMEM) when no
 * such slice is free or EAGAIN when all owner slots are taken: admission
 * fails cleanly.  @name is copied (diagnostics only).  A reserve of 0 is
 * allowed: the owner is then only an account.
 *
 * arena_owner_grow() adds another slice (up to 4 slices in all).
 *
 * arena_owner_destroy() gives the free part of the reserve back at once;
 * blocks still out stay charged to the owner until freed (then they go to
 * common memory).  The handle is invalid afterwards.
 */
struct arena_owner *arena_owner_create(struct arena *a, uint64_t reserve,
				       const char *name);
int arena_owner_grow(struct arena_owner *o, uint64_t more);
void arena_owner_destroy(struct arena_owner *o);

struct arena_owner_stats {
	uint64_t reserve;	/* bytes reserved in all */
	uint64_t reserve_free;	/* of which not in use */
	uint64_t used;		/* bytes consumed by live blocks (both kinds) */
	uint64_t requested;	/* bytes asked for by them */
};
void arena_owner_stats(const struct arena_owner *o,
		       struct arena_owner_stats *st);

/*
 * Groups (SROG): buffers that live and die together (a request's header,
 * payload and reply) are cut from one chunk and released as one.  The
 * caller owns the struct (on the stack, in its request); nothing is freed
 * one by one.  @hint is the chunk size to start with (0 = 4 KiB); a
 * larger buffer gets a chunk of its own size.
 */
struct arena_group {
	struct arena *a;
	struct arena_owner *o;
	unsigned int flags;
	size_t hint;
	char *chunk;		/* current chunk: its first 16 bytes link */
	size_t off, size;	/* within the current chunk */
	uint64_t requested;	/* bytes asked for, all chunks */
};

void arena_group_init(struct arena_group *g, struct arena *a,
		      struct arena_owner *o, size_t hint, unsigned int flags);
void *arena_group_alloc(struct arena_group *g, size_t len);
void arena_group_release(struct arena_group *g);

/*
 * Accounting.  capacity == used + reserved + cached + free, exactly when
 * no call is in flight; during calls each field is a value it had
 * recently.  Lost to fragmentation: internal = used - requested (unit
 * rounding); external = free - largest_free (common memory that cannot
 * serve one allocation of the largest free size).
 */
struct arena_stats {
	uint64_t capacity;
	uint64_t used;		/* consumed by live blocks */
	uint64_t requested;	/* asked for by live blocks */
	uint64_t reserved;	/* owners' reserves not in use */
	uint64_t cached;	/* free blocks held by thread caches */
	uint64_t free;		/* common memory free */
	uint64_t largest_free;	/* largest free common extent */
	uint64_t floor;
	uint64_t metadata;	/* side table, virtual bytes */
	unsigned int owners;	/* live owners */
	unsigned int threads;	/* claimed thread caches */
	uint64_t failures;	/* allocations that returned NULL */
};
void arena_stats(struct arena *a, struct arena_stats *st);
/* "used=.. reserved=.. ..." in @buf, for logs. */
void arena_stats_format(const struct arena_stats *st, char *buf, size_t len);

/* The calling thread gives its cache back (also done at thread exit). */
void arena_thread_detach(struct arena *a);
/* Every thread cache emptied into common memory (tests, stats). */
void arena_flush_caches(struct arena *a);

/*
 * For tests: walk the region and check every invariant (tags agree at
 * both ends, free lists and bitmaps agree, no two free neighbours left
 * unmerged, counters match).  Returns 0 or -1 after printing why to
 * stderr.  Caller makes sure no other call is in flight.
 */
int arena_check(struct arena *a);

#endif
