// SPDX-License-Identifier: Apache-2.0
// vsctl daemon-wide commands: version, log-level, reload and the raw `rpc` call. Maps to
// daemon.version, log.set, config.reload and any method.
#include <errno.h>

#include "control/rpc_proto.h"
#include "ctl/print.h"
#include "ctl/vsctl.h"

static int daemon_version(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *result = NULL;
	double major = -1, minor = -1;
	const char *ver;
	int ret;

	// vsctl's own version comes first: it is what users need when the daemon is down.
	if (!ctx->json)
		fprintf(ctx->out, "vsctl (vswitch) %s, RPC API %d.%d\n", VSWITCH_VERSION,
			RPC_API_MAJOR, RPC_API_MINOR);
	if ((ret = vsctl_call(ctx, "daemon.version", NULL, &result)) < 0)
		return ret;
	ver = vsctl_get_str(result, "version");
	json_t *api = json_object_get(result, "api");
	if (ver == NULL || !vsctl_get_num(api, "major", &major) ||
		!vsctl_get_num(api, "minor", &minor)) {
		ret = vsctl_bad_result(ctx, "daemon.version", "no \"version\" or \"api\"");
		goto out;
	}
	// -j: the daemon.version result as it is (`vsctl -V` gives vsctl's own version).
	if (ctx->json) {
		ret = vsctl_print_json(ctx, result);
	} else {
		print_value(ctx->out, "vswitchd ", json_object_get(result, "version"), "");
		fprintf(ctx->out, ", RPC API %.0f.%.0f\n", major, minor);
	}
	// Same major: compatible (minor versions only add). Say so when it is not the case.
	if (ret >= 0 && major != RPC_API_MAJOR)
		fprintf(ctx->err,
			"vsctl: warning: vswitchd speaks RPC API %.0f.x and vsctl %d.x; use the "
			"vsctl that came with this vswitchd\n",
			major, RPC_API_MAJOR);
out:
	json_decref(result);
	return ret;
}

static int daemon_log_level(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;

	// The daemon owns the list of level names (and says which ones it accepts).
	if ((params = vsctl_pack(ctx, "{s:s}", "level", argv[0])) == NULL)
		return -EINVAL;
	return print_ack(ctx, "log.set", params, 0);
}

static int daemon_reload(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *result = NULL, *changes, *c;
	size_t i;
	int ret;

	if ((ret = vsctl_call(ctx, "config.reload", NULL, &result)) < 0)
		return ret;
	changes = json_object_get(result, "changes");
	if (!json_is_array(changes)) {
		ret = vsctl_bad_result(ctx, "config.reload", "no \"changes\" array");
		goto out;
	}
	if (ctx->json) {
		ret = vsctl_print_json(ctx, result);
		goto out;
	}
	if (json_array_size(changes) == 0)
		fprintf(ctx->out, "configuration unchanged\n");
	json_array_foreach(changes, i, c)
		print_value(ctx->out, "", c, "\n");
out:
	json_decref(result);
	return ret;
}

static int daemon_rpc(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params = NULL, *result = NULL;
	json_error_t jerr;
	int ret;

	if (argv[0][0] == '\0')
		return vsctl_usage(ctx, "empty method name");
	if (argc == 2) {
		params = json_loads(argv[1], JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
		if (params == NULL)
			return vsctl_usage(
				ctx, "JSON-PARAMS: %s (column %d)", jerr.text, jerr.column);
		if (!json_is_object(params) && !json_is_array(params)) {
			json_decref(params);
			return vsctl_usage(
				ctx, "JSON-PARAMS must be an object, e.g. '{\"name\": \"br0\"}'");
		}
	}
	if ((ret = vsctl_call(ctx, argv[0], params, &result)) < 0)
		return ret;
	ret = vsctl_print_json(ctx, result);
	json_decref(result);
	return ret;
}

const struct vsctl_command daemon_commands[] = {
	{
		.name = "version",
		.usage = "",
		.help = "print the versions of vsctl and of the running vswitchd",
		.max_args = 0,
		.method = "daemon.version",
		.run = daemon_version,
	},
	{
		.name = "log-level",
		.usage = "LEVEL",
		.help = "set vswitchd's log level (err, warn, notice, info or debug)",
		.min_args = 1,
		.max_args = 1,
		.method = "log.set",
		.run = daemon_log_level,
	},
	{
		.name = "reload",
		.usage = "",
		.help = "re-read vswitchd.yaml and apply what changed in it (like SIGHUP); "
			"print the changes",
		.max_args = 0,
		.method = "config.reload",
		.run = daemon_reload,
	},
	{
		.name = "rpc",
		.usage = "METHOD [JSON-PARAMS]",
		.help = "call any JSON-RPC method and print its result as JSON (`vsctl rpc "
			"rpc.list` lists them)",
		.min_args = 1,
		.max_args = 2,
		.method = "rpc.list",
		.run = daemon_rpc,
	},
	{0},
};
