# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# The host-side peers of a lab run: the server under test (a plug-in from
# lab/servers/) and, optionally, a proxy between guest and server (--proxy,
# e.g. the corrupting proxy of tests/).  All are ended by PID.

SERVER_PID=''
PROXY_PID=''

# lab_server_start: (re)start the server; a restart reuses SERVER_PORT and
# the backing file.
lab_server_start() {
	server_start "$RUN" "$SERVER_ADDR" "$SERVER_PORT" "$LAB_BACKING" \
		"$LAB_EXPORT_MIB" 2>>"$RUN/server.err"
}

lab_server_kill() {
	[ -n "$SERVER_PID" ] || return 0
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=''
}

# lab_proxy_start: PROG --listen ADDR:PORT --upstream ADDR:PORT; it must
# accept on the listen address and forward to the server.
lab_proxy_start() {
	lab_spawn "$RUN/proxy" 0 "$LAB_PROXY" --listen "$SERVER_ADDR:@PORT" \
		--upstream "$SERVER_ADDR:$SERVER_PORT" || return 1
	PROXY_PID=$SPAWN_PID
	PROXY_PORT=$SPAWN_PORT
}
