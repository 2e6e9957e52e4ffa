#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --metrics: /metrics is valid Prometheus text (promtool check metrics),
# and its values follow real I/O: requests by command, bytes, errors by
# errno and the latency histogram per export and per connection, the
# connection counts, the arena's bytes, the failed flag.  A closed
# connection's counts stay in its export's totals; its own series go.
# Anything but GET /metrics is refused.
# limit: 90
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdsh promtool

serve srv "$NETSWAPD" --export m=mem:64M --export "f=file:$T/disk.img:64M" \
	--metrics 127.0.0.1:0 --quiet
url=$(sed -n 's/^metrics //p' "$srv_OUT")
[[ $url == http://127.0.0.1:*/metrics ]] || fail "no metrics URL: '$url'"

# scrape FILE: /metrics into FILE, checked by promtool.
scrape() {
	/usr/bin/python3 -c '
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    assert r.status == 200, r.status
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    open(sys.argv[2], "wb").write(r.read())
' "$url" "$1" || fail "cannot scrape $url"
	promtool check metrics <"$1" || fail "promtool rejects $1"
}

# value FILE SERIES: the sample's value (the series as printed, labels
# included), or "missing".
value() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}

scrape "$T/idle.txt"
assert_eq "$(value "$T/idle.txt" netswapd_connections)" 0 "idle connections"
assert_eq "$(value "$T/idle.txt" 'netswapd_arena_capacity_bytes')" \
	$((64 << 20)) "arena capacity"
assert_eq "$(value "$T/idle.txt" 'netswapd_export_failed{export="f"}')" 0 \
	"failed flag"

# A client does known I/O on each export and, still connected, has the
# server scraped.
nbdsh -c "
import subprocess, errno
for name in ('m', 'f'):
    h = nbd.NBD()
    h.set_strict_mode(0)
    h.connect_uri('nbd://127.0.0.1:$srv_PORT/' + name)
    for i in range(10):
        h.pwrite(bytes([i]) * 65536, i * 65536)
    for i in range(7):
        h.pread(4096, i * 4096)
    h.flush()
    h.zero(8192, 0)
    for off in (1 << 40, 1 << 41):
        try:
            h.pread(4096, off)
        except nbd.Error as e:
            assert e.errnum == errno.EINVAL
    if name == 'f':
        live = h
    else:
        h.shutdown()
subprocess.run(['/usr/bin/python3', '-c', '''
import sys, urllib.request
open(sys.argv[2], \"wb\").write(urllib.request.urlopen(sys.argv[1]).read())
''', '$url', '$T/live.txt'], check=True)
live.shutdown()
" || fail "client failed"
promtool check metrics <"$T/live.txt" || fail "promtool rejects live.txt"

for e in m f; do
	x="{export=\"$e\""
	assert_eq "$(value "$T/live.txt" "netswapd_export_requests_total$x,command=\"write\"}")" 10 "$e writes"
	assert_eq "$(value "$T/live.txt" "netswapd_export_requests_total$x,command=\"read\"}")" 9 "$e reads"
	assert_eq "$(value "$T/live.txt" "netswapd_export_requests_total$x,command=\"flush\"}")" 1 "$e flushes"
	assert_eq "$(value "$T/live.txt" "netswapd_export_requests_total$x,command=\"write_zeroes\"}")" 1 "$e zeroes"
	assert_eq "$(value "$T/live.txt" "netswapd_export_bytes_total$x,direction=\"write\"}")" $((10 * 65536)) "$e bytes written"
	assert_eq "$(value "$T/live.txt" "netswapd_export_bytes_total$x,direction=\"read\"}")" $((7 * 4096)) "$e bytes read"
	assert_eq "$(value "$T/live.txt" "netswapd_export_errors_total$x,errno=\"EINVAL\"}")" 2 "$e EINVAL"
	assert_eq "$(value "$T/live.txt" "netswapd_export_request_duration_seconds_count$x}")" 21 "$e latency count"
	assert_eq "$(value "$T/live.txt" "netswapd_export_request_duration_seconds_bucket$x,le=\"+Inf\"}")" 21 "$e +Inf bucket"
done
# m's client had left, f's was still there: its own series, and m's
# totals kept what its closed connection was served.
assert_eq "$(value "$T/live.txt" netswapd_connections)" 1 "live connections"
assert_eq "$(value "$T/live.txt" 'netswapd_export_connections{export="f"}')" 1 "f connections"
assert_eq "$(value "$T/live.txt" 'netswapd_export_connections{export="m"}')" 0 "m connections"
grep -q '^netswapd_connection_requests_total{peer="127.0.0.1:[0-9]*",export="f",command="write"} 10$' "$T/live.txt" ||
	fail "no per-connection write count: $(grep connection_requests "$T/live.txt")"
! grep -q 'netswapd_connection_requests_total{[^}]*export="m"' "$T/live.txt" ||
	fail "a closed connection's series is still there"
# The file client's 64 KiB writes took buffers: the arena is in use.
used=$(value "$T/live.txt" 'netswapd_arena_bytes{state="used"}')
reserved=$(value "$T/live.txt" 'netswapd_arena_bytes{state="reserved"}')
[ "$((used + reserved))" -gt 0 ] || fail "arena shows nothing used or reserved"

# After the last client: the totals stay, the per-connection series go.
scrape "$T/after.txt"
assert_eq "$(value "$T/after.txt" netswapd_connections)" 0 "connections after"
assert_eq "$(value "$T/after.txt" 'netswapd_export_requests_total{export="f",command="write"}')" 10 "f writes after"
[ "$(grep -c '^netswapd_connection_[a-z_]*{' "$T/after.txt" || true)" -eq 0 ] ||
	fail "per-connection series of closed connections"

# Only GET /metrics.
/usr/bin/python3 - "$url" <<'EOF' || fail "bad requests not refused"
import sys, urllib.request, urllib.error
base = sys.argv[1].rsplit("/", 1)[0]
for path, method, want in (("/", "GET", 404), ("/metrics/x", "GET", 404),
                           ("/metrics", "POST", 405)):
    try:
        urllib.request.urlopen(urllib.request.Request(base + path,
                               data=b"x" if method == "POST" else None,
                               method=method), timeout=10)
        raise SystemExit("%s %s answered 200" % (method, path))
    except urllib.error.HTTPError as e:
        assert e.code == want, (method, path, e.code)
EOF
rc=0; stop_server "$srv_PID" || rc=$?
assert_eq "$rc" 0 "exit status"
echo "metrics: all passed"
