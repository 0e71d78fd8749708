#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vhost-user ports against dpdk-testpmd virtio-user peers: testpmd txonly -> switch -> testpmd
# rxonly with every packet accounted for (sent == switch rx == switch tx + counted drops == peer
# rx), an exact zero-loss exchange, both port modes (we listen / we connect), two queue pairs,
# jumbo frames and an oversize frame, peer kill + restart, switch restart with reconnection, the
# same with packed virtqueues (packed_vq=1), and no leak of packet buffers or fds afterwards.
source "$(dirname "$0")/lib.sh"
require_root
# Where things stand when a count does not match: ring positions, rx queue placement, buffers.
diag() {
	t_log "diag: $(port_status "$1" queue0); rx_nobuf $(port_stat "$1" .drops.rx_nobuf);" \
		"buffers in use $(pool_in_use); $(vsctl pmd-rxq-show | tr '\n' ' ')"
}
require_testpmd

VS_MAX_MTU=9000 VS_PKTS=8192 vs_config </dev/null
vs_start || vs_done
trap 'tp_cleanup_all; t_cleanup' EXIT

S="$T_DIR"
pool0=$(pool_in_use)
check "add-br br0" vsctl add-br br0
fds0=$(fd_count)

# ---- option errors ----
long=/tmp/$(printf 'x%.0s' $(seq 1 120)).sock
out=$(vsctl add-port br0 bad0 type=vhost-user path="$long" 2>&1)
check_match "socket path over 107 bytes refused with a clear error" "at most 107" "$out"
out=$(vsctl add-port br0 bad1 type=vhost-user 2>&1)
check_match "path is required" "path.*required" "$out"
out=$(vsctl add-port br0 bad2 type=vhost-user path=$S/x.sock mode=999 2>&1)
check_match "mode must be octal" "octal" "$out"
out=$(vsctl add-port br0 bad3 type=vhost-user-client path=$S/x.sock mode=0600 2>&1)
check_match "client ports take no socket permissions" "unknown option 'mode'" "$out"
touch "$S/notasock"
out=$(vsctl add-port br0 bad4 type=vhost-user path=$S/notasock 2>&1)
check_match "an existing non-socket file is not replaced" "not a socket" "$out"

# ---- server mode (we listen, testpmd connects) ----
check "add vhost-user port vu0" vsctl add-port br0 vu0 type=vhost-user path=$S/vu0.sock mode=0660
check "add vhost-user port vu1" vsctl add-port br0 vu1 type=vhost-user path=$S/vu1.sock
check_eq "socket created with mode 0660" "660" "$(stat -c %a $S/vu0.sock)"
check_eq "vu0 listening" "listening" "$(port_status vu0 state)"

tp_start rx "net_virtio_user0,path=$S/vu1.sock,queues=1" rxonly
tp_start tx "net_virtio_user0,path=$S/vu0.sock,queues=1" txonly
check "testpmd rx ready" tp_wait_ready rx
check "testpmd tx ready" tp_wait_ready tx
check "vu0 connected" wait_status vu0 vrings-running 5 2
check "vu1 connected" wait_status vu1 vrings-running 5 2
check_match "features negotiated (VERSION_1|MRG_RXBUF|PROTOCOL_FEATURES)" "^0x1[0-9a-f]*" \
	"$(port_status vu0 features)"
check_eq "link up" "true" "$(port_field vu0 link)"

tp_cmd rx start
tp_cmd tx start
sleep 2
wait_counter vu0 .rx_packets 10000
tp_cmd tx stop
settle vu0 vu1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat vu1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
vu0_rx=$(port_stat vu0 .rx_packets)
vu1_tx=$(port_stat vu1 .tx_packets)
vu1_full=$(port_stat vu1 .drops.tx_full)
dp_drops=$(vsctl -j get-stats | jq '[.ports[].drops | to_entries[] | select(.key|startswith("dp_")) | .value] | add')
diag vu0
t_log "testpmd tx $txd, vu0 rx $vu0_rx, vu1 tx $vu1_tx + ring full $vu1_full, testpmd rx $rxd, datapath drops $dp_drops"
check "traffic flowed (testpmd sent $txd)" test "${txd:-0}" -gt 1000
check_eq "testpmd tx == switch rx (vu0)" "$txd" "$vu0_rx"
check_eq "switch rx == switch tx + counted guest-ring-full drops" "$vu0_rx" \
	"$((vu1_tx + vu1_full + dp_drops))"
