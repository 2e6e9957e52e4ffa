// SPDX-License-Identifier: GPL-2.0-only
/*
 * Worker threads for file I/O that may block (cache misses, fdatasync,
 * fallocate), so a slow disk never stalls the event loops and the memory
 * exports they serve.  Each connection queues its requests in order, and
 * the workers take one request per connection in turn: a client with 128
 * large writes queued delays another client's single write by at most one
 * of them, not by all.  Results go back through loop_post_completion().
 */
#include <pthread.h>
#include <stdlib.h>

#include "netswapd.h"

struct nsd_workers {
	pthread_mutex_t lock;	/* also guards every conn's wq_* fields */
	pthread_cond_t cond;
	struct nsd_conn *turn_head, *turn_tail;	/* conns with queued work */
	bool stop;
	unsigned int n;
	pthread_t threads[];
};

/* @c to the back of the line.  Lock held. */
static void turn_append(struct nsd_workers *w, struct nsd_conn *c)
{
	c->wq_next = NULL;
	if (w->turn_tail)
		w->turn_tail->wq_next = c;
	else
		w->turn_head = c;
	w->turn_tail = c;
}

/* The next connection in turn gives up its oldest request.  Lock held. */
static struct nsd_req *take(struct nsd_workers *w)
{
	struct nsd_conn *c = w->turn_head;
	struct nsd_req *r;

	if (!c)
		return NULL;
	w->turn_head = c->wq_next;
	if (!w->turn_head)
		w->turn_tail = NULL;
	r = c->wq_head;
	c->wq_head = r->next;
	if (c->wq_head) {
		turn_append(w, c);	/* more to do */
	} else {
		c->wq_tail = NULL;
		c->wq_queued = false;
	}
	return r;
}

static void *worker_main(void *arg)
{
	struct nsd_workers *w = arg;

	for (;;) {
		struct nsd_req *r;

		pthread_mutex_lock(&w->lock);
		while (!w->turn_head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		r = take(w);
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
	struct nsd_conn *c = r->conn;

	r->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (c->wq_tail)
		c->wq_tail->next = r;
	else
		c->wq_head = r;
	c->wq_tail = r;
	if (!c->wq_queued) {
		c->wq_queued = true;
		turn_append(w, c);
	}
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
