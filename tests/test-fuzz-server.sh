#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The libFuzzer harness over handshake and transmission parsing, 60 s:
# no sanitizer report, no connection that outlives its input, no pool leak.
# limit: 240
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/fuzz/run" 60