check_eq "switch tx (vu1) == testpmd rx" "$vu1_tx" "$rxd"

# Exact run: a few bursts that fit the rings must all arrive, no drop at all.
tp_stop tx
vsctl clear-stats
tp_start tx "net_virtio_user0,path=$S/vu0.sock,queues=1" io
check "testpmd tx (io) ready" tp_wait_ready tx
rx0=$(tp_stat rx RX-packets)
tp_cmd tx "start tx_first 4"
tp_wait_stat rx RX-packets "$((rx0 + 128))"
settle vu0 vu1
check_eq "zero-loss: 4 bursts of 32 arrive" "$((rx0 + 128))" "$(tp_stat rx RX-packets)"
check_eq "zero-loss: switch counted 128 in" "128" "$(port_stat vu0 .rx_packets)"
check_eq "zero-loss: no drop" "0" "$(port_stat vu1 .drops.tx_full)"

# Peer killed and restarted: the port goes back to listening, then traffic resumes.
tp_kill tx
check "after the peer died vu0 listens again" wait_status vu0 state 5 listening
tp_start tx "net_virtio_user0,path=$S/vu0.sock,queues=1" txonly
check "restarted peer reconnects" wait_status vu0 vrings-running 10 2
rx0=$(tp_stat rx RX-packets)
tp_cmd tx start
tp_wait_stat rx RX-packets "$((rx0 + 1000))" 15
tp_cmd tx stop
settle vu0 vu1
rx1=$(tp_stat rx RX-packets)
check "traffic resumes after the peer restart ($rx0 -> $rx1)" test "$rx1" -gt "$((rx0 + 1000))"
check_eq "sessions counted (txonly, io, restarted txonly)" "3" "$(port_status vu0 sessions)"
tp_stop tx
tp_stop rx

# ---- jumbo frames (max-mtu 9000) and an oversize frame ----
check "mtu 9000 on vu0" vsctl set port vu0 mtu=9000
check "mtu 9000 on vu1" vsctl set port vu1 mtu=9000
vsctl clear-stats
TP_MEM=512 tp_start rx "net_virtio_user0,path=$S/vu1.sock,queues=1" rxonly --max-pkt-len=9018 \
	--enable-scatter
TP_MEM=512 tp_start tx "net_virtio_user0,path=$S/vu0.sock,queues=1" io --mbuf-size=9600 \
	--max-pkt-len=9018 --txpkts=9000
check "jumbo peers ready" tp_wait_ready tx
check "jumbo peers connected" wait_status vu0 vrings-running 5 2
tp_cmd rx start
tp_cmd tx "set fwd txonly"
tp_cmd tx "set txpkts 9000"
rx0=$(tp_stat rx RX-packets)
tp_cmd tx start
sleep 2
wait_counter vu1 .tx_packets 200
tp_cmd tx stop
settle vu0 vu1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat vu1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
rxb=$(tp_stat rx RX-bytes)
vu1_tx=$(port_stat vu1 .tx_packets)
vu1_full=$(port_stat vu1 .drops.tx_full)
diag vu0
t_log "jumbo: testpmd tx $txd, vu1 tx $vu1_tx + full $vu1_full, testpmd rx $rxd ($rxb bytes)"
check "jumbo frames flowed ($rxd received)" test "$((rxd - rx0))" -gt 100
check_eq "jumbo: all received frames are 9000 bytes" "$((rxd * 9000))" "$rxb"
check_eq "jumbo: sent == switch rx" "$txd" "$(port_stat vu0 .rx_packets)"
check_eq "jumbo: switch tx + counted drops == switch rx" "$txd" "$((vu1_tx + vu1_full))"
check_eq "jumbo: switch tx == peer rx" "$vu1_tx" "$rxd"
# Frames larger than the packet buffers (9216 B data room) are dropped and counted on rx.
tp_cmd tx "set fwd io"
tp_cmd tx "set txpkts 9300"
inv0=$(port_stat vu0 .drops.rx_invalid)
tp_cmd tx "start tx_first 1"
wait_counter vu0 .drops.rx_invalid "$((inv0 + 32))"
settle vu0
tp_cmd tx stop
check_eq "oversize frames dropped and counted (32 more rx_invalid)" "$((inv0 + 32))" \
	"$(port_stat vu0 .drops.rx_invalid)"
tp_stop tx
tp_stop rx
check "oversize frames did not break the port" test "$(port_field vu0 state)" = started

