# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# restart: pressure against a file export; once half the page visits are
# done the server is SIGKILLed, and --down seconds later (default 30)
# started again on the same file and port.
# shellcheck source=pressure.sh
. "$LAB_DIR/scenarios/pressure.sh"
SC_BACKING='file'
SC_OUTAGE=1
SC_DOWN_DEFAULT=30
sc_state='wait'

sc_tick() {
	case $sc_state in
	wait)
		lab_half_done || return 0
		lab_event "server SIGKILL, down for ${LAB_DOWN}s"
		lab_server_kill
		LAB_OUTAGE=1
		sc_since=$(lab_elapsed)
		sc_state=down
		;;
	down)
		[ $(($(lab_elapsed) - sc_since)) -ge "$LAB_DOWN" ] || return 0
		lab_server_start
		lab_event "server restarted on port $SERVER_PORT"
		LAB_OUTAGE=0
		sc_state=up
		;;
	esac
}
