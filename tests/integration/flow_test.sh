#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Flow tables with real traffic: hosts in network namespaces on veth pairs (af_packet ports).
# ACL-like rules allow and deny traffic between hosts (ICMP, TCP by port), rules modified and
# churned under traffic, counters, strict and non-strict deletes, errors pointing at the token,
# synthetic and live traces, rules naming a port that goes and comes back, flow-miss=drop,
# persistence across a restart, flows from the YAML file and the three-way merge on reload.
source "$(dirname "$0")/lib.sh"
require_root

vs_config <<EOF
bridges:
  - name: br0
    flows:
      - "priority=1,arp actions=normal"
EOF
vs_start || vs_done

jv() { vsctl -j "$@"; }
flow_packets() { jv dump-flows br0 | jq --arg f "$1" '[.[] | select(.flow == $f) | .packets] | add // 0'; }

v1=$(host h1 10.78.0.1/24)
v2=$(host h2 10.78.0.2/24)
v3=$(host h3 10.78.0.3/24)
check "add-port h1" vsctl add-port br0 h1 type=af_packet iface="$v1"
check "add-port h2" vsctl add-port br0 h2 type=af_packet iface="$v2"
check "add-port h3" vsctl add-port br0 h3 type=af_packet iface="$v3"
check "YAML flow present" sh -c "$VSCTL --socket $VS_SOCK -j dump-flows br0 | jq -e 'length == 1 and .[0].flow == \"priority=1,arp actions=normal\"'"

# With only the ARP rule, IP misses the table: the default miss action is normal.
check "table miss -> normal: h1 pings h2" in_host h1 ping -c 2 -i 0.2 -W 2 10.78.0.2

# ACL: h1 may not talk to h3 over IP; everything else goes normal.
check "add deny rule" vsctl add-flow br0 "priority=100,ip,nw_src=10.78.0.1,nw_dst=10.78.0.3 actions=drop"
check "add allow-all rule" vsctl add-flow br0 "priority=10,ip actions=normal"
check_fails "denied: h1 cannot ping h3" in_host h1 ping -c 3 -i 0.2 -W 1 10.78.0.3
check "allowed: h1 pings h2" in_host h1 ping -c 2 -i 0.2 -W 2 10.78.0.2
check "allowed: h2 pings h3" in_host h2 ping -c 2 -i 0.2 -W 2 10.78.0.3
deny="priority=100,ip,nw_src=10.78.0.1,nw_dst=10.78.0.3 actions=drop"
n=$(flow_packets "$deny")
check "deny rule counted the dropped pings ($n)" test "${n:-0}" -ge 3
check "flow-stats counts cache and classifier hits" sh -c "$VSCTL --socket $VS_SOCK -j flow-stats br0 | jq -e '.rules == 3 and .cls_hits > 0 and .cache_hits > 0 and .packets >= .cache_hits + .cls_hits'"

# TCP by port: only 5201 from h1 to h2.
if command -v iperf3 >/dev/null; then
	check "tcp: drop h1->h2 tcp" vsctl add-flow br0 "priority=200,tcp,nw_src=10.78.0.1,nw_dst=10.78.0.2 actions=drop"
	check "tcp: allow port 5201 (both directions)" vsctl add-flows br0 - <<EOF
