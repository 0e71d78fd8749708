# SPDX-License-Identifier: Apache-2.0
# Shared helpers for integration tests: a private vswitchd per test (temp config, socket, state
# dir), network-namespace hosts on veth pairs, assertions, and cleanup that runs on any exit.
# Tests source this file, call vs_start, assert, and end with vs_done.
set -uo pipefail

VSWITCHD=${VSWITCHD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/daemon/vswitchd}
VSCTL=${VSCTL:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/ctl/vsctl}
T_NAME=$(basename "$0" .sh)
T_DIR=$(mktemp -d "/tmp/vs-${T_NAME}.XXXXXX")
T_ID=$$
T_PASS=0
T_FAIL=0
T_NETNS=()
T_PIDS=()
T_LINKS=()
VS_PID=
VS_SOCK="$T_DIR/vswitchd.sock"
VS_LOG="$T_DIR/vswitchd.log"
VS_CONF="$T_DIR/vswitchd.yaml"
VS_STATE="$T_DIR/state"
# Sanitized builds (-DVSWITCH_ASAN=ON) write their reports to files, one per process, so that a
# report from any vswitchd or vsctl run (even one expected to fail) fails the test in vs_done.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_DIR/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_DIR/sanitizer:print_stacktrace=1"

t_log() { echo "[$T_NAME] $*"; }

pass() {
	T_PASS=$((T_PASS + 1))
	echo "PASS: $*"
}

fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "FAIL: $*"
	if [ -f "$VS_LOG" ]; then
		echo "---- last vswitchd log lines ----"
		tail -n 20 "$VS_LOG"
		echo "----"
	fi
}

# check "description" command...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@" >"$T_DIR/check.out" 2>&1; then
		pass "$what"
	else
		fail "$what (command: $*)"
		sed 's/^/    /' "$T_DIR/check.out" | head -n 20
	fi
}

# check_fails "description" command...: passes when the command fails.
check_fails() {
	local what=$1
	shift
	if "$@" >"$T_DIR/check.out" 2>&1; then
		fail "$what (expected failure: $*)"
	else
		pass "$what"
	fi
}

# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

# check_match "description" regex text
check_match() {
	if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else
		fail "$1: '$3' does not match /$2/"; fi
}

# Writes a test config; extra YAML (bridges: ...) from stdin if given. Worker on the last CPU,
# busy polling unless VS_IDLE_SLEEP (µs) is set.
vs_config() {
	local cpus worker
	cpus=$(nproc)
	worker=$((cpus > 1 ? cpus - 1 : 0))
	{
		cat <<EOC
daemon:
  socket: $VS_SOCK
  state-dir: $VS_STATE
  log-level: ${VS_LOG_LEVEL:-info}
cpu:
  worker-cores: [$worker]${VS_IDLE_SLEEP:+
  idle-sleep-us: $VS_IDLE_SLEEP}
memory:
  packet-buffers: ${VS_PKTS:-8192}
  max-mtu: ${VS_MAX_MTU:-1500}
EOC
		if [ ! -t 0 ]; then cat; fi
	} >"$VS_CONF"
}

vsctl() { "$VSCTL" --socket "$VS_SOCK" "$@"; }

# Starts vswitchd in the background on $VS_CONF and waits for its socket to answer.
vs_start() {
	[ -f "$VS_CONF" ] || vs_config </dev/null
	"$VSWITCHD" --config "$VS_CONF" "$@" >>"$VS_LOG" 2>&1 &
	VS_PID=$!
	T_PIDS+=("$VS_PID")
	local i
	for i in $(seq 1 200); do
		if vsctl --timeout 1 version >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$VS_PID" 2>/dev/null; then
			fail "vswitchd exited during start"
			return 1
		fi
		sleep 0.05
	done
	fail "vswitchd did not answer on $VS_SOCK within 10 s"
	return 1
}

# Stops vswitchd with SIGTERM (or the given signal) and waits; returns its exit status.
vs_stop() {
	local sig=${1:-TERM} rc=0 i
	[ -n "$VS_PID" ] || return 0
	kill -"$sig" "$VS_PID" 2>/dev/null
	for i in $(seq 1 200); do
		kill -0 "$VS_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$VS_PID" 2>/dev/null; then
		fail "vswitchd did not stop within 10 s of SIG$sig"
		kill -9 "$VS_PID" 2>/dev/null
	fi
	wait "$VS_PID" 2>/dev/null
	rc=$?
	VS_PID=
	return $rc
}

vs_alive() { [ -n "$VS_PID" ] && kill -0 "$VS_PID" 2>/dev/null; }

# host NAME ADDR/PREFIX: a netns "NAME-$T_ID" with veth "NAME" inside, its peer "vsNAME$T_ID"
# left in the root namespace (for an af_packet port). Prints the root-side interface name.
host() {
	local name=$1 addr=$2 ns="${1}-${T_ID}" peer
	peer=$(printf 'v%s%s' "$name" "$T_ID" | cut -c1-15)
	ip netns add "$ns" || return 1
	T_NETNS+=("$ns")
	ip link add "$peer" type veth peer name "$name" netns "$ns" || return 1
	T_LINKS+=("$peer")
	ip link set "$peer" up
	# No IPv6 chatter (router solicitations, DAD) to keep counters predictable.
	sysctl -qw "net.ipv6.conf.$peer.disable_ipv6=1" 2>/dev/null
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "$name" up
	[ -n "$addr" ] && ip -n "$ns" addr add "$addr" dev "$name"
	echo "$peer"
}

in_host() {
	local name=$1
	shift
	ip netns exec "${name}-${T_ID}" "$@"
}

# json PATH: jq -e over stdin.
jqe() { jq -e "$@" >/dev/null; }

t_cleanup() {
	local p ns l
	[ -n "$VS_PID" ] && kill -TERM "$VS_PID" 2>/dev/null && sleep 0.3 && kill -9 "$VS_PID" 2>/dev/null
	for p in "${T_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for l in "${T_LINKS[@]}"; do ip link del "$l" 2>/dev/null; done
	# Daemons a test started inside its hosts (iperf3 -D...) die with them.
	for ns in "${T_NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ "${T_KEEP:-0}" = 1 ] || [ "$T_FAIL" -gt 0 ]; then
		echo "[$T_NAME] logs kept in $T_DIR"
	else
		rm -rf "$T_DIR"
	fi
}
trap t_cleanup EXIT

# Fails the test for every sanitizer report written so far (see ASAN_OPTIONS above).
sanitizer_check() {
	local f
	for f in "$T_DIR"/sanitizer.*; do
		[ -e "$f" ] || continue
		fail "sanitizer report $(basename "$f")"
		sed 's/^/    /' "$f" | head -n 40
		mv "$f" "$f.seen"
	done
}

vs_done() {
	sanitizer_check
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ] && [ "$T_PASS" -gt 0 ]
	exit $?
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "$T_NAME: needs root (network namespaces, af_packet)"
		exit 1
	fi
}
