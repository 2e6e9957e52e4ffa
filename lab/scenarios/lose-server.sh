# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# lose-server: pressure on a mirrored device (two servers, netswap attach
# --mirror); once half the page visits are done the first server is
# SIGKILLed and never comes back.  The device drops that leg after
# leg_timeout and goes on with the other: PASS with every page verified,
# and no stall longer than leg_timeout + 30 s (from the loss on, the stall
# watchdog is set to that).
# shellcheck source=pressure.sh
. "$LAB_DIR/scenarios/pressure.sh"
SC_MIRROR=1
SC_OUTAGE=1
SC_DOWN_DEFAULT=0
sc_state='wait'

sc_tick() {
	case $sc_state in
	wait)
		lab_half_done || return 0
		lab_event "server SIGKILL, for good"
		lab_server_kill
		# leg_timeout (netswap's default, 10 s) + 30 s.
		LAB_STALL=40
		sc_state=gone
		;;
	esac
}
