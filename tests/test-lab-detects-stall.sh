#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab's watchdog: a peer that stops answering mid-run (the proxy stops
# forwarding after 64 MiB of swap writes, connections left open) must end
# in FAIL "stall", long before the stock client's own timeout, with QEMU
# and every peer gone afterwards.  The client's timeout is 300 s here, not
# the lab's 60: its clock starts at the first unanswered request (guest
# time, which under TCG can run ahead of the host's), the watchdog's 25 s
# at the last progress seen; at 60 s the two raced (1 run in 5).
# limit: 1800
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

lab_proxy --blackhole-after $((64 << 20))

rc=0
out=$(LAB_NBD_TIMEOUT=300 "$TOP/lab/run" --client nbd --server netswapd --mem 256 --stall 25 \
	--proxy "$T/proxy" --save "$T/logs" smoke 2>"$T/lab.err") || rc=$?
echo "$out" | grep -E '^(reason|PASS|FAIL)'
last=$(tail -1 <<<"$out")

grep -q '^blackholed after' "$T/logs/proxy.err" ||
	fail "the proxy never stopped forwarding"
assert_eq "$rc" 1 "lab/run exit code"
[[ $last == "FAIL scenario=smoke client=nbd server=netswapd "* ]] ||
	fail "unexpected result line: $last"
grep -q '^reason: .*stall: no progress for 2[5-9] s (phase run' <<<"$out" ||
	fail "reason does not name the stall: $(grep '^reason' <<<"$out")"
if grep -q 'client declared the connection dead' <<<"$out"; then
	fail "the watchdog should have fired before the client's timeout"
fi
assert_lab_cleaned_up "$T/lab.err"
