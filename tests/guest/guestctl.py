#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run one shell command in a test guest booted by tests/guest/lib.sh and print its output.

usage: guestctl.py SOCKET 'command' [TIMEOUT_S]
Exit status: the command's status in the guest; 124 on timeout, 125 if the guest went away.

The guest's /init (tests/guest/init.sh) feeds a virtio-serial port into one persistent sh; QEMU
exposes the port as a UNIX socket. The command is framed by two markers carrying a random tag;
the second one carries $?. Output left over from an earlier command that outlived its client
comes before the first marker and is dropped.
"""
import os
import socket
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    path, cmd = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    tag = os.urandom(6).hex()
    start, end = "VSGB_" + tag, "VSGE_" + tag + "="
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(path)
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.stderr.write("guestctl: cannot connect to %s\n" % path)
                return 125
            time.sleep(0.1)
    # The command runs in a subshell-free group so that cd/variables persist; stdin is closed
    # for it so a command reading stdin cannot swallow the rest of the stream.
    sock.sendall(("echo %s\n{ %s\n} </dev/null\necho %s$?\n" % (start, cmd, end)).encode())
    buf = b""
    while True:
        i = buf.find(end.encode())
        if i >= 0 and buf.find(b"\n", i) >= 0:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            sys.stdout.write(buf.decode(errors="replace"))
            sys.stderr.write("guestctl: timeout after %.0f s: %s\n" % (timeout, cmd))
            return 124
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            sys.stdout.write(buf.decode(errors="replace"))
            return 125
        buf += chunk
    b = buf.find(start.encode())
    b = buf.find(b"\n", b) + 1 if b >= 0 else 0
    sys.stdout.write(buf[b:i].decode(errors="replace").replace("\r", ""))
    rc = buf[i + len(end):buf.find(b"\n", i)].strip()
    return int(rc) if rc.isdigit() else 1


if __name__ == "__main__":
    sys.exit(main())
