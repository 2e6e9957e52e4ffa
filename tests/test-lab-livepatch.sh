#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# lab/run --livepatch NAME: lab/livepatch/NAME.c is built for the guest's
# kernel, loaded before any other module, and the run is a FAIL unless the
# guest reports it enabled with its transition over.  A name with no
# source is a usage error before anything boots.  The guest part: netswap
# swaps a 2x-RAM memhog with rx_reserve in force (every receive buffer
# through the patched __netdev_alloc_skb) and every page verifies.  About
# a minute; the limit leaves room for waiting on the machine's QEMU lock.
# limit: 1200
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

# Refused before anything starts: no source, or not a plain name.
for bad in nope ../rx_reserve; do
	rc=0
	"$TOP/lab/run" --client netswap --livepatch "$bad" smoke >"$T/out" 2>"$T/err" || rc=$?
	assert_eq "$rc" 2 "exit code for --livepatch $bad"
	grep -q "no lab/livepatch/$bad.c (there are: rx_reserve)" "$T/err" ||
		fail "--livepatch $bad: no clear error: $(cat "$T/err")"
	! grep -q 'guest up' "$T/err" || fail "--livepatch $bad booted a guest"
done

# The read-back: only an enabled patch whose transition is over counts.
printf '%s\n' 'NS-LIVEPATCH name=ns_rx_reserve enabled=1 transition=0 patched=1 funcs=__netdev_alloc_skb' >"$T/ok.log"
printf '%s\n' 'NS-LIVEPATCH name=ns_rx_reserve enabled=1 transition=1 patched=1 funcs=__netdev_alloc_skb' >"$T/busy.log"
assert_eq "$("$TOP/lab/parse-console" "$T/ok.log" | sed -n 's/^livepatches=//p')" \
	ns_rx_reserve "an enabled patch"
assert_eq "$("$TOP/lab/parse-console" "$T/busy.log" | sed -n 's/^livepatches=//p')" \
	"" "a patch still in transition"

# The guest: 256 MiB, memhog 512 MiB (stamped, then verified).
out=$("$TOP/lab/run" --client netswap --livepatch rx_reserve --mem 256 \
	--save "$T/save" smoke 2>"$T/lab.err") || {
	tail -30 "$T/lab.err" >&2
	echo "$out" | tail -70 >&2
	fail "lab/run --livepatch rx_reserve smoke did not pass"
}
echo "$out" | tail -2
last=$(echo "$out" | tail -1)
[[ $last == "PASS scenario=smoke client=netswap "* ]] || fail "unexpected result line: $last"
grep -q '^info: .*tuning=\[livepatch rx_reserve\].* livepatches=\[ns_rx_reserve\]' <<<"$out" ||
	fail "the info line does not show the livepatch: $(grep '^info:' <<<"$out")"
assert_eq "$(lab_field pages_verified "$last")" 131072 "pages verified"
[ "$(lab_field pswpout "$last")" -gt 30000 ] ||
	fail "too little swap-out to have used the network: $(lab_field pswpout "$last")"
# The kernel's own word: the function is redirected in vmlinux.
# (The serial console ends its lines with CR.)
tr -d '\r' <"$T/save/console.log" |
	grep -q '^NS-LIVEPATCH name=ns_rx_reserve enabled=1 transition=0 patched=1 funcs=__netdev_alloc_skb$' ||
	fail "no patched __netdev_alloc_skb: $(grep NS-LIVEPATCH "$T/save/console.log")"
assert_lab_cleaned_up "$T/lab.err"
echo "ok: --livepatch rx_reserve is in force in the guest and the swap verifies"
