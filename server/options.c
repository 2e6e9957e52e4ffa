// SPDX-License-Identifier: GPL-2.0-only
/*
 * The option table (options.h) expanded: one struct per row, the getopt
 * table, bounds-checked parsing of each kind, and the usage text.  The
 * command line and the config file both go through options_apply(), so an
 * option means the same, with the same checks, wherever it is given.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/size.h"
#include "netswapd.h"

#define ROW_FN(f) f
#define ROW_NOFN(f) NULL
#define ROW_OFF(f) offsetof(struct nsd_config, f)
#define ROW(kind, field, name, arg, lo, hi, def, fl, help)		\
	{ name, arg, OPT_KIND_##kind, fl, lo, hi, def, help,		\
	  ROW_OFF_##kind(field), ROW_FN_##kind(field) },
#define ROW_OFF_UINT ROW_OFF
#define ROW_OFF_MODE ROW_OFF
#define ROW_OFF_SIZE ROW_OFF
#define ROW_OFF_FLAG ROW_OFF
#define ROW_OFF_STR ROW_OFF
#define ROW_OFF_FN(f) 0
#define ROW_FN_UINT ROW_NOFN
#define ROW_FN_MODE ROW_NOFN
#define ROW_FN_SIZE ROW_NOFN
#define ROW_FN_FLAG ROW_NOFN
#define ROW_FN_STR ROW_NOFN
#define ROW_FN_FN ROW_FN

const struct nsd_option nsd_options[] = { NSD_OPTIONS(ROW) };
const int nsd_noptions = sizeof(nsd_options) / sizeof(nsd_options[0]);

#define USAGE_COL 26	/* help text starts here */
#define USAGE_WIDTH 79

const struct nsd_option *options_find(const char *name)
{
	for (int i = 0; i < nsd_noptions; i++)
		if (!strcmp(nsd_options[i].name, name))
			return &nsd_options[i];
	return NULL;
}

static void *field(struct nsd_config *cfg, const struct nsd_option *o)
{
	return (char *)cfg + o->offset;
}

void options_defaults(struct nsd_config *cfg)
{
	for (int i = 0; i < nsd_noptions; i++) {
		const struct nsd_option *o = &nsd_options[i];

		switch (o->kind) {
		case OPT_KIND_UINT:
		case OPT_KIND_MODE:
			*(unsigned int *)field(cfg, o) = (unsigned int)o->def;
			break;
		case OPT_KIND_SIZE:
			*(uint64_t *)field(cfg, o) = o->def;
			break;
		case OPT_KIND_FLAG:
			*(bool *)field(cfg, o) = o->def != 0;
			break;
		case OPT_KIND_STR:
			*(char **)field(cfg, o) = NULL;
			break;
		case OPT_KIND_FN:
			break;
		}
	}
}

static int parse_number(const char *s, int base, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end || errno)
		return -1;
	*out = v;
	return 0;
}

