#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vhost-user benchmark (scenario "vhost" of tests/bench/run, or by hand):
#   one dpdk-testpmd on PEER_CORE: net_pcap0 (one frame replayed forever) -> virtio-user vu0 ->
#   SWITCH (one worker/PMD on BENCH_CORE) -> virtio-user vu1 -> testpmd -> pcap0 tx (dropped)
# (--port-topology=chained, io forwarding). The peers are virtio-user servers (server=1); the
# switches connect as vhost-user clients (vswitch: type=vhost-user-client; OVS-DPDK:
# dpdkvhostuserclient). Two busy testpmd processes on one CPU starve each other, so a single
# peer process generates and sinks.
#
# Reported per switch and frame size: Mpps delivered (frames the switch wrote into vu1 per
# second over the window) and the worker's cycles per packet over the window.
# Each switch runs two ways: "vswitch" is the L2 bridge (destination never learned: flooded to
# the one other port) and "vswitch-out" one flow rule (in_port=vu0 actions=output:vu1); OVS runs
# "out" (in_port=1,actions=output:2) and "normal" (NORMAL + fdb entry). One peer and both
# daemons run per frame size; each cycle (-n) measures every variant in turn, moving the peer's
# sockets between the switches; the ratios vswitch/ovs-normal and vswitch-out/ovs-out are taken
# per cycle and their medians printed.
#
# usage: vhost_bench.sh [-s "64 1518"] [-n CYCLES] [-t SECONDS] [-w SWITCHES] [-o OUT.jsonl] [-u]
#                       [-p PERF.data] [-P PERF.data] [-l]
#   SWITCHES: comma list of vswitch, vswitch-out, ovs-out, ovs-normal (default: all available),
#             vswitch-b, vswitch-b-out (the same with VSWITCHD_B: A/B of two builds)
#   -u: only the copy-path micro-benchmark (vhost_virtq_bench.c, one thread, no peer)
#   -p FILE: record the vswitch worker's profile in each window (perf report -i FILE-<switch>-...)
#   -P FILE: record the peer's profile in each window, for every switch
#   -l: loop topology (no pcap): frames circulate peer -> switch -> peer in both directions, so
#       the peer does less per frame and the switch, not the peer, is the bottleneck
# env: VSWITCHD, VSCTL (default: a Release build in build-bench/), BENCH_CORE (1), PEER_CORE (0),
#      BENCH_WARMUP (3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
sizes="64 1518"
runs=3
seconds=10
switches=
out=$here/results/vhost.jsonl
micro=0
profile=
peer_profile=
loop=0
while getopts s:n:t:w:o:up:P:l o; do
	case $o in
	s) sizes=$OPTARG ;; n) runs=$OPTARG ;; t) seconds=$OPTARG ;; w) switches=$OPTARG ;;
	o) out=$OPTARG ;; u) micro=1 ;; p) profile=$(realpath -m "$OPTARG") ;;
	P) peer_profile=$(realpath -m "$OPTARG") ;;
	l) loop=1 ;;
	*) sed -n '2,29p' "$0"; exit 2 ;;
	esac
done
core=${BENCH_CORE:-1}
peer=${PEER_CORE:-0}
warmup=${BENCH_WARMUP:-3}
ovsd=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
R=$(mktemp -d /tmp/vhost-bench.XXXXXX)
PIDS=()
HP_ADDED=0
HP_SET=0

die() { echo "vhost_bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (hugepages, sockets)"
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd missing (apt-get install dpdk-dev)"
if [ -z "$switches" ]; then
	switches=vswitch,vswitch-out
	[ -x "$ovsd" ] && switches="$switches,ovs-out,ovs-normal"
fi
mkdir -p "$(dirname "$out")"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	declare -F ovs_down >/dev/null && ovs_down
	if [ "$HP_ADDED" -gt 0 ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$HP_SET" ]; then
		echo $((HP_SET - HP_ADDED)) >/proc/sys/vm/nr_hugepages
	fi
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$R"
}
trap cleanup EXIT

if [ "$micro" = 1 ]; then
	b=${BENCH_BUILD:-$src/build-bench}
	{ cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF &&
		cmake --build "$b" --target vswitch_core -j"$(nproc)" &&
		cc -std=c17 -D_GNU_SOURCE -O2 -march=native -I"$src" "$here/vhost_virtq_bench.c" \
			"$b/daemon/libvswitch_core.a" $(pkg-config --libs jansson yaml-0.1 libevent \
			libevent_pthreads libsystemd numa) -pthread -lm -o "$R/vhost_virtq_bench"; } \
		>"$R/build.log" 2>&1 || { tail -20 "$R/build.log"; die "build failed"; }
	for size in $sizes; do
		for r in $(seq 1 "$runs"); do
			taskset -c "$core" "$R/vhost_virtq_bench" "$((size - 4))" 2>/dev/null | tail -1 |
				jq -c --argjson size "$size" '{scenario: "vhost-virtq-micro", frame_size: $size,
				cycles_per_packet, time: now | floor}' | tee -a "$out"
		done
	done
	exit 0
