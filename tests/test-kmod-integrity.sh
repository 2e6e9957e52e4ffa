#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswap.ko never hands back a wrong page, in a QEMU guest
# (tests/guest/integrity.sh): a byte flipped once on the wire is read again;
# a page that always comes back wrong fails with an I/O error; a server
# restarted empty is found at reconnect and its lost blocks fail instead of
# reading as zeros; an NBD error reply is retried on the same connection; a
# full server's ENOSPC reaches the writer without a reconnect storm; an
# export whose size is not a block multiple reconnects.
# limit: 900
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
need nbdkit python3

tools=$TOP/build/tools
mkdir -p "$tools"
for t in nbd-corrupt-proxy nbd-hostile; do
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$TOP" -pthread \
		-o "$tools/$t" "$TOP/tests/tools/$t.c" || fail "cannot build $t"
done
make -s -C "$TOP" server/netswapd || fail "cannot build netswapd"

start_server_bin good "$NETSWAPD_REL" --export swap=mem:64M
# shellcheck disable=SC2154 # good_PORT is set by start_server_bin
up=127.0.0.1:$good_PORT
start_listening once "$tools/nbd-corrupt-proxy" --listen 127.0.0.1:0 --upstream "$up" --times 1
start_listening always "$tools/nbd-corrupt-proxy" --listen 127.0.0.1:0 --upstream "$up"
start_listening err1 "$tools/nbd-hostile" --listen 127.0.0.1:0 --upstream "$up" \
	--mode error --after 0
start_listening enospc "$tools/nbd-hostile" --listen 127.0.0.1:0 --upstream "$up" \
	--mode write-errors --after 0 --errno 28

# 64 MiB + 100 bytes: the device rounds it down to 512-byte sectors.
odd=$(free_port)
nbdkit -f -i 127.0.0.1 -p "$odd" memory 67108964 2>"$T/nbdkit.err" &
_pids+=($!)
wait_listening 127.0.0.1 "$odd" || fail "nbdkit did not start"

# The server that loses its data: the guest asks, this hook restarts it
# empty on the same port (the pidfile names whichever one runs).
amnesia=$(free_port)
cat >"$T/hook" <<HOOK
#!/usr/bin/env bash
set -eu
[ "\$1" = restart ] || exit 2
kill "\$(cat "$T/amnesia.pid")"
while [ -e "$T/amnesia.pid" ]; do sleep 0.1; done
"$NETSWAPD_REL" --listen 127.0.0.1:$amnesia --export swap=mem:64M \\
	--pidfile "$T/amnesia.pid" >>"$T/amnesia.log" 2>&1 &
for _ in \$(seq 100); do [ -s "$T/amnesia.pid" ] && exit 0; sleep 0.1; done
exit 1
HOOK
chmod +x "$T/hook"
"$NETSWAPD_REL" --listen "127.0.0.1:$amnesia" --export swap=mem:64M \
	--pidfile "$T/amnesia.pid" >>"$T/amnesia.log" 2>&1 &
# shellcheck disable=SC2016 # expanded at exit, when the pidfile names the last one
on_cleanup 'kill "$(cat "$T/amnesia.pid" 2>/dev/null)" 2>/dev/null'
wait_listening 127.0.0.1 "$amnesia" || fail "the restartable netswapd did not start"

# shellcheck disable=SC2154 # NAME_PORT are set by start_listening
"$TOP/tests/tools/kmod-guest" --kernel "${KERNEL:-6.1}" --host-hook "$T/hook" \
	"$TOP/tests/guest/integrity.sh" \
	ONCE="$once_PORT" ALWAYS="$always_PORT" AMNESIA="$amnesia" \
	ERR1="$err1_PORT" ENOSPC="$enospc_PORT" ODD="$odd" | tee "$T/console" ||
	fail "the guest test failed (exit ${PIPESTATUS[0]})"
grep -q '^KG: all ok' "$T/console" || fail "the guest test did not finish"
# shellcheck disable=SC2154 # set by start_listening
{
	grep -q "injecting error" "$err1_ERR" || fail "nbd-hostile never sent its error reply"
	grep -q "corrupted READ" "$once_ERR" || fail "the once-proxy corrupted nothing"
	[ "$(grep -c "corrupted READ" "$once_ERR")" = 1 ] ||
		fail "the once-proxy corrupted more than once"
}
