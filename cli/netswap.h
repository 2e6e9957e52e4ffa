/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netswap, the command line side of netswap.ko.  The pure parts (URL
 * parsing, reserve arithmetic) have no I/O and are unit-tested; the rest
 * talks to configfs (/sys/kernel/config/netswap) and sysfs
 * (/sys/block/netswapN/netswap).  NETSWAP_SYSROOT, if set, prefixes every
 * /sys and /proc path, so tests can point the CLI at a fake tree.
 */
#ifndef NETSWAP_CLI_H
#define NETSWAP_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/netswap_ctl.h"

/* The module's limits, from the header both sides build against. */
#define CLI_DEFAULT_PORT	NS_DEFAULT_PORT
#define CLI_MAX_EXPORT		(NS_MAX_EXPORT - 1)
#define CLI_MAX_ADDRS		NS_MAX_ADDRS
#define CLI_LAT_BUCKETS		NS_LAT_BUCKETS
#define CLI_MAX_DEVICES		64

/* options.c: the module's numeric settings, as attach options. */
struct cli_cfg_uint {
	const char *name;		/* the configfs attribute */
	unsigned int min, max, def;
	const char *help;
};
extern const struct cli_cfg_uint cli_cfg_uints[];
extern const size_t cli_ncfg_uints;
void cli_cfg_option_name(const struct cli_cfg_uint *c, char *out, size_t len);
bool cli_cfg_is_switch(const struct cli_cfg_uint *c);
int cli_cfg_parse(const struct cli_cfg_uint *c, const char *s, unsigned int *v);
void cli_cfg_usage(FILE *f);

/* url.c: nbd://HOST[:PORT][,HOST[:PORT]]...[/EXPORT], gateways in order */
struct cli_gateway {
	char host[256];
	char port[8];
};
struct cli_url {
	char host[256];			/* the first gateway's */
	char port[8];
	char export[CLI_MAX_EXPORT + 1];
	unsigned int ngw;
	struct cli_gateway gw[CLI_MAX_ADDRS];
};
int cli_url_parse(const char *s, struct cli_url *u, const char **why);

/* reserve_calc.c: how much PFMEMALLOC reserve the attached devices need. */
struct cli_reserve_dev {
	unsigned int conns;
	unsigned int queue_depth;
	uint64_t max_request;		/* bytes */
};

struct cli_reserve_in {
	unsigned int page_size;
	unsigned int mtu;
	uint64_t rmem_max;		/* tcp_rmem[2] */
	uint64_t wmem_max;		/* tcp_wmem[2] */
	uint64_t mem_total_kb;
	uint64_t current_kb;		/* vm.min_free_kbytes now */
	unsigned int ndev;
	struct cli_reserve_dev dev[CLI_MAX_DEVICES];
};

struct cli_reserve_conn {
	unsigned int mss;
	unsigned int seg_truesize;	/* one received segment, bytes */
	uint64_t rx_segments;		/* replies in flight, as segments */
	uint64_t rx_segments_uncapped;
	uint64_t rx_pages;
	uint64_t tx_bytes;		/* request payload queued in skbs */
	uint64_t tx_pages;
	uint64_t sock_pages;
	uint64_t pages;			/* rx + tx + sock */
};

struct cli_reserve_out {
	struct cli_reserve_conn per_dev[CLI_MAX_DEVICES];	/* per connection */
	unsigned int conns;
	uint64_t pages;
	uint64_t reserve_kb;
	uint64_t base_kb;		/* the kernel's own default */
	uint64_t recommended_kb;
};

int cli_reserve_compute(const struct cli_reserve_in *in,
			struct cli_reserve_out *out);
uint64_t cli_default_min_free_kb(uint64_t mem_total_kb);

/* sysfs.c: small file helpers; paths are relative to NETSWAP_SYSROOT. */
const char *cli_path(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int cli_read_str(const char *path, char *buf, size_t len);
int cli_read_u64(const char *path, uint64_t *v);
int cli_write_str(const char *path, const char *s);
#define CLI_CONFIGFS	"/sys/kernel/config"
#define CLI_ITEMS	CLI_CONFIGFS "/netswap"

struct cli_item {
	char name[64];
	char device[32];	/* "" when not powered */
};
int cli_list_items(struct cli_item *items, int max);
int cli_need_module(void);
int cli_find_item(const char *arg, struct cli_item *out);

/* attach.c, status.c, reserve.c: the commands; return the exit code. */
int cli_attach(int argc, char **argv);
int cli_detach(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_reserve(int argc, char **argv);

void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