fi

# Hugepages for the peer (1 GiB), the switch's pools and OVS (512 MiB): raise, restore later.
if ! mount | grep -q "on /dev/hugepages type hugetlbfs"; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
free_hp=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
if [ "$free_hp" -lt 900 ]; then
	HP_ADDED=$((900 - free_hp))
	HP_SET=$(($(cat /proc/sys/vm/nr_hugepages) + HP_ADDED))
	echo "$HP_SET" >/proc/sys/vm/nr_hugepages
fi

# Release build of the daemon and vsctl unless given.
if [ -z "${VSWITCHD:-}" ]; then
	b=${BENCH_BUILD:-$src/build-bench}
	{ cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF &&
		cmake --build "$b" --target vswitchd vsctl -j"$(nproc)"; } >"$R/build.log" 2>&1 ||
		{ tail -20 "$R/build.log"; die "build failed"; }
	VSWITCHD=$b/daemon/vswitchd
	VSCTL=$b/ctl/vsctl
fi

# One IPv4/UDP frame of SIZE bytes on the wire (SIZE - 4 without the FCS, as the peer sends it),
# 02:..:01 -> 02:..:02, as a pcap.
mk_pcap() {
	/usr/bin/python3 - "$1" "$2" <<'EOF'
import struct, sys
size = int(sys.argv[2]) - 4
eth = bytes.fromhex("020000000002" "020000000001" "0800")
ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, size - 14, 0, 0x4000, 64, 17, 0,
                           bytes([198, 18, 0, 1]), bytes([198, 19, 255, 254])))
s = sum(struct.unpack("!10H", ip))
s = (s & 0xffff) + (s >> 16)
ip[10:12] = struct.pack("!H", ~s & 0xffff)
udp = struct.pack("!HHHH", 1024, 4000, size - 34, 0)
frame = eth + bytes(ip) + udp + bytes(size - 42)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(256):
        f.write(struct.pack("<IIII", 0, i, len(frame), len(frame)) + frame)
EOF
}

# The peer: virtio-user servers on $R/vu{0,1}.sock (it waits for the switch to connect).
peer_start() {
	local size=$1
	rm -f "$R"/vu0.sock "$R"/vu1.sock "$R/tp.in"
	mkfifo "$R/tp.in"
	sleep 100000 >"$R/tp.in" &
	PIDS+=("$!")
	local topo=(--vdev "net_pcap0,rx_pcap=$R/f$size.pcap,infinite_rx=1")
	local fwd=(--port-topology=chained)
	if [ "$loop" = 1 ]; then
		# No pcap port: frames made by "start tx_first" circulate vu0 -> switch -> vu1 ->
		# testpmd -> vu0 (and the other way round), each with fixed addresses.
		topo=()
		fwd=(--port-topology=paired --txpkts=$((size - 4)) --eth-peer=0,02:00:00:00:00:02
			--eth-peer=1,02:00:00:00:00:01)
	fi
	taskset -c "$peer" stdbuf -oL -eL dpdk-testpmd --lcores "0@$peer,1@$peer" --no-pci \
		--no-telemetry --in-memory -m 1024 --single-file-segments --huge-dir /dev/hugepages \
		"${topo[@]}" \
		--vdev "net_virtio_user0,path=$R/vu0.sock,server=1,queues=1,queue_size=1024" \
		--vdev "net_virtio_user1,path=$R/vu1.sock,server=1,queues=1,queue_size=1024" \
		-- -i --forward-mode=io "${fwd[@]}" --nb-cores=1 \
		--total-num-mbufs=65536 --rxd=1024 --txd=1024 --mbuf-size=2176 \
		<"$R/tp.in" >"$R/tp.log" 2>&1 &
	PEER_PID=$!
	PIDS+=("$!")
}

