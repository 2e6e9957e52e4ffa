# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2153 # globals shared with lab/run
# What a run changes in the guest beyond the scenario's sizes: module
# parameters of the client's own module (--modparam, e.g. netswap.ko's test
# switch memalloc=0), guest sysctls (the scenario's SC_SYSCTL, then
# --sysctl) and the reserve as a share of `netswap reserve`'s
# recommendation (--reserve), and a change to the guest's kernel itself
# (--livepatch NAME: lab/livepatch/NAME.c, loaded before any other module;
# a lab experiment, never part of netswap).  Each is explicit on the
# command line and shows in the info line: a run without them is the
# default configuration.

# lab_check_tuning: the options are well-formed (before anything starts).
lab_check_tuning() {
	local p
	for p in "${LAB_MODPARAMS[@]}"; do
		[[ $p =~ ^[a-z_][a-z0-9_]*=[A-Za-z0-9_.,-]+$ ]] ||
			lab_die "--modparam wants NAME=VALUE, not '$p'"
	done
	for p in "${LAB_SYSCTLS[@]}"; do
		[[ $p =~ ^[a-z][a-z0-9_.-]*=[0-9]+( [0-9]+)*$ ]] ||
			lab_die "--sysctl wants KEY=NUMBER[ NUMBER...] (e.g. vm.min_free_kbytes=8192), not '$p'"
	done
	if [ -n "$LAB_RESERVE" ]; then
		if ! [[ $LAB_RESERVE =~ ^[0-9]+$ ]] || [ "$LAB_RESERVE" -lt 1 ] ||
			[ "$LAB_RESERVE" -gt 1000 ]; then
			lab_die "--reserve wants a percentage 1..1000, not '$LAB_RESERVE'"
		fi
	fi
	if [ -n "$LAB_LIVEPATCH" ] && { ! [[ $LAB_LIVEPATCH =~ ^[a-z][a-z0-9_]*$ ]] ||
		[ ! -f "$LAB_DIR/livepatch/$LAB_LIVEPATCH.c" ]; }; then
		lab_die "--livepatch: no lab/livepatch/$LAB_LIVEPATCH.c (there are: $(lab_livepatches))"
	fi
	# build-initramfs hands these to the client's own module (client_kos)
	# and puts the livepatch in.
	LAB_KO_PARAMS="${LAB_MODPARAMS[*]}"
	export LAB_KO_PARAMS LAB_LIVEPATCH
}

# lab_livepatches: the names --livepatch takes.
lab_livepatches() {
	find "$LAB_DIR/livepatch" -name '*.c' -printf '%f\n' | sed 's/\.c$//' | sort | paste -sd' '
}

# lab_check_client_tuning: the client plug-in can do what was asked.
lab_check_client_tuning() {
	if [ -n "$LAB_RESERVE" ] && [ "${CLIENT_RESERVE:-0}" != 1 ]; then
		lab_fail_setup "--reserve: client '$LAB_CLIENT' has no reserve estimate"
	fi
	return 0
}

# The sysctls in effect: the scenario's, then the command line's.
lab_sysctls() {
	local s
	for s in "${SC_SYSCTL[@]}" "${LAB_SYSCTLS[@]}"; do
		[ -n "$s" ] && echo "$s"
	done
}

# lab_tuning_cmdline: ns.sysctl=KEY:V_V,KEY:V (spaces as '_', the guest
# undoes it) and ns.reserve=PERCENT.
lab_tuning_cmdline() {
	local s words=''
	while read -r s; do
		[ -n "$s" ] || continue
		s=${s%%=*}:${s#*=}
		words+=${words:+,}${s// /_}
	done < <(lab_sysctls)
	[ -n "$words" ] && echo "ns.sysctl=$words"
	[ -n "$LAB_RESERVE" ] && echo "ns.reserve=$LAB_RESERVE"
	return 0
}

# lab_tuning_desc: for the info line; empty for the defaults.
lab_tuning_desc() {
	local parts=() s
	[ ${#LAB_MODPARAMS[@]} -gt 0 ] && parts+=("modparam ${LAB_MODPARAMS[*]}")
	while read -r s; do
		[ -n "$s" ] && parts+=("sysctl $s")
	done < <(lab_sysctls)
	[ -n "$LAB_RESERVE" ] && parts+=("reserve ${LAB_RESERVE}%")
	[ -n "$LAB_LIVEPATCH" ] && parts+=("livepatch $LAB_LIVEPATCH")
	[ ${#parts[@]} -gt 0 ] && (IFS=';'; echo "${parts[*]}")
	return 0
}

# lab_modparams_ok: every --modparam is what the guest's module reports
# (/sys/module/M/parameters, read back by /init as NS-MODPARAM).
lab_modparams_ok() {
	[ ${#LAB_MODPARAMS[@]} -eq 0 ] && return 0
	[ "${S[modparam_bad]:-0}" = 0 ] &&
		[ "${S[modparam_seen]:-0}" -ge ${#LAB_MODPARAMS[@]} ]
}

# lab_livepatch_ok: the --livepatch asked for is enabled in the guest, its
# transition complete (/init reads /sys/kernel/livepatch back as
# NS-LIVEPATCH; its module is ns_NAME).
lab_livepatch_ok() {
	[ -z "$LAB_LIVEPATCH" ] && return 0
	grep -qw "ns_$LAB_LIVEPATCH" <<<"${S[livepatches]:-}"
}
