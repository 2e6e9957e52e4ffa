# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# mirror-restart: pressure on a mirrored device; once half the page visits
# are done the first server is SIGKILLed and, --down seconds later (default
# 30), started again on the same port with an EMPTY memory export.  The
# device drops the leg, finds at its return that the server lost its data,
# and copies every block written back to it from the other leg (resync),
# by itself: PASS with every page verified, resynced= > 0, and `netswap
# status` in the console shows the resync and how long it took.
# shellcheck source=restart.sh
. "$LAB_DIR/scenarios/restart.sh"
SC_MIRROR=1
SC_BACKING='mem'
SC_DOWN_DEFAULT=30
