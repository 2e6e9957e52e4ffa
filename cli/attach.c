// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach and detach.  Names are resolved here, in userspace; the kernel gets
 * numeric addresses (all of them, it tries each on every reconnect) through
 * configfs, and the write to "power" performs the first connection and
 * handshake, returning the kernel's errno for one clear line of error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/netswap.h"

#define MAX_CFG 32

struct attach_opts {
	unsigned int val[MAX_CFG];	/* by cli_cfg_uints index */
	bool set[MAX_CFG];		/* unset: the module's default */
	const char *name;
	bool mirror;			/* two URLs: one device, two servers */
};

/* What attach writes for one leg (a server): its addresses and export. */
static const char *const leg_attrs[NS_MAX_LEGS][2] = {
	{ NS_CFG_ADDRESSES, NS_CFG_EXPORT },
	{ NS_CFG_MIRROR_ADDRESSES, NS_CFG_MIRROR_EXPORT },
};

/* Append "a.b.c.d:port [v6]:port ..." for every address gateway @g
 * resolves to; *n counts them all, at most CLI_MAX_ADDRS. */
static int resolve_one(const struct cli_gateway *g, char *out, size_t outlen,
		       int *n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char ip[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 16];
	int err, found = 0;

	err = getaddrinfo(g->host, g->port, &hints, &res);
	if (err) {
		cli_err("attach: cannot resolve '%s': %s", g->host, gai_strerror(err));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		const void *a;

		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		found++;
		inet_ntop(ai->ai_family, a, ip, sizeof(ip));
		snprintf(one, sizeof(one), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			 ip, g->port);
		if (strstr(out, one))
			continue;
		if (*n == CLI_MAX_ADDRS || strlen(out) + strlen(one) + 2 > outlen) {
			cli_err("attach: warning: %s: only the first %d addresses are used",
				g->host, CLI_MAX_ADDRS);
			break;
		}
		if ((*n)++)
			strcat(out, " ");
		strcat(out, one);
	}
	freeaddrinfo(res);
	if (!found) {
		cli_err("attach: '%s' has no IPv4 or IPv6 address", g->host);
		return -1;
	}
	return 0;
}

/* Every gateway's addresses, in the URL's order: the order netswap.ko
 * tries them in when it connects. */
static int resolve(const struct cli_url *u, char *out, size_t outlen)
{
	int n = 0;

	out[0] = '\0';
	for (unsigned int i = 0; i < u->ngw; i++)
		if (resolve_one(&u->gw[i], out, outlen, &n))
			return -1;
	return 0;
}

/* Default name: the export's, made safe for a directory, made unique. */
static void pick_name(const char *export, char *name, size_t len)
{
	char base[24], path[512];
	struct stat st;
	size_t i, n = 0;
	int k;

	for (i = 0; export[i] && n < sizeof(base) - 1; i++) {
		char c = export[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
			base[n++] = c;
	}
	base[n] = '\0';
	if (!n || !strcmp(base, ".") || !strcmp(base, ".."))
		strcpy(base, "export");
	snprintf(name, len, "%s", base);
	for (k = 2; k < 1000; k++) {
		if (stat(cli_path(path, sizeof(path), CLI_ITEMS "/%s", name), &st))
			return;
		snprintf(name, len, "%s-%d", base, k);
	}
}

static const char *attach_error(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return "connection refused";
	case -ENOENT:
		return "no such export on the server";
	case -ETIMEDOUT:
		return "connection timed out";
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		return "host unreachable";
	case -ECONNRESET:
	case -EPIPE:
		return "server closed the connection during the handshake";
	case -EPROTO:
		return "not an NBD server, or it broke the protocol in the handshake";
	case -EACCES:
		return "server refused the export (policy)";
	case -EPROTONOSUPPORT:
		return "server requires TLS, which netswap does not support";
	case -ESHUTDOWN:
		return "server is shutting down";
	case -EOPNOTSUPP:
		return "export needs a block size netswap cannot use";
	case -EINVAL:
		return "export too small or invalid";
	case -EDESTADDRREQ:
		return "no address configured";
	default:
		return strerror(-err);
	}
}

static int set_attr(const char *name, const char *attr, const char *value)
{
	char path[512];

	return cli_write_str(cli_path(path, sizeof(path), CLI_ITEMS "/%s/%s", name, attr),
			     value);
}

