// SPDX-License-Identifier: GPL-2.0-only
/*
 * eio-fs: a FUSE filesystem whose fsync fails on command, to test what a
 * server does with a lost write without a block device on the host.
 *
 *   eio-fs BACKING_DIR SWITCH MOUNTPOINT [FUSE OPTIONS]
 *
 * Files of BACKING_DIR appear at MOUNTPOINT (a flat directory; reads,
 * writes, truncation and fallocate pass through).  While the file SWITCH
 * exists, every fsync/fdatasync fails with EIO and the data written since
 * the last good one is reported lost: exactly what the kernel reports
 * when writeback to a failing disk does not get through.  Writes are still
 * accepted, as the page cache accepts them.
 */
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse3/fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *backing;
static const char *fail_switch;

/* The backing path of a FUSE path (always starts with '/'). */
static int real(char *buf, const char *path)
{
	if (snprintf(buf, PATH_MAX, "%s%s", backing, path) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	char p[PATH_MAX];

	if (fi)
		return fstat((int)fi->fh, st) ? -errno : 0;
	if (real(p, path))
		return -ENAMETOOLONG;
	return lstat(p, st) ? -errno : 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	char p[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	(void)off;
	(void)fi;
	(void)flags;
	if (real(p, path) || !(dir = opendir(p)))
		return -errno;
	while ((d = readdir(dir)))
		fill(buf, d->d_name, NULL, 0, 0);
	closedir(dir);
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int fd;

	if (real(p, path))
		return -ENAMETOOLONG;
	fd = open(p, fi->flags & ~O_DIRECT, 0600);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char p[PATH_MAX];
	int fd;

	if (real(p, path))
		return -ENAMETOOLONG;
	fd = open(p, fi->flags | O_CREAT, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t len, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, len, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t len, off_t off,
		    struct fuse_file_info *fi)
{
	ssize_t n = pwrite((int)fi->fh, buf, len, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	if (access(fail_switch, F_OK) == 0)
		return -EIO;
	return (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh))
	       ? -errno : 0;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	char p[PATH_MAX];

	if (fi)
		return ftruncate((int)fi->fh, size) ? -errno : 0;
	if (real(p, path))
		return -ENAMETOOLONG;
	return truncate(p, size) ? -errno : 0;
}

static int fs_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	(void)path;
	return fallocate((int)fi->fh, mode, off, len) ? -errno : 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int fs_unlink(const char *path)
{
	char p[PATH_MAX];

	if (real(p, path))
		return -ENAMETOOLONG;
	return unlink(p) ? -errno : 0;
}

static const struct fuse_operations ops = {
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.fsync = fs_fsync,
	.truncate = fs_truncate,
	.fallocate = fs_fallocate,
	.release = fs_release,
	.unlink = fs_unlink,
};

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: eio-fs BACKING_DIR SWITCH MOUNTPOINT [FUSE OPTIONS]\n");
		return 2;
	}
	backing = argv[1];
	fail_switch = argv[2];
	/* fuse_main sees: eio-fs MOUNTPOINT [FUSE OPTIONS] */
	argv[2] = argv[0];
	return fuse_main(argc - 2, argv + 2, &ops, NULL);
}
