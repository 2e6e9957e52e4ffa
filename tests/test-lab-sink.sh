#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The flood's target (lab/guest/sink.c), on the host over loopback with a
# few datagrams: without --udp-drain-ms its UDP queue keeps what arrives
# (that is its point); with it the queue is read empty every period, and
# fills and empties again, which flood-reserve's refilled flood rests on.
# Bad arguments are a usage error.
# limit: 60
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

sink=$("$TOP/lab/build-tools")/sink

# udp_queue PORT: bytes in the receive queue of the UDP socket on PORT.
udp_queue() {
	local hex
	hex=$(awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" { split($5, q, ":"); print q[2] }' \
		/proc/net/udp)
	[ -n "$hex" ] && echo $((16#$hex))
}

# send PORT N: N datagrams of 100 bytes to 127.0.0.1:PORT.
send() {
	local i
	for ((i = 0; i < $2; i++)); do
		printf '%0100d' 0 >"/dev/udp/127.0.0.1/$1"
	done
}

# eventually CMD...: until CMD succeeds (5 s); fails with CMD's status.
eventually() {
	local _
	for _ in $(seq 1 50); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# queue_is PORT full|empty: the queue holds something / nothing.
queue_is() {
	case $2:$(udp_queue "$1") in
	full:[1-9]* | empty:0) return 0 ;;
	esac
	return 1
}

# queue_becomes PORT full|empty: until the queue is so (5 s).
queue_becomes() {
	eventually queue_is "$1" "$2" ||
		fail "UDP queue on port $1 is $(udp_queue "$1" || echo absent), wanted $2"
}

# start NAME ARGS...: a sink on fresh ports; sets SINK_UDP to its UDP port.
start() {
	local name=$1 tcp
	shift
	tcp=$(free_port)
	SINK_UDP=$(free_port)
	"$sink" --addr 127.0.0.1 --tcp "$tcp" --udp "$SINK_UDP" "$@" >"$T/$name.out" &
	_pids+=("$!")
	wait_listening 127.0.0.1 "$tcp" || fail "$name: sink did not listen"
	grep -q "^NS-SINK tcp=$tcp udp=$SINK_UDP " "$T/$name.out" ||
		fail "$name: $(cat "$T/$name.out")"
}

start keep
keep_UDP=$SINK_UDP
send "$keep_UDP" 20
queue_becomes "$keep_UDP" full
sleep 1
queue_becomes "$keep_UDP" full	# nobody reads it

# drained: datagrams the sink reports having read, over all its drains.
drained() {
	awk '/^NS-SINK-DRAIN / { sub(/.*datagrams=/, ""); n += $1 } END { print n + 0 }' "$T/drain.out"
}
drained_at_least() { [ "$(drained)" -ge "$1" ]; }

start drain --udp-drain-ms 200
drain_UDP=$SINK_UDP
grep -q ' udp_drain_ms=200$' "$T/drain.out" || fail "drain: $(cat "$T/drain.out")"
for round in 1 2 3; do
	send "$drain_UDP" 20
	eventually drained_at_least $((20 * round)) || true
	assert_eq "$(drained)" $((20 * round)) "datagrams drained after round $round"
	queue_becomes "$drain_UDP" empty
	echo "round $round: sent 20, read all, queue empty"
done
grep -q '^NS-SINK-DRAIN bytes=[0-9]* datagrams=[0-9]*$' "$T/drain.out" ||
	fail "drain lines: $(cat "$T/drain.out")"

for bad in '--udp-drain-ms -1' '--udp-drain-ms' '--addr nowhere' '--bogus 1'; do
	rc=0
	# shellcheck disable=SC2086 # the words are the point
	"$sink" --tcp 1 --udp 2 $bad >/dev/null 2>"$T/bad.err" || rc=$?
	[ "$rc" -ne 0 ] || fail "sink accepted $bad"
	grep -q 'usage: sink' "$T/bad.err" || fail "no usage for $bad: $(cat "$T/bad.err")"
done
echo "sink keeps its queue, drains it when asked, refuses bad arguments"
