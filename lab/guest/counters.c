// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read the counters of counters.h from /proc.  Each file is opened once and
 * read again from its start (lseek 0 makes a seq_file regenerate): when the
 * guest is stuck in reclaim an open() may block on an allocation, a read of
 * an open /proc file rarely does, and the reports from that moment (free
 * memory against the min watermark) are the ones that explain a stall.
 * No stdio here: its buffer would serve a rewound file from stale data.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "counters.h"

#define FILE_MAX 32768

struct procfile {
	const char *path;
	int fd;
	char buf[FILE_MAX];
};

/* The whole file, NUL-terminated, or NULL. */
static char *slurp(struct procfile *p)
{
	size_t len = 0;
	ssize_t n;

	if (p->fd < 0)
		p->fd = open(p->path, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0 || lseek(p->fd, 0, SEEK_SET) < 0)
		return NULL;
	while (len < sizeof(p->buf) - 1 &&
	       (n = read(p->fd, p->buf + len, sizeof(p->buf) - 1 - len)) > 0)
		len += (size_t)n;
	p->buf[len] = '\0';
	return len ? p->buf : NULL;
}

/* "name value" lines: /proc/vmstat, /proc/meminfo ("Name:   value kB"). */
static void read_pairs(struct procfile *p, const char *const *names,
		       long long *const *vals, int n)
{
	char *line, *save, name[64], *text = slurp(p);
	long long v;
	int i;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t len;

		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		len = strlen(name);
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
	static struct procfile p = { .path = "/proc/net/netstat", .fd = -1 };
	char *text = slurp(&p), *hdr, *val, *hs, *vs, *h, *v;
	long long result = -1;

	hdr = text ? strstr(text, "TcpExt:") : NULL;
	if (hdr && hdr != text && hdr[-1] != '\n')
		hdr = strstr(text, "\nTcpExt:");	/* not MPTcpExt: */
	val = hdr ? strchr(hdr + 1, '\n') : NULL;
	if (!val)
		return -1;
	*val++ = '\0';
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
	return result;
}

/*
 * The sum of every zone's min watermark, in KiB: below it only
 * PF_MEMALLOC / __GFP_MEMALLOC allocations (and atomic ones, part of the
 * way) succeed -- the reserve the memalloc sockets live on.
 */
static long long min_watermark_kib(void)
{
	static struct procfile p = { .path = "/proc/zoneinfo", .fd = -1 };
	char *line, *save, word[16], *text = slurp(&p);
	long long pages, sum = 0;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, " %15s %lld", word, &pages) == 2 &&
		    !strcmp(word, "min"))
			sum += pages;
	return sum * 4;
}

/* MemFree alone, cheap enough to sample ten times a second. */
long long counters_memfree_kib(void)
{
	static struct procfile p = { .path = "/proc/meminfo", .fd = -1 };
	char *text = slurp(&p), *at;
	long long kib;

	at = text ? strstr(text, "MemFree:") : NULL;
	if (!at || sscanf(at, "MemFree: %lld", &kib) != 1)
		return -1;
	return kib;
}

void counters_read(struct counters *c)
{
	static const char *const vm[] = {
		"pswpin", "pswpout", "pgscan_direct_throttle", "nr_writeback",
	};
	static const char *const mem[] = { "MemFree", "SwapFree" };
	static struct procfile vmstat = { .path = "/proc/vmstat", .fd = -1 };
	static struct procfile meminfo = { .path = "/proc/meminfo", .fd = -1 };
	long long *const vmv[] = {
		&c->pswpin, &c->pswpout, &c->pgscan_direct_throttle,
		&c->writeback_pages,
	};
	long long *const memv[] = { &c->memfree_kib, &c->swapfree_kib };

	c->pswpin = c->pswpout = c->pgscan_direct_throttle = -1;
	c->writeback_pages = c->memfree_kib = c->swapfree_kib = -1;
	read_pairs(&vmstat, vm, vmv, 4);
	read_pairs(&meminfo, mem, memv, 2);
	c->pfmemalloc_drop = netstat_field("PFMemallocDrop");
	c->min_kib = min_watermark_kib();
}
