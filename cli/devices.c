// SPDX-License-Identifier: GPL-2.0-only
/*
 * /etc/netswap/devices: parsing only (no I/O), so that every rule is
 * unit-tested and the initramfs, the generator and the units all read the
 * file through the same code.  A bad line refuses the whole file with
 * "FILE:LINE: why": half a swap configuration is not applied silently.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/devices.h"
#include "cli/netswap.h"

#define MAX_FIELDS 4	/* NAME URL [URL] [OPTIONS] */

static bool name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > CLI_DEV_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* An attach option's key: lower-case words joined by '-'. */
static bool key_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || s[0] < 'a' || s[0] > 'z')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return false;
	return true;
}

static int parse_priority(const char *v, int *pri)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < 0 || n > CLI_SWAP_PRI_MAX)
		return -1;
	*pri = (int)n;
	return 0;
}

static bool has_arg_key(const struct cli_dev_entry *e, const char *key, size_t n)
{
	int i;

	for (i = 0; i < e->nargs; i++)
		if (!strncmp(e->args[i] + 2, key, n) &&
		    (e->args[i][2 + n] == '=' || !e->args[i][2 + n]))
			return true;
	return false;
}

/* One OPTION of the comma-separated list (opt is NUL-terminated). */
static int parse_option(char *opt, struct cli_dev_entry *e, unsigned int *seen,
			const char **why)
{
	char *eq = strchr(opt, '=');
	size_t klen = eq ? (size_t)(eq - opt) : strlen(opt);
	const char *val = eq ? eq + 1 : NULL;

	if (eq && !*val) {
		*why = "an option's value is empty";
		return -1;
	}
	if (klen == 3 && !strncmp(opt, "pri", 3)) {
		if ((*seen & 1) || !val || parse_priority(val, &e->priority)) {
			*why = (*seen & 1) ? "pri= given twice" : "pri= must be 0..32767";
			return -1;
		}
		*seen |= 1;
		return 0;
	}
	if (klen == 6 && !strncmp(opt, "mkswap", 6)) {
		if ((*seen & 2) || !val || (strcmp(val, "auto") && strcmp(val, "never"))) {
			*why = (*seen & 2) ? "mkswap= given twice" : "mkswap= must be auto or never";
			return -1;
		}
		e->mkswap = strcmp(val, "auto") ? CLI_MKSWAP_NEVER : CLI_MKSWAP_AUTO;
		*seen |= 2;
		return 0;
	}
	if (!strcmp(opt, "initramfs")) {
		e->initramfs = true;
		return 0;
	}
	if (!key_ok(opt, klen)) {
		*why = "an option must be KEY or KEY=VALUE (lower-case KEY)";
		return -1;
	}
	if ((klen == 4 && !strncmp(opt, "name", 4)) ||
	    (klen == 6 && !strncmp(opt, "mirror", 6))) {
		*why = "name and mirror come from the line's fields, not from options";
		return -1;
	}
	if (has_arg_key(e, opt, klen)) {
		*why = "an attach option is given twice";
		return -1;
	}
	if (e->nargs == CLI_DEV_MAX_ARGS || strlen(opt) + 3 > CLI_DEV_ARG_MAX) {
		*why = "too many or too long attach options";
		return -1;
	}
	snprintf(e->args[e->nargs++], CLI_DEV_ARG_MAX, "--%s", opt);
	return 0;
}

static int parse_options(char *word, struct cli_dev_entry *e, const char **why)
{
	unsigned int seen = 0;
	char *opt, *save;

	if (!strcmp(word, "-") || !strcmp(word, "defaults"))
		return 0;
	if (word[0] == ',' || word[strlen(word) - 1] == ',' || strstr(word, ",,")) {
		*why = "an empty option (stray comma)";
		return -1;
	}
	for (opt = strtok_r(word, ",", &save); opt; opt = strtok_r(NULL, ",", &save))
		if (parse_option(opt, e, &seen, why))
			return -1;
	return 0;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "nbd://", 6) || !strncmp(s, "nbds://", 7) ||
	       !strncmp(s, "nbd+", 4);
}

/* Splits buf in place on blanks, up to a '#' word; returns the count. */
static int split_fields(char *buf, char **f, int max)
{
	char *p = buf;
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

int cli_devices_parse_line(const char *line, struct cli_dev_entry *e,
			   const char **why)
{
	char buf[CLI_DEV_LINE_MAX], *f[MAX_FIELDS];
	struct cli_url u;
	int n, i, k;

	if (strlen(line) >= sizeof(buf)) {
		*why = "line too long";
		return -1;
	}
	strcpy(buf, line);
	n = split_fields(buf, f, MAX_FIELDS);
	if (!n)
		return 0;
	memset(e, 0, sizeof(*e));
	e->priority = -1;
	if (n > MAX_FIELDS || n < 2) {
		*why = "expected NAME URL [URL] [OPTIONS]";
		return -1;
	}
	if (!name_ok(f[0])) {
		*why = "NAME must be 1..31 of A-Z a-z 0-9 . _ -, not starting with . or -";
		return -1;
	}
	strcpy(e->name, f[0]);
	for (i = 1; i < n && is_url(f[i]); i++) {
		if (e->nurls == 2) {
			*why = "at most two URLs (a mirror)";
			return -1;
		}
		if (cli_url_parse(f[i], &u, why))
			return -1;
		if (strlen(f[i]) >= CLI_DEV_URL_MAX) {
			*why = "URL too long";
			return -1;
		}
		strcpy(e->url[e->nurls++], f[i]);
	}
	if (!e->nurls) {
		*why = "the second field must be an nbd:// URL";
		return -1;
	}
	k = i;
	if (k < n - 1) {
		*why = "expected NAME URL [URL] [OPTIONS]";
		return -1;
	}
	if (k == n - 1 && parse_options(f[k], e, why))
		return -1;
	return 1;
}

int cli_devices_parse(const char *text, const char *source,
		      struct cli_dev_entry *out, int max, int *n,
		      char *err, size_t errlen)
{
	static struct cli_dev_entry e;	/* ~5 KiB: not on the stack */
	char line[CLI_DEV_LINE_MAX];
	const char *p = text, *why = NULL;
	int lineno = 0, n0 = *n, i, r;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		lineno++;
		if (len >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", source, lineno);
			goto refuse;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);
		r = cli_devices_parse_line(line, &e, &why);
		if (r < 0) {
			snprintf(err, errlen, "%s:%d: %s", source, lineno, why);
			goto refuse;
		}
		if (!r)
			continue;
		for (i = 0; i < *n; i++) {
			if (!strcmp(out[i].name, e.name)) {
				snprintf(err, errlen, "%s:%d: %s is already defined (%s:%d)",
					 source, lineno, e.name, out[i].source, out[i].line);
				goto refuse;
			}
		}
		if (*n == max) {
			snprintf(err, errlen, "%s:%d: more than %d devices", source,
				 lineno, max);
			goto refuse;
		}
		e.source = source;
		e.line = lineno;
		out[(*n)++] = e;
	}
	return 0;

refuse:
	*n = n0;	/* the whole file, not the lines before the error */
	return -1;
}
