// SPDX-License-Identifier: GPL-2.0-only
/*
 * --metrics ADDR:PORT: the Prometheus text format at /metrics.
 *
 * libmicrohttpd serves it from a thread of its own, so HTTP never runs on
 * an event loop.  Counters are kept per connection by the connection's
 * loop thread with plain increments; a scrape asks every loop for a copy
 * (loop_snapshot, answered between two iterations) and adds them up, with
 * what the closed connections of each export left in the export's totals.
 * The request path pays two clock reads per loop iteration and a few
 * increments per reply, nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netswapd.h"

#ifdef NSD_HAVE_MHD
#include <microhttpd.h>
#endif

void stats_add(struct nsd_io_stats *to, const struct nsd_io_stats *from)
{
	for (int i = 0; i < NSD_STAT_CMDS; i++)
		to->requests[i] += from->requests[i];
	for (int i = 0; i < NSD_STAT_ERRS; i++)
		to->errors[i] += from->errors[i];
	for (int i = 0; i < NSD_STAT_LAT; i++)
		to->latency[i] += from->latency[i];
	to->bytes_read += from->bytes_read;
	to->bytes_written += from->bytes_written;
	to->latency_us += from->latency_us;
}

#ifdef NSD_HAVE_MHD

#define SCRAPE_WAIT_MS 2000	/* a loop that does not answer is left out */

static const char *const cmd_names[NSD_STAT_CMDS] = {
	"read", "write", "disc", "flush", "trim", "cache", "write_zeroes",
	"other",
};

#define NSD_ERR_NAME(e, name) name,
static const char *const err_names[NSD_STAT_ERRS] = {
	NSD_STAT_ERR_LIST(NSD_ERR_NAME) "other",
};
#undef NSD_ERR_NAME

struct nsd_metrics {
	struct MHD_Daemon *daemon;
	struct nsd_server *srv;
};

/* A label value in the text format: backslash, quote and newline escaped. */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* {export="x"} or {peer="p",export="x"}, without the closing brace. */
static void labels(FILE *f, const char *peer, const char *export)
{
	fputc('{', f);
	if (peer) {
		fputs("peer=\"", f);
		put_label(f, peer);
		fputs("\",", f);
	}
	fputs("export=\"", f);
	put_label(f, export);
	fputc('"', f);
}

/* One label set's counters, as samples of the families named by @pre
 * ("netswapd_export" or "netswapd_connection"); @part picks which. */
enum part { P_REQUESTS, P_BYTES, P_ERRORS, P_LATENCY };

static void samples(FILE *f, const char *pre, enum part part,
		    const char *peer, const char *export,
		    const struct nsd_io_stats *st)
{
	uint64_t sum = 0;

	switch (part) {
	case P_REQUESTS:
		for (int i = 0; i < NSD_STAT_CMDS; i++) {
			fprintf(f, "%s_requests_total", pre);
			labels(f, peer, export);
			fprintf(f, ",command=\"%s\"} %llu\n", cmd_names[i],
				(unsigned long long)st->requests[i]);
		}
		return;
	case P_BYTES:
		fprintf(f, "%s_bytes_total", pre);
		labels(f, peer, export);
		fprintf(f, ",direction=\"read\"} %llu\n",
			(unsigned long long)st->bytes_read);
		fprintf(f, "%s_bytes_total", pre);
		labels(f, peer, export);
		fprintf(f, ",direction=\"write\"} %llu\n",
			(unsigned long long)st->bytes_written);
		return;
	case P_ERRORS:
		for (int i = 0; i < NSD_STAT_ERRS; i++) {
			fprintf(f, "%s_errors_total", pre);
			labels(f, peer, export);
			fprintf(f, ",errno=\"%s\"} %llu\n", err_names[i],
				(unsigned long long)st->errors[i]);
		}
		return;
	case P_LATENCY:
		for (int i = 0; i < NSD_STAT_LAT; i++) {
			sum += st->latency[i];
			fprintf(f, "%s_request_duration_seconds_bucket", pre);
			labels(f, peer, export);
			if (i == NSD_STAT_LAT - 1)
				fprintf(f, ",le=\"+Inf\"} %llu\n",
					(unsigned long long)sum);
			else
				fprintf(f, ",le=\"%.9g\"} %llu\n",
					(8 << i) / 1e6, (unsigned long long)sum);
		}
		fprintf(f, "%s_request_duration_seconds_sum", pre);
		labels(f, peer, export);
		fprintf(f, "} %.6f\n", st->latency_us / 1e6);
		fprintf(f, "%s_request_duration_seconds_count", pre);
		labels(f, peer, export);
		fprintf(f, "} %llu\n", (unsigned long long)sum);
		return;
	}
}

