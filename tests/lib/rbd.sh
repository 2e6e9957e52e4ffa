# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# For the RBD tests (tests/test-rbd-*.sh): a real single-node Ceph cluster
# per test file (tests/lib/ceph-cluster), images, and netswapd gateways in
# front of them.  Source after functions.sh.

RBD_GATEWAYS=()
RBD_ID=''

# rbd_cluster [--cephx]: start the cluster in $T/ceph; sets CEPH_CONF.
# Gateways end before the cluster at exit (one that outlived it would wait
# for it).  Client watches expire after 10 s here (Ceph's default is 30),
# so a takeover test waits less.  With --cephx the gateways run as
# client.netswap with the caps docs/ceph.md gives them.
rbd_cluster() {
	local out
	"$TOP/tests/lib/apt-ensure" ceph-mon ceph-osd ceph-mgr ceph-common ||
		fail "cannot install Ceph"
	out=$(CEPH_WATCH_TIMEOUT=10 "$TOP/tests/lib/ceph-cluster" start "$T/ceph" --owner $$ "$@") ||
		fail "cannot start a Ceph cluster (logs in $T/ceph/log)"
	CEPH_CONF=${out#CEPH_CONF=}
	on_cleanup rbd_teardown
	if [ "${1:-}" = --cephx ]; then
		timeout 60 ceph -c "$CEPH_CONF" auth get-or-create client.netswap \
			mon 'profile rbd' osd 'profile rbd pool=rbd' mgr 'profile rbd pool=rbd' \
			>>"$T/ceph/keyring" || fail "cannot create client.netswap"
		RBD_ID=netswap
	fi
}

# shellcheck disable=SC2317 # called by cleanup()
rbd_teardown() {
	local p
	for p in "${RBD_GATEWAYS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	"$TOP/tests/lib/ceph-cluster" stop "$T/ceph"
}

rbd_cmd() {
	timeout 60 rbd -c "$CEPH_CONF" "$@"
}

# rbd_image NAME SIZE: a new image in pool rbd (default features, with
# exclusive-lock).
rbd_image() {
	rbd_cmd create "rbd/$1" --size "$2" || fail "cannot create image $1"
}

# rbd_gateway NAME ARGS...: netswapd with ARGS (its --export options) on a
# random port, as start_netswapd; NAME_PID, NAME_PORT, NAME_ERR.
rbd_gateway() {
	local name=$1 pid
	shift
	start_netswapd "$name" "$@"
	pid=${name}_PID
	RBD_GATEWAYS+=("${!pid}")
}

# rbd_spec EXPORT IMAGE: the --export SPEC for an image of the cluster.
rbd_spec() {
	echo "$1=rbd:rbd/$2,conf=$CEPH_CONF${RBD_ID:+,id=$RBD_ID}"
}

# wait_log FILE REGEX SECONDS: until a line of FILE matches.
wait_log() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -lt $end ]; do
		grep -qE "$2" "$1" && return 0
		sleep 0.2
	done
	fail "no line /$2/ in $1 after $3 s: $(tail -5 "$1")"
}

# rbd_locker IMAGE: the address of the client holding the image's lock.
rbd_locker() {
	rbd_cmd lock ls "rbd/$1" --format json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])'
}
