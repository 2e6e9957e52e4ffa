// SPDX-License-Identifier: GPL-2.0-only
/*
 * Groups, after Zijlstra's SROG: objects that die together are cut from
 * one chunk by bumping an offset, and the chunks go back in one sweep.
 * No per-object bookkeeping, no per-object free, and a group that is gone
 * leaves no hole smaller than its chunks behind: determinism in space.
 * A chunk's first 16 bytes link it to the previous one.
 */
#include "lib/arena/internal.h"

#define CHUNK_HDR 16
#define GROUP_ALIGN 16

void arena_group_init(struct arena_group *g, struct arena *a,
		      struct arena_owner *o, size_t hint, unsigned int flags)
{
	g->a = a;
	g->o = o;
	g->flags = flags;
	g->hint = hint ? hint : 4096;
	g->chunk = NULL;
	g->off = g->size = 0;
	g->requested = 0;
}

/* A new chunk, then the allocation from it. */
__attribute__((noinline))
static void *group_grow(struct arena_group *g, size_t len, size_t need)
{
	struct arena *a = g->a;
	size_t size;
	char *c;

	if (need < len)
		return NULL;	/* len wrapped */
	if (!need) {
		/* len 0: one slot, like arena_alloc(), maybe in this chunk. */
		need = GROUP_ALIGN;
		if (g->size - g->off >= need) {
			c = g->chunk + g->off;
			g->off += need;
			return c;
		}
	}
	size = need + CHUNK_HDR > g->hint ? need + CHUNK_HDR : g->hint;
	if (size < need || size > a->capacity)
		return NULL;
	/* The whole block is the group's: no unit slack left unused. */
	size = (size_t)units_of(a, size) << a->shift;
	c = arena_alloc(a, g->o, size, g->flags);
	if (!c)
		return NULL;
	*(char **)c = g->chunk;
	g->chunk = c;
	g->off = CHUNK_HDR + need;
	g->size = size;
	g->requested += len;
	return c + CHUNK_HDR;
}

/* The common case is a bump of the offset: no call, no frame. */
void *arena_group_alloc(struct arena_group *g, size_t len)
{
	size_t need = (len + GROUP_ALIGN - 1) & ~(size_t)(GROUP_ALIGN - 1);
	char *c;

	/* (need 0, from len 0 or a wrap, goes the slow way; no chunk yet
	 * means size == off.) */
	if (need - 1 >= g->size - g->off)
		return group_grow(g, len, need);
	c = g->chunk + g->off;
	g->off += need;
	g->requested += len;
	return c;
}

void arena_group_release(struct arena_group *g)
{
	struct arena *a = g->a;
	char *c = g->chunk, *prev;

	g->chunk = NULL;
	g->off = g->size = 0;
	g->requested = 0;
	if (!c)
		return;
	while ((prev = *(char **)c)) {
		arena_free(a, c);
		c = prev;
	}
	arena_free(a, c);
}
