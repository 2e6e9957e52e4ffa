// SPDX-License-Identifier: GPL-2.0-only
/* The command line, parsed into struct nsd_config.  Errors are one line. */
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/size.h"
#include "netswapd.h"

static const char usage[] =
"usage: netswapd [--listen ADDR:PORT | --listen unix:PATH]... --export SPEC...\n"
"                [options]\n"
"\n"
"Serve block exports over the NBD protocol (fixed newstyle).\n"
"\n"
"  --export SPEC          NAME=mem:SIZE          anonymous memory, sparse\n"
"                         NAME=file:PATH[:SIZE]  a file (created sparse at\n"
"                                                SIZE if missing)\n"
"                         an empty NAME is the default export\n"
"  --listen ADDR:PORT     TCP (default 127.0.0.1:10809; [::1]:PORT for IPv6;\n"
"                         port 0 picks a free port); repeatable\n"
"  --listen unix:PATH     a Unix socket\n"
"  --read-only            refuse writes (EPERM)\n"
"  --allow CIDR           admit only these TCP peers; repeatable\n"
"  --max-connections N    default 4096, at most 32703\n"
"  --buffer-memory SIZE   the bound on request/reply buffers (default 64M,\n"
"                         at least 2M)\n"
"  --reserve-per-connection SIZE\n"
"                         buffer memory set aside for each client once it\n"
"                         negotiated an export, so it always makes progress\n"
"                         (default: its request slots, plus one 128K request\n"
"                         for file exports; 0 = no reserves)\n"
"  --threads N            event-loop threads (default: online CPUs)\n"
"  --handshake-timeout S  drop clients that have not finished the\n"
"                         handshake after S seconds (default 30)\n"
"  --send-timeout S       while others wait for buffer memory, drop clients\n"
"                         that took none of their replies for S seconds\n"
"                         (default 30)\n"
"  --mlock                lock the server's memory (MCL_ONFAULT)\n"
"  --pidfile PATH         write the pid once listening\n"
"  --quiet                log errors and warnings only\n"
"  --help, --version\n"
"\n"
"SIZE takes a K, M, G or T suffix (powers of 1024).  Each listener prints\n"
"'listening ADDR:PORT' on stdout.  SIGTERM/SIGINT stop gracefully.\n";

