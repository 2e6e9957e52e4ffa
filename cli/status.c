// SPDX-License-Identifier: GPL-2.0-only
/* status: every counter netswap.ko keeps, for people or as JSON. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/netswap.h"
#include "cli/prometheus.h"

/*
 * The one-value files of /sys/block/netswapN/netswap/, in print order: the
 * module's own list (proto/netswap_ctl.h).  A module older than this CLI
 * may lack some; they are left out rather than shown as zero.
 */
static const char *const counters[] = {
#define NS_SYSFS_VALUE(name, kind, help) #name,
#include "proto/netswap_ctl.h"
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))
#define ABSENT UINT64_MAX

struct conn_line {
	unsigned int id, inflight;
	char state[16], addr[80];
	unsigned long long connects;
	int err;
	unsigned long up_s;
};

/* A line of the legs file (the servers of a mirrored device). */
struct leg_line {
	unsigned int id, live, last_ms;
	char state[16], addr[80], export[256];
	unsigned long long dirty, resynced, repairs, drops;
	unsigned long resyncing_s;
};

struct dev_status {
	struct cli_item item;
	uint64_t v[NCOUNTERS];
	char export[CLI_MAX_EXPORT + 1];
	struct conn_line conns[NS_MAX_LEGS * NS_MAX_CONNS];
	int nconns, nlive;
	struct leg_line legs[NS_MAX_LEGS];
	int nlegs;
	uint64_t lat[CLI_LAT_BUCKETS];
};

static void load_legs(struct dev_status *s)
{
	char path[512], buf[4096], *line, *save;

	cli_path(path, sizeof(path), "/sys/block/%s/netswap/" NS_SYSFS_LEGS,
		 s->item.device);
	if (cli_read_str(path, buf, sizeof(buf)))
		return;		/* a module without mirroring */
	for (line = strtok_r(buf, "\n", &save); line && s->nlegs < NS_MAX_LEGS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct leg_line *l = &s->legs[s->nlegs];

		if (sscanf(line, "%u %15s %79s %255s %llu %llu %llu %llu %u %u %lu",
			   &l->id, l->state, l->addr, l->export, &l->dirty,
			   &l->resynced, &l->repairs, &l->drops, &l->live,
			   &l->last_ms, &l->resyncing_s) == 11)
			s->nlegs++;
	}
}

static uint64_t get(const struct dev_status *s, const char *name)
{
	size_t i;

	for (i = 0; i < NCOUNTERS; i++)
		if (!strcmp(counters[i], name))
			return s->v[i] == ABSENT ? 0 : s->v[i];
	return 0;
}

static int load(struct dev_status *s)
{
	char path[512], buf[4096], *line, *save;
	size_t i;
	int k;

	for (i = 0; i < NCOUNTERS; i++) {
		cli_path(path, sizeof(path), "/sys/block/%s/netswap/%s",
			 s->item.device, counters[i]);
		if (cli_read_u64(path, &s->v[i]))
			s->v[i] = ABSENT;
	}
	cli_path(path, sizeof(path), "/sys/block/%s/netswap/export", s->item.device);
	if (cli_read_str(path, s->export, sizeof(s->export)))
		s->export[0] = '\0';

	cli_path(path, sizeof(path), "/sys/block/%s/netswap/connections",
		 s->item.device);
	if (cli_read_str(path, buf, sizeof(buf)))
		return -1;
	for (line = strtok_r(buf, "\n", &save);
	     line && s->nconns < NS_MAX_LEGS * NS_MAX_CONNS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct conn_line *c = &s->conns[s->nconns];

		if (sscanf(line, "%u %15s %79s %llu %u %d %lu", &c->id, c->state,
			   c->addr, &c->connects, &c->inflight, &c->err, &c->up_s) != 7)
			continue;
		s->nlive += !strcmp(c->state, "live");
		s->nconns++;
	}

	load_legs(s);
	cli_path(path, sizeof(path), "/sys/block/%s/netswap/latency_histogram",
		 s->item.device);
	if (!cli_read_str(path, buf, sizeof(buf))) {
		char *p = buf, *end;

		for (k = 0; k < CLI_LAT_BUCKETS; k++, p = end)
			s->lat[k] = strtoull(p, &end, 10);
	}
	return 0;
}