static int configure(const char *name, const struct attach_opts *o,
		     const struct cli_url *u, char addrs[][512], unsigned int legs)
{
	unsigned int l;
	char num[16];
	size_t i;
	int err = 0;

	for (l = 0; !err && l < legs; l++) {
		err = set_attr(name, leg_attrs[l][0], addrs[l]);
		if (!err)
			err = set_attr(name, leg_attrs[l][1],
				       u[l].export[0] ? u[l].export : "\n");
	}
	for (i = 0; !err && i < cli_ncfg_uints; i++) {
		if (!o->set[i])
			continue;
		snprintf(num, sizeof(num), "%u", o->val[i]);
		err = set_attr(name, cli_cfg_uints[i].name, num);
	}
	if (err)
		cli_err("attach: configuring %s: %s", name, strerror(-err));
	return err;
}

/*
 * --name, and one option per module setting: --queue-depth N for a number,
 * --no-integrity for a switch.  getopt_long's val says which: 'n', or
 * OPT_CFG + index, or OPT_NO + index.
 */
enum { OPT_CFG = 0x100, OPT_NO = 0x200 };

static int parse_attach_opts(int argc, char **argv, struct attach_opts *o)
{
	static char names[MAX_CFG][64];
	struct option longopts[MAX_CFG + 2];
	const struct cli_cfg_uint *c;
	size_t i, n = 0;
	int opt;

	for (i = 0; i < cli_ncfg_uints && i < MAX_CFG; i++) {
		c = &cli_cfg_uints[i];
		if (cli_cfg_is_switch(c)) {
			strcpy(names[i], "no-");
			cli_cfg_option_name(c, names[i] + 3, sizeof(names[i]) - 3);
			longopts[n++] = (struct option){ names[i], no_argument, NULL,
							 OPT_NO + (int)i };
		} else {
			cli_cfg_option_name(c, names[i], sizeof(names[i]));
			longopts[n++] = (struct option){ names[i], required_argument,
							 NULL, OPT_CFG + (int)i };
		}
	}
	longopts[n++] = (struct option){ "name", required_argument, NULL, 'n' };
	longopts[n++] = (struct option){ "mirror", no_argument, NULL, 'm' };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };

	while ((opt = getopt_long(argc, argv, "n:m", longopts, NULL)) != -1) {
		if (opt == 'n') {
			o->name = optarg;
		} else if (opt == 'm') {
			o->mirror = true;
		} else if (opt >= OPT_NO) {
			o->val[opt - OPT_NO] = 0;
			o->set[opt - OPT_NO] = true;
		} else if (opt >= OPT_CFG) {
			i = (size_t)(opt - OPT_CFG);
			if (cli_cfg_parse(&cli_cfg_uints[i], optarg, &o->val[i]))
				return -1;
			o->set[i] = true;
		} else {
			return -1;
		}
	}
	return 0;
}

/* The URLs on the command line: one, or two with --mirror. */
static int parse_urls(int argc, char **argv, const struct attach_opts *o,
		      struct cli_url *u)
{
	unsigned int l, legs = o->mirror ? 2 : 1;
	const char *why = NULL;

	if (argc - optind != (int)legs) {
		cli_err(o->mirror ?
			"attach: --mirror expects two nbd://HOST[:PORT][,HOST[:PORT]]...[/EXPORT]" :
			"attach: expected one nbd://HOST[:PORT][,HOST[:PORT]]...[/EXPORT]");
		return -1;
	}
	for (l = 0; l < legs; l++) {
		if (cli_url_parse(argv[optind + l], &u[l], &why)) {
			cli_err("attach: %s: %s", argv[optind + l], why);
			return -1;
		}
	}
	return (int)legs;
}