# ---- multi-queue: two queue pairs ----
vsctl clear-stats
TP_LCORES="0@0,1@0,2@0" tp_start rx "net_virtio_user0,path=$S/vu1.sock,queues=2" rxonly \
	--rxq=2 --txq=2 --nb-cores=2
TP_LCORES="0@0,1@0,2@0" tp_start tx "net_virtio_user0,path=$S/vu0.sock,queues=2" txonly \
	--rxq=2 --txq=2 --nb-cores=2
check "mq peers ready" tp_wait_ready tx
check "vu0 runs 4 vrings" wait_status vu0 vrings-running 5 4
check_eq "vu0 reports 2 queue pairs" "2/16" "$(port_status vu0 queue-pairs)"
check_eq "vu0 has 2 rx queues" "2" "$(port_field vu0 n_rxq)"
tp_cmd rx start
tp_cmd tx start
sleep 2
wait_counter vu0 '.rxq[1].packets' 1000
tp_cmd tx stop
settle vu0 vu1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat vu1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
q0=$(port_stat vu0 '.rxq[0].packets')
q1=$(port_stat vu0 '.rxq[1].packets')
vu1_tx=$(port_stat vu1 .tx_packets)
vu1_full=$(port_stat vu1 .drops.tx_full)
t_log "mq: testpmd tx $txd = rxq0 $q0 + rxq1 $q1; vu1 tx $vu1_tx + full $vu1_full; peer rx $rxd"
check "mq: both guest TX queues carried traffic" test "$q0" -gt 0 -a "$q1" -gt 0
check_eq "mq: sent == switch rx over both queues" "$txd" "$((q0 + q1))"
check_eq "mq: switch rx == tx + counted drops" "$((q0 + q1))" "$((vu1_tx + vu1_full))"
check_eq "mq: switch tx == peer rx" "$vu1_tx" "$rxd"
tp_stop tx
tp_stop rx
check "vu0 back to listening" wait_status vu0 state 5 listening

# ---- client mode (testpmd listens with server=1, we connect and reconnect) ----
check "add vhost-user-client port vc0" vsctl add-port br0 vc0 type=vhost-user-client \
	path=$S/vc0.sock
check "add vhost-user-client port vc1" vsctl add-port br0 vc1 type=vhost-user-client \
	path=$S/vc1.sock
check_eq "vc0 waits for its peer" "reconnecting" "$(port_status vc0 state)"
check "remove the server-mode ports" vsctl del-port vu0
vsctl del-port vu1
# Removal may wait for a grace period of the workers: give it a moment.
for i in $(seq 1 30); do [ -e $S/vu0.sock ] || break; sleep 0.1; done
check "server socket removed with its port" test ! -e $S/vu0.sock
tp_start rx "net_virtio_user0,path=$S/vc1.sock,queues=1,server=1" rxonly
tp_start tx "net_virtio_user0,path=$S/vc0.sock,queues=1,server=1" txonly
check "vc0 connects to its peer (back-off <= 5 s)" wait_status vc0 vrings-running 15 2
check "vc1 connects to its peer" wait_status vc1 vrings-running 15 2
tp_cmd rx start
tp_cmd tx start
sleep 2
wait_counter vc1 .tx_packets 1000
tp_cmd tx stop
settle vc0 vc1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat vc1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
diag vc0
check "client mode: traffic flowed ($rxd)" test "${rxd:-0}" -gt 1000
check_eq "client mode: sent == switch rx" "$txd" "$(port_stat vc0 .rx_packets)"
check_eq "client mode: switch tx == peer rx" "$(port_stat vc1 .tx_packets)" "$rxd"

# The switch restarts: its ports come back from the state file and reconnect to the peers.
vs_stop
check "vswitchd restarts" vs_start
check "vc0 reconnects after the switch restart" wait_status vc0 vrings-running 20 2
check "vc1 reconnects after the switch restart" wait_status vc1 vrings-running 20 2
rx0=$(tp_stat rx RX-packets)
tp_cmd tx start
tp_wait_stat rx RX-packets "$((rx0 + 1000))" 15
tp_cmd tx stop
settle vc0 vc1
rx1=$(tp_stat rx RX-packets)
check "traffic resumes after the switch restart ($rx0 -> $rx1)" test "$rx1" -gt "$((rx0 + 1000))"
fds_c=$(fd_count)

