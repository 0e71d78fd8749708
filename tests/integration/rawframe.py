#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Raw Ethernet frames for tests on kernels without 802.1Q support: sends broadcast frames
# (ethertype 0x88b5) carrying a text marker, optionally VLAN-tagged, and receives them, telling
# tagged from untagged through PACKET_AUXDATA (the kernel moves tags out of the frame).
#   rawframe.py send IFACE COUNT MARKER [VLAN]
#   rawframe.py recv IFACE SECONDS   -> prints {"MARKER/VLAN": count, ...} (VLAN 0 = untagged)
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETHERTYPE = 0x88B5
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10


def send(iface, count, marker, vlan):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
    tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
    payload = marker.encode().ljust(46, b"\0")
    frame = b"\xff" * 6 + src + tag + struct.pack("!H", ETHERTYPE) + payload
    for _ in range(count):
        s.send(frame)
        time.sleep(0.01)


def recv(iface, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    s.settimeout(0.2)
    counts = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data, anc, _, addr = s.recvmsg(2048, socket.CMSG_SPACE(32))
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        vlan = 0
        for level, kind, cdata in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA and len(cdata) >= 20:
                status, _, _, _, _, tci = struct.unpack("IIIHHH", cdata[:18])
                if status & TP_STATUS_VLAN_VALID:
                    vlan = tci & 0xFFF
        off = 12
        etype = struct.unpack("!H", data[off:off + 2])[0]
        if etype == 0x8100:  # tag left in the frame (no offload)
            vlan = struct.unpack("!H", data[off + 2:off + 4])[0] & 0xFFF
            off += 4
            etype = struct.unpack("!H", data[off:off + 2])[0]
        if etype != ETHERTYPE:
            continue
        marker = data[off + 2:off + 48].rstrip(b"\0").decode(errors="replace")
        key = f"{marker}/{vlan}"
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps(counts, sort_keys=True))


if sys.argv[1] == "send":
    send(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 0)
else:
    recv(sys.argv[2], float(sys.argv[3]))
