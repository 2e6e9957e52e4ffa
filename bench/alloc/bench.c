// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-alloc: every allocator on every workload, single-threaded and with
 * two threads that free each other's blocks, each run in a child process
 * of its own (clean heap, its own peak RSS), ROUNDS times interleaved;
 * medians reported.  Not a test: the numbers depend on the machine.
 *
 *   bench-alloc [-r ROUNDS] [-s SCALE] [-t TRACE] [-a NAME,...] [-w NAME,...]
 *               [-T 1|2|3]   (threads: 1, 2, or both)  [-P]  (speed runs only)
 *
 * Speed runs: the window of live transactions is filled, then every step
 * frees a random live transaction and allocates a new one; ns per
 * alloc+free pair is the timed phase's CPU time (all threads) over the
 * pairs.  Peak footprint: the child's VmHWM minus its RSS before the
 * allocator's first use.  Space runs (untimed): bytes requested against
 * bytes set aside for every allocation, peak footprint over peak live
 * bytes; for allocators with a region of their own, a region 2.5 times
 * the peak live bytes and, after the long random run, largest allocatable
 * block / free bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/alloc/bench.h"

#define SPEED_REGION (1ULL << 30)
#define RING 8192

struct txn {
	void *p[TXN_MAX];
	uint32_t len[TXN_MAX];
	uint32_t n;
	_Alignas(16) unsigned char g[GROUP_STORAGE];
};

struct result {
	int ok;
	double ns_pair;
	uint64_t pairs, failures;
	uint64_t peak_kib;
	double waste;		/* (consumed - requested) / consumed */
	double ext_frag;	/* largest / free, -1 if not a region */
	double retained;	/* peak footprint / peak live bytes asked */
	uint64_t cons_hist[8];	/* rounding table: consumed for probe sizes */
};

static const size_t probe[] = { 19, 37, 79, 28, 1500, 1820, 9000, 9320 };

static const struct allocator *AL;
static const struct workload *WL;
static struct trace_ev *TR;
static size_t NTR;
static uint32_t TR_IDS;
static double SCALE = 1.0;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t status_kib(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long v = 0;
	size_t kl = strlen(key);

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			sscanf(line + kl + 1, "%lu", &v);
	fclose(f);
	return v;
}

static void *map_zero(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("bench-alloc: mmap");
		exit(1);
	}
	return p;
}

/* ---- transactions ---- */

struct counters {
	uint64_t pairs, req, cons, failures, live_req, peak_live;
	bool count_space;
};

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

/* Timed runs write the first byte, as a user would; space runs every
 * page, so that the footprint is what a user filling buffers sees. */
static void touch(void *p, size_t len, bool all_pages)
{
	volatile char *c = p;

	c[0] = 1;
	if (all_pages) {
		for (size_t k = 4096; k < len; k += 4096)
			c[k] = 1;
		c[len - 1] = 1;
	}
}

static bool txn_alloc(struct txn *t, const struct txn_shape *s,
		      struct counters *c)
{
	t->n = 0;
	if (AL->grouped) {
		size_t hint = 16;

		for (unsigned int i = 0; i < s->n; i++)
			hint += align16(s->len[i]);
		AL->group_begin(t->g, hint);
		for (unsigned int i = 0; i < s->n; i++) {
			t->p[i] = AL->group_alloc(t->g, s->len[i]);
			if (!t->p[i]) {
				AL->group_end(t->g);
				c->failures++;
				return false;
			}
			t->len[i] = (uint32_t)s->len[i];
			touch(t->p[i], s->len[i], c->count_space);
		}
		t->n = s->n;
		if (c->count_space) {
			for (unsigned int i = 0; i < s->n; i++)
				c->req += s->len[i];
			c->cons += AL->consumed(NULL, hint);
		}
	} else {
		for (unsigned int i = 0; i < s->n; i++) {
			t->p[i] = AL->alloc(s->len[i]);
			if (!t->p[i]) {
				while (i--)
					AL->free(t->p[i], t->len[i]);
				c->failures++;
				return false;
			}
			t->len[i] = (uint32_t)s->len[i];
			touch(t->p[i], s->len[i], c->count_space);
			if (c->count_space) {
				c->req += s->len[i];
				c->cons += AL->consumed(t->p[i], s->len[i]);
			}
		}
		t->n = s->n;
	}
	for (unsigned int i = 0; i < s->n; i++)
		c->live_req += s->len[i];
	if (c->live_req > c->peak_live)
		c->peak_live = c->live_req;
	c->pairs += s->n;
	return true;
}

