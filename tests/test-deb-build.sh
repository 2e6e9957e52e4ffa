#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make deb builds netswapd, netswap-client and netswap-dkms with Debian's
# own tooling (dpkg-buildpackage, dh), lintian finds no error and every
# warning it finds is listed in docs/packaging.md, and each package holds
# what it should: the files (the module source: every kmod/ and proto/
# file of the tree), the conffiles, the dependencies, the maintainer
# scripts debhelper writes (DKMS, systemd, the initramfs trigger), the
# paths filled in the units, and binaries that run.
# limit: 900
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=tests/lib/deploy.sh
. "$TOP/tests/lib/deploy.sh"
"$TOP/tests/lib/apt-ensure" dpkg-dev lintian file groff ||
	fail "cannot install the test's packages"

deploy_debs
version=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
for d in "${DEBS[@]}"; do
	[ "$(dpkg-deb -f "$d" Version)" = "$version" ] || fail "$d: not version $version"
done

# lintian: no error; every warning is one docs/packaging.md lists.
changes=$(find "$TOP/build/deb" -maxdepth 1 -name '*.changes' | head -1)
lintian --fail-on error "$changes" >"$T/lintian.txt" 2>&1 ||
	{ cat "$T/lintian.txt"; fail "lintian found errors"; }
cat "$T/lintian.txt"
while read -r sev pkg tag _; do
	[ "$sev" = "W:" ] || continue
	grep -qF "$tag" "$TOP/docs/packaging.md" ||
		fail "lintian warning $pkg $tag is not in docs/packaging.md"
done <"$T/lintian.txt"

# files PKG: its regular files and links, one path a line.
files() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's#^\./#/#' | sort
}
# has PKG PATH...: PKG holds every PATH.
has() {
	local pkg=$1 p list
	shift
	list=$(files "$pkg")
	for p in "$@"; do
		grep -qxF "$p" <<<"$list" || fail "${pkg##*/} has no $p"
	done
}

srv=${DEBS[0]} cli=${DEBS[1]} dkms=${DEBS[2]}
has "$srv" /usr/sbin/netswapd /usr/share/man/man8/netswapd.8.gz \
	/etc/netswap/netswapd.conf /lib/systemd/system/netswapd.service \
	/lib/systemd/system/netswapd.socket
has "$cli" /usr/sbin/netswap /usr/share/man/man8/netswap.8.gz /etc/netswap/devices \
	/lib/systemd/system/netswap@.service /lib/systemd/system/netswap.target \
	/lib/systemd/system/netswap-prometheus.service \
	/lib/systemd/system/netswap-prometheus.timer \
	/lib/systemd/system-generators/netswap-generator \
	/usr/share/initramfs-tools/hooks/netswap \
	/usr/share/initramfs-tools/scripts/local-top/netswap
# The module source is the tree's, laid out as in the tree.
src=/usr/src/netswap-$version
want=("$src/dkms.conf")
for f in "$TOP"/kmod/*.c "$TOP"/kmod/*.h "$TOP"/kmod/Kbuild "$TOP"/kmod/Makefile "$TOP"/proto/*.h; do
	want+=("$src/${f#"$TOP"/}")
done
has "$dkms" "${want[@]}"
extra=$(files "$dkms" | grep "^$src/" | grep -vxF -f <(printf '%s\n' "${want[@]}") || true)
[ -z "$extra" ] || fail "netswap-dkms holds files the tree does not: $extra"

# Conffiles, dependencies, the fields debhelper fills.
dpkg-deb --ctrl-tarfile "$srv" | tar -xOf - ./conffiles | grep -qx /etc/netswap/netswapd.conf ||
	fail "netswapd.conf is not a conffile"
dpkg-deb --ctrl-tarfile "$cli" | tar -xOf - ./conffiles | grep -qx /etc/netswap/devices ||
	fail "/etc/netswap/devices is not a conffile"
dpkg-deb -f "$dkms" Depends | grep -q 'dkms' || fail "netswap-dkms does not depend on dkms"
dpkg-deb -f "$srv" Depends | grep -q 'libc6' || fail "netswapd has no shared library dependencies"
dpkg-deb -f "$cli" Built-Using | grep -q '^glibc (= ' || fail "the static CLI names no glibc in Built-Using"

# Maintainer scripts: DKMS builds the module at install, the client's
# target and timer are enabled, netswapd's units are not (no export yet),
# the initramfs is rebuilt, removal stops the devices first.
ctrl() { dpkg-deb --ctrl-tarfile "$1" | tar -xOf - "./$2" 2>/dev/null || true; }
ctrl "$dkms" postinst | grep -q 'common.postinst' || fail "netswap-dkms postinst does not run DKMS"
ctrl "$dkms" prerm | grep -q 'dkms remove' || fail "netswap-dkms prerm does not remove the module"
ctrl "$cli" postinst | grep -q "enable 'netswap.target'" || fail "netswap.target is not enabled"
ctrl "$cli" postinst | grep -q "enable 'netswap-prometheus.timer'" || fail "the timer is not enabled"
ctrl "$cli" prerm | grep -q "stop 'netswap@\*.service'" || fail "removal does not stop the devices"
ctrl "$cli" triggers | grep -q 'update-initramfs' || fail "no initramfs trigger"
# (debhelper's marker of an enable on first installation.)
if ctrl "$srv" postinst | grep -q "new installations run enable"; then
	fail "netswapd's units are enabled before an export is configured"
fi

dpkg-deb -x "$srv" "$T/srv"
dpkg-deb -x "$cli" "$T/cli"
dpkg-deb -x "$dkms" "$T/dkms"
# Paths are filled in; the DKMS version is the package's.
! grep -rl '@[A-Z]*DIR@' "$T/srv" "$T/cli" || fail "an @...DIR@ placeholder is left"
grep -qx "PACKAGE_VERSION=\"$version\"" "$T/dkms$src/dkms.conf" ||
	fail "dkms.conf: $(grep PACKAGE_VERSION "$T/dkms$src/dkms.conf")"
grep -q '^ExecStart=/usr/sbin/netswap up %i$' "$T/cli/lib/systemd/system/netswap@.service" ||
	fail "netswap@.service does not run /usr/sbin/netswap"
for s in "$T/cli/usr/share/initramfs-tools/hooks/netswap" \
	"$T/cli/usr/share/initramfs-tools/scripts/local-top/netswap" \
	"$T/cli/lib/systemd/system-generators/netswap-generator"; do
	sh -n "$s" || fail "$s is not valid sh"
	[ -x "$s" ] || fail "$s is not executable"
done

# The binaries run; the CLI is static (the initramfs has no libraries).
"$T/srv/usr/sbin/netswapd" --version | grep -q '^netswapd ' || fail "packaged netswapd does not run"
"$T/cli/usr/sbin/netswap" --version | grep -q '^netswap ' || fail "packaged netswap does not run"
file "$T/cli/usr/sbin/netswap" | grep -q 'statically linked' || fail "netswap is not static"
for man in "$T"/cli/usr/share/man/man8/*.8.gz "$T"/srv/usr/share/man/man8/*.8.gz; do
	zcat "$man" >"$T/page.8"
	warnings=$(groff -man -Tutf8 -ww -z "$T/page.8" 2>&1)
	[ -z "$warnings" ] || fail "${man##*/}: $warnings"
done
echo "ok: three packages, lintian clean of errors, contents as expected"
