// SPDX-License-Identifier: Apache-2.0
// vsctl bridge commands: show (the whole switch as a tree, like ovs-vsctl show), add-br, del-br,
// list-br. Maps to bridge.* and port.list.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc_proto.h"
#include "ctl/print.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// Prints "key: value" at `indent`, skipping absent values, empty objects and empty strings.
static void show_line(FILE *out, unsigned indent, const char *key, const json_t *v)
{
	char *s;

	if (v == NULL || json_is_null(v) || (json_is_object(v) && json_object_size(v) == 0) ||
		(json_is_string(v) && json_string_length(v) == 0))
		return;
	if ((s = table_format_value(v)) == NULL)
		return;
	fprintf(out, "%*s%s: %s\n", (int)indent, "", key, s);
	free(s);
}

static void show_port(FILE *out, const json_t *port)
{
	json_t *rxq = json_object_get(port, "n_rxq"), *txq = json_object_get(port, "n_txq");
	json_t *link = json_object_get(port, "link");

	print_value(out, "    Port ", json_object_get(port, "name"), "\n");
	// A port that is only named vanished from port.list between the two calls.
	if (json_object_size(port) <= 1)
		return;
	show_line(out, 8, "type", json_object_get(port, "type"));
	show_line(out, 8, "state", json_object_get(port, "state"));
	// link: true/false, null when the driver cannot tell.
	if (json_is_boolean(link))
		fprintf(out, "        link: %s\n", json_is_true(link) ? "up" : "down");
	else
		show_line(out, 8, "link", link);
	show_line(out, 8, "mtu", json_object_get(port, "mtu"));
	show_line(out, 8, "mac", json_object_get(port, "mac"));
	if (json_is_integer(rxq) && json_is_integer(txq))
		fprintf(out,
			"        queues: %" JSON_INTEGER_FORMAT " rx, %" JSON_INTEGER_FORMAT
			" tx\n",
			json_integer_value(rxq), json_integer_value(txq));
	show_line(out, 8, "options", json_object_get(port, "options"));
	show_line(out, 8, "status", json_object_get(port, "status"));
}

// Builds the `show` document: bridge.list sorted by name, each bridge's "ports" names replaced
// by the matching port.list objects (sorted by name; a port missing from port.list, e.g. deleted
// between the two calls, stays as {"name": N}). NULL after reporting a failure (*ret set).
static json_t *show_tree(struct vsctl_ctx *ctx, const json_t *brs, const json_t *ports, int *ret)
{
	json_t *tree = json_object(), *out_brs = json_array(), *br, *pname;
	size_t i, j, k;

	if (tree == NULL || out_brs == NULL || json_object_set_new(tree, "bridges", out_brs) < 0)
		goto nomem;
	json_array_foreach(brs, i, br) {
		json_t *copy, *list;

		if (!json_is_object(br) || !json_is_string(json_object_get(br, "name"))) {
			*ret = vsctl_bad_result(ctx, "bridge.list", "an entry has no name");
			goto err;
		}
		// The _new setters take the reference even when they fail.
		if ((copy = json_deep_copy(br)) == NULL ||
			json_array_append_new(out_brs, copy) < 0 || (list = json_array()) == NULL ||
			json_object_set_new(copy, "ports", list) < 0)
			goto nomem;
		json_array_foreach(json_object_get(br, "ports"), j, pname) {
			const char *n = json_string_value(pname);
			json_t *found = NULL, *p;
			if (n == NULL)
				continue;
			json_array_foreach(ports, k, p) {
				const char *pn = vsctl_get_str(p, "name");
				if (pn != NULL && strcmp(pn, n) == 0) {
					found = json_deep_copy(p);
					break;
				}
			}
			if (found == NULL)
				found = json_pack("{s:s}", "name", n);
			if (json_array_append_new(list, found) < 0)
				goto nomem;
		}
		vsctl_sort_by_str(list, "name");
	}
	vsctl_sort_by_str(out_brs, "name");
	return tree;
nomem:
	*ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
err:
	json_decref(tree);
	return NULL;
}

static int bridge_show(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *brs = NULL, *ports = NULL, *tree = NULL, *br, *port;
	size_t i, j;
	int ret;

	if ((ret = vsctl_call(ctx, "bridge.list", NULL, &brs)) < 0)
		goto out;
	if (!json_is_array(brs)) {
		ret = vsctl_bad_result(ctx, "bridge.list", "the result is not an array");
		goto out;
	}
	if ((ret = vsctl_call(ctx, "port.list", NULL, &ports)) < 0)
		goto out;
	if (!json_is_array(ports)) {
		ret = vsctl_bad_result(ctx, "port.list", "the result is not an array");
		goto out;
	}
	if ((tree = show_tree(ctx, brs, ports, &ret)) == NULL)
		goto out;
	if (ctx->json) {
		ret = vsctl_print_json(ctx, tree);
		goto out;
	}
	json_array_foreach(json_object_get(tree, "bridges"), i, br) {
		print_value(ctx->out, "Bridge ", json_object_get(br, "name"), "\n");
		show_line(ctx->out, 4, "options", json_object_get(br, "options"));
		json_array_foreach(json_object_get(br, "ports"), j, port)
			show_port(ctx->out, port);
	}
out:
	json_decref(tree);
	json_decref(ports);
	json_decref(brs);
	return ret;
}

static int bridge_add(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *opts = NULL, *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((ret = vsctl_kv_parse(ctx, argc - 1, argv + 1, 0, &opts)) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s, s:o*}", "name", argv[0], "options", opts)) == NULL)
		return -EINVAL;
	return print_ack(
		ctx, "bridge.add", params, vsctl_opt(ctx, "--may-exist") ? RPC_E_EXISTS : 0);
}

static int bridge_del(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s}", "name", argv[0])) == NULL)
		return -EINVAL;
	return print_ack(
		ctx, "bridge.del", params, vsctl_opt(ctx, "--if-exists") ? RPC_E_NOT_FOUND : 0);
}

static int bridge_list(struct vsctl_ctx *ctx, int argc, char **argv)
{
	return print_result(ctx, "bridge.list", NULL, JSON_ARRAY, print_names, "bridge.list");
}

const struct vsctl_command bridge_commands[] = {
	{
		.name = "show",
		.usage = "",
		.help = "show the bridges and their ports with type, state, link, options and "
			"status",
		.max_args = 0,
		.method = "port.list",
		.run = bridge_show,
	},
	{
		.name = "add-br",
		.usage = "BR [KEY=VALUE]...",
		.help = "create bridge BR with the given options",
		.min_args = 1,
		.max_args = -1,
		.opts = "--may-exist",
		.method = "bridge.add",
		.run = bridge_add,
	},
	{
		.name = "del-br",
		.usage = "BR",
		.help = "delete bridge BR and all of its ports",
		.min_args = 1,
		.max_args = 1,
		.opts = "--if-exists",
		.method = "bridge.del",
		.run = bridge_del,
	},
	{
		.name = "list-br",
		.usage = "",
		.help = "print the names of the bridges, one per line",
		.max_args = 0,
		.method = "bridge.list",
		.run = bridge_list,
	},
	{0},
};
