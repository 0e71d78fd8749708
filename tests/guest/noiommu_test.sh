#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace NIC drivers through VFIO no-IOMMU mode (/dev/vfio/noiommu-N) in a TCG guest without
# an IOMMU: the vfio modules are rebuilt with CONFIG_VFIO_NOIOMMU (Debian builds without it).
# vfio-pci first refuses the devices (probe error -22, no IOMMU) and vsctl explains it; with
# enable_unsafe_noiommu_mode the e1000e and the virtio-net (no ACCESS_PLATFORM) DMA to physical
# addresses (IOVA as PA from /proc/self/pagemap, hugepages): the same traffic test as vfio.
source "$(dirname "$0")/lib.sh"
vsg_require
command -v make >/dev/null && command -v gcc >/dev/null ||
	{ echo "$VSG_NAME: SKIP: needs make and gcc to rebuild the vfio modules"; exit 77; }
trap vsg_cleanup EXIT
vsg_prepare noiommu || { not_ok "guest preparation (no-IOMMU vfio modules)"; vsg_done; }
vsg_boot noiommu || { not_ok "guest boot"; vsg_done; }
E=$VSG_E1000E
V=$VSG_VIRTIO
N=60

g 'modprobe e1000e && modprobe virtio_net && modprobe tun && modprobe vfio_pci &&
   echo 48 >/proc/sys/vm/nr_hugepages &&
   sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1' >/dev/null
out=$(g 'echo "{}" >/tmp/empty.yaml; vswitchd --check -c /tmp/empty.yaml')
expect_match "--check: no IOMMU, with the fix (a note: no pci port configured)" 'note\] no IOMMU: ' "$out"
expect_match "--check: no-IOMMU mode available but off" 'no-IOMMU mode is available but off' "$out"
expect_match "--check: fix enables it" 'fix: echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode' "$out"

vsg_guest_vswitchd || { not_ok "vswitchd starts in the guest"; vsg_done; }
out=$(g "vsctl device bind $E vfio-pci 2>&1" | tr '\n' ' ')
expect_match "bad case: vfio-pci refuses without IOMMU, error -22 explained" \
	"vfio-pci refused $E: the device has no IOMMU group \(probe error -22 means no IOMMU support\)" \
	"$out"
expect_eq "daemon alive after the refusal" 0 "$(g 'vsctl show >/dev/null; echo $?')"

g 'echo 1 >/sys/module/vfio/parameters/enable_unsafe_noiommu_mode' >/dev/null
out=$(g "vsctl device bind $E vfio-pci && vsctl device bind $V vfio-pci && ls /dev/vfio" | tr '\n' ' ')
expect_match "both NICs bound, no-IOMMU group nodes" "noiommu-[0-9].*noiommu-[0-9]" "$out"
out=$(g 'vsctl doctor')
expect_match "doctor: no-IOMMU mode is on" "no-IOMMU mode is enabled" "$out"

out=$(g "vsctl add-br br0 && vsctl add-port br0 nic-e type=pci pci=$E rxd=256 txd=256 &&
	vsctl add-port br0 nic-v type=pci pci=$V rxd=256 txd=256 &&
	vsctl add-port br0 int0 type=tap iface=vsgint0 && vsctl show" 2>&1)
expect_match "e1000e through VFIO no-IOMMU" "access=vfio-noiommu, .*pmd=e1000e" "$out"
expect_match "virtio-net without ACCESS_PLATFORM" "access_platform=false.*pmd=virtio-net" "$out"
expect_match "IOVA as PA" "iova_mode=pa" "$out"
expect_match "memory.show says pa" "iova_mode: +pa" "$(g 'vsctl memory-show')"
g "ip link set vsgint0 up && vsctl clear-stats" >/dev/null
sleep 1

pkt recv-udp "$VSG_HPORT" 20 "$N" 02:00:00:00:0e:01 >"$VSG_RUN/udp.out" &
P1=$!
sleep 0.3
pkt send-tap "$VSG_TAP" "$N" 02:00:00:00:0e:01 >/dev/null
wait $P1
expect_eq "host tap -> e1000e -> switch -> virtio-net -> host (PA)" "got $N" "$(cat "$VSG_RUN/udp.out")"
pkt recv-tap "$VSG_TAP" 20 "$N" 02:00:00:00:0f:01 >"$VSG_RUN/tap.out" &
P2=$!
sleep 0.3
pkt send-udp "$VSG_QPORT" "$N" 02:00:00:00:0f:01 >/dev/null
wait $P2
expect_eq "host -> virtio-net -> switch -> e1000e -> host tap (PA)" "got $N" "$(cat "$VSG_RUN/tap.out")"
sleep 0.5
expect_eq "nic-e rx_packets" "$N" "$(port_stat nic-e rx_packets)"
expect_eq "nic-e tx_packets" "$N" "$(port_stat nic-e tx_packets)"
expect_eq "nic-v rx_packets" "$N" "$(port_stat nic-v rx_packets)"
expect_eq "nic-v tx_packets" "$N" "$(port_stat nic-v tx_packets)"
expect_match "kernel taint logged for no-IOMMU use" "vfio-noiommu device opened by user" \
	"$(g 'dmesg | grep -i noiommu')"

out=$(g "vsctl del-port nic-e && vsctl del-port nic-v && vsctl device unbind $E &&
	vsctl device bind $E e1000e && sleep 0.3 && ls /sys/bus/pci/devices/$E/net" 2>&1)
expect_match "ports deleted, e1000e back on its kernel driver" "^eth|^en" "$out"
vsg_guest_vswitchd_stop && ok "vswitchd stops on SIGTERM" || not_ok "vswitchd did not stop"
vsg_done
