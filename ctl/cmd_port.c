// SPDX-License-Identifier: Apache-2.0
// vsctl port commands: add-port, del-port, list-ports, set port. Maps to port.add/del/list/set.
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/rpc_proto.h"
#include "ctl/print.h"
#include "ctl/vsctl.h"

#define PORT_DEFAULT_TYPE "af_packet"

static int port_add(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *opts = NULL, *params, *t;
	char *type = NULL;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0 ||
		(ret = vsctl_name_check(ctx, "port", argv[1])) < 0)
		return ret;
	if ((ret = vsctl_kv_parse(ctx, argc - 2, argv + 2, 0, &opts)) < 0)
		return ret;
	// type= is a KEY=VALUE on the command line (like ovs-vsctl's type=dpdk) but its own
	// parameter on the wire.
	if ((t = json_object_get(opts, "type")) != NULL) {
		if ((type = strdup(json_string_value(t))) == NULL) {
			json_decref(opts);
			return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		}
		json_object_del(opts, "type");
		if (json_object_size(opts) == 0) {
			json_decref(opts);
			opts = NULL;
		}
	}
	params = vsctl_pack(ctx, "{s:s, s:s, s:s, s:o*}", "bridge", argv[0], "name", argv[1],
		"type", type != NULL ? type : PORT_DEFAULT_TYPE, "options", opts);
	free(type);
	if (params == NULL)
		return -EINVAL;
	return print_ack(ctx, "port.add", params, vsctl_opt(ctx, "--may-exist") ? RPC_E_EXISTS : 0);
}

// del-port BR PORT checks that PORT is on BR first, as ovs-vsctl does: deleting a port of
// another bridge because of a typo in BR would be a bad surprise.
static int port_check_bridge(struct vsctl_ctx *ctx, const char *br, const char *name)
{
	json_t *ports = NULL, *p;
	const char *pbr = NULL;
	bool found = false;
	size_t i;
	int ret;

	if ((ret = vsctl_call(ctx, "port.list", NULL, &ports)) < 0)
		return ret;
	if (!json_is_array(ports)) {
		ret = vsctl_bad_result(ctx, "port.list", "the result is not an array");
		goto out;
	}
	json_array_foreach(ports, i, p) {
		const char *n = vsctl_get_str(p, "name");
		if (n != NULL && strcmp(n, name) == 0) {
			found = true;
			pbr = vsctl_get_str(p, "bridge");
			break;
		}
	}
	if (!found)
		ret = vsctl_opt(ctx, "--if-exists")
			? 1
			: vsctl_fail(ctx, VSCTL_EXIT_FAILED, "no port named %s", name);
	else if (pbr == NULL || strcmp(pbr, br) != 0)
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "bridge %s does not have a port %s%s%s%s",
			br, name, pbr ? " (it is on bridge " : "", pbr ? pbr : "", pbr ? ")" : "");
out:
	json_decref(ports);
	return ret;
}

static int port_del(struct vsctl_ctx *ctx, int argc, char **argv)
{
	const char *name = argv[argc - 1];
	json_t *params;
	int ret;

	if ((argc == 2 && (ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0) ||
		(ret = vsctl_name_check(ctx, "port", name)) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s}", "name", name)) == NULL)
		return -EINVAL;
	if (argc == 2 && (ret = port_check_bridge(ctx, argv[0], name)) != 0) {
		json_decref(params);
		if (ret == 1) // --if-exists and no such port
			return ctx->json ? vsctl_print_json(ctx, json_null()) : 0;
		return ret;
	}
	return print_ack(
		ctx, "port.del", params, vsctl_opt(ctx, "--if-exists") ? RPC_E_NOT_FOUND : 0);
}

static int port_list(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if (argc == 1 && (ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s*}", "bridge", argc ? argv[0] : NULL)) == NULL)
		return -EINVAL;
	return print_result(ctx, "port.list", params, JSON_ARRAY, print_names, "port.list");
}

static int port_set(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *opts = NULL, *params;
	int ret;

	// ovs-vsctl users write `set Interface p0 options:k=v`: accept that spelling too.
	if (strcasecmp(argv[0], "port") != 0 && strcasecmp(argv[0], "interface") != 0)
		return vsctl_usage(
			ctx, "cannot set '%s': only 'port' has settable options", argv[0]);
	if ((ret = vsctl_name_check(ctx, "port", argv[1])) < 0)
		return ret;
	if ((ret = vsctl_kv_parse(ctx, argc - 2, argv + 2, VSCTL_KV_REMOVE | VSCTL_KV_OVS, &opts)) <
		0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s, s:o}", "name", argv[1], "options", opts)) == NULL)
		return -EINVAL;
	return print_ack(ctx, "port.set", params, 0);
}

const struct vsctl_command port_commands[] = {
	{
		.name = "add-port",
		.usage = "BR PORT [type=TYPE] [KEY=VALUE]...",
		.help = "add PORT to bridge BR (TYPE defaults to af_packet: the kernel interface "
			"named PORT); `vsctl help add-port` lists the types vswitchd supports",
		.min_args = 2,
		.max_args = -1,
		.opts = "--may-exist",
		.method = "port.add",
		.run = port_add,
	},
	{
		.name = "del-port",
		.usage = "[BR] PORT",
		.help = "delete PORT (checking first that it is on BR when BR is given)",
		.min_args = 1,
		.max_args = 2,
		.opts = "--if-exists",
		.method = "port.del",
		.run = port_del,
	},
	{
		.name = "list-ports",
		.usage = "[BR]",
		.help = "print the names of the ports of BR (of every bridge without BR), one "
			"per line",
		.max_args = 1,
		.method = "port.list",
		.run = port_list,
	},
	{
		.name = "set",
		.usage = "port PORT KEY=VALUE...",
		.help = "change options of PORT; KEY= (empty value) removes option KEY",
		.min_args = 3,
		.max_args = -1,
		.method = "port.set",
		.run = port_set,
	},
	{0},
};
