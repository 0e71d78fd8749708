#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Stands in for systemd's NOTIFY_SOCKET: receives sd_notify datagrams and appends each one,
# with a monotonic timestamp, as one line per field to a log file.
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        data = s.recv(65536).decode(errors="replace")
        now = time.monotonic()
        for field in data.split("\n"):
            if field:
                f.write(f"{now:.3f} {field}\n")
