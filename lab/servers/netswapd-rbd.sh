# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# Server plug-in: two netswapd gateways (release build) in front of one Ceph
# RBD image, on a single-node cluster started for the run
# (tests/lib/ceph-cluster, in the run directory, ended with the run).
# Gateway A takes the image's exclusive lock and serves; gateway B stands
# by and takes the image over once A is dead (docs/ceph.md).  The guest is
# given both addresses (SERVER_MORE_PORTS), A first.  BACKING is ignored:
# the pages live in Ceph.  Interface: docs/lab.md ("Server plug-ins").

SERVER_EXPORT=swap
RBD_IMAGE=lab-swap
RBD_STANDBY_PID=''
SERVER_MORE_PORTS=''

server_prepare() {
	local out
	"$LAB_TOP/tests/lib/apt-ensure" ceph-mon ceph-osd ceph-mgr ceph-common \
		librbd-dev >&2 || { echo "cannot install Ceph" >&2; return 1; }
	LAB_NETSWAPD=${LAB_NETSWAPD:-$LAB_TOP/server/netswapd}
	make -C "$LAB_TOP" -s server/netswapd >&2 ||
		{ echo "cannot build netswapd" >&2; return 1; }
	# Built with rbd: exports, librbd linked or loaded at run time.
	grep -qa rbd_aio_write_zeroes "$LAB_NETSWAPD" ||
		{ echo "$LAB_NETSWAPD was built without librbd" >&2; return 1; }
	# The cluster outlives no run: its watcher ends it with lab/run.
	out=$(CEPH_WATCH_TIMEOUT=${LAB_CEPH_WATCH_TIMEOUT:-30} \
		"$LAB_TOP/tests/lib/ceph-cluster" start "$RUN/ceph" --owner $$) ||
		{ echo "cannot start the Ceph cluster" >&2; return 1; }
	CEPH_CONF=${out#CEPH_CONF=}
}

server_start() { # RUNDIR ADDR PORT BACKING SIZE_MIB
	local dir=$1 addr=$2 port=$3 mib=$5 spec
	rbd -c "$CEPH_CONF" info "rbd/$RBD_IMAGE" >/dev/null 2>&1 ||
		rbd -c "$CEPH_CONF" create "rbd/$RBD_IMAGE" --size "${mib}M" ||
		{ echo "cannot create rbd/$RBD_IMAGE" >&2; return 1; }
	spec="$SERVER_EXPORT=rbd:rbd/$RBD_IMAGE,conf=$CEPH_CONF"
	# A listens once it holds the lock; B, started after it, stands by.
	lab_spawn_server "$dir/server" "$port" \
		"$LAB_NETSWAPD" --listen "$addr:@PORT" --export "$spec" || return 1
	lab_spawn "$dir/standby" 0 \
		"$LAB_NETSWAPD" --listen "$addr:@PORT" --export "$spec" || return 1
	RBD_STANDBY_PID=$SPAWN_PID
	SERVER_MORE_PORTS=$SPAWN_PORT
	lab_log "gateways: A pid $SERVER_PID port $SERVER_PORT (serving), B pid $RBD_STANDBY_PID port $SPAWN_PORT (standing by)"
}

# Has the standby taken the image over?
server_standby_serving() {
	grep -q "holds the exclusive lock: serving" "$RUN/standby.err" 2>/dev/null
}

server_cleanup() {
	[ -n "$RBD_STANDBY_PID" ] && lab_stop_pid "$RBD_STANDBY_PID" 5
	[ -d "$RUN/ceph" ] && "$LAB_TOP/tests/lib/ceph-cluster" stop "$RUN/ceph"
	return 0
}
