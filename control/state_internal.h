// SPDX-License-Identifier: Apache-2.0
// Declarations shared by the two halves of the state module, not a public interface: state.c
// (pending objects, three-way merge, apply) and state_file.c (state.json format and atomic file
// operations). Callers use control/state.h.
#ifndef VSWITCH_STATE_INTERNAL_H
#define VSWITCH_STATE_INTERNAL_H

#include <stddef.h>

#include "control/state.h"

#define STATE_TMP_PREFIX STATE_FILE_NAME ".tmp-" // temporary files of a save in progress

// ---- bridge lists (state.c) ----

// The bridge called name in b[0..n), NULL if none.
struct config_bridge *state_br_find(const struct config_bridge *b, unsigned n, const char *name);
// Port names are global: the port called name in any bridge of b[0..n) (*br, if not NULL, gets
// its bridge), NULL if none.
const struct config_port *state_port_find(const struct config_bridge *b, unsigned n,
	const char *name, const struct config_bridge **br);
// Appends a copy of a flow rule text to br. 0 or -ENOMEM.
int state_list_add_flow(struct config_bridge *br, const char *text);

// ---- files (state_file.c) ----

// mkdir -p of the state directory, the last component 0750 (it holds the run-time
// configuration); then checks that it is a writable directory. 0 or -errno with err filled
// (field "state-dir").
int state_file_mkdir(const char *dir, struct err *err);
// Renames an unreadable state file to <path>.corrupt-<UTC time>[-N] (name in aside), never
// replacing one. 0 or -errno.
int state_file_move_aside(const char *path, char *aside, size_t size);
// Removes temporary files left in dir by a save that was interrupted before its rename (logged).
void state_file_remove_stale_tmp(const char *dir);

#endif
