#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# memhog's page check, on the host with a few MiB (no memory pressure): a
# clean run verifies every page; a page zeroed, with one flipped bit, holding
# another page's stamp or an older pass's stamp is each caught, classified,
# and turns the exit code to 1.
# limit: 120
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

bin=$("$TOP/lab/build-tools")
hog=$bin/memhog

out=$("$hog" --procs 2 --mib 8 --passes 3 --report 1) ||
	fail "clean memhog run failed: $out"
grep -q '^NS-MEMHOG-END rc=0 verified=4096 expected=4096 mismatches=0 ' <<<"$out" ||
	fail "clean run: $(tail -1 <<<"$out")"

for kind in zero flip foreign stale; do
	rc=0
	out=$("$hog" --procs 2 --mib 8 --passes 3 --report 1 --inject "$kind") || rc=$?
	assert_eq "$rc" 1 "exit code with --inject $kind"
	line=$(grep '^NS-MISMATCH ' <<<"$out") || fail "$kind: no NS-MISMATCH line"
	assert_eq "$(wc -l <<<"$line")" 1 "$kind: mismatch lines"
	want=$kind
	[ "$kind" = flip ] && want=corrupt
	grep -q "^NS-MISMATCH proc=0 pid=[0-9]* page=1 pass=2 kind=$want " <<<"$line" ||
		fail "$kind: $line"
	grep -q '^NS-MEMHOG-END rc=1 verified=4095 expected=4096 mismatches=1 ' <<<"$out" ||
		fail "$kind: $(tail -1 <<<"$out")"
done
# A page holding its neighbour's content names the neighbour.
out=$("$hog" --procs 1 --mib 4 --passes 2 --inject foreign) || true
grep -q 'kind=foreign found_pid=[0-9]* found_page=2 found_pass=1 ' <<<"$out" ||
	fail "foreign page not traced to page 2: $out"
