# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# smoke: attach, swapon, one memhog at 2x RAM, stamp then verify.  Short
# enough for make test.
SC_PROCS=1
SC_MULT=2
SC_PASSES=2
SC_BACKING='mem'
SC_SINK=0
SC_OUTAGE=0

sc_tick() { :; }
