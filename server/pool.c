// SPDX-License-Identifier: GPL-2.0-only
/*
 * The bounded buffer pool: one region of --buffer-memory bytes reserved up
 * front and carved by a buddy allocator into power-of-two blocks of 4 KiB and
 * up.  Bookkeeping lives in a side table rather than inside free blocks, so a
 * block that was never handed out never becomes resident: RSS follows what
 * clients really have in flight, and never exceeds the region.
 *
 * A caller that cannot be served registers as a waiter in the same critical
 * section, so a free racing with the failed attempt cannot be missed.
 *
 * Two classes share the region: data (request and reply payloads) may not
 * use its last @reserve bytes, control (handshake replies, request slots)
 * may.  However many clients stop reading their replies and pin payload
 * buffers, new clients can still negotiate and memory exports, which need
 * no payload buffers, keep serving.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "netswapd.h"

#define NIL UINT32_MAX
#define MAX_ORDERS 32
#define MAX_WAITERS 256

struct block_info {
	uint32_t prev, next;	/* free-list links (block indices) */
	uint8_t order;
	uint8_t is_free;
};

struct nsd_pool {
	pthread_mutex_t lock;
	char *base;
	uint64_t capacity;	/* bytes managed */
	uint32_t nblocks;	/* 4 KiB units */
	unsigned int max_order;
	struct block_info *info;
	uint32_t free_head[MAX_ORDERS];
	uint64_t used;
	uint64_t reserve;	/* bytes only control allocations may use */
	pool_wake_fn wake;
	void *wake_arg;
	atomic_bool any_waiting;
	uint8_t waiting[MAX_WAITERS];
};

static unsigned int order_of(size_t len)
{
	unsigned int order = 0;

	while (((size_t)1 << (order + POOL_MIN_SHIFT)) < len)
		order++;
	return order;
}

size_t pool_block_size(size_t len)
{
	return (size_t)1 << (order_of(len) + POOL_MIN_SHIFT);
}

static void list_push(struct nsd_pool *p, uint32_t idx, unsigned int order)
{
	struct block_info *b = &p->info[idx];
	uint32_t head = p->free_head[order];

	b->order = (uint8_t)order;
	b->is_free = 1;
	b->prev = NIL;
	b->next = head;
	if (head != NIL)
		p->info[head].prev = idx;
	p->free_head[order] = idx;
}

static void list_remove(struct nsd_pool *p, uint32_t idx)
{
	struct block_info *b = &p->info[idx];

	if (b->prev != NIL)
		p->info[b->prev].next = b->next;
	else
		p->free_head[b->order] = b->next;
	if (b->next != NIL)
		p->info[b->next].prev = b->prev;
	b->is_free = 0;
}

struct nsd_pool *pool_create(uint64_t bytes, unsigned int max_shift)
{
	struct nsd_pool *p = calloc(1, sizeof(*p));
	uint32_t idx = 0;

	if (!p || max_shift < POOL_MIN_SHIFT ||
	    max_shift - POOL_MIN_SHIFT >= MAX_ORDERS)
		goto fail;
	p->max_order = max_shift - POOL_MIN_SHIFT;
	p->nblocks = (uint32_t)(bytes >> POOL_MIN_SHIFT);
	p->capacity = (uint64_t)p->nblocks << POOL_MIN_SHIFT;
	if (!p->nblocks)
		goto fail;
	p->base = mmap(NULL, p->capacity, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->base == MAP_FAILED) {
		p->base = NULL;
		goto fail;
	}
	p->info = calloc(p->nblocks, sizeof(*p->info));
	if (!p->info)
		goto fail;
	pthread_mutex_init(&p->lock, NULL);
	for (unsigned int i = 0; i < MAX_ORDERS; i++)
		p->free_head[i] = NIL;
	/* Carve the region into the largest aligned blocks that fit. */
	while (idx < p->nblocks) {
		unsigned int order = p->max_order;

		while ((idx & ((1U << order) - 1)) ||
		       idx + (1U << order) > p->nblocks)
			order--;
		list_push(p, idx, order);
		idx += 1U << order;
	}
	return p;
fail:
	pool_destroy(p);
	return NULL;
}

