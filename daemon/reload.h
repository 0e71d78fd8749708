// SPDX-License-Identifier: Apache-2.0
// Loading the configuration with command-line overrides, and re-loading it on SIGHUP or
// config.reload: settings that can change live are applied, bridges and ports are re-merged with
// the persisted state, and settings that need a restart are reported as such.
#ifndef VSWITCH_RELOAD_H
#define VSWITCH_RELOAD_H

#include <jansson.h>
#include <stdbool.h>

#include "control/config.h"

struct reload_opts {
	const char *config_path;
	bool missing_ok; // the default path may be absent: run on defaults
	const char *socket_path; // --socket override, NULL if none
	enum log_level log_level; // --log-level override
	bool log_level_set;
};

// Defaults, then the file, then the overrides; also sets the log level.
int reload_load(const struct reload_opts *ro, struct config *cfg, struct err *err);
// Remembers the options and the running configuration (owned by the caller, updated in place).
void reload_init(const struct reload_opts *ro, struct config *running);
void reload_fini(void);
// Re-reads and applies; *changes lists what changed (free with state_changes_free).
int reload_run(char ***changes, unsigned *n_changes, struct err *err);
// config.reload RPC hook: {changes: [...]}.
int reload_rpc(struct err *err, json_t **result);

#endif
