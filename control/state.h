// SPDX-License-Identifier: Apache-2.0
// Persistence of run-time bridges/ports in <state-dir>/state.json and the three-way merge with the
// `bridges:` section of vswitchd.yaml, applied to the datapath at start and on reload. Control
// thread only. User-facing rules: docs/configuration.md "Configuration and persisted state".
//
// How it works: the module keeps the `bridges:` section last applied from the file
// (file_bridges) and a list of *pending* objects, those that are wanted but not in the datapath
// (at start: everything in state.json; later: what failed to be created, e.g. an interface that is
// missing). The run-time state is the datapath's content plus the pending objects; this is what
// state.json holds, so a port that failed to come back at boot is retried at the next reload or
// restart rather than silently forgotten.
#ifndef VSWITCH_STATE_H
#define VSWITCH_STATE_H

#include "control/config.h"
#include "dataplane/err.h"

#define STATE_FILE_NAME "state.json"
#define STATE_VERSION 1

// Remembers the directory (created 0750 if missing) and loads state.json if present. A corrupt or
// unreadable state file is logged, renamed aside to state.json.corrupt-<YYYYmmddTHHMMSS> and
// ignored (0 is returned). Stale temporary files of an interrupted save are removed. Returns
// -errno with err filled only when the directory cannot be created or is not a writable
// directory; the daemon should then refuse to start (run-time changes could not be kept).
int state_init(const char *state_dir, struct err *err);
void state_fini(void);

// Desired = run-time state merged with cfg->bridges (three-way, see state_merge), then applied to
// the datapath by diffing against dp_bridge_foreach/dp_port_foreach: deletions first, then bridge
// and port additions; a port whose options changed gets dp_port_set (del + add when its type or
// bridge changed or dp_port_set answers -EOPNOTSUPP); a bridge whose options changed is
// re-created with its ports. One failing object does not stop the others: its message is listed
// in *changes ("port p1: <why>; will retry at the next reload") and it stays pending. Saves
// state.json at the end (a save failure is listed in *changes and logged). *changes is a malloc'ed
// array of human-readable lines ("added port vm1 to br0 (type af_packet)"), free with
// state_changes_free(). Returns 0 when the apply ran (even with individual failures) and -errno
// only when it could not run at all (-ENOMEM; -ENODEV before state_init).
int state_apply_config(
	const struct config *cfg, char ***changes, unsigned *n_changes, struct err *err);
void state_changes_free(char **changes, unsigned n);

// Writes the datapath content + pending objects + file_bridges atomically (temp file in the
// same directory, fsync, rename, fsync of the directory). 0 or -errno with err filled.
int state_save(struct err *err);
// For the flow.* handlers after a rule change: saves now when the last save is more than
// STATE_FLOW_SAVE_MS old, else once that much time has passed since it (one timer on the control
// loop; without a loop, at once). Bursts of rule changes thus cost one save, and a change is on
// disk within STATE_FLOW_SAVE_MS (and at exit: the daemon saves on the way out).
#define STATE_FLOW_SAVE_MS 1000
void state_flows_changed(void);
// For dp_set_change_hook(): saves after every datapath mutation, logging failures (rate-limited).
// Does nothing while state_apply_config() runs (it saves once at the end).
void state_change_hook(void *arg);
// Drops a pending bridge (with its pending ports) or pending port by name, then saves. For
// bridge.del/port.del handlers when the datapath answered -ENOENT: the user wants the object
// gone even though it never came up. 0, or -ENOENT if nothing pending has that name.
int state_forget(const char *name, struct err *err);

// Pure parts, exposed for tests.

// Three-way merge by name, each bridge and each port on its own. A bridge's value is its
// options; a port's value is (bridge, type, options). For every object: if its value in new_file
// differs from old_file (added, removed or edited in the file since last applied), the new_file
// value wins; otherwise the run-time value stays, including its absence (deleted at run time).
// Then a port kept from the file whose bridge is absent brings its bridge back from new_file, and
// a run-time port whose bridge is absent is dropped. Output order: run-time objects in their
// order, then objects new in the file in file order. *out (n_out) is freed with
// config_bridges_free. 0 or -ENOMEM.
int state_merge(const struct config_bridge *state, unsigned n_state,
	const struct config_bridge *old_file, unsigned n_old, const struct config_bridge *new_file,
	unsigned n_new, struct config_bridge **out, unsigned *n_out);

// The content of state.json.
struct state_data {
	struct config_bridge *bridges; // run-time state
	unsigned n_bridges;
	struct config_bridge *file_bridges; // the YAML bridges: section as last applied
	unsigned n_file_bridges;
};
void state_data_free(struct state_data *d); // frees the arrays, zeroes d

// Reads and validates a state file. -ENOENT if absent; -EINVAL (malformed JSON or shape,
// duplicate names...) or another -errno with err->msg "FILE: line L: what" otherwise.
int state_file_read(const char *path, struct state_data *d, struct err *err);
// Atomically replaces <dir>/state.json with d (directory created 0750 if missing).
int state_file_write(const char *dir, const struct state_data *d, struct err *err);

// Test hook: called with the temporary file's path after it was written and synced, right
// before the rename (a test kills the process there to simulate a crash). NULL to clear.
void state_set_pre_rename_hook(void (*fn)(const char *tmp_path));

#endif