# virtio-user server=1 waits in its probe for each socket's client: the switch connects
# (with its back-off) and only then does testpmd reach its prompt.
peer_go() {
	for _ in $(seq 1 300); do grep -q "^testpmd> " "$R/tp.log" && break; sleep 0.1; done
	grep -q "^testpmd> " "$R/tp.log" || die "testpmd did not start (log: $R/tp.log)"
	echo start >"$R/tp.in"
}

# Loop: frames lost while the sockets moved between switches are replaced (restarting the
# forwarding injects 32 bursts per port; any excess is dropped on full rings).
peer_refill() {
	[ "$loop" = 1 ] || return 0
	printf 'stop\nstart tx_first 32\n' >"$R/tp.in"
}

peer_stop() {
	echo quit >"$R/tp.in" 2>/dev/null || true
	sleep 1
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	PIDS=()
}

# ---- vswitch ----
# Two vswitch daemons may run: "a" (VSWITCHD) and "b" (VSWITCHD_B, an A/B comparison of two
# builds: switch names vswitch-b, vswitch-b-out). VS selects the one vs() talks to.
VS=a
declare -A VS_PIDS=()
vs() { "$VSCTL" --socket "$R/vs-$VS.sock" "$@"; }
vs_up() {
	local bin=$VSWITCHD
	[ "$VS" = b ] && bin=$VSWITCHD_B
	cat >"$R/vs-$VS.yaml" <<EOF
daemon:
  socket: $R/vs-$VS.sock
  state-dir: $R/state-$VS
  log-level: notice
cpu:
  worker-cores: [$core]
  control-core: $peer
  idle-sleep-us: 1000
memory:
  packet-buffers: 16384
  max-mtu: 1500
EOF
	rm -rf "$R/state-$VS" # every campaign starts from an empty switch
	"$bin" -c "$R/vs-$VS.yaml" >"$R/vs-$VS.log" 2>&1 &
	VS_PIDS[$VS]=$!
	PIDS+=("$!")
	for _ in $(seq 1 100); do vs version >/dev/null 2>&1 && break; sleep 0.1; done
	vs add-br br0
}
# The worker sleeps while it has no ports (idle-sleep-us), so that OVS's PMD has CPU 1 alone;
# with traffic it never idles for the 200 us that takes.
vs_attach() {
	vs add-port br0 vu0 type=vhost-user-client path="$R/vu0.sock" queues=1
	vs add-port br0 vu1 type=vhost-user-client path="$R/vu1.sock" queues=1
}
vs_detach() {
	vs del-flows br0 >/dev/null
	vs del-port br0 vu0
	vs del-port br0 vu1
}
# vswitch: the L2 bridge (empty flow table); vswitch-out: one rule.
vs_mode() {
	vs del-flows br0 >/dev/null
	[[ "$1" == *-out ]] && vs add-flow br0 "in_port=vu0 actions=output:vu1" >/dev/null
	[[ "$1" == *-out ]] && [ "$loop" = 1 ] &&
		vs add-flow br0 "in_port=vu1 actions=output:vu0" >/dev/null
	return 0
}
vs_tx() {
	if [ "$loop" = 1 ]; then
		vs -j get-stats | jq '[.ports[] | select(.name == "vu0" or .name == "vu1") | .tx_packets] | add'
	else
		vs -j get-stats vu1 | jq '.ports[0].tx_packets'
	fi
}
vs_wait() {
	for _ in $(seq 1 300); do
		[ "$(vs -j list-ports | jq '[.[].status["vrings-running"]] == ["2","2"]')" = true ] && return 0
		sleep 0.1
	done
	die "vswitch did not connect to the peer (log: $R/vs-$VS.log)"
}
# Both windows print "Mpps cycles/packet on-CPU-share": the share of the window the worker
# thread actually ran (TSC cycles also count time it was preempted by other processes).
vs_window() {
	vs pmd-stats --clear >/dev/null
	local t0 t1 a b k0 k1
	a=$(vs_tx)
	k0=$(thread_ticks "${VS_PIDS[$VS]}" pmd)
	t0=$(date +%s.%N)
	window_sleep vswitch "$(thread_id "${VS_PIDS[$VS]}" pmd)"
	b=$(vs_tx)
	k1=$(thread_ticks "${VS_PIDS[$VS]}" pmd)
	t1=$(date +%s.%N)
	cpp=$(vs -j pmd-stats | jq '.[0].cycles_per_packet')
	echo "vhost vswitch: average rx batch $(vs -j pmd-stats | jq '.[0].avg_rx_batch')" >&2
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v c="$cpp" -v k="$((k1 - k0))" \
		-v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f %.1f %.2f\n", (b - a) / (t1 - t0) / 1e6, c, k / hz / (t1 - t0) }'
}
vs_down() {
	kill "${VS_PIDS[$VS]}" 2>/dev/null || true
	wait "${VS_PIDS[$VS]}" 2>/dev/null || true
	unset "VS_PIDS[$VS]"
}

