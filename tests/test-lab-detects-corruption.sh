#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab must notice a page that comes back wrong: a proxy between guest
# and server inverts one byte per page in one READ reply
# (tests/tools/nbd-corrupt-proxy.c), and the smoke run must end FAIL with
# "page mismatch".  Smaller guest and a short grace: the verdict is decided
# at the first bad page.
# limit: 1800
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

# Aim at a memhog page (its magic, lab/guest/stamp.h), not at whatever
# else the guest swaps in.
lab_proxy --magic 4e53504147453031

rc=0
out=$("$TOP/lab/run" --client nbd --server netswapd --mem 256 --grace 5 \
	--proxy "$T/proxy" --save "$T/logs" smoke 2>"$T/lab.err") || rc=$?
echo "$out" | grep -E '^(reason|PASS|FAIL)'
last=$(echo "$out" | tail -1)

grep -q '^corrupted READ offset=' "$T/logs/proxy.err" ||
	{ cat "$T/logs/proxy.err" >&2; fail "the proxy never corrupted a reply"; }
assert_eq "$rc" 1 "lab/run exit code"
[[ $last == "FAIL scenario=smoke client=nbd server=netswapd "* ]] ||
	fail "unexpected result line: $last"
grep -q '^reason: .*page mismatch at proc=0 pid=[0-9]* page=[0-9]* pass=1 kind=corrupt' <<<"$out" ||
	fail "reason does not name a page mismatch: $(grep '^reason' <<<"$out")"
errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$last")
[ "$errors" -ge 1 ] || fail "errors=$errors, expected at least one"
