// SPDX-License-Identifier: GPL-2.0-only
/*
 * Running as a daemon: the service manager's protocols (sd_notify readiness
 * and status, listening sockets passed by socket activation), and dropping
 * root once everything that needs it (binding, opening exports, locking
 * memory) is done.  Without libsystemd the notifications are no-ops and a
 * passed socket is refused loudly rather than ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "netswapd.h"

#ifdef NSD_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void service_notify(const char *state, const char *fmt, ...)
{
#ifdef NSD_HAVE_SYSTEMD
	char status[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(status, sizeof(status), fmt, ap);
		va_end(ap);
	}
	/* Outside systemd (no NOTIFY_SOCKET) this does nothing. */
	sd_notifyf(0, "%s%s%s%s", state ? state : "", state && fmt ? "\n" : "",
		   fmt ? "STATUS=" : "", status);
#else
	(void)state;
	(void)fmt;
#endif
}

/* The address of a passed socket, for the "listening" line; a Unix
 * socket's path is the service manager's, never unlinked by us. */
static void describe_passed(int fd, struct nsd_passed_socket *p)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	p->fd = fd;
	p->is_unix = !getsockname(fd, (struct sockaddr *)&sa, &len) &&
		     sa.sun_family == AF_UNIX;
	if (p->is_unix)
		snprintf(p->desc, sizeof(p->desc), "unix:%.*s",
			 (int)(len > offsetof(struct sockaddr_un, sun_path)
			       ? len - offsetof(struct sockaddr_un, sun_path) : 0),
			 sa.sun_path);
	else
		listen_describe(fd, false, NULL, p->desc, sizeof(p->desc));
}

int service_passed_sockets(struct nsd_passed_socket *out, int max)
{
#ifdef NSD_HAVE_SYSTEMD
	/* Unsets LISTEN_* so children (none) and re-execs see nothing. */
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_err("socket activation: %s", strerror(-n));
		return -1;
	}
	if (n > max) {
		log_err("socket activation: %d sockets passed, at most %d served",
			n, max);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			log_err("socket activation: descriptor %d is not a listening stream socket",
				fd);
			return -1;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		describe_passed(fd, &out[i]);
	}
	return n;
#else
	(void)out;
	(void)max;
	(void)describe_passed;
	if (getenv("LISTEN_FDS")) {
		log_err("socket activation: this netswapd was built without libsystemd (install libsystemd-dev and rebuild)");
		return -1;
	}
	return 0;
#endif
}

/*
 * --user/--group: give up root for good, after the listeners are bound and
 * the exports are open (they stay open; a reload that opens a new file
 * export needs the new user's permissions).  Names or numbers; the group
 * defaults to the user's, supplementary groups are the user's or none.
 */
int service_drop_privileges(const char *user, const char *group)
{
	struct passwd *pw = NULL;
	unsigned int uid = 0, gid = 0;
	bool set_gid = false;

	if (!user && !group)
		return 0;
	if (user) {
		pw = getpwnam(user);
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
			set_gid = true;
		} else if (export_spec_parse_id(user, &uid)) {
			log_err("--user: no user '%s'", user);
			return -1;
		}
	}
	if (group) {
		struct group *gr = getgrnam(group);

		if (gr)
			gid = gr->gr_gid;
		else if (export_spec_parse_id(group, &gid)) {
			log_err("--group: no group '%s'", group);
			return -1;
		}
		set_gid = true;
	}
	if (set_gid && ((pw ? initgroups(pw->pw_name, (gid_t)gid)
			    : setgroups(0, NULL)) || setgid((gid_t)gid))) {
		log_err("--group: cannot become group %u: %s", gid,
			strerror(errno));
		return -1;
	}
	if (user && setuid((uid_t)uid)) {
		log_err("--user: cannot become user %u: %s", uid,
			strerror(errno));
		return -1;
	}
	/* Root must be gone for good, not just for now. */
	if (user && uid != 0 && setuid(0) == 0) {
		log_err("--user: root could be regained; refusing to run");
		return -1;
	}
	log_info("running as uid %u, gid %u", (unsigned int)getuid(),
		 (unsigned int)getgid());
	return 0;
}
