# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# gateway-failover: two netswapd gateways over one Ceph RBD image (--server
# netswapd-rbd), the guest attached to both addresses; once half the page
# visits are done the gateway in use is SIGKILLed for good.  The standby
# takes the image over when the dead gateway's watch expires (Ceph's
# osd_client_watch_timeout, 30 s) and the client reconnects to it: every
# page written through the first gateway is read back through the second.
# A PASS verifies every page; reconnects= says how often the client moved.
SC_PROCS=2
SC_MULT=2
SC_PASSES=2
SC_BACKING='mem'
SC_SINK=0
SC_OUTAGE=1
SC_DOWN_DEFAULT=0
sc_state='wait'

sc_tick() {
	declare -F server_standby_serving >/dev/null ||
		lab_fail_setup "gateway-failover needs a server with a standby gateway (--server netswapd-rbd)"
	case $sc_state in
	wait)
		lab_half_done || return 0
		lab_event "gateway A (pid $SERVER_PID) SIGKILL, for good"
		lab_server_kill
		# The takeover waits for the watch to expire: not a stall.
		LAB_OUTAGE=1
		sc_state=takeover
		;;
	takeover)
		server_standby_serving || return 0
		lab_event "gateway B took the image over"
		LAB_OUTAGE=0
		sc_state='over'
		;;
	esac
}
