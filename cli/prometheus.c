// SPDX-License-Identifier: GPL-2.0-only
/*
 * status --prometheus: the counters of every device in the Prometheus text
 * exposition format, for node_exporter's textfile collector.
 *
 * Every file of /sys/block/netswapN/netswap/ that holds one integer is one
 * metric, read generically: a counter netswap.ko gains tomorrow is exported
 * without a change here (untyped, named netswap_FILE, until the module's
 * list in proto/netswap_ctl.h gives it a kind and a help text).  Two files
 * have a shape of their own: connections (one line per connection) and
 * latency_histogram.
 * --output FILE writes a temporary file beside FILE and renames it, so the
 * collector never reads half a file.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/netswap.h"
#include "cli/prometheus.h"

#define MAX_FAMILIES	96
#define MAX_CONNS	32

/*
 * What this CLI knows of a file: its kind and help text, from the module's
 * own list (proto/netswap_ctl.h).  A counter is exported as
 * netswap_FILE_total, a gauge or a setting ("info") as the gauge
 * netswap_FILE.
 */
struct metric_help {
	const char *file, *kind, *help;
};

static const struct metric_help helps[] = {
#define NS_SYSFS_VALUE(name, kind, help) { #name, #kind, help },
#include "proto/netswap_ctl.h"
};

struct conn {
	unsigned int id, inflight;
	char state[16], addr[80];
	unsigned long long connects;
};

struct dev {
	char device[32], name[64], export[CLI_MAX_EXPORT + 1];
	long long v[MAX_FAMILIES];
	bool has[MAX_FAMILIES];
	struct conn conns[MAX_CONNS];
	int nconns;
	uint64_t lat[CLI_LAT_BUCKETS];
	bool has_lat;
};

struct family {
	char file[64];
	const struct metric_help *h;
};

static struct family fams[MAX_FAMILIES];
static int nfams;
static struct dev devs[CLI_MAX_DEVICES];
static int ndevs;

static const struct metric_help *help_of(const char *file)
{
	size_t i;

	for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (!strcmp(helps[i].file, file))
			return &helps[i];
	return NULL;
}

