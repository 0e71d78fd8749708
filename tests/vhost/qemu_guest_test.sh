#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A Linux guest (QEMU TCG, interrupt-driven virtio-net) on a vhost-user port pings a host in a
# network namespace through the switch, both ways, also with 4000-byte pings (mergeable rx
# buffers); then the same with packed virtqueues (packed=on). Then QEMU as the socket server
# (vhost-user-client port) with the switch restarted while the guest keeps pinging: QEMU replays
# the device state and traffic resumes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/guest_lib.sh"
require_root
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -x /bin/busybox ]; then
	echo "$T_NAME: SKIP: needs qemu-system-x86 and busybox-static"
	exit 77
fi
vh_kernel || { fail "guest kernel unavailable"; vs_done; }
vh_initramfs "$VH_CACHE/initramfs-vhost.cpio" || { fail "initramfs build failed"; vs_done; }
t_log "kernel $VH_KERNEL"

vs_start || vs_done
trap '[ -n "${VH_QEMU_PID:-}" ] && kill -9 "$VH_QEMU_PID" 2>/dev/null; t_cleanup' EXIT
NET=10.$((T_ID % 200 + 20)).$((T_ID / 200 % 250))
pool0=$(pool_in_use)
check "add-br br0" vsctl add-br br0
peer=$(host h1 "$NET.1/24")
check "af_packet port to the host namespace" vsctl add-port br0 h1 type=af_packet iface="$peer"
fds0=$(fd_count)

# ---- 1: we listen, QEMU connects ----
check "add vhost-user port vm0" vsctl add-port br0 vm0 type=vhost-user path=$T_DIR/vm0.sock
D=$T_DIR/g1
mkdir -p "$D"
vh_qemu "$D" "socket,id=c0,path=$T_DIR/vm0.sock" \
	"vsw.mode=ping vsw.ip=$NET.2/24 vsw.peer=$NET.1 vsw.secs=8"
T_PIDS+=("$VH_QEMU_PID")
if ! vh_wait "$D/console.log" "VSW-READY" 180 "$VH_QEMU_PID"; then
	fail "guest did not come up"
	tail -n 30 "$D/console.log" "$D/qemu.out"
	vs_done
fi
check_match "guest link up" "carrier=1" "$(grep VSW-READY "$D/console.log")"
check_eq "vm0 runs both vrings" "2" "$(port_status vm0 vrings-running)"
f=$(port_status vm0 features)
check "event idx and mergeable buffers negotiated ($f)" \
	test $(((f >> 29) & 1)) -eq 1 -a $(((f >> 15) & 1)) -eq 1
vh_wait "$D/console.log" "VSW-PING " 60 "$VH_QEMU_PID"
check_match "guest pings the host through the switch" "VSW-PING rc=0" \
	"$(grep 'VSW-PING ' "$D/console.log")"
check "host pings the guest through the switch" in_host h1 ping -c 3 -i 0.3 -W 3 "$NET.2"
vh_wait "$D/console.log" "VSW-END" 90 "$VH_QEMU_PID"
check_match "4000-byte pings (mergeable rx buffers)" "VSW-PING-BIG rc=0" \
	"$(grep 'VSW-PING-BIG' "$D/console.log")"
t_log "guest: $(grep VSW-STATS "$D/console.log" | tr -d '\r')"
irq=$(port_status vm0 guest-interrupts)
check "guest interrupts were raised through the call eventfd ($irq)" test "${irq:-0}" -gt 0
check_eq "no guest error" "null" "$(port_status vm0 last-error | grep -v 'closed by' || echo null)"
for i in $(seq 1 100); do kill -0 "$VH_QEMU_PID" 2>/dev/null || break; sleep 0.1; done
check "vm0 listens again after the guest powered off" wait_status vm0 state 10 listening
rx=$(port_stat vm0 .rx_packets)
tx=$(port_stat vm0 .tx_packets)
check "switch counted the guest's traffic (rx $rx, tx $tx)" test "$rx" -ge 10 -a "$tx" -ge 10
check "del-port vm0" vsctl del-port vm0

# ---- 1b: the same with packed virtqueues (virtio 1.1) ----
check "add vhost-user port vmp" vsctl add-port br0 vmp type=vhost-user path=$T_DIR/vmp.sock
D=$T_DIR/gp
mkdir -p "$D"
VH_DEV_OPTS=packed=on vh_qemu "$D" "socket,id=c0,path=$T_DIR/vmp.sock" \
	"vsw.mode=ping vsw.ip=$NET.2/24 vsw.peer=$NET.1 vsw.secs=4"