static const struct {
	enum part part;
	const char *suffix, *type, *help;
} parts[] = {
	{ P_REQUESTS, "_requests_total", "counter",
	  "Requests answered, by command." },
	{ P_BYTES, "_bytes_total", "counter",
	  "Payload bytes of successful READs (read) and WRITEs (write)." },
	{ P_ERRORS, "_errors_total", "counter",
	  "Error replies, by NBD error." },
	{ P_LATENCY, "_request_duration_seconds", "histogram",
	  "From a request's header read to its reply sent." },
};

static void server_families(FILE *f, struct nsd_server *srv)
{
	struct arena_stats a;

	arena_stats(srv->arena, &a);
	family(f, "netswapd_connections", "gauge",
	       "Clients connected, in the handshake or served.");
	fprintf(f, "netswapd_connections %u\n", atomic_load(&srv->nconns));
	family(f, "netswapd_arena_bytes", "gauge",
	       "Buffer memory (--buffer-memory) by state: used by live "
	       "buffers, reserved for connections, cached by threads, free.");
	fprintf(f, "netswapd_arena_bytes{state=\"used\"} %llu\n"
		"netswapd_arena_bytes{state=\"reserved\"} %llu\n"
		"netswapd_arena_bytes{state=\"cached\"} %llu\n"
		"netswapd_arena_bytes{state=\"free\"} %llu\n",
		(unsigned long long)a.used, (unsigned long long)a.reserved,
		(unsigned long long)a.cached, (unsigned long long)a.free);
	family(f, "netswapd_arena_capacity_bytes", "gauge",
	       "Buffer memory in all.");
	fprintf(f, "netswapd_arena_capacity_bytes %llu\n",
		(unsigned long long)a.capacity);
}

/* Per export: its closed connections' totals plus its live ones'. */
static void export_families(FILE *f, const struct nsd_catalog *cat,
			    const struct nsd_snapshot *snap)
{
	struct nsd_io_stats *tot = calloc((size_t)cat->n + 1, sizeof(*tot));
	unsigned int *conns = calloc((size_t)cat->n + 1, sizeof(*conns));

	if (!tot || !conns)
		goto out;
	for (int i = 0; i < cat->n; i++) {
		struct nsd_export *e = cat->ent[i].exp;

		pthread_mutex_lock(&e->stats_lock);
		tot[i] = e->stats_closed;
		pthread_mutex_unlock(&e->stats_lock);
		for (size_t k = 0; k < snap->n; k++)
			if (snap->v[k].exp == e) {
				stats_add(&tot[i], &snap->v[k].stats);
				conns[i]++;
			}
	}
	family(f, "netswapd_export_failed", "gauge",
	       "1 while a writeback error is latched (FLUSH and FUA fail "
	       "until SIGUSR2).");
	for (int i = 0; i < cat->n; i++) {
		fputs("netswapd_export_failed", f);
		labels(f, NULL, cat->ent[i].spec.name);
		fprintf(f, "} %d\n", atomic_load(&cat->ent[i].exp->failed) != 0);
	}
	family(f, "netswapd_export_connections", "gauge",
	       "Clients served this export now.");
	for (int i = 0; i < cat->n; i++) {
		fputs("netswapd_export_connections", f);
		labels(f, NULL, cat->ent[i].spec.name);
		fprintf(f, "} %u\n", conns[i]);
	}
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		char name[96];

		snprintf(name, sizeof(name), "netswapd_export%s", parts[p].suffix);
		family(f, name, parts[p].type, parts[p].help);
		for (int i = 0; i < cat->n; i++)
			samples(f, "netswapd_export", parts[p].part, NULL,
				cat->ent[i].spec.name, &tot[i]);
	}
