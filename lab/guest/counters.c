// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read the counters of counters.h from /proc.  Plain stdio: the caller is
 * mlocked, and these files are small.  Each file is opened once and read
 * again from its start: when the guest is stuck in reclaim, an open() may
 * block on an allocation, a read of an open /proc file rarely does, and the
 * reports from that moment (free memory against the min watermark) are the
 * ones that explain a stall.
 */
#include <stdio.h>
#include <string.h>

#include "counters.h"

/* The file at @path, opened on first use and rewound afterwards. */
static FILE *reopen(FILE **f, const char *path)
{
	if (!*f)
		*f = fopen(path, "r");
	else
		rewind(*f);
	return *f;
}

/* "name value" files: /proc/vmstat, /proc/meminfo ("Name:   value kB"). */
static void read_pairs(FILE **cache, const char *path,
		       const char *const *names, long long *const *vals, int n)
{
	char name[64];
	long long v;
	FILE *f = reopen(cache, path);
	int i;

	if (!f)
		return;
	while (fscanf(f, "%63s %lld%*[^\n]", name, &v) == 2) {
		size_t len = strlen(name);

		if (len && name[len - 1] == ':')
			name[len - 1] = '\0';
		for (i = 0; i < n; i++)
			if (!strcmp(name, names[i]))
				*vals[i] = v;
	}
}

/*
 * /proc/net/netstat holds pairs of lines, a header and its values, per
 * section.  Anchor on "TcpExt:" (6.12 also has "MPTcpExt:").
 */
static long long netstat_field(const char *field)
{
	static char hdr[8192], val[8192];
	static FILE *cache;
	FILE *f = reopen(&cache, "/proc/net/netstat");
	long long result = -1;

	if (!f)
		return -1;
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		char *hs, *vs, *h, *v;

		if (strncmp(hdr, "TcpExt:", 7))
			continue;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, field)) {
				sscanf(v, "%lld", &result);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	return result;
}

/*
 * The sum of every zone's min watermark, in KiB: below it only
 * PF_MEMALLOC / __GFP_MEMALLOC allocations (and atomic ones, part of the
 * way) succeed -- the reserve the memalloc sockets live on.
 */
static long long min_watermark_kib(void)
{
	static FILE *cache;
	FILE *f = reopen(&cache, "/proc/zoneinfo");
	char line[256];
	long long pages, sum = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " min %lld", &pages) == 1)
			sum += pages;
	return sum * 4;
}

/* MemFree alone, cheap enough to sample ten times a second. */
long long counters_memfree_kib(void)
{
	static FILE *cache;
	FILE *f = reopen(&cache, "/proc/meminfo");
	char line[128];
	long long kib;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %lld", &kib) == 1)
			return kib;
	return -1;
}

void counters_read(struct counters *c)
{
	static const char *const vm[] = {
		"pswpin", "pswpout", "pgscan_direct_throttle", "nr_writeback",
	};
	static const char *const mem[] = { "MemFree", "SwapFree" };
	static FILE *vmstat, *meminfo;
	long long *const vmv[] = {
		&c->pswpin, &c->pswpout, &c->pgscan_direct_throttle,
		&c->writeback_pages,
	};
	long long *const memv[] = { &c->memfree_kib, &c->swapfree_kib };

	c->pswpin = c->pswpout = c->pgscan_direct_throttle = -1;
	c->writeback_pages = c->memfree_kib = c->swapfree_kib = -1;
	read_pairs(&vmstat, "/proc/vmstat", vm, vmv, 4);
	read_pairs(&meminfo, "/proc/meminfo", mem, memv, 2);
	c->pfmemalloc_drop = netstat_field("PFMemallocDrop");
	c->min_kib = min_watermark_kib();
}
