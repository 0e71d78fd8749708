// SPDX-License-Identifier: Apache-2.0
// Conversions between the JSON "options" objects of the bridge/port RPC methods and the key=value
// lists the datapath takes (control/rpc_bridge.c, rpc_port.c).
#ifndef VSWITCH_RPC_OPTS_H
#define VSWITCH_RPC_OPTS_H

#include <jansson.h>

#include "control/rpc.h"
#include "drivers/port.h"

#define RPC_OPTS_MAX 64

// Owned copy of an options object.
struct rpc_opts {
	struct port_kv *kv;
	unsigned n;
};

// Reads `obj` (NULL: no options), a JSON object whose values are strings; integers, reals and
// booleans are accepted and converted ("9000", "true"). 0, or -EINVAL with call->err naming
// "options.<key>", or -ENOMEM. Free with rpc_opts_free() either way.
int rpc_opts_parse(struct rpc_call *call, json_t *obj, struct rpc_opts *out);
void rpc_opts_free(struct rpc_opts *o);
// New JSON object {key: value} (NULL on ENOMEM).
json_t *rpc_opts_to_json(const struct port_kv *kv, unsigned n);

#endif
