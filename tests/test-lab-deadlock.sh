#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The deadlock the memalloc sockets exist for, and its cure, in two short
# guests that differ only in netswap.ko's test switch (docs/lab.md,
# "deadlock"): the smoke scenario in a 192 MiB guest, both with zerocopy=0
# -- TCP copies each write's pages into memory it allocates, as the kernel's
# nbd does; that allocation is what deadlocks (netswap's default sends the
# pages themselves and needs the reserve for far less: docs/lab.md).
#  - memalloc=0: the guest stops making progress (FAIL stall), and the
#    kernel's own dumps show why: the swap writers wait for bios while the
#    transmit worker that would send them is itself in direct reclaim.
#  - memalloc=1 (the default): PASS, every page verified.
# And a third guest as shipped (pages sent by reference, memalloc on):
# PASS.  By reference with memalloc=0 is no cure: sending still allocates
# skb heads, and CI caught that guest stalled with ns_tx_work in reclaim
# under __alloc_skb (docs/lab.md, "deadlock").
# The full comparison, five runs each and the stock client beside them, is
# `make lab` (lab/run-all: deadlock and its variants).
# limit: 2400
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

base=(--client netswap --server netswapd --mem 192 --stall 45 --grace 20)
args=("${base[@]}" --modparam zerocopy=0)

rc=0
out=$("$TOP/lab/run" "${args[@]}" --modparam memalloc=0 --save "$T/off" smoke \
	2>"$T/off.err") || rc=$?
grep -E '^(reason|PASS|FAIL)' <<<"$out"
last=$(tail -1 <<<"$out")
assert_eq "$rc" 1 "lab/run exit code with memalloc=0"
grep -q '^info: .*modparams=\[netswap.zerocopy=N netswap.memalloc=N\]' <<<"$out" ||
	fail "the guest's module did not report zerocopy=N memalloc=N"
grep -q '^reason: stall: no progress' <<<"$out" ||
	fail "memalloc=0 must end in a stall: $(grep '^reason' <<<"$out")"
[ "$(lab_field pages_verified "$last")" -lt "$(lab_field pswpout "$last")" ] ||
	[ "$(lab_field pages_verified "$last")" = 0 ] ||
	fail "memalloc=0 got far: $last"
# The dumps the host asked for: free memory against min, and the swap
# writers blocked on bios; the transmit worker in reclaim (sysrq l or t).
grep -q '^Node 0 DMA32 free:.* min:' <<<"$out" || fail "no sysrq m in the report"
grep -q '__swap_writepage' <<<"$out" || fail "no swap writer among the blocked tasks"
tr -d '\r' <"$T/off/console.log" | sed 's/^\[ *[0-9.]*\] //' |
	awk '/^Workqueue: .*ns_tx_work/ { tx = 1 } /<\/TASK>|^task:/ { tx = 0 }
		tx && /try_to_free_pages|__alloc_pages_slowpath|sk_stream_wait_memory/ { found = 1 }
		END { exit !found }' ||
	fail "the dumps do not show ns_tx_work waiting for memory"
assert_lab_cleaned_up "$T/off.err"

# must_pass NAME MODPARAMS LAB_RUN_ARGS...: a run that must PASS with every
# page verified and no error, its module carrying exactly MODPARAMS.
must_pass() {
	local name=$1 params=$2 out last
	shift 2
	out=$("$TOP/lab/run" "$@" --save "$T/$name" smoke 2>"$T/$name.err") || {
		tail -20 "$T/$name.err" >&2
		tail -70 <<<"$out" >&2
		fail "$name did not pass"
	}
	last=$(tail -1 <<<"$out")
	echo "$last"
	grep -qF "modparams=[$params]" <(grep '^info: ' <<<"$out") ||
		fail "$name: the module must carry exactly [$params]"
	assert_eq "$(lab_field pages_verified "$last")" 98304 "pages verified, $name"
	assert_eq "$(lab_field errors "$last")" 0 "errors, $name"
	assert_lab_cleaned_up "$T/$name.err"
}

# The cure: differs from the run above only in memalloc.
must_pass on 'netswap.zerocopy=N' "${args[@]}"
# As shipped: both switches at their defaults, so the module reports none.
must_pass shipped '' "${base[@]}"
