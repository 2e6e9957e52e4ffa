// SPDX-License-Identifier: GPL-2.0-only
/*
 * memhog: the lab's page-verifying memory hog (runs in the guest, static).
 *
 *   memhog --procs N --mib TOTAL [--passes P] [--report SECS]
 *          [--inject zero|flip|foreign|stale]
 *
 * N child processes each map TOTAL/N MiB of anonymous memory and walk it
 * linearly P times: pass 1 stamps every page, passes 2..P-1 verify the
 * previous stamp and restamp, pass P only verifies.  The parent stays out of
 * reclaim (mlockall, OOM-immune), so it keeps reporting while the children
 * are stuck: that is what lets the host tell a stall from slow progress.
 *
 * Every line it prints starts with "NS-" and is key=value, for the host:
 *   NS-MEMHOG-START procs= pages= passes=
 *   NS-PROGRESS t= done= total= verified= mismatches= pswpin= pswpout=
 *               pgscan_direct_throttle= PFMemallocDrop= memfree_kib=
 *               swapfree_kib= min_kib= writeback= free_low_kib=
 *   (free_low_kib: the lowest MemFree of ten samples a second since the
 *   previous report -- dips below min_kib last milliseconds)
 *   NS-MISMATCH proc= pid= page= pass= kind= found_pid= found_page=
 *               found_pass= first_bad_word= bad_words=
 *   NS-CHILD proc= pid= exit=N | signal=NAME
 *   NS-MEMHOG-END rc= verified= expected= mismatches= failed= sigbus=
 *                 killed=
 * Exit code: 0 all pages verified, 1 mismatch, 2 a child died by a signal,
 * 3 setup error.
 *
 * --inject damages one page of child 0 before its last pass (host self-test
 * of the checksum; never used in the lab).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counters.h"
#include "stamp.h"

#define MAX_PROCS 1024
#define MAX_REPORTED 4		/* mismatch lines per child */
#define PROGRESS_BATCH 64	/* pages between shared-counter updates */

struct shared {
	atomic_long done;	/* page visits, all passes */
	atomic_long verified;	/* pages that verified */
	atomic_long mismatches;
};

struct opts {
	long procs, mib, passes, report;
	const char *inject;
};

static struct shared *sh;

static void usage(void)
{
	fprintf(stderr, "usage: memhog --procs N --mib TOTAL [--passes P] "
		"[--report SECS] [--inject zero|flip|foreign|stale]\n");
	exit(3);
}

static long num_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		usage();
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "procs", required_argument, NULL, 'n' },
		{ "mib", required_argument, NULL, 'm' },
		{ "passes", required_argument, NULL, 'p' },
		{ "report", required_argument, NULL, 'r' },
		{ "inject", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .procs = 1, .passes = 2, .report = 2 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->procs = num_arg(optarg); break;
		case 'm': o->mib = num_arg(optarg); break;
		case 'p': o->passes = num_arg(optarg); break;
		case 'r': o->report = num_arg(optarg); break;
		case 'i': o->inject = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || !o->mib || o->procs > MAX_PROCS ||
	    o->passes < 2 || o->passes > 255)
		usage();
}

/* Damage page 1 the way a broken swap path would (self-test only). */
static void inject(uint64_t *base, long pages, const char *how, long pass)
{
	uint64_t *victim = base + STAMP_WORDS;

	if (pages < 3)
		return;
	if (!strcmp(how, "zero"))
		memset(victim, 0, STAMP_PAGE);
	else if (!strcmp(how, "flip"))
		((unsigned char *)victim)[2049] ^= 0x10;
	else if (!strcmp(how, "foreign"))
		memcpy(victim, base + 2 * STAMP_WORDS, STAMP_PAGE);
	else if (!strcmp(how, "stale") && pass > 1)
		stamp_page(victim, (uint64_t)getpid(), 1, (uint64_t)pass - 1);
}

static void report_mismatch(long proc, long page, long pass,
			    const struct stamp_report *r)
{
	printf("NS-MISMATCH proc=%ld pid=%ld page=%ld pass=%ld kind=%s "
	       "found_pid=%llu found_page=%llu found_pass=%llu "
	       "first_bad_word=%u bad_words=%u\n",
	       proc, (long)getpid(), page, pass, stamp_kind_name(r->kind),
	       (unsigned long long)r->found_pid,
	       (unsigned long long)r->found_page,
	       (unsigned long long)r->found_pass, r->first_bad_word,
	       r->bad_words);
	fflush(stdout);
}

