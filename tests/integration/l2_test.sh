#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# L2 switching with real traffic: hosts in network namespaces on veth pairs attached as
# af_packet ports. Ping and TCP (iperf3), VLAN isolation (access and trunk), MAC move, ports
# added and removed under traffic without leaks, a tap port reachable from the host.
source "$(dirname "$0")/lib.sh"
require_root
vs_start || vs_done

in_use() { vsctl -j mempool-list | jq '[.[].in_use] | add'; }
baseline=$(in_use)

check "add-br br0" vsctl add-br br0
v1=$(host h1 10.77.0.1/24)
v2=$(host h2 10.77.0.2/24)
check "add af_packet port h1" vsctl add-port br0 h1 type=af_packet iface="$v1"
check "add af_packet port h2" vsctl add-port br0 h2 type=af_packet iface="$v2"
check_fails "af_packet on a missing interface fails" vsctl add-port br0 hx type=af_packet iface=nosuch$T_ID
out=$(vsctl add-port br0 hx type=af_packet iface=nosuch$T_ID 2>&1)
check_match "error names the interface" "nosuch$T_ID" "$out"

check "h1 pings h2 through the switch" in_host h1 ping -c 3 -i 0.2 -W 2 10.77.0.2
mac2=$(in_host h2 cat /sys/class/net/h2/address)
check "fdb learned h2's MAC on port h2" sh -c "$VSCTL --socket $VS_SOCK -j fdb-show br0 | jq -e '.[] | select(.mac==\"$mac2\") | .port == \"h2\"'"

