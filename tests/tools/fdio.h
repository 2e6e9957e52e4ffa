/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whole-buffer socket I/O for the test proxies (nbd-hostile,
 * nbd-corrupt-proxy): a short read or write is retried, EINTR is not an
 * error, and a peer that is gone never raises SIGPIPE.
 */
#ifndef NETSWAP_TESTS_FDIO_H
#define NETSWAP_TESTS_FDIO_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Move all len bytes between buf and fd, or fail: 0 when done, -1 on an
 * error or the end of the stream.  Sending never raises SIGPIPE.
 */
static inline int xfer_full(int fd, char *p, size_t len, int sending)
{
	while (len) {
		ssize_t n = sending ? send(fd, p, len, MSG_NOSIGNAL) :
				      read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static inline int read_full(int fd, void *buf, size_t len)
{
	return xfer_full(fd, buf, len, 0);
}

/* fd must be a socket. */
static inline int write_full(int fd, const void *buf, size_t len)
{
	return xfer_full(fd, (char *)buf, len, 1);
}

#endif
