/* SPDX-License-Identifier: GPL-2.0-only */
/* prometheus.c: status --prometheus [--output FILE] (see there). */
#ifndef NETSWAP_CLI_PROMETHEUS_H
#define NETSWAP_CLI_PROMETHEUS_H

/* Every device (or ONLY); OUTPUT NULL is stdout.  Returns the exit code. */
int cli_status_prometheus(const char *only, const char *output);

#endif
