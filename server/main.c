// SPDX-License-Identifier: GPL-2.0-only
/*
 * netswapd: an NBD server built to be swapped to.  The main thread owns the
 * listening sockets and the signals; event-loop threads own connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/size.h"
#include "netswapd.h"

struct listener {
	int fd;
	bool is_unix;
	const char *path;
};

static struct listener listeners[NSD_MAX_LISTEN];
static int nlisteners;

/* Each connection costs one descriptor; make room for the configured many. */
static void raise_fd_limit(struct nsd_config *cfg)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY &&
	    cfg->max_connections + 64 > rl.rlim_cur) {
		cfg->max_connections = (unsigned int)(rl.rlim_cur - 64);
		log_warn("descriptor limit %llu: --max-connections lowered to %u",
			 (unsigned long long)rl.rlim_cur, cfg->max_connections);
	}
}

static int open_listeners(struct nsd_config *cfg)
{
	for (int i = 0; i < cfg->nlisten; i++) {
		struct nsd_listen_spec *ls = &cfg->listen[i];
		struct listener *l = &listeners[nlisteners];
		char desc[128];

		if (listen_open(ls, &l->fd)) {
			log_err("cannot listen on %s: %s",
				ls->is_unix ? ls->path : "the given address",
				strerror(errno));
			return -1;
		}
		l->is_unix = ls->is_unix;
		l->path = ls->path;
		nlisteners++;
		listen_describe(l->fd, l->is_unix, l->path, desc, sizeof(desc));
		if (!l->is_unix && cfg->nallow == 0 &&
		    !sockaddr_is_loopback((struct sockaddr *)&ls->addr))
			log_warn("listening on %s without --allow: any host that reaches it can read and write the exports",
				 desc);
		printf("listening %s\n", desc);
	}
	fflush(stdout);
	return 0;
}

static void close_listeners(void)
{
	for (int i = 0; i < nlisteners; i++) {
		close(listeners[i].fd);
		if (listeners[i].is_unix)
			unlink(listeners[i].path);
	}
	nlisteners = 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
		log_err("cannot write pidfile %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void accept_all(struct nsd_server *srv, struct listener *l,
		       int64_t *pause_until)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			if (l->is_unix)
				ss.ss_family = AF_UNIX;
			server_accept(srv, fd, (struct sockaddr *)&ss);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
		    errno == ENOBUFS) {
			/* Out of descriptors: pause rather than spin. */
			log_warn("accept: %s", strerror(errno));
			*pause_until = loop_now_ms() + 100;
		}
		return;
	}
}

/* SIGUSR1: one line; "pool_used" counts live buffers, the rest is the
 * arena's own accounting (free, reserved, cached, fragmentation). */
static void print_stats(struct nsd_server *srv)
{
	struct arena_stats st;
	char used[32], cap[32], detail[512];

	arena_stats(srv->arena, &st);
	size_format(st.used, used, sizeof(used));
	size_format(st.capacity, cap, sizeof(cap));
	arena_stats_format(&st, detail, sizeof(detail));
	fprintf(stderr, "netswapd: stats: connections=%u pool_used=%s pool_capacity=%s arena: %s\n",
		atomic_load(&srv->nconns), used, cap, detail);
}

/* Accept until SIGTERM/SIGINT.  Returns 0 for a clean stop. */
static int serve(struct nsd_server *srv, int sfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t pause_until = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	for (int i = 0; i < nlisteners; i++) {
		ev.data.ptr = &listeners[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, listeners[i].fd, &ev);
	}
	for (;;) {
		struct epoll_event evs[NSD_MAX_LISTEN + 1];
		bool paused = loop_now_ms() < pause_until;
		int n = epoll_wait(ep, evs, paused ? 1 : NSD_MAX_LISTEN + 1,
				   paused ? 100 : -1);

		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (evs[i].data.ptr) {
				if (loop_now_ms() >= pause_until)
					accept_all(srv, evs[i].data.ptr,
						   &pause_until);
				continue;
			}
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGUSR1) {
				print_stats(srv);
				continue;
			}
			log_info("signal %u: finishing in-flight requests",
				 si.ssi_signo);
			close(ep);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	struct nsd_server srv;
	struct nsd_config cfg;
	sigset_t mask;
	int rc, sfd;

	rc = config_parse(&cfg, argc, argv);
	if (rc) {
		config_free(&cfg);	/* leak checkers run the error paths */
		return rc > 0 ? 0 : 2;
	}
	log_quiet = cfg.quiet;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	/* Blocked before any thread starts, so every thread inherits it. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	raise_fd_limit(&cfg);
	if (cfg.mlock && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) {
		log_err("--mlock: %s", strerror(errno));
		goto fail;
	}
	if (sfd < 0 || server_init(&srv, &cfg))
		goto fail;
	if (open_listeners(&cfg) || server_start_loops(&srv) ||
	    (cfg.pidfile && write_pidfile(cfg.pidfile))) {
		close_listeners();
		server_shutdown(&srv);
		server_destroy(&srv);
		goto fail;
	}
	rc = serve(&srv, sfd);
	close_listeners();
	server_shutdown(&srv);
	server_destroy(&srv);
	if (cfg.pidfile)
		unlink(cfg.pidfile);
	config_free(&cfg);
	close(sfd);
	log_info("stopped");
	return rc ? 1 : 0;
fail:
	config_free(&cfg);
	if (sfd >= 0)
		close(sfd);
	return 1;
}
