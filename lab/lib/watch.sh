# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# Boot the guest and watch it: parse the console every second, log progress,
# drive the scenario's events (sc_tick), and stop on completion, on a
# detected failure (after a grace period that shows its consequences), on a
# stall (no progress for --stall seconds outside an injected outage) or on
# the overall timeout.

QEMU_PID=''
LAB_OUTAGE=0
LAB_EVENTS=()
STOP_STALL=''
STOP_TIMEOUT=0
declare -A S=()

# lab_boot KERNEL INITRD APPEND: start QEMU through lab/boot; return once it
# holds the machine's QEMU lock, and restart the clock there.
lab_boot() {
	local args r waiting=0
	args=(--kernel "$1" --initrd "$2" --append "$3"
		--console "$RUN/console.log" --monitor "$RUN/monitor.sock"
		--started "$RUN/started" --mem "$LAB_MEM" --smp "$LAB_SMP" --nic "$LAB_NIC")
	[ -n "$LAB_TAP" ] && args+=(--tap "$LAB_TAP")
	for r in "${LAB_HOSTFWD[@]}"; do
		args+=(--hostfwd "$r")
	done
	: >"$RUN/console.log"
	"${LAB_NS_EXEC[@]}" "$LAB_DIR/boot" "${args[@]}" 2>"$RUN/qemu.err" &
	QEMU_PID=$!
	while [ ! -e "$RUN/started" ]; do
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			QEMU_PID=''
			lab_fail_setup "QEMU did not start: $(tail -3 "$RUN/qemu.err")"
		fi
		if [ $waiting = 0 ] && grep -q waiting "$RUN/qemu.err"; then
			lab_log "waiting for $LAB_QEMU_LOCK (another guest is running)"
			waiting=1
		fi
		sleep 0.5
	done
	LAB_T0=$(date +%s)
}

lab_parse() {
	local k v
	S=()
	while IFS='=' read -r k v; do
		S[$k]=$v
	done < <("$LAB_DIR/parse-console" --dead-re "${CLIENT_DEAD_RE:-^$}" \
		"$RUN/console.log")
}

lab_event() {
	LAB_EVENTS+=("$(lab_elapsed)s $*")
	lab_log "event: $*"
}

lab_half_done() {
	[ "${S[total]:-0}" -gt 0 ] && [ $((S[done] * 2)) -ge "${S[total]}" ]
}

# Anything that already decides the verdict.
lab_failure_seen() {
	local k
	for k in panic oops hung ioerr oom dead mismatch_lines sigbus killed; do
		[ "${S[$k]:-0}" -gt 0 ] && { echo "$k"; return 0; }
	done
	return 1
}

lab_log_progress() {
	local pct=0
	[ "${S[total]:-0}" -gt 0 ] && pct=$((S[done] * 100 / S[total]))
	lab_log "${S[phase]} ${pct}% pages=${S[done]}/${S[total]} pswpout=${S[pswpout]} pswpin=${S[pswpin]} free=$((S[memfree_kib] / 1024))M swapfree=$((S[swapfree_kib] / 1024))M"
}

lab_watch() {
	local now sig last_sig='' last_change last_log=0 phase='' what limit
	local first_failure=''
	last_change=$(date +%s)
	while :; do
		sleep 1
		now=$(date +%s)
		lab_parse
		if [ "${S[phase]}" != "$phase" ]; then
			phase=${S[phase]}
			lab_log "phase $phase"
		fi
		sig="${S[phase]}:${S[done]}:${S[pswpin]}:${S[pswpout]}"
		if [ "$sig" != "$last_sig" ] || [ "$LAB_OUTAGE" = 1 ]; then
			last_sig=$sig
			last_change=$now
		fi
		if [ $((now - last_log)) -ge 10 ] && [ "$phase" = run ]; then
			lab_log_progress
			last_log=$now
		fi
		if ! kill -0 "$QEMU_PID" 2>/dev/null; then
			lab_log "QEMU exited"
			break
		fi
		if [ "${S[guest_done]}" = 1 ]; then
			lab_log "guest finished (rc=${S[guest_rc]})"
			lab_wait_qemu 20
			break
		fi
		if what=$(lab_failure_seen); then
			if [ -z "$first_failure" ]; then
				first_failure=$now
				lab_log "failure detected ($what); watching ${LAB_GRACE}s more for its consequences"
			elif [ $((now - first_failure)) -ge "$LAB_GRACE" ]; then
				lab_log "grace period over"
				break
			fi
		fi
		# Boot and attach are slow on a loaded host (more than 40 s seen
		# under TCG): a --stall below 120 s only counts once memhog runs.
		limit=$LAB_STALL
		[ "$phase" = run ] || [ "$limit" -ge 120 ] || limit=120
		if [ $((now - last_change)) -ge "$limit" ]; then
			STOP_STALL=$((now - last_change))
			lab_log "stall: no progress for ${STOP_STALL}s"
			break
		fi
		if [ "$(lab_elapsed)" -ge "$LAB_TIMEOUT" ]; then
			STOP_TIMEOUT=1
			lab_log "timeout after ${LAB_TIMEOUT}s"
			break
		fi
		sc_tick
	done
	LAB_SECONDS=$(lab_elapsed)
	[ "${S[guest_done]}" = 1 ] || lab_guest_dump
	lab_flood_stop
	lab_stop_pid "$QEMU_PID" 5
	QEMU_PID=''
	lab_parse
	lab_log_progress
}

# lab_wait_qemu SECONDS: let the guest power off by itself.
lab_wait_qemu() {
	for _ in $(seq 1 $(($1 * 2))); do
		kill -0 "$QEMU_PID" 2>/dev/null || return 0
		sleep 0.5
	done
}
