#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Userspace NIC drivers through VFIO with a virtual IOMMU (QEMU intel-iommu), in a TCG guest:
# vswitchd --check, vsctl device status/bind/unbind round trips (by address and by interface
# name, default-route refusal), bad cases (device on a kernel driver, dma_entry_limit reached,
# IOMMU group not viable), then an e1000e and a virtio-net port on one bridge with a tap port:
# frames from the host tap cross the switch and leave through the other NIC both ways, counters
# match; RSS over the e1000e's two rx queues; a virtio-net with two queue pairs (control
# virtqueue); doctor; finally the e1000e is unbound under traffic: the daemon gives it back and
# keeps running.
source "$(dirname "$0")/lib.sh"
vsg_require
trap vsg_cleanup EXIT
vsg_prepare || { not_ok "guest preparation"; vsg_done; }
vsg_boot vfio || { not_ok "guest boot"; vsg_done; }
E=$VSG_E1000E
V=$VSG_VIRTIO
N=60

# ---- before vfio is loaded: --check names what is missing ----
g 'modprobe e1000e && modprobe virtio_net && modprobe tun' >/dev/null
out=$(g 'echo "{}" >/tmp/empty.yaml; vswitchd --check -c /tmp/empty.yaml')
expect_match "--check: IOMMU groups seen" 'ok  \] IOMMU enabled: [0-9]+ IOMMU groups' "$out"
expect_match "--check: vfio-pci missing, with fix" 'vfio-pci is not loaded' "$out"
expect_match "--check: fix says modprobe" 'fix: modprobe vfio-pci' "$out"

g 'modprobe vfio_pci && modprobe vfio_iommu_type1 && echo 48 >/proc/sys/vm/nr_hugepages &&
   sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1' >/dev/null
out=$(g 'vswitchd --check -c /tmp/empty.yaml')
expect_match "--check: vfio loaded" 'ok  \] vfio and vfio-pci are loaded' "$out"
expect_match "--check: hugepages per node" 'hugepages 2048kB on node0: 48 reserved' "$out"
expect_match "--check: no-IOMMU mode unavailable in Debian's kernel" \
	'no-IOMMU mode is not available' "$out"

vsg_guest_vswitchd || { not_ok "vswitchd starts in the guest"; vsg_done; }
ok "vswitchd runs in the guest"
g 'vsctl add-br br0' >/dev/null

# ---- device status / bind / unbind ----
VIF=$(g "ls /sys/bus/pci/devices/$V/virtio*/net")
EIF=$(g "ls /sys/bus/pci/devices/$E/net")
out=$(g 'vsctl device status')
expect_match "status: e1000e on its kernel driver" "$E '82574L.*' 8086:10d3 if=$EIF drv=e1000e" \
	"$out"
expect_match "status: virtio-net on virtio-pci" "$V 'Virtio 1.0 network device' 1af4:1041 if=$VIF drv=virtio-pci" "$out"

out=$(g "vsctl add-port br0 bad0 type=pci pci=$E 2>&1")
expect_match "bad case: device on a kernel driver is refused" \
	"in use by kernel driver e1000e \(interface $EIF\): bind it to vfio-pci first" "$out"
expect_eq "daemon alive after the refusal" 0 "$(g 'vsctl show >/dev/null; echo $?')"

g "ip link set $VIF up && ip addr add 10.9.0.2/24 dev $VIF && ip route add default via 10.9.0.1" \
	>/dev/null
out=$(g "vsctl device status")
expect_match "status: default route interface is marked" "if=$VIF .*\*Active, default route\*" "$out"
out=$(g "vsctl device bind $VIF vfio-pci 2>&1; echo rc=\$?" | tr '\n' ' ')
expect_match "bind refuses the default route interface" \
	"refusing to bind $V: its interface $VIF carries the default route.*rc=1" "$out"
out=$(g "vsctl device bind --force $VIF vfio-pci; echo rc=\$?" | tr '\n' ' ')
expect_match "bind by interface name with --force" "$V: virtio-pci -> vfio-pci.*rc=0" "$out"
out=$(g "vsctl device bind $E vfio-pci; echo rc=\$?" | tr '\n' ' ')
expect_match "bind the e1000e by address" "$E: e1000e -> vfio-pci.*rc=0" "$out"
out=$(g "vsctl device unbind $E" && g "vsctl -j device status")
expect_eq "unbind leaves it without a driver" "unused" \
	"$(printf '%s' "$out" | sed 1d | python3 -c '
