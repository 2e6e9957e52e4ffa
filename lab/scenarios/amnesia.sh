# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # read by lab/run
# amnesia: the restart scenario on a memory export: once half the page
# visits are done the server is SIGKILLed and, --down seconds later
# (default 5), started again on the same port with an EMPTY export of the
# same size -- a server host that rebooted.  Every page swapped out before is
# gone.  The honest verdict is FAIL: what matters is how.  A client that
# hands the zeros back as memory gets page mismatches (or a process dead of
# SIGSEGV); netswap.ko finds the loss when it reconnects (server_data_lost=)
# and fails the reads of lost pages, so they surface as I/O errors and
# SIGBUS, never as wrong data.
# shellcheck source=restart.sh
. "$LAB_DIR/scenarios/restart.sh"
SC_BACKING='mem'
SC_DOWN_DEFAULT=5
# The harness stays out of swap: a lost page must kill a memhog child (the
# test subject, SIGBUS), not the init that reports it.
SC_PROTECT=1
