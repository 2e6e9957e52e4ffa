#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# lab/parse-console on canned consoles: progress, completion, and each
# failure the lab must tell apart (panic, Oops, hung task, I/O errors, OOM,
# SIGBUS, page mismatch, the client declaring the connection dead).
# limit: 60
# shellcheck disable=SC1091 # the shared helpers
. "$(dirname "$0")/lib/functions.sh"

parse() {
	"$TOP/lab/parse-console" --dead-re 'nbd[0-9]+: (Connection timed out|Dead connection)' "$1"
}
get() { sed -n "s/^$1=//p" <<<"$2"; }

# A clean run, with serial-console carriage returns.
printf '%s\r\n' \
	'NS-PHASE modules' 'NS-PHASE run' \
	'NS-MEMHOG-START procs=1 pages=8 passes=2' \
	'NS-PROGRESS t=2 done=8 total=16 verified=0 mismatches=0 pswpin=1 pswpout=5 pgscan_direct_throttle=0 PFMemallocDrop=0 memfree_kib=100 swapfree_kib=200' \
	'NS-PROGRESS t=4 done=16 total=16 verified=8 mismatches=0 pswpin=7 pswpout=9 pgscan_direct_throttle=3 PFMemallocDrop=11 memfree_kib=100 swapfree_kib=200' \
	'NS-CHILD proc=0 pid=77 exit=0' \
	'NS-MEMHOG-END rc=0 verified=8 expected=8 mismatches=0 failed=0 sigbus=0 killed=0' \
	'NS-CLIENT reconnects=2' 'NS-DONE rc=0' '[   9.1] reboot: Power down' >"$T/ok"
s=$(parse "$T/ok")
for kv in phase=run done=16 total=16 verified=8 expected=8 pswpin=7 pswpout=9 \
	pgscan_direct_throttle=3 PFMemallocDrop=11 reconnects=2 memhog_rc=0 \
	guest_done=1 guest_rc=0 panic=0 oops=0 hung=0 ioerr=0 oom=0 dead=0 \
	mismatch_lines=0 sigbus=0 killed=0; do
	assert_eq "$(get "${kv%%=*}" "$s")" "${kv#*=}" "clean: ${kv%%=*}"
done

# The stock client losing its server, as 6.1 reports it.
cat >"$T/bad" <<'LOG'
NS-PHASE run
NS-PROGRESS t=90 done=300 total=1000 verified=0 mismatches=0 pswpin=0 pswpout=50 pgscan_direct_throttle=0 PFMemallocDrop=0 memfree_kib=1 swapfree_kib=2
[  150.1] block nbd0: Connection timed out
[  150.2] block nbd0: shutting down sockets
[  150.3] I/O error, dev nbd0, sector 1234 op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 2
[  150.4] Write-error on swap-device (254:0:1242)
[  150.5] Read-error on swap-device (254:0:808)
NS-MISMATCH proc=3 pid=80 page=12 pass=1 kind=zero found_pid=0 found_page=0 found_pass=0 first_bad_word=0 bad_words=511
NS-MISMATCH proc=3 pid=80 page=13 pass=1 kind=zero found_pid=0 found_page=0 found_pass=0 first_bad_word=0 bad_words=511
NS-CHILD proc=1 pid=78 signal=BUS
NS-CHILD proc=2 pid=79 signal=KILL
[  160.0] Out of memory: Killed process 79 (memhog) total-vm:1kB
[  170.0] INFO: task kworker/u2:1:12 blocked for more than 120 seconds.
[  171.0] BUG: kernel NULL pointer dereference, address: 0000000000000000
[  171.1] Oops: 0000 [#1] PREEMPT SMP NOPTI
[  172.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000007
LOG
s=$(parse "$T/bad")
for kv in ioerr=3 dead=1 mismatch_lines=2 sigbus=1 killed=1 oom=1 hung=1 \
	oops=2 panic=1 guest_done=0 memhog_rc= done=300; do
	assert_eq "$(get "${kv%%=*}" "$s")" "${kv#*=}" "failing: ${kv%%=*}"
done
grep -q '^first_mismatch=NS-MISMATCH proc=3 pid=80 page=12 ' <<<"$s" || fail "first mismatch"
grep -q '^first_dead=.*nbd0: Connection timed out' <<<"$s" || fail "first dead"
grep -q '^panic_msg=Kernel panic - not syncing: Attempted to kill init' <<<"$s" || fail "panic msg"
