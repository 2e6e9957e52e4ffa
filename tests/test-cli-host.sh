#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The netswap CLI on the host, against a fake /sys and /proc tree
# (NETSWAP_SYSROOT): usage errors, "module not loaded", status (human and
# JSON) and reserve's arithmetic and --apply (raises, never lowers), detach
# refusing a device in use as swap.  The kernel side is test-kmod-cli.sh.
# limit: 120
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
make -s -C "$TOP" cli/netswap 2>/dev/null
ns=$TOP/cli/netswap

# expect RC WANT CMD...: CMD exits RC and its stderr/stdout contains WANT.
expect() {
	local rc=$1 want=$2 got=0 out
	shift 2
	out=$("$@" 2>&1) || got=$?
	[ "$got" = "$rc" ] || fail "$*: exit $got, want $rc: $out"
	grep -q -- "$want" <<<"$out" || fail "$*: no '$want' in: $out"
}

expect 0 "usage: netswap attach" "$ns" --help
expect 0 "netswap 0.1" "$ns" --version
expect 2 "usage" "$ns"
expect 2 "unknown command 'frob'" "$ns" frob
expect 2 "expected nbd://" "$ns" attach http://x/y
expect 2 "TLS" "$ns" attach nbds://x/y
expect 2 "connections must be 1..16" "$ns" attach --connections 0 nbd://x/y
expect 2 "connections must be 1..16" "$ns" attach --connections 17 nbd://x/y
expect 2 "io-timeout" "$ns" attach --io-timeout -1 nbd://x/y
expect 2 "expected one" "$ns" attach
expect 2 "queue-depth must be 1..1024" "$ns" attach --queue-depth 1025 nbd://x/y
expect 2 "unrecognized option" "$ns" attach --integrity 0 nbd://x/y
expect 2 "mirror expects two" "$ns" attach --mirror nbd://x/y
expect 2 "expected one" "$ns" attach nbd://x/y nbd://z/y

