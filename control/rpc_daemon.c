// SPDX-License-Identifier: Apache-2.0
// Daemon-wide RPC methods: daemon.version, config.reload (through a hook the daemon sets) and
// log.set. rpc.list lives with the dispatcher in rpc.c.
#include <errno.h>

#include "control/rpc.h"
#include "dataplane/log.h"

LOG_MODULE("rpc_daemon");

static int (*reload_hook)(struct err *err, json_t **result);

void rpc_daemon_set_reload_hook(int (*fn)(struct err *err, json_t **result))
{
	reload_hook = fn;
}

static int rpc_daemon_version(struct rpc_call *call, json_t *params, json_t **result)
{
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	*result = json_pack("{s:s, s:{s:i, s:i}}", "version", VSWITCH_VERSION, "api", "major",
		RPC_API_MAJOR, "minor", RPC_API_MINOR);
	return *result ? 0 : -ENOMEM;
}

static int rpc_config_reload(struct rpc_call *call, json_t *params, json_t **result)
{
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	if (reload_hook == NULL)
		return err_set(&call->err, -EOPNOTSUPP, "",
			"configuration reload is not available in this process");
	LOG(NOTICE, "configuration reload requested by pid %d uid %u", (int)call->peer_pid,
		(unsigned)call->peer_uid);
	return reload_hook(&call->err, result);
}

static int rpc_log_set(struct rpc_call *call, json_t *params, json_t **result)
{
	enum log_level lvl;
	const char *level;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "level", &level)) < 0)
		return ret;
	if (log_level_parse(level, &lvl) < 0)
		return err_set(&call->err, -EINVAL, "level",
			"unknown log level '%s'; valid levels: err, warn, notice, info, debug",
			level);
	// Logged before the change so that lowering the level still leaves a trace of who did it.
	if (lvl != log_get_level())
		LOG(NOTICE, "log level %s -> %s (pid %d uid %u)", log_level_name(log_get_level()),
			log_level_name(lvl), (int)call->peer_pid, (unsigned)call->peer_uid);
	log_set_level(lvl);
	return 0;
}

const struct rpc_method daemon_rpc_methods[] = {
	{"daemon.version", rpc_daemon_version, "{}",
		"Daemon version and JSON-RPC API version {major, minor}."},
	{"config.reload", rpc_config_reload, "{}",
		"Re-read the configuration file and apply what changed (like SIGHUP)."},
	{"log.set", rpc_log_set, "{level: str}",
		"Set the log level: err, warn, notice, info or debug."},
	{0},
};
