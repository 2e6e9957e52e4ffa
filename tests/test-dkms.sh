#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# netswap-dkms on a Debian 12 root (a chroot of tests/tools/debian-root)
# with the headers of both lab kernels, Debian's 6.1 and the 6.12
# backport, installed from Debian's packages: dpkg -i puts the source in
# /usr/src (its automatic build is left to test-deploy-boot.sh), dkms add,
# dkms build and dkms install for each kernel succeed, the module's
# vermagic is that kernel's, and each module loads and works in a lab
# guest of its kernel (tests/guest/dkms-load.sh).  dpkg -r removes every
# built module.
# limit: 2700
# shellcheck source=tests/lib/functions.sh
. "$(dirname "$0")/lib/functions.sh"
# shellcheck source=tests/lib/deploy.sh
. "$TOP/tests/lib/deploy.sh"
"$TOP/tests/lib/apt-ensure" debootstrap dpkg-dev kmod xz-utils ||
	fail "cannot install the test's packages"

deploy_debs
version=$(dpkg-deb -f "${DEBS[2]}" Version)
root=$T/root
mapfile -t deps < <(deploy_depends "${DEBS[2]}")
deploy_root "$root" --series 6.1 --series 6.12 "${deps[@]}"
# The package's own build at install (DKMS autoinstall) is
# test-deploy-boot.sh's; here DKMS is driven by hand, for both kernels.
mkdir -p "$root/etc/dkms"
touch "$root/etc/dkms/no-autoinstall"
deploy_install "$root" "${DEBS[2]}"
# The version the packaged source gives the module (MODULE_VERSION).
modver=$(sed -n 's/^#define NS_VERSION[[:space:]]*"\(.*\)"$/\1/p' \
	"$root/usr/src/netswap-$version/kmod/main.c")
[ -n "$modver" ] || fail "no NS_VERSION in the packaged kmod/main.c"
in_root "$root" dkms add -m netswap -v "$version" >"$T/add.log" 2>&1 ||
	{ cat "$T/add.log"; fail "dkms add"; }

start_server_bin srv "$NETSWAPD_REL" --export swap=mem:64M
for series in 6.1 6.12; do
	kver=$(cat "$("$TOP/lab/fetch-kernel" "$series")/version")
	in_root "$root" dkms build -m netswap -v "$version" -k "$kver" >"$T/build.log" 2>&1 ||
		{ cat "$T/build.log"; fail "dkms build for $kver"; }
	in_root "$root" dkms install -m netswap -v "$version" -k "$kver" >"$T/install.log" 2>&1 ||
		{ cat "$T/install.log"; fail "dkms install for $kver"; }
	ko=$(find "$root/lib/modules/$kver/updates/dkms" -name 'netswap.ko*' | head -1)
	[ -n "$ko" ] || fail "no netswap.ko installed for $kver"
	case $ko in
	*.xz) xz -dc "$ko" >"$T/netswap-$series.ko" ;;
	*) cp "$ko" "$T/netswap-$series.ko" ;;
	esac
	status=$(in_root "$root" dkms status -m netswap -v "$version" -k "$kver")
	grep -q ": installed" <<<"$status" || fail "$kver: dkms status '$status'"
	got=$(modinfo -F vermagic "$T/netswap-$series.ko" | cut -d' ' -f1)
	[ "$got" = "$kver" ] || fail "$series: vermagic $got, expected $kver"
	echo "ok: dkms build and install for $kver (${ko#"$root"})"

	# shellcheck disable=SC2154 # srv_PORT is set by start_server_bin
	"$TOP/tests/tools/kmod-guest" --kernel "$series" --module "$T/netswap-$series.ko" \
		"$TOP/tests/guest/dkms-load.sh" PORT="$srv_PORT" VERSION="$modver" |
		tee "$T/console-$series" || fail "the DKMS module failed in a $series guest"
	grep -q '^KG: all ok' "$T/console-$series" || fail "the $series guest did not finish"
done

in_root "$root" dpkg -r netswap-dkms >"$T/dpkg-r.log" 2>&1 ||
	{ cat "$T/dpkg-r.log"; fail "dpkg -r netswap-dkms"; }
left=$(find "$root/lib/modules" -name 'netswap.ko*')
[ -z "$left" ] || fail "dpkg -r left modules behind: $left"
[ ! -e "$root/var/lib/dkms/netswap" ] || fail "dpkg -r left /var/lib/dkms/netswap"
echo "ok: removing netswap-dkms removes its modules"
