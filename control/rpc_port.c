// SPDX-License-Identifier: Apache-2.0
// RPC methods port.add, port.del, port.set, port.list: thin JSON wrappers around dataplane/dp.h.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/rpc.h"
#include "control/rpc_opts.h"
#include "control/state.h"
#include "dataplane/dp.h"

static int rpc_port_add(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *name, *type;
	struct rpc_opts opts;
	json_t *jopts = NULL;
	struct port *port;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s:s, s:s, s?o}", "bridge", &bridge, "name",
		     &name, "type", &type, "options", &jopts)) < 0)
		return ret;
	if ((ret = rpc_opts_parse(call, jopts, &opts)) == 0)
		ret = dp_port_add(bridge, name, type, opts.kv, opts.n, &call->err);
	rpc_opts_free(&opts);
	if (ret < 0)
		return ret;
	if ((port = dp_port_lookup(name)) == NULL)
		return err_set(
			&call->err, -ENOENT, "name", "port %s vanished after creation", name);
	*result = json_pack("{s:i}", "id", port->id);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
}

static int rpc_port_del(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *name;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "name", &name)) < 0)
		return ret;
	ret = dp_port_del(name, &call->err);
	// A port that never came up (its interface was missing at start) lives only in state.json
	// as pending; deleting it means forgetting it.
	if (ret == -ENOENT && state_forget(name, NULL) == 0) {
		err_clear(&call->err);
		return 0;
	}
	return ret;
}

static int rpc_port_set(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_opts opts;
	const char *name;
	json_t *jopts;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s:o}", "name", &name, "options", &jopts)) < 0)
		return ret;
	if ((ret = rpc_opts_parse(call, jopts, &opts)) == 0)
		ret = dp_port_set(name, opts.kv, opts.n, &call->err);
	rpc_opts_free(&opts);
	return ret;
}

struct rpc_port_list {
	const char *bridge; // NULL: every bridge
	json_t *list;
	int ret;
};

static void rpc_port_status_emit(void *ctx, const char *key, const char *value)
{
	json_object_set_new(ctx, key, json_string(value));
}

static void rpc_port_list_one(const struct dp_port_conf *c, void *arg)
{
	struct rpc_port_list *l = arg;
	struct dp_port_info info;
	json_t *p, *status;
	char mac[18];

	if (l->ret < 0 || (l->bridge != NULL && strcmp(c->bridge, l->bridge) != 0))
		return;
	if (dp_port_info_get(c->name, &info, NULL) < 0)
		return;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info.mac[0], info.mac[1],
		info.mac[2], info.mac[3], info.mac[4], info.mac[5]);
	if ((status = json_object()) == NULL) {
		l->ret = -ENOMEM;
		return;
	}
	dp_port_status(c->name, rpc_port_status_emit, status, NULL);
	p = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o*, s:i, s:s, s:o, s:i, s:i, s:i, s:b, s:o}",
		"name", c->name, "bridge", c->bridge, "type", c->type, "id", info.id, "state",
		port_state_name(info.state), "options", rpc_opts_to_json(c->opts, c->n_opts), "mtu",
		info.mtu, "mac", mac, "link", info.link < 0 ? json_null() : json_boolean(info.link),
		"n_rxq", info.n_rxq, "n_txq", info.n_txq, "numa", info.numa_node, "enabled",
		info.enabled, "status", status);
	if (p == NULL || json_array_append_new(l->list, p) < 0)
		l->ret = -ENOMEM;
}

struct rpc_port_bridge_find {
	const char *name;
	bool found;
};

static void rpc_port_bridge_find(const struct dp_bridge_conf *br, void *arg)
{
	struct rpc_port_bridge_find *f = arg;

	f->found = f->found || strcmp(br->name, f->name) == 0;
}

static int rpc_port_list(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_port_list l = {0};
	int ret;

	if ((ret = rpc_unpack(call, params, "{s?s}", "bridge", &l.bridge)) < 0)
		return ret;
	if (l.bridge != NULL) {
		// An unknown bridge is an error, not an empty list.
		struct rpc_port_bridge_find f = {.name = l.bridge};

		dp_bridge_foreach(rpc_port_bridge_find, &f);
		if (!f.found) {
			return err_set(&call->err, -ENOENT, "bridge", "bridge %s does not exist",
				l.bridge);
		}
	}
	if ((l.list = json_array()) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	dp_port_foreach(rpc_port_list_one, &l);
	if (l.ret < 0) {
		json_decref(l.list);
		return err_set(&call->err, l.ret, "", "out of memory");
	}
	*result = l.list;
	return 0;
}

const struct rpc_method port_rpc_methods[] = {
	// The type list mirrors port_drivers[] in drivers/port.c (vsctl help add-port shows it).
	{"port.add", rpc_port_add, "{bridge: str, name: str, type: str, options?: {str: str}}",
		"Add a port to a bridge; returns its datapath id. Types: af_packet, tap, null, "
		"pcap, vhost-user, vhost-user-client, pci (options: docs/ports.md). Datapath "
		"options: tag, trunks, vlan-mode, enabled, mtu, rxq-affinity; the rest go to the "
		"driver."},
	{"port.del", rpc_port_del, "{name: str}", "Remove a port (its traffic stops first)."},
	{"port.set", rpc_port_set, "{name: str, options: {str: str}}",
		"Change port options in place; an empty value removes a datapath option."},
	{"port.list", rpc_port_list, "{bridge?: str}",
		"List ports with options, state, link, MTU, MAC, queues and driver status."},
	{0},
};
