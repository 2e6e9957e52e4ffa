#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A client the lab cannot provide is a loud FAIL with the reason, before any
# guest boots -- never a skip, never a pass; a card it cannot emulate is a
# usage error.
# limit: 300
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

rc=0
out=$("$TOP/lab/run" --client no-such-client smoke 2>"$T/lab.err") || rc=$?
assert_eq "$rc" 1 "exit code"
last=$(tail -1 <<<"$out")
[[ $last == "FAIL scenario=smoke client=no-such-client server=netswapd "* ]] ||
	fail "result line: $last"
grep -q "^reason: setup: client 'no-such-client' is not available: its plug-in .*lab/clients/no-such-client.sh does not exist" <<<"$out" ||
	fail "reason: $(grep '^reason' <<<"$out")"
if grep -q 'guest up' "$T/lab.err"; then
	fail "a guest was booted for a client that does not exist"
fi

# A card the lab does not emulate is a usage error, before any guest boots.
rc=0
"$TOP/lab/run" --client nbd --nic no-such-card smoke >"$T/nic.out" 2>"$T/nic.err" || rc=$?
assert_eq "$rc" 2 "exit code for --nic no-such-card"
grep -q -- "--nic must be e1000e or virtio or vmxnet3" "$T/nic.err" ||
	fail "no --nic message: $(cat "$T/nic.err")"
if grep -q 'guest up' "$T/nic.err"; then
	fail "a guest was booted for a card that does not exist"
fi
