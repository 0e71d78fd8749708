#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's first command: vswitchd on the default configuration (etc/vswitchd.yaml, with a
# private socket and state directory so the demo leaves nothing behind), two hosts in network
# namespaces attached as af_packet ports, a ping between them through the switch, `vsctl show`,
# then live port statistics until Ctrl-C (or DEMO_SECONDS). Everything is cleaned up on exit.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
VSWITCHD="$PWD/$BUILD/daemon/vswitchd"
VSCTL="$PWD/$BUILD/ctl/vsctl"
DIR=$(mktemp -d /tmp/vswitch-demo.XXXXXX)
SOCK="$DIR/vswitchd.sock"
NS1=vsdemo-h1
NS2=vsdemo-h2
PID=

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (network namespaces and af_packet need it): sudo make demo"
	exit 1
fi

cleanup() {
	trap - EXIT INT TERM
	echo
	echo "demo: cleaning up"
	[ -n "${PING_PID:-}" ] && kill "$PING_PID" 2>/dev/null
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID"
		wait "$PID" 2>/dev/null
		echo "demo: vswitchd stopped (exit $?)"
	fi
	ip link del vsdemo1 2>/dev/null
	ip link del vsdemo2 2>/dev/null
	ip netns del $NS1 2>/dev/null
	ip netns del $NS2 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

vsctl() { "$VSCTL" --socket "$SOCK" "$@"; }

# The default config, with the socket and state moved into the demo's directory.
sed -e "s|^\([[:space:]]*socket:\).*|\1 $SOCK|" -e "s|^\([[:space:]]*state-dir:\).*|\1 $DIR/state|" \
	etc/vswitchd.yaml >"$DIR/vswitchd.yaml"
grep -q "socket: $SOCK" "$DIR/vswitchd.yaml" || printf 'daemon:\n  socket: %s\n  state-dir: %s\n' \
	"$SOCK" "$DIR/state" >>"$DIR/vswitchd.yaml"

echo "== vswitchd --check"
"$VSWITCHD" --config "$DIR/vswitchd.yaml" --check
echo "== starting vswitchd (log: $DIR/vswitchd.log)"
"$VSWITCHD" --config "$DIR/vswitchd.yaml" >"$DIR/vswitchd.log" 2>&1 &
PID=$!
for i in $(seq 1 100); do
	vsctl --timeout 1 version >/dev/null 2>&1 && break
	if ! kill -0 $PID 2>/dev/null; then
		echo "demo: vswitchd exited:"; cat "$DIR/vswitchd.log"; exit 1
	fi
	sleep 0.1
done
vsctl version

echo "== two hosts in network namespaces, on veth pairs"
for n in 1 2; do
	ns=vsdemo-h$n
	ip netns del $ns 2>/dev/null
	ip link del vsdemo$n 2>/dev/null
	ip netns add $ns
	ip link add vsdemo$n type veth peer name eth0 netns $ns
	ip link set vsdemo$n up
	ip -n $ns link set lo up
	ip -n $ns link set eth0 up
	ip -n $ns addr add 10.99.0.$n/24 dev eth0
	echo "  $ns: 10.99.0.$n on eth0 <-> vsdemo$n"
done
vsctl list-br | grep -qx br0 || vsctl add-br br0
vsctl add-port br0 h1 type=af_packet iface=vsdemo1
vsctl add-port br0 h2 type=af_packet iface=vsdemo2

echo "== ip netns exec $NS1 ping 10.99.0.2 (through vswitchd)"
ip netns exec $NS1 ping -c 3 -i 0.3 10.99.0.2 || { echo "demo: ping failed"; tail "$DIR/vswitchd.log"; exit 1; }
echo
echo "== vsctl show"
vsctl show
echo
echo "== vsctl fdb-show br0"
vsctl fdb-show br0
echo
ip netns exec $NS1 ping -i 0.05 10.99.0.2 >/dev/null 2>&1 &
PING_PID=$!
end=$(( $(date +%s) + ${DEMO_SECONDS:-1000000000} ))
echo "== live port statistics (a ping runs in the background); Ctrl-C to stop"
while [ "$(date +%s)" -lt "$end" ]; do
	kill -0 $PID 2>/dev/null || { echo "demo: vswitchd died"; tail "$DIR/vswitchd.log"; exit 1; }
	echo "--- $(date +%T)"
	vsctl get-stats
	sleep 2
done
