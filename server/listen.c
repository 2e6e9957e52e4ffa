// SPDX-License-Identifier: GPL-2.0-only
/* Listening sockets: TCP (IPv4/IPv6) and Unix. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "netswapd.h"

/*
 * Something is at @path already.  A socket nobody listens on (connect
 * refused) is what a killed server leaves: remove it.  A live socket
 * (EADDRINUSE) or anything else (EEXIST) stays, and the start fails.
 */
static int clear_stale(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc, err;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	err = errno;
	close(fd);
	if (rc == 0) {
		errno = EADDRINUSE;
		return -1;
	}
	if (err != ECONNREFUSED) {
		errno = err;
		return -1;
	}
	return unlink(sa->sun_path);
}

/* Created with no access for anyone but us (umask), then given its owner
 * and mode, so it is never open wider than asked. */
static int listen_unix(const char *path, const struct nsd_config *cfg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, rc, err;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (clear_stale(&sa))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	umask(old_mask);
	if (rc) {
		close(fd);
		errno = err;
		return -1;
	}
	if ((cfg->socket_uid != (uid_t)-1 || cfg->socket_gid != (gid_t)-1) &&
	    chown(path, cfg->socket_uid, cfg->socket_gid))
		goto fail;
	if (chmod(path, cfg->socket_mode) || listen(fd, 1024))
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	unlink(path);
	errno = err;
	return -1;
}

static int listen_tcp(const struct nsd_listen_spec *ls)
{
	int one = 1;
	int fd = socket(ls->addr.ss_family,
			SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&ls->addr, ls->addrlen) ||
	    listen(fd, 1024)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int listen_open(const struct nsd_listen_spec *ls, const struct nsd_config *cfg,
		int *fd_out)
{
	*fd_out = ls->is_unix ? listen_unix(ls->path, cfg) : listen_tcp(ls);
	return *fd_out < 0 ? -1 : 0;
}

/* "127.0.0.1:10809", "[::1]:10809" or "unix:/path", from the bound socket
 * (so port 0 shows the port the kernel picked). */
void listen_describe(int fd, bool is_unix, const char *path, char *buf,
		     size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (is_unix) {
		snprintf(buf, len, "unix:%s", path);
		return;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		snprintf(buf, len, "?");
		return;
	}
	sockaddr_describe((struct sockaddr *)&ss, host, sizeof(host), buf, len);
}

void sockaddr_describe(const struct sockaddr *sa, char *host, size_t hlen,
		       char *buf, size_t len)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, (socklen_t)hlen);
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, (socklen_t)hlen);
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "unix");
	}
}

bool sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
	}
	return true;
}
