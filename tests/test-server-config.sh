#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# --config through the real server: every option --help lists (but the
# command-line-only ones) is a key the file accepts, with a value taken
# from its own bounds where it has them (--check-config says so); a
# server takes its listeners and exports from the file, the command line
# adds to them and overrides; a bad line stops the start (exit 2) with one
# line naming FILE:LINE, and so does --check-config, which opens nothing.
# limit: 60
# shellcheck disable=SC1091,SC2154 # sourced helpers; NAME_PID set by printf -v
source "$(dirname "$0")/lib/functions.sh"
source "$TOP/tests/tools/server-lib.sh"
need nbdinfo

# Options whose value has no bounds to take one from.
declare -A value=(
	[listen]="127.0.0.1:0"
	[export]="a=mem:1M,allow=127.0.0.1+::1,allow-uid=0,description=x, y"
	[allow]="127.0.0.0/8"
	[socket-owner]="$(id -u):$(id -g)"
	[pidfile]="$T/never-written.pid"
	[metrics]="127.0.0.1:0"
	[user]="$(id -un)"
	[group]="$(id -gn)"
)
cli_only=" config check-config help version "
# "(MIN to MAX, default D)" at the end of a row.
bounds_re='\(([^ ]+) to ([^ ,)]+)(, default ([^ )]+))?\)$'

# One logical row per option: "--name ARG text...", wrapped lines joined.
"$NETSWAPD" --help | awk '
	/^  --/ { if (row) print row; row = $0; next }
	/^      / && row { sub(/^ +/, " "); row = row $0; next }
	{ if (row) print row; row = "" }
	END { if (row) print row }' >"$T/rows"
: >"$T/all.conf"
while read -r row; do
	name=${row%% *}
	name=${name#--}
	case $cli_only in *" $name "*) continue ;; esac
	arg=$(awk '{ print $2 }' <<<"$row")
	if [[ $row =~ $bounds_re ]]; then
		v=${BASH_REMATCH[4]:-${BASH_REMATCH[1]}}
	elif [[ ${value[$name]+set} ]]; then
		v=${value[$name]}
	elif [[ $arg == [A-Z]* ]]; then
		fail "--$name takes $arg: give this test a value for it"
	else
		v=		# a flag: a bare key
	fi
	if [ -n "$v" ]; then
		echo "$name = $v" >>"$T/all.conf"
	else
		echo "$name" >>"$T/all.conf"
	fi
done <"$T/rows"
echo "# every key:"; sed 's/^/#   /' "$T/all.conf"
"$NETSWAPD" --config "$T/all.conf" --check-config >"$T/check.out" 2>&1 ||
	fail "a file of every option is refused: $(cat "$T/check.out")"
assert_eq "$(cat "$T/check.out")" "configuration valid: 1 exports, 1 listeners" \
	"--check-config of every option"
[ ! -e "$T/never-written.pid" ] || fail "--check-config wrote the pidfile"

# A server from a file, the command line on top.
cat >"$T/srv.conf" <<EOF
# listeners and exports from the file
listen = 127.0.0.1:0
listen = unix:$T/srv.sock
export = infile=mem:1M
export = both=mem:2M , description=from the file
quiet = yes
EOF
start_listening cf "$NETSWAPD" --config "$T/srv.conf" --export cli=mem:3M \
	--quiet
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$cf_PORT/infile")" 1048576 "infile"
assert_eq "$(nbdinfo --size "nbd://127.0.0.1:$cf_PORT/cli")" 3145728 "cli"
assert_eq "$(nbdinfo --size "nbd+unix:///both?socket=$T/srv.sock")" 2097152 "both"
nbdinfo --json "nbd://127.0.0.1:$cf_PORT/both" | grep -q '"description": "from the file"' ||
	fail "description from the file"
stop_server "$cf_PID" || fail "exit status"

# Bad files: exit 2, one line, FILE:LINE; the same from --check-config.
printf 'export = a=mem:1M\nthreads = 2\nbuffer-memory = 1M\n' >"$T/bad.conf"
for extra in "" --check-config; do
	rc=0
	# shellcheck disable=SC2086 # $extra is one word or none
	"$NETSWAPD" --config "$T/bad.conf" $extra >"$T/bad.out" 2>"$T/bad.err" || rc=$?
	assert_eq "$rc" 2 "exit status of a bad file ${extra:-at start}"
	assert_eq "$(cat "$T/bad.err")" \
		"netswapd: $T/bad.conf:3: buffer-memory: '1M' is not a size from 2M to 1T" \
		"the error of a bad file"
	[ ! -s "$T/bad.out" ] || fail "a bad file printed on stdout"
done
rc=0
"$NETSWAPD" --config "$T/none.conf" 2>"$T/none.err" || rc=$?
assert_eq "$rc" 2 "exit status of a missing file"
assert_eq "$(cat "$T/none.err")" "netswapd: $T/none.conf: No such file or directory" \
	"the error of a missing file"
echo "config file: all passed"
