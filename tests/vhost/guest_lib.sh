# SPDX-License-Identifier: Apache-2.0
# Guest side of the QEMU vhost-user tests: fetches a Debian kernel package into a cache
# directory, extracts the uncompressed vmlinux (booted through its PVH entry: under TCG this
# saves the 3-4 s of in-guest xz decompression), and builds a busybox initramfs with the
# virtio-net modules and tests/vhost/guest_init.sh as /init.
#
# Cache: $VSWITCH_TEST_CACHE (default /var/tmp/vswitch-test-cache). Needs apt-get (first run
# only), dpkg-deb, xz, readelf, busybox-static, cpio, depmod/modinfo (kmod).

VH_CACHE=${VSWITCH_TEST_CACHE:-/var/tmp/vswitch-test-cache}
VH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# vh_kernel: sets VH_KROOT (unpacked package), VH_KVER and VH_KERNEL (the image to boot).
vh_kernel() {
	local deb pkg z v off
	mkdir -p "$VH_CACHE"
	deb=$(ls "$VH_CACHE"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | sort -V | tail -1)
	if [ -z "$deb" ]; then
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' |
			awk '{print $1}' | sort -V | tail -1)
		[ -n "$pkg" ] || { echo "no linux-image-6.1.0-*-amd64 package known to apt" >&2; return 1; }
		(cd "$VH_CACHE" && apt-get download "$pkg" >/dev/null 2>&1) ||
			{ echo "apt-get download $pkg failed" >&2; return 1; }
		deb=$(ls "$VH_CACHE"/linux-image-6.1.0-*-amd64_*.deb | sort -V | tail -1)
	fi
	VH_KROOT=$VH_CACHE/$(basename "$deb" .deb)
	if [ ! -d "$VH_KROOT/lib/modules" ]; then
		rm -rf "$VH_KROOT.tmp"
		dpkg-deb -x "$deb" "$VH_KROOT.tmp" && mv "$VH_KROOT.tmp" "$VH_KROOT" || return 1
	fi
	VH_KVER=$(ls "$VH_KROOT/lib/modules" | head -1)
	z=$VH_KROOT/boot/vmlinuz-$VH_KVER
	v=$VH_CACHE/vmlinux-$VH_KVER
	if [ ! -s "$v" ]; then
		# Debian builds with CONFIG_KERNEL_XZ: the payload starts at the xz magic; trailing
		# bytes after the stream make xz complain, which is harmless.
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -1 | cut -d: -f1)
		tail -c +$((off + 1)) "$z" | xz -dc 2>/dev/null >"$v.tmp"
		if readelf -n "$v.tmp" 2>/dev/null | grep -q Xen; then
			mv "$v.tmp" "$v"
		else
			rm -f "$v.tmp"
			v=$z # no PVH note: boot the bzImage (slower)
		fi
	fi
	VH_KERNEL=$v
}

# vh_initramfs OUT: busybox + virtio-net modules + guest_init.sh, rebuilt when the init script
# is newer than OUT.
vh_initramfs() {
	local out=$1 st modroot m
	if [ -s "$out" ] && [ "$out" -nt "$VH_HERE/guest_init.sh" ]; then
		return 0
	fi
	modroot=$VH_KROOT/lib/modules/$VH_KVER
	st=$(mktemp -d "$VH_CACHE/initramfs.XXXXXX")
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,lib/modules/$VH_KVER}
	cp /bin/busybox "$st/bin/busybox"
	for m in $("$st/bin/busybox" --list-full); do
		[ -e "$st/$m" ] || ln -s /bin/busybox "$st/$m"
	done
	mknod -m 600 "$st/dev/console" c 5 1
	mknod -m 666 "$st/dev/null" c 1 3
	declare -A seen=()
	add_mod() {
		local n=${1//-/_} f rel d
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		f=$(find "$modroot/kernel" \( -name "$n.ko*" -o -name "${n//_/-}.ko*" \) | head -1)
		[ -n "$f" ] || { echo "module $n not found" >&2; return 1; }
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d" || return 1; done
		rel=${f#$modroot/}
		mkdir -p "$st/lib/modules/$VH_KVER/$(dirname "$rel")"
		case $f in
		*.ko.xz) xz -dc "$f" >"$st/lib/modules/$VH_KVER/${rel%.xz}" ;;
		*.ko.zst) zstd -dc "$f" >"$st/lib/modules/$VH_KVER/${rel%.zst}" ;;
		*) cp "$f" "$st/lib/modules/$VH_KVER/$rel" ;;
		esac
	}
	add_mod virtio_pci && add_mod virtio_net || { rm -rf "$st"; return 1; }
	cp "$modroot"/modules.builtin* "$modroot"/modules.order "$st/lib/modules/$VH_KVER/" 2>/dev/null
	depmod -b "$st" "$VH_KVER"
	cp "$VH_HERE/guest_init.sh" "$st/init"
	chmod 755 "$st/init"
	(cd "$st" && find . | cpio -o -H newc --quiet) >"$out.tmp" && mv "$out.tmp" "$out"
	rm -rf "$st"
	[ -s "$out" ]
}

# vh_qemu LOGDIR CHARDEV APPEND: starts a TCG guest on a vhost-user netdev in the background
# (pid in VH_QEMU_PID). Guest memory is a shared memfd: no hugepages needed. VH_DEV_OPTS adds
# virtio-net-pci options (packed=on). no_timer_check: on a loaded host, TCG can be slow enough
# for the guest's IO-APIC timer check to fail and panic at boot.
# vectors=0: QEMU 7.2 + TCG + vhost-user crashes in the MSI-X vector unmask path when the
# guest driver sets DRIVER_OK (no irqfd without KVM); INTx avoids it, and QEMU then relays our
# call eventfd writes as interrupts itself.
vh_qemu() {
	local d=$1 chardev=$2 append=$3
	qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 1 -m 256M \
		-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
		-nodefaults -vga none -display none -no-reboot \
		-kernel "$VH_KERNEL" -initrd "$VH_CACHE/initramfs-vhost.cpio" \
		-append "console=ttyS0 quiet panic=-1 no_timer_check $append" \
		-serial "file:$d/console.log" -pidfile "$d/qemu.pid" \
		-chardev "$chardev" \
		-netdev vhost-user,id=n0,chardev=c0,queues=1 \
		-device virtio-net-pci,netdev=n0,addr=0x3,disable-legacy=on,mac=52:54:00:76:68:01,vectors=0${VH_DEV_OPTS:+,$VH_DEV_OPTS} \
		>"$d/qemu.out" 2>&1 &
	VH_QEMU_PID=$!
}

# vh_wait LOG PATTERN SECS [PID]: 0 once PATTERN shows up in LOG.
vh_wait() {
	local log=$1 pat=$2 end=$(($(date +%s) + $3)) pid=${4:-}
	while [ "$(date +%s)" -lt "$end" ]; do
		grep -q -- "$pat" "$log" 2>/dev/null && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			grep -q -- "$pat" "$log" 2>/dev/null
			return
		fi
		sleep 0.2
	done
	return 1
}
