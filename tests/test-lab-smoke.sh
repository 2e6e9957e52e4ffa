#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab's smoke scenario with the stock client: a QEMU guest swaps a
# 2x-RAM memhog to kernel nbd.ko + nbd-client against netswapd over QEMU
# user networking, and every page verifies.  The run itself takes about two
# minutes; the limit leaves room for waiting on the machine's QEMU lock.
# limit: 1800
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

out=$("$TOP/lab/run" --client nbd --server netswapd smoke 2>"$T/lab.err") || {
	tail -40 "$T/lab.err" >&2
	echo "$out" | tail -70 >&2
	fail "lab/run smoke did not pass"
}
echo "$out" | tail -2
last=$(echo "$out" | tail -1)
field() { lab_field "$1" "$last"; }

[[ $last == "PASS scenario=smoke client=nbd server=netswapd "* ]] ||
	fail "unexpected result line: $last"
# 1024 MiB of 4 KiB pages, each verified once.
assert_eq "$(field pages_verified)" 262144 "pages verified"
assert_eq "$(field errors)" 0 "errors"
# At 2x RAM most pages must have gone to the network and come back.
[ "$(field pswpout)" -gt 100000 ] || fail "too little swap-out: $(field pswpout)"
[ "$(field pswpin)" -gt 100000 ] || fail "too little swap-in: $(field pswpin)"
# Everything the run started has ended.
assert_lab_cleaned_up "$T/lab.err"
