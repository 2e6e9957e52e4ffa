// SPDX-License-Identifier: GPL-2.0-only
/*
 * up, down and devices: the configured swap devices (devices.h), as the
 * netswap@NAME.service unit, the generator and the initramfs run them.
 *
 * up NAME attaches (unless the initramfs already did: the kernel kept the
 * device across the switch to the real root, so it is adopted), writes a
 * swap signature if there is none and mkswap=auto, and swaps on.
 * down NAME swaps off and detaches; it returns only when the device has
 * left swap, whoever swapped it off (systemd may stop the swap unit it made
 * for /dev/netswapN at the same moment), so that the unit's stop, and so
 * the network's, comes after.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/devices.h"
#include "cli/netswap.h"

#define FILE_MAX (256 * 1024)

static struct cli_dev_entry entries[CLI_MAX_DEVICES];
static int nentries;

/* Appends the devices of REL (under NETSWAP_SYSROOT); none if it is absent. */
static int load_file(const char *rel)
{
	static char text[FILE_MAX];
	char err[600], path[512];
	ssize_t n;
	int fd;

	fd = open(cli_path(path, sizeof(path), "%s", rel), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		cli_err("%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0 || n == sizeof(text) - 1) {
		cli_err("%s: %s", path, n < 0 ? strerror(errno) : "file too large");
		return -1;
	}
	text[n] = '\0';
	if (cli_devices_parse(text, rel, entries, CLI_MAX_DEVICES, &nentries,
			      err, sizeof(err))) {
		cli_err("%s", err);
		return -1;
	}
	return 0;
}

static int load(void)
{
	nentries = 0;
	return load_file(CLI_DEVICES_ETC) || load_file(CLI_DEVICES_RUN) ? -1 : 0;
}

static const struct cli_dev_entry *entry(const char *name)
{
	int i;

	for (i = 0; i < nentries; i++)
		if (!strcmp(entries[i].name, name))
			return &entries[i];
	cli_err("%s: not in " CLI_DEVICES_ETC " or " CLI_DEVICES_RUN, name);
	return NULL;
}

/* The configfs item called exactly NAME (not a device of that name). */
static int find_item(const char *name, struct cli_item *out)
{
	struct cli_item items[CLI_MAX_DEVICES];
	char path[512];
	struct stat st;
	int i, n;

	if (stat(cli_path(path, sizeof(path), CLI_ITEMS), &st))
		return -1;
	n = cli_list_items(items, CLI_MAX_DEVICES);
	for (i = 0; i < n; i++) {
		if (!strcmp(items[i].name, name)) {
			*out = items[i];
			return 0;
		}
	}
	return -1;
}

static bool swap_active(const char *device)
{
	char path[512], line[512], want[64];
	bool found = false;
	FILE *f;

	f = fopen(cli_path(path, sizeof(path), "/proc/swaps"), "re");
	if (!f)
		return false;
	snprintf(want, sizeof(want), "/dev/%s ", device);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = true;
	fclose(f);
	return found;
}

/* 1 if DEV starts with a swap signature mkswap wrote, 0 if not, -1 error. */
static int has_swap_signature(const char *dev)
{
	long page = sysconf(_SC_PAGESIZE);
	char buf[65536];
	ssize_t n;
	int fd;

	if (page < 4096 || page > (long)sizeof(buf))
		page = 4096;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, (size_t)page, 0);
	close(fd);
	if (n != page) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return !memcmp(buf + page - 10, "SWAPSPACE2", 10);
}