enum {
	OPT_LISTEN = 256, OPT_EXPORT, OPT_READ_ONLY, OPT_ALLOW, OPT_MAX_CONN,
	OPT_BUFMEM, OPT_RESERVE, OPT_THREADS, OPT_HS_TIMEOUT, OPT_SEND_TIMEOUT, OPT_MLOCK,
	OPT_PIDFILE,
	OPT_QUIET, OPT_HELP, OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "export", required_argument, NULL, OPT_EXPORT },
	{ "read-only", no_argument, NULL, OPT_READ_ONLY },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONN },
	{ "buffer-memory", required_argument, NULL, OPT_BUFMEM },
	{ "reserve-per-connection", required_argument, NULL, OPT_RESERVE },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT },
	{ "send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT },
	{ "mlock", no_argument, NULL, OPT_MLOCK },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int fail(const char *fmt, const char *arg)
{
	fputs("netswapd: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (try --help)\n", stderr);
	return -1;
}

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static int parse_listen(const char *arg, struct nsd_listen_spec *ls)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	char host[256];
	const char *port, *h = arg;
	size_t hlen;

	memset(ls, 0, sizeof(*ls));
	if (!strncmp(arg, "unix:", 5)) {
		if (!arg[5] || strlen(arg + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		ls->is_unix = true;
		ls->path = strdup(arg + 5);
		return ls->path ? 0 : -1;
	}
	if (*arg == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			return -1;
		h = arg + 1;
		hlen = (size_t)(close - h);
		port = close + 2;
		hints.ai_family = AF_INET6;
	} else {
		const char *colon = strrchr(arg, ':');

		if (!colon)
			return -1;
		hlen = (size_t)(colon - arg);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || !*port)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	memcpy(&ls->addr, res->ai_addr, res->ai_addrlen);
	ls->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The size at the end of "file:PATH:SIZE" is optional: a trailing ":x" that
 * does not parse as a size is part of the path. */
static int parse_export(const char *arg, struct nsd_export_spec *es)
{
	const char *eq = strchr(arg, '=');
	const char *rest;

	memset(es, 0, sizeof(*es));
	if (!eq || (size_t)(eq - arg) > NBD_MAX_STRING)
		return -1;
	es->name = strndup(arg, (size_t)(eq - arg));
	rest = eq + 1;
	if (!strncmp(rest, "mem:", 4)) {
		es->kind = NSD_EXPORT_MEM;
		if (size_parse(rest + 4, &es->size) || es->size == 0)
			return -1;
		return 0;
	}
	if (strncmp(rest, "file:", 5) || !rest[5])
		return -1;
	es->kind = NSD_EXPORT_FILE;
	rest += 5;
	const char *colon = strrchr(rest, ':');

	if (colon && colon != rest && !size_parse(colon + 1, &es->size)) {
		if (es->size == 0)
			return -1;
		es->path = strndup(rest, (size_t)(colon - rest));
	} else {
		es->size = 0;
		es->path = strdup(rest);
	}
	return es->path ? 0 : -1;
}

static void set_defaults(struct nsd_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_connections = 4096;
	cfg->buffer_memory = 64ULL << 20;
	cfg->threads = ncpu > 0 ? (unsigned int)ncpu : 1;
	cfg->handshake_timeout = 30;
	cfg->send_timeout = 30;
	cfg->reserve = -1;
}

static int add_default_listener(struct nsd_config *cfg)
{
	char addr[32];

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", NSD_DEFAULT_PORT);
	cfg->nlisten = 1;
	return parse_listen(addr, &cfg->listen[0]);
}

static int check_exports(const struct nsd_config *cfg)
{
	if (cfg->nexports == 0)
		return fail("no %sexport given", "--");
	for (int i = 0; i < cfg->nexports; i++)
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->exports[i].name, cfg->exports[j].name))
				return fail("export name '%s' given twice",
					    cfg->exports[i].name);
	return 0;
}

static int parse_one(struct nsd_config *cfg, int opt, const char *arg)
{
	unsigned int maxc = ARENA_MAX_OWNERS - 64;	/* one owner each */

	switch (opt) {
	case OPT_LISTEN:
		if (cfg->nlisten == NSD_MAX_LISTEN)
			return fail("too many %s options", "--listen");
		if (parse_listen(arg, &cfg->listen[cfg->nlisten]))
			return fail("--listen: cannot use '%s'", arg);
		cfg->nlisten++;
		return 0;
	case OPT_EXPORT:
		if (cfg->nexports == NSD_MAX_EXPORTS)
			return fail("too many %s options", "--export");
		if (parse_export(arg, &cfg->exports[cfg->nexports++]))
			return fail("--export: bad SPEC '%s'", arg);
		return 0;
	case OPT_ALLOW:
		if (cfg->nallow == NSD_MAX_ALLOW)
			return fail("too many %s options", "--allow");
		if (cidr_parse(arg, &cfg->allow[cfg->nallow++]))
			return fail("--allow: bad CIDR '%s'", arg);
		return 0;
	case OPT_READ_ONLY:
		cfg->read_only = true;
		return 0;
	case OPT_MAX_CONN:
		if (parse_uint(arg, 1, maxc, &cfg->max_connections))
			return fail("--max-connections: bad number '%s'", arg);
		return 0;
	case OPT_BUFMEM:
		/* 2M at least: the spec wants payloads of 1M to be welcome. */
		if (size_parse(arg, &cfg->buffer_memory) ||
		    cfg->buffer_memory < (2U << 20) ||
		    cfg->buffer_memory > (1ULL << 40))
			return fail("--buffer-memory: '%s' is not a size from 2M to 1T", arg);
		return 0;
	case OPT_RESERVE: {
		uint64_t v;

		if (size_parse(arg, &v) || v > (1ULL << 40))
			return fail("--reserve-per-connection: bad size '%s'", arg);
		cfg->reserve = (int64_t)v;
		return 0;
	}
	case OPT_THREADS:
		if (parse_uint(arg, 1, 256, &cfg->threads))
			return fail("--threads: '%s' is not from 1 to 256", arg);
		return 0;
	case OPT_HS_TIMEOUT:
		if (parse_uint(arg, 1, 86400, &cfg->handshake_timeout))
			return fail("--handshake-timeout: bad seconds '%s'", arg);
		return 0;
	case OPT_SEND_TIMEOUT:
		if (parse_uint(arg, 1, 86400, &cfg->send_timeout))
			return fail("--send-timeout: bad seconds '%s'", arg);
		return 0;
	case OPT_MLOCK:
		cfg->mlock = true;
		return 0;
	case OPT_PIDFILE:
		free(cfg->pidfile);
		cfg->pidfile = strdup(arg);
		return 0;
	case OPT_QUIET:
		cfg->quiet = true;
		return 0;
	}
	return fail("%s", "bad option");
}

int config_parse(struct nsd_config *cfg, int argc, char **argv)
{
	int opt;

	set_defaults(cfg);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == OPT_VERSION) {
			printf("netswapd %s\n", NSD_VERSION);
			return 1;
		}
		if (opt == '?') {
			const char *bad = argv[optind - 1];

			if (optopt)
				return fail("option '%s' needs an argument", bad);
			return fail("unknown option '%s'", bad);
		}
		if (parse_one(cfg, opt, optarg))
			return -1;
	}
	if (optind < argc)
		return fail("unexpected argument '%s'", argv[optind]);
	if (check_exports(cfg))
		return -1;
	if (cfg->nlisten == 0 && add_default_listener(cfg))
		return fail("%s", "cannot resolve the default listen address");
	return 0;
}

void config_free(struct nsd_config *cfg)
{
	for (int i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i].path);
	for (int i = 0; i < cfg->nexports; i++) {
		free(cfg->exports[i].name);
		free(cfg->exports[i].path);
	}
	free(cfg->pidfile);
	memset(cfg, 0, sizeof(*cfg));
}
