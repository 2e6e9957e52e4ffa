#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The client's boot-time configuration on the host, against a fake root
# (NETSWAP_SYSROOT): netswap devices reads /etc/netswap/devices and
# /run/netswap/devices (listing, --names, --initramfs, a bad file refused
# whole with FILE:LINE, a name defined twice), up and down without the
# module, netswap-generator's unit links, and status --prometheus (every
# one-integer sysfs file a metric, an unknown one too, promtool accepts
# it, --output replaces the file atomically, no module: no devices).  The
# real thing, swap at boot, is test-deploy-boot.sh.
# limit: 120
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/lib/apt-ensure" prometheus || fail "cannot install prometheus (promtool)"
make -s -C "$TOP" cli/netswap 2>/dev/null
ns=$TOP/cli/netswap

# expect RC WANT CMD...: CMD exits RC and its output contains WANT.
expect() {
	local rc=$1 want=$2 got=0 out
	shift 2
	out=$("$@" 2>&1) || got=$?
	[ "$got" = "$rc" ] || fail "$*: exit $got, want $rc: $out"
	grep -q -- "$want" <<<"$out" || fail "$*: no '$want' in: $out"
}

R=$T/root
export NETSWAP_SYSROOT=$R
mkdir -p "$R/etc/netswap" "$R/run/netswap" "$R/sys/kernel/config"
expect 0 "no devices in /etc/netswap/devices" "$ns" devices
cat >"$R/etc/netswap/devices" <<'EOF'
# the example from the man page
swap0  nbd://10.0.0.1/node1  pri=10,connections=2
early  nbd://10.0.0.1/early  initramfs,mkswap=never
EOF
echo "boot0 nbd://10.0.2.2:1234/x initramfs,pri=5" >"$R/run/netswap/devices"
expect 0 "^swap0 *not attached *nbd://10.0.0.1/node1 pri=10 mkswap=auto --connections=2  (/etc/netswap/devices:2)" \
	"$ns" devices
expect 0 "^boot0 .* (/run/netswap/devices:1)" "$ns" devices
[ "$("$ns" devices --names | tr '\n' ' ')" = "swap0 early boot0 " ] ||
	fail "devices --names: $("$ns" devices --names)"
[ "$("$ns" devices --names --initramfs | tr '\n' ' ')" = "early boot0 " ] ||
	fail "devices --names --initramfs: $("$ns" devices --names --initramfs)"
expect 2 "no arguments" "$ns" devices swap0
expect 2 "expected one or more NAMEs" "$ns" up
expect 2 "expected one or more NAMEs" "$ns" down
expect 1 "nope: not in /etc/netswap/devices" "$ns" up nope
expect 1 "module not loaded" "$ns" up swap0
expect 0 "swap0: not attached" "$ns" down swap0

# A bad line refuses the whole file, with where and why; so does a name
# defined in both files.
cp "$R/etc/netswap/devices" "$T/good"
echo "bad nbd://h/x pri=high" >>"$R/etc/netswap/devices"
expect 1 "/etc/netswap/devices:4: pri= must be 0..32767" "$ns" devices
expect 1 "/etc/netswap/devices:4: pri= must be" "$ns" devices --names
expect 1 "/etc/netswap/devices:4: pri= must be" "$ns" up swap0
cp "$T/good" "$R/etc/netswap/devices"
echo "swap0 nbd://10.0.2.2:1234/y" >>"$R/run/netswap/devices"
expect 1 "/run/netswap/devices:2: swap0 is already defined (/etc/netswap/devices:2)" "$ns" devices
echo "boot0 nbd://10.0.2.2:1234/x initramfs,pri=5" >"$R/run/netswap/devices"

# The generator: one link per device, into netswap.target.wants.
gen=$T/netswap-generator
sed -e "s|@SBINDIR@/netswap|$ns|" -e 's|@UNITDIR@|/lib/systemd/system|' \
	"$TOP/cli/systemd/netswap-generator" >"$gen"
