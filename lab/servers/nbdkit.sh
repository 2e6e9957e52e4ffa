# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # the variables are read by lab/run
# Server plug-in: nbdkit with its memory plugin (sparse RAM) or file plugin.
# Interface: docs/lab.md ("Server plug-ins").

SERVER_EXPORT=swap	# nbdkit serves the same disk under any name

server_prepare() {
	"$LAB_TOP/tests/lib/apt-ensure" nbdkit ||
		{ echo "cannot install nbdkit" >&2; return 1; }
}

server_start() { # RUNDIR ADDR PORT BACKING SIZE_MIB
	local dir=$1 addr=$2 port=$3 backing=$4 mib=$5 plugin
	case $backing in
	mem) plugin=(memory "${mib}M") ;;
	file:*)
		[ -e "${backing#file:}" ] || truncate -s "${mib}M" "${backing#file:}"
		plugin=(file "${backing#file:}") ;;
	*) echo "nbdkit: unknown backing $backing" >&2; return 1 ;;
	esac
	lab_spawn_server "$dir/server" "$port" \
		nbdkit -f -i "$addr" -p @PORT "${plugin[@]}"
}
