// SPDX-License-Identifier: GPL-2.0-only
/*
 * One event-loop thread: an epoll set of its connections plus an eventfd
 * through which other threads hand it new connections, finished file
 * requests and "the pool has memory again".  An iteration reads events,
 * runs connections that have input (each with a budget, so one busy client
 * cannot starve the others), then sends every reply produced in that
 * iteration in one batch per connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "netswapd.h"

#define MAX_EVENTS 256
#define SHUTDOWN_GRACE_MS 10000

int64_t loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t loop_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

int loop_init(struct nsd_loop *l, struct nsd_server *srv, unsigned int id)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	memset(l, 0, sizeof(*l));
	l->id = id;
	l->srv = srv;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->epfd < 0 || l->evfd < 0 ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev)) {
		loop_destroy(l);
		return -1;
	}
	pthread_mutex_init(&l->lock, NULL);
	return 0;
}

static void answer_snapshot(struct nsd_loop *l, struct nsd_snapshot *s);

void loop_destroy(struct nsd_loop *l)
{
	if (l->snapshot) {	/* a scrape that raced with the stop */
		answer_snapshot(l, l->snapshot);
		l->snapshot = NULL;
	}
	if (l->epfd > 0)
		close(l->epfd);
	if (l->evfd > 0)
		close(l->evfd);
	l->epfd = l->evfd = -1;
}