mkdir -p "$T/gen"
sh "$gen" "$T/gen" "$T/gen.early" "$T/gen.late" || fail "the generator failed"
links=$(find "$T/gen/netswap.target.wants" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
[ "$links" = "netswap@boot0.service netswap@early.service netswap@swap0.service " ] ||
	fail "generator links: $links"
[ "$(readlink "$T/gen/netswap.target.wants/netswap@swap0.service")" = \
	/lib/systemd/system/netswap@.service ] || fail "the link points elsewhere"
echo "bad line" >>"$R/etc/netswap/devices"
rm -rf "$T/gen"
mkdir -p "$T/gen"
out=$(sh "$gen" "$T/gen" 2>&1) || fail "the generator failed on a bad file: $out"
grep -q "netswap-generator: .*devices:4" <<<"$out" || fail "no error from the generator: $out"
[ -z "$(ls "$T/gen")" ] || fail "the generator made units from a bad file"
cp "$T/good" "$R/etc/netswap/devices"

# status --prometheus: no module, no devices.
out=$("$ns" status --prometheus) || fail "status --prometheus without the module"
grep -q '^netswap_devices 0$' <<<"$out" || fail "no netswap_devices 0: $out"
expect 2 "goes with --prometheus" "$ns" status --output "$T/x.prom"
expect 2 "goes with --prometheus" "$ns" status --json --prometheus

# One device, every kind of sysfs file, and a counter this CLI has never
# heard of.
mkdir -p "$R/sys/kernel/config/netswap/swap0" "$R/sys/block/netswap0/netswap"
echo netswap0 >"$R/sys/kernel/config/netswap/swap0/device"
d=$R/sys/block/netswap0/netswap
i=1
for c in read_requests write_requests write_bytes reconnects io_errors \
	integrity_errors in_flight size_bytes req_timeout io_timeout brand_new_events; do
	echo $i >"$d/$c"
	i=$((i + 1))
done
printf 'node "1"\n' >"$d/export"
echo swap0 >"$d/name"
echo "not a number" >"$d/state_text"
printf '0 live 10.0.2.2:10809 3 2 0 41\n1 connecting [::1]:10809 0 0 -111 0\n' >"$d/connections"
echo "0 0 0 0 0 0 0 5 17 0 0 0 0 0 0 0 0 0 0 2" >"$d/latency_histogram"
"$ns" status --prometheus >"$T/out.prom" || fail "status --prometheus"
cat "$T/out.prom"
promtool check metrics <"$T/out.prom" || fail "promtool rejects the output"
for want in 'netswap_devices 1' \
	'netswap_device_info{device="netswap0",name="swap0",export="node \"1\""} 1' \
	'netswap_write_requests_total{device="netswap0",name="swap0"} 2' \
	'netswap_integrity_errors_total{device="netswap0",name="swap0"} 6' \
	'netswap_in_flight_requests{device="netswap0",name="swap0"} 7' \
	'netswap_req_timeout_seconds{device="netswap0",name="swap0"} 9' \
	'# TYPE netswap_brand_new_events untyped' \
	'netswap_brand_new_events{device="netswap0",name="swap0"} 11' \
	'netswap_connection_up{device="netswap0",name="swap0",conn="1",address="[::1]:10809"} 0' \
	'netswap_request_latency_seconds_bucket{device="netswap0",name="swap0",le="0.000256"} 22' \
	'netswap_request_latency_seconds_bucket{device="netswap0",name="swap0",le="+Inf"} 24' \
	'netswap_request_latency_seconds_count{device="netswap0",name="swap0"} 24'; do
	grep -qxF "$want" "$T/out.prom" || fail "no line: $want"
done
! grep -q state_text "$T/out.prom" || fail "a text file became a metric"

# --output: the whole file or the old one, readable by node_exporter.
echo old >"$T/x.prom"
"$ns" status --prometheus --output "$T/x.prom" || fail "status --output"
cmp -s "$T/x.prom" "$T/out.prom" || fail "--output wrote something else"
[ "$(stat -c %a "$T/x.prom")" = 644 ] || fail "--output file mode $(stat -c %a "$T/x.prom")"
[ "$(find "$T" -maxdepth 1 -name 'x.prom.*' | wc -l)" = 0 ] || fail "a temporary file was left"
expect 1 "No such file or directory" "$ns" status --prometheus --output "$T/nodir/x.prom"
echo "ok: devices, generator, prometheus"
