#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Large READs and WRITEs (16-28 MiB, and up to the advertised maximum)
# pipelined without waiting for replies, as the upstream NBD integrity
# tests send them (tests/tools/nbd-pipeline.c): every request the spec
# allows succeeds and every read returns what was written, on memory and
# file exports, simple and structured replies, FUA writes and FLUSHes
# mixed in, three clients at once; the default --buffer-memory and one
# so small that the pipelined requests must wait for each other's buffers.
# limit: 240
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"

gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -pthread -I"$TOP" \
	-o "$T/nbd-pipeline" "$TOP/tests/tools/nbd-pipeline.c" ||
	fail "cannot build tests/tools/nbd-pipeline.c"

# run_three PORT ARGS...: three pipelining clients at once, one per export.
run_three() {
	local port=$1 p1 p2 rc=0; shift
	"$T/nbd-pipeline" "$@" -s 1 -F 127.0.0.1 "$port" m >"$T/m.log" 2>&1 & p1=$!
	"$T/nbd-pipeline" "$@" -s 2 -F -S 127.0.0.1 "$port" f >"$T/f.log" 2>&1 & p2=$!
	"$T/nbd-pipeline" "$@" -s 3 -a 512 127.0.0.1 "$port" g >"$T/g.log" 2>&1 || rc=1
	wait "$p1" || rc=1
	wait "$p2" || rc=1
	cat "$T/m.log" "$T/f.log" "$T/g.log"
	[ "$rc" -eq 0 ] || fail "a pipelining client saw an error (above)"
}

exports=(--export m=mem:128M --export "f=file:$T/f.img:128M"
	 --export "g=file:$T/g.img:128M")

# The default buffer memory: a maximum payload of 32 MiB.
serve a "$NETSWAPD" "${exports[@]}" --quiet
run_three "$a_PORT" -n 24
run_three "$a_PORT" -n 12 -m 30 -M 32
assert_serves "$a_PORT" m
rc=0; stop_server "$a_PID" || rc=$?
assert_eq "$rc" 0 "exit status"

# 24M of buffer memory: a 12 MiB maximum; three clients' requests take
# more than the pool holds and wait for each other.
serve b "$NETSWAPD" "${exports[@]}" --buffer-memory 24M --quiet
run_three "$b_PORT" -n 24 -m 8 -M 28
grep -q "maximum payload is 12582912 bytes" "$T/f.log" ||
	fail "the client did not learn the 12 MiB maximum: $(cat "$T/f.log")"
rc=0; stop_server "$b_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "pipeline: all passed"
