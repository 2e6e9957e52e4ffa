// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration: defaults, then the --config file, then the command
 * line, every option through the one table (options.h).  The parsers of
 * the options that are more than a value live here.  Errors are one line
 * that says where: "--threads: ..." or "FILE:LINE: threads: ...".
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "netswapd.h"

#define CONFIG_LINE_MAX (64U << 10)	/* names, paths, descriptions: 4K each */

static int why_fail(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
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

int opt_listen(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	if (cfg->nlisten == NSD_MAX_LISTEN)
		return why_fail(why, len, "more than %d listeners", NSD_MAX_LISTEN);
	if (parse_listen(arg, &cfg->listen[cfg->nlisten]))
		return why_fail(why, len, "cannot use '%s'", arg);
	cfg->nlisten++;
	return 0;
}

int opt_metrics(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	if (parse_listen(arg, &cfg->metrics) || cfg->metrics.is_unix) {
		free(cfg->metrics.path);
		memset(&cfg->metrics, 0, sizeof(cfg->metrics));
		return why_fail(why, len, "cannot use '%s' (ADDR:PORT)", arg);
	}
	return 0;
}

int opt_export(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	if (cfg->nexports == NSD_MAX_EXPORTS)
		return why_fail(why, len, "more than %d exports", NSD_MAX_EXPORTS);
	if (export_spec_parse(arg, &cfg->exports[cfg->nexports], why, len))
		return -1;
	cfg->nexports++;
	return 0;
}

int opt_allow(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	if (cfg->nallow == NSD_MAX_ALLOW)
		return why_fail(why, len, "more than %d rules", NSD_MAX_ALLOW);
	if (cidr_parse(arg, &cfg->allow[cfg->nallow]))
		return why_fail(why, len, "bad CIDR '%s'", arg);
	cfg->nallow++;
	return 0;
}

/* USER[:GROUP], names or numbers. */
int opt_socket_owner(struct nsd_config *cfg, const char *arg, char *why,
		     size_t len)
{
	const char *colon = strchr(arg, ':');
	char user[256];
	size_t ulen = colon ? (size_t)(colon - arg) : strlen(arg);
	struct passwd *pw;
	struct group *gr;

	if (ulen == 0 || ulen >= sizeof(user))
		return why_fail(why, len, "bad owner '%s'", arg);
	memcpy(user, arg, ulen);
	user[ulen] = '\0';
	pw = getpwnam(user);
	if (pw)
		cfg->socket_uid = pw->pw_uid;
	else if (export_spec_parse_id(user, &cfg->socket_uid))
		return why_fail(why, len, "no user '%s'", user);
	cfg->socket_gid = (gid_t)-1;
	if (!colon)
		return 0;
	gr = colon[1] ? getgrnam(colon + 1) : NULL;
	if (gr)
		cfg->socket_gid = gr->gr_gid;
	else if (export_spec_parse_id(colon + 1, &cfg->socket_gid))
		return why_fail(why, len, "no group '%s'", colon + 1);
	return 0;
}

int opt_config(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	free(cfg->config_path);
	cfg->config_path = strdup(arg);
	return cfg->config_path ? 0 : why_fail(why, len, "out of memory");
}

int opt_help(struct nsd_config *cfg, const char *arg, char *why, size_t len)
{
	(void)cfg, (void)arg, (void)why, (void)len;
	options_usage(stdout);
	return 1;
}

int opt_version(struct nsd_config *cfg, const char *arg, char *why,
		size_t len)
{
	(void)cfg, (void)arg, (void)why, (void)len;
	printf("netswapd %s\n", NSD_VERSION);
	return 1;
}

static void set_defaults(struct nsd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	options_defaults(cfg);
	cfg->socket_uid = (uid_t)-1;
	cfg->socket_gid = (gid_t)-1;
}

static int parse_argv(struct nsd_config *cfg, int argc, char **argv,
		      char *err, size_t len)
{
	struct option long_opts[nsd_noptions + 1];
	char why[384];
	int opt, rc;

	options_getopt(long_opts);
	opterr = 0;
	optind = 0;	/* glibc: start over (a reload parses argv again) */
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const struct nsd_option *o;

		if (opt < 256 || opt >= 256 + nsd_noptions) {
			const char *bad = argv[optind - 1];

			if (optopt)
				return why_fail(err, len, "option '%s' needs an argument (try --help)",
						bad);
			return why_fail(err, len, "unknown option '%s' (try --help)", bad);
		}
		o = &nsd_options[opt - 256];
		rc = options_apply(cfg, o, optarg, why, sizeof(why));
		if (rc < 0)
			return why_fail(err, len, "--%s: %s (try --help)", o->name, why);
		if (rc > 0)
			return 1;
	}
	if (optind < argc)
		return why_fail(err, len, "unexpected argument '%s' (try --help)",
				argv[optind]);
	return 0;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/* One line: "key = value", a bare "key" (a flag), a comment or nothing. */
static int parse_line(struct nsd_config *cfg, char *line, char *why,
		      size_t len)
{
	char *key = trim(line), *value = NULL, *eq = strchr(key, '=');
	const struct nsd_option *o;
	char reason[384];

	if (!*key || *key == '#')
		return 0;
	if (eq) {
		*eq = '\0';
		value = trim(eq + 1);
		key = trim(key);
	}
	o = options_find(key);
	if (!o || (o->flags & OPT_CLI))
		return why_fail(why, len, "unknown key '%s'", key);
	if (value && !o->arg && o->kind != OPT_KIND_FLAG)
		return why_fail(why, len, "%s: takes no value", key);
	if (options_apply(cfg, o, value, reason, sizeof(reason)))
		return why_fail(why, len, "%s: %s", key, reason);
	return 0;
}

static int parse_file(struct nsd_config *cfg, const char *path, char *err,
		      size_t len)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, why[448];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, rc = 0;

	if (!f)
		return why_fail(err, len, "%s: %s", path, strerror(errno));
	while (!rc && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((size_t)n > CONFIG_LINE_MAX)
			rc = why_fail(why, sizeof(why), "line longer than %uK",
				      CONFIG_LINE_MAX >> 10);
		else if (strlen(line) != (size_t)n)
			rc = why_fail(why, sizeof(why), "NUL byte in the line");
		else
			rc = parse_line(cfg, line, why, sizeof(why));
		if (rc)
			why_fail(err, len, "%s:%d: %s", path, lineno, why);
	}
	if (!rc && ferror(f))
		rc = why_fail(err, len, "%s: %s", path, strerror(errno));
	free(line);
	fclose(f);
	return rc;
}

