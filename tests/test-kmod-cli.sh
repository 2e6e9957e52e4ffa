#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The netswap CLI and netswap.ko together in a QEMU guest: one-line attach
# errors (refused, no such export, not NBD), attach/status/reserve, data
# round trips, reconnect after a cut, resend after dropped replies, detach
# refused while swapping, two connections, --io-timeout giving errors.
# The script run in the guest is tests/guest/cli.sh.
# limit: 900
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/lib/apt-ensure" socat python3 || fail "cannot install socat"
need socat

start_server_bin good "$NETSWAPD_REL" --export swap=mem:64M
# A port nothing listens on: bind, note, close.
refused=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Something that answers, but not with NBD.
garbage=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
socat "TCP-LISTEN:$garbage,bind=127.0.0.1,reuseaddr,fork" SYSTEM:'echo HTTP/1.0 400 nope' &
_pids+=($!)

# shellcheck disable=SC2154 # good_PORT is set by start_server_bin
"$TOP/tests/tools/kmod-guest" --kernel "${KERNEL:-6.1}" "$TOP/tests/guest/cli.sh" \
	GOOD="$good_PORT" REFUSED="$refused" GARBAGE="$garbage" | tee "$T/console" ||
	fail "the guest test failed (exit ${PIPESTATUS[0]})"
grep -q '^KG: all ok' "$T/console" || fail "the guest test did not finish"