T_PIDS+=("$VH_QEMU_PID")
if ! vh_wait "$D/console.log" "VSW-READY" 180 "$VH_QEMU_PID"; then
	fail "packed guest did not come up"
	tail -n 30 "$D/console.log" "$D/qemu.out"
	vs_done
fi
check_eq "vmp negotiated a packed ring" "packed" "$(port_status vmp ring)"
gf=$(sed -n 's/.*VSW-READY.* features=\([01]*\).*/\1/p' "$D/console.log" | tr -d '\r')
check_eq "the guest driver runs a packed ring (feature bit 34)" "1" "${gf:34:1}"
vh_wait "$D/console.log" "VSW-PING " 60 "$VH_QEMU_PID"
check_match "packed: guest pings the host through the switch" "VSW-PING rc=0" \
	"$(grep 'VSW-PING ' "$D/console.log")"
check "packed: host pings the guest through the switch" in_host h1 ping -c 3 -i 0.3 -W 3 "$NET.2"
vh_wait "$D/console.log" "VSW-END" 90 "$VH_QEMU_PID"
check_match "packed: 4000-byte pings (mergeable rx buffers)" "VSW-PING-BIG rc=0" \
	"$(grep 'VSW-PING-BIG' "$D/console.log")"
t_log "packed guest: $(grep VSW-STATS "$D/console.log" | tr -d '\r')"
irq=$(port_status vmp guest-interrupts)
check "packed: guest interrupts raised through the call eventfd ($irq)" test "${irq:-0}" -gt 0
check_eq "packed: no guest error" "null" \
	"$(port_status vmp last-error | grep -v 'closed by' || echo null)"
for i in $(seq 1 100); do kill -0 "$VH_QEMU_PID" 2>/dev/null || break; sleep 0.1; done
check "del-port vmp" vsctl del-port vmp

# ---- 2: QEMU listens (server=on), we connect; the switch restarts under traffic ----
D=$T_DIR/g2
mkdir -p "$D"
vh_qemu "$D" "socket,id=c0,path=$T_DIR/vmc.sock,server=on,wait=off" \
	"vsw.mode=loop vsw.ip=$NET.2/24 vsw.peer=$NET.1 vsw.rounds=70"
T_PIDS+=("$VH_QEMU_PID")
for i in $(seq 1 100); do [ -S "$T_DIR/vmc.sock" ] && break; sleep 0.1; done
check "add vhost-user-client port vmc" vsctl add-port br0 vmc type=vhost-user-client \
	path=$T_DIR/vmc.sock
check "vmc connected to QEMU" wait_status vmc state 10 connected
if ! vh_wait "$D/console.log" "VSW-LOOP [0-9]* ok" 180 "$VH_QEMU_PID"; then
	fail "guest never reached the host in client mode"
	tail -n 30 "$D/console.log"
fi
check "guest pings the host in client mode" grep -q "VSW-LOOP [0-9]* ok" "$D/console.log"
vs_stop
before=$(grep -c "VSW-LOOP" "$D/console.log")
sleep 1
check "vswitchd restarts" vs_start
check "vmc reconnects to QEMU after the restart" wait_status vmc vrings-running 20 2
vh_wait "$D/console.log" "VSW-END" 120 "$VH_QEMU_PID"
after_ok=$(grep "VSW-LOOP" "$D/console.log" | tail -n +$((before + 1)) | grep -c " ok")
t_log "loop: $(grep -c ' ok' "$D/console.log") ok, $(grep -c ' fail' "$D/console.log") failed, $after_ok ok after the restart"
check "guest traffic resumes after the switch restart ($after_ok pings)" test "$after_ok" -ge 5
for i in $(seq 1 100); do kill -0 "$VH_QEMU_PID" 2>/dev/null || break; sleep 0.1; done
check "vmc waits for QEMU again" wait_status vmc state 10 reconnecting
check "del-port vmc" vsctl del-port vmc
check "del-port h1" vsctl del-port h1
sleep 0.5
check_eq "packet buffers back to the baseline" "$pool0" "$(pool_in_use)"
vs_done
