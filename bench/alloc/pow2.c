// SPDX-License-Identifier: GPL-2.0-only
/*
 * The power-of-two slab, for comparison: what kmalloc does.  Objects up to
 * 8 KiB come from slabs of one size class (32, 64, 128, ... 8192 bytes;
 * optionally the 96 and 192 caches today's kmalloc also has), a slab being
 * a block of pages holding objects of its class only; larger requests take
 * a power-of-two number of 4 KiB pages from a buddy allocator.  An empty
 * slab goes back to the buddy at once.  One lock: Linux's per-CPU slabs
 * are not modelled, this allocator is here for its rounding and its
 * fragmentation, not its speed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bench/alloc/bench.h"

#define PAGE_SHIFT 12
#define MAX_ORDER 20		/* 4 GiB */
#define NIL UINT32_MAX
#define SLAB_MAX 8192

enum { P_FREE = 1, P_SLAB, P_LARGE, P_TAIL };

struct page {
	uint32_t prev, next;	/* buddy free list, or partial slab list */
	uint32_t head;		/* first page of the block this page is in */
	uint8_t order;
	uint8_t kind;
	uint16_t cls;
	uint16_t inuse, total;
	void *freelist;		/* slab: free objects, linked through them */
};

static struct {
	pthread_mutex_t lock;
	char *base;
	uint32_t npages;
	struct page *pg;
	uint32_t free_head[MAX_ORDER + 1];
	uint32_t partial[16];
	unsigned int ncls;
	size_t cls_size[16];
	uint64_t free_pages;
} P = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void list_push(uint32_t *head, uint32_t i)
{
	P.pg[i].prev = NIL;
	P.pg[i].next = *head;
	if (*head != NIL)
		P.pg[*head].prev = i;
	*head = i;
}

static void list_del(uint32_t *head, uint32_t i)
{
	if (P.pg[i].prev != NIL)
		P.pg[P.pg[i].prev].next = P.pg[i].next;
	else
		*head = P.pg[i].next;
	if (P.pg[i].next != NIL)
		P.pg[P.pg[i].next].prev = P.pg[i].prev;
}

static void mark(uint32_t i, unsigned int order, uint8_t kind)
{
	P.pg[i].order = (uint8_t)order;
	P.pg[i].kind = kind;
	P.pg[i].head = i;
}

static uint32_t pages_alloc(unsigned int order)
{
	unsigned int k = order;
	uint32_t i;

	while (k <= MAX_ORDER && P.free_head[k] == NIL)
		k++;
	if (k > MAX_ORDER)
		return NIL;
	i = P.free_head[k];
	list_del(&P.free_head[k], i);
	while (k > order) {
		k--;
		mark(i + (1U << k), k, P_FREE);
		list_push(&P.free_head[k], i + (1U << k));
	}
	P.free_pages -= 1U << order;
	return i;
}

static void pages_free(uint32_t i, unsigned int order)
{
	P.free_pages += 1U << order;
	while (order < MAX_ORDER) {
		uint32_t b = i ^ (1U << order);

		if (b >= P.npages || P.pg[b].kind != P_FREE ||
		    P.pg[b].order != order || P.pg[b].head != b)
			break;
		list_del(&P.free_head[order], b);
		P.pg[b].kind = 0;
		i &= ~(1U << order);
		order++;
	}
	mark(i, order, P_FREE);
	list_push(&P.free_head[order], i);
}

