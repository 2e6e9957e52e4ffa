/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel counters the lab reports while a guest swaps: swap traffic,
 * direct-reclaim throttling, packets dropped because they landed in
 * PFMEMALLOC reserves, free memory against the min watermark, pages under
 * writeback.  -1 means "not found".
 */
#ifndef LAB_COUNTERS_H
#define LAB_COUNTERS_H

struct counters {
	long long pswpin, pswpout, pgscan_direct_throttle;
	long long pfmemalloc_drop;	/* TcpExt: PFMemallocDrop */
	long long memfree_kib, swapfree_kib;
	long long min_kib;		/* sum of the zones' min watermarks */
	long long writeback_pages;	/* nr_writeback: pages being written out */
};

void counters_read(struct counters *c);
long long counters_memfree_kib(void);

#endif /* LAB_COUNTERS_H */
