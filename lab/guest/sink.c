// SPDX-License-Identifier: GPL-2.0-only
/*
 * sink: a guest socket that never reads, the target of the flood scenario.
 *
 *   sink [--addr IPV4] --tcp PORT --udp PORT [--udp-rcvbuf BYTES]
 *        [--udp-drain-ms MS]
 *
 * Accepts every TCP connection and keeps it open without reading; binds a
 * UDP socket and never reads it.  Their receive queues fill and stay full,
 * so packets the host keeps sending are received into memory that nobody
 * frees: under swap pressure that memory may come from the PFMEMALLOC
 * reserve, and the kernel must drop it (TcpExt: PFMemallocDrop) instead of
 * starving the swap socket.
 *
 * --udp-rcvbuf sizes the UDP queue (SO_RCVBUFFORCE: beyond rmem_max) so
 * that the flood keeps taking memory while the guest reclaims: atomic
 * allocations may go below the min watermark, and while the queue grows
 * they hold free memory down where the NIC's next receive buffers come
 * from the reserve.
 *
 * --udp-drain-ms empties the UDP queue every MS milliseconds, so that it
 * fills again, and again, while the guest reclaims: once full it only
 * turns packets away (and frees them at once); refilled over and over,
 * each refill is a fresh run of atomic allocations starting wherever the
 * pressure holds free memory, not one that happened at some moment.  Each
 * drain that read anything prints NS-SINK-DRAIN bytes=N datagrams=N.
 *
 * --addr binds both sockets to one address (default: any; the host test
 * binds loopback).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct in_addr bind_addr = { .s_addr = INADDR_ANY };

static int bound(int type, int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr = bind_addr,
	};
	int one = 1, fd = socket(AF_INET, type, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		printf("NS-ERROR sink port %d: %s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Read the UDP queue empty; the datagrams' memory goes back at once. */
static void drain(int ufd)
{
	static char buf[65536];
	long long bytes = 0, datagrams = 0;
	ssize_t n;

	while ((n = recv(ufd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		bytes += n;
		datagrams++;
	}
	if (datagrams) {
		printf("NS-SINK-DRAIN bytes=%lld datagrams=%lld\n", bytes, datagrams);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	int tcp_port = 0, udp_port = 0, rcvbuf = 0, drain_ms = 0, lfd, ufd, i;
	socklen_t len = sizeof(rcvbuf);
	struct pollfd pfd;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tcp"))
			tcp_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--udp"))
			udp_port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--udp-rcvbuf"))
			rcvbuf = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--udp-drain-ms"))
			drain_ms = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--addr") &&
			 inet_pton(AF_INET, argv[i + 1], &bind_addr) == 1)
			;
		else
			break;
	}
	if (tcp_port <= 0 || udp_port <= 0 || rcvbuf < 0 || drain_ms < 0 || i != argc) {
		fprintf(stderr, "usage: sink [--addr IPV4] --tcp PORT --udp PORT"
			" [--udp-rcvbuf BYTES] [--udp-drain-ms MS]\n");
		return 2;
	}
	ufd = bound(SOCK_DGRAM, udp_port);	/* kept open, never read */
	if (rcvbuf && setsockopt(ufd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf))) {
		printf("NS-ERROR sink SO_RCVBUFFORCE %d: %s\n", rcvbuf, strerror(errno));
		return 1;
	}
	if (getsockopt(ufd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len))
		rcvbuf = -1;
	lfd = bound(SOCK_STREAM, tcp_port);
	if (listen(lfd, 128)) {
		printf("NS-ERROR sink listen: %s\n", strerror(errno));
		return 1;
	}
	printf("NS-SINK tcp=%d udp=%d udp_rcvbuf=%d udp_drain_ms=%d\n",
	       tcp_port, udp_port, rcvbuf, drain_ms);
	fflush(stdout);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	for (;;) {
		int n = poll(&pfd, 1, drain_ms ? drain_ms : -1);

		if (n == 0) {
			drain(ufd);
			continue;
		}
		/* Keep every connection: their queues are the point. */
		if (n > 0 && accept(lfd, NULL, NULL) < 0 &&
		    (errno == EMFILE || errno == ENFILE))
			pfd.fd = -1;	/* no more: keep draining, if asked */
	}
}
