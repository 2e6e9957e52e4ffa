# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # the variables are read by lab/run
# Server plug-in: netswapd, this project's server (release build).
# Interface: docs/lab.md ("Server plug-ins").

SERVER_EXPORT=swap

server_prepare() {
	LAB_NETSWAPD=${LAB_NETSWAPD:-$LAB_TOP/server/netswapd}
	if [ ! -x "$LAB_NETSWAPD" ]; then
		make -C "$LAB_TOP" -s all >&2 ||
			{ echo "cannot build netswapd" >&2; return 1; }
	fi
}

server_start() { # RUNDIR ADDR PORT BACKING SIZE_MIB
	local dir=$1 addr=$2 port=$3 backing=$4 mib=$5 spec
	case $backing in
	mem) spec="$SERVER_EXPORT=mem:${mib}M" ;;
	file:*) spec="$SERVER_EXPORT=file:${backing#file:}:${mib}M" ;;
	*) echo "netswapd: unknown backing $backing" >&2; return 1 ;;
	esac
	lab_spawn_server "$dir/server" "$port" \
		"$LAB_NETSWAPD" --listen "$addr:@PORT" --export "$spec"
}
