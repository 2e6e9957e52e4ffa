#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswap.ko against a hostile server: tests/tools/nbd-hostile sits between
# the guest and netswapd and breaks the reply stream of the first
# connection (default: a reply with a bad magic) in the middle of the lab's
# swap smoke.  The guest must survive, reconnect by itself, resend, verify
# every page, and count what happened.  An NBD error reply is the exception:
# the connection is healthy, so the request is retried on it, no reconnect.
#   tests/test-kmod-hostile.sh [MODE]   (modes: see tests/tools/nbd-hostile.c)
# limit: 1500
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"

mode=${1:-bad-magic}
reconnect=1
case $mode in
bad-magic|unknown-cookie|duplicate|short-payload|wrong-length)
	counter=protocol_errors ;;
error)	counter=error_retries reconnect=0 ;;
stall|stall-payload) counter=timeouts ;;
disconnect) counter=lost_connections ;;
*)	fail "unknown mode $mode" ;;
esac

mkdir -p "$TOP/build/tools"
gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$TOP" -pthread \
	-o "$TOP/build/tools/nbd-hostile" "$TOP/tests/tools/nbd-hostile.c" ||
	fail "cannot build nbd-hostile"

# Break things in the middle of the run, once the guest swaps hard.
export NBD_HOSTILE_MODE=$mode NBD_HOSTILE_CONNS=1 NBD_HOSTILE_AFTER=${AFTER:-3000}
# A stalled server is noticed after the request timeout: keep it short.
export LAB_NETSWAP_OPTS="--req-timeout 10"
out=$("$TOP/lab/run" --client netswap --proxy "$TOP/build/tools/nbd-hostile" \
	--save "$T/run" smoke) || { echo "$out"; fail "smoke through nbd-hostile ($mode) did not pass"; }
echo "$out"
grep -q "injecting $mode" "$T/run/proxy.err" ||
	{ cat "$T/run/proxy.err"; fail "the proxy never injected $mode"; }
cat "$T/run/proxy.err"

last=$(grep 'NS-NETSWAP reconnects=' "$T/run/console.log" | tail -1 | tr -d '\r')
echo "final counters: $last"
if [ $reconnect = 1 ]; then
	[[ $last =~ reconnects=[1-9] ]] || fail "the device did not reconnect"
else
	[[ $last =~ reconnects=0 ]] || fail "the device reconnected for an error reply"
fi
[[ $last =~ $counter=[1-9] ]] || fail "$counter was not counted"
[[ $last =~ io_errors=0 ]] || fail "requests failed back to the block layer"
