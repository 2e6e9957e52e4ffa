#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The arena's libFuzzer harness, 30 s: no sanitizer report, no overlap, no
# lost byte, exact accounts, everything back after a full free.
# limit: 180
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/fuzz/run-arena" 30
