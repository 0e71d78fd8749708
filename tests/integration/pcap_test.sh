#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Offline path: frames replayed from a pcap port cross the bridge and are written, unchanged
# and in order, by another pcap port; a VLAN access port strips its tag on the way out.
source "$(dirname "$0")/lib.sh"
require_root

python3 - "$T_DIR" <<'PY'
import struct, sys
d = sys.argv[1]
def frame(i, vlan=None, size=100):
    dst = bytes([0xff] * 6) if i % 3 == 0 else bytes([0x02, 0, 0, 0, 0x99, i % 256])
    src = bytes([0x02, 0, 0, 0, 0x11, 0x01])
    tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
    body = struct.pack("!H", 0x88b5) + bytes([i % 256]) * (size - 14)
    return dst + src + tag + body
def write(name, frames):
    with open(f"{d}/{name}", "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1000 + i, 0, len(fr), len(fr)))
            f.write(fr)
write("in.pcap", [frame(i, size=60 + (i * 37) % 1400) for i in range(200)])
write("tagged.pcap", [frame(i, vlan=30) for i in range(50)])
PY

vs_start || vs_done
check "add-br" vsctl add-br bp
check "pcap rx port" vsctl add-port bp pin type=pcap rx="$T_DIR/in.pcap"
check "pcap tx port" vsctl add-port bp pout type=pcap tx="$T_DIR/out.pcap"
check_fails "pcap rx of a missing file fails" vsctl add-port bp bad type=pcap rx="$T_DIR/none.pcap"
out=$(vsctl add-port bp bad type=pcap rx="$T_DIR/none.pcap" 2>&1)
check_match "error names the file" "none.pcap" "$out"
for i in $(seq 1 50); do
	n=$(vsctl -j get-stats pout | jq '.ports[0].tx_packets')
	[ "${n:-0}" -ge 200 ] && break
	sleep 0.1
done
check_eq "all 200 frames forwarded" 200 "$n"
check "del-port flushes the tx pcap" vsctl del-port pout

# Access VLAN 30 on the trunk side: tagged frames come in on a trunk, leave untagged.
check "tagged rx (trunk)" vsctl add-port bp tin type=pcap rx="$T_DIR/tagged.pcap" trunks=30
check "access port VLAN 30" vsctl add-port bp tout type=pcap tx="$T_DIR/untagged.pcap" tag=30
for i in $(seq 1 50); do
	n=$(vsctl -j get-stats tout | jq '.ports[0].tx_packets')
	[ "${n:-0}" -ge 50 ] && break
	sleep 0.1
done
check_eq "50 tagged frames forwarded to the access port" 50 "$n"
vs_stop TERM
check_eq "clean exit" 0 "$?"

python3 - "$T_DIR" >"$T_DIR/compare.out" 2>&1 <<'PY'
import struct, sys
d = sys.argv[1]
def read(name):
    data = open(f"{d}/{name}", "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xa1b2c3d4, 0xa1b23c4d), hex(magic)
    off, out = 24, []
    while off < len(data):
        _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out
a, b = read("in.pcap"), read("out.pcap")
assert len(a) == len(b), (len(a), len(b))
for i, (x, y) in enumerate(zip(a, b)):
    assert x == y, f"frame {i} differs"
t, u = read("tagged.pcap"), read("untagged.pcap")
assert len(t) == len(u), (len(t), len(u))
for i, (x, y) in enumerate(zip(t, u)):
    assert y == x[:12] + x[16:], f"untagged frame {i} is not the tagged one minus its tag"
print("ok")
PY
check "output pcaps byte-identical to the expected frames" grep -q '^ok$' "$T_DIR/compare.out"
[ -s "$T_DIR/compare.out" ] && sed 's/^/    /' "$T_DIR/compare.out" | head -5
vs_done
