/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netswapd's options, one row each.  The row is the only place an option
 * is described: the long option (--NAME), the config-file key (NAME), the
 * field of struct nsd_config that holds it, its bounds and default, and
 * its --help line all come from it (options.c expands the rows into the
 * getopt table, the parser and the usage text; netswapd.h into the
 * fields).  Adding an option is one row here, then its paragraph in
 * docs/netswapd.8 (tests/test-server-help.sh checks both agree):
 *
 *   X(KIND, field, "name", "ARG", min, max, default, flags, "help")
 *
 * KIND   UINT  unsigned int, decimal, checked against [min, max]
 *        MODE  unsigned int, octal (file modes), checked likewise
 *        SIZE  uint64_t, with a K/M/G/T suffix, checked likewise
 *        FLAG  bool, no ARG (in a file: a bare key, or = yes/no)
 *        STR   char *, owned by the config, freed by config_free()
 *        FN    parsed by the function named in @field (config.c), which
 *              stores into fields of its own; no field is generated
 * default  a default outside [min, max] means "worked out at start"
 *        (the help text says how), e.g. --threads' 0 = online CPUs
 * flags  OPT_CLI: command line only (not a config-file key)
 *        OPT_RELOAD: a changed value applies on SIGHUP; any other
 *        option's change is reported and waits for a restart
 *
 * Help texts are one sentence or two, no trailing period; the usage
 * printer wraps them and adds the bounds and the default.
 */
#ifndef NETSWAPD_OPTIONS_H
#define NETSWAPD_OPTIONS_H

#define OPT_CLI		(1U << 0)
#define OPT_RELOAD	(1U << 1)

#define NSD_AUTO_SIZE	UINT64_MAX	/* a SIZE default: worked out */

#define NSD_OPTIONS(X)							\
X(FN, opt_config, "config", "PATH", 0, 0, 0, OPT_CLI,			\
  "read options from PATH, one 'key = value' per line, keys named as "	\
  "the long options; the command line is applied after it, and "	\
  "SIGHUP reads it again")						\
X(FLAG, check_config, "check-config", NULL, 0, 1, 0, OPT_CLI,		\
  "check the configuration (command line and --config) and exit: 0 "	\
  "if it is valid, 2 with its first error; nothing is opened")		\
X(FN, opt_listen, "listen", "ADDR:PORT|unix:PATH", 0, 0, 0, 0,		\
  "listen on TCP (IPv4, or [IPv6]:PORT; port 0 picks a free port) or "	\
  "on a Unix socket; repeatable (default 127.0.0.1:10809)")		\
X(FN, opt_export, "export", "NAME=SPEC[,ATTR...]", 0, 0, 0, OPT_RELOAD,	\
  "serve an export; SPEC is mem:SIZE, file:PATH[:SIZE] or "		\
  "rbd:POOL/IMAGE[,conf=PATH][,id=USER]; ATTRs "			\
  "allow=CIDR+..., allow-uid=UID+..., read-only, preallocate, "	\
  "description=TEXT (last); repeatable")				\
X(FN, opt_allow, "allow", "CIDR", 0, 0, 0, OPT_RELOAD,			\
  "admit only TCP peers from these networks; repeatable")		\
X(FLAG, read_only, "read-only", NULL, 0, 1, 0, OPT_RELOAD,		\
  "serve every export read-only")					\
X(FLAG, no_list, "no-list", NULL, 0, 1, 0, OPT_RELOAD,			\
  "refuse NBD_OPT_LIST (clients must know the export's name)")		\
X(UINT, max_connections, "max-connections", "N", 1, 32703, 4096, 0,	\
  "serve at most N clients at once")					\
X(SIZE, buffer_memory, "buffer-memory", "SIZE", 2ULL << 20, 1ULL << 40,	\
  64ULL << 20, 0, "the bound on request and reply buffers")		\
X(SIZE, reserve, "reserve-per-connection", "SIZE", 0, 1ULL << 40,	\
  NSD_AUTO_SIZE, 0,							\
  "buffer memory set aside for each client once it negotiated an "	\
  "export, so it always makes progress; by default its request "	\
  "slots, plus one 128K request for file exports; 0 = no reserves")	\
X(UINT, threads, "threads", "N", 1, 256, 0, 0,			\
  "event-loop threads, by default one per online CPU")			\
X(UINT, handshake_timeout, "handshake-timeout", "S", 1, 86400, 30, 0,	\
  "drop clients that have not finished the handshake after S seconds")	\
X(UINT, send_timeout, "send-timeout", "S", 1, 86400, 30, 0,		\
  "while others wait for buffer memory, drop clients that took none "	\
  "of their replies for S seconds")					\
X(UINT, tcp_keepalive, "tcp-keepalive", "S", 0, 86400, 30, 0,		\
  "probe a TCP client that has been silent for S seconds (0 = never), "	\
  "so the reserve of one that vanished returns to the pool")		\
X(UINT, tcp_keepalive_interval, "tcp-keepalive-interval", "S", 1,	\
  3600, 5, 0, "seconds between keepalive probes")			\
X(UINT, tcp_keepalive_count, "tcp-keepalive-count", "N", 1, 127, 5, 0,	\
  "unanswered keepalive probes before a client is dropped")		\
X(UINT, tcp_user_timeout, "tcp-user-timeout", "S", 0, 86400, 60, 0,	\
  "drop a TCP client that has not acknowledged data sent to it for S "	\
  "seconds (TCP_USER_TIMEOUT; 0 = the kernel's retries)")		\
X(FN, opt_metrics, "metrics", "ADDR:PORT", 0, 0, 0, 0,			\
  "serve Prometheus metrics at http://ADDR:PORT/metrics (port 0 "	\
  "picks a free port)")							\
X(MODE, socket_mode, "socket-mode", "MODE", 0, 0777, 0600, 0,		\
  "permissions of Unix sockets (octal)")				\
X(FN, opt_socket_owner, "socket-owner", "USER[:GROUP]", 0, 0, 0, 0,	\
  "owner of Unix sockets (default: the server's user)")		\
X(FLAG, mlock, "mlock", NULL, 0, 1, 0, 0,				\
  "lock the server's memory as it is touched (MCL_ONFAULT), memory "	\
  "exports included")							\
X(FLAG, overcommit, "overcommit", NULL, 0, 1, 0, 0,			\
  "serve memory exports larger together than the available RAM and "	\
  "swap (refused by default)")						\
X(STR, pidfile, "pidfile", "PATH", 0, 0, 0, 0,			\
  "write the process ID to PATH once listening")			\
X(FLAG, quiet, "quiet", NULL, 0, 1, 0, 0,				\
  "log errors and warnings only")					\
X(FLAG, syslog, "syslog", NULL, 0, 1, 0, 0,				\
  "log to syslog (daemon facility) instead of standard error; under "	\
  "systemd standard error is the journal, with priorities")		\
X(STR, user, "user", "USER", 0, 0, 0, 0,				\
  "once listening with the exports open, run as USER (name or "	\
  "number); the group is the user's unless --group")			\
X(STR, group, "group", "GROUP", 0, 0, 0, 0,				\
  "once listening with the exports open, run as GROUP")		\
X(FN, opt_help, "help", NULL, 0, 0, 0, OPT_CLI,				\
  "print this and exit")						\
X(FN, opt_version, "version", NULL, 0, 0, 0, OPT_CLI,			\
  "print the version and exit")

#endif /* NETSWAPD_OPTIONS_H */
