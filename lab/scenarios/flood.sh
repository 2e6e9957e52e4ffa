# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# flood: pressure while the host floods a guest socket that never reads
# (lab/guest/sink.c) with TCP and UDP (lab/tools/flood.c).  Packets that
# land in the PFMEMALLOC reserve must be dropped, not starve the swap
# socket: the counter to read is PFMemallocDrop.
# shellcheck source=pressure.sh
. "$LAB_DIR/scenarios/pressure.sh"
SC_SINK=1
sc_state='wait'

sc_tick() {
	[ "$sc_state" = wait ] || return 0
	[ "${S[sink]}" = 1 ] || return 0	# the guest's sink listens
	lab_flood_start
	lab_event "flood started"
	sc_state=flooding
}
