// SPDX-License-Identifier: GPL-2.0-only
/*
 * The allocators under test, behind one interface.  jemalloc and tcmalloc
 * are loaded with dlmopen() into a link namespace of their own, so they
 * do not replace this process's malloc (glibc's, measured too) and their
 * own internal calls bind to themselves; each run happens in a child
 * process anyway, so nothing one allocator does shows in another's
 * numbers.  (jemalloc's initial-exec TLS needs static TLS room that a
 * late load only gets with glibc.rtld.optional_static_tls: main() sets
 * that tunable and re-executes itself.)
 */
#include <dlfcn.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/alloc/bench.h"
#include "lib/arena/arena.h"
#include "server/netswapd.h"

/* ---- the arena ---- */

static struct arena *A;

static int arena_init_shift(uint64_t region, unsigned int shift)
{
	struct arena_params p = { .bytes = region, .unit_shift = shift,
				  .max_threads = 16 };

	A = arena_create(&p);
	return A ? 0 : -1;
}

static int arena32_init(uint64_t region)
{
	return arena_init_shift(region, 5);
}

static int arena64_init(uint64_t region)
{
	return arena_init_shift(region, 6);
}

/* Every allocation by an owner whose reserve holds the live set, one
 * owner per thread (a connection belongs to one event loop): the path
 * netswapd's connections take. */
static uint64_t owner_reserve;
static _Thread_local struct arena_owner *O;

static int arena_owner_init(uint64_t region)
{
	if (arena_init_shift(region, 5))
		return -1;
	owner_reserve = region / 4 < (32ULL << 20) ? region / 4 : 32ULL << 20;
	return 0;
}

static void *owner_a(size_t len)
{
	if (!O && !(O = arena_owner_create(A, owner_reserve, "bench")))
		return NULL;
	return arena_alloc(A, O, len, 0);
}

static int arena16_init(uint64_t region)
{
	return arena_init_shift(region, 4);
}

static void *arena_a(size_t len)
{
	return arena_alloc(A, NULL, len, 0);
}

static void arena_f(void *p, size_t len)
{
	(void)len;
	arena_free(A, p);
}

static size_t arena_c(void *p, size_t len)
{
	(void)p;
	return arena_block_size(A, len);
}

static int arena_fr(uint64_t *largest, uint64_t *free_bytes)
{
	struct arena_stats st;

	arena_flush_caches(A);
	arena_stats(A, &st);
	*largest = st.largest_free;
	*free_bytes = st.free;
	return 0;
}

_Static_assert(sizeof(struct arena_group) <= GROUP_STORAGE, "group storage");

static void group_begin(void *g, size_t hint)
{
	arena_group_init(g, A, NULL, hint, 0);
}

static void *group_alloc(void *g, size_t len)
{
	return arena_group_alloc(g, len);
}

static void group_end(void *g)
{
	arena_group_release(g);
}

/* ---- power-of-two slabs ---- */

static int pow2_i(uint64_t region)
{
	return pow2_init(region, false);
}

static int kmalloc_i(uint64_t region)
{
	return pow2_init(region, true);
}

static size_t pow2_c(void *p, size_t len)
{
	(void)p;
	return pow2_size(len);
}

/* ---- malloc and friends ---- */

static void *(*m_alloc)(size_t);
static void (*m_free)(void *);
static size_t (*m_usable)(void *);
static size_t m_header;	/* bytes before the usable part */

static int glibc_init(uint64_t region)
{
	(void)region;
	m_alloc = malloc;
	m_free = free;
	m_usable = malloc_usable_size;
	m_header = 8;	/* a chunk's size field */
	return 0;
}

static int load(const char *lib, const char *ma, const char *fr,
		const char *us)
{
	void *h = dlmopen(LM_ID_NEWLM, lib, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "bench-alloc: %s\n", dlerror());
		return -1;
	}
	m_alloc = (void *(*)(size_t))dlsym(h, ma);
	m_free = (void (*)(void *))dlsym(h, fr);
	m_usable = (size_t (*)(void *))dlsym(h, us);
	m_header = 0;
	return m_alloc && m_free && m_usable ? 0 : -1;
}

static int jemalloc_init(uint64_t region)
{
	(void)region;
	return load("libjemalloc.so.2", "malloc", "free", "malloc_usable_size");
}

static int tcmalloc_init(uint64_t region)
{
	(void)region;
	return load("libtcmalloc_minimal.so.4", "tc_malloc", "tc_free",
		    "tc_malloc_size");
}

static void *m_a(size_t len)
{
	return m_alloc(len);
}

static void m_f(void *p, size_t len)
{
	(void)len;
	m_free(p);
}

static size_t m_c(void *p, size_t len)
{
	(void)len;
	return m_usable(p) + m_header;
}

static const struct allocator arena_nta = {
	"arena-32", "this arena, 32 B units (NTA mode)", arena32_init,
	arena_a, arena_f, arena_c, arena_fr, false, NULL, NULL, NULL,
};
static const struct allocator arena_nta64 = {
	"arena-64", "this arena, 64 B units (NTA mode)", arena64_init,
	arena_a, arena_f, arena_c, arena_fr, false, NULL, NULL, NULL,
};
static const struct allocator arena_nta16 = {
	"arena-16", "this arena, 16 B units (finer than NTA)", arena16_init,
	arena_a, arena_f, arena_c, arena_fr, false, NULL, NULL, NULL,
};
static const struct allocator arena_owner = {
	"arena-owner", "this arena, 32 B units, blocks from an owner's reserve (one owner per thread)",
	arena_owner_init, owner_a, arena_f, arena_c, NULL, false,
	NULL, NULL, NULL,
};
static const struct allocator arena_srog = {
	"arena-srog", "this arena, 32 B units, a group per transaction (SROG mode)",
	arena32_init, arena_a, arena_f, arena_c, arena_fr, true,
	group_begin, group_alloc, group_end,
};
static const struct allocator pow2 = {
	"pow2-slab", "power-of-two slabs over a page buddy (kmalloc, 2006)",
	pow2_i, pow2_alloc, pow2_free, pow2_c, pow2_frag, false, NULL, NULL, NULL,
};
static const struct allocator kmalloc = {
	"kmalloc", "the same with today's kmalloc-96 and -192 caches",
	kmalloc_i, pow2_alloc, pow2_free, pow2_c, pow2_frag, false, NULL, NULL, NULL,
};
static const struct allocator glibc = {
	"glibc", "glibc malloc (this process's)", glibc_init,
	m_a, m_f, m_c, NULL, false, NULL, NULL, NULL,
};
static const struct allocator jemalloc = {
	"jemalloc", "jemalloc (Debian libjemalloc2), dlmopen'ed", jemalloc_init,
	m_a, m_f, m_c, NULL, false, NULL, NULL, NULL,
};
static const struct allocator tcmalloc = {
	"tcmalloc", "tcmalloc_minimal (Debian gperftools), dlmopen'ed",
	tcmalloc_init, m_a, m_f, m_c, NULL, false, NULL, NULL, NULL,
};

const struct allocator *const allocators[] = {
	&arena_nta16, &arena_nta, &arena_nta64, &arena_srog, &arena_owner,
	&pow2, &kmalloc, &glibc, &jemalloc, &tcmalloc, NULL,
};
