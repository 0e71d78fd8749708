#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The shipped unit passes `systemd-analyze verify` with no warning at all (verify exits 0 on
# warnings, so the output must be empty too).
source "$(dirname "$0")/lib.sh"
unit="$VSWITCH_SRC/systemd/vswitchd.service"
sed "s|/usr/sbin/vswitchd|$VSWITCHD|" "$unit" >"$T_DIR/vswitchd.service"
out=$(systemd-analyze verify "$T_DIR/vswitchd.service" 2>&1)
check_eq "systemd-analyze verify exit status" 0 "$?"
check_eq "systemd-analyze verify prints nothing" "" "$out"
for key in Type=notify WatchdogSec= Restart=on-failure LimitMEMLOCK=infinity \
	RuntimeDirectory=vswitch StateDirectory=vswitch ExecReload=; do
	check "unit sets $key" grep -q "^$key" "$unit"
done
# A broken copy must be caught by the same check (the test can fail).
sed 's/^Restart=on-failure/Restart=sometimes/' "$T_DIR/vswitchd.service" >"$T_DIR/bad.service"
out=$(systemd-analyze verify "$T_DIR/bad.service" 2>&1)
check_match "verify flags a bad directive" "restart specifier" "$out"
vs_done
