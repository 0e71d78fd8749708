# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared helpers for QEMU TCG guest tests (tests/guest/*_test.sh; tests/vhost can source it too):
#   vsg_kernel              Debian kernel package fetched (apt-get download) and unpacked into
#                           the cache, uncompressed vmlinux extracted for a PVH boot
#   vsg_initramfs OUT INIT "MODS" [OVERLAY_DIR]
#                           busybox-static + modules (dependencies by modinfo, modules.dep by
#                           depmod) + INIT as /init; cached until INIT or the kernel change
#   vsg_cpio_bins OUT FILE... an extra cpio with programs and the shared libraries ldd lists,
#                           appended to the base image (the kernel unpacks concatenated cpios)
#   vsg_noiommu_modules     vfio modules rebuilt with CONFIG_VFIO_NOIOMMU (Debian has it off)
#   vsg_boot MODE           q35 guest with a virtio-net (modern) and an e1000e NIC, a virtio-serial
#                           control channel and host networking in a private netns
#   g 'cmd'                 runs cmd in the booted guest (tests/guest/guestctl.py)
# Cache: $VSWITCH_TEST_CACHE (default /var/tmp/vswitch-test-cache), shared with tests/vhost.
# Needs root, qemu-system-x86, busybox-static, cpio, kmod, xz-utils, binutils, python3; the
# no-IOMMU rebuild also needs gcc, make and apt access (linux-headers, linux-source).

VSG_CACHE=${VSWITCH_TEST_CACHE:-/var/tmp/vswitch-test-cache}
VSG_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VSG_NAME=$(basename "${0%.sh}")
VSG_FAILS=0
VSG_PIDS=()

vsg_log() { echo "[$VSG_NAME $(date +%T)] $*"; }
ok() { echo "ok   - $*"; }
not_ok() {
	echo "FAIL - $*"
	VSG_FAILS=$((VSG_FAILS + 1))
}
# check DESC CMD...: runs CMD on the host, ok when it succeeds.
check() {
	local d=$1
	shift
	if "$@" >/tmp/vsg.$$ 2>&1; then ok "$d"; else
		not_ok "$d"
		sed 's/^/     | /' /tmp/vsg.$$ | tail -20
	fi
}
# expect_match DESC REGEX TEXT
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then ok "$1"; else
		not_ok "$1 (no /$2/)"
		printf '%s\n' "$3" | sed 's/^/     | /' | tail -25
	fi
}
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1 ($3)"; else not_ok "$1: expected '$2', got '$3'"; fi
}

# ---- kernel ----

# Sets VSG_KROOT (unpacked package), VSG_KVER and VSG_KERNEL (image to boot). The newest
# linux-image-6.1.0-N-amd64 apt knows is fetched once; a cached one is used when apt is offline.
vsg_kernel() {
	local deb pkg z v off
	mkdir -p "$VSG_CACHE"
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
		awk '{print $1}' | sort -V | tail -1)
	if [ -z "$pkg" ] && ! ls "$VSG_CACHE"/linux-image-6.1.0-*-amd64_*.deb >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1 # a machine that never fetched the package lists
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -1)
	fi
	deb=
	[ -n "$pkg" ] && deb=$(ls "$VSG_CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -1)
	if [ -z "$deb" ] && [ -n "$pkg" ]; then
		(cd "$VSG_CACHE" && apt-get download "$pkg" >/dev/null 2>&1) ||
			vsg_log "apt-get download $pkg failed"
		deb=$(ls "$VSG_CACHE/${pkg}"_*.deb 2>/dev/null | sort -V | tail -1)
	fi
	[ -n "$deb" ] || deb=$(ls "$VSG_CACHE"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null |
		sort -V | tail -1)
	[ -n "$deb" ] || { vsg_log "no guest kernel: apt-get download linux-image-6.1.0-*-amd64 failed"; return 1; }
	VSG_KROOT=$VSG_CACHE/$(basename "$deb" .deb)
	if [ ! -d "$VSG_KROOT/lib/modules" ]; then
		rm -rf "$VSG_KROOT.tmp"
		dpkg-deb -x "$deb" "$VSG_KROOT.tmp" && mv "$VSG_KROOT.tmp" "$VSG_KROOT" || return 1
	fi
	VSG_KVER=$(ls "$VSG_KROOT/lib/modules" | head -1)
	z=$VSG_KROOT/boot/vmlinuz-$VSG_KVER
	v=$VSG_CACHE/vmlinux-$VSG_KVER
	if [ ! -s "$v" ]; then
		# Debian's bzImage holds an xz stream: the PVH-capable ELF boots ~3 s faster under TCG
		# than decompressing in the guest. Trailing bytes make xz complain; harmless.
		off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$z" | head -1 | cut -d: -f1)
		tail -c +$((off + 1)) "$z" | xz -dc 2>/dev/null >"$v.tmp"
		if readelf -n "$v.tmp" 2>/dev/null | grep -q Xen; then mv "$v.tmp" "$v"; else
			rm -f "$v.tmp"
			v=$z
		fi
	fi
	[ -s "$v" ] || v=$z
	VSG_KERNEL=$v
}

