#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# systemd service protocol as seen on a test NOTIFY_SOCKET: READY=1 once bridges and ports are
# up, STATUS= summaries, WATCHDOG=1 only while every worker makes progress, RELOADING=1 on
# SIGHUP, STOPPING=1 on SIGTERM.
source "$(dirname "$0")/lib.sh"
require_root

NOTES="$T_DIR/notify.log"
python3 "$(dirname "$0")/notify_listener.py" "$T_DIR/notify.sock" "$NOTES" &
T_PIDS+=($!)
for i in $(seq 1 50); do [ -S "$T_DIR/notify.sock" ] && break; sleep 0.05; done

vs_config <<'EOF2'
bridges:
  - name: br0
    ports:
      - {name: p1, type: null, options: {rx: "false"}}
EOF2
export NOTIFY_SOCKET="$T_DIR/notify.sock" WATCHDOG_USEC=600000 VSWITCH_TEST_HOOKS=1
vs_start || vs_done
unset NOTIFY_SOCKET WATCHDOG_USEC
sleep 2.5
check "READY=1 sent" grep -q " READY=1$" "$NOTES"
check "STATUS= summary sent" grep -q " STATUS=.*ports.*PMD" "$NOTES"
wd=$(grep -c " WATCHDOG=1$" "$NOTES")
check "WATCHDOG=1 pinged repeatedly while workers run ($wd pings)" test "$wd" -ge 4
# The port must already exist when READY=1 arrives: READY comes after the bridges are applied.
check "port p1 up at READY" sh -c "$VSCTL --socket $VS_SOCK -j rpc port.list | jq -e '.[0].name == \"p1\"'"

# A stuck worker: the watchdog ping must stop while the control thread keeps serving.
before=$(grep -c " WATCHDOG=1$" "$NOTES")
check "stall worker 0 for 2 s (test hook)" vsctl rpc debug.stall-worker '{"worker": 0, "ms": 2000}'
sleep 1.5
during=$(grep -c " WATCHDOG=1$" "$NOTES")
check "control thread answers while the worker is stuck" vsctl version
check "no WATCHDOG=1 while a worker is stuck (before=$before during=$during)" test "$during" -le $((before + 1))
check "STATUS reports the stalled worker" grep -q "WORKER STALLED" "$NOTES"
sleep 2
after=$(grep -c " WATCHDOG=1$" "$NOTES")
check "WATCHDOG=1 resumes once the worker recovers" test "$after" -gt "$during"

kill -HUP "$VS_PID"
sleep 1
check "RELOADING=1 on SIGHUP" grep -q " RELOADING=1$" "$NOTES"
check "READY=1 again after reload" sh -c "grep ' READY=1\$' '$NOTES' | wc -l | grep -qv '^1\$'"
vs_stop TERM
check_eq "exit 0 after SIGTERM" 0 "$?"
check "STOPPING=1 on SIGTERM" grep -q " STOPPING=1$" "$NOTES"
vs_done