static void txn_free(struct txn *t, struct counters *c)
{
	if (!t->n)
		return;
	for (unsigned int i = 0; i < t->n; i++)
		c->live_req -= t->len[i];
	if (AL->grouped)
		AL->group_end(t->g);
	else
		for (unsigned int i = 0; i < t->n; i++)
			AL->free(t->p[i], t->len[i]);
	t->n = 0;
}

/* ---- one thread's run; with two, frees go to the other thread ---- */

struct ring {
	_Alignas(64) atomic_uint head;
	_Alignas(64) atomic_uint tail;
	struct txn cell[RING];
};

struct worker {
	unsigned int id;
	uint64_t steps;
	struct ring *inbox, *outbox;	/* NULL when single-threaded */
	struct counters c;
	uint64_t rng;
	atomic_bool *stop_others;
};

static void drain(struct worker *w)
{
	struct ring *r = w->inbox;
	unsigned int t = atomic_load_explicit(&r->tail, memory_order_acquire);
	unsigned int h = atomic_load_explicit(&r->head, memory_order_relaxed);

	while (h != t) {
		txn_free(&r->cell[h % RING], &w->c);
		h++;
	}
	atomic_store_explicit(&r->head, h, memory_order_release);
}

static void retire(struct worker *w, struct txn *t)
{
	struct ring *r = w->outbox;
	unsigned int tl;

	if (!r) {
		txn_free(t, &w->c);
		return;
	}
	if (!t->n)
		return;
	tl = atomic_load_explicit(&r->tail, memory_order_relaxed);
	while (tl - atomic_load_explicit(&r->head, memory_order_acquire) >= RING) {
		drain(w);	/* the other side is behind: keep ours moving */
		sched_yield();	/* and let it run (two shared CPUs) */
	}
	r->cell[tl % RING] = *t;
	/* The other thread frees it: it is no longer ours to count. */
	for (unsigned int i = 0; i < t->n; i++)
		w->c.live_req -= t->len[i];
	t->n = 0;
	atomic_store_explicit(&r->tail, tl + 1, memory_order_release);
}

/* Window workloads: @win live transactions, a random one replaced per
 * step.  The trace: replayed in order, @steps events in all (looping). */
static void run(struct worker *w, struct txn *win, unsigned int nwin,
		bool fill_only)
{
	struct txn_shape s;

	if (WL->next) {
		if (fill_only) {
			for (unsigned int i = 0; i < nwin; i++) {
				WL->next(&w->rng, &s);
				txn_alloc(&win[i], &s, &w->c);
			}
			return;
		}
		for (uint64_t k = 0; k < w->steps; k++) {
			struct txn *t = &win[xs64(&w->rng) % nwin];

			if (w->inbox && !(k & 15))
				drain(w);
			retire(w, t);
			WL->next(&w->rng, &s);
			txn_alloc(t, &s, &w->c);
		}
		return;
	}
	if (fill_only)
		return;
	for (uint64_t k = 0, e = 0; k < w->steps; k++, e = (e + 1) % NTR) {
		struct txn *t = &win[TR[e].id];

		if (w->inbox && !(k & 15))
			drain(w);
		if (TR[e].len) {
			retire(w, t);	/* should not be live: the trace says so */
			s.n = 1;
			s.len[0] = TR[e].len;
			txn_alloc(t, &s, &w->c);
		} else {
			retire(w, t);
		}
	}
}

struct thread_arg {
	struct worker *w;
	struct txn *win;
	unsigned int nwin;
	pthread_barrier_t *bar;
	atomic_uint *done;
	uint64_t t0, t1;
	uint64_t cpu;		/* thread CPU time of the timed phase */
};

