// SPDX-License-Identifier: GPL-2.0-only
/*
 * reserve: gather what the estimate needs (the attached devices, MTU, TCP
 * buffer limits, memory size), print the computation, and with --apply raise
 * vm.min_free_kbytes to the recommendation.  Never lowers it: an admin who
 * set more had a reason.
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/netswap.h"

/* Largest MTU of any interface but loopback: the worst case for truesize. */
static unsigned int max_mtu(void)
{
	char path[512];
	struct dirent *de;
	unsigned int best = 0;
	uint64_t v;
	DIR *d;

	d = opendir(cli_path(path, sizeof(path), "/sys/class/net"));
	if (!d)
		return 1500;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "lo"))
			continue;
		cli_path(path, sizeof(path), "/sys/class/net/%s/mtu", de->d_name);
		if (!cli_read_u64(path, &v) && v > best && v < 65536)
			best = (unsigned int)v;
	}
	closedir(d);
	return best ? best : 1500;
}

/* The third field of tcp_rmem / tcp_wmem. */
static uint64_t tcp_mem_max(const char *name, uint64_t fallback)
{
	char path[512], buf[128];
	unsigned long long a, b, c;

	cli_path(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
	if (cli_read_str(path, buf, sizeof(buf)) ||
	    sscanf(buf, "%llu %llu %llu", &a, &b, &c) != 3)
		return fallback;
	return c;
}

static uint64_t mem_total_kb(void)
{
	char path[512], line[256];
	unsigned long long kb = 0;
	FILE *f;

	f = fopen(cli_path(path, sizeof(path), "/proc/meminfo"), "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int gather(struct cli_reserve_in *in, char names[][32])
{
	struct cli_item items[CLI_MAX_DEVICES];
	char path[512], buf[4096], *p;
	uint64_t v;
	int i, n;

	memset(in, 0, sizeof(*in));
	in->page_size = (unsigned int)sysconf(_SC_PAGESIZE);
	in->mtu = max_mtu();
	in->rmem_max = tcp_mem_max("tcp_rmem", 6291456);
	in->wmem_max = tcp_mem_max("tcp_wmem", 4194304);
	in->mem_total_kb = mem_total_kb();
	cli_path(path, sizeof(path), "/proc/sys/vm/min_free_kbytes");
	if (cli_read_u64(path, &in->current_kb)) {
		cli_err("reserve: cannot read %s", path);
		return -1;
	}

	n = cli_list_items(items, CLI_MAX_DEVICES);
	for (i = 0; i < n; i++) {
		struct cli_reserve_dev *d = &in->dev[in->ndev];

		if (!items[i].device[0])
			continue;
		cli_path(path, sizeof(path), "/sys/block/%s/netswap/queue_depth",
			 items[i].device);
		if (cli_read_u64(path, &v))
			continue;
		d->queue_depth = (unsigned int)v;
		cli_path(path, sizeof(path), "/sys/block/%s/netswap/max_request_bytes",
			 items[i].device);
		if (cli_read_u64(path, &d->max_request))
			continue;
		cli_path(path, sizeof(path), "/sys/block/%s/netswap/connections",
			 items[i].device);
		if (cli_read_str(path, buf, sizeof(buf)))
			continue;
		d->conns = 0;
		for (p = buf; *p; p++)
			d->conns += *p == '\n';
		d->conns += buf[0] != '\0';
		snprintf(names[in->ndev], 32, "%s", items[i].device);
		in->ndev++;
	}
	return 0;
}

static void explain(const struct cli_reserve_in *in, const struct cli_reserve_out *out,
		    char names[][32])
{
	unsigned int i;

	printf("netswap reserve: %u device(s), %u connection(s); page %u B, MTU %u, "
	       "tcp_rmem max %" PRIu64 " B, tcp_wmem max %" PRIu64 " B\n",
	       in->ndev, out->conns, in->page_size, in->mtu, in->rmem_max, in->wmem_max);
	for (i = 0; i < in->ndev; i++) {
		const struct cli_reserve_dev *d = &in->dev[i];
		const struct cli_reserve_conn *c = &out->per_dev[i];

		printf("  /dev/%s: %u connection(s), queue depth %u, largest request %" PRIu64
		       " B\n", names[i], d->conns, d->queue_depth, d->max_request);
		printf("    receive  %u replies x %" PRIu64 " B in MSS %u segments = %" PRIu64
		       " segments, window cap -> %" PRIu64 " x %u B truesize = %" PRIu64 " pages\n",
		       d->queue_depth, d->max_request + 16, c->mss, c->rx_segments_uncapped,
		       c->rx_segments, c->seg_truesize, c->rx_pages);
		printf("    send     %u requests x %" PRIu64 " B, tcp_wmem cap -> %" PRIu64
		       " B = %" PRIu64 " pages (with skb heads)\n", d->queue_depth,
		       d->max_request + 28, c->tx_bytes, c->tx_pages);
		printf("    socket   %" PRIu64 " pages\n", c->sock_pages);
		printf("    total    %" PRIu64 " pages per connection\n", c->pages);
	}
	printf("  reserve: %" PRIu64 " pages = %" PRIu64 " KiB\n", out->pages, out->reserve_kb);
	printf("  min_free_kbytes: current %" PRIu64 ", kernel default %" PRIu64
	       " (sqrt(16 x %" PRIu64 " KiB)), recommended %" PRIu64 " (default + reserve)\n",
	       in->current_kb, out->base_kb, in->mem_total_kb, out->recommended_kb);
}

int cli_reserve(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "apply", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cli_reserve_in in;
	static struct cli_reserve_out out;
	char names[CLI_MAX_DEVICES][32], path[512], num[32];
	int c, apply = 0, err;

	while ((c = getopt_long(argc, argv, "a", longopts, NULL)) != -1) {
		if (c != 'a')
			return 2;
		apply = 1;
	}
	if (optind != argc) {
		cli_err("reserve: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (cli_need_module() || gather(&in, names))
		return 1;
	if (cli_reserve_compute(&in, &out)) {
		cli_err("reserve: implausible inputs (MTU %u)", in.mtu);
		return 1;
	}
	explain(&in, &out, names);
	if (!in.ndev)
		printf("  no device attached: nothing to reserve\n");
	if (!apply)
		return 0;
	if (out.recommended_kb <= in.current_kb) {
		printf("min_free_kbytes %" PRIu64 " already covers %" PRIu64 ": unchanged\n",
		       in.current_kb, out.recommended_kb);
		return 0;
	}
	snprintf(num, sizeof(num), "%" PRIu64, out.recommended_kb);
	err = cli_write_str(cli_path(path, sizeof(path), "/proc/sys/vm/min_free_kbytes"), num);
	if (err) {
		cli_err("reserve: cannot raise min_free_kbytes: %s", strerror(-err));
		return 1;
	}
	printf("min_free_kbytes raised from %" PRIu64 " to %" PRIu64 "\n", in.current_kb,
	       out.recommended_kb);
	return 0;
}
