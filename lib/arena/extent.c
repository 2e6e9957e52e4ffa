// SPDX-License-Identifier: GPL-2.0-only
/*
 * Common free extents: segregated free lists with two levels of bitmaps
 * over them, so finding a free extent large enough, and taking or giving
 * one back, costs a few bit operations whatever the sizes.  Neighbours are
 * found through the side table's boundary tags and merged on every give.
 * The caller holds the arena lock.
 */
#include <stdio.h>

#include "lib/arena/internal.h"

static inline unsigned int msb(uint32_t n)
{
	return 31U - (unsigned int)__builtin_clz(n);
}

/* The list a free extent of @n units goes on. */
static void class_of(uint32_t n, unsigned int *fl, unsigned int *sl)
{
	unsigned int m;

	if (n < SL_COUNT) {
		*fl = 0;
		*sl = n;
		return;
	}
	m = msb(n);
	*fl = m - SL_LOG + 1;
	*sl = (n >> (m - SL_LOG)) - SL_COUNT;
}

/* The first list whose every extent holds @n units. */
static void class_up(uint32_t n, unsigned int *fl, unsigned int *sl)
{
	if (n >= SL_COUNT)
		n += (1U << (msb(n) - SL_LOG)) - 1;
	class_of(n, fl, sl);
}

void ext_init(struct arena *a)
{
	a->fl_map = 0;
	for (unsigned int f = 0; f < FL_COUNT; f++) {
		a->sl_map[f] = 0;
		for (unsigned int s = 0; s < SL_COUNT; s++)
			a->head[f][s] = NIL;
	}
}

static void list_insert(struct arena *a, uint32_t u, uint32_t n)
{
	unsigned int fl, sl;
	struct link *l = link_of(a, u);

	class_of(n, &fl, &sl);
	l->prev = NIL;
	l->next = a->head[fl][sl];
	if (l->next != NIL)
		link_of(a, l->next)->prev = u;
	a->head[fl][sl] = u;
	a->fl_map |= 1U << fl;
	a->sl_map[fl] |= 1U << sl;
	block_set(a, u, n, n | TAG_FREE, 0);
}

static void list_remove(struct arena *a, uint32_t u, uint32_t n)
{
	unsigned int fl, sl;
	struct link *l = link_of(a, u);

	class_of(n, &fl, &sl);
	if (l->prev != NIL)
		link_of(a, l->prev)->next = l->next;
	else
		a->head[fl][sl] = l->next;
	if (l->next != NIL)
		link_of(a, l->next)->prev = l->prev;
	if (a->head[fl][sl] == NIL) {
		a->sl_map[fl] &= ~(1U << sl);
		if (!a->sl_map[fl])
			a->fl_map &= ~(1U << fl);
	}
	poison(l, sizeof(*l));
}

/* The first non-empty list at or above (fl, sl), or NIL. */
static uint32_t find_from(struct arena *a, unsigned int fl, unsigned int sl)
{
	uint32_t map;

	if (fl >= FL_COUNT)
		return NIL;
	map = a->sl_map[fl] & (~0U << sl);
	if (!map) {
		uint32_t fmap = fl + 1 < 32 ? a->fl_map & (~0U << (fl + 1)) : 0;

		if (!fmap)
			return NIL;
		fl = (unsigned int)__builtin_ctz(fmap);
		map = a->sl_map[fl];
	}
	return a->head[fl][__builtin_ctz(map)];
}

uint32_t ext_take(struct arena *a, uint32_t n, uint32_t meta)
{
	unsigned int fl, sl;
	uint32_t u = NIL, have;

	/* The head of @n's own list fits more often than not (sizes repeat);
	 * otherwise the first list that surely fits. */
	class_of(n, &fl, &sl);
	if (a->head[fl][sl] != NIL &&
	    (tag_len(a, a->head[fl][sl]) & TAG_LEN) >= n)
		u = a->head[fl][sl];
	if (u == NIL) {
		class_up(n, &fl, &sl);
		u = find_from(a, fl, sl);
	}
	if (u == NIL)
		return NIL;
	have = tag_len(a, u) & TAG_LEN;
	list_remove(a, u, have);
	if (have > n)
		list_insert(a, u + n, have - n);
	/* Tagged before the lock is dropped: a neighbour freed meanwhile must
	 * not see stale "free" tags here. */
	block_set(a, u, n, n, meta);
	add(&a->core_free, -(uint64_t)n);
	return u;
}

void ext_give(struct arena *a, uint32_t u, uint32_t n)
{
	poison(unit_ptr(a, u), (size_t)n << a->shift);
	add(&a->core_free, n);
	if (u > 0) {
		uint32_t t = tag_len(a, u - 1);

		if ((t & TAG_FREE) && !meta_owner(tag_meta(a, u - 1))) {
			uint32_t ln = t & TAG_LEN;

			list_remove(a, u - ln, ln);
			u -= ln;
			n += ln;
		}
	}
	if (u + n < a->nunits) {
		uint32_t r = u + n, t = tag_len(a, r);

		if ((t & TAG_FREE) && !meta_owner(tag_meta(a, r))) {
			list_remove(a, r, t & TAG_LEN);
			n += t & TAG_LEN;
		}
	}
	list_insert(a, u, n);
}

uint32_t ext_largest(struct arena *a)
{
	uint32_t best = 0;
	int fl;

	if (!a->fl_map)
		return 0;
	fl = 31 - __builtin_clz(a->fl_map);
	/* Only the top list can hold the largest; sizes there differ little. */
	for (int sl = SL_COUNT - 1; sl >= 0; sl--) {
		for (uint32_t u = a->head[fl][sl]; u != NIL;
		     u = link_of(a, u)->next) {
			uint32_t n = tag_len(a, u) & TAG_LEN;

			if (n > best)
				best = n;
		}
		if (best)
			break;
	}
	return best;
}

/* Every listed extent is free, common, on the right list, and counted. */
int ext_check_lists(struct arena *a, uint64_t *free_units)
{
	uint64_t total = 0;

	for (unsigned int f = 0; f < FL_COUNT; f++) {
		for (unsigned int s = 0; s < SL_COUNT; s++) {
			uint32_t prev = NIL;
			bool bit = a->sl_map[f] & (1U << s);

			if (bit != (a->head[f][s] != NIL)) {
				fprintf(stderr, "arena: list %u/%u bitmap wrong\n", f, s);
				return -1;
			}
			for (uint32_t u = a->head[f][s]; u != NIL;
			     u = link_of(a, u)->next) {
				uint32_t t = tag_len(a, u), n = t & TAG_LEN;
				unsigned int cf, cs;

				if (!(t & TAG_FREE) || meta_owner(tag_meta(a, u)) ||
				    u + n > a->nunits ||
				    tag_len(a, u + n - 1) != t ||
				    link_of(a, u)->prev != prev) {
					fprintf(stderr, "arena: free extent at unit %u broken\n", u);
					return -1;
				}
				class_of(n, &cf, &cs);
				if (cf != f || cs != s) {
					fprintf(stderr, "arena: extent %u on wrong list\n", u);
					return -1;
				}
				total += n;
				prev = u;
			}
		}
		if (!!(a->fl_map & (1U << f)) != !!a->sl_map[f]) {
			fprintf(stderr, "arena: first-level bitmap wrong at %u\n", f);
			return -1;
		}
	}
	*free_units = total;
	return 0;
}
