# SPDX-License-Identifier: GPL-2.0-only
# The netswap demo, inside a kmod-guest (busybox sh): attach to netswapd,
# raise the reserve, swap on netswap0, run the lab's page-verifying memhog
# at 3x RAM while printing netswap status and the swap counters every few
# seconds, then say PASS or FAIL.
# shellcheck shell=sh disable=SC2154 # PORT and MIB come from the env
set -e
say() { echo "DEMO: $*"; }

say "netswap attach nbd://10.0.2.2:$PORT/swap"
dev=$(netswap attach "nbd://10.0.2.2:$PORT/swap")
say "attached $dev"
netswap reserve --apply
mkswap "$dev" >/dev/null
swapon "$dev"
say "swapping on $dev: $(grep "^$dev " /proc/swaps)"

(
	while sleep "${EVERY:-8}"; do
		echo "----------------------------------------------------------------"
		grep -E '^(pswpin|pswpout) ' /proc/vmstat | tr '\n' ' '
		grep -E '^(MemFree|SwapFree):' /proc/meminfo | tr -s ' ' | tr '\n' ' '
		echo
		netswap status
	done
) &
reporter=$!

set +e
/lab/memhog --procs 2 --mib "$MIB" --passes 2 --report 4
rc=$?
kill $reporter
wait $reporter 2>/dev/null
echo "----------------------------------------------------------------"
netswap status
swapoff "$dev"
netswap detach "$dev"
if [ $rc = 0 ]; then
	say "PASS: every page verified, swapped through netswap.ko"
else
	say "FAIL: memhog exit code $rc"
fi
exit $rc
