#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# No wrong page reaches a process through netswap.ko.  The same proxy that
# makes the stock client hand memhog a corrupted page
# (test-lab-detects-corruption.sh) sits between netswap.ko and netswapd and
# returns one memhog page wrong in every reply that carries it.  The kernel
# must catch it (integrity_errors), read it again, and fail the swap-in
# rather than hand it over: the run ends FAIL by SIGBUS or I/O error, never
# by a page mismatch.
# limit: 1800
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

lab_proxy --magic 4e53504147453031

rc=0
# The grace lets the guest print its final counters after memhog ends.
out=$("$TOP/lab/run" --client netswap --server netswapd --mem 256 --grace 20 \
	--proxy "$T/proxy" --save "$T/logs" smoke 2>"$T/lab.err") || rc=$?
echo "$out" | grep -E '^(reason|PASS|FAIL)'
last=$(echo "$out" | tail -1)

grep -q '^corrupted READ offset=' "$T/logs/proxy.err" ||
	{ cat "$T/logs/proxy.err" >&2; fail "the proxy never corrupted a reply"; }
assert_eq "$rc" 1 "lab/run exit code (a page the server always returns wrong cannot be read)"
[[ $last == "FAIL scenario=smoke client=netswap server=netswapd "* ]] ||
	fail "unexpected result line: $last"
grep '^reason: ' <<<"$out" | grep -q 'page mismatch' &&
	fail "a wrong page reached memhog: $(grep '^reason' <<<"$out")"
grep '^reason: ' <<<"$out" | grep -Eq 'SIGBUS|I/O error' ||
	fail "the failure is not the read being refused: $(grep '^reason' <<<"$out")"
# The kernel's own lines are the proof (the result line's counters are the
# guest's last report, which a quick failure may precede).
grep -q 'integrity error: .* do not match what was written' "$T/logs/console.log" ||
	fail "no kernel log line names the integrity error"
n=$(grep -c 'integrity error: ' "$T/logs/console.log")
[ "$n" -ge 2 ] || fail "$n integrity error line(s): the damage was not read again"
