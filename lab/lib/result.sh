# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Reading lab/run's result line ("PASS|FAIL scenario=... KEY=VALUE ...")
# and its "info:" line; for lab/run-all and the tests.

# lab_field KEY LINE: the value of KEY=... in LINE (empty when absent; the
# last key of a line needs no trailing blank).
lab_field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2 "
}
