#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# nbdinfo against netswapd: --list shows every export with its description
# (size and kind, never the server's path), size, flags and block sizes
# (maximum payload = min(32M, buffer/2)); --size per export; the default
# (empty) name is an export only if one is configured under it; over TCP
# and a Unix socket.
# limit: 60
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdinfo

img=$T/disk.img
# check_list JSON_FILE MAXPAYLOAD NAME:SIZE:DESCRIPTION...
check_list() {
	/usr/bin/python3 - "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
maxp = int(sys.argv[2])
want = [a.split(":", 2) for a in sys.argv[3:]]
assert doc["protocol"] == "newstyle-fixed", doc["protocol"]
assert doc["structured"] is True
got = doc["exports"]
assert [e["export-name"] for e in got] == [w[0] for w in want], \
    [e["export-name"] for e in got]
for e, (name, size, desc) in zip(got, want):
    assert e["export-size"] == int(size), (name, e["export-size"])
    assert e["description"] == desc, (name, e["description"])
    for key in ("can_flush", "can_fua", "can_trim", "can_zero",
                "can_fast_zero", "can_cache", "can_multi_conn", "can_df"):
        assert e[key] is True, (name, key)
    assert e["is_read_only"] is False, name
    assert e["is_rotational"] is False, name
    assert e["block_size_minimum"] == 1, name
    assert e["block_size_preferred"] == 4096, name
    assert e["block_size_maximum"] == maxp, (name, e["block_size_maximum"])
print("nbdinfo --list: %d exports as expected" % len(got))
EOF
}

serve a "$NETSWAPD" --listen "unix:$T/a.sock" --export mem=mem:64M \
	--export "file=file:$img:16M" --buffer-memory 8M --quiet
nbdinfo --json --list "nbd://127.0.0.1:$a_PORT" >"$T/list.json"
check_list "$T/list.json" $((4 << 20)) "mem:$((64 << 20)):64M memory" \
	"file:$((16 << 20)):16M file"
nbdinfo --json --list "nbd+unix://?socket=$T/a.sock" >"$T/list-unix.json"
check_list "$T/list-unix.json" $((4 << 20)) "mem:$((64 << 20)):64M memory" \
	"file:$((16 << 20)):16M file"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$a_PORT/mem")" $((64 << 20)) "mem size"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$a_PORT/file")" $((16 << 20)) "file size"
for uri in "nbd://127.0.0.1:$a_PORT/nope" "nbd://127.0.0.1:$a_PORT"; do
	if nbdinfo --size "$uri" >/dev/null 2>&1; then
		fail "nbdinfo found an export that does not exist: $uri"
	fi
done
# The single-export view agrees with the list.
nbdinfo --json "nbd://127.0.0.1:$a_PORT/file" >"$T/one.json"
/usr/bin/python3 - "$T/one.json" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))["exports"][0]
assert e["export-name"] == "file" and e["export-size"] == 16 << 20, e
assert e["block_size_maximum"] == 4 << 20
EOF
stop_server "$a_PID" || fail "server a exit status"

# Default buffer memory: 32 MiB maximum payload.  An explicit empty name
# is the default export, wherever it is listed.
serve b "$NETSWAPD" --export first=mem:1M --export =mem:2M --quiet
nbdinfo --json --list "nbd://127.0.0.1:$b_PORT" >"$T/list-b.json"
check_list "$T/list-b.json" $((32 << 20)) "first:$((1 << 20)):1M memory" \
	":$((2 << 20)):2M memory"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$b_PORT")" $((2 << 20)) \
	"the empty-named export is the default"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$b_PORT/first")" $((1 << 20)) \
	"first export by name"
stop_server "$b_PID" || fail "server b exit status"
echo "nbdinfo: all passed"
