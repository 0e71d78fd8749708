// SPDX-License-Identifier: Apache-2.0
// The list of every module's RPC method table, registered explicitly at start (no constructors):
// adding a module's methods is one extern line and one rpc_register() line here.
#include "control/rpc.h"

// Each table is the NULL-terminated `const struct rpc_method <object>_rpc_methods[]` at the end
// of control/rpc_<object>.c.
// MODULE OWNERS: add your table in both lists below (one line each, keep them sorted).
extern const struct rpc_method bridge_rpc_methods[];
extern const struct rpc_method daemon_rpc_methods[];
extern const struct rpc_method debug_rpc_methods[];
extern const struct rpc_method device_rpc_methods[];
extern const struct rpc_method fdb_rpc_methods[];
extern const struct rpc_method flow_rpc_methods[];
extern const struct rpc_method memory_rpc_methods[];
extern const struct rpc_method pmd_rpc_methods[];
extern const struct rpc_method port_rpc_methods[];
extern const struct rpc_method rpc_rpc_methods[];
extern const struct rpc_method stats_rpc_methods[];

void rpc_init(void)
{
	rpc_register(bridge_rpc_methods);
	rpc_register(daemon_rpc_methods);
	rpc_register(debug_rpc_methods);
	rpc_register(device_rpc_methods);
	rpc_register(fdb_rpc_methods);
	rpc_register(flow_rpc_methods);
	rpc_register(memory_rpc_methods);
	rpc_register(pmd_rpc_methods);
	rpc_register(port_rpc_methods);
	rpc_register(rpc_rpc_methods);
	rpc_register(stats_rpc_methods);
}
