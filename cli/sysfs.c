// SPDX-License-Identifier: GPL-2.0-only
/* Reading and writing the small text files of configfs, sysfs and procfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/netswap.h"

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("netswap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_path(char *buf, size_t len, const char *fmt, ...)
{
	const char *root = getenv("NETSWAP_SYSROOT");
	va_list ap;
	int n;

	n = snprintf(buf, len, "%s", root ? root : "");
	va_start(ap, fmt);
	vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return buf;
}

/* The whole file, trailing newline removed; -errno on failure. */
int cli_read_str(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

int cli_read_u64(const char *path, uint64_t *v)
{
	char buf[64], *end;
	int err;

	err = cli_read_str(path, buf, sizeof(buf));
	if (err)
		return err;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

/* One write(2): configfs hands the kernel's errno back through it. */
int cli_write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cli_item *)a)->name,
		      ((const struct cli_item *)b)->name);
}

int cli_list_items(struct cli_item *items, int max)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(cli_path(path, sizeof(path), CLI_ITEMS));
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		struct stat st;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(items[n].name))
			continue;
		cli_path(path, sizeof(path), CLI_ITEMS "/%s", de->d_name);
		if (stat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		strcpy(items[n].name, de->d_name);
		cli_path(path, sizeof(path), CLI_ITEMS "/%s/device", de->d_name);
		if (cli_read_str(path, items[n].device, sizeof(items[n].device)))
			items[n].device[0] = '\0';
		n++;
	}
	closedir(d);
	qsort(items, (size_t)n, sizeof(items[0]), name_cmp);
	return n;
}

/*
 * The module's configfs directory must be there.  configfs itself may be
 * loaded but not mounted (a minimal initramfs): mount it then.
 */
int cli_need_module(void)
{
	char path[512], cfs[512];
	struct stat st;

	if (!stat(cli_path(path, sizeof(path), CLI_ITEMS), &st))
		return 0;
	cli_path(cfs, sizeof(cfs), CLI_CONFIGFS);
	if (!stat(cfs, &st) && !getenv("NETSWAP_SYSROOT"))
		mount("configfs", cfs, "configfs", 0, NULL);
	if (!stat(path, &st))
		return 0;
	if (stat(cli_path(path, sizeof(path), "/sys/module/netswap"), &st))
		cli_err("module not loaded (modprobe netswap)");
	else
		cli_err("configfs is not mounted on " CLI_CONFIGFS);
	return -1;
}

/* DEVICE may be /dev/netswapN, netswapN or the name given at attach. */
int cli_find_item(const char *arg, struct cli_item *out)
{
	struct cli_item items[CLI_MAX_DEVICES];
	const char *dev = arg;
	int i, n;

	if (!strncmp(dev, "/dev/", 5))
		dev += 5;
	n = cli_list_items(items, CLI_MAX_DEVICES);
	for (i = 0; i < n; i++) {
		if ((items[i].device[0] && !strcmp(items[i].device, dev)) ||
		    !strcmp(items[i].name, arg)) {
			*out = items[i];
			return 0;
		}
	}
	return -1;
}