# Every attach option comes from the module's table (proto/netswap_ctl.h),
# and the man page documents each.
mapfile -t opts < <("$ns" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p')
[ "${#opts[@]}" -ge 6 ] || fail "--help lists ${#opts[@]} attach options"
for o in "${opts[@]}"; do
	grep -qF -- "${o//-/\\-}" "$TOP/docs/netswap.8" || fail "netswap.8 does not document $o"
done
while read -r a; do
	o=${a//_/-}
	printf '%s\n' "${opts[@]}" | grep -qx -- "--$o\|--no-$o" || fail "--help lacks the setting $a"
done < <(sed -n 's/^NS_CFG_UINT(\([a-z_]*\),.*/\1/p' "$TOP/proto/netswap_ctl.h")
expect 2 "expected one DEVICE" "$ns" detach

# No module: configfs directory absent.
mkdir -p "$T/empty/sys/kernel/config"
export NETSWAP_SYSROOT=$T/empty
expect 1 "module not loaded" "$ns" attach nbd://127.0.0.1/swap
expect 1 "module not loaded" "$ns" status
expect 1 "module not loaded" "$ns" detach netswap0
mkdir -p "$T/empty/sys/module/netswap"
expect 1 "configfs is not mounted" "$ns" status

# A fake attached device: netswap3, configured as "swapdev".
R=$T/root
export NETSWAP_SYSROOT=$R
mkdir -p "$R/sys/kernel/config/netswap/swapdev" "$R/sys/block/netswap3/netswap" \
	"$R/sys/class/net/eth0" "$R/sys/class/net/lo" "$R/proc/sys/vm" "$R/proc/sys/net/ipv4"
echo netswap3 >"$R/sys/kernel/config/netswap/swapdev/device"
echo 0 >"$R/sys/kernel/config/netswap/swapdev/power"
mkdir -p "$R/sys/kernel/config/netswap/idle"
: >"$R/sys/kernel/config/netswap/idle/device"
d=$R/sys/block/netswap3/netswap
i=1
for c in read_requests write_requests flush_requests discard_requests read_bytes \
	write_bytes swap_requests in_flight reconnects failed_connects lost_connections \
	resends timeouts protocol_errors server_errors io_errors; do
	echo $i >"$d/$c"
	i=$((i + 1))
done
echo 1 >"$d/integrity"
echo 1310720 >"$d/integrity_bytes"
for c in known_blocks:200 integrity_errors:3 integrity_rereads:2 server_data_lost:1 \
	lost_blocks:50 error_retries:4; do
	echo "${c#*:}" >"$d/${c%%:*}"
done
echo 1073741824 >"$d/size_bytes"
echo 349 >"$d/transmission_flags"
echo 64 >"$d/queue_depth"
echo 131072 >"$d/max_request_bytes"
echo 30 >"$d/req_timeout"
echo 0 >"$d/io_timeout"
echo swap >"$d/export"
echo swapdev >"$d/name"
printf '0 live 10.0.2.2:10809 3 2 0 41\n' >"$d/connections"
echo "0 0 0 0 0 0 0 5 17 0 0 0 0 0 0 0 0 0 0 2" >"$d/latency_histogram"
echo 1500 >"$R/sys/class/net/eth0/mtu"
echo 65536 >"$R/sys/class/net/lo/mtu"
echo "4096 131072 6291456" >"$R/proc/sys/net/ipv4/tcp_rmem"
echo "4096 16384 4194304" >"$R/proc/sys/net/ipv4/tcp_wmem"
echo "MemTotal:         524288 kB" >"$R/proc/meminfo"
echo 2896 >"$R/proc/sys/vm/min_free_kbytes"
: >"$R/proc/swaps"

out=$("$ns" status) || fail "status: $out"
echo "$out"
grep -q "^/dev/netswap3  name swapdev  export 'swap'  size 1.0 GiB  connections 1/1 live" <<<"$out" ||
	fail "status header"
grep -q "read 1 (5 B)  write 2 (6 B)  flush 3  discard 4  swap 7  in flight 8" <<<"$out" ||
	fail "status requests"
grep -q "reconnects 9  lost connections 11  failed connects 10  resends 12  timeouts 13" <<<"$out" ||
	fail "status recovery"
grep -q "protocol 14  server 15 (retried 4)  failed I/O 16" <<<"$out" || fail "status errors"
grep -q "integrity  on, 1.2 MiB (1.2 MiB per GiB)  known blocks 200  errors 3  re-reads 2  server data lost 1  lost blocks 50" <<<"$out" ||
	fail "status integrity"
grep -q "conn 0 .* live .*10.0.2.2:10809  connects 3  in flight 2  up 41s" <<<"$out" ||
	fail "status connection line"
grep -q "<128us:5 <256us:17 >=262ms:2" <<<"$out" || fail "status latency"
grep -q "^idle: configured, not attached" <<<"$out" || fail "idle item"

"$ns" status --json >"$T/json" || fail "status --json"
python3 - "$T/json" <<'PY' || fail "status --json is wrong: $(cat "$T/json")"
import json, sys
d = json.load(open(sys.argv[1]))["devices"]
assert len(d) == 1, d
d = d[0]
assert d["device"] == "/dev/netswap3" and d["name"] == "swapdev" and d["export"] == "swap"
assert d["protocol_errors"] == 14 and d["size_bytes"] == 1073741824
assert d["connections"][0]["state"] == "live" and d["connections"][0]["up_seconds"] == 41
assert d["latency_us_log2"][8] == 17 and len(d["latency_us_log2"]) == 20
assert d["integrity"] == 1 and d["server_data_lost"] == 1 and d["lost_blocks"] == 50
PY
# A mirrored device: a legs table, and the mirror's counters.
for c in mirror_legs:2 legs_in_sync:1 dirty_blocks:512 resynced_blocks:2048 repairs:16 \
	degradations:1 mirror_bytes:196608 leg_timeout:10; do
	echo "${c#*:}" >"$d/${c%%:*}"
done
printf '%s\n' '0 in-sync 10.0.2.2:10809 swap 0 0 16 0 1 3400 0' \
	'1 resync 10.0.2.2:10810 swap 512 2048 0 1 1 0 7' >"$d/legs"
out=$("$ns" status swapdev) || fail "status of a mirror: $out"
grep -q "mirror     2 legs, 1 in sync, drop after 10s down, 192.0 KiB  resynced 2048 blocks  repairs 16  drops 1" <<<"$out" ||
	fail "status mirror line: $out"
grep -q "leg 1      resync     10.0.2.2:10810 'swap'  live conns 1  dirty 512  resynced 2048  repairs 0  drops 1  resyncing for 7s" <<<"$out" ||
	fail "status leg line: $out"
grep -q "leg 0      in-sync    10.0.2.2:10809 'swap'  live conns 1  dirty 0  resynced 0  repairs 16  drops 0  last resync 3400 ms" <<<"$out" ||
	fail "status leg 0 line: $out"
"$ns" status --json swapdev | python3 -c '
import json, sys
d = json.load(sys.stdin)["devices"][0]
l = d["legs"]
assert len(l) == 2 and l[1]["state"] == "resync" and l[1]["dirty_blocks"] == 512, l
assert l[0]["last_resync_ms"] == 3400 and l[1]["resyncing_seconds"] == 7, l
assert d["mirror_legs"] == 2 and d["resynced_blocks"] == 2048, d
' || fail "status --json of a mirror"
rm "$d/legs"
echo 1 >"$d/mirror_legs"

# A module older than the CLI lacks some files: they are left out, not zero.
rm "$d/lost_blocks"
"$ns" status --json >"$T/json" || fail "status --json with a file missing"
grep -q '"lost_blocks"' "$T/json" && fail "a missing file was reported"
echo 50 >"$d/lost_blocks"
expect 0 "/dev/netswap3" "$ns" status netswap3
expect 0 "/dev/netswap3" "$ns" status /dev/netswap3
expect 0 "/dev/netswap3" "$ns" status swapdev
expect 1 "no such netswap device" "$ns" status netswap9

# reserve: the lab guest's numbers, worked in tests/unit/test-cli-reserve.c.
out=$("$ns" reserve) || fail "reserve: $out"
echo "$out"
grep -q "reserve: 3876 pages = 15504 KiB" <<<"$out" || fail "reserve pages"
grep -q "MTU 1500" <<<"$out" || fail "reserve ignores lo's MTU?"
grep -q "recommended 18400" <<<"$out" || fail "reserve recommendation"
expect 0 "raised from 2896 to 18400" "$ns" reserve --apply
assert_eq "$(cat "$R/proc/sys/vm/min_free_kbytes")" 18400 "min_free_kbytes after --apply"
expect 0 "unchanged" "$ns" reserve --apply
echo 65536 >"$R/proc/sys/vm/min_free_kbytes"
expect 0 "unchanged" "$ns" reserve --apply
assert_eq "$(cat "$R/proc/sys/vm/min_free_kbytes")" 65536 "--apply lowered min_free_kbytes"

# detach refuses a device that is swap; otherwise powers off and removes.
echo "/dev/netswap3                           partition	1048572	0	-2" >"$R/proc/swaps"
expect 1 "in use as swap" "$ns" detach /dev/netswap3
: >"$R/proc/swaps"
rm -f "$R/sys/kernel/config/netswap/swapdev/"*
: >"$R/sys/kernel/config/netswap/swapdev/power"
echo netswap3 >"$R/sys/kernel/config/netswap/swapdev/device"
expect 1 "Directory not empty" "$ns" detach netswap3
assert_eq "$(cat "$R/sys/kernel/config/netswap/swapdev/power")" 0 "detach wrote power"
echo "ok"
