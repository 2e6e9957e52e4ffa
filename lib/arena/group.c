// SPDX-License-Identifier: GPL-2.0-only
/*
 * Groups, after Zijlstra's SROG: objects that die together are cut from
 * one chunk by bumping an offset, and the chunks go back in one sweep.
 * No per-object bookkeeping, no per-object free, and a group that is gone
 * leaves no hole smaller than its chunks behind: determinism in space.
 * A chunk's first 16 bytes link it to the previous one.
 */
#include <string.h>

#include "lib/arena/internal.h"

#define CHUNK_HDR 16
#define GROUP_ALIGN 16

void arena_group_init(struct arena_group *g, struct arena *a,
		      struct arena_owner *o, size_t hint, unsigned int flags)
{
	memset(g, 0, sizeof(*g));
	g->a = a;
	g->o = o;
	g->flags = flags;
	g->hint = hint ? hint : 4096;
}

void *arena_group_alloc(struct arena_group *g, size_t len)
{
	size_t need = ((len ? len : 1) + GROUP_ALIGN - 1) & ~(size_t)(GROUP_ALIGN - 1);
	char *c;

	if (need < len)
		return NULL;
	if (!g->chunk || g->size - g->off < need) {
		size_t size = need + CHUNK_HDR > g->hint ? need + CHUNK_HDR : g->hint;

		if (size < need || size > arena_capacity(g->a))
			return NULL;
		/* The whole block is the group's: no unit slack left unused. */
		size = arena_block_size(g->a, size);
		c = arena_alloc(g->a, g->o, size, g->flags);
		if (!c)
			return NULL;
		*(char **)c = g->chunk;
		g->chunk = c;
		g->off = CHUNK_HDR;
		g->size = size;
	}
	c = g->chunk + g->off;
	g->off += need;
	g->requested += len;
	return c;
}

void arena_group_release(struct arena_group *g)
{
	char *c = g->chunk;

	while (c) {
		char *prev = *(char **)c;

		arena_free(g->a, c);
		c = prev;
	}
	g->chunk = NULL;
	g->off = g->size = 0;
	g->requested = 0;
}
