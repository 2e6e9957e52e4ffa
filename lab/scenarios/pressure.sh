# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# pressure: Gorman's swap-over-NBD test (seeds/004) -- 8 x NCPU processes
# whose anonymous mappings total 4x the guest's RAM, walked linearly; here
# two passes, stamp then verify every page.
SC_PROCS=$((8 * LAB_SMP))
SC_MULT=4
SC_PASSES=2
SC_BACKING='mem'
SC_SINK=0
SC_OUTAGE=0

sc_tick() { :; }