/* A config file's flag: a bare key (@arg NULL) or "= yes/no". */
static int parse_flag(const char *arg, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	*out = true;
	if (!arg)
		return 0;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(arg, yes[i]))
			return 0;
		if (!strcasecmp(arg, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static void bounds_text(const struct nsd_option *o, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (o->kind == OPT_KIND_SIZE) {
		size_format(o->min, lo, sizeof(lo));
		size_format(o->max, hi, sizeof(hi));
	} else {
		snprintf(lo, sizeof(lo), o->kind == OPT_KIND_MODE ? "%04llo" : "%llu",
			 (unsigned long long)o->min);
		snprintf(hi, sizeof(hi), o->kind == OPT_KIND_MODE ? "%04llo" : "%llu",
			 (unsigned long long)o->max);
	}
	snprintf(buf, len, "%s to %s", lo, hi);
}

static int parse_bounded(struct nsd_config *cfg, const struct nsd_option *o,
			 const char *arg, char *why, size_t len)
{
	uint64_t v;
	int rc;

	if (o->kind == OPT_KIND_SIZE)
		rc = size_parse(arg, &v);
	else
		rc = parse_number(arg, o->kind == OPT_KIND_MODE ? 8 : 10, &v);
	if (rc || v < o->min || v > o->max) {
		char range[80];

		bounds_text(o, range, sizeof(range));
		snprintf(why, len, "'%s' is not %s from %s",
			 arg, o->kind == OPT_KIND_SIZE ? "a size" :
			 o->kind == OPT_KIND_MODE ? "an octal mode" : "a number",
			 range);
		return -1;
	}
	if (o->kind == OPT_KIND_SIZE)
		*(uint64_t *)field(cfg, o) = v;
	else
		*(unsigned int *)field(cfg, o) = (unsigned int)v;
	return 0;
}

/*
 * Apply one option's argument (NULL for a flag or a bare config key).
 * Returns 0, 1 when it asks to stop (--help, --version: printed), or -1
 * with the reason in @why, which the caller prefixes with where it was.
 */
int options_apply(struct nsd_config *cfg, const struct nsd_option *o,
		  const char *arg, char *why, size_t len)
{
	if (o->arg && !arg) {
		snprintf(why, len, "needs an argument %s", o->arg);
		return -1;
	}
	switch (o->kind) {
	case OPT_KIND_UINT:
	case OPT_KIND_MODE:
	case OPT_KIND_SIZE:
		return parse_bounded(cfg, o, arg, why, len);
	case OPT_KIND_FLAG:
		if (parse_flag(arg, (bool *)field(cfg, o))) {
			snprintf(why, len, "'%s' is not yes or no", arg);
			return -1;
		}
		return 0;
	case OPT_KIND_STR: {
		char **p = field(cfg, o);

		free(*p);
		*p = strdup(arg);
		if (!*p) {
			snprintf(why, len, "out of memory");
			return -1;
		}
		return 0;
	}
	case OPT_KIND_FN:
		return o->fn(cfg, arg, why, len);
	}
	return -1;
}

/* The getopt table: option i returns 256 + i. */
void options_getopt(struct option *out)
{
	for (int i = 0; i < nsd_noptions; i++) {
		out[i].name = nsd_options[i].name;
		out[i].has_arg = nsd_options[i].arg ? required_argument
						    : no_argument;
		out[i].flag = NULL;
		out[i].val = 256 + i;
	}
	memset(&out[nsd_noptions], 0, sizeof(out[0]));
}

/* Print @text from column @col, wrapped at USAGE_WIDTH; @at is the column
 * the cursor is at (past the option's name: a long one gets its own line). */
static void wrap(FILE *f, const char *text, int at, int col)
{
	int room = USAGE_WIDTH - col;

	if (at + 1 >= col) {
		fputc('\n', f);
		at = 0;
	}
	while (*text) {
		const char *end = text, *p = text;

		/* As many words as fit, and at least one. */
		while (*p) {
			const char *w = p;

			while (*w && *w != ' ')
				w++;
			if (w - text > room && end != text)
				break;
			end = w;
			if (!*w)
				break;
			p = w + 1;
		}
		fprintf(f, "%*s%.*s\n", col - at, "", (int)(end - text), text);
		at = 0;
		text = *end ? end + 1 : end;
	}
}

static void usage_row(FILE *f, const struct nsd_option *o)
{
	char head[96], text[1024], dflt[32] = "", range[80] = "";
	int n;

	n = snprintf(head, sizeof(head), "  --%s%s%s", o->name,
		     o->arg ? " " : "", o->arg ? o->arg : "");
	if (o->kind == OPT_KIND_UINT || o->kind == OPT_KIND_MODE ||
	    o->kind == OPT_KIND_SIZE) {
		bounds_text(o, range, sizeof(range));
		if (o->def >= o->min && o->def <= o->max) {
			if (o->kind == OPT_KIND_SIZE)
				size_format(o->def, dflt, sizeof(dflt));
			else
				snprintf(dflt, sizeof(dflt),
					 o->kind == OPT_KIND_MODE ? "%04llo" : "%llu",
					 (unsigned long long)o->def);
		}
	}
	snprintf(text, sizeof(text), "%s%s%s%s%s%s", o->help,
		 *range ? " (" : "", range, *dflt ? ", default " : "", dflt,
		 *range ? ")" : "");
	fputs(head, f);
	wrap(f, text, n, USAGE_COL);
}

void options_usage(FILE *f)
{
	fputs("usage: netswapd [--config PATH] [--listen ADDR:PORT | --listen unix:PATH]...\n"
	      "                --export NAME=SPEC... [options]\n"
	      "\n"
	      "Serve block exports over the NBD protocol (fixed newstyle).\n"
	      "\n", f);
	for (int i = 0; i < nsd_noptions; i++)
		usage_row(f, &nsd_options[i]);
	fputs("\n"
	      "SIZE takes a K, M, G or T suffix (powers of 1024).  Each listener prints\n"
	      "'listening ADDR:PORT' on stdout.  SIGTERM/SIGINT stop gracefully, SIGHUP\n"
	      "reloads --config, SIGUSR1 prints statistics.  See netswapd(8).\n", f);
}
