#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Test frames into and out of the guest NICs, from the host side.

  pkt.py send-tap IFACE N SRC_MAC [GAP_MS]     N frames on a tap (packet socket)
  pkt.py send-tap-ip IFACE N SRC_MAC           N IPv4/UDP frames from 10.0.0.1..250 (RSS)
  pkt.py recv-tap IFACE SECS EXPECT [SRC_MAC]  count test frames on a tap
  pkt.py send-udp PORT N SRC_MAC [GAP_MS]      N frames to a QEMU socket netdev (one per datagram)
  pkt.py recv-udp PORT SECS EXPECT [SRC_MAC]   count test frames QEMU sends to 127.0.0.1:PORT

Test frames are broadcast, ethertype 0x88b5 (local experimental), payload "VSG seq=N" padded to
60 bytes (send-tap-ip: IPv4/UDP from a different source address each, same payload); receivers count only those (optionally only from SRC_MAC) and print "got N" once they
saw EXPECT of them or SECS passed. Exit status 0 when EXPECT were seen.
"""
import socket
import struct
import sys
import time

ETHERTYPE = b"\x88\xb5"


def frame(src, seq):
    mac = bytes(int(x, 16) for x in src.split(":"))
    payload = ("VSG seq=%d" % seq).encode()
    f = b"\xff" * 6 + mac + ETHERTYPE + payload
    return f + b"\x00" * max(0, 60 - len(f))


def frame_ip(src, seq):
    mac = bytes(int(x, 16) for x in src.split(":"))
    payload = ("VSG seq=%d" % seq).encode()
    udp = struct.pack("!HHHH", 40000 + seq % 1000, 9, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), seq & 0xffff, 0, 64, 17, 0,
                     bytes([10, 0, 0, seq % 250 + 1]), bytes([10, 0, 1, 1]))
    s = sum(struct.unpack("!10H", ip))
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack("!H", ~s & 0xffff) + ip[12:]
    f = b"\xff" * 6 + mac + b"\x08\x00" + ip + udp
    return f + b"\x00" * max(0, 60 - len(f))


def is_test(f, src):
    if len(f) < 14:
        return False
    if f[12:14] == b"\x08\x00":
        if f[42:50] != b"VSG seq=":
            return False
    elif f[12:14] != ETHERTYPE or not f[14:].startswith(b"VSG seq="):
        return False
    return src is None or f[6:12] == bytes(int(x, 16) for x in src.split(":"))


def count(recv, secs, expect, src):
    got = 0
    end = time.monotonic() + secs
    while got < expect and time.monotonic() < end:
        try:
            f = recv(max(0.05, end - time.monotonic()))
        except (socket.timeout, BlockingIOError):
            continue
        if is_test(f, src):
            got += 1
    print("got %d" % got)
    return 0 if got >= expect else 1


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "send-tap":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a[0], 0))
        gap = float(a[3]) / 1000 if len(a) > 3 else 0.002
        for i in range(int(a[1])):
            s.send(frame(a[2], i))
            time.sleep(gap)
        print("sent %s" % a[1])
        return 0
    if cmd == "send-tap-ip":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a[0], 0))
        for i in range(int(a[1])):
            s.send(frame_ip(a[2], i))
            time.sleep(0.002)
        print("sent %s" % a[1])
        return 0
    if cmd == "send-udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        gap = float(a[3]) / 1000 if len(a) > 3 else 0.002
        for i in range(int(a[1])):
            s.sendto(frame(a[2], i), ("127.0.0.1", int(a[0])))
            time.sleep(gap)
        print("sent %s" % a[1])
        return 0
    if cmd == "recv-tap":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
        s.bind((a[0], 0))
    elif cmd == "recv-udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", int(a[0])))
    else:
        sys.stderr.write(__doc__)
        return 2

    def recv(t):
        s.settimeout(t)
        f, addr = s.recvfrom(65536)
        # A packet socket also sees what this host sends on the tap (PACKET_OUTGOING).
        if cmd == "recv-tap" and addr[2] == socket.PACKET_OUTGOING:
            return b""
        return f

    sys.stdout.flush()
    return count(recv, float(a[1]), int(a[2]), a[3] if len(a) > 3 else None)


if __name__ == "__main__":
    sys.exit(main())
