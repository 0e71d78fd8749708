// SPDX-License-Identifier: Apache-2.0
// vsctl's JSON-RPC 2.0 client over vswitchd's UNIX socket: newline-delimited framing, partial
// reads/writes, one deadline for the whole invocation, and the error messages users see when the
// daemon is not running, not reachable or misbehaving.
#ifndef VSWITCH_CLIENT_H
#define VSWITCH_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "ctl/vsctl.h"

// Largest response accepted (fdb.show of a big table is tens of MiB); more is a protocol error.
#define CLIENT_MAX_RESPONSE (256u << 20)

struct client;

// Prepares a client for `path`; the deadline (timeout_s from now, 0 = none) starts now and covers
// every call. Connects lazily on the first call. NULL + errno on failure.
struct client *client_create(const char *path, double timeout_s);
void client_destroy(struct client *c); // closes the connection; NULL: no-op

// One request/response exchange (struct vsctl_transport.call with arg = the client).
int client_call(
	void *client, const char *method, json_t *params, json_t **result, struct vsctl_error *e);

// Fills e for a failed connect() to `path` with errno `errnum`: the "is vswitchd running?" hint
// for ENOENT/ECONNREFUSED (exit 3), the owner/group/mode of the socket and who may use it for
// EACCES/EPERM (exit 4), a plain message otherwise (exit 6).
void client_connect_error(struct vsctl_error *e, const char *path, int errnum);

// Checks one response line against request `id` (and the JSON-RPC 2.0 shape). Returns 0 with
// *result set (new reference), -EREMOTEIO for an error response (e: message, code, field; exit 1)
// or -EPROTO for anything malformed (exit 6).
int client_parse_response(const char *line, size_t len, json_int_t id, const char *method,
	json_t **result, struct vsctl_error *e);

#endif
