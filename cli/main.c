// SPDX-License-Identifier: GPL-2.0-only
/* netswap: attach, detach and watch netswap.ko devices; size the reserve. */
#include <stdio.h>
#include <string.h>

#include "cli/netswap.h"

#define NETSWAP_VERSION "0.1"

static const char usage[] =
	"usage: netswap attach [--connections N] [--io-timeout S] [--name NAME]\n"
	"                      [--req-timeout S] [--queue-depth N]\n"
	"                      nbd://HOST[:PORT]/EXPORT\n"
	"       netswap detach DEVICE\n"
	"       netswap status [--json] [DEVICE]\n"
	"       netswap reserve [--apply]\n"
	"       netswap --help | --version\n"
	"\n"
	"attach    connect netswap.ko to an NBD export; prints the device.\n"
	"          The kernel then owns the connections and re-establishes\n"
	"          them itself.  --io-timeout S fails I/O that waited S seconds\n"
	"          (default 0: never fail, wait for the server).\n"
	"          --req-timeout S resets a connection whose reply takes\n"
	"          longer (default 30) and resends on a fresh one.\n"
	"detach    disconnect and remove a device (swapoff it first).\n"
	"status    every counter of every device (or of DEVICE).\n"
	"reserve   the min_free_kbytes the attached devices need; --apply\n"
	"          raises it (never lowers).\n"
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
	cli_err("unknown command '%s' (try netswap --help)", cmd);
	return 2;
}
