// SPDX-License-Identifier: Apache-2.0
// vswitchd.yaml: the typed configuration, its loader (libyaml, errors with file:line:column) and
// the three-way merge with persisted run-time state (see docs/user-guide.md "Configuration and
// persisted state").
#ifndef VSWITCH_CONFIG_H
#define VSWITCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/dp.h"
#include "dataplane/err.h"
#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "drivers/port.h"

#define CONFIG_DEFAULT_PATH "/etc/vswitch/vswitchd.yaml"
#define CONFIG_STATE_DIR "/var/lib/vswitch"

// Owned strings; opts arrays are malloc'ed copies.
struct config_port {
	char *name;
	char *type;
	struct port_kv *opts;
	unsigned n_opts;
	unsigned line; // where it was declared (0: not from a file)
};

struct config_bridge {
	char *name;
	struct port_kv *opts;
	unsigned n_opts;
	struct config_port *ports;
	unsigned n_ports;
	unsigned line;
};

struct config {
	// daemon:
	char *socket_path; // default RPC_SOCKET_DEFAULT
	char *socket_group; // NULL: root's group
	unsigned socket_mode; // default 0660
	enum log_level log_level;
	char *state_dir; // default CONFIG_STATE_DIR
	unsigned watchdog_sec; // 0: follow WATCHDOG_USEC
	unsigned rpc_max_clients; // default 64
	unsigned rpc_idle_timeout_s; // default 300
	// cpu: + dataplane:
	struct dp_config dp;
	// memory:
	struct mem_config mem;
	// bridges:
	struct config_bridge *bridges;
	unsigned n_bridges;
};

void config_init_defaults(struct config *cfg);
// Loads a YAML file; on error returns -errno with err->msg "FILE:LINE:COL: what was expected"
// and err->field the key path ("bridges[0].ports[1].type").
int config_load_file(const char *path, struct config *cfg, struct err *err);
int config_load_buf(const char *buf, size_t len, const char *name, struct config *cfg,
	struct err *err);
void config_free(struct config *cfg);

#endif
