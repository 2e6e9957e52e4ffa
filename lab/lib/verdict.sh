# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# The verdict of a lab run and the one result line the contract promises:
#   PASS|FAIL scenario= client= server= seconds= pages_verified= errors=
#             pswpin= pswpout= pgscan_direct_throttle= PFMemallocDrop=
#             reconnects= integrity_errors= server_data_lost= resynced= min_kib=
#             free_low_kib= below_min=
# A FAIL is preceded by "reason: ..." and the last 60 console lines; every
# run is preceded by an "info:" line (kernel, sizes, injected events).

LAB_SECONDS=0

lab_result_line() { # PASS|FAIL
	local s=$1
	echo "$s scenario=$LAB_SCENARIO client=$LAB_CLIENT server=$LAB_SERVER seconds=$LAB_SECONDS pages_verified=${S[verified]:-0} errors=${LAB_ERRORS:-0} pswpin=${S[pswpin]:-0} pswpout=${S[pswpout]:-0} pgscan_direct_throttle=${S[pgscan_direct_throttle]:-0} PFMemallocDrop=${S[PFMemallocDrop]:-0} reconnects=${S[reconnects]:-0} integrity_errors=${S[integrity_errors]:-0} server_data_lost=${S[server_data_lost]:-0} resynced=${S[resynced]:-0} min_kib=${S[min_kib]:-0} free_low_kib=${S[free_low_min]:--1} below_min=${S[below_min]:-0}"
}

lab_info_line() {
	local ev=''
	[ ${#LAB_EVENTS[@]} -gt 0 ] && ev=$(IFS=';'; echo "${LAB_EVENTS[*]}")
	echo "info: kernel=${LAB_KVERSION:-?} mem=${LAB_MEM}M smp=$LAB_SMP net=$LAB_NET nic=${LAB_NIC:-?}${SC_SINK_RCVBUF:+ sink_rcvbuf=$SC_SINK_RCVBUF}${SC_SINK_DRAIN_MS:+ sink_drain_ms=$SC_SINK_DRAIN_MS} procs=${procs:-?} total=${mib:-?}M passes=${passes:-?} expected=${S[expected]:-?} min_free_kbytes=${S[min_free_kbytes]:-?} tuning=[$(lab_tuning_desc)] modparams=[${S[modparams]:-}]${LAB_LIVEPATCH:+ livepatches=[${S[livepatches]:-}]} events=[$ev]"
}

lab_console_tail() {
	echo "--- last 60 console lines ---"
	# Up to the sysrq dumps, if the host asked for them (lab/lib/diag.sh).
	head -c "${LAB_DUMP_AT:-1T}" "$RUN/console.log" | tr -d '\r' |
		sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 60
	echo "--- end of console ---"
}

# lab_fail_setup REASON: the run could not even start the guest.
lab_fail_setup() {
	lab_info_line
	echo "reason: setup: $*"
	[ -s "${RUN:-/nonexistent}/console.log" ] && lab_console_tail
	lab_result_line FAIL
	exit 1
}

# Weigh what the console showed; print the result and exit.
lab_verdict() {
	local reasons=() r
	local mism=${S[mismatches]:-0}
	[ "${S[mismatch_lines]:-0}" -gt "$mism" ] && mism=${S[mismatch_lines]}
	LAB_ERRORS=$((mism + ${S[ioerr]:-0} + ${S[sigbus]:-0} + ${S[killed]:-0}))

	[ "${S[panic]}" -gt 0 ] && reasons+=("panic: ${S[panic_msg]}")
	[ "${S[oops]}" -gt 0 ] && reasons+=("kernel Oops/BUG (${S[oops]} reports)")
	[ "$mism" -gt 0 ] &&
		reasons+=("page mismatch at ${S[first_mismatch]#NS-MISMATCH } ($mism pages)")
	[ "${S[sigbus]}" -gt 0 ] &&
		reasons+=("SIGBUS: ${S[sigbus]} memhog processes killed by SIGBUS (swap-in failed)")
	[ "${S[ioerr]}" -gt 0 ] &&
		reasons+=("I/O error: ${S[ioerr]} console lines, first: ${S[first_ioerr]}")
	[ "${S[oom]}" -gt 0 ] && reasons+=("OOM: ${S[oom]} processes killed by the OOM killer")
	[ "${S[killed]}" -gt 0 ] &&
		reasons+=("memhog: ${S[killed]} processes killed by a signal")
	[ "${S[dead]}" -gt 0 ] &&
		reasons+=("client declared the connection dead: ${S[first_dead]}")
	[ "${S[hung]}" -gt 0 ] && reasons+=("hung task: ${S[hung]} reports")
	# Mirrored, a server that lost its data is survived (the other leg has
	# it, the resync copies it back): a reason only for one server.
	[ "${S[server_data_lost]:-0}" -gt 0 ] && [ "${LAB_MIRROR:-0}" != 1 ] &&
		reasons+=("server lost its data: the client found it at ${S[server_data_lost]} reconnect(s), ${S[integrity_errors]:-0} blocks came back wrong")
	[ -n "$STOP_STALL" ] &&
		reasons+=("stall: no progress for ${STOP_STALL} s (phase ${S[phase]}, ${S[done]}/${S[total]} page visits)")
	[ "$STOP_TIMEOUT" = 1 ] && reasons+=("timeout: not done after ${LAB_TIMEOUT} s")
	[ -n "${S[guest_error]}" ] && reasons+=("guest: ${S[guest_error]#NS-ERROR }")
	lab_modparams_ok ||
		reasons+=("module parameters not in effect: asked ${LAB_MODPARAMS[*]}, the guest's module has [${S[modparams]:-}]")
	lab_livepatch_ok ||
		reasons+=("livepatch not in effect: asked $LAB_LIVEPATCH, the guest has [${S[livepatches]:-}]")
	if [ ${#reasons[@]} -eq 0 ]; then
		if [ "${S[guest_done]}" != 1 ]; then
			reasons+=("guest died without finishing (phase ${S[phase]})")
		elif [ "${S[memhog_rc]}" != 0 ] || [ "${S[guest_rc]}" != 0 ]; then
			reasons+=("memhog exit code ${S[memhog_rc]:-none}, /init exit code ${S[guest_rc]}")
		elif [ "${S[verified]}" != "${S[expected]}" ] || [ "${S[expected]:-0}" = 0 ]; then
			reasons+=("pages verified ${S[verified]} of ${S[expected]}")
		fi
	fi

	lab_info_line
	if [ ${#reasons[@]} -eq 0 ]; then
		lab_result_line PASS
		exit 0
	fi
	r=$(IFS=';'; echo "${reasons[*]}")
	echo "reason: ${r//;/; }"
	lab_console_tail
	lab_dump_summary
	lab_result_line FAIL
	exit 1
}