if command -v iperf3 >/dev/null; then
	in_host h2 iperf3 -s -1 -D -p 5201 >/dev/null 2>&1
	sleep 0.3
	out=$(in_host h1 iperf3 -c 10.77.0.2 -p 5201 -t 3 -J 2>&1)
	bps=$(printf '%s' "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	check "iperf3 TCP through the switch ($(printf '%.0f' "${bps:-0}") bit/s)" \
		awk -v b="${bps:-0}" 'BEGIN { exit !(b > 1000000) }'
else
	fail "iperf3 not installed"
fi
rx=$(vsctl -j get-stats h1 | jq '.ports[0].rx_packets')
check "port counters move (h1 rx_packets=$rx)" test "${rx:-0}" -gt 100

# VLANs: a1/a2 access VLAN 10, b1 access VLAN 20, t1 a trunk carrying 10 and 20. Trunk frames
# are raw tagged frames (rawframe.py), so no kernel 802.1Q support is needed in the hosts.
RAW="python3 $(dirname "$0")/rawframe.py"
check "add-br brv" vsctl add-br brv
va1=$(host a1 10.10.0.1/24); va2=$(host a2 10.10.0.2/24); vb1=$(host b1 10.10.0.3/24)
vt1=$(host t1 "")
check "access port VLAN 10 (a1)" vsctl add-port brv a1 type=af_packet iface="$va1" tag=10
check "access port VLAN 10 (a2)" vsctl add-port brv a2 type=af_packet iface="$va2" tag=10
check "access port VLAN 20 (b1)" vsctl add-port brv b1 type=af_packet iface="$vb1" tag=20
check "trunk port 10,20 (t1)" vsctl add-port brv t1 type=af_packet iface="$vt1" trunks=10,20
check "same VLAN: a1 pings a2" in_host a1 ping -c 2 -i 0.2 -W 2 10.10.0.2
check_fails "VLAN isolation: a1 cannot reach b1 (VLAN 20)" in_host a1 ping -c 2 -i 0.2 -W 1 10.10.0.3
for h in a1 b1 t1; do
	in_host $h $RAW recv $h 6 >"$T_DIR/raw-$h.json" &
	T_PIDS+=($!)
done
sleep 1
in_host t1 $RAW send t1 5 T10 10
in_host t1 $RAW send t1 5 T20 20
in_host t1 $RAW send t1 5 T30 30
in_host a1 $RAW send a1 5 A10
in_host b1 $RAW send b1 5 B20
wait "${T_PIDS[@]: -3}" 2>/dev/null
ra1=$(cat "$T_DIR/raw-a1.json"); rb1=$(cat "$T_DIR/raw-b1.json"); rt1=$(cat "$T_DIR/raw-t1.json")
check_eq "a1 (access 10) got the trunk's VLAN 10 frames untagged, nothing else" \
	'{"T10/0":5}' "$(echo "$ra1" | jq -c 'with_entries(select(.key | startswith("A") | not))')"
check_eq "b1 (access 20) got the trunk's VLAN 20 frames untagged, nothing else" \
	'{"T20/0":5}' "$(echo "$rb1" | jq -c 'with_entries(select(.key | startswith("B") | not))')"
check_eq "t1 (trunk) got a1's frames tagged 10 and b1's tagged 20" \
	'{"A10/10":5,"B20/20":5}' "$(echo "$rt1" | jq -c 'with_entries(select(.key | startswith("T") | not))')"
check "VLAN 30 (not in trunks) counted as a drop" sh -c "$VSCTL --socket $VS_SOCK -j get-stats t1 | jq -e '.ports[0].drops.dp_rx_vlan >= 5'"
check "fdb separates VLANs" sh -c "$VSCTL --socket $VS_SOCK -j fdb-show brv | jq -e '[.[].vlan] | unique | length >= 2'"

# MAC move: h3 takes h2's MAC; after h3 talks, the fdb points at h3.
v3=$(host h3 10.77.0.3/24)
check "add port h3" vsctl add-port br0 h3 type=af_packet iface="$v3"
in_host h2 ip link set h2 down
in_host h3 ip link set h3 down
in_host h3 ip link set h3 address "$mac2"
in_host h3 ip addr add 10.77.0.2/24 dev h3
in_host h3 ip link set h3 up
in_host h1 ip neigh flush dev h1
check "h1 reaches the moved host" in_host h1 ping -c 3 -i 0.2 -W 2 10.77.0.2
check "MAC move: fdb points at h3" sh -c "$VSCTL --socket $VS_SOCK -j fdb-show br0 | jq -e '.[] | select(.mac==\"$mac2\") | .port == \"h3\"'"

# Ports added and removed under traffic.
in_host h1 ping -f -w 6 10.77.0.2 >"$T_DIR/flood.log" 2>&1 &
T_PIDS+=($!)
churn_ok=1
for i in $(seq 1 15); do
	vsctl add-port br0 "c$i" type=null rx=false >/dev/null || churn_ok=0
	vsctl add-port br0 "g$i" type=null size=64 >/dev/null || churn_ok=0
	sleep 0.1
	vsctl del-port "c$i" >/dev/null || churn_ok=0
	vsctl del-port "g$i" >/dev/null || churn_ok=0
done
check_eq "30 ports added/removed under traffic" 1 "$churn_ok"
wait "${T_PIDS[-1]}" 2>/dev/null
check "daemon alive after churn" vs_alive
check "traffic still flows after churn" in_host h1 ping -c 2 -i 0.2 -W 2 10.77.0.2

# Tap (internal) port: the host stack talks to the bridge.
tapname="vtp$T_ID"
tapname=${tapname:0:15}
check "add tap port" vsctl add-port br0 "$tapname" type=tap
T_LINKS+=("$tapname")
ip addr add 10.77.0.254/24 dev "$tapname" 2>/dev/null
ip link set "$tapname" up
sysctl -qw "net.ipv6.conf.$tapname.disable_ipv6=1" 2>/dev/null
check "h1 pings the host through the tap port" in_host h1 ping -c 3 -i 0.2 -W 2 10.77.0.254
# The port (and its fd) is freed once every worker has quiesced, just after the reply.
check "del tap port removes the interface" sh -c "$VSCTL --socket $VS_SOCK del-port $tapname &&
	for i in \$(seq 1 50); do ip link show $tapname >/dev/null 2>&1 || exit 0; sleep 0.02; done; exit 1"

# Leaks: once every port is gone, buffers in use return to the baseline.
for p in h1 h2 h3 a1 a2 b1 t1; do vsctl del-port "$p" >/dev/null; done
sleep 0.5
check_eq "mempool in_use back to baseline" "$baseline" "$(in_use)"
vs_stop TERM
check_eq "clean exit" 0 "$?"
vs_done
