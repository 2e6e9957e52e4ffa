# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# The second server of a mirrored run (lab/run --mirror, or a scenario that
# sets SC_MIRROR=1): the same server plug-in, its own port, its own backing
# file.  The scenario's outage hits the first server only (SERVER_PID), so
# the mirror is what keeps the guest alive; both are ended by PID.

MIRROR_PID=''
MIRROR_PORT=0

# lab_mirror_start: (re)start the mirror on MIRROR_PORT.  The plug-in sets
# SERVER_PID/SERVER_PORT; the first server's are kept aside meanwhile.
lab_mirror_start() {
	local pid=$SERVER_PID port=$SERVER_PORT backing=$LAB_BACKING rc=0
	[ "$backing" = "file:$RUN/swap.img" ] && backing=file:$RUN/mirror.img
	mkdir -p "$RUN/mirror"
	server_start "$RUN/mirror" "$SERVER_ADDR" "$MIRROR_PORT" "$backing" \
		"$LAB_EXPORT_MIB" 2>>"$RUN/mirror.err" || rc=$?
	MIRROR_PID=$SERVER_PID MIRROR_PORT=$SERVER_PORT
	SERVER_PID=$pid SERVER_PORT=$port
	return $rc
}

lab_mirror_kill() {
	[ -n "$MIRROR_PID" ] || return 0
	kill -KILL "$MIRROR_PID" 2>/dev/null || true
	wait "$MIRROR_PID" 2>/dev/null || true
	MIRROR_PID=''
}
