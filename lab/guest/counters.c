// SPDX-License-Identifier: GPL-2.0-only
/*
 * Read the counters of counters.h from /proc.  Plain stdio: the caller is
 * mlocked, and these files are small.
 */
#include <stdio.h>
#include <string.h>

#include "counters.h"

/* "name value" files: /proc/vmstat, /proc/meminfo ("Name:   value kB"). */
static void read_pairs(const char *path, const char *const *names,
		       long long *const *vals, int n)
{
	char name[64];
	long long v;
	FILE *f = fopen(path, "r");
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
	fclose(f);
}

/*
 * /proc/net/netstat holds pairs of lines, a header and its values, per
 * section.  Anchor on "TcpExt:" (6.12 also has "MPTcpExt:").
 */
static long long netstat_field(const char *field)
{
	static char hdr[8192], val[8192];
	FILE *f = fopen("/proc/net/netstat", "r");
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
	fclose(f);
	return result;
}

void counters_read(struct counters *c)
{
	static const char *const vm[] = {
		"pswpin", "pswpout", "pgscan_direct_throttle",
	};
	static const char *const mem[] = { "MemFree", "SwapFree" };
	long long *const vmv[] = {
		&c->pswpin, &c->pswpout, &c->pgscan_direct_throttle,
	};
	long long *const memv[] = { &c->memfree_kib, &c->swapfree_kib };

	c->pswpin = c->pswpout = c->pgscan_direct_throttle = -1;
	c->memfree_kib = c->swapfree_kib = -1;
	read_pairs("/proc/vmstat", vm, vmv, 3);
	read_pairs("/proc/meminfo", mem, memv, 2);
	c->pfmemalloc_drop = netstat_field("PFMemallocDrop");
}