/* The timed phase, a function of its own so that callgrind can count
 * its instructions alone (--toggle-collect=timed_phase). */
__attribute__((noinline)) void timed_phase(struct thread_arg *a);
__attribute__((noinline)) void timed_phase(struct thread_arg *a)
{
	run(a->w, a->win, a->nwin, false);
}

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;

	run(a->w, a->win, a->nwin, true);
	a->w->c.pairs = 0;	/* count the timed phase's pairs only */
	pthread_barrier_wait(a->bar);
	a->t0 = now_ns();
	a->cpu = cpu_ns();
	timed_phase(a);
	a->cpu = cpu_ns() - a->cpu;
	a->t1 = now_ns();
	atomic_fetch_add(a->done, 1);
	/* The other thread may wait for room in our inbox: keep emptying it
	 * until it is done too; what is left then is ours to free. */
	if (a->w->inbox) {
		while (atomic_load(a->done) < 2)
			drain(a->w);
		drain(a->w);
	}
	return NULL;
}

static uint64_t default_steps(void)
{
	uint64_t s = WL->next ? (WL->window > 10000 ? 2000000 : 400000) : 0;

	if (!WL->next)
		s = NTR * (NTR < 200000 ? (200000 + NTR - 1) / NTR : 1);
	return (uint64_t)((double)s * SCALE);
}

/* Peak live requested bytes of a dry run: sizes the space run's region. */
static uint64_t dry_peak(unsigned int nwin, uint64_t steps)
{
	uint64_t rng = 12345, live = 0, peak = 0;
	uint64_t *tl = calloc(nwin, sizeof(*tl));
	struct txn_shape s;

	if (!tl)
		exit(1);
	for (uint64_t k = 0; k < steps + nwin; k++) {
		uint64_t i, sum = 0;

		if (WL->next) {
			i = k < nwin ? k : xs64(&rng) % nwin;
			WL->next(&rng, &s);
			for (unsigned int j = 0; j < s.n; j++)
				sum += s.len[j];
		} else {
			const struct trace_ev *e = &TR[k % NTR];

			i = e->id;
			sum = e->len;
		}
		live -= tl[i];
		tl[i] = sum;
		live += sum;
		if (live > peak)
			peak = live;
	}
	free(tl);
	return peak;
}

