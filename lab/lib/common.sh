# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # variables are used by the scripts sourcing this
# Shared by the lab's scripts: paths, logging, free ports, waiting for a
# listener.  Source it from bash with set -euo pipefail.

LAB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_DIR=$LAB_TOP/lab
# Outside the clone: a fresh clone (CI) reuses kernels and images.
LAB_CACHE=${LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netswap/lab}
LAB_QEMU_LOCK=/tmp/netswap-qemu.lock
# Commands that must run in the lab's network namespace (--net tap) are
# prefixed with this array; empty for user networking.
LAB_NS_EXEC=()
LAB_T0=${LAB_T0:-$(date +%s)}
# Every lab guest's kernel command line starts with this (then loglevel and
# the caller's own).  nosoftlockup: on a loaded 2-core host the TCG vCPU can
# go without a host CPU for tens of seconds, which the soft-lockup watchdog
# reports as a kernel BUG -- a FAIL for the lab and for kmod-guest -- though
# no kernel code is at fault; hung tasks are still reported, and a real
# lockup still ends the run by its watchdog or time limit.
LAB_GUEST_CMDLINE="console=ttyS0 panic=-1 edd=off mitigations=off nosoftlockup"

lab_elapsed() {
	echo $(($(date +%s) - LAB_T0))
}

lab_log() {
	printf '[lab %4ss] %s\n' "$(lab_elapsed)" "$*" >&2
}

lab_die() {
	lab_log "error: $*"
	exit 2
}

# The packages every lab run needs on the host (Debian names).
lab_ensure_host() {
	"$LAB_TOP/tests/lib/apt-ensure" qemu-system-x86 busybox-static cpio \
		socat iproute2 util-linux gcc libc6-dev binutils xz-utils file ||
		lab_die "cannot install the lab's host packages"
}

# lab_port_busy PORT: is something listening on TCP PORT (in our netns)?
lab_port_busy() {
	[ -n "$("${LAB_NS_EXEC[@]}" ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# lab_free_port: a TCP port nobody listens on.  Racy by nature; callers
# that bind it retry when the bind fails.
lab_free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		lab_port_busy "$p" || { echo "$p"; return 0; }
	done
	lab_die "no free port found"
}

# lab_wait_listen PID PORT [SECONDS]: wait until PORT listens; fail if PID
# exits first or the time runs out.
lab_wait_listen() {
	local pid=$1 port=$2 limit=${3:-20} i
	for i in $(seq 1 $((limit * 10))); do
		lab_port_busy "$port" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# lab_stop_pid PID [GRACE]: SIGTERM, then SIGKILL after GRACE seconds.
# Only ever called with PIDs this lab started.
lab_stop_pid() {
	local pid=$1 grace=${2:-5}
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((grace * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# lab_spawn LOGBASE PORT CMD...: start a listener in the background (in our
# netns, if any) and wait until PORT listens.  Words of CMD containing @PORT
# get the port substituted; PORT 0 picks a free one and retries a few times
# if another process took it first.  If SPAWN_PRESTART names a function, it
# is called with the port before each launch (to write a config file).
# Sets SPAWN_PID and SPAWN_PORT.
lab_spawn() {
	local logbase=$1 want=$2 port a args
	shift 2
	for _ in 1 2 3 4 5; do
		port=$want
		[ "$port" = 0 ] && port=$(lab_free_port)
		args=()
		for a in "$@"; do
			args+=("${a//@PORT/$port}")
		done
		if [ -n "${SPAWN_PRESTART:-}" ]; then
			"$SPAWN_PRESTART" "$port" || return 1
		fi
		"${LAB_NS_EXEC[@]}" "${args[@]}" >>"$logbase.out" 2>>"$logbase.err" &
		SPAWN_PID=$!
		SPAWN_PORT=$port
		lab_wait_listen "$SPAWN_PID" "$port" 20 && return 0
		lab_stop_pid "$SPAWN_PID" 2
		# A fixed port (a restart) may still be held: wait, retry.
		[ "$want" = 0 ] || sleep 1
	done
	return 1
}

# lab_spawn_server LOGBASE PORT CMD...: lab_spawn for a server plug-in;
# sets SERVER_PID and SERVER_PORT.
lab_spawn_server() {
	lab_spawn "$@" || return 1
	SERVER_PID=$SPAWN_PID
	SERVER_PORT=$SPAWN_PORT
}
