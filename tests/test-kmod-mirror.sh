#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A mirrored netswap.ko device in a QEMU guest (tests/guest/mirror.sh): a
# server killed for good is dropped after leg_timeout and the writes go on;
# restarted empty, it is found to have lost its data and the kernel copies
# every block back (resync), after which the other server can die and the
# data is all there; a byte flipped on one leg is read from the other and
# rewritten (repair); both servers down and back drops neither.
# limit: 900
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
need python3

tools=$TOP/build/tools
mkdir -p "$tools"
gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -I"$TOP" -pthread \
	-o "$tools/nbd-corrupt-proxy" "$TOP/tests/tools/nbd-corrupt-proxy.c" ||
	fail "cannot build nbd-corrupt-proxy"
make -s -C "$TOP" server/netswapd || fail "cannot build netswapd"

# Four file-backed servers the guest can kill, wipe and start again on
# their ports; each one's pidfile names whichever process serves it now.
declare -A port
for s in A B C D; do
	port[$s]=$(free_port)
done
cat >"$T/hook" <<HOOK
#!/usr/bin/env bash
set -eu
declare -A port=([A]=${port[A]} [B]=${port[B]} [C]=${port[C]} [D]=${port[D]})
what=\$1 s=\$2
case \$what in
kill)
	kill "\$(cat "$T/\$s.pid")"
	while [ -e "$T/\$s.pid" ]; do sleep 0.1; done ;;
wipe)	rm -f "$T/\$s.img" ;;
start)
	"$NETSWAPD_REL" --listen "127.0.0.1:\${port[\$s]}" \\
		--export "swap=file:$T/\$s.img:64M" --pidfile "$T/\$s.pid" \\
		>>"$T/\$s.log" 2>&1 &
	for _ in \$(seq 100); do [ -s "$T/\$s.pid" ] && exit 0; sleep 0.1; done
	exit 1 ;;
*)	exit 2 ;;
esac
HOOK
chmod +x "$T/hook"
for s in A B C D; do
	"$T/hook" start "$s" || fail "server $s did not start"
	# shellcheck disable=SC2016 # expanded at exit
	on_cleanup "kill \"\$(cat '$T/$s.pid' 2>/dev/null)\" 2>/dev/null"
done
start_listening once "$tools/nbd-corrupt-proxy" --listen 127.0.0.1:0 \
	--upstream "127.0.0.1:${port[C]}" --times 1

# shellcheck disable=SC2154 # once_PORT is set by start_listening
"$TOP/tests/tools/kmod-guest" --kernel "${KERNEL:-6.1}" --host-hook "$T/hook" \
	"$TOP/tests/guest/mirror.sh" A="${port[A]}" B="${port[B]}" \
	CC="${port[C]}" DD="${port[D]}" ONCE="$once_PORT" | tee "$T/console" ||
	fail "the guest test failed (exit ${PIPESTATUS[0]})"
grep -q '^KG: all ok' "$T/console" || fail "the guest test did not finish"
