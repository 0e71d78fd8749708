#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# /init of the userspace-NIC test guest (busybox): mounts, hugetlbfs, then one persistent shell
# fed from the virtio-serial port "vsg.ctl", which the host drives with tests/guest/guestctl.py
# (one boot, many steps; variables and background jobs survive between calls). Lines meant for
# the host console start with "VSG".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/hugepages /tmp /run /var/lib/vswitch /etc/vswitch
mount -t hugetlbfs none /dev/hugepages
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ip link set lo up
echo "VSG-BOOTED $(uname -r) $(cat /proc/cmdline)"

modprobe virtio_pci
modprobe virtio_console
PORT=
for i in $(seq 1 50); do
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = vsg.ctl ] && PORT=/dev/$(basename "$p")
	done
	[ -n "$PORT" ] && break
	sleep 0.1
done
if [ -z "$PORT" ]; then
	echo "VSG-FAILED no control port"
	poweroff -f
fi
# A virtio port opens once: one descriptor for both directions. read() gives EOF while no host
# client is connected, hence the cat loop feeding a fifo that the shell keeps reading.
exec 3<>"$PORT"
mkfifo /tmp/ctl.in
(while true; do cat <&3; sleep 0.1; done) >/tmp/ctl.in &
echo "VSG-READY $PORT"
sh </tmp/ctl.in >&3 2>&1
echo "VSG-END"
poweroff -f
