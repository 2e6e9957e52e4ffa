// SPDX-License-Identifier: GPL-2.0-only
/*
 * arena_check(): the whole region walked block by block against the
 * lists, bins and counters.  For tests and the fuzzer; slow on purpose.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lib/arena/internal.h"

#define FAIL(...)                                 \
	do {                                      \
		fprintf(stderr, "arena_check: " __VA_ARGS__); \
		fputc('\n', stderr);              \
		goto out;                         \
	} while (0)

static const struct slice *in_slice(const struct arena_owner *o, uint32_t u,
				    uint32_t n)
{
	for (unsigned int i = 0; i < o->nslices; i++)
		if (u >= o->slice[i].start &&
		    u + n <= o->slice[i].start + o->slice[i].n)
			return &o->slice[i];
	return NULL;
}

/* Counts the cached blocks of @tc and checks their tags. */
static int count_cache(struct arena *a, struct tcache *tc, uint64_t *units)
{
	uint64_t held = 0;

	for (unsigned int i = 1; i < TC_BINS; i++) {
		struct tc_bin *b = &tc->bin[i];
		uint32_t count = 0;

		/* Small bins hold their index; large ones a size of their
		 * set, or nothing yet. */
		if (i <= TC_SMALL ? b->units != i :
		    b->units ? b->units <= TC_SMALL ||
			       b - tc_large_set(tc, b->units) > 1 ||
			       b < tc_large_set(tc, b->units) : b->head != NULL) {
			fprintf(stderr, "arena_check: cache %u bin %u holds size %u\n",
				tc->id, i, b->units);
			return -1;
		}

		for (void *p = b->head; p; p = *(void **)p) {
			uint32_t u = (uint32_t)(((char *)p - a->base) >> a->shift);
			uint32_t m = tag_meta(a, u);

			if ((tag_len(a, u) & TAG_LEN) != b->units ||
			    !(m & META_CACHED) || meta_origin(m) != tc->id) {
				fprintf(stderr, "arena_check: cache %u bin %u: bad block %u\n",
					tc->id, b->units, u);
				return -1;
			}
			held += b->units;
			count++;
		}
		if (b->left > tc->max[i] || count != tc->max[i] - b->left) {
			fprintf(stderr, "arena_check: cache %u bin %u: %u blocks, max %u, left %u\n",
				tc->id, b->units, count, tc->max[i], b->left);
			return -1;
		}
	}
	/* The cap: what the bins hold is what the cache may no longer take. */
	if (held + ld(&tc->room) != a->tc_cap) {
		fprintf(stderr, "arena_check: cache %u holds %llu units, room %llu, cap %llu\n",
			tc->id, (unsigned long long)held,
			(unsigned long long)ld(&tc->room),
			(unsigned long long)a->tc_cap);
		return -1;
	}
	*units += held;
	for (void *p = atomic_load(&tc->remote); p; p = *(void **)p)
		*units += tag_len(a, (uint32_t)(((char *)p - a->base) >> a->shift)) & TAG_LEN;
	return 0;
}

