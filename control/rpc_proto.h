// SPDX-License-Identifier: Apache-2.0
// The wire contract between vswitchd and its clients (vsctl): socket path, framing, API version
// and error codes. The only header ctl/ shares with the daemon.
//
// Framing: JSON-RPC 2.0, one JSON text per line (newline-delimited, UTF-8) in both directions.
// Requests, notifications (no "id") and batches (arrays) are accepted; params are named (object).
#ifndef VSWITCH_RPC_PROTO_H
#define VSWITCH_RPC_PROTO_H

#define RPC_SOCKET_DEFAULT "/run/vswitch/vswitchd.sock"
#define RPC_API_MAJOR 1
#define RPC_API_MINOR 0
#define RPC_MAX_REQUEST (1024 * 1024) // bytes in one line; longer lines get RPC_E_INVALID_REQUEST

// JSON-RPC 2.0 standard codes.
#define RPC_E_PARSE -32700
#define RPC_E_INVALID_REQUEST -32600
#define RPC_E_METHOD_NOT_FOUND -32601
#define RPC_E_INVALID_PARAMS -32602
#define RPC_E_INTERNAL -32603
// Application codes (error.data: {"field": "<param or option at fault>", "errno": "EINVAL"}).
#define RPC_E_FAILED -32000 // operation failed; message says why
#define RPC_E_NOT_FOUND -32001 // named object does not exist (-ENOENT/-ENODEV)
#define RPC_E_EXISTS -32002 // named object already exists (-EEXIST)
#define RPC_E_BUSY -32003 // try again (-EBUSY/-EAGAIN)
#define RPC_E_NOT_SUPPORTED -32004 // (-EOPNOTSUPP)
#define RPC_E_PERMISSION -32005 // (-EPERM/-EACCES)
#define RPC_E_NO_RESOURCES -32006 // (-ENOMEM/-ENOBUFS/-ENOSPC)
#define RPC_E_TOO_MANY -32007 // server limits (clients, request size)

#endif
