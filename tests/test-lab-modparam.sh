#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# lab/run --modparam cannot be used by accident: a malformed one is a usage
# error, a parameter the client's module does not declare (a typo) or a
# client with no module of its own (the stock nbd.ko is the kernel's) is a
# setup FAIL before any guest boots; the guest's read-back of a parameter
# that did not take is a FAIL too.  No QEMU: everything here is decided on
# the host.
# limit: 600
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

# run EXPECTED_RC ARGS...: lab/run, its stdout in $out.
run() {
	local want=$1 rc=0
	shift
	out=$("$TOP/lab/run" "$@" 2>"$T/err") || rc=$?
	[ "$rc" = "$want" ] || {
		tail -5 "$T/err" >&2
		fail "lab/run $* exited $rc, not $want: $(tail -2 <<<"$out")"
	}
}

run 2 --client netswap --modparam memalloc smoke
grep -q 'wants NAME=VALUE' "$T/err" || fail "no usage message for a bare name"
run 2 --client netswap --modparam 'memalloc=0;reboot' smoke
run 2 --client netswap --sysctl 'vm/min_free_kbytes=1' smoke
run 2 --client netswap --reserve 0 smoke

run 1 --client netswap --modparam memaloc=0 smoke
grep -q "^reason: setup: .*--modparam memaloc=0: netswap.ko has no parameter 'memaloc'" <<<"$out" ||
	fail "a typo must be named: $(grep reason <<<"$out")"
run 1 --client nbd --modparam memalloc=0 smoke
grep -q "^reason: setup: .*loads no module of its own" <<<"$out" ||
	fail "the stock client cannot take it: $(grep reason <<<"$out")"
run 1 --client nbd --reserve 100 smoke
grep -q "^reason: setup: --reserve: client 'nbd' has no reserve estimate" <<<"$out" ||
	fail "--reserve needs the netswap CLI: $(grep reason <<<"$out")"
# None of these booted a guest.
if grep -q 'guest up' "$T/err"; then
	fail "a refused run booted a guest"
fi

# The guest's read-back: a boolean reads back Y/N.
printf '%s\n' 'NS-MODPARAM module=netswap name=memalloc want=0 got=N' >"$T/ok.log"
printf '%s\n' 'NS-MODPARAM module=netswap name=memalloc want=0 got=Y' >"$T/bad.log"
assert_eq "$("$TOP/lab/parse-console" "$T/ok.log" | sed -n 's/^modparam_bad=//p')" 0 "read back N for 0"
assert_eq "$("$TOP/lab/parse-console" "$T/bad.log" | sed -n 's/^modparam_bad=//p')" 1 "read back Y for 0"
assert_eq "$("$TOP/lab/parse-console" "$T/ok.log" | sed -n 's/^modparams=//p')" \
	netswap.memalloc=N "modparams"
echo "ok: --modparam is refused unless it reaches a module that declares it"
