#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every shell script in the tree (by name, shebang or "shellcheck shell="
# directive) is shellcheck-clean, following sourced files: the lab and the
# tests are code like the rest.
# limit: 300
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/lib/apt-ensure" shellcheck || fail "cannot install shellcheck"
cd "$TOP" || fail "no tree"

mapfile -t scripts < <(git ls-files | while read -r f; do
	[ -f "$f" ] || continue
	case $f in
	*.sh) echo "$f" ;;
	*.c|*.h|*.md|*.py|*.8) ;;
	*) head -1 "$f" | grep -qE '^#!.*/(env )?(ba|da)?sh' && echo "$f" ;;
	esac
done)
# Sourced fragments name their shell in a directive instead of a shebang.
mapfile -t -O "${#scripts[@]}" scripts < <(git grep -l '^# shellcheck shell=' |
	grep -v '\.sh$')
[ "${#scripts[@]}" -ge 40 ] || fail "found only ${#scripts[@]} shell scripts"
shellcheck -x "${scripts[@]}" || fail "shellcheck complains (above)"
echo "ok: ${#scripts[@]} shell scripts are shellcheck-clean"
