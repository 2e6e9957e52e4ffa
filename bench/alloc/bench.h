/* SPDX-License-Identifier: GPL-2.0-only */
/* bench/alloc: allocators and workloads measured side by side. */
#ifndef BENCH_ALLOC_H
#define BENCH_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An allocator under test.  init() runs in the measuring child, once. */
struct allocator {
	const char *name;
	const char *what;	/* one line for the report */
	int (*init)(uint64_t region);
	void *(*alloc)(size_t len);
	void (*free)(void *p, size_t len);
	size_t (*consumed)(void *p, size_t len);	/* bytes set aside */
	/* Regions only: largest allocatable block and free bytes now. */
	int (*frag)(uint64_t *largest, uint64_t *free_bytes);
	/* Groups (SROG mode): a transaction's objects from one group. */
	bool grouped;
	void (*group_begin)(void *g, size_t hint);	/* g: GROUP_STORAGE */
	void *(*group_alloc)(void *g, size_t len);
	void (*group_end)(void *g);		/* releases everything */
};

extern const struct allocator *const allocators[];

/* pow2.c: a power-of-two slab allocator over a page buddy (what kmalloc
 * does); @with_96_192 adds today's kmalloc-96/192 caches. */
int pow2_init(uint64_t region, bool with_96_192);
void *pow2_alloc(size_t len);
void pow2_free(void *p, size_t len);
size_t pow2_size(size_t len);
int pow2_frag(uint64_t *largest, uint64_t *free_bytes);

/* workload.c */
#define TXN_MAX 4
#define GROUP_STORAGE 80
struct txn_shape {
	unsigned int n;
	size_t len[TXN_MAX];
};

struct workload {
	const char *name;
	const char *what;
	unsigned int window;	/* live transactions */
	/* Next transaction's shape; @rng is the caller's. */
	void (*next)(uint64_t *rng, struct txn_shape *t);
};

extern const struct workload workloads[];
extern const unsigned int nworkloads;

/* The netswapd trace: events in order. */
struct trace_ev {
	uint32_t id;		/* allocation id */
	uint32_t len;		/* 0 = free of @id */
};
int trace_load(const char *path, struct trace_ev **ev, size_t *n,
	       uint32_t *max_id);

static inline uint64_t xs64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
