// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exports: a sparse anonymous mapping or a file.  Memory exports are served
 * in place by the event loop (payloads move between socket and mapping);
 * this file holds the operations that are the same for every caller and the
 * blocking file operations the workers run.  Return values are NBD errors.
 *
 * Durability: Linux reports a failed writeback once, to the next fsync,
 * and then forgets it: the pages are clean again and the data gone.  So
 * the first failed sync latches the export as failed, and every later
 * FLUSH and FUA write fails too, until the operator clears it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/size.h"
#include "netswapd.h"

#define PAGE 4096ULL

static const char zero_block[65536];

static struct {
	bool overcommit;	/* serve mem: exports larger than memory */
	bool mlock;		/* their pages are locked: RAM only counts */
	_Atomic uint64_t mem_mapped;	/* sizes of the open mem: exports */
} policy;

void export_set_policy(bool overcommit, bool mlock)
{
	policy.overcommit = overcommit;
	policy.mlock = mlock;
}

static int nbd_errno(int err)
{
	switch (err) {
	case 0:
		return 0;
	case EPERM:
	case EACCES:
	case EROFS:
		return NBD_EPERM;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case EOPNOTSUPP:
		return NBD_ENOTSUP;
	default:
		return NBD_EIO;
	}
}

/* A /proc/meminfo field in bytes (0 if missing). */
static uint64_t meminfo(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			sscanf(line + klen + 1, "%llu", &kib);
			break;
		}
	fclose(f);
	return (uint64_t)kib << 10;
}

/* The mapping is MAP_NORESERVE (a swap server's exports are sparse), so
 * nothing stops memory exports from promising more than there is until
 * the OOM killer takes every client's swap at once.  Refuse at start
 * instead: all mem: exports together must fit in what is available now
 * (RAM, and swap unless --mlock pins them), or --overcommit says so. */
static int check_mem_fits(const struct nsd_export_spec *s)
{
	uint64_t avail = meminfo("MemAvailable") +
			 (policy.mlock ? 0 : meminfo("SwapFree"));
	uint64_t want = atomic_load(&policy.mem_mapped) + s->size;
	char a[32], w[32];

	if (policy.overcommit || want <= avail)
		return 0;
	size_format(want, w, sizeof(w));
	size_format(avail, a, sizeof(a));
	log_err("export '%s': memory exports would take %s, more than the %s of available RAM%s; give --overcommit to serve them anyway",
		s->name, w, a, policy.mlock ? " (--mlock: swap does not count)"
					     : " and swap");
	return -1;
}

static int open_mem(struct nsd_export *e, const struct nsd_export_spec *s)
{
	if (check_mem_fits(s))
		return -1;
	e->map = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e->map == MAP_FAILED) {
		e->map = NULL;
		log_err("export '%s': cannot map %llu bytes: %s", s->name,
			(unsigned long long)s->size, strerror(errno));
		return -1;
	}
	/* A 4 KiB write must cost 4 KiB, not a 2 MiB huge page. */
	madvise(e->map, s->size, MADV_NOHUGEPAGE);
	/* --mlock's mlockall(MCL_FUTURE | MCL_ONFAULT) covers this mapping;
	 * say so explicitly, so it holds whenever the export is opened. */
	if (policy.mlock && mlock2(e->map, s->size, MLOCK_ONFAULT)) {
		log_err("export '%s': --mlock: %s", s->name, strerror(errno));
		munmap(e->map, s->size);
		e->map = NULL;
		return -1;
	}
	e->mlocked = policy.mlock;
	e->size = s->size;
	atomic_fetch_add(&policy.mem_mapped, e->size);
	return 0;
}

/* fallocate() on a block device wants whole logical blocks; a file takes
 * any range, but is served the same way, so one code path is tested. */
static uint32_t falloc_granularity(int fd, const struct stat *st)
{
	int bs = 0;

	if (S_ISBLK(st->st_mode) && ioctl(fd, BLKSSZGET, &bs) == 0 && bs > 0)
		return (uint32_t)bs;
	return st->st_blksize > 0 && st->st_blksize <= 65536
	       ? (uint32_t)st->st_blksize : 4096;
}

/* ,preallocate: every block of the file reserved now, so a swap write
 * never meets ENOSPC.  A block device has all its blocks already. */
