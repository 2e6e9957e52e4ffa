# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# The guest's network cards (lab/run --nic): one table for lab/run (which
# names are valid), lab/boot (QEMU's device) and lab/build-initramfs (the
# driver the guest loads).  The first is the default: e1000e, an Intel
# 82574, takes its receive buffers through the reserve-aware allocators;
# virtio-net's ring can run dry below the atomic floor and stop any swap
# client, ours or the stock one, which made lab tests fail at random on a
# loaded machine (docs/lab.md, "The NIC decides").  vmxnet3 allocates a
# packet's replacement buffer before handing the packet up, and when that
# fails drops the packet and reuses its buffer: its ring is never empty.
# One line per card: NAME QEMU-DEVICE DRIVER-MODULES... (in load order).
LAB_NIC_TABLE='e1000e e1000e e1000e
virtio virtio-net-pci virtio_pci virtio_net
vmxnet3 vmxnet3 vmxnet3'
LAB_NICS=$(while read -r name _; do printf '%s ' "$name"; done <<<"$LAB_NIC_TABLE")
LAB_NICS=${LAB_NICS% }
# The default card, for lab/run, lab/boot and lab/build-initramfs.
# shellcheck disable=SC2034 # read by the files that source this one
LAB_NIC_DEFAULT=${LAB_NICS%% *}

# lab_nic_row NIC: "DEVICE MODULES..." of that card; fails for an unknown one.
lab_nic_row() {
	local name row
	while read -r name row; do
		[ "$name" = "$1" ] && { echo "$row"; return 0; }
	done <<<"$LAB_NIC_TABLE"
	return 1
}

# lab_nic_device NIC: QEMU's -device model; fails for an unknown card.
lab_nic_device() {
	local row
	row=$(lab_nic_row "$1") || return 1
	echo "${row%% *}"
}

# lab_nic_modules NIC: the guest's driver modules, in load order.
lab_nic_modules() {
	local row
	row=$(lab_nic_row "$1") || return 1
	echo "${row#* }"
}

# lab_nic_usage: "--nic must be A or B", from the table.
lab_nic_usage() {
	echo "--nic must be ${LAB_NICS// / or }"
}
