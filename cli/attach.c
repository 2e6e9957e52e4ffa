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
#include <unistd.h>

#include "cli/netswap.h"

struct attach_opts {
	unsigned int connections;
	unsigned int io_timeout;
	unsigned int req_timeout;	/* 0: the module's default */
	unsigned int queue_depth;	/* 0: the module's default */
	const char *name;
	const char *url;
};

static int parse_uint(const char *s, unsigned int max, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > max || *s == '-')
		return -1;
	*v = (unsigned int)n;
	return 0;
}

/* "a.b.c.d:port [v6]:port ..." for every address HOST resolves to. */
static int resolve(const struct cli_url *u, char *out, size_t outlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	char ip[INET6_ADDRSTRLEN], one[INET6_ADDRSTRLEN + 16];
	int err, n = 0;

	err = getaddrinfo(u->host, u->port, &hints, &res);
	if (err) {
		cli_err("attach: cannot resolve '%s': %s", u->host, gai_strerror(err));
		return -1;
	}
	out[0] = '\0';
	for (ai = res; ai && n < CLI_MAX_ADDRS; ai = ai->ai_next) {
		const void *a;

		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		inet_ntop(ai->ai_family, a, ip, sizeof(ip));
		snprintf(one, sizeof(one), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
			 ip, u->port);
		if (strstr(out, one))
			continue;
		if (strlen(out) + strlen(one) + 2 > outlen)
			break;
		if (n++)
			strcat(out, " ");
		strcat(out, one);
	}
	freeaddrinfo(res);
	if (!n) {
		cli_err("attach: '%s' has no IPv4 or IPv6 address", u->host);
		return -1;
	}
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
		     const struct cli_url *u, const char *addrs)
{
	char num[16];
	int err;

	err = set_attr(name, "addresses", addrs);
	if (!err)
		err = set_attr(name, "export", u->export[0] ? u->export : "\n");
	if (!err) {
		snprintf(num, sizeof(num), "%u", o->connections);
		err = set_attr(name, "connections", num);
	}
	if (!err) {
		snprintf(num, sizeof(num), "%u", o->io_timeout);
		err = set_attr(name, "io_timeout", num);
	}
	if (!err && o->req_timeout) {
		snprintf(num, sizeof(num), "%u", o->req_timeout);
		err = set_attr(name, "req_timeout", num);
	}
	if (!err && o->queue_depth) {
		snprintf(num, sizeof(num), "%u", o->queue_depth);
		err = set_attr(name, "queue_depth", num);
	}
	if (err)
		cli_err("attach: configuring %s: %s", name, strerror(-err));
	return err;
}

int cli_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "connections", required_argument, NULL, 'c' },
		{ "io-timeout", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "req-timeout", required_argument, NULL, 'r' },
		{ "queue-depth", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct attach_opts o = { .connections = 1 };
	char name[64], dir[512], path[512], addrs[512], dev[64];
	const char *why = NULL;
	struct cli_url u;
	int c, err;

	while ((c = getopt_long(argc, argv, "c:t:n:r:q:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_uint(optarg, 16, &o.connections) || !o.connections) {
				cli_err("attach: --connections must be 1..16");
				return 2;
			}
			break;
		case 't':
			if (parse_uint(optarg, 7 * 24 * 3600, &o.io_timeout)) {
				cli_err("attach: --io-timeout must be 0..604800 seconds");
				return 2;
			}
			break;
		case 'n':
			o.name = optarg;
			break;
		case 'r':
			if (parse_uint(optarg, 3600, &o.req_timeout) || !o.req_timeout) {
				cli_err("attach: --req-timeout must be 1..3600 seconds");
				return 2;
			}
			break;
		case 'q':
			if (parse_uint(optarg, 1024, &o.queue_depth) || !o.queue_depth) {
				cli_err("attach: --queue-depth must be 1..1024");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		cli_err("attach: expected one nbd://HOST[:PORT]/EXPORT");
		return 2;
	}
	o.url = argv[optind];
	if (cli_url_parse(o.url, &u, &why)) {
		cli_err("attach: %s: %s", o.url, why);
		return 2;
	}
	if (o.name && (!*o.name || strchr(o.name, '/') || strlen(o.name) > 31 ||
		       o.name[0] == '.')) {
		cli_err("attach: --name must be 1..31 characters, no '/', not starting with '.'");
		return 2;
	}
	if (cli_need_module())
		return 1;
	if (resolve(&u, addrs, sizeof(addrs)))
		return 1;

	if (o.name)
		snprintf(name, sizeof(name), "%s", o.name);
	else
		pick_name(u.export, name, sizeof(name));
	cli_path(dir, sizeof(dir), CLI_ITEMS "/%s", name);
	if (mkdir(dir, 0755)) {
		cli_err("attach: %s: %s", name,
			errno == EEXIST ? "a device of that name exists" : strerror(errno));
		return 1;
	}
	if (configure(name, &o, &u, addrs))
		goto out_rmdir;

	err = set_attr(name, "power", "1");
	if (err) {
		cli_err("attach: %s:%s export '%s': %s", u.host, u.port, u.export,
			attach_error(err));
		goto out_rmdir;
	}
	cli_path(path, sizeof(path), CLI_ITEMS "/%s/device", name);
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
		err = cli_write_str(cli_path(path, sizeof(path), CLI_ITEMS "/%s/power",
					     it.name), "0");
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