static int preallocate(struct nsd_export *e, const struct nsd_export_spec *s,
		       const struct stat *st)
{
	int rc;

	if (!S_ISREG(st->st_mode))
		return 0;
	do {
		rc = fallocate(e->fd, 0, 0, (off_t)e->size);
	} while (rc && errno == EINTR);
	if (rc) {
		log_err("export '%s': preallocate %s: %s", s->name, s->path,
			strerror(errno));
		return -1;
	}
	e->preallocated = true;
	return 0;
}

static int open_file(struct nsd_export *e, const struct nsd_export_spec *s,
		     bool ro)
{
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	off_t end;

	if (s->size && !ro)
		flags |= O_CREAT;
	e->fd = open(s->path, flags, 0600);
	if (e->fd < 0) {
		log_err("export '%s': %s: %s", s->name, s->path,
			strerror(errno));
		return -1;
	}
	/* Two servers writing one file would corrupt it silently. */
	if (flock(e->fd, (ro ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		log_err("export '%s': %s is in use by another process",
			s->name, s->path);
		return -1;
	}
	if (fstat(e->fd, &st) || (end = lseek(e->fd, 0, SEEK_END)) < 0) {
		log_err("export '%s': %s: %s", s->name, s->path,
			strerror(errno));
		return -1;
	}
	e->size = (uint64_t)end;
	if (s->size && S_ISREG(st.st_mode) && (uint64_t)end < s->size) {
		if (ro || ftruncate(e->fd, (off_t)s->size)) {
			log_err("export '%s': cannot grow %s to %llu bytes",
				s->name, s->path, (unsigned long long)s->size);
			return -1;
		}
		e->size = s->size;
	} else if (s->size && s->size < e->size) {
		e->size = s->size;	/* serve a prefix of a larger file */
	}
	if (e->size == 0) {
		log_err("export '%s': %s is empty (give a SIZE)", s->name,
			s->path);
		return -1;
	}
	if (s->preallocate && !ro && preallocate(e, s, &st))
		return -1;
	e->zero_align = falloc_granularity(e->fd, &st);
	/* Holes in a preallocated file would bring ENOSPC back. */
	atomic_init(&e->punch_ok, !e->preallocated);
	atomic_init(&e->zero_range_ok, true);
	return 0;
}

int export_open(struct nsd_export *e, const struct nsd_export_spec *s, bool ro)
{
	char sz[32];
	int rc;

	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->stats_lock, NULL);
	e->fd = -1;
	e->kind = s->kind;
	e->read_only = ro;
	e->name = strdup(s->name);
	rc = s->kind == NSD_EXPORT_MEM ? open_mem(e, s)
	   : s->kind == NSD_EXPORT_RBD ? rbd_export_open(e, s, ro)
	   : open_file(e, s, ro);
	if (rc) {
		export_close(e);
		return -1;
	}
	size_format(e->size, sz, sizeof(sz));
	if (asprintf(&e->description, "%s %s%s%s", sz,
		     s->kind == NSD_EXPORT_MEM ? "memory" : "file ",
		     s->kind == NSD_EXPORT_MEM ? "" : s->path,
		     ro ? ", read-only" : "") < 0)
		e->description = NULL;
	/* A long path must not make it exceed the protocol's string limit
	 * (and the INFO reply buffer sized for it). */
	if (e->description && strlen(e->description) > NBD_MAX_STRING) {
		size_t cut = NBD_MAX_STRING;

		/* A protocol string is UTF-8: never cut a sequence in two. */
		while (cut && ((unsigned char)e->description[cut] & 0xc0) == 0x80)
			cut--;
		e->description[cut] = '\0';
	}
	return 0;
}

void export_close(struct nsd_export *e)
{
	rbd_export_close(e);
	if (e->map) {
		munmap(e->map, e->size);
		atomic_fetch_sub(&policy.mem_mapped, e->size);
	}
	if (e->fd >= 0)
		close(e->fd);
	free(e->name);
	free(e->description);
	pthread_mutex_destroy(&e->stats_lock);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

uint16_t export_tflags(const struct nsd_export *e, bool structured)
{
	uint16_t f = NBD_TFLAG_HAS_FLAGS | NBD_TFLAG_SEND_FLUSH |
		     NBD_TFLAG_SEND_FUA | NBD_TFLAG_SEND_CACHE |
		     NBD_TFLAG_CAN_MULTI_CONN;

	if (e->read_only)
		f |= NBD_TFLAG_READ_ONLY;
	else
		f |= NBD_TFLAG_SEND_TRIM | NBD_TFLAG_SEND_WRITE_ZEROES |
		     NBD_TFLAG_SEND_FAST_ZERO;
	/* We never fragment a read reply, so DF always holds. */
	if (structured)
		f |= NBD_TFLAG_SEND_DF;
	return f;
}

/* A sync failed: from now on the export cannot promise durability. */
static int latch_failure(struct nsd_export *e, int err)
{
	int none = 0;

	if (atomic_compare_exchange_strong(&e->failed, &none, NBD_EIO))
		log_err("export '%s': writeback failed (%s): every FLUSH and FUA write fails from now on, until the storage is repaired and SIGUSR2 clears it",
			e->name, strerror(err));
	return NBD_EIO;
}

void export_clear_failed(struct nsd_export *e)
{
	if (atomic_exchange(&e->failed, 0))
		log_warn("export '%s': failed state cleared by the operator",
			 e->name);
}

int export_sync(struct nsd_export *e)
{
	if (e->kind != NSD_EXPORT_FILE || e->read_only)
		return 0;
	if (fdatasync(e->fd))
		return latch_failure(e, errno);
	return atomic_load(&e->failed);
}

/* Full-length pread/pwrite: a file export never returns short data. */
static int file_pio(struct nsd_export *e, void *buf, uint64_t off,
		    uint32_t len, bool write, int rwf)
{
	while (len) {
		struct iovec iov = { buf, len };
		ssize_t n = write ? pwritev2(e->fd, &iov, 1, (off_t)off, rwf)
				  : preadv2(e->fd, &iov, 1, (off_t)off, rwf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			if (write)
				return -EIO;
			/* Shrunk behind our back: the rest reads as zero. */
			memset(buf, 0, len);
			return 0;
		}
		buf = (char *)buf + n;
		off += (uint64_t)n;
		len -= (uint32_t)n;
	}
	return 0;
}

int export_read(struct nsd_export *e, void *buf, uint64_t off, uint32_t len)
{
	if (e->kind == NSD_EXPORT_MEM) {
		memcpy(buf, e->map + off, len);
		return 0;
	}
	return nbd_errno(-file_pio(e, buf, off, len, false, 0));
}

int export_try_read(struct nsd_export *e, void *buf, uint64_t off,
		    uint32_t len)
{
	int rc = file_pio(e, buf, off, len, false, RWF_NOWAIT);

	if (rc == -EAGAIN || rc == -EOPNOTSUPP)
		return -EAGAIN;
	return nbd_errno(-rc);
}

int export_write(struct nsd_export *e, const void *buf, uint64_t off,
		 uint32_t len, bool fua)
{
	int rc;

	if (e->kind == NSD_EXPORT_MEM) {
		memcpy(e->map + off, buf, len);
		return 0;
	}
	rc = file_pio(e, (void *)buf, off, len, true, fua ? RWF_DSYNC : 0);
	if (!fua)
		return nbd_errno(-rc);
	/* RWF_DSYNC: an EIO is a failed writeback of this data or older. */
	if (rc == -EIO)
		return latch_failure(e, EIO);
	return rc ? nbd_errno(-rc) : atomic_load(&e->failed);
}

int export_try_write(struct nsd_export *e, const void *buf, uint64_t off,
		     uint32_t len)
{
	int rc = file_pio(e, (void *)buf, off, len, true, RWF_NOWAIT);

	if (rc == -EAGAIN || rc == -EOPNOTSUPP)
		return -EAGAIN;
	return nbd_errno(-rc);
}

/* Drop pages of a memory export; they read as zero afterwards.  Locked
 * pages (--mlock) cannot be dropped: unlock the range, drop it, and lock
 * it again as it is touched.  Returns whether the pages are gone. */
static bool mem_drop(struct nsd_export *e, char *p, uint64_t len)
{
	bool ok;

	if (!madvise(p, len, MADV_DONTNEED))
		return true;
	if (!e->mlocked || munlock(p, len))
		return false;
	ok = !madvise(p, len, MADV_DONTNEED);
	if (mlock2(p, len, MLOCK_ONFAULT))
		log_warn("export '%s': cannot lock released pages again: %s",
			 e->name, strerror(errno));
	return ok;
}

/* Give whole pages back to the kernel; with @zero the range reads as
 * zero afterwards (pages that cannot be dropped are cleared). */
static void mem_release(struct nsd_export *e, uint64_t off, uint64_t len,
			bool zero)
{
	uint64_t start = (off + PAGE - 1) & ~(PAGE - 1);
	uint64_t end = (off + len) & ~(PAGE - 1);

	if (start >= end) {
		if (zero)
			memset(e->map + off, 0, len);
		return;
	}
	if (zero) {
		memset(e->map + off, 0, start - off);
		memset(e->map + end, 0, off + len - end);
	}
	if (!mem_drop(e, e->map + start, end - start) && zero)
		memset(e->map + start, 0, end - start);
}

static int file_write_zeroes(struct nsd_export *e, uint64_t off, uint64_t len)
{
	while (len) {
		uint32_t n = len < sizeof(zero_block) ? (uint32_t)len
						      : (uint32_t)sizeof(zero_block);
		int rc = file_pio(e, (void *)zero_block, off, n, true, 0);

		if (rc)
			return nbd_errno(-rc);
		off += n;
		len -= n;
	}
	return 0;
}

/* fallocate() with @mode, remembering when the filesystem lacks it.
 * Returns 0 done, -1 unsupported, or a positive NBD error. */
static int file_falloc(struct nsd_export *e, atomic_bool *ok, int mode,
		       uint64_t off, uint64_t len)
{
	if (!atomic_load(ok))
		return -1;
	if (fallocate(e->fd, mode | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return nbd_errno(errno);
	atomic_store(ok, false);
	return -1;
}

/* file_falloc() over the whole blocks of the range (a block device
 * refuses a partial one with EINVAL); with @zero the partial blocks at
 * either end are written with zeroes, else (TRIM, a hint) left alone.
 * Returns as file_falloc(). */
static int file_falloc_blocks(struct nsd_export *e, atomic_bool *ok,
			      int mode, uint64_t off, uint64_t len, bool zero)
{
	uint64_t a = e->zero_align;
	uint64_t start = (off + a - 1) / a * a, end = (off + len) / a * a;
	int rc;

	if (start >= end)
		return zero ? file_write_zeroes(e, off, len) : 0;
	rc = file_falloc(e, ok, mode, start, end - start);
	if (rc || !zero)
		return rc;
	rc = file_write_zeroes(e, off, start - off);
	return rc ? rc : file_write_zeroes(e, end, off + len - end);
}

int export_trim(struct nsd_export *e, uint64_t off, uint64_t len, bool fua)
{
	int rc;

	if (e->kind == NSD_EXPORT_MEM) {
		mem_release(e, off, len, false);
		return 0;
	}
	/* TRIM is a hint: without hole punching there is nothing to do. */
	rc = file_falloc_blocks(e, &e->punch_ok, FALLOC_FL_PUNCH_HOLE, off,
				len, false);
	if (rc > 0)
		return rc;
	return fua ? export_flush(e) : 0;
}

int export_zero(struct nsd_export *e, uint64_t off, uint64_t len,
		uint16_t flags)
{
	int rc = -1;

	if (e->kind == NSD_EXPORT_MEM) {
		/* Zeroing RAM always beats a network write: FAST_ZERO holds. */
		if (flags & NBD_CMD_FLAG_NO_HOLE)
			memset(e->map + off, 0, len);
		else
			mem_release(e, off, len, true);
		return 0;
	}
	if (!(flags & NBD_CMD_FLAG_NO_HOLE))
		rc = file_falloc_blocks(e, &e->punch_ok, FALLOC_FL_PUNCH_HOLE,
					off, len, true);
	if (rc < 0)
		rc = file_falloc_blocks(e, &e->zero_range_ok,
					FALLOC_FL_ZERO_RANGE, off, len, true);
	if (rc < 0 && (flags & NBD_CMD_FLAG_FAST_ZERO))
		return NBD_ENOTSUP;
	if (rc < 0)
		rc = file_write_zeroes(e, off, len);
	if (rc)
		return rc;
	return (flags & NBD_CMD_FLAG_FUA) ? export_flush(e) : 0;
}

int export_flush(struct nsd_export *e)
{
	if (e->kind == NSD_EXPORT_MEM)
		return 0;
	if (fdatasync(e->fd))
		return latch_failure(e, errno);
	return atomic_load(&e->failed);
}

int export_cache(struct nsd_export *e, uint64_t off, uint64_t len)
{
	if (e->kind == NSD_EXPORT_MEM)
		return 0;
	return nbd_errno(posix_fadvise(e->fd, (off_t)off, (off_t)len,
				       POSIX_FADV_WILLNEED));
}
