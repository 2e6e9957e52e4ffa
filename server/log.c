// SPDX-License-Identifier: GPL-2.0-only
/* Logging to stderr: netswapd runs in the foreground under a supervisor. */
#include <stdarg.h>
#include <stdio.h>

#include "netswapd.h"

bool log_quiet;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One fprintf per line keeps lines whole across threads. */
	fprintf(stderr, "netswapd: %s%s\n", level, line);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
}
