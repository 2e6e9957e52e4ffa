# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# unplug: pressure, and once half the page visits are done the guest's link
# goes down (QEMU monitor set_link) for --down seconds (default 180, the
# question asked of seeds/004), then comes back.
# shellcheck source=pressure.sh
. "$LAB_DIR/scenarios/pressure.sh"
SC_OUTAGE=1
SC_DOWN_DEFAULT=180
sc_state='wait'

sc_tick() {
	case $sc_state in
	wait)
		lab_half_done || return 0
		lab_event "link down for ${LAB_DOWN}s"
		lab_link off
		LAB_OUTAGE=1
		sc_since=$(lab_elapsed)
		sc_state=down
		;;
	down)
		[ $(($(lab_elapsed) - sc_since)) -ge "$LAB_DOWN" ] || return 0
		lab_link on
		lab_event "link up"
		LAB_OUTAGE=0
		sc_state=up
		;;
	esac
}
