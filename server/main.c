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
static int sync_failures;	/* exports whose last fdatasync failed */

/* What each signal does.  All are blocked and read from a signalfd, so
 * none of them can kill the server by its default action. */
enum sig_action { ACT_STOP, ACT_STATS, ACT_RELOAD, ACT_CLEAR, ACT_IGNORE };

static const struct {
	int signo;
	enum sig_action act;
} signals[] = {
	{ SIGTERM, ACT_STOP },
	{ SIGINT, ACT_STOP },
	{ SIGUSR1, ACT_STATS },
	{ SIGHUP, ACT_RELOAD },
	{ SIGQUIT, ACT_IGNORE },
	{ SIGUSR2, ACT_CLEAR },
};

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

/* Socket activation: the service manager's sockets replace --listen. */
static void adopt_passed(const struct nsd_passed_socket *p, int n)
{
	for (int i = 0; i < n; i++) {
		listeners[i].fd = p[i].fd;
		listeners[i].is_unix = p[i].is_unix;
		listeners[i].path = NULL;	/* its owner unlinks it */
		log_info("socket activation: serving %s", p[i].desc);
		printf("listening %s\n", p[i].desc);
	}
	nlisteners = n;
	fflush(stdout);
}

/* The first export any client let in may open, or NULL. */
static const char *open_export(const struct nsd_config *cfg)
{
	for (int i = 0; i < cfg->nexports; i++)
		if (!cfg->exports[i].access.ncidr && !cfg->exports[i].access.nuid)
			return cfg->exports[i].name;
	return NULL;
}

static int open_listeners(struct nsd_config *cfg)
{
	struct nsd_passed_socket passed[NSD_MAX_LISTEN];
	int npassed = service_passed_sockets(passed, NSD_MAX_LISTEN);

	if (npassed < 0)
		return -1;
	if (npassed > 0) {
		adopt_passed(passed, npassed);
		return 0;
	}
	for (int i = 0; i < cfg->nlisten; i++) {
		struct nsd_listen_spec *ls = &cfg->listen[i];
		struct listener *l = &listeners[nlisteners];
		char desc[128];

		if (listen_open(ls, cfg, &l->fd)) {
			log_err("cannot listen on %s: %s",
				ls->is_unix ? ls->path : "the given address",
				strerror(errno));
			return -1;
		}
		l->is_unix = ls->is_unix;
		l->path = ls->path;
		nlisteners++;
		listen_describe(l->fd, l->is_unix, l->path, desc, sizeof(desc));
		if (!l->is_unix && cfg->nallow == 0 && open_export(cfg) &&
		    !sockaddr_is_loopback((struct sockaddr *)&ls->addr))
			log_warn("listening on %s without --allow: any host that reaches it can read and write '%s' (it has no allow= list)",
				 desc, open_export(cfg));
		printf("listening %s\n", desc);
	}
	fflush(stdout);
	return 0;
}

static void close_listeners(void)
{
	for (int i = 0; i < nlisteners; i++) {
		close(listeners[i].fd);
		if (listeners[i].is_unix && listeners[i].path)
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

/* " failed=NAME,..." for exports with a latched writeback error. */
static void failed_names(struct nsd_server *srv, char *buf, size_t len)
{
	struct nsd_catalog *cat = catalog_get(srv);
	const char *sep = " failed=";
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; cat && i < cat->n && off < len; i++)
		if (atomic_load(&cat->ent[i].exp->failed)) {
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						sep, cat->ent[i].spec.name);
			sep = ",";
		}
	if (cat)
		catalog_put(srv, cat);
}

/* SIGUSR1: one line; "pool_used" counts live buffers, the rest is the
 * arena's own accounting (free, reserved, cached, fragmentation). */
static void print_stats(struct nsd_server *srv)
{
	struct arena_stats st;
	char used[32], cap[32], detail[512], failed[1024];

	arena_stats(srv->arena, &st);
	size_format(st.used, used, sizeof(used));
	size_format(st.capacity, cap, sizeof(cap));
	arena_stats_format(&st, detail, sizeof(detail));
	failed_names(srv, failed, sizeof(failed));
	fprintf(stderr, "netswapd: stats: connections=%u pool_used=%s pool_capacity=%s arena: %s%s\n",
		atomic_load(&srv->nconns), used, cap, detail, failed);
}

static bool same_listeners(const struct nsd_config *a,
			   const struct nsd_config *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (int i = 0; i < a->nlisten; i++) {
		const struct nsd_listen_spec *x = &a->listen[i], *y = &b->listen[i];

		if (x->is_unix != y->is_unix ||
		    (x->is_unix ? strcmp(x->path, y->path)
				: x->addrlen != y->addrlen ||
				  memcmp(&x->addr, &y->addr, x->addrlen)))
			return false;
	}
	return true;
}

/* Options a reload cannot apply to a running server: say which changed. */
static void report_restart_only(const struct nsd_config *now,
				const struct nsd_config *next)
{
	for (int i = 0; i < nsd_noptions; i++) {
		const struct nsd_option *o = &nsd_options[i];
		const char *a = (const char *)now + o->offset;
		const char *b = (const char *)next + o->offset;
		bool same = true;

		if (o->flags & (OPT_RELOAD | OPT_CLI))
			continue;
		switch (o->kind) {
		case OPT_KIND_UINT:
		case OPT_KIND_MODE:
			same = !memcmp(a, b, sizeof(unsigned int));
			break;
		case OPT_KIND_SIZE:
			same = !memcmp(a, b, sizeof(uint64_t));
			break;
		case OPT_KIND_FLAG:
			same = *(const bool *)a == *(const bool *)b;
			break;
		case OPT_KIND_STR:
			same = (!*(char *const *)a && !*(char *const *)b) ||
			       (*(char *const *)a && *(char *const *)b &&
				!strcmp(*(char *const *)a, *(char *const *)b));
			break;
		case OPT_KIND_FN:
			if (!strcmp(o->name, "listen"))
				same = same_listeners(now, next);
			else if (!strcmp(o->name, "socket-owner"))
				same = now->socket_uid == next->socket_uid &&
				       now->socket_gid == next->socket_gid;
			break;
		}
		if (!same)
			log_warn("reload: --%s changed: it takes effect at the next start",
				 o->name);
	}
}