int pow2_init(uint64_t region, bool with_96_192)
{
	uint32_t i = 0;

	P.npages = (uint32_t)(region >> PAGE_SHIFT);
	P.base = mmap(NULL, (size_t)P.npages << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	P.pg = mmap(NULL, (size_t)P.npages * sizeof(struct page),
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (P.base == MAP_FAILED || P.pg == MAP_FAILED)
		return -1;
	for (unsigned int k = 0; k <= MAX_ORDER; k++)
		P.free_head[k] = NIL;
	P.ncls = 0;
	for (size_t s = 32; s <= SLAB_MAX; s *= 2) {
		if (with_96_192 && (s == 128 || s == 256))
			P.cls_size[P.ncls++] = s / 4 * 3;
		P.cls_size[P.ncls++] = s;
	}
	for (unsigned int c = 0; c < P.ncls; c++)
		P.partial[c] = NIL;
	while (i < P.npages) {
		unsigned int order = MAX_ORDER;

		while ((i & ((1U << order) - 1)) || i + (1U << order) > P.npages)
			order--;
		pages_free(i, order);
		i += 1U << order;
	}
	return 0;
}

static unsigned int cls_of(size_t len)
{
	unsigned int c = 0;

	while (P.cls_size[c] < len)
		c++;
	return c;
}

static unsigned int order_of(size_t bytes)
{
	unsigned int o = 0;

	while (((size_t)1 << (o + PAGE_SHIFT)) < bytes)
		o++;
	return o;
}

/* Slabs hold at least 8 objects (one page for the small classes). */
static unsigned int slab_order(size_t size)
{
	return order_of(size * 8 < 4096 ? 4096 : size * 8);
}

size_t pow2_size(size_t len)
{
	if (!len)
		len = 1;
	if (len <= SLAB_MAX)
		return P.ncls ? P.cls_size[cls_of(len)] : 0;
	return (size_t)1 << (order_of(len) + PAGE_SHIFT);
}

void *pow2_alloc(size_t len)
{
	void *obj = NULL;
	uint32_t i;

	if (!len)
		len = 1;
	pthread_mutex_lock(&P.lock);
	if (len > SLAB_MAX) {
		unsigned int o = order_of(len);

		i = pages_alloc(o);
		if (i != NIL) {
			mark(i, o, P_LARGE);
			obj = P.base + ((size_t)i << PAGE_SHIFT);
		}
	} else {
		unsigned int c = cls_of(len);
		size_t size = P.cls_size[c];

		i = P.partial[c];
		if (i == NIL) {
			unsigned int o = slab_order(size);
			char *mem;

			i = pages_alloc(o);
			if (i == NIL)
				goto out;
			mark(i, o, P_SLAB);
			for (uint32_t t = 1; t < (1U << o); t++) {
				P.pg[i + t].head = i;
				P.pg[i + t].kind = P_TAIL;
			}
			P.pg[i].cls = (uint16_t)c;
			P.pg[i].total = (uint16_t)(((size_t)1 << (o + PAGE_SHIFT)) / size);
			P.pg[i].inuse = 0;
			P.pg[i].freelist = NULL;
			mem = P.base + ((size_t)i << PAGE_SHIFT);
			for (int k = P.pg[i].total - 1; k >= 0; k--) {
				*(void **)(mem + (size_t)k * size) = P.pg[i].freelist;
				P.pg[i].freelist = mem + (size_t)k * size;
			}
			list_push(&P.partial[c], i);
		}
		obj = P.pg[i].freelist;
		P.pg[i].freelist = *(void **)obj;
		if (++P.pg[i].inuse == P.pg[i].total)
			list_del(&P.partial[c], i);
	}
out:
	pthread_mutex_unlock(&P.lock);
	return obj;
}

void pow2_free(void *p, size_t len)
{
	uint32_t i = (uint32_t)(((char *)p - P.base) >> PAGE_SHIFT);
	struct page *h;

	(void)len;
	pthread_mutex_lock(&P.lock);
	i = P.pg[i].head;
	h = &P.pg[i];
	if (h->kind == P_LARGE) {
		pages_free(i, h->order);
	} else {
		unsigned int c = h->cls;

		*(void **)p = h->freelist;
		h->freelist = p;
		if (h->inuse-- == h->total)
			list_push(&P.partial[c], i);
		if (!h->inuse) {
			list_del(&P.partial[c], i);
			pages_free(i, h->order);
		}
	}
	pthread_mutex_unlock(&P.lock);
}

/* Free bytes: free pages plus free objects in partial slabs. */
int pow2_frag(uint64_t *largest, uint64_t *free_bytes)
{
	uint64_t objs = 0;
	int top = -1;

	pthread_mutex_lock(&P.lock);
	for (int k = MAX_ORDER; k >= 0 && top < 0; k--)
		if (P.free_head[k] != NIL)
			top = k;
	for (unsigned int c = 0; c < P.ncls; c++)
		for (uint32_t i = P.partial[c]; i != NIL; i = P.pg[i].next)
			objs += (uint64_t)(P.pg[i].total - P.pg[i].inuse) *
				P.cls_size[c];
	*free_bytes = (P.free_pages << PAGE_SHIFT) + objs;
	*largest = top >= 0 ? (uint64_t)1 << (top + PAGE_SHIFT) : 0;
	if (top < 0 || *largest < SLAB_MAX) {
		/* No free pages to speak of: a free object of the largest
		 * class with one is what can still be allocated. */
		for (unsigned int c = 0; c < P.ncls; c++)
			if (P.partial[c] != NIL && P.cls_size[c] > *largest)
				*largest = P.cls_size[c];
	}
	pthread_mutex_unlock(&P.lock);
	return 0;
}
