#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OVS-DPDK reference runs for tests/bench/run: one private OVS instance (own rundir, DB and
# sockets), DPDK virtual ports inside OVS, one PMD on BENCH_CORE, every other OVS thread on the
# other CPU. Usage: ovs.sh VARIANT OUT.json
#   out     net_null0 -> in_port=1,actions=output:2 -> net_null1,no-rx=1 (OVS's cheapest path;
#           net_null frames are all-zero and need no copy)
#   normal  net_pcap0 (64-byte IPv4/UDP frames 02:..:01 -> 02:..:02, replayed forever) ->
#           actions=NORMAL with 02:..:02 in the fdb on p2 -> net_null1,no-rx=1 (the learned-MAC
#           path, like vswitch's null-l2)
# Mpps = p2 tx packets per second over BENCH_SECONDS after BENCH_WARMUP; cycles/packet = the PMD's
# "avg processing cycles per packet" (pmd-stats-show, cleared at the window start).
set -euo pipefail
variant=${1:?usage: ovs.sh out|normal OUT.json}
out=${2:?usage: ovs.sh out|normal OUT.json}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-5}
core=${BENCH_CORE:-1}
other=$((core == 0 ? 1 : 0))
vswitchd=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
R=$(mktemp -d /tmp/bench-ovs.XXXXXX)
export OVS_RUNDIR=$R OVS_LOGDIR=$R OVS_DBDIR=$R
V="ovs-vsctl --db=unix:$R/db.sock --timeout=60"
A="ovs-appctl -t $R/ovs-vswitchd.ctl"

die() { echo "ovs.sh: $*" >&2; exit 1; }
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

# DPDK wants a hugetlbfs mount and 512 MiB of 2 MiB pages (only ever raise the count).
if ! mount | grep -q "on /dev/hugepages type hugetlbfs"; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$free_hp" -lt 300 ]; then
	echo $(($(cat /proc/sys/vm/nr_hugepages) + 300 - free_hp)) >/proc/sys/vm/nr_hugepages
fi

case "$variant" in
out)
	extra="--no-pci --vdev net_null0 --vdev net_null1,no-rx=1"
	;;
normal)
	# 1000 identical 64-byte frames; the pcap PMD loads them and replays forever.
	/usr/bin/python3 - "$R/flow1.pcap" <<'EOF'
import struct, sys
eth = bytes.fromhex("020000000002" "020000000001" "0800")
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 50, 0, 0x4000, 64, 17, 0,
                           bytes([198, 18, 0, 1]), bytes([198, 19, 255, 254])))
s = sum(struct.unpack("!10H", ip))
s = (s & 0xffff) + (s >> 16)
ip[10:12] = struct.pack("!H", ~s & 0xffff)
udp = struct.pack("!HHHH", 1024, 4000, 30, 0)
frame = eth + bytes(ip) + udp + bytes(64 - 14 - 20 - 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(1000):
        f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)
EOF
	extra="--no-pci --vdev net_pcap0,rx_pcap=$R/flow1.pcap,infinite_rx=1 --vdev net_null1,no-rx=1"
	;;
*) die "unknown variant '$variant' (out, normal)" ;;
esac

ovsdb-tool create "$R/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$R/conf.db" --remote="punix:$R/db.sock" --unixctl="$R/ovsdb-server.ctl" \
	--pidfile="$R/ovsdb-server.pid" --log-file="$R/ovsdb-server.log" -vconsole:off --detach \
	--no-chdir 2>/dev/null
$V --no-wait init
$V --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=512 \
	other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << core)))" \
	other_config:dpdk-hugepage-dir=/dev/hugepages other_config:dpdk-extra="$extra"
"$vswitchd" "unix:$R/db.sock" --unixctl="$R/ovs-vswitchd.ctl" --pidfile="$R/ovs-vswitchd.pid" \
	--log-file="$R/ovs-vswitchd.log" -vconsole:off --detach --no-chdir 2>/dev/null
$V add-br br0 -- set bridge br0 datapath_type=netdev
# Flows before ports, so that no NORMAL megaflow from the default rule survives.
ovs-ofctl del-flows br0
if [ "$variant" = out ]; then
	ovs-ofctl add-flow br0 in_port=1,actions=output:2
else
	ovs-ofctl add-flow br0 actions=NORMAL
fi
src_dev=net_null0
[ "$variant" = normal ] && src_dev=net_pcap0
$V add-port br0 p1 -- set Interface p1 type=dpdk options:dpdk-devargs=$src_dev ofport_request=1
$V add-port br0 p2 -- set Interface p2 type=dpdk options:dpdk-devargs=net_null1 ofport_request=2
[ "$variant" = normal ] && $A fdb/add br0 p2 0 02:00:00:00:00:02 >/dev/null
# Every thread but the PMD goes to the other CPU (the EAL threads start on the PMD's CPU).
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

# Jiffies of the PMD's CPU (total idle steal) and of the PMD thread, to tell how much of the CPU
# other processes or the hypervisor took during the window.
cpu_stat() {
	local t
	awk -v c="cpu$core" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t, $5 + $6, $9 }' /proc/stat
	for t in /proc/"$pid"/task/*; do
		case "$(cat "$t/comm")" in
		pmd*) sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }' ;;
		esac
	done | awk '{ s += $1 } END { print s + 0 }'
}

sleep "$warmup"
$A dpif-netdev/pmd-stats-clear >/dev/null
read -r -d '' c0 < <(cpu_stat) || true
t0=$(date +%s.%N)
tx0=$(p2_tx)
sleep "$seconds"
tx1=$(p2_tx)
t1=$(date +%s.%N)
read -r -d '' c1 < <(cpu_stat) || true
read -r steal_pct foreign_pct oncpu < <(echo $c0 $c1 | awk '{
	dt = $5 - $1; busy = dt - ($6 - $2) - ($7 - $3)
	if (dt <= 0) { print 0, 0, 1; exit }
	f = 100 * (busy - ($8 - $4)) / dt; if (f < 0) f = 0
	o = ($8 - $4) / dt; if (o > 1) o = 1
	printf "%.2f %.2f %.4f\n", 100 * ($7 - $3) / dt, f, o }')
stats=$($A dpif-netdev/pmd-stats-show)
cpp=$(printf '%s\n' "$stats" | awk '/avg processing cycles per packet/ { gsub(/[()]/, ""); print $6; exit }')
mpps=$(awk -v a="$tx0" -v b="$tx1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) / 1e6 }')
cpp_oncpu=$(awk -v c="${cpp:-0}" -v o="$oncpu" 'BEGIN { printf "%.1f", c * o }')
echo "ovs-dpdk $variant: $mpps Mpps, ${cpp:-?} cycles/packet, steal $steal_pct%," \
	"other load on the CPU $foreign_pct%, $cpp_oncpu cycles/packet on CPU" >&2
jq -n --arg v "$variant" --argjson m "$mpps" --arg c "${cpp:-0}" --argjson s "$seconds" \
	--argjson core "$core" --arg stats "$stats" --argjson st "$steal_pct" \
	--argjson fo "$foreign_pct" --argjson oc "$cpp_oncpu" \
	'{switch: "ovs-dpdk", scenario: $v, mpps: $m, cycles_per_packet: ($c | tonumber),
	  cycles_per_packet_oncpu: $oc, window_s: $s, pmd_core: $core, steal_pct: $st,
	  foreign_pct: $fo,
	  contended: ($st >= 5 or $fo >= 15), time: now | floor, pmd_stats: $stats}' >"$out"