static int run(const char *prog, const char *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		execlp(prog, prog, arg, (char *)NULL);
		cli_err("cannot run %s: %s", prog, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

static int attach(const struct cli_dev_entry *e)
{
	char *argv[8 + CLI_DEV_MAX_ARGS];
	int argc = 0, i;

	argv[argc++] = "attach";
	argv[argc++] = "--name";
	argv[argc++] = (char *)e->name;
	for (i = 0; i < e->nargs; i++)
		argv[argc++] = (char *)e->args[i];
	if (e->nurls == 2)
		argv[argc++] = "--mirror";
	for (i = 0; i < e->nurls; i++)
		argv[argc++] = (char *)e->url[i];
	argv[argc] = NULL;
	optind = 0;	/* attach parses its own options */
	return cli_attach(argc, argv);
}

static void undo_attach(const char *name)
{
	char *argv[] = { "detach", (char *)name, NULL };

	cli_detach(2, argv);
}

/* A fresh device, or one without a signature: mkswap when allowed. */
static int prepare(const struct cli_dev_entry *e, const char *dev)
{
	int sig = has_swap_signature(dev);

	if (sig < 0) {
		cli_err("%s: cannot read %s: %s", e->name, dev, strerror(errno));
		return -1;
	}
	if (sig)
		return 0;
	if (e->mkswap == CLI_MKSWAP_NEVER) {
		cli_err("%s: %s has no swap signature and mkswap=never", e->name, dev);
		return -1;
	}
	printf("%s: no swap signature on %s: mkswap\n", e->name, dev);
	if (run("mkswap", dev)) {
		cli_err("%s: mkswap %s failed", e->name, dev);
		return -1;
	}
	return 0;
}

static int up_one(const struct cli_dev_entry *e)
{
	struct cli_item it;
	bool fresh = false;
	char dev[64];
	int flags = 0, rc;

	if (cli_need_module())
		return 1;
	if (!find_item(e->name, &it) && it.device[0]) {
		printf("%s: already attached as /dev/%s\n", e->name, it.device);
	} else {
		if (!find_item(e->name, &it))
			undo_attach(e->name);	/* a stale, unpowered item */
		rc = attach(e);
		if (rc)
			return rc;
		fresh = true;
		if (find_item(e->name, &it) || !it.device[0]) {
			cli_err("%s: attached, but no device in configfs", e->name);
			return 1;
		}
	}
	snprintf(dev, sizeof(dev), "/dev/%s", it.device);
	if (swap_active(it.device)) {
		printf("%s: %s is already swap\n", e->name, dev);
		return 0;
	}
	if (prepare(e, dev))
		goto out_undo;
	if (e->priority >= 0)
		flags = SWAP_FLAG_PREFER |
			((e->priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
	if (swapon(dev, flags)) {
		cli_err("%s: swapon %s: %s", e->name, dev, strerror(errno));
		goto out_undo;
	}
	printf("%s: swap on %s\n", e->name, dev);
	return 0;

out_undo:
	if (fresh)
		undo_attach(e->name);
	return 1;
}

/* swapoff; if another swapoff of it is already running, wait for that. */
static int swap_off(const char *name, const char *device)
{
	char dev[64];

	snprintf(dev, sizeof(dev), "/dev/%s", device);
	printf("%s: swapoff %s\n", name, dev);
	fflush(stdout);
	if (!swapoff(dev))
		return 0;
	if (errno != EINVAL && errno != EBUSY) {
		cli_err("%s: swapoff %s: %s", name, dev, strerror(errno));
		return -1;
	}
	while (swap_active(device))
		usleep(100 * 1000);
	return 0;
}

static int down_one(const char *name)
{
	struct cli_item it;
	char *argv[] = { "detach", (char *)name, NULL };

	if (find_item(name, &it)) {
		printf("%s: not attached\n", name);
		return 0;
	}
	if (it.device[0] && swap_active(it.device) && swap_off(name, it.device))
		return 1;
	if (cli_detach(2, argv))
		return 1;
	printf("%s: detached%s%s\n", name, it.device[0] ? " /dev/" : "", it.device);
	return 0;
}

static int each_name(int argc, char **argv, const char *cmd, bool need_entry)
{
	int i, rc = 0;

	if (argc < 2) {
		cli_err("%s: expected one or more NAMEs (netswap devices lists them)", cmd);
		return 2;
	}
	if (need_entry && load())
		return 1;
	for (i = 1; i < argc; i++) {
		const struct cli_dev_entry *e = need_entry ? entry(argv[i]) : NULL;
		int r;

		if (need_entry && !e) {
			rc = 1;
			continue;
		}
		r = need_entry ? up_one(e) : down_one(argv[i]);
		if (r && !rc)
			rc = r;
		fflush(stdout);
	}
	return rc;
}

int cli_up(int argc, char **argv)
{
	return each_name(argc, argv, "up", true);
}

/* down needs no configuration: it undoes whatever NAME is attached as. */
int cli_down(int argc, char **argv)
{
	return each_name(argc, argv, "down", false);
}

static void print_entry(const struct cli_dev_entry *e)
{
	struct cli_item it;
	int i;

	printf("%-16s ", e->name);
	if (find_item(e->name, &it) || !it.device[0])
		printf("%-22s", "not attached");
	else
		printf("%-5s /dev/%-10s  ", swap_active(it.device) ? "swap" : "up",
		       it.device);
	for (i = 0; i < e->nurls; i++)
		printf(" %s", e->url[i]);
	if (e->priority >= 0)
		printf(" pri=%d", e->priority);
	printf(" mkswap=%s", e->mkswap == CLI_MKSWAP_AUTO ? "auto" : "never");
	if (e->initramfs)
		printf(" initramfs");
	for (i = 0; i < e->nargs; i++)
		printf(" %s", e->args[i]);
	printf("  (%s:%d)\n", e->source, e->line);
}

/*
 * Every netswap=URL[,OPTION...] of the kernel command line as a devices
 * line, for the initramfs to write to /run/netswap/devices.  A bad one is
 * reported and left out; the others still come.
 */
static int print_cmdline(void)
{
	char path[512], buf[4096], line[CLI_DEV_LINE_MAX], *w, *save;
	const char *why = NULL;
	int index = 0, rc = 0;

	if (cli_read_str(cli_path(path, sizeof(path), "/proc/cmdline"), buf, sizeof(buf))) {
		cli_err("devices: cannot read %s", path);
		return 1;
	}
	for (w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(w, "netswap=", 8))
			continue;
		if (cli_devices_from_cmdline(w + 8, index++, line, sizeof(line), &why)) {
			cli_err("devices: %s: %s", w, why);
			rc = 1;
			continue;
		}
		printf("%s\n", line);
	}
	return rc;
}

int cli_devices(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "names", no_argument, NULL, 'n' },
		{ "initramfs", no_argument, NULL, 'i' },
		{ "cmdline", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	bool names = false, initramfs = false;
	int c, i;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n')
			names = true;
		else if (c == 'i')
			initramfs = true;
		else if (c == 'c')
			return optind == argc ? print_cmdline() : 2;
		else
			return 2;
	}
	if (optind != argc) {
		cli_err("devices: no arguments expected");
		return 2;
	}
	if (load())
		return 1;
	for (i = 0; i < nentries; i++) {
		if (initramfs && !entries[i].initramfs)
			continue;
		if (names)
			printf("%s\n", entries[i].name);
		else
			print_entry(&entries[i]);
	}
	if (!nentries && !names)
		printf("no devices in " CLI_DEVICES_ETC "\n");
	return 0;
}
