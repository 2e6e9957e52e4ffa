/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The swap devices a machine attaches at boot: /etc/netswap/devices (and
 * /run/netswap/devices, which the initramfs writes for netswap= devices
 * from the kernel command line), one device a line:
 *
 *   NAME  URL [URL]  [OPTION,OPTION...]
 *
 * NAME becomes the configfs item and the unit instance (netswap@NAME),
 * two URLs are a mirror (netswap attach --mirror), and the options are
 * pri=N, mkswap=auto|never, initramfs, or any attach option (KEY=VALUE or
 * KEY, passed to netswap attach as --KEY=VALUE or --KEY).  See netswap(8).
 * devices.c parses (pure, unit-tested); devices_cmd.c runs up/down/devices.
 */
#ifndef NETSWAP_CLI_DEVICES_H
#define NETSWAP_CLI_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_DEVICES_ETC		"/etc/netswap/devices"
#define CLI_DEVICES_RUN		"/run/netswap/devices"
#define CLI_DEV_NAME_MAX	31	/* configfs item names, as attach --name */
#define CLI_DEV_URL_MAX		1280	/* nbd://[v6]:port/ + a 1023-byte export */
#define CLI_DEV_MAX_ARGS	16
#define CLI_DEV_ARG_MAX		128
#define CLI_DEV_LINE_MAX	4096
#define CLI_SWAP_PRI_MAX	32767	/* SWAP_FLAG_PRIO_MASK */

enum cli_mkswap { CLI_MKSWAP_AUTO, CLI_MKSWAP_NEVER };

struct cli_dev_entry {
	char name[CLI_DEV_NAME_MAX + 1];
	char url[2][CLI_DEV_URL_MAX];
	int nurls;				/* 1, or 2 for a mirror */
	char args[CLI_DEV_MAX_ARGS][CLI_DEV_ARG_MAX];	/* "--KEY[=VALUE]" */
	int nargs;
	int priority;				/* -1: the kernel's default */
	enum cli_mkswap mkswap;
	bool initramfs;				/* attach in the initramfs too */
	const char *source;			/* file it came from */
	int line;
};

/*
 * Parse one line: 1 and *e filled for a device, 0 for a blank line or a
 * comment, -1 with *why set for an error.
 */
int cli_devices_parse_line(const char *line, struct cli_dev_entry *e,
			   const char **why);

/*
 * Parse a whole file's text into out[] (at most max entries), refusing it
 * whole on the first error: -1 and "FILE:LINE: why" in err.  Names must be
 * unique across every file given to the same list, so callers pass the
 * count already in out[] as *n and get the new count back.
 */
int cli_devices_parse(const char *text, const char *source,
		      struct cli_dev_entry *out, int max, int *n,
		      char *err, size_t errlen);

/*
 * ARG of netswap=ARG (the kernel command line), URL[,OPTION...], as a
 * devices line "NAME URL initramfs[,OPTION...]" in out: NAME is name=NAME's
 * or "boot" INDEX.  The URL ends at the first comma after the slash that
 * starts the export (the host part may list gateways: nbd://a,b/EXPORT).
 * 0, or -1 with *why set (the line is parsed as the file's would be).
 */
int cli_devices_from_cmdline(const char *arg, int index, char *out, size_t len,
			     const char **why);

/* devices_cmd.c: the commands; return the exit code. */
int cli_up(int argc, char **argv);
int cli_down(int argc, char **argv);
int cli_devices(int argc, char **argv);

#endif
