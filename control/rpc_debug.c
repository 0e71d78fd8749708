// SPDX-License-Identifier: Apache-2.0
// Test hooks over RPC (debug.*), refused unless vswitchd runs with VSWITCH_TEST_HOOKS=1 in its
// environment: they break the switch on purpose (integration tests of the watchdog).
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/dp.h"

static bool rpc_debug_enabled(void)
{
	const char *v = getenv("VSWITCH_TEST_HOOKS");

	return v != NULL && strcmp(v, "1") == 0;
}

static int rpc_debug_stall_worker(struct rpc_call *call, json_t *params, json_t **result)
{
	int worker, ms, ret;

	if ((ret = rpc_unpack(call, params, "{s:i, s:i}", "worker", &worker, "ms", &ms)) < 0)
		return ret;
	if (!rpc_debug_enabled()) {
		return err_set(&call->err, -EPERM, "",
			"test hooks are disabled (start vswitchd with VSWITCH_TEST_HOOKS=1)");
	}
	if (worker < 0)
		return err_set(&call->err, -ENOENT, "worker", "worker %d does not exist", worker);
	if (ms < 0)
		return err_set(&call->err, -EINVAL, "ms", "ms must be positive");
	return dp_debug_stall_worker((unsigned)worker, (unsigned)ms, &call->err);
}

const struct rpc_method debug_rpc_methods[] = {
	{"debug.stall-worker", rpc_debug_stall_worker, "{worker: int, ms: int}",
		"Test hook (VSWITCH_TEST_HOOKS=1 only): make a worker stall for ms milliseconds."},
	{0},
};
