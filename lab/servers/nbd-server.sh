# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # the variables are read by lab/run
# Server plug-in: Debian's nbd-server, in the foreground (-d, which also
# serves connections in-process instead of forking a child per client, so
# the PID the lab holds is the whole server).  It only exports files: the
# "mem" backing is a sparse file in the run directory.
# Interface: docs/lab.md ("Server plug-ins").

SERVER_EXPORT=swap

server_prepare() {
	"$LAB_TOP/tests/lib/apt-ensure" nbd-server ||
		{ echo "cannot install nbd-server" >&2; return 1; }
}

server_start() { # RUNDIR ADDR PORT BACKING SIZE_MIB
	local dir=$1 addr=$2 port=$3 backing=$4 mib=$5
	case $backing in
	mem) NBD_SERVER_FILE=$dir/nbd-server.img ;;
	file:*) NBD_SERVER_FILE=${backing#file:} ;;
	*) echo "nbd-server: unknown backing $backing" >&2; return 1 ;;
	esac
	[ -e "$NBD_SERVER_FILE" ] || truncate -s "${mib}M" "$NBD_SERVER_FILE"
	NBD_SERVER_CONF=$dir/nbd-server.conf
	NBD_SERVER_ADDR=$addr
	SPAWN_PRESTART=nbd_server_config lab_spawn_server "$dir/server" \
		"$port" nbd-server -d -C "$NBD_SERVER_CONF"
}

# Called by lab_spawn once the port is chosen.
nbd_server_config() { # PORT
	cat >"$NBD_SERVER_CONF" <<CONF
[generic]
	listenaddr = $NBD_SERVER_ADDR
	port = $1
[$SERVER_EXPORT]
	exportname = $NBD_SERVER_FILE
CONF
}
