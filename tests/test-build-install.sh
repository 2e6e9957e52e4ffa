#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make install honours PREFIX and DESTDIR: both binaries (netswapd, netswap)
# run from their new home and every man page is well-formed roff.
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
need make groff

dest=$T/root
make -s -C "$TOP" install DESTDIR="$dest" PREFIX=/opt/ns >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; fail "make install failed"; }

bin=$dest/opt/ns/sbin/netswapd
[ -x "$bin" ] || fail "netswapd not installed under DESTDIR/PREFIX/sbin"
"$bin" --version | grep -q '^netswapd ' || fail "installed netswapd does not run"
cli=$dest/opt/ns/sbin/netswap
[ -x "$cli" ] || fail "netswap (the CLI) not installed under DESTDIR/PREFIX/sbin"
"$cli" --version | grep -q '^netswap ' || fail "installed netswap does not run"
[ -z "$(find "$dest" -path "$dest/opt" -prune -o -type f -print)" ] ||
	fail "files installed outside DESTDIR/PREFIX"

for man in "$dest"/opt/ns/share/man/man8/*.8; do
	[ -f "$man" ] || fail "no man page installed"
	warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
	[ -z "$warnings" ] || fail "$(basename "$man"): $warnings"
done
for page in netswapd.8 netswap.8; do
	[ -f "$dest/opt/ns/share/man/man8/$page" ] || fail "$page missing"
done
echo "installed: $(cd "$dest" && find . -type f | sort | tr '\n' ' ')"
