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
# "out" (in_port=1,actions=output:2) and "normal" (NORMAL + fdb entry). Each round starts one
# peer and connects every switch to it in turn; the ratios vswitch/ovs-normal and
# vswitch-out/ovs-out are taken per round and their medians printed.
#
# usage: vhost_bench.sh [-s "64 1518"] [-n RUNS] [-t SECONDS] [-w SWITCHES] [-o OUT.jsonl] [-u]
#                       [-p PERF.data]
#   SWITCHES: comma list of vswitch, vswitch-out, ovs-out, ovs-normal (default: all available)
#   -u: only the copy-path micro-benchmark (vhost_virtq_bench.c, one thread, no peer)
#   -p FILE: record the vswitch worker's profile over the window with perf (perf report -i FILE)
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
while getopts s:n:t:w:o:up: o; do
	case $o in
	s) sizes=$OPTARG ;; n) runs=$OPTARG ;; t) seconds=$OPTARG ;; w) switches=$OPTARG ;;
	o) out=$OPTARG ;; u) micro=1 ;; p) profile=$(realpath -m "$OPTARG") ;;
	*) sed -n '2,23p' "$0"; exit 2 ;;
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
	taskset -c "$peer" stdbuf -oL -eL dpdk-testpmd --lcores "0@$peer,1@$peer" --no-pci \
		--no-telemetry --in-memory -m 1024 --single-file-segments --huge-dir /dev/hugepages \
		--vdev "net_pcap0,rx_pcap=$R/f$size.pcap,infinite_rx=1" \
		--vdev "net_virtio_user0,path=$R/vu0.sock,server=1,queues=1,queue_size=1024" \
		--vdev "net_virtio_user1,path=$R/vu1.sock,server=1,queues=1,queue_size=1024" \
		-- -i --forward-mode=io --port-topology=chained --nb-cores=1 \
		--total-num-mbufs=65536 --rxd=1024 --txd=1024 --mbuf-size=2176 \
		<"$R/tp.in" >"$R/tp.log" 2>&1 &
	PIDS+=("$!")
}

# virtio-user server=1 waits in its probe for each socket's client: the switch connects
# (with its back-off) and only then does testpmd reach its prompt.
peer_go() {
	for _ in $(seq 1 300); do grep -q "^testpmd> " "$R/tp.log" && break; sleep 0.1; done
	grep -q "^testpmd> " "$R/tp.log" || die "testpmd did not start (log: $R/tp.log)"
	echo start >"$R/tp.in"
}

peer_stop() {
	echo quit >"$R/tp.in" 2>/dev/null || true
	sleep 1
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	PIDS=()
}

# ---- vswitch ----
VS_PID=
vs() { "$VSCTL" --socket "$R/vs.sock" "$@"; }
vs_up() {
	cat >"$R/vs.yaml" <<EOF
daemon:
  socket: $R/vs.sock
  state-dir: $R/state
  log-level: notice
cpu:
  worker-cores: [$core]
  control-core: $peer
memory:
  packet-buffers: 16384
  max-mtu: 1500
EOF
	rm -rf "$R/state" # every run starts from an empty switch
	"$VSWITCHD" -c "$R/vs.yaml" >"$R/vs.log" 2>&1 &
	VS_PID=$!
	PIDS+=("$VS_PID")
	for _ in $(seq 1 100); do vs version >/dev/null 2>&1 && break; sleep 0.1; done
	vs add-br br0
	vs add-port br0 vu0 type=vhost-user-client path="$R/vu0.sock" queues=1
	vs add-port br0 vu1 type=vhost-user-client path="$R/vu1.sock" queues=1
	if [ "${1:-}" = out ]; then
		vs add-flow br0 "in_port=vu0 actions=output:vu1" >/dev/null
	fi
}
vs_wait() {
	for _ in $(seq 1 300); do
		[ "$(vs -j list-ports | jq '[.[].status["vrings-running"]] == ["2","2"]')" = true ] && return 0
		sleep 0.1
	done
	die "vswitch did not connect to the peer (log: $R/vs.log)"
}
# Both windows print "Mpps cycles/packet on-CPU-share": the share of the window the worker
# thread actually ran (TSC cycles also count time it was preempted by other processes).
vs_window() {
	vs pmd-stats --clear >/dev/null
	local t0 t1 a b k0 k1
	a=$(vs -j get-stats vu1 | jq '.ports[0].tx_packets')
	k0=$(thread_ticks "$VS_PID" pmd)
	t0=$(date +%s.%N)
	if [ -n "$profile" ]; then
		perf record -q -F 4999 -t "$(thread_id "$VS_PID" pmd)" -o "$profile" -- \
			sleep "$seconds" >/dev/null 2>&1
	else
		sleep "$seconds"
	fi
	b=$(vs -j get-stats vu1 | jq '.ports[0].tx_packets')
	k1=$(thread_ticks "$VS_PID" pmd)
	t1=$(date +%s.%N)
	cpp=$(vs -j pmd-stats | jq '.[0].cycles_per_packet')
	echo "vhost vswitch: average rx batch $(vs -j pmd-stats | jq '.[0].avg_rx_batch')" >&2
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v c="$cpp" -v k="$((k1 - k0))" \
		-v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f %.1f %.2f\n", (b - a) / (t1 - t0) / 1e6, c, k / hz / (t1 - t0) }'
}
vs_down() {
	kill "$VS_PID" 2>/dev/null || true
	wait "$VS_PID" 2>/dev/null || true
	VS_PID=
}

