#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Control-plane resilience: many concurrent vsctl clients while other clients send garbage,
# oversized lines, half requests and vanish; every well-formed request must still be answered.
source "$(dirname "$0")/lib.sh"
require_root
vs_start || vs_done

abuse() {
	python3 - "$VS_SOCK" <<'PY'
import os, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s
for i in range(30):
    s = conn()
    kind = i % 5
    if kind == 0:
        s.sendall(os.urandom(4096) + b"\n")           # binary garbage
    elif kind == 1:
        s.sendall(b'{"jsonrpc":"2.0","method":"daemon.vers')  # half a request, then vanish
    elif kind == 2:
        s.sendall(b"[" * 100000 + b"\n")              # deep nesting
    elif kind == 3:
        s.sendall(b"x" * (2 * 1024 * 1024))           # longer than the request limit
    else:
        s.sendall(b'{"jsonrpc":"2.0","method":"daemon.version","id":1}\n')
        # never read the answer
    time.sleep(0.01)
    s.close()
PY
}

ok=0
pids=()
for c in $(seq 1 20); do
	(
		for i in $(seq 1 15); do
			vsctl --timeout 10 -j version >/dev/null || exit 1
			vsctl --timeout 10 -j list-br >/dev/null || exit 1
		done
	) &
	pids+=($!)
done
abuse >"$T_DIR/abuse.log" 2>&1 &
abuse_pid=$!
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
wait $abuse_pid
check_eq "20 concurrent clients x 30 requests all answered" 0 "$failed"
check "daemon alive after abuse" vs_alive
check "daemon still answers" vsctl version

# Raw protocol checks over a plain socket.
resp=$(printf '{"jsonrpc":"2.0","method":"nosuch","id":7}\n' | timeout 5 python3 -c '
import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().readline().strip())' "$VS_SOCK")
check_match "unknown method -> -32601" '"code": ?-32601' "$resp"
resp=$(printf '{"jsonrpc":"2.0","method":"bridge.add","params":{"name":"b9","bogus":1},"id":8}\n' | timeout 5 python3 -c '
import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().readline().strip())' "$VS_SOCK")
check_match "unknown param -> -32602 naming the field" '"field": ?"bogus"' "$resp"
vs_stop TERM
check_eq "clean exit after stress" 0 "$?"
vs_done
