#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace NIC drivers through uio_pci_generic in a TCG guest without an IOMMU: BARs from sysfs
# resource files, IOVA as PA. Bad case first: without hugepages, IOVA as PA is impossible and
# the port is refused with the reason while the daemon keeps running. Then the traffic test of
# vfio_test.sh, and a device unbound under traffic (detected by the port's periodic check).
source "$(dirname "$0")/lib.sh"
vsg_require
trap vsg_cleanup EXIT
vsg_prepare || { not_ok "guest preparation"; vsg_done; }
vsg_boot uio || { not_ok "guest boot"; vsg_done; }
E=$VSG_E1000E
V=$VSG_VIRTIO
N=60

g 'modprobe e1000e && modprobe virtio_net && modprobe tun && modprobe uio_pci_generic &&
   echo 0 >/proc/sys/vm/nr_hugepages &&
   sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1' >/dev/null
out=$(g 'echo "{}" >/tmp/empty.yaml; vswitchd --check -c /tmp/empty.yaml')
expect_match "--check: uio_pci_generic loaded" 'uio_pci_generic is loaded' "$out"
expect_match "--check: no hugepages, IOVA as PA impossible" 'no hugepages reserved.*IOVA as PA' "$out"

# ---- bad case: no hugepages for PA mode ----
vsg_guest_vswitchd || { not_ok "vswitchd starts in the guest"; vsg_done; }
out=$(g "vsctl device bind $E uio_pci_generic && vsctl add-br br0 &&
	vsctl add-port br0 nic-e type=pci pci=$E 2>&1" | tr '\n' ' ')
expect_match "bad case: no hugepages for IOVA as PA" \
	"needs IOVA as physical addresses \(uio_pci_generic has no IOMMU\).*hugepages" "$out"
expect_eq "daemon alive after the refusal" 0 "$(g 'vsctl show >/dev/null; echo $?')"
vsg_guest_vswitchd_stop

g 'echo 48 >/proc/sys/vm/nr_hugepages' >/dev/null
vsg_guest_vswitchd || { not_ok "vswitchd restarts with hugepages"; vsg_done; }
out=$(g "vsctl device bind $V uio_pci_generic && vsctl device status" | tr '\n' ' ')
expect_match "status: both NICs on uio" "using uio.*$V .*drv=uio_pci_generic" "$out"
out=$(g "vsctl add-br br0 && vsctl add-port br0 nic-e type=pci pci=$E rxd=256 txd=256 &&
	vsctl add-port br0 nic-v type=pci pci=$V rxd=256 txd=256 &&
	vsctl add-port br0 int0 type=tap iface=vsgint0 && vsctl show" 2>&1)
expect_match "e1000e through uio" "access=uio, .*pmd=e1000e" "$out"
expect_match "virtio-net through uio" "access=uio, .*pmd=virtio-net" "$out"
expect_match "IOVA as PA" "iova_mode=pa" "$out"
g "ip link set vsgint0 up && vsctl clear-stats" >/dev/null
sleep 1

pkt recv-udp "$VSG_HPORT" 20 "$N" 02:00:00:00:0e:01 >"$VSG_RUN/udp.out" &
P1=$!
sleep 0.3
pkt send-tap "$VSG_TAP" "$N" 02:00:00:00:0e:01 >/dev/null
wait $P1
expect_eq "host tap -> e1000e -> switch -> virtio-net -> host (uio)" "got $N" "$(cat "$VSG_RUN/udp.out")"
pkt recv-tap "$VSG_TAP" 20 "$N" 02:00:00:00:0f:01 >"$VSG_RUN/tap.out" &
P2=$!
sleep 0.3
pkt send-udp "$VSG_QPORT" "$N" 02:00:00:00:0f:01 >/dev/null
wait $P2
expect_eq "host -> virtio-net -> switch -> e1000e -> host tap (uio)" "got $N" "$(cat "$VSG_RUN/tap.out")"
sleep 0.5
expect_eq "nic-e rx_packets" "$N" "$(port_stat nic-e rx_packets)"
expect_eq "nic-e tx_packets" "$N" "$(port_stat nic-e tx_packets)"
expect_eq "nic-v rx_packets" "$N" "$(port_stat nic-v rx_packets)"
expect_eq "nic-v tx_packets" "$N" "$(port_stat nic-v tx_packets)"

# ---- device removed under traffic ----
pkt send-tap "$VSG_TAP" 1500 02:00:00:00:0e:02 2 >/dev/null &
P3=$!
VSG_PIDS+=("$P3")
sleep 1
out=$(g "echo $E >/sys/bus/pci/drivers/uio_pci_generic/unbind; echo rc=\$?" 30)
expect_match "unbind from uio_pci_generic under traffic" "rc=0" "$out"
sleep 2
expect_eq "daemon keeps running, port marked broken" "broken" "$(port_status nic-e state)"
expect_match "log says why" "device $E: the device was unbound from its driver" \
	"$(g 'grep -a unbound /tmp/vswitchd.log')"
kill "$P3" 2>/dev/null
expect_eq "the other port still works" "up" \
	"$(g 'vsctl -j list-ports' | python3 -c '
import json,sys
print([("up" if p.get("link") else "down") for p in json.load(sys.stdin) if p["name"]=="nic-v"][0])')"
# Round trip with vsctl: the virtio-net back to its kernel driver, its interface returns.
out=$(g "vsctl del-port nic-v && vsctl device bind $V virtio-pci && sleep 0.5 &&
	ls /sys/bus/pci/devices/$V/virtio*/net" 2>&1)
expect_match "virtio-net back on virtio-pci with an interface" "^eth|^en" "$out"
vsg_guest_vswitchd_stop && ok "vswitchd stops on SIGTERM" || not_ok "vswitchd did not stop"
vsg_done
