// SPDX-License-Identifier: GPL-2.0-only
/* netswap: attach, detach and watch netswap.ko devices; size the reserve. */
#include <stdio.h>
#include <string.h>

#include "cli/devices.h"
#include "cli/netswap.h"

#define NETSWAP_VERSION "0.1"

static const char usage[] =
	"usage: netswap attach [OPTION]... [--name NAME] nbd://HOST[:PORT]/EXPORT\n"
	"       netswap detach DEVICE\n"
	"       netswap status [--json | --prometheus [--output FILE]] [DEVICE]\n"
	"       netswap reserve [--apply]\n"
	"       netswap up NAME... | down NAME...\n"
	"       netswap devices [--names] [--initramfs] | --cmdline\n"
	"       netswap --help | --version\n"
	"\n"
	"attach    connect netswap.ko to an NBD export; prints the device.\n"
	"          The kernel then owns the connections and re-establishes\n"
	"          them itself.  Its options are listed below.\n"
	"detach    disconnect and remove a device (swapoff it first).\n"
	"status    every counter of every device (or of DEVICE).\n"
	"          --prometheus: text exposition format (node_exporter).\n"
	"reserve   the min_free_kbytes the attached devices need; --apply\n"
	"          raises it (never lowers).\n"
	"up        attach NAME from /etc/netswap/devices, mkswap if allowed\n"
	"          and needed, swapon (netswap@NAME.service runs it).\n"
	"down      swapoff NAME, then detach it.\n"
	"devices   the configured devices and their state; --cmdline: the\n"
	"          kernel command line's netswap= as lines of that file.\n"
	"See netswap(8).\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(usage, stdout);
		/* From the module's own table: proto/netswap_ctl.h. */
		fputs("\nattach options:\n", stdout);
		cli_cfg_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("netswap %s\n", NETSWAP_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "attach"))
		return cli_attach(argc - 1, argv + 1);
	if (!strcmp(cmd, "detach"))
		return cli_detach(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return cli_status(argc - 1, argv + 1);
	if (!strcmp(cmd, "reserve"))
		return cli_reserve(argc - 1, argv + 1);
	if (!strcmp(cmd, "up"))
		return cli_up(argc - 1, argv + 1);
	if (!strcmp(cmd, "down"))
		return cli_down(argc - 1, argv + 1);
	if (!strcmp(cmd, "devices"))
		return cli_devices(argc - 1, argv + 1);
	cli_err("unknown command '%s' (try netswap --help)", cmd);
	return 2;
}
