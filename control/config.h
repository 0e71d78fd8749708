// SPDX-License-Identifier: Apache-2.0
// vswitchd.yaml: the typed configuration, its loader (libyaml, errors with file:line:column) and
// helpers to copy bridge lists. The merge with persisted run-time state is control/state.h; the
// user-facing description of every key is docs/configuration.md.
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
	unsigned col;
	unsigned type_line, type_col; // position of the type value (config_check_ports messages)
};

struct config_bridge {
	char *name;
	struct port_kv *opts;
	unsigned n_opts;
	struct config_port *ports;
	unsigned n_ports;
	unsigned line;
	unsigned col;
	char **flows; // flow rules in ovs-ofctl syntax (dataplane/flow_parse.h), checked on load
	unsigned n_flows;
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
	char *source; // file name used in messages (NULL for defaults only)
};

// Fills cfg with the defaults (overwriting it: free a previous config first). The default worker
// core is the last CPU vswitchd may run on when it has more than one, else its only CPU.
void config_init_defaults(struct config *cfg);
// Loads a YAML file (the defaults for everything it does not set). On error returns -errno with
// err->msg "FILE:LINE:COL: key.path: what was wrong and what was expected" and err->field the key
// path ("bridges[0].ports[1].type"); cfg then holds nothing. Call config_free(cfg) afterwards
// whatever the result (a no-op after a failure). -ENOENT/-EACCES...: the file cannot be read.
int config_load_file(const char *path, struct config *cfg, struct err *err);
// Same from memory (tests, fuzzing); `name` (NULL: "<buffer>") is the file name in messages.
int config_load_buf(
	const char *buf, size_t len, const char *name, struct config *cfg, struct err *err);
void config_free(struct config *cfg); // frees every owned string and array, zeroes cfg
// Checks that every port type in cfg->bridges names a registered driver (port_ops_lookup), for
// `vswitchd --check`. -EINVAL with "FILE:LINE:COL: bridges[i].ports[j].type: unknown port type".
int config_check_ports(const struct config *cfg, struct err *err);

// Deep copies / frees of bridge lists (state.c keeps the applied file section). dup: 0 or -ENOMEM
// (*out NULL when n is 0). free(NULL, 0) is a no-op.
int config_bridges_dup(const struct config_bridge *b, unsigned n, struct config_bridge **out);
void config_bridges_free(struct config_bridge *b, unsigned n);

// "1-3,5" or "7" -> cpus[] in the given order (duplicates kept; the loader rejects them). 0,
// -EINVAL (syntax), -E2BIG (more than max CPUs).
int config_parse_cpu_list(const char *s, int *cpus, unsigned max, unsigned *n);
// "512M", "1G", "2048K", "1048576", "1GiB", "512MB" (binary units) -> bytes. 0, -EINVAL, -ERANGE.
int config_parse_size(const char *s, size_t *out);

#endif
