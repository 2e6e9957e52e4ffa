#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswap.ko in a QEMU guest: attach to netswapd with the CLI, swap on it,
# one memhog at twice the guest's RAM; every page must verify.
# limit: 1500
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"

out=$("$TOP/lab/run" --client netswap --save "$T/run" smoke) ||
	{ echo "$out"; fail "lab smoke with netswap did not pass"; }
echo "$out"
last=$(tail -1 <<<"$out")
[[ $last == PASS* ]] || fail "no PASS line"
[[ $last =~ pages_verified=([1-9][0-9]*) ]] || fail "no page was verified"
grep -q 'NS-NETSWAP reconnects=0 .*io_errors=0' "$T/run/console.log" ||
	fail "the device reported I/O errors or no counters"
