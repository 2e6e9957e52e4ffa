# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# For the packaging tests (test-deb-build, test-deploy-*, test-dkms):
# the packages from make deb, a Debian root to install them into (a
# chroot: a directory, never a block device on the host), and a QEMU boot
# of that root.  Source it after functions.sh.

DEPLOY_PACKAGES=(netswapd netswap-client netswap-dkms)

# deploy_debs: make deb (it reuses build/deb when the tree has not
# changed since) and set DEBS to the three packages' files.
deploy_debs() {
	local p f
	make -s -C "$TOP" deb >"$T/make-deb.log" 2>&1 ||
		{ tail -30 "$T/make-deb.log"; fail "make deb failed"; }
	DEBS=()
	for p in "${DEPLOY_PACKAGES[@]}"; do
		f=$(find "$TOP/build/deb" -maxdepth 1 -name "${p}_*.deb" | head -1)
		[ -n "$f" ] || fail "make deb made no $p package"
		DEBS+=("$f")
	done
}

# deploy_depends DEB...: the packages DEB... depend on (the first of each
# alternative, no versions), but not each other: what the Debian root must
# hold for dpkg -i to configure them, as debian-root --with arguments
# (one word a line).
deploy_depends() {
	local d p
	for d in "$@"; do
		dpkg-deb -f "$d" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g'
	done | sort -u | while read -r p; do
		[ -n "$p" ] || continue
		case " ${DEPLOY_PACKAGES[*]} " in
		*" $p "*) ;;
		*) printf -- '--with\n%s\n' "$p" ;;
		esac
	done
}

# in_root DIR CMD...: CMD chrooted in DIR with a /proc of its own, in a
# private mount and PID namespace: the mount and every process go away
# with it, whatever happens.  (dkms needs /proc and /dev/fd.)
in_root() {
	local dir=$1
	shift
	ln -sfn /proc/self/fd "$dir/dev/fd"
	unshare --mount --pid --fork --mount-proc="$dir/proc" \
		chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# deploy_root DIR ARGS...: a private copy of the cached Debian root built
# by tests/tools/debian-root ARGS, at DIR.
deploy_root() {
	local dir=$1 cached
	shift
	cached=$("$TOP/tests/tools/debian-root" "$@") || fail "no Debian root"
	cp -a "$cached" "$dir" || fail "cannot copy $cached"
}

# deploy_install DIR DEB...: dpkg -i the packages in the root at DIR, as
# an administrator would (their maintainer scripts run: DKMS builds the
# module, the initramfs is rebuilt).  The log is $T/dpkg.log.
deploy_install() {
	local dir=$1 d names=()
	shift
	mkdir -p "$dir/tmp/debs"
	for d in "$@"; do
		cp "$d" "$dir/tmp/debs/"
		names+=("/tmp/debs/${d##*/}")
	done
	in_root "$dir" dpkg -i "${names[@]}" >"$T/dpkg.log" 2>&1 ||
		{ tail -30 "$T/dpkg.log"; fail "dpkg -i of the packages failed"; }
	rm -rf "$dir/tmp/debs"
}

# deploy_boot IMAGE KERNEL INITRD APPEND CONSOLE TIMEOUT [MEM]: boot the
# root filesystem IMAGE (a file, attached as a virtio disk) in QEMU TCG with
# user networking (the host's loopback is 10.0.2.2), holding the machine's
# QEMU lock for the guest's whole life; wait until it powers off.  Fails
# if that takes more than TIMEOUT seconds from the moment the lock is held.
# The serial console is written to CONSOLE.
deploy_boot() {
	local image=$1 kernel=$2 initrd=$3 append=$4 console=$5 timeout=$6
	local mem=${7:-512} pid deadline
	: >"$console"
	rm -f "$console.started"
	(
		exec 9>>/tmp/netswap-qemu.lock
		flock 9
		touch "$console.started"
		exec qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$mem" \
			-nographic -nodefaults -no-reboot \
			-kernel "$kernel" -initrd "$initrd" -append "$append" \
			-drive "file=$image,if=virtio,format=raw,cache=unsafe" \
			-netdev user,id=n0 -device virtio-net-pci,netdev=n0,romfile= \
			-serial "file:$console" </dev/null
	) 2>"$T/qemu.err" &
	pid=$!
	_pids+=("$pid")
	# The clock starts once the lock is ours: other guests may run first.
	local t0=$SECONDS
	while [ ! -e "$console.started" ] && kill -0 "$pid" 2>/dev/null; do
		sleep 1
	done
	echo "deploy_boot: waited $((SECONDS - t0)) s for the QEMU lock"
	t0=$SECONDS
	deadline=$(($(date +%s) + timeout))
	while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
		sleep 1
	done
	if kill -0 "$pid" 2>/dev/null; then
		tr -d '\r' <"$console" | tail -40
		fail "the guest did not power off within ${timeout}s"
	fi
	wait "$pid" || { cat "$T/qemu.err"; fail "QEMU failed"; }
	echo "deploy_boot: the guest ran $((SECONDS - t0)) s"
}

# assert_clean_console FILE: no I/O error, hung task or kernel complaint.
assert_clean_console() {
	local bad
	bad=$(grep -E 'I/O error|blocked for more than|Write-error on swap|Read-error on swap|Oops: |BUG: |Kernel panic|Call Trace|general protection fault' "$1" || true)
	[ -z "$bad" ] || fail "the console shows: $bad"
}

# line_of FILE REGEX: the first line number matching (0 if none).
line_of() {
	local n
	n=$(grep -n -m1 -E "$2" "$1" | cut -d: -f1)
	echo "${n:-0}"
}