/* One child: returns its exit code. */
static int child(const struct opts *o, long proc, long pages)
{
	uint64_t pid = (uint64_t)getpid();
	long pass, i, pending = 0, verified = 0, bad = 0;
	unsigned char *mem;
	struct stamp_report r;

	mem = mmap(NULL, (size_t)pages * STAMP_PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		printf("NS-ERROR memhog proc=%ld mmap %ld pages: %s\n", proc,
		       pages, strerror(errno));
		return 3;
	}
	/* 4 KiB granules: the swap path under test, not THP splitting. */
	madvise(mem, (size_t)pages * STAMP_PAGE, MADV_NOHUGEPAGE);

	for (pass = 1; pass <= o->passes; pass++) {
		if (o->inject && proc == 0 && pass == o->passes)
			inject((uint64_t *)mem, pages, o->inject, pass - 1);
		for (i = 0; i < pages; i++) {
			uint64_t *w = (uint64_t *)(mem + (size_t)i * STAMP_PAGE);

			if (pass > 1) {
				if (stamp_verify(w, pid, (uint64_t)i,
						 (uint64_t)pass - 1, &r)) {
					verified++;
				} else if (bad++ < MAX_REPORTED) {
					report_mismatch(proc, i, pass - 1, &r);
				}
			}
			if (pass < o->passes)
				stamp_page(w, pid, (uint64_t)i, (uint64_t)pass);
			if (++pending == PROGRESS_BATCH) {
				atomic_fetch_add(&sh->done, pending);
				atomic_fetch_add(&sh->verified, verified);
				pending = verified = 0;
			}
		}
	}
	atomic_fetch_add(&sh->done, pending);
	atomic_fetch_add(&sh->verified, verified);
	atomic_fetch_add(&sh->mismatches, bad);
	return bad ? 1 : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep @secs, sampling free memory; returns the lowest value seen. */
static long long sleep_sampling(long secs)
{
	const struct timespec tick = { .tv_nsec = 100 * 1000 * 1000 };
	long long low = -1, v;
	long i;

	for (i = 0; i < secs * 10; i++) {
		nanosleep(&tick, NULL);
		v = counters_memfree_kib();
		if (v >= 0 && (low < 0 || v < low))
			low = v;
	}
	return low;
}

static void progress(double t0, long total, long long free_low)
{
	struct counters c;

	counters_read(&c);
	printf("NS-PROGRESS t=%.0f done=%ld total=%ld verified=%ld "
	       "mismatches=%ld pswpin=%lld pswpout=%lld "
	       "pgscan_direct_throttle=%lld PFMemallocDrop=%lld "
	       "memfree_kib=%lld swapfree_kib=%lld min_kib=%lld "
	       "writeback=%lld free_low_kib=%lld\n",
	       now() - t0, atomic_load(&sh->done), total,
	       atomic_load(&sh->verified), atomic_load(&sh->mismatches),
	       c.pswpin, c.pswpout, c.pgscan_direct_throttle,
	       c.pfmemalloc_drop, c.memfree_kib, c.swapfree_kib, c.min_kib,
	       c.writeback_pages, free_low < 0 ? c.memfree_kib : free_low);
	fflush(stdout);
}

/* The reporter must not itself be swapped out or OOM-killed. */
static void harden_parent(void)
{
	FILE *f;

	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		printf("NS-WARN memhog mlockall: %s\n", strerror(errno));
	f = fopen("/proc/self/oom_score_adj", "w");
	if (f) {
		fputs("-1000\n", f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	static pid_t pids[MAX_PROCS];
	struct opts o;
	long pages, per, p, alive, failed = 0, sigbus = 0, killed = 0;
	long expected;
	double t0;
	int rc;

	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pages = o.mib * (1024 * 1024 / STAMP_PAGE);
	per = pages / o.procs;
	if (per < 1)
		usage();
	pages = per * o.procs;
	expected = pages * (o.passes - 1);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("memhog: mmap");
		return 3;
	}
	printf("NS-MEMHOG-START procs=%ld pages=%ld passes=%ld\n", o.procs,
	       pages, o.passes);
	t0 = now();
	for (p = 0; p < o.procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			printf("NS-ERROR memhog fork: %s\n", strerror(errno));
			o.procs = p;
			failed++;
			break;
		}
		if (pids[p] == 0)
			_exit(child(&o, p, per));
	}
	harden_parent();

	for (alive = o.procs; alive > 0;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0) {
			progress(t0, pages * o.passes, sleep_sampling(o.report));
			continue;
		}
		if (pid < 0)
			break;
		alive--;
		for (p = 0; p < o.procs && pids[p] != pid; p++)
			;
		if (WIFSIGNALED(status)) {
			int sig = WTERMSIG(status);

			printf("NS-CHILD proc=%ld pid=%ld signal=%s\n", p,
			       (long)pid, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
			failed++;
			sigbus += sig == SIGBUS;
			killed += sig != SIGBUS;
		} else {
			printf("NS-CHILD proc=%ld pid=%ld exit=%d\n", p,
			       (long)pid, WEXITSTATUS(status));
			failed += WEXITSTATUS(status) != 0;
		}
	}
	progress(t0, pages * o.passes, -1);

	if (sigbus || killed)
		rc = 2;
	else if (atomic_load(&sh->mismatches))
		rc = 1;
	else if (failed || atomic_load(&sh->verified) != expected)
		rc = 3;
	else
		rc = 0;
	printf("NS-MEMHOG-END rc=%d verified=%ld expected=%ld mismatches=%ld "
	       "failed=%ld sigbus=%ld killed=%ld\n", rc,
	       atomic_load(&sh->verified), expected,
	       atomic_load(&sh->mismatches), failed, sigbus, killed);
	return rc;
}