int arena_check(struct arena *a)
{
	uint64_t core = 0, listed = 0, used = 0, req = 0, cached = 0, bins = 0;
	uint64_t *res_free = calloc(a->max_owners + 1, sizeof(*res_free));
	bool prev_common_free = false;
	struct arena_stats st;
	int rc = -1;

	if (!res_free)
		return -1;
	pthread_mutex_lock(&a->lock);
	if (ext_check_lists(a, &listed))
		goto out;
	for (uint32_t u = 0; u < a->nunits;) {
		uint32_t t = tag_len(a, u), m = tag_meta(a, u), n = t & TAG_LEN;
		unsigned int id = meta_owner(m);

		if (!n || u + n > a->nunits || tag_len(a, u + n - 1) != t)
			FAIL("block at unit %u: bad tags", u);
		if (id > a->max_owners)
			FAIL("block at unit %u: owner %u", u, id);
		if ((t & TAG_FREE) && !id) {
			if (prev_common_free)
				FAIL("free neighbours not merged at unit %u", u);
			core += n;
		} else if (t & TAG_FREE) {
			struct arena_owner *o = &a->owners[id - 1];

			if (!o->live || !in_slice(o, u, n) ||
			    meta_owner(tag_meta(a, u + n - 1)) != id)
				FAIL("reserve extent at unit %u outside owner %u", u, id);
			res_free[id] += n;
		} else if ((m & META_CACHED) && (m & META_RESV)) {
			/* On an owner's bin: free reserve, unmerged. */
			if (!id || !a->owners[id - 1].live ||
			    !in_slice(&a->owners[id - 1], u, n))
				FAIL("binned reserve block at unit %u outside owner %u", u, id);
			res_free[id] += n;
		} else if (m & META_CACHED) {
			cached += n;
		} else {
			if ((m & META_RESV) &&
			    (!id || (a->owners[id - 1].live &&
				     !in_slice(&a->owners[id - 1], u, n))))
				FAIL("reserve block at unit %u outside owner %u", u, id);
			used += n;
			req += ((uint64_t)n << a->shift) - meta_slack(m);
		}
		prev_common_free = (t & TAG_FREE) && !id;
		u += n;
	}
	if (core != listed || core != ld(&a->core_free))
		FAIL("free units: walk %llu, lists %llu, counter %llu",
		     (unsigned long long)core, (unsigned long long)listed,
		     (unsigned long long)ld(&a->core_free));
	for (unsigned int i = 0; i < a->max_owners; i++) {
		struct arena_owner *o = &a->owners[i];
		uint64_t walked = 0;

		if (!o->live)
			continue;
		for (uint32_t u = o->head; u != NIL; u = link_of(a, u)->next)
			walked += tag_len(a, u) & TAG_LEN;
		for (unsigned int b = 0; b < OWNER_BINS; b++) {
			uint32_t count = 0;

			for (void *p = o->bin[b].head; p; p = *(void **)p) {
				uint32_t u = (uint32_t)(((char *)p - a->base) >> a->shift);

				if ((tag_len(a, u) & TAG_LEN) != o->bin[b].units)
					FAIL("owner %u: binned block of the wrong size", o->id);
				walked += o->bin[b].units;
				count++;
			}
			if (count != o->bin[b].count)
				FAIL("owner %u: bin count %u, %u blocks", o->id,
				     o->bin[b].count, count);
		}
		if (walked != res_free[o->id] || walked != ld(&o->res_free))
			FAIL("owner %u: reserve free %llu walked, %llu tagged, %llu counted",
			     o->id, (unsigned long long)walked,
			     (unsigned long long)res_free[o->id],
			     (unsigned long long)ld(&o->res_free));
	}
	for (unsigned int i = 1; i <= a->max_tcs; i++)
		if (count_cache(a, &a->tcs[i], &bins))
			goto out;
	if (bins != cached)
		FAIL("cached units: walk %llu, bins %llu",
		     (unsigned long long)cached, (unsigned long long)bins);
	rc = 0;
out:
	pthread_mutex_unlock(&a->lock);
	free(res_free);
	if (rc)
		return rc;
	arena_stats(a, &st);
	if (st.used != used << a->shift || st.requested != req ||
	    st.cached != cached << a->shift ||
	    st.free != core << a->shift ||
	    st.used + st.reserved + st.cached + st.free != st.capacity) {
		fprintf(stderr, "arena_check: stats disagree: walk used %llu req %llu cached %llu free %llu; ",
			(unsigned long long)(used << a->shift),
			(unsigned long long)req,
			(unsigned long long)(cached << a->shift),
			(unsigned long long)(core << a->shift));
		{
			char buf[512];

			arena_stats_format(&st, buf, sizeof(buf));
			fprintf(stderr, "stats %s\n", buf);
		}
		return -1;
	}
	return 0;
}