# iperf3 control and data connection, and the replies
priority=300,tcp,nw_src=10.78.0.1,nw_dst=10.78.0.2,tp_dst=5201 actions=normal
priority=300,tcp,nw_src=10.78.0.2,nw_dst=10.78.0.1,tp_src=5201 actions=normal
EOF
	in_host h2 iperf3 -s -D -p 5201 >/dev/null 2>&1
	in_host h2 iperf3 -s -D -p 5202 >/dev/null 2>&1
	sleep 0.3
	out=$(in_host h1 iperf3 -c 10.78.0.2 -p 5201 -t 2 -J 2>&1)
	bps=$(printf '%s' "$out" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	check "tcp 5201 allowed ($(printf '%.0f' "${bps:-0}") bit/s)" awk -v b="${bps:-0}" 'BEGIN { exit !(b > 1000000) }'
	check_fails "tcp 5202 denied" in_host h1 timeout 5 iperf3 -c 10.78.0.2 -p 5202 -t 1 --connect-timeout 1500

	# Modify a rule and churn 2000 others while a TCP stream runs.
	in_host h1 iperf3 -c 10.78.0.2 -p 5201 -t 6 -J >"$T_DIR/iperf_churn.json" 2>&1 &
	ipid=$!
	T_PIDS+=("$ipid")
	sleep 1
	for i in $(seq 0 1999); do
		echo "priority=50,udp,nw_src=10.79.$((i / 250)).$((i % 250)),tp_dst=$((i % 1000)) actions=drop"
	done >"$T_DIR/churn.flows"
	churn_ok=1
	for r in 1 2 3; do
		vsctl add-flows br0 "$T_DIR/churn.flows" >/dev/null || churn_ok=0
		vsctl mod-flows br0 "priority=10,ip actions=normal" >/dev/null || churn_ok=0
		vsctl del-flows br0 "udp,nw_src=10.79.0.0/16" >/dev/null || churn_ok=0
	done
	check_eq "6000 rule adds, deletes and mods under traffic" 1 "$churn_ok"
	wait "$ipid"
	bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$T_DIR/iperf_churn.json" 2>/dev/null)
	check "tcp stream survived the churn ($(printf '%.0f' "${bps:-0}") bit/s)" awk -v b="${bps:-0}" 'BEGIN { exit !(b > 1000000) }'
	check "tcp rules removed" vsctl del-flows br0 tcp
else
	fail "iperf3 not installed"
fi

# Modify the deny rule to allow: traffic resumes at once (caches invalidated).
in_host h1 ping -i 0.05 -w 4 10.78.0.3 >"$T_DIR/ping_mod.log" 2>&1 &
ppid=$!
T_PIDS+=("$ppid")
sleep 1
check "mod-flows --strict deny -> normal" vsctl mod-flows --strict br0 "priority=100,ip,nw_src=10.78.0.1,nw_dst=10.78.0.3 actions=normal"
wait "$ppid"
got=$(grep -c 'bytes from' "$T_DIR/ping_mod.log")
check "pings answered after the mod ($got)" test "${got:-0}" -ge 20

# Errors point at the token.
out=$(vsctl add-flow br0 "priority=5,ip,nw_dst=10.0.0.0/33 actions=drop" 2>&1)
rc=$?
check_eq "bad flow: exit 1" 1 "$rc"
check_match "bad flow: column and token" 'column 15: "nw_dst=10.0.0.0/33": prefix length must be 0 to 32' "$out"
out=$(vsctl add-flow br0 "tp_dst=80 actions=drop" 2>&1)
check_match "prerequisite error" 'tp_dst needs a TCP, UDP or SCTP match' "$out"
out=$(vsctl add-flow br0 "in_port=nosuch actions=drop" 2>&1)
check_match "unknown port error" 'bridge br0 has no port nosuch' "$out"
check_fails "add-flow to a missing bridge" vsctl add-flow nobr "actions=drop"

# Trace.
tr=$(jv trace br0 "in_port=h1,ip,nw_src=10.78.0.1,nw_dst=10.78.0.2")
check "trace: matches the allow-all rule" sh -c "printf '%s' '$tr' | jq -e '.matched and .priority == 10 and (.outputs | length) >= 1'"
vsctl add-flow br0 "priority=400,icmp,nw_dst=10.78.0.2 actions=drop" >/dev/null
tr=$(jv trace br0 "in_port=h1,icmp,nw_src=10.78.0.1,nw_dst=10.78.0.2,icmp_type=8")
check "trace: icmp drop rule, dropped" sh -c "printf '%s' '$tr' | jq -e '.matched and .priority == 400 and .dropped'"
check "trace: human output lists the stages" sh -c "$VSCTL --socket $VS_SOCK trace br0 in_port=h1,icmp,nw_dst=10.78.0.2 | grep -q '^verdict'"
check "del-flows --strict removes exactly one rule" sh -c "$VSCTL --socket $VS_SOCK -j del-flows --strict br0 'priority=400,icmp,nw_dst=10.78.0.2' | jq -e '.deleted == 1'"

# Live trace: the next 3 packets received on h1.
in_host h1 ping -c 8 -i 0.2 10.78.0.2 >/dev/null 2>&1 &
T_PIDS+=($!)
lt=$(vsctl --timeout 5 -j trace --live h1 3)
check "live trace: 3 packets" sh -c "printf '%s' '$lt' | jq -e 'length == 3 and all(.[]; .port == \"h1\" and (.lookup | test(\"^(cache|megaflow|classifier)$\")))'"

# A bridge without rules skips its table; a live trace makes it run while it lasts.
check "bridge without rules, null source port" sh -c "$VSCTL --socket $VS_SOCK add-br brt && $VSCTL --socket $VS_SOCK add-port brt nt type=null rate=2000"
lt=$(vsctl --timeout 5 -j trace --live nt 4)
check "live trace on a bridge without rules" sh -c "printf '%s' '$lt' | jq -e 'length == 4 and all(.[]; .miss and .port == \"nt\")'"
check "brt removed" vsctl del-br brt

# A port that goes away: its rules stay, stop matching, and work again when it is back.
check "rule on in_port=h3" vsctl add-flow br0 "priority=500,in_port=h3,icmp actions=drop"
check_fails "h3 pings are dropped" in_host h3 ping -c 2 -i 0.2 -W 1 10.78.0.2
check "del-port h3" vsctl del-port h3
check "rule kept, flagged" sh -c "$VSCTL --socket $VS_SOCK -j dump-flows br0 'in_port=h3' | jq -e 'length == 1 and .[0].in_port_missing'"
check "re-add h3" vsctl add-port br0 h3 type=af_packet iface="$v3"
check_fails "the rule applies again" in_host h3 ping -c 2 -i 0.2 -W 1 10.78.0.2
check "non-strict del by in_port" sh -c "$VSCTL --socket $VS_SOCK -j del-flows br0 in_port=h3 | jq -e '.deleted == 1'"
check "h3 pings again" in_host h3 ping -c 2 -i 0.2 -W 2 10.78.0.2

# flow-miss=drop: a bridge that forwards only what rules allow.
check "add-br flow-miss=drop" vsctl add-br brd flow-miss=drop
va=$(host fa 10.80.0.1/24)
vb=$(host fb 10.80.0.2/24)
check "brd ports" sh -c "$VSCTL --socket $VS_SOCK add-port brd fa type=af_packet iface=$va && $VSCTL --socket $VS_SOCK add-port brd fb type=af_packet iface=$vb"
check_fails "no rule: nothing passes" in_host fa ping -c 2 -i 0.2 -W 1 10.80.0.2
check "allow arp and icmp" vsctl add-flows br0 /dev/null
check "allow rules on brd" sh -c "printf 'arp actions=normal\nicmp actions=normal\n' | $VSCTL --socket $VS_SOCK add-flows brd -"
check "with rules: fa pings fb" in_host fa ping -c 2 -i 0.2 -W 2 10.80.0.2

# Persistence: a restart keeps run-time rules and deletions.
check "delete the YAML rule at run time" vsctl del-flows --strict br0 "priority=1,arp"
n_before=$(jv dump-flows br0 | jq length)
vs_stop TERM
check_eq "clean exit" 0 "$?"
vs_start || vs_done
check_eq "rules survive a restart" "$n_before" "$(jv dump-flows br0 | jq length)"
check "the rule deleted at run time stays deleted" sh -c "$VSCTL --socket $VS_SOCK -j dump-flows br0 arp | jq -e 'length == 0'"
check "brd flows survive" sh -c "$VSCTL --socket $VS_SOCK -j dump-flows brd | jq -e 'length == 2'"
check "traffic after restart: h1 pings h2" in_host h1 ping -c 2 -i 0.2 -W 2 10.78.0.2

# Editing the YAML: a changed rule and a new one take effect on reload, untouched ones do not.
vs_config <<EOF
bridges:
  - name: br0
    flows:
      - "priority=1,arp actions=flood"
      - "priority=2,udp,tp_dst=9 actions=drop"
EOF
out=$(vsctl reload 2>&1)
check_match "reload reports flow changes" "flows of br0: 2 added" "$out"
check "edited YAML rule applied" sh -c "$VSCTL --socket $VS_SOCK -j dump-flows br0 | jq -e '[.[] | .flow] | index(\"priority=1,arp actions=flood\") != null and index(\"priority=2,udp,tp_dst=9 actions=drop\") != null'"
out=$(vsctl reload 2>&1)
check "unchanged file: no flow change" sh -c "! printf '%s' \"$out\" | grep -q 'flows of br0'"

check "daemon alive" vs_alive
for p in h1 h2 h3; do vsctl del-port "$p" >/dev/null; done
vs_stop TERM
check_eq "clean exit" 0 "$?"
vs_done