out:
	free(tot);
	free(conns);
}

static void connection_families(FILE *f, const struct nsd_snapshot *snap)
{
	/* No latency histogram per connection: a bucket series each times
	 * thousands of clients is a scrape nobody wants. */
	for (size_t p = 0; p < 3; p++) {
		char name[96];

		snprintf(name, sizeof(name), "netswapd_connection%s",
			 parts[p].suffix);
		family(f, name, parts[p].type, parts[p].help);
		for (size_t k = 0; k < snap->n; k++)
			samples(f, "netswapd_connection", parts[p].part,
				snap->v[k].peer, snap->v[k].export,
				&snap->v[k].stats);
	}
}

/* The whole page, in a malloc'd buffer. */
static char *render(struct nsd_server *srv, size_t *len)
{
	struct nsd_snapshot *snap = loop_snapshot(srv, SCRAPE_WAIT_MS);
	struct nsd_catalog *cat = catalog_get(srv);
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (f && snap) {
		server_families(f, srv);
		if (cat)
			export_families(f, cat, snap);
		connection_families(f, snap);
	}
	if (cat)
		catalog_put(srv, cat);
	if (snap)
		loop_snapshot_put(snap);
	if (!f || fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static enum MHD_Result reply(struct MHD_Connection *mc, unsigned int status,
			     char *body, size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	rc = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *arg, struct MHD_Connection *mc,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct nsd_metrics *m = arg;
	size_t len = 0;
	char *body;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(mc, MHD_HTTP_METHOD_NOT_ALLOWED,
			     strdup("GET /metrics\n"), 13, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(mc, MHD_HTTP_NOT_FOUND, strdup("GET /metrics\n"),
			     13, "text/plain");
	body = render(m->srv, &len);
	if (!body)
		return reply(mc, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     strdup("out of memory\n"), 14, "text/plain");
	return reply(mc, MHD_HTTP_OK, body, len,
		     "text/plain; version=0.0.4; charset=utf-8");
}

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
	char line[256];

	(void)arg;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_warn("metrics: %s", line);
}

struct nsd_metrics *metrics_start(struct nsd_server *srv,
				  const struct nsd_listen_spec *where)
{
	struct nsd_metrics *m = calloc(1, sizeof(*m));
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	char desc[128];

	if (!m)
		return NULL;
	m->srv = srv;
	if (where->addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* Port 0 in the address is fine: the kernel picks, we print it. */
	m->daemon = MHD_start_daemon(flags, 1, NULL, NULL, handle, m,
		MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&where->addr,
		MHD_OPTION_CONNECTION_LIMIT, 16U,
		MHD_OPTION_CONNECTION_TIMEOUT, 10U,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_END);
	if (!m->daemon) {
		log_err("--metrics: cannot listen: %s", strerror(errno));
		free(m);
		return NULL;
	}
	info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_LISTEN_FD);
	listen_describe(info ? info->listen_fd : -1, false, NULL, desc,
			sizeof(desc));
	printf("metrics http://%s/metrics\n", desc);
	fflush(stdout);
	return m;
}

void metrics_stop(struct nsd_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->daemon);
	free(m);
}

#else /* !NSD_HAVE_MHD */

struct nsd_metrics *metrics_start(struct nsd_server *srv,
				  const struct nsd_listen_spec *where)
{
	(void)srv;
	(void)where;
	log_err("--metrics: this netswapd was built without libmicrohttpd (install libmicrohttpd-dev and rebuild)");
	return NULL;
}

void metrics_stop(struct nsd_metrics *m)
{
	(void)m;
}

#endif
