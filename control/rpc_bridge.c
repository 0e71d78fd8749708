// SPDX-License-Identifier: Apache-2.0
// RPC methods bridge.add, bridge.del, bridge.list: thin JSON wrappers around dataplane/dp.h.
#include <errno.h>
#include <string.h>

#include "control/rpc.h"
#include "control/rpc_opts.h"
#include "control/state.h"
#include "dataplane/dp.h"

static int rpc_bridge_add(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_opts opts;
	json_t *jopts = NULL;
	const char *name;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?o}", "name", &name, "options", &jopts)) < 0)
		return ret;
	if ((ret = rpc_opts_parse(call, jopts, &opts)) == 0)
		ret = dp_bridge_add(name, opts.kv, opts.n, &call->err);
	rpc_opts_free(&opts);
	return ret;
}

static int rpc_bridge_del(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *name;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "name", &name)) < 0)
		return ret;
	ret = dp_bridge_del(name, &call->err);
	// A bridge that never came up lives only in state.json as pending: forget it.
	if (ret == -ENOENT && state_forget(name, NULL) == 0) {
		err_clear(&call->err);
		return 0;
	}
	return ret;
}

struct rpc_bridge_list {
	json_t *list;
	int ret;
};

static void rpc_bridge_list_port(const struct dp_port_conf *p, void *arg)
{
	json_t *br = arg;

	if (strcmp(p->bridge, json_string_value(json_object_get(br, "name"))) == 0)
		json_array_append_new(json_object_get(br, "ports"), json_string(p->name));
}

static void rpc_bridge_list_one(const struct dp_bridge_conf *c, void *arg)
{
	struct rpc_bridge_list *l = arg;
	json_t *br;

	br = json_pack("{s:s, s:o*, s:[]}", "name", c->name, "options",
		rpc_opts_to_json(c->opts, c->n_opts), "ports");
	if (br == NULL || json_array_append_new(l->list, br) < 0) {
		l->ret = -ENOMEM;
		return;
	}
	dp_port_foreach(rpc_bridge_list_port, br);
}

static int rpc_bridge_list(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_bridge_list l = {.list = json_array()};
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	if (l.list == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	dp_bridge_foreach(rpc_bridge_list_one, &l);
	if (l.ret < 0) {
		json_decref(l.list);
		return err_set(&call->err, l.ret, "", "out of memory");
	}
	*result = l.list;
	return 0;
}

const struct rpc_method bridge_rpc_methods[] = {
	{"bridge.add", rpc_bridge_add, "{name: str, options?: {str: str}}",
		"Create a bridge; options: mac-table-size (entries, default 8192), mac-aging (s, "
		"default 300)."},
	{"bridge.del", rpc_bridge_del, "{name: str}", "Delete a bridge and all its ports."},
	{"bridge.list", rpc_bridge_list, "{}", "List bridges with their options and ports."},
	{0},
};