# ---- OVS-DPDK (private instance) ----
OR=$R/ovs
V="ovs-vsctl --db=unix:$OR/db.sock --timeout=60"
A="ovs-appctl -t $OR/ovs-vswitchd.ctl"
ovs_up() {
	mkdir -p "$OR"
	export OVS_RUNDIR=$OR OVS_LOGDIR=$OR OVS_DBDIR=$OR
	ovsdb-tool create "$OR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ovsdb-server "$OR/conf.db" --remote="punix:$OR/db.sock" --unixctl="$OR/ovsdb-server.ctl" \
		--pidfile="$OR/ovsdb-server.pid" --log-file="$OR/ovsdb-server.log" -vconsole:off \
		--detach --no-chdir
	$V --no-wait init
	$V --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:dpdk-socket-mem=512 other_config:pmd-cpu-mask="$(printf '0x%x' $((1 << core)))" \
		other_config:dpdk-hugepage-dir=/dev/hugepages other_config:dpdk-extra="--no-pci"
	"$ovsd" "unix:$OR/db.sock" --unixctl="$OR/ovs-vswitchd.ctl" --pidfile="$OR/ovs-vswitchd.pid" \
		--log-file="$OR/ovs-vswitchd.log" -vconsole:off --detach --no-chdir
	$V add-br br0 -- set bridge br0 datapath_type=netdev
	ovs-ofctl del-flows br0
}
# OVS's PMD blocks while it has no rx queue, leaving CPU 1 to vswitch's worker.
ovs_attach() {
	local p t i
	for i in 0 1; do
		$V add-port br0 vu$i -- set Interface vu$i type=dpdkvhostuserclient \
			options:vhost-server-path="$R/vu$i.sock" ofport_request=$((i + 1))
	done
	for _ in $(seq 1 100); do
		[ "$($V get Interface vu0 link_state)" = up ] &&
			[ "$($V get Interface vu1 link_state)" = up ] && break
		sleep 0.1
	done
	p=$(cat "$OR/ovs-vswitchd.pid")
	for t in /proc/"$p"/task/*; do
		case "$(cat "$t/comm")" in
		pmd*) ;;
		*) taskset -p -c "$peer" "$(basename "$t")" >/dev/null 2>&1 || true ;;
		esac
	done
}
ovs_detach() {
	$V del-port br0 vu0 -- del-port br0 vu1
}
# ovs-out: in_port=1,actions=output:2; ovs-normal: NORMAL with the destination in the fdb.
ovs_mode() {
	ovs-ofctl del-flows br0
	if [ "$1" = ovs-out ]; then
		ovs-ofctl add-flow br0 in_port=1,actions=output:2
		[ "$loop" = 1 ] && ovs-ofctl add-flow br0 in_port=2,actions=output:1
	else
		ovs-ofctl add-flow br0 actions=NORMAL
		$A fdb/add br0 vu1 0 02:00:00:00:00:02 >/dev/null
		[ "$loop" = 1 ] && $A fdb/add br0 vu0 0 02:00:00:00:00:01 >/dev/null
	fi
	return 0
}
# Frames the switch wrote into the peer: into vu1 (uni), into vu0 and vu1 (loop).
ovs_tx() {
	$A dpctl/show -s netdev@ovs-netdev | awk -v loop="$loop" '
		/port [0-9]+: / { cur = $3 }
		(cur == "vu1" || (loop && cur == "vu0")) && /TX packets:/ {
			sub("packets:", "", $2); n += $2 }
		END { print n + 0 }'
}
ovs_window() {
	local t0 t1 a b st cpp k0 k1 p
	p=$(cat "$OR/ovs-vswitchd.pid")
	$A dpif-netdev/pmd-stats-clear >/dev/null
	a=$(ovs_tx)
	k0=$(thread_ticks "$p" pmd)
	t0=$(date +%s.%N)
	window_sleep ovs "$(thread_id "$p" pmd)"
	b=$(ovs_tx)
	k1=$(thread_ticks "$p" pmd)
	t1=$(date +%s.%N)
	st=$($A dpif-netdev/pmd-stats-show)
	cpp=$(printf '%s\n' "$st" |
		awk '/avg processing cycles per packet/ { gsub(/[()]/, ""); print $6; exit }')
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v c="${cpp:-0}" -v k="$((k1 - k0))" \
		-v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f %.1f %.2f\n", (b - a) / (t1 - t0) / 1e6, c, k / hz / (t1 - t0) }'
}
ovs_down() {
	local p f
	[ -d "$OR" ] || return 0
	for f in ovs-vswitchd ovsdb-server; do
		[ -f "$OR/$f.pid" ] || continue
		p=$(cat "$OR/$f.pid")
		if kill -0 "$p" 2>/dev/null && grep -q "$OR" "/proc/$p/cmdline"; then
			kill "$p"
			for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
			kill -9 "$p" 2>/dev/null || true
		fi
	done
	rm -rf "$OR"
}

# The measurement window: sleeps, or records a profile of the switch's worker (-p) or of the
# peer (-P) meanwhile. Profiles go to FILE-<switch>-<size>B-<cycle> (last window wins).
window_sleep() { # SWITCH WORKER_TID
	local f
	if [ -n "$profile" ] && [ "$1" = vswitch ]; then
		f=$profile-$sw-${size}B-$r
		perf record -q -F 4999 -t "$2" -o "$f" -- sleep "$seconds" >/dev/null 2>&1
	elif [ -n "$peer_profile" ]; then
		f=$peer_profile-$sw-${size}B-$r
		perf record -q -F 4999 -p "$PEER_PID" -o "$f" -- sleep "$seconds" >/dev/null 2>&1
	else
		sleep "$seconds"
	fi
}

# TID of the thread of PID whose name starts with PREFIX.
thread_id() {
	local t
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		"$2"*) basename "$t"; return ;;
		esac
	done
}

# CPU ticks (utime + stime) of the thread of PID whose name starts with PREFIX.
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		"$2"*) awk '{ print $14 + $15; exit }' "$t/stat"; return ;;
		esac
	done
	echo 0
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

# Cycles. Runs on this shared machine are bimodal and the mode changes with time (seconds to
# tens of seconds: the hypervisor, other guests), not with the process. So one peer and both
# daemons stay up for a frame size, and each cycle measures every variant in turn, moving the
# peer's two sockets from one switch to the other (port delete/add; the variants of one switch
# differ only by their rules). Adjacent windows mostly share a mode, and the per-cycle ratios
# pair like with like. The order reverses every other cycle.
declare -A MP CP OCP RATIO
sw_list=(${switches//,/ })
use_vs=0 use_vsb=0 use_ovs=0
for sw in "${sw_list[@]}"; do
	case $sw in
	vswitch | vswitch-out) use_vs=1 ;;
	vswitch-b | vswitch-b-out)
		[ -x "${VSWITCHD_B:-}" ] || die "$sw needs VSWITCHD_B (a second vswitchd build)"
		use_vsb=1
		;;
	ovs-out | ovs-normal) use_ovs=1 ;;
	*) die "unknown switch $sw" ;;
	esac
done
attached=
attach() { # DAEMON: a, b (vswitch) or ovs; detaches the current one first
	[ "$attached" = "$1" ] && return 0
	case $attached in a | b) VS=$attached vs_detach ;; ovs) ovs_detach ;; esac
	case $1 in a | b) VS=$1 vs_attach ;; ovs) ovs_attach ;; esac
	attached=$1
}
for size in $sizes; do
	mk_pcap "$R/f$size.pcap" "$size"
	peer_start "$size"
	[ "$use_vs" = 1 ] && VS=a vs_up
	[ "$use_vsb" = 1 ] && VS=b vs_up
	[ "$use_ovs" = 1 ] && ovs_up
	attached=
	first=1
	for r in $(seq 1 "$runs"); do
		order=("${sw_list[@]}")
		if [ $((r % 2)) -eq 0 ]; then
			order=()
			for ((k = ${#sw_list[@]} - 1; k >= 0; k--)); do order+=("${sw_list[$k]}"); done
		fi
		declare -A RM=()
		for sw in "${order[@]}"; do
			if [[ "$sw" == vswitch-b* ]]; then
				VS=b
				attach b
				vs_mode "$sw"
			elif [[ "$sw" == vswitch* ]]; then
				VS=a
				attach a
				vs_mode "$sw"
			else
				attach ovs
				ovs_mode "$sw"
			fi
			if [ "$first" = 1 ]; then
				peer_go
				first=0
			fi
			[[ "$sw" == vswitch* ]] && vs_wait
			peer_refill
			sleep "$warmup"
			if [[ "$sw" == vswitch* ]]; then
				read -r m c share < <(vs_window)
			else
				read -r m c share < <(ovs_window)
			fi
			oc=$(awk -v c="$c" -v s="$share" 'BEGIN { printf "%.1f", c * (s > 1 ? 1 : s) }')
			echo "vhost $sw ${size}B cycle $r: $m Mpps, $c cycles/packet ($oc on CPU," \
				"worker ran ${share} of the window)" >&2
			jq -nc --arg sw "$sw" --argjson size "$size" --argjson m "$m" --argjson c "$c" \
				--argjson oc "$oc" --argjson sh "$share" --argjson s "$seconds" \
				--argjson core "$core" --argjson r "$r" \
				--arg sc "$([ "$loop" = 1 ] && echo vhost-loop || echo vhost-uni)" \
				'{scenario: $sc, switch: $sw, frame_size: $size, cycle: $r, mpps: $m,
				  cycles_per_packet: $c, cycles_per_packet_on_cpu: $oc, worker_cpu_share: $sh,
				  window_s: $s, worker_core: $core, time: now | floor}' >>"$out"
			MP[$sw:$size]+="$m "
			CP[$sw:$size]+="$c "
			OCP[$sw:$size]+="$oc "
			RM[$sw]=$m
		done
		for pair in vswitch:ovs-normal vswitch-out:ovs-out vswitch-b:vswitch vswitch-b-out:vswitch-out; do
			a=${pair%%:*} b=${pair#*:}
			[ -n "${RM[$a]:-}" ] && [ -n "${RM[$b]:-}" ] || continue
			RATIO[$pair:$size]+="$(awk -v a="${RM[$a]}" -v b="${RM[$b]}" \
				'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }') "
		done
	done
	[ "$use_vs" = 1 ] && VS=a vs_down
	[ "$use_vsb" = 1 ] && VS=b vs_down
	[ "$use_ovs" = 1 ] && ovs_down
	peer_stop
done

# Medians per switch and size; then, per pair, the median of the per-cycle ratios (the L2
# bridge against OVS NORMAL, the one-rule flow table against OVS's one-rule datapath).
med() { printf '%s\n' $1 | median; }
echo
for size in $sizes; do
	for sw in "${sw_list[@]}"; do
		printf 'vhost %-13s %5sB  median %6.2f Mpps %6.1f cycles/pkt (%s on CPU)  best %6.2f Mpps %6.1f cycles/pkt  [Mpps: %s]\n' \
			"$sw" "$size" "$(med "${MP[$sw:$size]}")" "$(med "${CP[$sw:$size]}")" \
			"$(med "${OCP[$sw:$size]}")" "$(printf '%s\n' ${MP[$sw:$size]} | sort -g | tail -1)" \
			"$(printf '%s\n' ${CP[$sw:$size]} | sort -g | head -1)" "${MP[$sw:$size]% }"
	done
	for pair in vswitch:ovs-normal vswitch-out:ovs-out vswitch-b:vswitch vswitch-b-out:vswitch-out; do
		[ -n "${RATIO[$pair:$size]:-}" ] || continue
		printf 'vhost %5sB  %s = %.2f (median of cycles)  [cycles: %s]\n' "$size" \
			"${pair/:/\/}" "$(med "${RATIO[$pair:$size]}")" "${RATIO[$pair:$size]% }"
	done
done
