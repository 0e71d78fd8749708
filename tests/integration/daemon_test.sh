#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# vswitchd lifecycle: options, config errors, --check, pid file, single instance, state that
# survives an orderly restart, kill -9 and a reload that applies only the file's differences.
source "$(dirname "$0")/lib.sh"
require_root

# --- options and configuration errors ---
check "vswitchd --version" "$VSWITCHD" --version
check "vswitchd --help" "$VSWITCHD" --help
check_fails "unknown option is rejected" "$VSWITCHD" --bogus
printf 'cpu:\n  worker-cores: [1]\n  bogus-key: 3\n' >"$T_DIR/bad.yaml"
out=$("$VSWITCHD" --config "$T_DIR/bad.yaml" 2>&1)
rc=$?
check_eq "bad config exits 1" 1 "$rc"
check_match "bad config error has file:line:column" "bad.yaml:3:[0-9]+: .*bogus-key" "$out"
out=$("$VSWITCHD" --config "$T_DIR/missing.yaml" 2>&1)
check_match "missing explicit config is an error naming it" "missing.yaml" "$out"

vs_config <<'EOF2'
bridges:
  - name: br0
    ports:
      - name: p1
        type: null
        options: {rx: "false"}
EOF2
out=$("$VSWITCHD" --config "$VS_CONF" --check 2>&1)
check_eq "--check passes on a valid config" 0 "$?"
check_match "--check reports the port" "port p1" "$out"
saved_conf=$VS_CONF
VS_CONF="$T_DIR/check2.yaml"
printf 'bridges:\n  - name: br0\n    ports:\n      - {name: x, type: nosuchtype}\n' | vs_config
VS_CONF=$saved_conf
out=$("$VSWITCHD" --config "$T_DIR/check2.yaml" --check 2>&1)
check_eq "--check fails on an unknown port type" 1 "$?"
check_match "--check names the bad type" "nosuchtype" "$out"
check_match "--check lists the known port types" "fix: use one of the port types: .*af_packet" "$out"
# Missing directories are created like mkdir -p; a file in the way is a failure.
touch "$T_DIR/afile"
printf 'daemon:\n  state-dir: %s\n  socket: %s\n' "$T_DIR/new/deeper/state" \
	"$T_DIR/afile/sub/vswitchd.sock" >"$T_DIR/check3.yaml"
out=$("$VSWITCHD" --config "$T_DIR/check3.yaml" --check 2>&1)
check_eq "--check fails on a socket directory under a file" 1 "$?"
check_match "--check: nested missing state dir will be created" \
	"ok  \] state directory $T_DIR/new/deeper/state will be created" "$out"
check_match "--check: socket dir under a file cannot be created" \
	"FAIL\] socket directory $T_DIR/afile/sub .*$T_DIR/afile is not a directory" "$out"

# --- start, single instance, pid file ---
vs_start --pidfile "$T_DIR/vswitchd.pid" || vs_done
check_eq "pid file holds the daemon pid" "$VS_PID" "$(cat "$T_DIR/vswitchd.pid")"
check "version over RPC" vsctl version
v=$(vsctl -j version | jq -r '.api.major')
check_eq "API major version is 1" 1 "$v"
check "bridge from the file exists" sh -c "$VSCTL --socket $VS_SOCK -j list-br | jq -e 'map(select(.name==\"br0\")) | length == 1'"
out=$("$VSWITCHD" --config "$VS_CONF" --pidfile "$T_DIR/vswitchd.pid" 2>&1)
check_match "second instance on the same pid file refused" "another vswitchd" "$out"
out=$("$VSWITCHD" --config "$VS_CONF" 2>&1)
check_match "second instance on the same socket refused" "$VS_SOCK" "$out"
check "first instance still serves" vsctl version

# --- run-time changes persist across restart and kill -9 ---
check "add-br br1" vsctl add-br br1
check "add-port null" vsctl add-port br1 n1 type=null rx=false
check "add-port with datapath option" vsctl add-port br1 n2 type=null rx=false tag=10
check_fails "duplicate bridge refused" vsctl add-br br1
check_fails "port on missing bridge refused" vsctl add-port nobr x type=null
check_fails "unknown port type refused" vsctl add-port br1 x type=nosuch
vs_stop TERM
check_eq "SIGTERM exits 0" 0 "$?"
check "pid file removed on orderly stop" test ! -e "$T_DIR/vswitchd.pid"
check "state file written" test -s "$VS_STATE/state.json"
vs_start || vs_done
check "br1 restored after restart" sh -c "$VSCTL --socket $VS_SOCK -j list-br | jq -e 'map(.name) | index(\"br1\") != null'"
check "n2 restored with its option" sh -c "$VSCTL --socket $VS_SOCK -j rpc port.list | jq -e '.[] | select(.name==\"n2\") | .options.tag == \"10\"'"
check "del-port n1" vsctl del-port n1
vs_stop KILL
vs_start || vs_done
ports=$(vsctl -j rpc port.list | jq -r '[.[].name] | sort | join(",")')
check_eq "state after kill -9 is the last change" "n2,p1" "$ports"

# --- reload applies file differences, keeps run-time changes ---
cat >>"$VS_CONF" <<'EOF2'
      - name: p2
        type: null
        options: {rx: "false"}
EOF2
kill -HUP "$VS_PID"
sleep 1
check "daemon alive after SIGHUP" vs_alive
ports=$(vsctl -j rpc port.list | jq -r '[.[].name] | sort | join(",")')
check_eq "SIGHUP added the file's new port and kept run-time ones" "n2,p1,p2" "$ports"
sed -i '/name: p2/,+2d' "$VS_CONF"
out=$(vsctl -j reload)
check_match "vsctl reload reports the removal" "p2" "$out"
ports=$(vsctl -j rpc port.list | jq -r '[.[].name] | sort | join(",")')
check_eq "reload removed p2 only" "n2,p1" "$ports"
cp "$VS_CONF" "$T_DIR/good.yaml"
echo "  garbage: [" >>"$VS_CONF"
check_fails "reload of a broken file fails" vsctl reload
check "daemon keeps running after a failed reload" vsctl version
ports=$(vsctl -j rpc port.list | jq -r '[.[].name] | sort | join(",")')
check_eq "failed reload changed nothing" "n2,p1" "$ports"
cp "$T_DIR/good.yaml" "$VS_CONF"

# --- a port whose interface is missing at start stays pending; del-port forgets it ---
cat >>"$VS_CONF" <<'EOF2'
      - {name: late, type: af_packet, options: {iface: nosuchif0}}
EOF2
out=$(vsctl -j reload)
check_match "reload reports the port that could not be added" "late" "$out"
check "daemon alive with a pending port" vsctl version
sed -i '/name: late/d' "$VS_CONF"
vsctl add-port br0 late2 type=af_packet iface=nosuchif1 >/dev/null 2>&1
check_fails "run-time add of a missing interface is refused (not pending)" sh -c "$VSCTL --socket $VS_SOCK -j rpc port.list | jq -e '.[] | select(.name==\"late2\")'"
check "del-port forgets a pending port" vsctl del-port late
vsctl reload >/dev/null
check_fails "forgotten port does not come back on reload" sh -c "grep -q late $VS_STATE/state.json"

# --- corrupt state file: set aside, start continues ---
vs_stop TERM
echo '{"version": 1, "bridges": [' >"$VS_STATE/state.json"
vs_start || vs_done
check "corrupt state file kept aside" sh -c "ls $VS_STATE | grep -q corrupt"
check "daemon started from the file after corrupt state" vsctl version
vs_stop TERM
check_eq "final stop exits 0" 0 "$?"
vs_done