static void child(int fd, unsigned int threads, bool space)
{
	unsigned int nwin = WL->next ? WL->window : TR_IDS + 1;
	uint64_t steps = default_steps(), base, region = SPEED_REGION;
	struct result r = { .ext_frag = -1 };
	struct worker w[2];
	struct ring *rings = NULL;
	struct txn *win = map_zero((size_t)nwin * threads * sizeof(*win));
	pthread_barrier_t bar;
	atomic_uint done = 0;
	struct thread_arg ta[2];
	pthread_t th[2];

	if (threads == 2)
		rings = map_zero(2 * sizeof(*rings));
	if (space && AL->frag) {
		region = dry_peak(nwin, steps) * 5 / 2;
		region = (region + (1 << 20) - 1) & ~(uint64_t)((1 << 20) - 1);
	}
	base = status_kib("VmRSS");
	if (AL->init(region)) {
		fprintf(stderr, "bench-alloc: %s: init failed\n", AL->name);
		exit(1);
	}
	memset(w, 0, sizeof(w));
	for (unsigned int i = 0; i < threads; i++) {
		w[i].id = i;
		w[i].steps = steps / threads;
		w[i].rng = 0x2545f4914f6cdd1dULL * (i + 1);
		w[i].c.count_space = space;
		if (threads == 2) {
			w[i].inbox = &rings[i];
			w[i].outbox = &rings[1 - i];
		}
	}
	pthread_barrier_init(&bar, NULL, threads);
	for (unsigned int i = 0; i < threads; i++) {
		ta[i] = (struct thread_arg){ &w[i], win + (size_t)i * nwin,
					     nwin, &bar, &done, 0, 0, 0 };
		if (i)
			pthread_create(&th[i], NULL, thread_main, &ta[i]);
	}
	thread_main(&ta[0]);
	for (unsigned int i = 1; i < threads; i++)
		pthread_join(th[i], NULL);
	{
		uint64_t cpu = 0, pairs = 0, req = 0, cons = 0, live = 0;

		for (unsigned int i = 0; i < threads; i++) {
			cpu += ta[i].cpu;
			pairs += w[i].c.pairs;
			req += w[i].c.req;
			cons += w[i].c.cons;
			live += w[i].c.peak_live;
			r.failures += w[i].c.failures;
		}
		r.pairs = pairs;
		/* CPU time, not wall time: on two CPUs shared with others, a
		 * thread that is not running is not the allocator's cost. */
		r.ns_pair = (double)cpu / (double)pairs;
		r.peak_kib = status_kib("VmHWM") - base;
		if (space) {
			r.waste = cons ? (double)(cons - req) / (double)cons : 0;
			r.retained = live ? (double)r.peak_kib * 1024.0 /
						    (double)live : 0;
			if (AL->frag) {
				uint64_t largest, freeb;

				AL->frag(&largest, &freeb);
				r.ext_frag = freeb ? (double)largest / (double)freeb : 1;
			}
			for (unsigned int i = 0; i < 8; i++) {
				void *p = AL->alloc(probe[i]);

				r.cons_hist[i] = p ? AL->consumed(p, probe[i]) : 0;
				if (p)
					AL->free(p, probe[i]);
			}
		}
	}
	r.ok = 1;
	if (write(fd, &r, sizeof(r)) != sizeof(r))
		exit(1);
	exit(0);
}

static int measure(const struct allocator *al, const struct workload *wl,
		   unsigned int threads, bool space, struct result *r)
{
	int fds[2], st;
	pid_t pid;
	ssize_t n;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[0]);
		AL = al;
		WL = wl;
		child(fds[1], threads, space);
	}
	close(fds[1]);
	memset(r, 0, sizeof(*r));
	n = read(fds[0], r, sizeof(*r));
	close(fds[0]);
	waitpid(pid, &st, 0);
	if (n != sizeof(*r) || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "bench-alloc: %s on %s (%u threads) failed\n",
			al->name, wl->name, threads);
		r->ok = 0;
		return -1;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return true;
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

#define MAXA 16
#define MAXW 5
#define MAXR 15

