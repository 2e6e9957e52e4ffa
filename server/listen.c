// SPDX-License-Identifier: GPL-2.0-only
/* Listening sockets: TCP (IPv4/IPv6) and Unix. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "netswapd.h"

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	/* A stale socket from a killed server would block the restart. */
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1024)) {
		close(fd);
		return -1;
	}
	return fd;
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

int listen_open(const struct nsd_listen_spec *ls, int *fd_out)
{
	*fd_out = ls->is_unix ? listen_unix(ls->path) : listen_tcp(ls);
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
