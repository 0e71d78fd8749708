#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vswitchd under valgrind memcheck through one life: --check, a bad config, start from a file,
# null/pcap/af_packet/tap ports with traffic, failing requests, deletions, reloads, a restart from
# state.json and SIGTERM. Any memcheck error or leak fails the test. Needs VSWITCHD_VALGRIND, a
# vswitchd built with -DVSWITCH_NATIVE=OFF (tests/run-tests builds one); skipped (77) without it.
source "$(dirname "$0")/lib.sh"

if [ -z "${VSWITCHD_VALGRIND:-}" ]; then
	echo "$T_NAME: SKIP: set VSWITCHD_VALGRIND to a vswitchd built with -DVSWITCH_NATIVE=OFF"
	exit 77
fi
if ! command -v valgrind >/dev/null; then
	echo "$T_NAME: SKIP: valgrind is not installed"
	exit 77
fi
require_root

# Every run writes its own log; 99 tells a memcheck error from the daemon's own exit codes.
cat >"$T_DIR/vswitchd-vg" <<EOF
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,possible \\
	--error-exitcode=99 --log-file="$T_DIR/valgrind.%p.log" "$VSWITCHD_VALGRIND" "\$@"
EOF
chmod +x "$T_DIR/vswitchd-vg"
VSWITCHD="$T_DIR/vswitchd-vg"

# Fails for each valgrind log with an error or a leak in it, then sets it aside.
vg_check() {
	local what=$1 f bad=0
	for f in "$T_DIR"/valgrind.*.log; do
		[ -e "$f" ] || continue
		if [ -s "$f" ]; then
			bad=1
			fail "$what: valgrind report $(basename "$f")"
			sed 's/^/    /' "$f" | head -n 60
		fi
		mv "$f" "$f.seen"
	done
	[ "$bad" = 1 ] || pass "$what: no memcheck error or leak"
}

python3 - "$T_DIR" <<'PY'
import struct, sys
with open(f"{sys.argv[1]}/in.pcap", "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(40):
        fr = bytes([0xff] * 6) + bytes([2, 0, 0, 0, 0x42, 1]) + b"\x88\xb5" + bytes([i]) * 86
        f.write(struct.pack("<IIII", 1000 + i, 0, len(fr), len(fr)) + fr)
PY

VS_IDLE_SLEEP=1000 VS_PKTS=2048 vs_config <<EOF
bridges:
  - name: br0
    ports:
      - {name: n0, type: null, options: {rx: "false"}}
      - {name: pin, type: pcap, options: {rx: "$T_DIR/in.pcap"}}
      - {name: pout, type: pcap, options: {tx: "$T_DIR/out.pcap"}}
EOF

# --- short runs: --check and a config error ---
"$VSWITCHD" --config "$VS_CONF" --check >"$T_DIR/check.log" 2>&1
check_eq "--check exits 0" 0 "$?"
printf 'cpu:\n  worker-cores: [0]\n  bogus: 1\n' >"$T_DIR/bad.yaml"
"$VSWITCHD" --config "$T_DIR/bad.yaml" >"$T_DIR/bad.log" 2>&1
check_eq "bad config exits 1" 1 "$?"
vg_check "--check and bad config"

# --- one life with every local port type ---
vs_start || vs_done
for i in $(seq 1 100); do
	n=$(vsctl -j get-stats pout | jq '.ports[0].tx_packets')
	[ "${n:-0}" -ge 40 ] && break
	sleep 0.1
done
check_eq "pcap frames crossed the bridge" 40 "$n"
v1=$(host h1 10.79.0.1/24)
v2=$(host h2 10.79.0.2/24)
check "add af_packet h1" vsctl add-port br0 h1 type=af_packet iface="$v1"
check "add af_packet h2" vsctl add-port br0 h2 type=af_packet iface="$v2"
check "h1 pings h2 through the switch" in_host h1 ping -c 3 -i 0.3 -W 5 10.79.0.2
tapname="vvg$T_ID"
tapname=${tapname:0:15}
check "add tap port" vsctl add-port br0 "$tapname" type=tap
T_LINKS+=("$tapname")
sysctl -qw "net.ipv6.conf.$tapname.disable_ipv6=1" 2>/dev/null
ip addr add 10.79.0.254/24 dev "$tapname"
ip link set "$tapname" up
check "h1 pings the host through the tap port" in_host h1 ping -c 2 -i 0.3 -W 5 10.79.0.254
for cmd in "list-br" "list-ports br0" "get-stats" "fdb-show br0" "pmd-stats" "pmd-rxq-show" "fdb-stats br0" "show" \
	"memory-show" "mempool-list" "rpc rpc.list"; do
	check "vsctl -j $cmd" sh -c "$VSCTL --socket $VS_SOCK -j $cmd | jq -e . >/dev/null"
done
# Failing requests take the error paths, where leaks hide.
check_fails "af_packet on a missing interface" vsctl add-port br0 hx type=af_packet iface=nosuch$T_ID
check_fails "pcap of a missing file" vsctl add-port br0 px type=pcap rx="$T_DIR/none.pcap"
check_fails "unknown option" vsctl add-port br0 nx type=null bogus=1
check_fails "duplicate port" vsctl add-port br0 h1 type=null
check_fails "unknown method" vsctl rpc no.such
check_fails "unknown param" vsctl rpc bridge.add '{"name": "b9", "bogus": 1}'
check "add-br br1 + null port" sh -c "$VSCTL --socket $VS_SOCK add-br br1 &&
	$VSCTL --socket $VS_SOCK add-port br1 n1 type=null rx=false"
check "del tap port" vsctl del-port "$tapname"
check "del af_packet h2" vsctl del-port h2
check "fdb-flush" vsctl fdb-flush br0
check "del-br br1 with its port" vsctl del-br br1

# Reloads: a port added by the file, removed again, and a broken file.
cat >>"$VS_CONF" <<'EOF'
      - {name: n2, type: null, options: {rx: "false"}}
EOF
kill -HUP "$VS_PID"
for i in $(seq 1 50); do vsctl -j list-ports br0 2>/dev/null | grep -q '"n2"' && break; sleep 0.1; done
check "SIGHUP added n2" sh -c "$VSCTL --socket $VS_SOCK -j list-ports br0 | grep -q '\"n2\"'"
sed -i '/name: n2/d' "$VS_CONF"
check "vsctl reload removes n2" vsctl reload
cp "$VS_CONF" "$T_DIR/good.yaml"
echo "  garbage: [" >>"$VS_CONF"
check_fails "reload of a broken file fails" vsctl reload
cp "$T_DIR/good.yaml" "$VS_CONF"
vs_stop TERM
check_eq "SIGTERM exits 0" 0 "$?"
vg_check "first life"

# --- restart from state.json (h1 persisted), then stop ---
vs_start || vs_done
check "h1 restored from state.json" sh -c "$VSCTL --socket $VS_SOCK -j list-ports br0 | grep -q '\"h1\"'"
check "del-br br0" vsctl del-br br0
vs_stop TERM
check_eq "second SIGTERM exits 0" 0 "$?"
vg_check "restart from state"
vs_done
