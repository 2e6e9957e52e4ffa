/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel counters the lab reports while a guest swaps: swap traffic,
 * direct-reclaim throttling, packets dropped because they landed in
 * PFMEMALLOC reserves, and free memory.  -1 means "not found".
 */
#ifndef LAB_COUNTERS_H
#define LAB_COUNTERS_H

struct counters {
	long long pswpin, pswpout, pgscan_direct_throttle;
	long long pfmemalloc_drop;	/* TcpExt: PFMemallocDrop */
	long long memfree_kib, swapfree_kib;
};

void counters_read(struct counters *c);

#endif /* LAB_COUNTERS_H */