# ---- initramfs ----

# vsg_initramfs OUT INIT "MODS" [OVERLAY_DIR]: modules from OVERLAY_DIR (*.ko) replace the stock
# ones of the same name (the no-IOMMU vfio build).
vsg_initramfs() {
	local out=$1 init=$2 mods=$3 overlay=${4:-} st modroot m f t
	if [ -s "$out" ] && [ "$out" -nt "$init" ] && [ "$out" -nt "$VSG_KERNEL" ] &&
		{ [ -z "$overlay" ] || [ "$out" -nt "$overlay" ]; }; then
		return 0
	fi
	modroot=$VSG_KROOT/lib/modules/$VSG_KVER
	st=$(mktemp -d "$VSG_CACHE/initramfs.XXXXXX")
	mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,run,lib/modules/$VSG_KVER}
	cp /bin/busybox "$st/bin/busybox"
	for m in $("$st/bin/busybox" --list-full); do
		[ -e "$st/$m" ] || ln -s /bin/busybox "$st/$m"
	done
	mknod -m 600 "$st/dev/console" c 5 1
	mknod -m 666 "$st/dev/null" c 1 3
	declare -A seen=()
	_vsg_add_mod() {
		local n=${1//-/_} f rel d
		[ -n "${seen[$n]:-}" ] && return 0
		seen[$n]=1
		f=$(find "$modroot/kernel" \( -name "$n.ko*" -o -name "${n//_/-}.ko*" \) | head -1)
		[ -n "$f" ] || { vsg_log "module $n not found in $modroot"; return 1; }
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do _vsg_add_mod "$d" || return 1; done
		rel=${f#"$modroot"/}
		mkdir -p "$st/lib/modules/$VSG_KVER/$(dirname "$rel")"
		case $f in
		*.ko.xz) xz -dc "$f" >"$st/lib/modules/$VSG_KVER/${rel%.xz}" ;;
		*.ko.zst) zstd -dc "$f" >"$st/lib/modules/$VSG_KVER/${rel%.zst}" ;;
		*) cp "$f" "$st/lib/modules/$VSG_KVER/$rel" ;;
		esac
	}
	for m in $mods; do _vsg_add_mod "$m" || { rm -rf "$st"; return 1; }; done
	if [ -n "$overlay" ]; then
		for f in "$overlay"/*.ko; do
			t=$(find "$st/lib/modules/$VSG_KVER" -name "$(basename "$f")")
			[ -n "$t" ] && cp "$f" "$t"
		done
	fi
	cp "$modroot"/modules.builtin* "$modroot"/modules.order "$st/lib/modules/$VSG_KVER/" 2>/dev/null
	depmod -b "$st" "$VSG_KVER"
	cp "$init" "$st/init"
	chmod 755 "$st/init"
	(cd "$st" && find . | cpio -o -H newc --quiet) >"$out.tmp" && mv "$out.tmp" "$out"
	rm -rf "$st"
	[ -s "$out" ]
}

# vsg_cpio_bins OUT FILE...: each FILE goes to /usr/bin (or to DEST when given as FILE:DEST),
# with every shared library ldd reports, at the same path.
vsg_cpio_bins() {
	local out=$1 st f src dst lib
	shift
	st=$(mktemp -d)
	mkdir -p "$st/usr/bin"
	for f in "$@"; do
		src=${f%%:*}
		dst=${f#*:}
		[ "$dst" = "$f" ] && dst=/usr/bin/$(basename "$src")
		mkdir -p "$st$(dirname "$dst")"
		cp "$src" "$st$dst"
		for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+'); do
			[ -e "$st$lib" ] && continue
			mkdir -p "$st$(dirname "$lib")"
			cp -L "$lib" "$st$lib"
		done
	done
	(cd "$st" && find . | cpio -o -H newc --quiet) >"$out"
	rm -rf "$st"
}

# ---- no-IOMMU vfio modules ----

# Sets VSG_NOIOMMU_DIR to vfio modules of $VSG_KVER rebuilt with CONFIG_VFIO_NOIOMMU (cached).
# Builds drivers/vfio from linux-source-6.1 against linux-headers-$VSG_KVER (installed with
# apt-get), as an out-of-tree module set; the symbol versions match because all vfio modules are
# rebuilt together against the exact headers of the guest kernel.
vsg_noiommu_modules() {
	local d=$VSG_CACHE/noiommu-$VSG_KVER w=$VSG_CACHE/noiommu-src src
	VSG_NOIOMMU_DIR=$d
	[ -s "$d/vfio.ko" ] && return 0
	if [ ! -d "/usr/src/linux-headers-$VSG_KVER" ]; then
		vsg_log "installing linux-headers-$VSG_KVER (no-IOMMU vfio rebuild)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			"linux-headers-$VSG_KVER" >"$VSG_CACHE/headers.log" 2>&1 ||
			{ tail -5 "$VSG_CACHE/headers.log"; return 1; }
	fi
	mkdir -p "$w" "$d.tmp"
	src=$(ls "$w"/linux-source-6.1_*.deb 2>/dev/null | tail -1)
	if [ -z "$src" ]; then
		(cd "$w" && apt-get download linux-source-6.1 >/dev/null 2>&1) || return 1
		src=$(ls "$w"/linux-source-6.1_*.deb | tail -1)
	fi
	if [ ! -d "$w/linux-source-6.1/drivers/vfio" ]; then
		dpkg-deb --fsys-tarfile "$src" | tar -xO ./usr/src/linux-source-6.1.tar.xz |
			tar -xJf - -C "$w" linux-source-6.1/drivers/vfio || return 1
	fi
	rm -rf "$w/build"
	cp -r "$w/linux-source-6.1/drivers/vfio" "$w/build"
	# KCFLAGS covers both #ifdef and IS_ENABLED(); sub-drivers whose headers are not in the
	# headers package are switched off.
	make -C "/usr/src/linux-headers-$VSG_KVER" M="$w/build" KCFLAGS=-DCONFIG_VFIO_NOIOMMU=1 \
		CONFIG_MLX5_VFIO_PCI= CONFIG_HISI_ACC_VFIO_PCI= CONFIG_VFIO_MDEV= \
		-j"$(nproc)" modules >"$w/build.log" 2>&1 || { tail -20 "$w/build.log"; return 1; }
	find "$w/build" -name '*.ko' -exec cp {} "$d.tmp/" \;
	strip --strip-debug "$d.tmp"/*.ko
	modinfo -p "$d.tmp/vfio.ko" | grep -q enable_unsafe_noiommu_mode || return 1
	rm -rf "$d" && mv "$d.tmp" "$d"
}

# ---- the guest ----

VSG_MODS="virtio_pci virtio_net virtio_console e1000e vfio vfio_iommu_type1 vfio_pci \
uio_pci_generic tun"
VSG_VIRTIO=0000:00:03.0
VSG_E1000E=0000:00:04.0
VSG_E1000E_MAC=52:54:00:12:00:04
VSG_VIRTIO_MAC=52:54:00:12:00:03
VSG_VIRTIO_MQ=0000:00:06.0 # virtio-net with 2 queue pairs on a multi-queue tap ($VSG_TAP2)
VSG_VIRTIO_MQ_MAC=52:54:00:12:00:06

# Sets VSG_VSWITCHD/VSG_VSCTL to a build of the source tree the guest CPU can run: the normal
# build uses -march=native and TCG emulates no AVX-512, so a second build directory in the cache,
# configured with VSWITCH_NATIVE=OFF and built incrementally.
vsg_guest_bins() {
	local src=${VSWITCH_SRC:-$(cd "$VSG_HERE/../.." && pwd)} b
	# The build under test already targets a generic CPU: use it as it is.
	if [ -n "${VSWITCH_BUILD:-}" ] && [ -x "${VSWITCHD:-}" ] && [ -x "${VSCTL:-}" ] &&
		grep -q '^VSWITCH_NATIVE:BOOL=OFF' "$VSWITCH_BUILD/CMakeCache.txt" 2>/dev/null; then
		VSG_VSWITCHD=$VSWITCHD
		VSG_VSCTL=$VSCTL
		return 0
	fi
	b=$VSG_CACHE/build-guest-$(printf '%s' "$src" | cksum | cut -d' ' -f1)
	cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVSWITCH_TESTS=OFF \
		-DVSWITCH_NATIVE=OFF >"$VSG_CACHE/build-guest.log" 2>&1 &&
		cmake --build "$b" -j"$(nproc)" --target vswitchd vsctl >>"$VSG_CACHE/build-guest.log" 2>&1 ||
		{ tail -30 "$VSG_CACHE/build-guest.log"; return 1; }
	VSG_VSWITCHD=$b/daemon/vswitchd
	VSG_VSCTL=$b/ctl/vsctl
}

# vsg_prepare [noiommu]: kernel, base image, binaries; sets VSG_INITRD.
vsg_prepare() {
	local base app overlay=
	vsg_kernel || return 1
	if [ "${1:-}" = noiommu ]; then
		vsg_noiommu_modules || { vsg_log "no-IOMMU vfio rebuild failed"; return 1; }
		overlay=$VSG_NOIOMMU_DIR
		base=$VSG_CACHE/initramfs-nic-noiommu-$VSG_KVER.cpio
	else
		base=$VSG_CACHE/initramfs-nic-$VSG_KVER.cpio
	fi
	vsg_initramfs "$base" "$VSG_HERE/init.sh" "$VSG_MODS" "$overlay" || return 1
	VSG_RUN=$(mktemp -d /tmp/vsg-$VSG_NAME.XXXXXX)
	app=$VSG_RUN/app.cpio
	vsg_guest_bins || { vsg_log "cannot build vswitchd for the guest"; return 1; }
	vsg_cpio_bins "$app" "$VSG_VSWITCHD:/usr/sbin/vswitchd" "$VSG_VSCTL:/usr/bin/vsctl" || return 1
	VSG_INITRD=$VSG_RUN/initrd.cpio
	cat "$base" "$app" >"$VSG_INITRD"
}

vsg_cleanup() {
	local p
	[ -n "${VSG_QEMU_PID:-}" ] && kill "$VSG_QEMU_PID" 2>/dev/null
	for p in "${VSG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${VSG_NS:-}" ] && ip netns del "$VSG_NS" 2>/dev/null
	if [ -n "${VSG_RUN:-}" ] && [ "${VSG_KEEP:-0}" != 1 ]; then rm -rf "$VSG_RUN"; fi
}

# vsg_boot MODE: vfio (vIOMMU), noiommu or uio. The e1000e is on a tap in netns $VSG_NS, the
# virtio-net on a UDP socket netdev (guest <- 127.0.0.1:$VSG_QPORT, guest -> :$VSG_HPORT), both
# reachable from inside the netns; a second virtio-net with two queue pairs is on tap $VSG_TAP2. A conventional PCI bridge holds the control channel and a
# third NIC, so that they share one IOMMU group (the "group not viable" case).
vsg_boot() {
	local mode=$1 mach=q35 append iommu=() vextra= log
	VSG_NS=vsg$$
	VSG_TAP=vsgt$$
	VSG_QPORT=$((20000 + $$ % 20000))
	VSG_HPORT=$((VSG_QPORT + 1))
	VSG_CTL=$VSG_RUN/ctl.sock
	log=$VSG_RUN/console.log
	ip netns add "$VSG_NS" || return 1
	ip netns exec "$VSG_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$VSG_NS" ip link set lo up
	ip netns exec "$VSG_NS" ip tuntap add dev "$VSG_TAP" mode tap
	ip netns exec "$VSG_NS" ip link set "$VSG_TAP" up
	# A multi-queue tap behind a second, multi-queue virtio-net (mq=on, 2 queue pairs).
	VSG_TAP2=vsgm$$
	ip netns exec "$VSG_NS" ip tuntap add dev "$VSG_TAP2" mode tap multi_queue
	ip netns exec "$VSG_NS" ip link set "$VSG_TAP2" up
	append="console=ttyS0 quiet panic=-1 vsg.mode=$mode"
	if [ "$mode" = vfio ]; then
		mach=q35,kernel-irqchip=split
		# aw-bits=48: the IOMMU must translate our virtual addresses (IOVA as VA).
		iommu=(-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48)
		append="$append intel_iommu=on"
		vextra=,iommu_platform=on,ats=on # else virtio DMA bypasses the vIOMMU
	fi
	: >"$log"
	ip netns exec "$VSG_NS" qemu-system-x86_64 -machine "$mach" -accel tcg -cpu max -smp 1 \
		-m "${VSG_MEM:-512}" "${iommu[@]}" -nodefaults -vga none -display none -no-reboot \
		-kernel "$VSG_KERNEL" -initrd "$VSG_INITRD" -append "$append" \
		-serial "file:$log" -pidfile "$VSG_RUN/qemu.pid" \
		-netdev "socket,id=n0,udp=127.0.0.1:$VSG_HPORT,localaddr=127.0.0.1:$VSG_QPORT" \
		-device "virtio-net-pci,netdev=n0,addr=0x3,disable-legacy=on,mac=$VSG_VIRTIO_MAC$vextra" \
		-netdev "tap,id=n1,ifname=$VSG_TAP,script=no,downscript=no" \
		-device "e1000e,netdev=n1,addr=0x4,mac=$VSG_E1000E_MAC" \
		-netdev "tap,id=n3,ifname=$VSG_TAP2,script=no,downscript=no,queues=2" \
		-device "virtio-net-pci,netdev=n3,addr=0x6,disable-legacy=on,mq=on,vectors=6,mac=$VSG_VIRTIO_MQ_MAC$vextra" \
		-device pci-bridge,id=pb,chassis_nr=1,addr=0x5 \
		-device virtio-serial-pci,bus=pb,addr=0x1 \
		-chardev "socket,id=ctl,path=$VSG_CTL,server=on,wait=off" \
		-device virtserialport,chardev=ctl,name=vsg.ctl \
		-netdev hubport,id=n2,hubid=7 \
		-device "e1000e,netdev=n2,bus=pb,addr=0x2,mac=52:54:00:12:00:05" \
		>"$VSG_RUN/qemu.out" 2>&1 &
	VSG_QEMU_PID=$!
	local end=$(($(date +%s) + 120))
	while ! grep -q VSG-READY "$log" 2>/dev/null; do
		if ! kill -0 "$VSG_QEMU_PID" 2>/dev/null || [ "$(date +%s)" -gt "$end" ]; then
			vsg_log "guest did not come up"
			tail -20 "$log" "$VSG_RUN/qemu.out"
			return 1
		fi
		sleep 0.2
	done
	vsg_log "guest up ($mode): $(grep -o 'VSG-BOOTED [^ ]*' "$log")"
}

# g 'cmd' [TIMEOUT]: runs cmd in the guest; output on stdout, the command's exit status.
g() {
	python3 "$VSG_HERE/guestctl.py" "$VSG_CTL" "$1" "${2:-60}"
}

# Host side of the NICs (inside the netns that holds the tap and QEMU's UDP socket).
hx() { ip netns exec "$VSG_NS" "$@"; }
pkt() { hx python3 "$VSG_HERE/pkt.py" "$@"; }

# vsg_guest_vswitchd [EXTRA_YAML]: starts vswitchd in the guest with a small configuration
# (one worker sharing the single vCPU, sleeping when idle; 4096 packet buffers).
vsg_guest_vswitchd() {
	g "cat >/etc/vswitch/vswitchd.yaml <<'EOF'
cpu:
  worker-cores: [0]
  idle-sleep-us: 200
memory:
  packet-buffers: 4096
  buffer-cache: 64
${1:-}
EOF
rm -f /var/lib/vswitch/state.json
vswitchd -c /etc/vswitch/vswitchd.yaml -p /run/vswitchd.pid >/tmp/vswitchd.log 2>&1 &
(i=0; while ! vsctl show >/dev/null 2>&1; do i=\$((i+1)); [ \$i -gt 150 ] && exit 1; sleep 0.1; done) ||
{ echo 'vswitchd did not start:'; tail -20 /tmp/vswitchd.log; false; }"
}

vsg_guest_vswitchd_stop() {
	g 'p=$(cat /run/vswitchd.pid 2>/dev/null); [ -n "$p" ] && kill $p; (i=0; while [ -n "$p" ] && kill -0 $p 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done)'
}

# vsg_done: powers the guest off, prints the verdict and exits.
vsg_done() {
	if [ -n "${VSG_QEMU_PID:-}" ] && kill -0 "$VSG_QEMU_PID" 2>/dev/null; then
		python3 "$VSG_HERE/guestctl.py" "$VSG_CTL" "poweroff -f" 5 >/dev/null 2>&1
		sleep 0.5
	fi
	if [ "$VSG_FAILS" -gt 0 ]; then
		vsg_log "FAILED: $VSG_FAILS check(s); console: ${VSG_RUN:-}/console.log"
		VSG_KEEP=1
		exit 1
	fi
	vsg_log "PASS"
	exit 0
}

# jget PATH: reads JSON on stdin, prints the value at PATH ("ports.0.rx_packets"; "" if absent).
jget() {
	python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    try:
        v = v[int(k)] if isinstance(v, list) else v[k]
    except (KeyError, IndexError, ValueError, TypeError):
        v = ""
        break
print(v if not isinstance(v, bool) else str(v).lower())' "$1" 2>/dev/null
}

# port_stat PORT FIELD: a counter from vsctl -j get-stats in the guest.
port_stat() { g "vsctl -j get-stats $1" | jget "ports.0.$2"; }
# port_status PORT KEY: a driver status line from vsctl -j list-ports in the guest.
port_status() {
	g "vsctl -j list-ports" | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name") == sys.argv[1]:
        v = p.get("status", {}).get(sys.argv[2], p.get(sys.argv[2], ""))
        print(v)' "$1" "$2" 2>/dev/null
}

# Skips (exit 77) when the host cannot run the guest tests.
vsg_require() {
	if [ "$(id -u)" != 0 ]; then echo "$VSG_NAME: SKIP: needs root"; exit 77; fi
	local t
	for t in qemu-system-x86_64 cpio depmod python3 readelf xz; do
		command -v "$t" >/dev/null || { echo "$VSG_NAME: SKIP: needs $t"; exit 77; }
	done
	[ -x /bin/busybox ] || { echo "$VSG_NAME: SKIP: needs busybox-static"; exit 77; }
	command -v cmake >/dev/null || { echo "$VSG_NAME: SKIP: needs cmake"; exit 77; }
}
