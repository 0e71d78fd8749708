// SPDX-License-Identifier: Apache-2.0
// JSON-RPC method registry and dispatch interface. Modules expose methods with one table at the
// end of their control/rpc_<object>.c file; control/rpc_tables.c lists the tables and rpc_init()
// registers them (a duplicate name aborts). Handlers run on the control thread.
#ifndef VSWITCH_RPC_H
#define VSWITCH_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "control/rpc_proto.h"
#include "dataplane/err.h"

struct rpc_call {
	pid_t peer_pid; // SO_PEERCRED of the client
	uid_t peer_uid;
	gid_t peer_gid;
	const char *method;
	struct err err; // handlers fill it (err_set) when they return an error
};

// Handler contract: start with one json_unpack_ex(params, ..., JSON_STRICT, ...) (params is an
// object, {} when absent); on success return 0 and set *result (new reference; NULL = null); on
// failure return -errno with call->err filled (message naming the object, field at fault).
// The dispatcher maps errnos to RPC_E_* codes.
typedef int (*rpc_handler_fn)(struct rpc_call *call, json_t *params, json_t **result);

struct rpc_method {
	const char *name; // "object.verb"
	rpc_handler_fn handler;
	const char *params; // help: "{bridge: str, name: str, type: str, options?: {str: str}}"
	const char *help; // one sentence
};

// Terminated by an entry with name == NULL.
void rpc_register(const struct rpc_method *methods);
const struct rpc_method *rpc_lookup(const char *name);
void rpc_foreach(void (*cb)(const struct rpc_method *m, void *arg), void *arg);

// Helper for handlers: unpack params strictly; on failure fills call->err with jansson's
// message and the offending field, returns -EINVAL.
int rpc_unpack(struct rpc_call *call, json_t *params, const char *fmt, ...);

// Processes one complete request text (object or batch) and returns the response text to send
// (malloc'ed, newline-terminated) or NULL when nothing is to be sent (notifications only).
// Exposed for unit tests and the fuzzer; the server uses it for every line.
char *rpc_process(const char *buf, size_t len, const struct rpc_call *peer);

// Registers every module's method table (control/rpc_tables.c); a duplicate name aborts. Call
// once at start, before the server accepts clients. rpc_fini() empties the registry.
void rpc_init(void);
void rpc_fini(void);

// config.reload calls this hook (set by the daemon): it reloads and sets *result to
// {"changes": [str]}; returns 0 or -errno with err filled. Without a hook config.reload answers
// -EOPNOTSUPP. NULL clears it.
void rpc_daemon_set_reload_hook(int (*fn)(struct err *err, json_t **result));

#endif
