// SPDX-License-Identifier: Apache-2.0
// The JSON-RPC UNIX stream socket server on the control loop: newline-delimited requests in,
// one response line per request out (see control/rpc_proto.h and docs/api.md). One instance per
// process; control thread only.
#ifndef VSWITCH_RPC_SERVER_H
#define VSWITCH_RPC_SERVER_H

#include <stddef.h>

#include "dataplane/err.h"

struct rpc_server_config {
	const char *path; // socket path; its parent directory is created (0755) if missing
	const char *group; // group owning the socket, NULL = leave the process's group
	unsigned mode; // socket file mode, 0 = 0660
	unsigned max_clients; // 0 = 64; one more client gets an RPC_E_TOO_MANY line and is closed
	unsigned idle_timeout_s; // close a client silent for this long; 0 = never
	size_t max_request; // bytes in one request line, 0 = RPC_MAX_REQUEST
	size_t max_output; // bytes of unsent responses per client before it is dropped, 0 = 16 MiB
};

// Starts listening after loop_init(). Refuses (-EADDRINUSE) when a live server already answers
// on the path, and (-EEXIST) when the path exists and is not a socket; replaces a stale socket
// file. Returns 0 or -errno with err filled (field: the config key at fault: daemon.socket,
// daemon.socket-group or daemon.socket-mode).
int rpc_server_start(const struct rpc_server_config *cfg, struct err *err);
// Disconnects every client, closes and unlinks the socket. Not from an RPC handler (stop the
// loop and call it after loop_run() returns). No-op when not started.
void rpc_server_stop(void);
// Connected clients (including those being closed).
unsigned rpc_server_n_clients(void);

#endif
