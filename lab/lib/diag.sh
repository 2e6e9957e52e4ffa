# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# What a stuck guest was doing.  When a run ends with the guest still up
# but not finished (a stall, a hung task, the timeout), the host asks it
# through the QEMU monitor for the kernel's own dumps -- sysrq from the
# emulated keyboard, handled in interrupt context, so it works when every
# task is blocked in reclaim: console loglevel 7 (the dumps print at
# KERN_INFO), m (free pages and min/low/high watermarks per zone), w (tasks
# blocked in D state, with stacks), l (what each CPU runs), t (every task).
# /init enabled the dump keys (kernel.sysrq=1).

LAB_DUMPED=0
LAB_DUMP_AT=''	# console size when the dumps were asked for

lab_guest_dump() {
	local k
	kill -0 "$QEMU_PID" 2>/dev/null || return 0
	lab_log "asking the stuck guest for sysrq dumps (memory, blocked tasks, CPUs, all tasks)"
	LAB_DUMP_AT=$(stat -c %s "$RUN/console.log")
	for k in 7 m w l t; do
		"$LAB_DIR/monitor" "$RUN/monitor.sock" "sendkey alt-sysrq-$k" \
			>>"$RUN/monitor.log" 2>&1 || true
		sleep 3
	done
	sleep "${LAB_DUMP_WAIT:-15}"	# the serial console is slow under TCG
	LAB_DUMPED=1
}

# lab_dump_summary: for a FAIL, the lines of the dumps that answer "why":
# free memory against the min watermark per zone, the blocked tasks and
# the top of their stacks, what the CPUs were running, the last memhog
# report before the end.
lab_dump_summary() {
	[ "$LAB_DUMPED" = 1 ] || return 0
	echo "--- guest state at the end (sysrq m, w, l) ---"
	tr -d '\r' <"$RUN/console.log" | sed 's/^\[ *[0-9.]*\] //' | awk '
		/sysrq: Show Memory/ { mem = 1 }
		mem && /^Node 0 (DMA|DMA32|Normal) free:/ { print; next }
		mem && /^(active_anon|Free swap|[0-9]+ pages RAM)/ { print }
		/sysrq: Show Blocked State/ { blk = 1; mem = 0; next }
		/sysrq: Show backtrace/ { blk = 0; cpu = 1; next }
		/sysrq: Show State/ { blk = 0; cpu = 0 }
		blk && /^task:/ { n = 0; print; next }
		blk && /^ [a-z_0-9.]+\+0x/ && n < 8 { print "   " $0; n++ }
		# What the CPU ran (sysrq l): below the interrupt that asked.
		cpu && /^CPU: [0-9]+ PID:/ { print "running: " $0; task = 0; n = 0 }
		cpu && /^Workqueue:/ { print "   " $0 }
		cpu && /<TASK>/ { task = 1; next }
		cpu && /<\/TASK>/ { task = 0 }
		cpu && task && /^ [a-z_0-9.]+\+0x/ && n < 14 { print "   " $0; n++ }
	' | head -150 || true	# head may close the pipe: not a failure
	grep -a 'NS-PROGRESS' "$RUN/console.log" | tail -1 | tr -d '\r' || true
	echo "--- end of guest state ---"
}