void pool_destroy(struct nsd_pool *p)
{
	if (!p)
		return;
	if (p->base)
		munmap(p->base, p->capacity);
	free(p->info);
	free(p);
}

static void *alloc_locked(struct nsd_pool *p, unsigned int order,
			  enum pool_class cls)
{
	uint64_t size = (uint64_t)1 << (order + POOL_MIN_SHIFT);
	unsigned int k = order;
	uint32_t idx;

	if (cls == POOL_DATA && p->used + size > p->capacity - p->reserve)
		return NULL;
	while (k <= p->max_order && p->free_head[k] == NIL)
		k++;
	if (k > p->max_order)
		return NULL;
	idx = p->free_head[k];
	list_remove(p, idx);
	while (k > order) {
		k--;
		list_push(p, idx + (1U << k), k);
	}
	p->info[idx].order = (uint8_t)order;
	p->used += (uint64_t)1 << (order + POOL_MIN_SHIFT);
	return p->base + ((uint64_t)idx << POOL_MIN_SHIFT);
}

void *pool_alloc(struct nsd_pool *p, size_t len)
{
	unsigned int order = order_of(len);
	void *ptr;

	if (order > p->max_order)
		return NULL;
	pthread_mutex_lock(&p->lock);
	ptr = alloc_locked(p, order, POOL_CONTROL);
	pthread_mutex_unlock(&p->lock);
	return ptr;
}

/* As pool_alloc(), but on failure @waiter is woken by the next free. */
void *pool_alloc_or_wait(struct nsd_pool *p, size_t len, unsigned int waiter,
			 enum pool_class cls)
{
	unsigned int order = order_of(len);
	void *ptr;

	if (order > p->max_order)
		return NULL;
	pthread_mutex_lock(&p->lock);
	ptr = alloc_locked(p, order, cls);
	if (!ptr && waiter < MAX_WAITERS) {
		p->waiting[waiter] = 1;
		atomic_store(&p->any_waiting, true);
	}
	pthread_mutex_unlock(&p->lock);
	return ptr;
}

void pool_free(struct nsd_pool *p, void *ptr, size_t len)
{
	uint32_t idx = (uint32_t)(((char *)ptr - p->base) >> POOL_MIN_SHIFT);
	unsigned int order = order_of(len);
	uint8_t wake[MAX_WAITERS];
	bool any = false;

	pthread_mutex_lock(&p->lock);
	p->used -= (uint64_t)1 << (order + POOL_MIN_SHIFT);
	while (order < p->max_order) {
		uint32_t buddy = idx ^ (1U << order);

		if (buddy >= p->nblocks || !p->info[buddy].is_free ||
		    p->info[buddy].order != order)
			break;
		list_remove(p, buddy);
		idx &= ~(1U << order);
		order++;
	}
	list_push(p, idx, order);
	if (atomic_load_explicit(&p->any_waiting, memory_order_relaxed)) {
		memcpy(wake, p->waiting, sizeof(wake));
		memset(p->waiting, 0, sizeof(p->waiting));
		atomic_store(&p->any_waiting, false);
		any = true;
	}
	pthread_mutex_unlock(&p->lock);
	if (!any || !p->wake)
		return;
	for (unsigned int i = 0; i < MAX_WAITERS; i++)
		if (wake[i])
			p->wake(p->wake_arg, i);
}

void pool_set_reserve(struct nsd_pool *p, uint64_t bytes)
{
	p->reserve = bytes < p->capacity ? bytes : p->capacity;
}

uint64_t pool_data_capacity(struct nsd_pool *p)
{
	return p->capacity - p->reserve;
}

void pool_set_waker(struct nsd_pool *p, pool_wake_fn fn, void *arg)
{
	p->wake = fn;
	p->wake_arg = arg;
}

uint64_t pool_used(struct nsd_pool *p)
{
	uint64_t u;

	pthread_mutex_lock(&p->lock);
	u = p->used;
	pthread_mutex_unlock(&p->lock);
	return u;
}

uint64_t pool_capacity(struct nsd_pool *p)
{
	return p->capacity;
}

size_t pool_max_alloc(struct nsd_pool *p)
{
	uint64_t top = (uint64_t)1 << (p->max_order + POOL_MIN_SHIFT);

	while (top > p->capacity)
		top >>= 1;
	return (size_t)top;
}