void loop_wake(struct nsd_loop *l)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(l->evfd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

void loop_add_conn(struct nsd_loop *l, struct nsd_conn *c)
{
	pthread_mutex_lock(&l->lock);
	c->next = l->new_conns;
	l->new_conns = c;
	pthread_mutex_unlock(&l->lock);
	loop_wake(l);
}

void loop_post_completion(struct nsd_loop *l, struct nsd_req *r)
{
	bool first;

	pthread_mutex_lock(&l->lock);
	first = !l->completions;
	r->next = l->completions;
	l->completions = r;
	pthread_mutex_unlock(&l->lock);
	if (first)
		loop_wake(l);
}

void loop_pool_wake(struct nsd_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->pool_wake = true;
	pthread_mutex_unlock(&l->lock);
	loop_wake(l);
}

void loop_stop(struct nsd_loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop_requested = true;
	pthread_mutex_unlock(&l->lock);
	loop_wake(l);
}

void loop_mark_ready(struct nsd_loop *l, struct nsd_conn *c)
{
	if (c->in_ready || c->closing >= CONN_ABORTED)
		return;
	c->in_ready = true;
	c->ready_next = l->ready;
	l->ready = c;
}

void loop_mark_dirty(struct nsd_loop *l, struct nsd_conn *c)
{
	if (c->in_dirty || c->closing >= CONN_LINGERING)
		return;
	c->in_dirty = true;
	c->dirty_next = l->dirty;
	l->dirty = c;
}

void loop_wait_pool(struct nsd_loop *l, struct nsd_conn *c)
{
	c->rx_wait |= RX_WAIT_POOL;
	if (c->in_wait)
		return;
	c->in_wait = true;
	c->wait_next = NULL;
	if (l->pool_waiters_tail)
		l->pool_waiters_tail->wait_next = c;
	else
		l->pool_waiters = c;
	l->pool_waiters_tail = c;
}

static void unwait_pool(struct nsd_loop *l, struct nsd_conn *c)
{
	struct nsd_conn **pp = &l->pool_waiters, *prev = NULL;

	while (*pp && *pp != c) {
		prev = *pp;
		pp = &(*pp)->wait_next;
	}
	if (!*pp)
		return;
	*pp = c->wait_next;
	if (l->pool_waiters_tail == c)
		l->pool_waiters_tail = prev;
	c->in_wait = false;
}

/* Unlinks a closed connection; it is freed once no list still holds it. */
void loop_bury(struct nsd_loop *l, struct nsd_conn *c)
{
	if (c->in_wait)
		unwait_pool(l, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = l->grave;
	c->prev = NULL;
	l->grave = c;
	l->nconns--;
	atomic_fetch_sub(&l->srv->nconns, 1);
}

static void free_grave(struct nsd_loop *l)
{
	struct nsd_conn **pp = &l->grave;

	while (*pp) {
		struct nsd_conn *c = *pp;

		if (c->in_ready || c->in_dirty || c->in_wait) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		conn_destroy(c);
	}
}

static void take_inbox(struct nsd_loop *l)
{
	struct nsd_conn *conns;
	struct nsd_req *done;
	struct nsd_snapshot *snap;
	bool pool_wake, stop;
	uint64_t v;

	if (read(l->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("loop %u: eventfd: %s", l->id, strerror(errno));
	pthread_mutex_lock(&l->lock);
	conns = l->new_conns;
	done = l->completions;
	pool_wake = l->pool_wake;
	stop = l->stop_requested;
	snap = l->snapshot;
	l->snapshot = NULL;
	l->new_conns = NULL;
	l->completions = NULL;
	l->pool_wake = false;
	pthread_mutex_unlock(&l->lock);

	while (conns) {
		struct nsd_conn *c = conns;

		conns = c->next;
		c->deadline_ms = loop_now_ms() +
				 1000LL * l->srv->cfg->handshake_timeout;
		conn_attach(c, l);
		if (l->stopping)
			hs_shutdown(c);
	}
	while (done) {
		struct nsd_req *r = done;

		done = r->next;
		req_finish(r);
	}
	if (pool_wake) {
		/* Everyone waiting retries; whoever still misses waits again. */
		struct nsd_conn *c = l->pool_waiters;

		l->pool_waiters = l->pool_waiters_tail = NULL;
		while (c) {
			struct nsd_conn *next = c->wait_next;

			c->in_wait = false;
			conn_resume(c, RX_WAIT_POOL);
			c = next;
		}
	}
	if (stop && !l->stopping)
		loop_begin_stop(l);
	if (snap)
		answer_snapshot(l, snap);
}

void loop_begin_stop(struct nsd_loop *l)
{
	l->stopping = true;
	l->stop_deadline_ms = loop_now_ms() + SHUTDOWN_GRACE_MS;
	l->next_tick_ms = 0;	/* idle clients are closed at once */
	for (struct nsd_conn *c = l->conns, *next; c; c = next) {
		next = c->next;
		if (c->phase == PHASE_HANDSHAKE) {
			hs_shutdown(c);	/* NBD_REP_ERR_SHUTDOWN */
			continue;
		}
		/* Requests already read are finished and answered, later ones
		 * get ESHUTDOWN; a quiet client is closed (check_timers). */
		loop_mark_ready(l, c);
	}
}

/* Others have recently waited for payload memory. */
static bool pool_contended(struct nsd_server *srv, int64_t now)
{
	return now - atomic_load(&srv->pool_starved_ms) < 2000;
}

static void check_timers(struct nsd_loop *l, int64_t now)
{
	int64_t send_ms = 1000LL * l->srv->cfg->send_timeout;
	bool contended = pool_contended(l->srv, now);

	for (struct nsd_conn *c = l->conns, *next; c; c = next) {
		next = c->next;
		if (l->stopping && now >= l->stop_deadline_ms)
			conn_fail(c, "shutdown grace period over");
		else if (c->closing == CONN_LINGERING &&
			 now >= c->linger_until_ms)
			conn_fail(c, NULL);	/* it had its chance to close */
		else if (l->stopping)
			conn_drain_if_quiet(c, now);
		else if (c->phase == PHASE_HANDSHAKE && c->deadline_ms &&
			 now >= c->deadline_ms)
			conn_fail(c, "handshake timed out");
		else if (contended && c->pool_held && c->tx_stalled_ms &&
			 now - c->tx_stalled_ms >= send_ms)
			/* Its buffers are what the others are waiting for. */
			conn_fail(c, "replies not taken while others wait for memory");
		else if (contended && c->rx == RX_PAYLOAD && c->rx_req &&
			 c->rx_req->buf && now - c->rx_progress_ms >= send_ms)
			/* Likewise a buffer waiting for a payload that stalls. */
			conn_fail(c, "payload stalled while others wait for memory");
	}
}

static void run_ready(struct nsd_loop *l)
{
	struct nsd_conn *c = l->ready;

	l->ready = NULL;
	while (c) {
		struct nsd_conn *next = c->ready_next;

		c->in_ready = false;
		conn_process(c);
		c = next;
	}
}

static void run_dirty(struct nsd_loop *l)
{
	/* Replies sent from here on were sent now (their latency). */
	if (l->dirty)
		l->now_us = loop_now_us();
	/* Flushing frees slots and resumes readers, which may queue more. */
	while (l->dirty) {
		struct nsd_conn *c = l->dirty;

		l->dirty = NULL;
		while (c) {
			struct nsd_conn *next = c->dirty_next;

			c->in_dirty = false;
			conn_flush(c);
			c = next;
		}
	}
}

int loop_run_once(struct nsd_loop *l, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int64_t now;
	int n;

	if (l->ready || l->dirty)
		timeout_ms = 0;
	n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0 && errno != EINTR)
		return -1;
	l->now_ms = loop_now_ms();
	l->now_us = loop_now_us();
	for (int i = 0; i < n; i++) {
		struct nsd_conn *c = evs[i].data.ptr;
		uint32_t e = evs[i].events;

		if (!c) {
			take_inbox(l);
			continue;
		}
		if (c->closing == CONN_CLOSED)
			continue;
		if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->rdhup = true;
		if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			c->can_read = true;
			loop_mark_ready(l, c);
		}
		if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
			c->can_write = true;
			loop_mark_dirty(l, c);
		}
	}
	run_ready(l);
	run_dirty(l);
	now = l->now_ms;
	if (now >= l->next_tick_ms) {
		check_timers(l, now);
		run_dirty(l);
		l->next_tick_ms = now + 1000;
	}
	free_grave(l);
	return 0;
}

static void *loop_main(void *arg)
{
	struct nsd_loop *l = arg;

	while (!(l->stopping && l->nconns == 0 && !l->grave))
		if (loop_run_once(l, 1000) < 0) {
			log_err("loop %u: epoll_wait: %s", l->id,
				strerror(errno));
			break;
		}
	return NULL;
}

int loop_start(struct nsd_loop *l)
{
	if (pthread_create(&l->thread, NULL, loop_main, l))
		return -1;
	l->started = true;
	return 0;
}

void loop_join(struct nsd_loop *l)
{
	if (l->started)
		pthread_join(l->thread, NULL);
	l->started = false;
}

/* ---- scrapes: counters copied on the loop's own thread ---- */

static void snapshot_put_locked(struct nsd_snapshot *s)
{
	bool last = --s->refs == 0;

	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->done);
	free(s->v);
	free(s);
}