/* A file name usable in a metric name (the unknown ones are used as is). */
static bool metric_safe(const char *s)
{
	if (!*s || strlen(s) >= sizeof(fams[0].file) || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static int family(const char *file)
{
	int i;

	for (i = 0; i < nfams; i++)
		if (!strcmp(fams[i].file, file))
			return i;
	if (nfams == MAX_FAMILIES)
		return -1;
	snprintf(fams[nfams].file, sizeof(fams[nfams].file), "%.63s", file);
	fams[nfams].h = help_of(file);
	return nfams++;
}

static bool one_integer(const char *s, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	return !errno && end != s && !*end;
}

static void load_conns(struct dev *d, char *buf)
{
	char *line, *save;
	int err;
	unsigned long up;

	for (line = strtok_r(buf, "\n", &save); line && d->nconns < MAX_CONNS;
	     line = strtok_r(NULL, "\n", &save)) {
		struct conn *c = &d->conns[d->nconns];

		if (sscanf(line, "%u %15s %79s %llu %u %d %lu", &c->id, c->state,
			   c->addr, &c->connects, &c->inflight, &err, &up) == 7)
			d->nconns++;
	}
}

static void load_latency(struct dev *d, const char *buf)
{
	const char *p = buf;
	char *end;
	int k;

	for (k = 0; k < CLI_LAT_BUCKETS; k++, p = end) {
		d->lat[k] = strtoull(p, &end, 10);
		if (end == p)
			return;
	}
	d->has_lat = true;
}

/* One file of the device's sysfs directory. */
static void load_file(struct dev *d, const char *dir, const char *file)
{
	char path[768], buf[4096];
	long long v;
	int f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (cli_read_str(path, buf, sizeof(buf)))
		return;
	if (!strcmp(file, NS_SYSFS_CONNECTIONS)) {
		load_conns(d, buf);
	} else if (!strcmp(file, NS_SYSFS_LATENCY)) {
		load_latency(d, buf);
	} else if (!strcmp(file, NS_SYSFS_EXPORT)) {
		snprintf(d->export, sizeof(d->export), "%.*s", CLI_MAX_EXPORT, buf);
	} else if (metric_safe(file) && one_integer(buf, &v)) {
		f = family(file);
		if (f >= 0) {
			d->v[f] = v;
			d->has[f] = true;
		}
	}
}

static int load_dev(struct dev *d)
{
	char dir[512];
	struct dirent **names;
	int i, n;

	cli_path(dir, sizeof(dir), "/sys/block/%s/" NS_SYSFS_DIR, d->device);
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			load_file(d, dir, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void label_value(FILE *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(o, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", o);
		else
			fputc(*s, o);
	}
}

static void labels(FILE *o, const struct dev *d)
{
	fputs("device=\"", o);
	label_value(o, d->device);
	fputs("\",name=\"", o);
	label_value(o, d->name);
	fputc('"', o);
}

static void header(FILE *o, const char *metric, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

static void print_families(FILE *o)
{
	char metric[96], help[192];
	int f, i;

	for (f = 0; f < nfams; f++) {
		const struct metric_help *h = fams[f].h;

		bool counter = h && !strcmp(h->kind, "counter");

		snprintf(metric, sizeof(metric), "netswap_%.63s%s", fams[f].file,
			 counter ? "_total" : "");
		if (h)
			snprintf(help, sizeof(help), "%s.", h->help);
		else
			snprintf(help, sizeof(help), "netswap.ko's %.63s (sysfs).", fams[f].file);
		header(o, metric, counter ? "counter" : h ? "gauge" : "untyped", help);
		for (i = 0; i < ndevs; i++) {
			if (!devs[i].has[f])
				continue;
			fprintf(o, "%s{", metric);
			labels(o, &devs[i]);
			fprintf(o, "} %lld\n", devs[i].v[f]);
		}
	}
}

static void print_info(FILE *o)
{
	int i;

	header(o, "netswap_devices", "gauge", "Attached netswap devices.");
	fprintf(o, "netswap_devices %d\n", ndevs);
	if (!ndevs)
		return;
	header(o, "netswap_device_info", "gauge", "The export each device is attached to.");
	for (i = 0; i < ndevs; i++) {
		fputs("netswap_device_info{", o);
		labels(o, &devs[i]);
		fputs(",export=\"", o);
		label_value(o, devs[i].export);
		fputs("\"} 1\n", o);
	}
}

static void conn_sample(FILE *o, const char *metric, const struct dev *d,
			const struct conn *c, unsigned long long v)
{
	fprintf(o, "%s{", metric);
	labels(o, d);
	fprintf(o, ",conn=\"%u\",address=\"", c->id);
	label_value(o, c->addr);
	fprintf(o, "\"} %llu\n", v);
}

static void print_conns(FILE *o)
{
	static const char *const m[] = {
		"netswap_connection_up", "netswap_connection_connects_total",
		"netswap_connection_in_flight",
	};
	static const char *const t[] = { "gauge", "counter", "gauge" };
	static const char *const h[] = {
		"1 if the connection is live.", "Times the connection was established.",
		"Requests in flight on the connection.",
	};
	int k, i, j, any = 0;

	for (i = 0; i < ndevs; i++)
		any += devs[i].nconns;
	for (k = 0; any && k < 3; k++) {
		header(o, m[k], t[k], h[k]);
		for (i = 0; i < ndevs; i++) {
			for (j = 0; j < devs[i].nconns; j++) {
				const struct conn *c = &devs[i].conns[j];
				unsigned long long v = k == 0 ? !strcmp(c->state, "live") :
						       k == 1 ? c->connects : c->inflight;

				conn_sample(o, m[k], &devs[i], c, v);
			}
		}
	}
}

/*
 * Bucket k counts completions in [2^(k-1), 2^k) us (bucket 0: < 1 us),
 * the last one everything slower: cumulated, they are le="2^k us".  The
 * kernel keeps no sum of latencies, so there is no _sum sample.
 */
static void print_latency(FILE *o)
{
	const char *metric = "netswap_request_latency_seconds";
	uint64_t cum;
	int i, k, any = 0;

	for (i = 0; i < ndevs; i++)
		any |= devs[i].has_lat;
	if (!any)
		return;
	header(o, metric, "histogram", "Request completion latency.");
	for (i = 0; i < ndevs; i++) {
		if (!devs[i].has_lat)
			continue;
		for (k = 0, cum = 0; k < CLI_LAT_BUCKETS; k++) {
			cum += devs[i].lat[k];
			fprintf(o, "%s_bucket{", metric);
			labels(o, &devs[i]);
			if (k == CLI_LAT_BUCKETS - 1)
				fprintf(o, ",le=\"+Inf\"} %" PRIu64 "\n", cum);
			else
				fprintf(o, ",le=\"%.6g\"} %" PRIu64 "\n",
					(double)((uint64_t)1 << k) / 1e6, cum);
		}
		fprintf(o, "%s_count{", metric);
		labels(o, &devs[i]);
		fprintf(o, "} %" PRIu64 "\n", cum);
	}
}

static int collect(const char *only)
{
	struct cli_item items[CLI_MAX_DEVICES];
	char path[512];
	struct stat st;
	int i, n;

	/* No module, no configfs: no devices, which is a valid answer. */
	if (stat(cli_path(path, sizeof(path), CLI_ITEMS), &st))
		return 0;
	if (only) {
		if (cli_find_item(only, &items[0])) {
			cli_err("status: %s: no such netswap device", only);
			return -1;
		}
		n = 1;
	} else {
		n = cli_list_items(items, CLI_MAX_DEVICES);
		if (n < 0) {
			cli_err("status: cannot list devices");
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		struct dev *d = &devs[ndevs];

		if (!items[i].device[0])
			continue;
		memset(d, 0, sizeof(*d));
		snprintf(d->device, sizeof(d->device), "%s", items[i].device);
		snprintf(d->name, sizeof(d->name), "%s", items[i].name);
		if (load_dev(d)) {
			cli_err("status: cannot read /sys/block/%s/netswap", d->device);
			return -1;
		}
		ndevs++;
	}
	return 0;
}

static int emit(FILE *o)
{
	print_info(o);
	print_families(o);
	print_conns(o);
	print_latency(o);
	return fflush(o) || ferror(o) ? -1 : 0;
}

/* FILE.XXXXXX beside FILE, then rename: readers see the old or the new. */
static int emit_to(const char *output)
{
	char tmp[4096];
	FILE *o;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", output) >= (int)sizeof(tmp)) {
		cli_err("status: --output path too long");
		return 1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		cli_err("status: %s: %s", tmp, strerror(errno));
		return 1;
	}
	o = fdopen(fd, "w");
	if (!o || fchmod(fd, 0644) || emit(o) || fsync(fd) || fclose(o)) {
		cli_err("status: writing %s: %s", tmp, strerror(errno));
		if (o)
			fclose(o);
		else
			close(fd);
		unlink(tmp);
		return 1;
	}
	if (rename(tmp, output)) {
		cli_err("status: %s: %s", output, strerror(errno));
		unlink(tmp);
		return 1;
	}
	return 0;
}

int cli_status_prometheus(const char *only, const char *output)
{
	nfams = ndevs = 0;
	if (collect(only))
		return 1;
	if (output)
		return emit_to(output);
	if (emit(stdout)) {
		cli_err("status: writing the metrics: %s", strerror(errno));
		return 1;
	}
	return 0;
}
