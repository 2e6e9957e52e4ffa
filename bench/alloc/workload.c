// SPDX-License-Identifier: GPL-2.0-only
/*
 * The workloads: each is a stream of transactions, a transaction being the
 * objects that live and die together (one for a frame, a request header,
 * payload and reply for NBD).  The driver keeps a window of live
 * transactions and replaces a random one at every step, so lifetimes are
 * random.  The netswapd trace is replayed as recorded instead.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/alloc/bench.h"

#define SKB_OVERHEAD 320	/* what an skb adds to a frame's data */

static void debate(uint64_t *rng, struct txn_shape *t)
{
	static const size_t sizes[] = { 19, 37, 79 };

	t->n = 1;
	t->len[0] = sizes[xs64(rng) % 3];
}

static void frames(uint64_t *rng, struct txn_shape *t)
{
	(void)rng;
	t->n = 1;
	t->len[0] = 1500 + SKB_OVERHEAD;
}

static void jumbo(uint64_t *rng, struct txn_shape *t)
{
	(void)rng;
	t->n = 1;
	t->len[0] = 9000 + SKB_OVERHEAD;
}

/* An NBD request: 28-byte header, payload, 32-byte reply header (a
 * structured reply chunk header with its offset).  Payloads: 4 KiB nine
 * times in ten, 128 KiB otherwise (swap pages and readahead/writeback
 * clusters). */
static void nbd(uint64_t *rng, struct txn_shape *t)
{
	t->n = 3;
	t->len[0] = 28;
	t->len[1] = xs64(rng) % 10 ? 4096 : 128 << 10;
	t->len[2] = 32;
}

const struct workload workloads[] = {
	{ "debate", "19/37/79 B, 1:1:1, 100k live", 100000, debate },
	{ "frames", "1500 B frames + 320 B skb overhead, 4k live", 4096, frames },
	{ "jumbo", "9000 B frames + 320 B skb overhead, 1k live", 1024, jumbo },
	{ "nbd", "28 B header + 4 KiB (90%) or 128 KiB payload + 32 B reply, 256 live", 256, nbd },
	{ "trace", "netswapd's buffer allocations under fio, replayed", 0, NULL },
};
const unsigned int nworkloads = sizeof(workloads) / sizeof(workloads[0]);

/* "a ID LEN" or "f ID" per line; ids are small integers. */
int trace_load(const char *path, struct trace_ev **ev, size_t *n,
	       uint32_t *max_id)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, k = 0;
	struct trace_ev *v;
	char op;
	unsigned long id, len;

	*max_id = 0;
	if (!f)
		return -1;
	v = malloc(cap * sizeof(*v));
	while (v && fscanf(f, " %c %lu", &op, &id) == 2) {
		len = 0;
		if (op == 'a' && (fscanf(f, "%lu", &len) != 1 || !len))
			break;
		if (op != 'a' && op != 'f')
			break;
		if (k == cap) {
			struct trace_ev *w = realloc(v, 2 * cap * sizeof(*v));

			if (!w)
				break;
			v = w;
			cap *= 2;
		}
		v[k].id = (uint32_t)id;
		v[k].len = (uint32_t)len;
		if (id > *max_id)
			*max_id = (uint32_t)id;
		k++;
	}
	fclose(f);
	if (!v || !k) {
		free(v);
		errno = EINVAL;
		return -1;
	}
	*ev = v;
	*n = k;
	return 0;
}
