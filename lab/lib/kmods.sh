# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Kernel modules for the guest, from an unpacked Debian kernel: find a
# module by name, skip built-ins, read depends= from .modinfo and order the
# list so that every module follows what it depends on.  The image package
# ships no modules.dep, hence this.

# kmod_index MODDIR: "name path" for every module file (name as the kernel
# spells it, '-' folded to '_').
kmod_index() {
	find "$1/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' |
		while read -r f; do
			local b=${f##*/}
			b=${b%%.ko*}
			echo "${b//-/_} $f"
		done
}

# kmod_extract FILE OUT: the plain .ko (decompressed if needed).
kmod_extract() {
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# kmod_depends KO: its depends= list, one per line.
kmod_depends() {
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' '\n' | sed '/^$/d'
}

# kmod_params KO: the names of its module parameters, one per line.
kmod_params() {
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
		tr '\0' '\n' | sed -n 's/^parmtype=\([^:]*\):.*/\1/p'
}

# kmod_resolve MODDIR OUTDIR NAME...: extract NAME and its dependencies into
# OUTDIR as NAME.ko and print their names in load order.  Built-ins are
# skipped; an unknown name fails.
kmod_resolve() {
	local moddir=$1 out=$2 index builtin
	shift 2
	index=$(kmod_index "$moddir")
	builtin=$(sed 's#.*/##; s#\.ko.*##; s#-#_#g' "$moddir/modules.builtin" 2>/dev/null || true)
	local -A seen=()
	_kmod_visit() {
		local name=${1//-/_} path dep
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		if grep -qx "$name" <<<"$builtin"; then
			return 0
		fi
		path=$(awk -v n="$name" '$1 == n { print $2; exit }' <<<"$index")
		[ -n "$path" ] || { echo "kmod: no module $name in $moddir" >&2; return 1; }
		kmod_extract "$path" "$out/$name.ko"
		for dep in $(kmod_depends "$out/$name.ko"); do
			_kmod_visit "$dep" || return 1
		done
		echo "$name"
	}
	local m
	for m in "$@"; do
		_kmod_visit "$m" || return 1
	done
}

# kmod_netswap_deps: what netswap.ko needs loaded first, in order.  Its
# crc32c() comes from libcrc32c, which asks the crypto API for "crc32c" at
# load: without modprobe in the guest, the implementations (the SSE4.2 one,
# which TCG's "-cpu max" emulates, and the generic fallback) go first.
kmod_netswap_deps() {
	echo configfs crc32c_intel crc32c_generic libcrc32c
}