/*
 * SIGHUP: the config file and the command line again.  A file that does
 * not parse, or an export that does not open, refuses the reload whole:
 * the running configuration stays.  Exports are swapped as a catalog
 * (catalog.c); the global --allow list is the main thread's own.
 */
static void reload(struct nsd_server *srv, int argc, char **argv)
{
	struct nsd_config *next = calloc(1, sizeof(*next));
	struct nsd_catalog *cat;
	char err[512];

	if (!srv->cfg->config_path) {
		log_warn("SIGHUP: no --config to reload");
		free(next);
		return;
	}
	if (!next || config_load(next, argc, argv, err, sizeof(err))) {
		log_err("reload refused, the running configuration stays: %s",
			next ? err : "out of memory");
		goto out;
	}
	/* Exports whose last client just left let go of their files first. */
	sync_failures += catalog_reap(srv);
	cat = catalog_build(srv, next);
	if (!cat) {
		log_err("reload refused, the running configuration stays: an export failed to open");
		goto out;
	}
	report_restart_only(srv->cfg, next);
	catalog_publish(srv, cat);
	memcpy(srv->cfg->allow, next->allow, sizeof(next->allow));
	srv->cfg->nallow = next->nallow;
	log_info("reloaded %s: %d exports", srv->cfg->config_path, cat->n);
out:
	if (next)
		config_free(next);
	free(next);
}

/* SIGUSR2: the operator says the storage is sound again. */
static void clear_failed(struct nsd_server *srv)
{
	struct nsd_catalog *cat = catalog_get(srv);

	for (int i = 0; cat && i < cat->n; i++)
		export_clear_failed(cat->ent[i].exp);
	if (cat)
		catalog_put(srv, cat);
}

static enum sig_action action_of(int signo)
{
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (signals[i].signo == signo)
			return signals[i].act;
	return ACT_IGNORE;
}

/* One signal; false when it asks the server to stop. */
static bool on_signal(struct nsd_server *srv, int sfd, int argc, char **argv)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return true;
	switch (action_of((int)si.ssi_signo)) {
	case ACT_STOP:
		log_info("signal %u: finishing in-flight requests",
			 si.ssi_signo);
		return false;
	case ACT_STATS:
		print_stats(srv);
		break;
	case ACT_RELOAD:
		reload(srv, argc, argv);
		break;
	case ACT_CLEAR:
		clear_failed(srv);
		break;
	case ACT_IGNORE:
		log_info("signal %u ignored", si.ssi_signo);
		break;
	}
	return true;
}

/* Accept until SIGTERM/SIGINT.  Returns 0 for a clean stop. */
static int serve(struct nsd_server *srv, int sfd, int argc, char **argv)
{
	static char reap_mark;	/* tells the reap eventfd from listeners */
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t pause_until = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.ptr = &reap_mark;
	epoll_ctl(ep, EPOLL_CTL_ADD, srv->reap_fd, &ev);
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
			if (evs[i].data.ptr == &reap_mark) {
				sync_failures += catalog_reap(srv);
			} else if (evs[i].data.ptr) {
				if (loop_now_ms() >= pause_until)
					accept_all(srv, evs[i].data.ptr,
						   &pause_until);
			} else if (!on_signal(srv, sfd, argc, argv)) {
				close(ep);
				return 0;
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct nsd_metrics *metrics = NULL;
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
	log_init(cfg.syslog);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaddset(&mask, signals[i].signo);
	/* Blocked before any thread starts, so every thread inherits it. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	raise_fd_limit(&cfg);
	if (cfg.mlock && mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)) {
		log_err("--mlock: %s", strerror(errno));
		goto fail;
	}
	export_set_policy(cfg.overcommit, cfg.mlock);
	if (sfd < 0 || server_init(&srv, &cfg))
		goto fail;
	if (open_listeners(&cfg) || server_start_loops(&srv) ||
	    (cfg.metrics.addrlen &&
	     !(metrics = metrics_start(&srv, &cfg.metrics))) ||
	    (cfg.pidfile && write_pidfile(cfg.pidfile)) ||
	    service_drop_privileges(cfg.user, cfg.group)) {
		metrics_stop(metrics);
		close_listeners();
		server_shutdown(&srv);
		server_destroy(&srv);
		goto fail;
	}
	service_notify("READY=1", "serving on %d socket(s)", nlisteners);
	rc = serve(&srv, sfd, argc, argv);
	service_notify("STOPPING=1", "finishing in-flight requests");
	metrics_stop(metrics);
	close_listeners();
	sync_failures += server_shutdown(&srv);
	server_destroy(&srv);
	if (cfg.pidfile)
		unlink(cfg.pidfile);
	config_free(&cfg);
	close(sfd);
	if (sync_failures) {
		log_err("stopped, but %d export(s) failed to sync: data may be lost",
			sync_failures);
		return 1;
	}
	log_info("stopped");
	return rc ? 1 : 0;
fail:
	config_free(&cfg);
	if (sfd >= 0)
		close(sfd);
	return 1;
}