/* What no single option can check, and the defaults worked out at start. */
static int finish(struct nsd_config *cfg, char *err, size_t len)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (cfg->nexports == 0)
		return why_fail(err, len, "no export given (--export NAME=SPEC)");
	for (int i = 0; i < cfg->nexports; i++) {
		for (int j = 0; j < i; j++)
			if (!strcmp(cfg->exports[i].name, cfg->exports[j].name))
				return why_fail(err, len, "export name '%s' given twice",
						cfg->exports[i].name);
		cfg->exports[i].read_only |= cfg->read_only;
	}
	if (cfg->threads == 0)
		cfg->threads = ncpu > 0 ? (unsigned int)(ncpu > 256 ? 256 : ncpu) : 1;
	if (cfg->nlisten == 0) {
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%d", NSD_DEFAULT_PORT);
		if (parse_listen(addr, &cfg->listen[0]))
			return why_fail(err, len, "cannot resolve the default listen address");
		cfg->nlisten = 1;
	}
	return 0;
}

int config_load(struct nsd_config *cfg, int argc, char **argv, char *err,
		size_t len)
{
	char *path;
	int rc;

	set_defaults(cfg);
	rc = parse_argv(cfg, argc, argv, err, len);
	if (!rc && cfg->config_path) {
		/* The file first, then the command line again on top. */
		path = cfg->config_path;
		cfg->config_path = NULL;
		config_free(cfg);
		set_defaults(cfg);
		rc = parse_file(cfg, path, err, len);
		free(path);
		if (!rc)
			rc = parse_argv(cfg, argc, argv, err, len);
	}
	if (!rc)
		rc = finish(cfg, err, len);
	/* One line, whatever bytes an argument held. */
	for (char *p = err; rc < 0 && *p; p++)
		if ((unsigned char)*p < ' ')
			*p = '?';
	return rc;
}

int config_parse(struct nsd_config *cfg, int argc, char **argv)
{
	char err[512];
	int rc = config_load(cfg, argc, argv, err, sizeof(err));

	if (rc < 0)
		fprintf(stderr, "netswapd: %s\n", err);
	return rc;
}

void config_free(struct nsd_config *cfg)
{
	for (int i = 0; i < cfg->nlisten; i++)
		free(cfg->listen[i].path);
	for (int i = 0; i < cfg->nexports; i++)
		export_spec_free(&cfg->exports[i]);
	for (int i = 0; i < nsd_noptions; i++)
		if (nsd_options[i].kind == OPT_KIND_STR)
			free(*(char **)((char *)cfg + nsd_options[i].offset));
	free(cfg->config_path);
	memset(cfg, 0, sizeof(*cfg));
}
