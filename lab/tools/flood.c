// SPDX-License-Identifier: GPL-2.0-only
/*
 * flood: the host side of the flood scenario.
 *
 *   flood --tcp HOST:PORT --udp HOST:PORT [--conns N] [--pps N] [--size B]
 *
 * Keeps N TCP connections to the guest's sink full (it never reads, so each
 * fills its receive window and stays full; a connection that dies is
 * reopened) and sends a steady UDP stream of --pps packets of --size bytes.
 * Rate-limited on purpose: the host has two cores shared with the TCG
 * guest, and the point is packets arriving while the guest is short of
 * memory, not saturating QEMU.  Runs until SIGTERM; then prints one line
 *   flood tcp_connects= tcp_bytes= udp_packets= udp_errors=
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define TICK_MS 10

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: flood --tcp HOST:PORT --udp HOST:PORT "
		"[--conns N] [--pps N] [--size BYTES]\n");
	exit(2);
}

static void parse_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		usage();
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1 || !a->sin_port)
		usage();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int tcp_open(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	struct sockaddr_in tcp_a, udp_a;
	struct pollfd pfd[MAX_CONNS];
	double retry_at[MAX_CONNS] = { 0 };
	long conns = 64, pps = 2000, size = 1200, i;
	long long connects = 0, tcp_bytes = 0, udp_packets = 0, udp_errors = 0;
	int have_tcp = 0, have_udp = 0, udp;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--tcp"))
			parse_addr(v, &tcp_a), have_tcp = 1;
		else if (!strcmp(k, "--udp"))
			parse_addr(v, &udp_a), have_udp = 1;
		else if (!strcmp(k, "--conns"))
			conns = atol(v);
		else if (!strcmp(k, "--pps"))
			pps = atol(v);
		else if (!strcmp(k, "--size"))
			size = atol(v);
		else
			usage();
	}
	if (i != argc || !have_tcp || !have_udp || conns < 1 ||
	    conns > MAX_CONNS || pps < 0 || size < 1 || size > 65000)
		usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	memset(buf, 0x5a, sizeof(buf));
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (udp < 0) {
		perror("flood: socket");
		return 1;
	}
	for (i = 0; i < conns; i++)
		pfd[i] = (struct pollfd){ .fd = -1, .events = POLLOUT };

	while (!stop) {
		long burst = pps * TICK_MS / 1000;

		double t = now();

		for (i = 0; i < conns; i++) {
			if (pfd[i].fd >= 0 || t < retry_at[i])
				continue;
			pfd[i].fd = tcp_open(&tcp_a);
			connects += pfd[i].fd >= 0;
			retry_at[i] = t + 1;	/* a refused slot waits 1 s */
		}
		if (poll(pfd, (nfds_t)conns, TICK_MS) < 0 && errno != EINTR)
			break;
		for (i = 0; i < conns; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			n = send(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n > 0) {
				tcp_bytes += n;
			} else if (n < 0 && errno != EAGAIN) {
				close(pfd[i].fd);	/* reopened after 1 s */
				pfd[i].fd = -1;
			}
		}
		for (i = 0; i < burst; i++) {
			if (sendto(udp, buf, (size_t)size, 0,
				   (const struct sockaddr *)&udp_a,
				   sizeof(udp_a)) == size)
				udp_packets++;
			else
				udp_errors++;
		}
	}
	printf("flood tcp_connects=%lld tcp_bytes=%lld udp_packets=%lld "
	       "udp_errors=%lld\n", connects, tcp_bytes, udp_packets,
	       udp_errors);
	return 0;
}