# ---- OVS-DPDK (private instance) ----
OR=$R/ovs
V="ovs-vsctl --db=unix:$OR/db.sock --timeout=60"
A="ovs-appctl -t $OR/ovs-vswitchd.ctl"
ovs_up() {
	local variant=$1 p t
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
	if [ "$variant" = out ]; then
		ovs-ofctl add-flow br0 in_port=1,actions=output:2
	else
		ovs-ofctl add-flow br0 actions=NORMAL
	fi
	for i in 0 1; do
		$V add-port br0 vu$i -- set Interface vu$i type=dpdkvhostuserclient \
			options:vhost-server-path="$R/vu$i.sock" ofport_request=$((i + 1))
	done
	[ "$variant" = normal ] && $A fdb/add br0 vu1 0 02:00:00:00:00:02 >/dev/null
	p=$(cat "$OR/ovs-vswitchd.pid")
	for t in /proc/"$p"/task/*; do
		case "$(cat "$t/comm")" in
		pmd*) ;;
		*) taskset -p -c "$peer" "$(basename "$t")" >/dev/null 2>&1 || true ;;
		esac
	done
}
ovs_tx() {
	$A dpctl/show -s netdev@ovs-netdev | awk '
		/port [0-9]+: / { cur = $3 }
		cur == "vu1" && /TX packets:/ { sub("packets:", "", $2); print $2; exit }'
}
ovs_window() {
	local t0 t1 a b st cpp k0 k1 p
	p=$(cat "$OR/ovs-vswitchd.pid")
	$A dpif-netdev/pmd-stats-clear >/dev/null
	a=$(ovs_tx)
	k0=$(thread_ticks "$p" pmd)
	t0=$(date +%s.%N)
	sleep "$seconds"
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

# Rounds: one peer per round and every switch in turn connected to it (the order rotates from
# round to round). Runs on this shared machine are bimodal, and the mode follows the peer's
# memory (a fresh peer's hugepages): within a round all switches see the same peer, so the
# per-round ratios pair like with like.
declare -A MP CP OCP RATIO
sw_list=(${switches//,/ })
for size in $sizes; do
	mk_pcap "$R/f$size.pcap" "$size"
	for r in $(seq 1 "$runs"); do
		peer_start "$size"
		declare -A RM=()
		for k in $(seq 0 $((${#sw_list[@]} - 1))); do
			sw=${sw_list[$(((k + r - 1) % ${#sw_list[@]}))]}
			case $sw in
			vswitch) vs_up ;;
			vswitch-out) vs_up out ;;
			ovs-out) ovs_up out ;;
			ovs-normal) ovs_up normal ;;
			*) die "unknown switch $sw" ;;
			esac
			[ "$k" -eq 0 ] && peer_go
			[[ "$sw" == vswitch* ]] && vs_wait
			sleep "$warmup"
			if [[ "$sw" == vswitch* ]]; then
				read -r m c share < <(vs_window)
				vs_down
			else
				read -r m c share < <(ovs_window)
				ovs_down
			fi
			oc=$(awk -v c="$c" -v s="$share" 'BEGIN { printf "%.1f", c * (s > 1 ? 1 : s) }')
			echo "vhost $sw ${size}B round $r: $m Mpps, $c cycles/packet ($oc on CPU," \
				"worker ran ${share} of the window)" >&2
			jq -nc --arg sw "$sw" --argjson size "$size" --argjson m "$m" --argjson c "$c" \
				--argjson oc "$oc" --argjson sh "$share" --argjson s "$seconds" \
				--argjson core "$core" --argjson r "$r" \
				'{scenario: "vhost-uni", switch: $sw, frame_size: $size, round: $r, mpps: $m,
				  cycles_per_packet: $c, cycles_per_packet_on_cpu: $oc, worker_cpu_share: $sh,
				  window_s: $s, worker_core: $core, time: now | floor}' >>"$out"
			MP[$sw:$size]+="$m "
			CP[$sw:$size]+="$c "
			OCP[$sw:$size]+="$oc "
			RM[$sw]=$m
		done
		peer_stop
		for pair in vswitch:ovs-normal vswitch-out:ovs-out; do
			a=${pair%%:*} b=${pair#*:}
			[ -n "${RM[$a]:-}" ] && [ -n "${RM[$b]:-}" ] || continue
			RATIO[$pair:$size]+="$(awk -v a="${RM[$a]}" -v b="${RM[$b]}" \
				'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }') "
		done
	done
done

# Medians per switch and size; then, per pair, the median of the per-round ratios (the L2
# bridge against OVS NORMAL, the one-rule flow table against OVS's one-rule datapath).
med() { printf '%s\n' $1 | median; }
echo
for size in $sizes; do
	for sw in "${sw_list[@]}"; do
		printf 'vhost %-12s %5sB  %7.3f Mpps  %7.1f cycles/pkt (%s on CPU)  [runs: %s]\n' \
			"$sw" "$size" "$(med "${MP[$sw:$size]}")" "$(med "${CP[$sw:$size]}")" \
			"$(med "${OCP[$sw:$size]}")" "${MP[$sw:$size]% }"
	done
	for pair in vswitch:ovs-normal vswitch-out:ovs-out; do
		[ -n "${RATIO[$pair:$size]:-}" ] || continue
		printf 'vhost %5sB  %s = %.2f (median of rounds)  [rounds: %s]\n' "$size" \
			"${pair/:/\/}" "$(med "${RATIO[$pair:$size]}")" "${RATIO[$pair:$size]% }"
	done
done