void loop_snapshot_put(struct nsd_snapshot *s)
{
	pthread_mutex_lock(&s->lock);
	snapshot_put_locked(s);
}

static void add_sample(struct nsd_snapshot *s, const struct nsd_conn *c)
{
	struct nsd_conn_sample *x;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *v = realloc(s->v, cap * sizeof(*s->v));

		if (!v)
			return;		/* a scrape without this one */
		s->v = v;
		s->cap = cap;
	}
	x = &s->v[s->n++];
	x->exp = c->exp;
	snprintf(x->peer, sizeof(x->peer), "%s", c->peer);
	snprintf(x->export, sizeof(x->export), "%s", c->exp->name);
	x->stats = c->stats;
}

static void answer_snapshot(struct nsd_loop *l, struct nsd_snapshot *s)
{
	pthread_mutex_lock(&s->lock);
	for (struct nsd_conn *c = l->conns; c && !s->closed; c = c->next)
		if (c->phase == PHASE_TRANSMISSION && c->exp)
			add_sample(s, c);
	if (--s->pending == 0)
		pthread_cond_signal(&s->done);
	snapshot_put_locked(s);
}

struct nsd_snapshot *loop_snapshot(struct nsd_server *srv, int timeout_ms)
{
	struct nsd_snapshot *s = calloc(1, sizeof(*s));
	struct timespec until;
	pthread_condattr_t ca;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->done, &ca);
	pthread_condattr_destroy(&ca);
	s->refs = 1;
	for (unsigned int i = 0; i < srv->nloops; i++) {
		struct nsd_loop *l = &srv->loops[i];
		bool posted = false;

		pthread_mutex_lock(&s->lock);
		pthread_mutex_lock(&l->lock);
		if (!l->snapshot) {	/* else another scrape is asking */
			l->snapshot = s;
			s->pending++;
			s->refs++;
			posted = true;
		}
		pthread_mutex_unlock(&l->lock);
		pthread_mutex_unlock(&s->lock);
		if (posted)
			loop_wake(l);
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&s->lock);
	while (s->pending &&
	       pthread_cond_timedwait(&s->done, &s->lock, &until) == 0)
		;
	s->closed = true;	/* a late loop adds nothing now */
	pthread_mutex_unlock(&s->lock);
	return s;
}
