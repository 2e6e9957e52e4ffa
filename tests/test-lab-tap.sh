#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab's --net tap: the guest reaches netswapd through a tap device in a
# network namespace the run creates (server and QEMU inside it), swaps a
# 2x-RAM memhog through netswap.ko, and every page verifies.  Afterwards the
# namespace, QEMU and the server are gone.  256 MiB of guest RAM keeps it
# short; user networking is covered by the other lab tests.
# limit: 1800
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
[ "$(id -u)" -eq 0 ] || fail "--net tap needs root (the lab creates a network namespace)"

out=$("$TOP/lab/run" --client netswap --server netswapd --net tap --mem 256 \
	--save "$T/run" smoke 2>"$T/lab.err") || {
	tail -40 "$T/lab.err" >&2
	echo "$out" | tail -70 >&2
	fail "lab/run --net tap smoke did not pass"
}
echo "$out" | tail -1
last=$(tail -1 <<<"$out")
field() { lab_field "$1" "$last"; }
[[ $last == "PASS scenario=smoke client=netswap server=netswapd "* ]] ||
	fail "unexpected result line: $last"
# 512 MiB of 4 KiB pages, each verified once, most of them via the network.
assert_eq "$(field pages_verified)" 131072 "pages verified"
assert_eq "$(field errors)" 0 "errors"
[ "$(field pswpout)" -gt 50000 ] || fail "too little swap-out: $(field pswpout)"
# The guest saw the tap network, not QEMU's user network.
grep -q 'NS-PHASE attach server=10.0.3.1 ' "$T/run/console.log" ||
	fail "the guest did not attach through the tap network"
if ip netns list | grep -q '^netswap-lab-'; then
	fail "a lab network namespace is still there: $(ip netns list | grep netswap-lab-)"
fi
assert_lab_cleaned_up "$T/lab.err"
