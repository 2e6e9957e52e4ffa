#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswap.ko builds with -Werror against both lab guest kernels (Debian 6.1
# and 6.12 headers, fetched by lab/fetch-kernel), and every file in kmod/
# passes the kernel's checkpatch.pl --no-tree without an error or warning.
# checkpatch.pl comes from Debian's linux-source tarball (extracted once
# into build/checkpatch/).
# limit: 900
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
"$TOP/tests/lib/apt-ensure" linux-source xz-utils kmod ||
	fail "cannot install linux-source"

for series in 6.1 6.12; do
	rm -f "$TOP/build/kmod/$series/netswap.ko"
	make -s -C "$TOP/kmod" SERIES="$series" >"$T/build-$series.log" 2>&1 ||
		{ tail -30 "$T/build-$series.log"; fail "netswap.ko does not build for $series"; }
	ko=$TOP/build/kmod/$series/netswap.ko
	[ -s "$ko" ] || fail "no $ko after the build"
	# The module is for the kernel it was built against, not some other.
	want=$(cat "$("$TOP/lab/fetch-kernel" "$series")/version")
	got=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "$series: vermagic $got, expected $want"
	echo "ok: netswap.ko builds with -Werror for $want"
done

cp_dir=$TOP/build/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ]; then
	tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' | sort -V | tail -1)
	[ -n "$tarball" ] || fail "linux-source installed no tarball in /usr/src"
	mkdir -p "$cp_dir"
	tar -xJf "$tarball" -C "$cp_dir" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' ||
		fail "cannot extract checkpatch.pl from $tarball"
fi
# Each file on its own: checkpatch's exit status and its "total:" line.
files=0
for f in "$TOP"/kmod/*.c "$TOP"/kmod/*.h; do
	files=$((files + 1))
	out=$("$cp_dir/scripts/checkpatch.pl" --no-tree -q --terse --show-types -f "$f" 2>&1) ||
		{ echo "$out"; fail "checkpatch complains about ${f#"$TOP"/}"; }
	grep -q '^total: 0 errors, 0 warnings, [0-9]* lines checked$' <<<"$out" ||
		{ echo "$out"; fail "checkpatch gave no clean total for ${f#"$TOP"/}"; }
done
[ "$files" -ge 6 ] || fail "only $files files in kmod/"
echo "ok: checkpatch.pl --no-tree clean on $files kmod files"
