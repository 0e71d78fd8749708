#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the vhost-user test guest (busybox). Kernel command line knobs: vsw.mode=ping|loop,
# vsw.ip=ADDR/PREFIX, vsw.peer=ADDR to ping, vsw.secs=N (ping mode: stay up N s so the host can
# ping us), vsw.rounds=N (loop mode: one ping every 0.5 s). Lines for the host start with "VSW".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

arg() { sed -n "s/.*vsw\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
say() { echo "VSW $*"; }
MODE=$(arg mode)
IP=$(arg ip)
PEER=$(arg peer)
SECS=$(arg secs)
ROUNDS=$(arg rounds)
: "${SECS:=5}" "${ROUNDS:=40}"
say "VSW-BOOTED kernel $(uname -r)"

modprobe virtio_pci
modprobe virtio_net
DEV=
for i in $(seq 1 50); do
	for n in /sys/class/net/*; do
		[ "$(basename "$(readlink "$n/device/driver" 2>/dev/null)")" = virtio_net ] && DEV=$(basename "$n")
	done
	[ -n "$DEV" ] && break
	sleep 0.1
done
ip link set lo up
ip addr add "$IP" dev "$DEV"
ip link set "$DEV" up
for i in $(seq 1 100); do
	[ "$(cat /sys/class/net/$DEV/carrier 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
say "VSW-READY $DEV carrier=$(cat /sys/class/net/$DEV/carrier) features=$(cat /sys/class/net/$DEV/device/features 2>/dev/null)"

stats() {
	s=/sys/class/net/$DEV/statistics
	echo "rx_packets=$(cat $s/rx_packets) tx_packets=$(cat $s/tx_packets) rx_dropped=$(cat $s/rx_dropped) rx_errors=$(cat $s/rx_errors)"
}

case "$MODE" in
ping)
	ping -c 5 -i 0.3 -W 3 "$PEER" >/tmp/ping 2>&1
	say "VSW-PING rc=$? $(grep -E 'packets transmitted' /tmp/ping)"
	# Stay up while the host pings us, then a big ping (mergeable buffers, fragments).
	sleep "$SECS"
	ping -c 3 -W 3 -s 4000 "$PEER" >/tmp/ping2 2>&1
	say "VSW-PING-BIG rc=$? $(grep -E 'packets transmitted' /tmp/ping2)"
	;;
loop)
	i=0
	while [ $i -lt "$ROUNDS" ]; do
		i=$((i + 1))
		if ping -c 1 -W 1 "$PEER" >/dev/null 2>&1; then
			say "VSW-LOOP $i ok"
		else
			say "VSW-LOOP $i fail"
		fi
		sleep 0.5
	done
	;;
esac
say "VSW-STATS $(stats)"
say "VSW-END"
sync
poweroff -f
