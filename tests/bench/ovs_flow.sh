#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OVS-DPDK reference run of a flow scenario for tests/bench/run: the same pcap (N flows) and the
# same rules (M masks, OVS port numbers) as bench_flow, in a private OVS instance (own rundir, DB
# and sockets), DPDK net_pcap -> OVS -> net_null,no-rx=1, one PMD on BENCH_CORE, every other OVS
# thread on the other CPU. Usage: ovs_flow.sh FLOWS MASKS OUT.json
# Mpps = p2 tx packets per second over BENCH_SECONDS, after BENCH_WARMUP and after the datapath
# flow count has been stable for 3 s (OVS installs megaflows gradually); cycles/packet = the
# PMD's "avg processing cycles per packet".
set -euo pipefail
flows=${1:?usage: ovs_flow.sh FLOWS MASKS OUT.json}
masks=${2:?usage: ovs_flow.sh FLOWS MASKS OUT.json}
out=${3:?usage: ovs_flow.sh FLOWS MASKS OUT.json}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-5}
core=${BENCH_CORE:-1}
bench_flow=${BENCH_FLOW_BIN:?BENCH_FLOW_BIN: path of bench_flow}
other=$((core == 0 ? 1 : 0))
vswitchd=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
R=$(mktemp -d /tmp/bench-ovsflow.XXXXXX)
export OVS_RUNDIR=$R OVS_LOGDIR=$R OVS_DBDIR=$R
V="ovs-vsctl --db=unix:$R/db.sock --timeout=60"
A="ovs-appctl -t $R/ovs-vswitchd.ctl"

die() { echo "ovs_flow.sh: $*" >&2; exit 1; }
[ -x "$vswitchd" ] || die "$vswitchd missing (apt-get install openvswitch-switch-dpdk)"
[ "$(id -u)" -eq 0 ] || die "needs root (hugepages, DPDK)"

cleanup() {
	local p
	if [ -f "$R/ovs-vswitchd.pid" ]; then
		p=$(cat "$R/ovs-vswitchd.pid")
		$A exit --cleanup >/dev/null 2>&1 || true
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		# Only our own process, checked by its command line.
		if kill -0 "$p" 2>/dev/null && grep -q "$R" "/proc/$p/cmdline"; then kill -9 "$p"; fi
	fi
	if [ -f "$R/ovsdb-server.pid" ]; then
		p=$(cat "$R/ovsdb-server.pid")
		if kill -0 "$p" 2>/dev/null && grep -q "$R" "/proc/$p/cmdline"; then kill "$p"; fi
	fi
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$R"
}
trap cleanup EXIT

if ! mount | grep -q "on /dev/hugepages type hugetlbfs"; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
# The pcap PMD holds the whole file in mbufs (1M frames for N=1M): 1 GiB of 2 MiB pages.
need=$((flows > 200000 ? 700 : 300))
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$free_hp" -lt "$need" ]; then
	echo $(($(cat /proc/sys/vm/nr_hugepages) + need - free_hp)) >/proc/sys/vm/nr_hugepages
fi

"$bench_flow" --write "$R" --flows "$flows" --masks "$masks"
mem=$((flows > 200000 ? 1280 : 512))
extra="--no-pci --vdev net_pcap0,rx_pcap=$R/flows_N$flows.pcap,infinite_rx=1 --vdev net_null1,no-rx=1"

ovsdb-tool create "$R/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$R/conf.db" --remote="punix:$R/db.sock" --unixctl="$R/ovsdb-server.ctl" \
	--pidfile="$R/ovsdb-server.pid" --log-file="$R/ovsdb-server.log" -vconsole:off --detach \
	--no-chdir 2>/dev/null
$V --no-wait init
$V --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=$mem \
	other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << core)))" \
	other_config:dpdk-hugepage-dir=/dev/hugepages other_config:dpdk-extra="$extra"
"$vswitchd" "unix:$R/db.sock" --unixctl="$R/ovs-vswitchd.ctl" --pidfile="$R/ovs-vswitchd.pid" \
	--log-file="$R/ovs-vswitchd.log" -vconsole:off --detach --no-chdir 2>/dev/null
$V add-br br0 -- set bridge br0 datapath_type=netdev
# Rules before ports (no megaflow of the default NORMAL rule survives); a bundle is fast.
ovs-ofctl del-flows br0
ovs-ofctl --bundle add-flows br0 "$R/rules_M$masks.txt"
$V add-port br0 p1 -- set Interface p1 type=dpdk options:dpdk-devargs=net_pcap0 ofport_request=1
$V add-port br0 p2 -- set Interface p2 type=dpdk options:dpdk-devargs=net_null1 ofport_request=2
for p in p1 p2; do
	e=$($V get Interface $p error 2>/dev/null | tr -d '"[]')
	# net_pcap infinite_rx keeps every frame of the file in mbufs of OVS's mempool: with 1M
	# frames the port cannot be created (this is why the OVS anchors stop at 100k flows).
	[ -z "$e" ] || die "port $p: $e (see $R/ovs-vswitchd.log)"
done
pid=$(cat "$R/ovs-vswitchd.pid")
for t in /proc/"$pid"/task/*; do
	case "$(cat "$t/comm")" in
	pmd*) ;;
	*) taskset -p -c "$other" "$(basename "$t")" >/dev/null 2>&1 || true ;;
	esac
done

p2_tx() {
	$A dpctl/show -s netdev@ovs-netdev | awk '
		/port [0-9]+: / { cur = $3 }
		cur == "p2" && /TX packets:/ { sub("packets:", "", $2); print $2; exit }'
}
dp_flows() { $A dpctl/show netdev@ovs-netdev | awk '/flows:/ { print $2; exit }'; }

sleep "$warmup"
# Megaflows come in gradually (flow limit ramp-up): wait until their count is stable for 3 s.
prev=-1
stable=0
for _ in $(seq 1 60); do
	n=$(dp_flows)
	if [ "$n" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
	[ "$stable" -ge 3 ] && break
	prev=$n
	sleep 1
done
$A dpif-netdev/pmd-stats-clear >/dev/null
t0=$(date +%s.%N)
tx0=$(p2_tx)
sleep "$seconds"
tx1=$(p2_tx)
t1=$(date +%s.%N)
stats=$($A dpif-netdev/pmd-stats-show)
cpp=$(printf '%s\n' "$stats" | awk '/avg processing cycles per packet/ { gsub(/[()]/, ""); print $6; exit }')
mpps=$(awk -v a="$tx0" -v b="$tx1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / 1e6 }')
echo "ovs-dpdk flow-N$flows-M$masks: $mpps Mpps, ${cpp:-?} cycles/packet, $(dp_flows) megaflows" >&2
jq -n --arg v "flow-N$flows-M$masks" --argjson m "$mpps" --arg c "${cpp:-0}" \
	--argjson s "$seconds" --argjson core "$core" --arg stats "$stats" --arg mf "$(dp_flows)" \
	'{switch: "ovs-dpdk", scenario: $v, mpps: $m, cycles_per_packet: ($c | tonumber),
	  cycles_per_packet_oncpu: ($c | tonumber), window_s: $s, pmd_core: $core,
	  megaflows: ($mf | tonumber? // 0), contended: false, time: now | floor,
	  pmd_stats: $stats}' >"$out"
