// SPDX-License-Identifier: GPL-2.0-only
/*
 * attach's numeric options, derived from the module's own list of configfs
 * settings (proto/netswap_ctl.h): the option names, their bounds, the error
 * messages and the usage lines all come from the one table, so the CLI can
 * never offer what the module would refuse, or miss what it accepts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/netswap.h"

const struct cli_cfg_uint cli_cfg_uints[] = {
#define NS_CFG_UINT(n, lo, hi, d, h) { #n, lo, hi, d, h },
#include "proto/netswap_ctl.h"
};
const size_t cli_ncfg_uints = sizeof(cli_cfg_uints) / sizeof(cli_cfg_uints[0]);

/* "queue_depth" -> "queue-depth" */
void cli_cfg_option_name(const struct cli_cfg_uint *c, char *out, size_t len)
{
	size_t i;

	for (i = 0; c->name[i] && i + 1 < len; i++)
		out[i] = c->name[i] == '_' ? '-' : c->name[i];
	out[i] = '\0';
}

/* A switch: on by default, and all the user can do is turn it off. */
bool cli_cfg_is_switch(const struct cli_cfg_uint *c)
{
	return c->min == 0 && c->max == 1 && c->def == 1;
}

int cli_cfg_parse(const struct cli_cfg_uint *c, const char *s, unsigned int *v)
{
	char opt[64], *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || n < c->min || n > c->max) {
		cli_cfg_option_name(c, opt, sizeof(opt));
		cli_err("attach: --%s must be %u..%u", opt, c->min, c->max);
		return -1;
	}
	*v = (unsigned int)n;
	return 0;
}

void cli_cfg_usage(FILE *f)
{
	char opt[64], arg[80];
	size_t i;

	for (i = 0; i < cli_ncfg_uints; i++) {
		const struct cli_cfg_uint *c = &cli_cfg_uints[i];

		cli_cfg_option_name(c, opt, sizeof(opt));
		if (cli_cfg_is_switch(c))
			snprintf(arg, sizeof(arg), "--no-%s", opt);
		else
			snprintf(arg, sizeof(arg), "--%s %u..%u", opt, c->min, c->max);
		fprintf(f, "  %-26s %s%s", arg, cli_cfg_is_switch(c) ? "turn off: " : "",
			c->help);
		if (!cli_cfg_is_switch(c))
			fprintf(f, " (default %u)", c->def);
		fputc('\n', f);
	}
}