static void human_bytes(uint64_t b, char *out, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

/* Bucket k holds completions in [2^(k-1), 2^k) us; bucket 0 is < 1 us. */
static void bucket_label(int k, char *out, size_t len)
{
	uint64_t us = (uint64_t)1 << k;

	if (k == CLI_LAT_BUCKETS - 1)
		snprintf(out, len, ">=%" PRIu64 "ms", (us >> 1) / 1000);
	else if (us < 1000)
		snprintf(out, len, "<%" PRIu64 "us", us);
	else
		snprintf(out, len, "<%" PRIu64 "ms", us / 1000);
}

/* A mirrored device: each server, its state, what it lacks, its resync. */
static void print_legs(const struct dev_status *s)
{
	char mem[32];
	int k;

	if (s->nlegs < 2)
		return;
	human_bytes(get(s, "mirror_bytes"), mem, sizeof(mem));
	printf("  mirror     %d legs, %" PRIu64 " in sync, drop after %" PRIu64
	       "s down, %s  resynced %" PRIu64 " blocks  repairs %" PRIu64
	       "  drops %" PRIu64 "\n", s->nlegs, get(s, "legs_in_sync"),
	       get(s, "leg_timeout"), mem, get(s, "resynced_blocks"),
	       get(s, "repairs"), get(s, "degradations"));
	for (k = 0; k < s->nlegs; k++) {
		const struct leg_line *l = &s->legs[k];

		printf("  leg %-3u    %-10s %s '%s'  live conns %u  dirty %llu  resynced %llu"
		       "  repairs %llu  drops %llu", l->id, l->state, l->addr,
		       strcmp(l->export, "-") ? l->export : "", l->live, l->dirty,
		       l->resynced, l->repairs, l->drops);
		if (l->resyncing_s)
			printf("  resyncing for %lus", l->resyncing_s);
		else if (l->last_ms)
			printf("  last resync %u ms", l->last_ms);
		printf("\n");
	}
}

/* Checksums: on or off, what they cost, what they caught. */
static void print_integrity(const struct dev_status *s)
{
	char mem[32], per[32];
	uint64_t size = get(s, "size_bytes");

	if (!get(s, "integrity")) {
		printf("  integrity  off: pages read are not verified\n");
		return;
	}
	human_bytes(get(s, "integrity_bytes"), mem, sizeof(mem));
	human_bytes(size ? get(s, "integrity_bytes") * (1ULL << 30) / size : 0,
		    per, sizeof(per));
	printf("  integrity  on, %s (%s per GiB)  known blocks %" PRIu64
	       "  errors %" PRIu64 "  re-reads %" PRIu64 "  server data lost %" PRIu64
	       "  lost blocks %" PRIu64 "\n", mem, per, get(s, "known_blocks"),
	       get(s, "integrity_errors"), get(s, "integrity_rereads"),
	       get(s, "server_data_lost"), get(s, "lost_blocks"));
}

static void print_human(const struct dev_status *s)
{
	char a[32], b[32];
	int k;

	human_bytes(get(s, "size_bytes"), a, sizeof(a));
	printf("/dev/%s  name %s  export '%s'  size %s  connections %d/%d live\n",
	       s->item.device, s->item.name, s->export, a, s->nlive, s->nconns);
	human_bytes(get(s, "read_bytes"), a, sizeof(a));
	human_bytes(get(s, "write_bytes"), b, sizeof(b));
	printf("  requests   read %" PRIu64 " (%s)  write %" PRIu64 " (%s)  flush %" PRIu64
	       "  discard %" PRIu64 "  swap %" PRIu64 "  in flight %" PRIu64 "\n",
	       get(s, "read_requests"), a, get(s, "write_requests"), b,
	       get(s, "flush_requests"), get(s, "discard_requests"),
	       get(s, "swap_requests"), get(s, "in_flight"));
	printf("  recovery   reconnects %" PRIu64 "  lost connections %" PRIu64
	       "  failed connects %" PRIu64 "  resends %" PRIu64 "  timeouts %" PRIu64 "\n",
	       get(s, "reconnects"), get(s, "lost_connections"),
	       get(s, "failed_connects"), get(s, "resends"), get(s, "timeouts"));
	printf("  errors     protocol %" PRIu64 "  server %" PRIu64 " (retried %" PRIu64
	       ")  failed I/O %" PRIu64 "\n",
	       get(s, "protocol_errors"), get(s, "server_errors"),
	       get(s, "error_retries"), get(s, "io_errors"));
	print_integrity(s);
	human_bytes(get(s, "max_request_bytes"), a, sizeof(a));
	if (get(s, "io_timeout"))
		snprintf(b, sizeof(b), "%" PRIu64 "s", get(s, "io_timeout"));
	else
		snprintf(b, sizeof(b), "none (never fail)");
	printf("  settings   queue depth %" PRIu64 "  largest request %s  request timeout %"
	       PRIu64 "s  io timeout %s\n", get(s, "queue_depth"), a,
	       get(s, "req_timeout"), b);
	print_legs(s);
	for (k = 0; k < s->nconns; k++) {
		const struct conn_line *c = &s->conns[k];

		printf("  conn %-3u   %-10s %s  connects %llu  in flight %u", c->id,
		       c->state, c->addr, c->connects, c->inflight);
		if (!strcmp(c->state, "live"))
			printf("  up %lus", c->up_s);
		else if (c->err)
			printf("  last error %d", c->err);
		printf("\n");
	}
	printf("  latency   ");
	for (k = 0; k < CLI_LAT_BUCKETS; k++) {
		if (!s->lat[k])
			continue;
		bucket_label(k, a, sizeof(a));
		printf(" %s:%" PRIu64, a, s->lat[k]);
	}
	printf("\n");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct dev_status *s)
{
	size_t i;
	int k;

	printf("{\"device\":\"/dev/%s\",\"name\":", s->item.device);
	json_string(s->item.name);
	printf(",\"export\":");
	json_string(s->export);
	for (i = 0; i < NCOUNTERS; i++)
		if (s->v[i] != ABSENT)
			printf(",\"%s\":%" PRIu64, counters[i], s->v[i]);
	printf(",\"connections\":[");
	for (k = 0; k < s->nconns; k++) {
		const struct conn_line *c = &s->conns[k];

		printf("%s{\"id\":%u,\"state\":\"%s\",\"address\":\"%s\",\"connects\":%llu,"
		       "\"in_flight\":%u,\"last_error\":%d,\"up_seconds\":%lu}",
		       k ? "," : "", c->id, c->state, c->addr, c->connects,
		       c->inflight, c->err, c->up_s);
	}
	printf("],\"legs\":[");
	for (k = 0; k < s->nlegs; k++) {
		const struct leg_line *l = &s->legs[k];

		printf("%s{\"id\":%u,\"state\":\"%s\",\"address\":\"%s\",\"export\":",
		       k ? "," : "", l->id, l->state, l->addr);
		json_string(strcmp(l->export, "-") ? l->export : "");
		printf(",\"live_connections\":%u,\"dirty_blocks\":%llu,"
		       "\"resynced_blocks\":%llu,\"repairs\":%llu,\"drops\":%llu,"
		       "\"last_resync_ms\":%u,\"resyncing_seconds\":%lu}",
		       l->live, l->dirty, l->resynced, l->repairs, l->drops,
		       l->last_ms, l->resyncing_s);
	}
	printf("],\"latency_us_log2\":[");
	for (k = 0; k < CLI_LAT_BUCKETS; k++)
		printf("%s%" PRIu64, k ? "," : "", s->lat[k]);
	printf("]}");
}

int cli_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	static struct dev_status st[CLI_MAX_DEVICES];
	struct cli_item items[CLI_MAX_DEVICES];
	int c, i, n, shown = 0, json = 0, prom = 0, rc = 0;
	const char *only = NULL, *output = NULL;

	while ((c = getopt_long(argc, argv, "j", longopts, NULL)) != -1) {
		if (c == 'p')
			prom = 1;
		else if (c == 'o')
			output = optarg;
		else if (c == 'j')
			json = 1;
		else
			return 2;
	}
	if ((output && !prom) || (prom && json)) {
		cli_err("status: --output goes with --prometheus, which excludes --json");
		return 2;
	}
	if (optind < argc - 1) {
		cli_err("status: at most one DEVICE");
		return 2;
	}
	if (optind == argc - 1)
		only = argv[optind];
	if (prom)
		return cli_status_prometheus(only, output);
	if (cli_need_module())
		return 1;

	if (only) {
		if (cli_find_item(only, &items[0])) {
			cli_err("status: %s: no such netswap device", only);
			return 1;
		}
		n = 1;
	} else {
		n = cli_list_items(items, CLI_MAX_DEVICES);
		if (n < 0) {
			cli_err("status: cannot list devices");
			return 1;
		}
	}
	if (json)
		printf("{\"devices\":[");
	for (i = 0; i < n; i++) {
		struct dev_status *s = &st[i];

		memset(s, 0, sizeof(*s));
		s->item = items[i];
		if (!s->item.device[0]) {
			if (!json)
				printf("%s: configured, not attached\n", s->item.name);
			continue;
		}
		if (load(s)) {
			cli_err("status: cannot read /sys/block/%s/netswap", s->item.device);
			rc = 1;
			continue;
		}
		if (json) {
			if (shown)
				putchar(',');
			print_json(s);
		} else {
			print_human(s);
		}
		shown++;
	}
	if (json)
		printf("]}\n");
	else if (!n)
		printf("no netswap devices\n");
	return rc;
}
