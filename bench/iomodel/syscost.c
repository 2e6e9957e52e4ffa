// SPDX-License-Identifier: GPL-2.0-only
/*
 * What one syscall costs on this host, to put "syscalls per request" into
 * proportion with the CPU time per request that bench/iomodel/run measures:
 * getppid (the bare entry/exit), recv on an empty non-blocking socket
 * (EAGAIN), epoll_wait with nothing ready, and io_uring_enter with nothing
 * to submit or wait for.  Prints nanoseconds per call.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#define N 200000

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct io_uring ring;
	int sv[2], ep;
	char b;
	double t;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) ||
	    (ep = epoll_create1(0)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) ||
	    io_uring_queue_init(8, &ring, 0)) {
		perror("setup");
		return 1;
	}
	/* Best of three: the host is shared. */
	for (int round = 0; round < 3; round++) {
		t = now_ns();
		for (int i = 0; i < N; i++)
			getppid();
		printf("getppid %.0f", (now_ns() - t) / N);
		t = now_ns();
		for (int i = 0; i < N; i++)
			if (recv(sv[0], &b, 1, 0) != -1 || errno != EAGAIN)
				return 1;
		printf("  recv(EAGAIN) %.0f", (now_ns() - t) / N);
		t = now_ns();
		for (int i = 0; i < N; i++)
			epoll_wait(ep, &ev, 1, 0);
		printf("  epoll_wait(0) %.0f", (now_ns() - t) / N);
		t = now_ns();
		for (int i = 0; i < N; i++)
			io_uring_enter(ring.ring_fd, 0, 0, 0, NULL);
		printf("  io_uring_enter(0) %.0f ns\n", (now_ns() - t) / N);
	}
	return 0;
}