import json,sys
print([d["kind"] for d in json.load(sys.stdin) if d["pci"]==sys.argv[1]][0])' "$E")"
out=$(g "vsctl device bind $E e1000e && sleep 0.5 && ls /sys/bus/pci/devices/$E/net")
expect_match "round trip back to the kernel driver: interface is back" "^eth|^en" "$out"
out=$(g "vsctl device bind $E vfio-pci && vsctl device status")
expect_match "status: virtio-net on vfio-pci" "^$V .*drv=vfio-pci iommu_group=[0-9]+" "$out"
expect_match "status: e1000e on vfio-pci" "^$E .*drv=vfio-pci iommu_group=[0-9]+" "$out"

# ---- bad case: VFIO's dma_entry_limit reached (one mapping for the packet pool, one per
# port's ring memory: a limit of 2 leaves no room for a second port) ----
vsg_guest_vswitchd_stop
g 'rmmod vfio_iommu_type1 && modprobe vfio_iommu_type1 dma_entry_limit=2' >/dev/null
vsg_guest_vswitchd || not_ok "vswitchd restarts"
out=$(g "vsctl add-br br0 && vsctl add-port br0 nic-e type=pci pci=$E rxd=256 txd=256 &&
	vsctl add-port br0 nic-v type=pci pci=$V rxd=256 txd=256 2>&1; vsctl show" | tr '\n' ' ')
expect_match "bad case: the error names dma_entry_limit and the fix" \
	"dma_entry_limit \(2 mappings, 2 made by vswitchd\); raise it: modprobe vfio_iommu_type1 dma_entry_limit=N" \
	"$out"
expect_match "daemon alive, the first port still up" "Port nic-e .*state: started" "$out"
vsg_guest_vswitchd_stop
g 'rmmod vfio_iommu_type1 && modprobe vfio_iommu_type1' >/dev/null
vsg_guest_vswitchd || { not_ok "vswitchd restarts"; vsg_done; }
g 'vsctl add-br br0' >/dev/null

# ---- bad case: IOMMU group not viable (third NIC shares a group with the control channel) ----
out=$(g "vsctl device bind 0000:01:02.0 vfio-pci && vsctl add-port br0 bad1 type=pci pci=0000:01:02.0 2>&1")
expect_match "group not viable names the device to unbind" \
	"IOMMU group [0-9]+ is not viable.*unbind 0000:01:01.0 \(bound to virtio-pci\)" "$out"
g "vsctl device unbind 0000:01:02.0" >/dev/null

# ---- traffic: tap -> e1000e -> switch -> virtio-net -> UDP, and back ----
out=$(g "vsctl add-port br0 nic-e type=pci pci=$E rxq=2 txq=2 rxd=256 txd=256 &&
	vsctl add-port br0 nic-v type=pci pci=$V rxd=256 txd=256 &&
	vsctl add-port br0 int0 type=tap iface=vsgint0 && vsctl show" 2>&1)
expect_match "pci ports up with IOVA as VA" "iova_mode=va" "$out"
expect_match "e1000e through vfio" "access=vfio, .*pmd=e1000e" "$out"
expect_match "e1000e RSS on 2 queues" "rss=\"on \(2 queues\)\"" "$out"
expect_match "virtio-net through vfio with ACCESS_PLATFORM" \
	"access_platform=true.*pmd=virtio-net" "$out"
g "ip link set vsgint0 up" >/dev/null
sleep 1
g "vsctl clear-stats" >/dev/null

pkt recv-udp "$VSG_HPORT" 20 "$N" 02:00:00:00:0e:01 >"$VSG_RUN/udp.out" &
P1=$!
sleep 0.3
pkt send-tap "$VSG_TAP" "$N" 02:00:00:00:0e:01 >/dev/null
wait $P1
expect_eq "host tap -> e1000e -> switch -> virtio-net -> host" "got $N" "$(cat "$VSG_RUN/udp.out")"
pkt recv-tap "$VSG_TAP" 20 "$N" 02:00:00:00:0f:01 >"$VSG_RUN/tap.out" &
P2=$!
sleep 0.3
pkt send-udp "$VSG_QPORT" "$N" 02:00:00:00:0f:01 >/dev/null
wait $P2
expect_eq "host -> virtio-net -> switch -> e1000e -> host tap" "got $N" "$(cat "$VSG_RUN/tap.out")"
sleep 0.5
expect_eq "nic-e rx_packets" "$N" "$(port_stat nic-e rx_packets)"
expect_eq "nic-e tx_packets" "$N" "$(port_stat nic-e tx_packets)"
expect_eq "nic-v rx_packets" "$N" "$(port_stat nic-v rx_packets)"
expect_eq "nic-v tx_packets" "$N" "$(port_stat nic-v tx_packets)"
expect_eq "int0 (tap) got the flood of both" "$((2 * N))" "$(port_stat int0 tx_packets)"
# RSS: IPv4 frames from 40 source addresses spread over the e1000e's two rx queues.
g "vsctl clear-stats" >/dev/null
pkt recv-udp "$VSG_HPORT" 20 40 02:00:00:00:0e:03 >"$VSG_RUN/udp2.out" &
P4=$!
sleep 0.3
pkt send-tap-ip "$VSG_TAP" 40 02:00:00:00:0e:03 >/dev/null
wait $P4
expect_eq "IPv4 frames cross the switch" "got 40" "$(cat "$VSG_RUN/udp2.out")"
st=$(g "vsctl -j get-stats nic-e")
q0=$(printf '%s' "$st" | jget ports.0.rxq.0.packets)
q1=$(printf '%s' "$st" | jget ports.0.rxq.1.packets)
expect_eq "per-queue rx counters add up" 40 "$((q0 + q1))"
[ "${q0:-0}" -gt 0 ] && [ "${q1:-0}" -gt 0 ] && ok "RSS used both rx queues ($q0 + $q1)" ||
	not_ok "RSS: queue 0 got ${q0:-?}, queue 1 got ${q1:-?}"
# virtio-net multi-queue: 2 queue pairs set through the control virtqueue; the host tap spreads
# flows over the queues, frames cross the switch to the e1000e.
M=$VSG_VIRTIO_MQ
out=$(g "vsctl device bind $M vfio-pci && vsctl add-port br0 nic-m type=pci pci=$M rxq=2 txq=2 \
	rxd=256 txd=256 && vsctl show" 2>&1 | tr '\n' ' ')
expect_match "virtio-net with 2 queue pairs" "Port nic-m .*max_queue_pairs=2.*queue_pairs=2" "$out"
g "vsctl clear-stats" >/dev/null
pkt recv-tap "$VSG_TAP" 20 40 02:00:00:00:0d:01 >"$VSG_RUN/tap3.out" &
P5=$!
sleep 0.3
pkt send-tap-ip "$VSG_TAP2" 40 02:00:00:00:0d:01 >/dev/null
wait $P5
expect_eq "multi-queue virtio-net -> switch -> e1000e -> host" "got 40" "$(cat "$VSG_RUN/tap3.out")"
st=$(g "vsctl -j get-stats nic-m")
m0=$(printf '%s' "$st" | jget ports.0.rxq.0.packets)
m1=$(printf '%s' "$st" | jget ports.0.rxq.1.packets)
expect_eq "nic-m per-queue rx counters add up" 40 "$((m0 + m1))"
[ "${m0:-0}" -gt 0 ] && [ "${m1:-0}" -gt 0 ] && ok "virtio-net received on both queue pairs ($m0 + $m1)" ||
	not_ok "virtio-net multi-queue: queue 0 got ${m0:-?}, queue 1 got ${m1:-?}"
g "vsctl del-port nic-m" >/dev/null
hw=$(port_status nic-e hw_rx_good)
[ "${hw:-0}" -ge "$N" ] && ok "e1000e hardware counter hw_rx_good ($hw)" ||
	not_ok "e1000e hw_rx_good $hw < $N"
out=$(g 'vsctl doctor; echo rc=$?')
expect_match "doctor in the running daemon" "IOVA mode in use: va; VFIO DMA mappings: [1-9]" "$out"
expect_match "doctor: configured devices checked" "$E is bound to vfio-pci" "$out"

# ---- device removed (unbind) under traffic ----
pkt send-tap "$VSG_TAP" 1500 02:00:00:00:0e:02 2 >/dev/null &
P3=$!
VSG_PIDS+=("$P3")
sleep 1
out=$(g "time echo $E >/sys/bus/pci/drivers/vfio-pci/unbind; echo rc=\$?" 30)
expect_match "kernel unbind completes while vswitchd used the device" "rc=0" "$out"
sleep 1
expect_eq "daemon keeps running, port marked broken" "broken" "$(port_status nic-e state)"
expect_match "log says the device went back to the kernel" \
	"device $E given back to the kernel" "$(g 'tail -5 /tmp/vswitchd.log')"
out=$(g "vsctl device status" | grep "$E")
expect_match "the e1000e is now without a driver" "$E .* 8086:10d3 iommu_group=[0-9]+ port=nic-e\$" \
	"$out"
g "vsctl del-port nic-e" >/dev/null
expect_eq "broken port deleted cleanly" 0 "$(g 'vsctl show >/dev/null; echo $?')"
kill "$P3" 2>/dev/null
vsg_guest_vswitchd_stop && ok "vswitchd stops on SIGTERM" || not_ok "vswitchd did not stop"
vsg_done
