// SPDX-License-Identifier: GPL-2.0-only
/*
 * Worker threads for file I/O that may block (cache misses, fdatasync,
 * fallocate), so a slow disk never stalls the event loops and the memory
 * exports they serve.  One FIFO queue; results go back through
 * loop_post_completion().
 */
#include <pthread.h>
#include <stdlib.h>

#include "netswapd.h"

struct nsd_workers {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nsd_req *head, *tail;
	bool stop;
	unsigned int n;
	pthread_t threads[];
};

static void *worker_main(void *arg)
{
	struct nsd_workers *w = arg;

	for (;;) {
		struct nsd_req *r;

		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		r = w->head;
		if (r) {
			w->head = r->next;
			if (!w->head)
				w->tail = NULL;
		}
		pthread_mutex_unlock(&w->lock);
		if (!r)
			return NULL;	/* stopping and drained */
		req_execute_blocking(r);
	}
}

struct nsd_workers *workers_start(unsigned int n)
{
	struct nsd_workers *w = calloc(1, sizeof(*w) + n * sizeof(pthread_t));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, worker_main, w))
			break;
	if (w->n == 0) {
		free(w);
		return NULL;
	}
	return w;
}

void workers_submit(struct nsd_workers *w, struct nsd_req *r)
{
	r->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->tail)
		w->tail->next = r;
	else
		w->head = r;
	w->tail = r;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Finishes the queue, then joins: in-flight requests still complete. */
void workers_stop(struct nsd_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w);
}
