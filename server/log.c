// SPDX-License-Identifier: GPL-2.0-only
/*
 * Logging.  netswapd runs in the foreground under a supervisor, so lines go
 * to standard error; when systemd connected standard error to the journal
 * (JOURNAL_STREAM names that stream), each line carries its priority as
 * a "<N>" prefix, which the journal strips and keeps; --syslog sends them
 * to syslog(3) instead.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>

#include "netswapd.h"

bool log_quiet;

static enum { TO_STDERR, TO_JOURNAL, TO_SYSLOG } target;

static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(2, &st) && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(bool use_syslog)
{
	if (use_syslog) {
		openlog("netswapd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		target = TO_SYSLOG;
	} else if (stderr_is_journal()) {
		target = TO_JOURNAL;
	}
}

static void vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	/* One call per line keeps lines whole across threads. */
	switch (target) {
	case TO_SYSLOG:
		syslog(prio, "%s%s", level, line);
		break;
	case TO_JOURNAL:
		fprintf(stderr, "<%d>%s%s\n", prio, level, line);
		break;
	case TO_STDERR:
		fprintf(stderr, "netswapd: %s%s\n", level, line);
		break;
	}
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "error: ", fmt, ap);
	va_end(ap);
}