int main(int argc, char **argv)
{
	static double ns[MAXA][MAXW][2][MAXR];
	static struct result sp[MAXA][MAXW];
	const char *alist = NULL, *wlist = NULL, *trace = NULL;
	unsigned int rounds = 5, na = 0, tmask = 3;
	bool speed_only = false;
	int opt;

	/* jemalloc needs static TLS room when loaded late (see allocators.c). */
	if (!getenv("GLIBC_TUNABLES")) {
		setenv("GLIBC_TUNABLES", "glibc.rtld.optional_static_tls=65536", 1);
		execv("/proc/self/exe", argv);
		perror("bench-alloc: re-exec");
		return 1;
	}
	while ((opt = getopt(argc, argv, "r:s:t:a:w:T:P")) != -1) {
		switch (opt) {
		case 'r':
			rounds = (unsigned int)atoi(optarg);
			break;
		case 's':
			SCALE = atof(optarg);
			break;
		case 't':
			trace = optarg;
			break;
		case 'a':
			alist = optarg;
			break;
		case 'w':
			wlist = optarg;
			break;
		case 'P':
			speed_only = true;	/* and print the pairs (callgrind) */
			break;
		case 'T':
			tmask = (unsigned int)atoi(optarg);	/* 1, 2 or 3 = both */
			break;
		default:
			fprintf(stderr, "usage: bench-alloc [-r ROUNDS] [-s SCALE] [-t TRACE] [-a ALLOCS] [-w WORKLOADS] [-T 1|2|3] [-P]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > MAXR)
		rounds = 5;
	if (trace && trace_load(trace, &TR, &NTR, &TR_IDS)) {
		fprintf(stderr, "bench-alloc: cannot read trace %s\n", trace);
		return 1;
	}
	while (allocators[na])
		na++;
	printf("# bench-alloc: %u rounds, medians; scale %.2f; trace %s (%zu events)\n",
	       rounds, SCALE, trace ? trace : "none", NTR);
	for (unsigned int round = 0; round < rounds; round++)
		for (unsigned int w = 0; w < nworkloads; w++)
			for (unsigned int t = 0; t < 2; t++)
				for (unsigned int a = 0; a < na; a++) {
					struct result r;

					if (!listed(alist, allocators[a]->name) ||
					    !listed(wlist, workloads[w].name) ||
					    (!workloads[w].next && !NTR) ||
					    !(tmask & (1U << t)))
						continue;
					measure(allocators[a], &workloads[w], t + 1, false, &r);
					if (speed_only)
						printf("# pairs: %llu\n", (unsigned long long)r.pairs);
					ns[a][w][t][round] = r.ok ? r.ns_pair : -1;
				}
	if (speed_only)
		return 0;
	for (unsigned int w = 0; w < nworkloads; w++)
		for (unsigned int a = 0; a < na; a++)
			if (listed(alist, allocators[a]->name) &&
			    listed(wlist, workloads[w].name) &&
			    (workloads[w].next || NTR))
				measure(allocators[a], &workloads[w], 1, true, &sp[a][w]);

	for (unsigned int w = 0; w < nworkloads; w++) {
		double glibc1 = 0;

		if (!listed(wlist, workloads[w].name) || (!workloads[w].next && !NTR))
			continue;
		printf("\n## %s: %s\n\n", workloads[w].name, workloads[w].what);
		printf("| allocator | ns/pair 1T | ns/pair 2T | vs glibc 1T | waste %% | peak KiB | largest/free | peak/live | failures |\n");
		printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		for (unsigned int a = 0; a < na; a++)
			if (!strcmp(allocators[a]->name, "glibc")) {
				qsort(ns[a][w][0], rounds, sizeof(double), cmp_double);
				glibc1 = ns[a][w][0][rounds / 2];
			}
		for (unsigned int a = 0; a < na; a++) {
			double m[2];

			if (!listed(alist, allocators[a]->name))
				continue;
			for (unsigned int t = 0; t < 2; t++) {
				qsort(ns[a][w][t], rounds, sizeof(double), cmp_double);
				m[t] = ns[a][w][t][rounds / 2];
			}
			printf("| %s | %.1f | %.1f | %.2f | %.1f | %llu | ",
			       allocators[a]->name, m[0], m[1],
			       glibc1 > 0 ? m[0] / glibc1 : 0,
			       100 * sp[a][w].waste,
			       (unsigned long long)sp[a][w].peak_kib);
			if (sp[a][w].ext_frag >= 0)
				printf("%.3f | ", sp[a][w].ext_frag);
			else
				printf("- | ");
			printf("%.2f | %llu |\n", sp[a][w].retained,
			       (unsigned long long)sp[a][w].failures);
		}
	}
	printf("\n## Rounding: bytes set aside for one object (measured)\n\n| allocator |");
	for (unsigned int i = 0; i < 8; i++)
		printf(" %zu |", probe[i]);
	printf("\n|---|");
	for (unsigned int i = 0; i < 8; i++)
		printf("---:|");
	printf("\n");
	for (unsigned int a = 0; a < na; a++) {
		unsigned int w = 0;

		if (!listed(alist, allocators[a]->name))
			continue;
		while (w < nworkloads && !sp[a][w].ok)
			w++;
		if (w == nworkloads)
			continue;
		printf("| %s |", allocators[a]->name);
		for (unsigned int i = 0; i < 8; i++)
			printf(" %llu |", (unsigned long long)sp[a][w].cons_hist[i]);
		printf("\n");
	}
	printf("\nAllocators:\n");
	for (unsigned int a = 0; a < na; a++)
		printf("- %s: %s\n", allocators[a]->name, allocators[a]->what);
	return 0;
}
