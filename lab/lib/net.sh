# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# The guest's network for lab/run: QEMU user networking (default; the guest
# reaches the host's loopback as 10.0.2.2) or a tap in a network namespace
# this run creates and removes by name (--net tap, root).  Also the link
# switch (QEMU monitor set_link) and the flood of the flood scenario.

LAB_NETNS=''
LAB_TAP=''
LAB_HOSTFWD=()
FLOOD_PID=''

# lab_net_setup: sets SERVER_ADDR (where servers listen), GUEST_IP,
# GUEST_GW, GUEST_SERVER (where the guest finds them), LAB_NS_EXEC.
lab_net_setup() {
	if [ "$LAB_NET" = user ]; then
		SERVER_ADDR=127.0.0.1
		GUEST_IP=10.0.2.15 GUEST_GW=10.0.2.2 GUEST_SERVER=10.0.2.2
		if [ "$SC_SINK" = 1 ]; then
			FLOOD_TCP=127.0.0.1:$(lab_free_port)
			FLOOD_UDP=127.0.0.1:$(lab_free_udp_port)
			LAB_HOSTFWD=("tcp:$FLOOD_TCP-:5001" "udp:$FLOOD_UDP-:5002")
		fi
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || lab_fail_setup "--net tap needs root"
	LAB_NETNS=netswap-lab-$$
	LAB_TAP=tap0
	ip netns add "$LAB_NETNS" ||
		lab_fail_setup "cannot create network namespace $LAB_NETNS"
	LAB_NS_EXEC=(ip netns exec "$LAB_NETNS")
	ip -n "$LAB_NETNS" link set lo up
	if ! { ip -n "$LAB_NETNS" tuntap add dev "$LAB_TAP" mode tap &&
		ip -n "$LAB_NETNS" addr add 10.0.3.1/24 dev "$LAB_TAP" &&
		ip -n "$LAB_NETNS" link set "$LAB_TAP" up; }; then
		lab_fail_setup "cannot create $LAB_TAP in $LAB_NETNS"
	fi
	SERVER_ADDR=10.0.3.1
	GUEST_IP=10.0.3.2 GUEST_GW=10.0.3.1 GUEST_SERVER=10.0.3.1
	FLOOD_TCP=10.0.3.2:5001
	FLOOD_UDP=10.0.3.2:5002
}

lab_net_teardown() {
	[ -n "$LAB_NETNS" ] || return 0
	ip netns del "$LAB_NETNS" 2>/dev/null || true
	LAB_NETNS=''
}

lab_free_udp_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Hlun "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	lab_die "no free UDP port found"
}

# lab_link on|off: the guest NIC's link, through the QEMU monitor.
lab_link() {
	"$LAB_DIR/monitor" "$RUN/monitor.sock" "set_link n0 $1" >>"$RUN/monitor.log" 2>&1 ||
		lab_log "warning: set_link n0 $1 failed"
}

# The scenario's SC_FLOOD_ARGS (e.g. --pps, --size) shape the flood.
lab_flood_start() {
	"${LAB_NS_EXEC[@]}" "$BIN/flood" --tcp "$FLOOD_TCP" --udp "$FLOOD_UDP" \
		"${SC_FLOOD_ARGS[@]}" >"$RUN/flood.out" 2>&1 &
	FLOOD_PID=$!
}

# lab_flood_stop: stop it and log what it sent.
lab_flood_stop() {
	[ -n "$FLOOD_PID" ] || return 0
	lab_stop_pid "$FLOOD_PID" 3
	FLOOD_PID=''
	lab_log "$(tail -1 "$RUN/flood.out" 2>/dev/null)"
}
