#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Dead peers are dropped: clients in a network namespace of their own, on
# a veth link to the server's namespace, vanish when the link is cut (no
# FIN, no RST).  An idle client is found dead by TCP keepalive; one whose
# reply is stuck unacknowledged by TCP_USER_TIMEOUT.  Both connections are
# closed and their reserves return to the pool (SIGUSR1 stats), and a new
# client is served.  Both namespaces are created here and deleted by name.
# limit: 90
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need ip

# Documentation addresses (TEST-NET-1), on a link between two namespaces
# that exist only for this test: nothing is routed anywhere else.
ns_srv=netswap-ka-srv-$$
ns_cli=netswap-ka-cli-$$
veth_s=nska$$s
veth_c=nska$$c
srv_ip=192.0.2.1
cli_ip=192.0.2.2

remove_namespaces() {
	ip netns del "$ns_cli" 2>/dev/null || true
	ip netns del "$ns_srv" 2>/dev/null || true
}
trap 'cleanup; remove_namespaces' EXIT

ip netns add "$ns_srv"
ip netns add "$ns_cli"
ip link add "$veth_s" type veth peer name "$veth_c"
ip link set "$veth_s" netns "$ns_srv"
ip link set "$veth_c" netns "$ns_cli"
ip -n "$ns_srv" addr add "$srv_ip/24" dev "$veth_s"
ip -n "$ns_cli" addr add "$cli_ip/24" dev "$veth_c"
for ns in "$ns_srv" "$ns_cli"; do ip -n "$ns" link set lo up; done
ip -n "$ns_srv" link set "$veth_s" up
ip -n "$ns_cli" link set "$veth_c" up

# stat_field NAME: a field of a fresh SIGUSR1 stats line.
stat_field() {
	local before
	before=$(grep -c 'stats:' "$srv_ERR" || true)
	kill -USR1 "$srv_PID"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'stats:' "$srv_ERR" || true)" -gt "$before" ] && break
		sleep 0.05
	done
	grep 'stats:' "$srv_ERR" | tail -1 | sed -n "s/.* $1=\([0-9]*\).*/\1/p"
}

start_listening srv ip netns exec "$ns_srv" "$NETSWAPD" \
	--listen "$srv_ip:0" --export "f=file:$T/disk.img:64M" \
	--tcp-keepalive 2 --tcp-keepalive-interval 1 --tcp-keepalive-count 2 \
	--tcp-user-timeout 3
port=$srv_PORT
base_reserved=$(stat_field reserved)

# Client "idle" negotiates, then says nothing.  Client "stuck" asks for
# 16 MiB and reads none of it, so the reply fills its receive window.
for who in idle stuck; do
	ip netns exec "$ns_cli" /usr/bin/python3 "$TOOLS/server-rawnbd.py" \
		"$port" "$who" "$srv_ip" >"$T/$who.out" 2>&1 <<'EOF' &
c = go(host=ARGS[1], name="f")
if ARGS[0] == "stuck":
    c.send(CMD_READ, 0, 16 << 20)
print("ready", flush=True)
time.sleep(60)
EOF
	_pids+=($!)
done
ready() { cat "$T/idle.out" "$T/stuck.out" | grep -c ready || true; }
for _ in $(seq 1 100); do
	[ "$(ready)" -eq 2 ] && break
	sleep 0.1
done
[ "$(ready)" -eq 2 ] ||
	fail "clients did not connect: $(cat "$T/idle.out" "$T/stuck.out")"
sleep 1		# the stuck reply fills the client's window
assert_eq "$(stat_field connections)" 2 "connections before the cut"
held=$(stat_field reserved)
[ "$held" -gt "$base_reserved" ] ||
	fail "clients hold no reserve ($held, base $base_reserved)"

# The clients vanish: their link goes down, nothing tells the server.
ip -n "$ns_cli" link set "$veth_c" down
cut=$(date +%s)
for _ in $(seq 1 300); do
	[ "$(stat_field connections)" = 0 ] && break
	sleep 0.1
done
took=$(($(date +%s) - cut))
assert_eq "$(stat_field connections)" 0 "connections ${took}s after the cut"
echo "# both dead clients dropped ${took}s after the link was cut"
[ "$(grep -c "closing: Connection timed out" "$srv_ERR")" -eq 2 ] ||
	fail "expected two timed-out connections: $(grep closing "$srv_ERR")"
assert_eq "$(stat_field reserved)" "$base_reserved" "reserve after the drop"
assert_eq "$(stat_field owners)" 0 "arena owners after the drop"

# The server goes on serving: a client on its side of the link.
ip netns exec "$ns_srv" /usr/bin/python3 "$TOOLS/server-rawnbd.py" \
	"$port" "$srv_ip" <<'EOF' || fail "no longer serves"
c = go(host=ARGS[0], name="f")
c.pwrite(b"alive" * 100, 0)
check(c.pread(500, 0) == b"alive" * 100, "read back")
c.disc()
EOF
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "keepalive: all passed"
