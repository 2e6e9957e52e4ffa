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

/* 0 when all len bytes arrived; -1 on error or end of stream. */
static inline int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0 when all len bytes went out on socket fd; -1 otherwise. */
static inline int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#endif