int cli_attach(int argc, char **argv)
{
	struct attach_opts o = { 0 };
	char name[64], dir[512], path[512], addrs[NS_MAX_LEGS][512], dev[64];
	struct cli_url u[NS_MAX_LEGS];
	int err, legs, l;

	if (cli_ncfg_uints > MAX_CFG) {
		cli_err("attach: built with more settings than it can parse");
		return 1;
	}
	if (parse_attach_opts(argc, argv, &o))
		return 2;
	legs = parse_urls(argc, argv, &o, u);
	if (legs < 0)
		return 2;
	if (o.name && (!*o.name || strchr(o.name, '/') || strlen(o.name) > 31 ||
		       o.name[0] == '.')) {
		cli_err("attach: --name must be 1..31 characters, no '/', not starting with '.'");
		return 2;
	}
	if (cli_need_module())
		return 1;
	for (l = 0; l < legs; l++)
		if (resolve(&u[l], addrs[l], sizeof(addrs[l])))
			return 1;

	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		pick_name(u[0].export, name, sizeof(name));
	cli_path(dir, sizeof(dir), CLI_ITEMS "/%s", name);
	if (mkdir(dir, 0755)) {
		cli_err("attach: %s: %s", name,
			errno == EEXIST ? "a device of that name exists" : strerror(errno));
		return 1;
	}
	if (configure(name, &o, u, addrs, (unsigned int)legs))
		goto out_rmdir;

	err = set_attr(name, NS_CFG_POWER, "1");
	if (err) {
		if (legs > 1)
			cli_err("attach: mirror %s:%s/%s + %s:%s/%s: %s", u[0].host,
				u[0].port, u[0].export, u[1].host, u[1].port,
				u[1].export, err == -EINVAL ?
				"mirroring needs integrity (drop --no-integrity), or the servers' exports do not fit" :
				attach_error(err));
		else
			cli_err("attach: %s:%s export '%s': %s", u[0].host, u[0].port,
				u[0].export, attach_error(err));
		goto out_rmdir;
	}
	cli_path(path, sizeof(path), CLI_ITEMS "/%s/" NS_CFG_DEVICE, name);
	if (cli_read_str(path, dev, sizeof(dev)) || !dev[0]) {
		cli_err("attach: the kernel reported no device");
		goto out_rmdir;
	}
	printf("/dev/%s\n", dev);
	return 0;

out_rmdir:
	rmdir(dir);
	return 1;
}

static int in_proc_swaps(const char *dev)
{
	char path[512], line[512], want[64];
	FILE *f;
	int found = 0;

	f = fopen(cli_path(path, sizeof(path), "/proc/swaps"), "re");
	if (!f)
		return 0;
	snprintf(want, sizeof(want), "/dev/%s ", dev);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = 1;
	fclose(f);
	return found;
}

/*
 * A device that was just attached is opened for a moment by udev's probe
 * (blkid); a detach right then would be refused though nobody really uses
 * it.  Retry "busy" for a few seconds, as dmsetup remove --retry does; a
 * real user (a mount, an open file) still gets the refusal.
 */
#define DETACH_BUSY_TRIES	50
#define DETACH_BUSY_WAIT_NS	100000000L

static int detach_power_off(const char *name)
{
	struct timespec wait = { 0, DETACH_BUSY_WAIT_NS };
	char path[512];
	int err, i;

	cli_path(path, sizeof(path), CLI_ITEMS "/%s/power", name);
	for (i = 0; ; i++) {
		err = cli_write_str(path, "0");
		if (err != -EBUSY || i + 1 >= DETACH_BUSY_TRIES)
			return err;
		nanosleep(&wait, NULL);
	}
}

int cli_detach(int argc, char **argv)
{
	struct cli_item it;
	char path[512];
	int err;

	if (argc != 2) {
		cli_err("detach: expected one DEVICE");
		return 2;
	}
	if (cli_need_module())
		return 1;
	if (cli_find_item(argv[1], &it)) {
		cli_err("detach: %s: no such netswap device", argv[1]);
		return 1;
	}
	if (it.device[0]) {
		if (in_proc_swaps(it.device)) {
			cli_err("detach: /dev/%s is in use as swap (swapoff it first)",
				it.device);
			return 1;
		}
		err = detach_power_off(it.name);
		if (err) {
			cli_err("detach: /dev/%s: %s", it.device,
				err == -EBUSY ? "device is in use" : strerror(-err));
			return 1;
		}
	}
	if (rmdir(cli_path(path, sizeof(path), CLI_ITEMS "/%s", it.name))) {
		cli_err("detach: %s: %s", it.name, strerror(errno));
		return 1;
	}
	return 0;
}