# The peer (server) restarts: we reconnect with back-off.
tp_kill tx
check "vc0 notices the peer is gone" wait_status vc0 state 5 reconnecting
rm -f $S/vc0.sock # a killed DPDK server leaves its socket file behind and cannot bind again
tp_start tx "net_virtio_user0,path=$S/vc0.sock,queues=1,server=1" txonly
check "vc0 reconnects to the restarted peer" wait_status vc0 vrings-running 15 2
rx0=$(tp_stat rx RX-packets)
tp_cmd tx start
tp_wait_stat rx RX-packets "$((rx0 + 1000))" 15
tp_cmd tx stop
settle vc0 vc1
check "traffic resumes after the peer restart" test "$(tp_stat rx RX-packets)" -gt "$((rx0 + 1000))"
check_eq "no fd leak over a peer restart" "$fds_c" "$(fd_count)"
tp_stop tx
tp_stop rx
check "vc0 reconnecting after the peers left" wait_status vc0 state 5 reconnecting
check "del-port vc0" vsctl del-port vc0
check "del-port vc1" vsctl del-port vc1

# ---- packed virtqueues: server mode, zero loss, jumbo (mergeable), peer restart ----
PK=queues=1,packed_vq=1
check "add vhost-user port pv0" vsctl add-port br0 pv0 type=vhost-user path=$S/pv0.sock
check "add vhost-user port pv1" vsctl add-port br0 pv1 type=vhost-user path=$S/pv1.sock
vsctl clear-stats
tp_start rx "net_virtio_user0,path=$S/pv1.sock,$PK" rxonly
tp_start tx "net_virtio_user0,path=$S/pv0.sock,$PK" txonly
check "packed peers ready" tp_wait_ready tx
check "pv0 runs both vrings" wait_status pv0 vrings-running 5 2
check "pv1 runs both vrings" wait_status pv1 vrings-running 5 2
check_eq "pv0 negotiated a packed ring" "packed" "$(port_status pv0 ring)"
f=$(port_status pv1 features)
check "VIRTIO_F_RING_PACKED (bit 34) negotiated ($f)" test $(((f >> 34) & 1)) -eq 1
tp_cmd rx start
tp_cmd tx start
sleep 2
wait_counter pv0 .rx_packets 10000
tp_cmd tx stop
settle pv0 pv1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat pv1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
pv0_rx=$(port_stat pv0 .rx_packets)
pv1_tx=$(port_stat pv1 .tx_packets)
pv1_full=$(port_stat pv1 .drops.tx_full)
dp_drops=$(vsctl -j get-stats | jq '[.ports[].drops | to_entries[] | select(.key|startswith("dp_")) | .value] | add')
diag pv0
t_log "packed: testpmd tx $txd, pv0 rx $pv0_rx, pv1 tx $pv1_tx + full $pv1_full, testpmd rx $rxd, datapath drops $dp_drops"
check "packed: traffic flowed (testpmd sent $txd)" test "${txd:-0}" -gt 1000
check_eq "packed: testpmd tx == switch rx" "$txd" "$pv0_rx"
check_eq "packed: switch rx == switch tx + counted drops" "$pv0_rx" \
	"$((pv1_tx + pv1_full + dp_drops))"
check_eq "packed: switch tx == testpmd rx" "$pv1_tx" "$rxd"
check_eq "packed: no guest error" "0" "$(port_stat pv0 .drops.rx_invalid)"
tp_stop tx
vsctl clear-stats
tp_start tx "net_virtio_user0,path=$S/pv0.sock,$PK" io
check "packed testpmd tx (io) ready" tp_wait_ready tx
check "packed peer reconnected after its restart" wait_status pv0 vrings-running 10 2
rx0=$(tp_stat rx RX-packets)
tp_cmd tx "start tx_first 4"
tp_wait_stat rx RX-packets "$((rx0 + 128))"
settle pv0 pv1
check_eq "packed zero-loss: 4 bursts of 32 arrive" "$((rx0 + 128))" "$(tp_stat rx RX-packets)"
check_eq "packed zero-loss: switch counted 128 in" "128" "$(port_stat pv0 .rx_packets)"
check_eq "packed zero-loss: no drop" "0" "$(port_stat pv1 .drops.tx_full)"
check_eq "packed: sessions counted (txonly, io)" "2" "$(port_status pv0 sessions)"
tp_stop tx
tp_stop rx
# Jumbo frames: 9000 bytes spread over several 2 kB guest buffers (mergeable rx on packed).
check "mtu 9000 on pv0" vsctl set port pv0 mtu=9000
check "mtu 9000 on pv1" vsctl set port pv1 mtu=9000
vsctl clear-stats
TP_MEM=512 tp_start rx "net_virtio_user0,path=$S/pv1.sock,$PK" rxonly --max-pkt-len=9018 \
	--enable-scatter
