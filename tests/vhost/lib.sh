# SPDX-License-Identifier: Apache-2.0
# Helpers for the vhost-user tests: the integration helpers (private vswitchd, checks, cleanup)
# plus dpdk-testpmd peers on virtio-user driven through a fifo, and counter readers.
# testpmd runs with --no-huge: DPDK then backs its memory with a memfd it can share with us, so
# no hugepages are needed. Both testpmd lcores share CPU 0; the switch worker gets the last CPU.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

TESTPMD=${TESTPMD:-dpdk-testpmd}
TP_NAMES=()

require_testpmd() {
	if ! command -v "$TESTPMD" >/dev/null; then
		echo "$T_NAME: SKIP: dpdk-testpmd not installed (apt-get install dpdk-dev)"
		exit 77
	fi
}

# tp_start NAME VDEV_ARGS MODE [testpmd application args...]
# Starts an interactive testpmd fed from $T_DIR/NAME.in; its output goes to $T_DIR/NAME.log.
tp_start() {
	local name=$1 vdev=$2 mode=$3
	shift 3
	local fifo="$T_DIR/$name.in"
	rm -f "$fifo"
	mkfifo "$fifo"
	# Keeps the fifo open so testpmd never reads EOF between commands.
	sleep 100000 >"$fifo" &
	T_PIDS+=("$!")
	eval "TP_HOLD_$name=$!"
	stdbuf -oL -eL "$TESTPMD" --lcores "${TP_LCORES:-0@0,1@0}" --no-pci --no-huge \
		-m "${TP_MEM:-256}" --no-shconf --no-telemetry --file-prefix "vsvh$T_ID$name" \
		--vdev "$vdev" -- -i --total-num-mbufs="${TP_MBUFS:-8192}" \
		--forward-mode="$mode" "$@" <"$fifo" >"$T_DIR/$name.log" 2>&1 &
	eval "TP_PID_$name=$!"
	T_PIDS+=("$!")
	TP_NAMES+=("$name")
}

tp_pid() { eval "echo \$TP_PID_$1"; }

tp_cmd() { echo "$2" >"$T_DIR/$1.in"; }

# Waits until testpmd NAME printed its prompt (port started); 1 on timeout or exit.
tp_wait_ready() {
	local i
	for i in $(seq 1 150); do
		grep -q "^testpmd> " "$T_DIR/$1.log" 2>/dev/null && return 0
		kill -0 "$(tp_pid "$1")" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# tp_stat NAME FIELD: FIELD (RX-packets, TX-packets, RX-bytes...) of port 0 as printed by a
# fresh `show port stats 0`.
tp_stat() {
	local name=$1 field=$2 log="$T_DIR/$1.log" before i
	before=$(grep -c "NIC statistics for port" "$log")
	tp_cmd "$name" "show port stats 0"
	for i in $(seq 1 50); do
		[ "$(grep -c "NIC statistics for port" "$log")" -gt "$before" ] &&
			[ "$(tail -n 12 "$log" | grep -c "####*$")" -ge 1 ] && break
		sleep 0.1
	done
	sleep 0.1
	tac "$log" | grep -m1 -o "$field: *[0-9]*" | awk '{print $2}'
}

# Stops testpmd NAME (quit, then SIGKILL) and its fifo holder.
tp_stop() {
	local name=$1 pid hold i
	pid=$(tp_pid "$name")
	hold=$(eval "echo \$TP_HOLD_$name")
	[ -n "$pid" ] || return 0
	tp_cmd "$name" "quit" 2>/dev/null &
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" "$hold" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "TP_PID_$name="
	rm -rf "/var/run/dpdk/vsvh$T_ID$name"
}

tp_kill() {
	local name=$1 pid hold
	pid=$(tp_pid "$name")
	hold=$(eval "echo \$TP_HOLD_$name")
	kill -9 "$pid" "$hold" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "TP_PID_$name="
	rm -rf "/var/run/dpdk/vsvh$T_ID$name"
}

tp_cleanup_all() {
	local n
	for n in "${TP_NAMES[@]}"; do
		[ -n "$(tp_pid "$n")" ] && tp_kill "$n"
	done
}

# Switch counters: port_stat PORT JQ-PATH (relative to the port object).
port_stat() { vsctl -j get-stats "$1" | jq -r ".ports[0]$2"; }
port_status() { vsctl -j list-ports | jq -r ".[] | select(.name==\"$1\") | .status[\"$2\"]"; }
port_field() { vsctl -j list-ports | jq -r ".[] | select(.name==\"$1\") | .$2"; }

# Waits up to $3 seconds (default 10) for the status key $2 of port $1 to become $4.
wait_status() {
	local port=$1 key=$2 secs=${3:-10} want=$4 i
	for i in $(seq 1 $((secs * 10))); do
		[ "$(port_status "$port" "$key")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

pool_in_use() { vsctl -j mempool-list | jq '[.[].in_use] | add'; }
fd_count() { ls "/proc/$VS_PID/fd" | wc -l; }

# The machine may be shared: a worker can be descheduled for a while. Rather than fixed sleeps,
# tests wait for conditions.

# Guest TX entries the switch has not consumed yet, over all running queue pairs of PORT.
ring_pending() {
	vsctl -j list-ports | jq -r ".[] | select(.name==\"$1\") | .status | to_entries[] |
		select(.key | startswith(\"queue\")) | .value" |
		sed -n 's/^guest-tx running (size [0-9]*, avail \([0-9]*\), used \([0-9]*\)).*/\1 \2/p' |
		awk '{ p += ($1 - $2 + 65536) % 65536 } END { print p + 0 }'
}

# settle PORT...: waits (up to 20 s) until the guest TX rings of PORTs are drained and no switch
# counter moves any more.
settle() {
	local i prev= cur p pend
	for i in $(seq 1 80); do
		pend=0
		for p in "$@"; do pend=$((pend + $(ring_pending "$p"))); done
		cur=$(vsctl -j get-stats | jq -c '[.ports[] | .rx_packets, .tx_packets]')
		[ "$pend" -eq 0 ] && [ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.25
	done
	return 1
}

# tp_wait_stat NAME FIELD VALUE [SECS]: waits until testpmd NAME's FIELD reaches VALUE.
tp_wait_stat() {
	local i
	for i in $(seq 1 $((${4:-10} * 2))); do
		[ "$(tp_stat "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.4
	done
	return 1
}

# wait_counter PORT JQ MIN [SECS]: waits until the switch counter reaches MIN.
wait_counter() {
	local i
	for i in $(seq 1 $((${4:-15} * 4))); do
		[ "$(port_stat "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.25
	done
	return 1
}