TP_MEM=512 tp_start tx "net_virtio_user0,path=$S/pv0.sock,$PK" txonly --mbuf-size=9600 \
	--max-pkt-len=9018 --txpkts=9000
check "packed jumbo peers ready" tp_wait_ready tx
check "packed jumbo peers connected" wait_status pv0 vrings-running 5 2
tp_cmd rx start
tp_cmd tx start
sleep 2
wait_counter pv1 .tx_packets 200
tp_cmd tx stop
settle pv0 pv1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat pv1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
rxb=$(tp_stat rx RX-bytes)
pv1_tx=$(port_stat pv1 .tx_packets)
pv1_full=$(port_stat pv1 .drops.tx_full)
t_log "packed jumbo: testpmd tx $txd, pv1 tx $pv1_tx + full $pv1_full, testpmd rx $rxd ($rxb bytes)"
check "packed jumbo frames flowed ($rxd received)" test "${rxd:-0}" -gt 100
check_eq "packed jumbo: all received frames are 9000 bytes" "$((rxd * 9000))" "$rxb"
check_eq "packed jumbo: sent == switch rx" "$txd" "$(port_stat pv0 .rx_packets)"
check_eq "packed jumbo: switch tx + counted drops == switch rx" "$txd" "$((pv1_tx + pv1_full))"
check_eq "packed jumbo: switch tx == peer rx" "$pv1_tx" "$rxd"
tp_stop tx
tp_stop rx
check "packed ports did not break" test "$(port_field pv0 state)" = started
check "del-port pv0" vsctl del-port pv0
check "del-port pv1" vsctl del-port pv1

# ---- packed virtqueues, client mode: the switch restarts and reconnects ----
check "add vhost-user-client port pc0" vsctl add-port br0 pc0 type=vhost-user-client \
	path=$S/pc0.sock
check "add vhost-user-client port pc1" vsctl add-port br0 pc1 type=vhost-user-client \
	path=$S/pc1.sock
tp_start rx "net_virtio_user0,path=$S/pc1.sock,$PK,server=1" rxonly
tp_start tx "net_virtio_user0,path=$S/pc0.sock,$PK,server=1" txonly
check "pc0 connects to its packed peer" wait_status pc0 vrings-running 15 2
check "pc1 connects to its packed peer" wait_status pc1 vrings-running 15 2
check_eq "pc0 negotiated a packed ring" "packed" "$(port_status pc0 ring)"
tp_cmd rx start
tp_cmd tx start
tp_wait_stat rx RX-packets 1000 15
tp_cmd tx stop
settle pc0 pc1
txd=$(tp_stat tx TX-packets)
tp_wait_stat rx RX-packets "$(port_stat pc1 .tx_packets)"
rxd=$(tp_stat rx RX-packets)
check "packed client mode: traffic flowed ($rxd)" test "${rxd:-0}" -gt 1000
check_eq "packed client mode: sent == switch rx" "$txd" "$(port_stat pc0 .rx_packets)"
check_eq "packed client mode: switch tx == peer rx" "$(port_stat pc1 .tx_packets)" "$rxd"
vs_stop
check "vswitchd restarts (packed peers waiting)" vs_start
check "pc0 reconnects after the switch restart" wait_status pc0 vrings-running 20 2
check "pc1 reconnects after the switch restart" wait_status pc1 vrings-running 20 2
rx0=$(tp_stat rx RX-packets)
tp_cmd tx start
tp_wait_stat rx RX-packets "$((rx0 + 1000))" 15
tp_cmd tx stop
settle pc0 pc1
rx1=$(tp_stat rx RX-packets)
check "packed: traffic resumes after the switch restart ($rx0 -> $rx1)" \
	test "$rx1" -gt "$((rx0 + 1000))"
check_eq "packed: no guest error after the restart" "0" "$(port_stat pc0 .drops.rx_invalid)"
tp_stop tx
tp_stop rx
check "del-port pc0" vsctl del-port pc0
check "del-port pc1" vsctl del-port pc1
sleep 0.5
check_eq "packet buffers back to the baseline" "$pool0" "$(pool_in_use)"
check_eq "fds back to the baseline (no port left)" "$((fds0 - 0))" "$(fd_count)"
vs_done
