// SPDX-License-Identifier: Apache-2.0
// RPC methods fdb.show, fdb.flush, fdb.stats: the bridges' MAC learning tables
// (dataplane/mac_table.h), read and flushed from the control thread while workers learn.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/dp.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"

LOG_MODULE("fdb");

static struct mac_table *rpc_fdb_table(struct rpc_call *call, const char *bridge)
{
	struct mac_table *mt = dp_bridge_mac_table(bridge);

	if (mt == NULL)
		err_set(&call->err, -ENOENT, "bridge", "bridge %s does not exist", bridge);
	return mt;
}

struct rpc_fdb_show {
	const char *bridge;
	const char *names[PORT_MAX]; // port id -> name, members of `bridge` only
	json_t *list;
	int ret;
};

static void rpc_fdb_show_port(const struct dp_port_conf *c, void *arg)
{
	struct rpc_fdb_show *s = arg;
	struct port *port;

	if (strcmp(c->bridge, s->bridge) != 0 || (port = dp_port_lookup(c->name)) == NULL)
		return;
	if (port->id < PORT_MAX)
		s->names[port->id] = c->name;
}

static void rpc_fdb_show_entry(void *arg, uint16_t vlan, const uint8_t mac[6], uint16_t port,
	uint32_t age)
{
	struct rpc_fdb_show *s = arg;
	const char *name = port < PORT_MAX ? s->names[port] : NULL;
	char buf[18];
	json_t *e;

	// A port being removed keeps entries until the workers let go of it; they are flushed then.
	if (s->ret < 0 || name == NULL)
		return;
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		mac[4], mac[5]);
	e = json_pack("{s:i, s:s, s:s, s:I}", "vlan", (int)vlan, "mac", buf, "port", name, "age",
		(json_int_t)age);
	if (e == NULL || json_array_append_new(s->list, e) < 0)
		s->ret = -ENOMEM;
}

static int rpc_fdb_show(struct rpc_call *call, json_t *params, json_t **result)
{
	struct rpc_fdb_show s = {0};
	struct mac_table *mt;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "bridge", &s.bridge)) < 0)
		return ret;
	if ((mt = rpc_fdb_table(call, s.bridge)) == NULL)
		return -ENOENT;
	if ((s.list = json_array()) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	dp_port_foreach(rpc_fdb_show_port, &s);
	mac_table_dump(mt, mac_table_now(), rpc_fdb_show_entry, &s);
	if (s.ret < 0) {
		json_decref(s.list);
		return err_set(&call->err, s.ret, "",
			"bridge %s: out of memory listing its MAC table", s.bridge);
	}
	*result = s.list;
	return 0;
}

static int rpc_fdb_flush(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *bridge, *port = NULL;
	struct dp_port_info info;
	struct err perr = {0};
	struct mac_table *mt;
	unsigned n;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?s}", "bridge", &bridge, "port", &port)) < 0)
		return ret;
	if ((mt = rpc_fdb_table(call, bridge)) == NULL)
		return -ENOENT;
	if (port == NULL) {
		n = mac_table_flush(mt, -1, -1);
		LOG_OBJ(INFO, bridge, "MAC table flushed (%u entries)", n);
		return 0;
	}
	// Reported against our parameter name ("port"), not the datapath's ("name").
	if ((ret = dp_port_info_get(port, &info, &perr)) < 0)
		return err_set(&call->err, ret, "port", "%s", perr.msg);
	if (strcmp(info.bridge, bridge) != 0) {
		return err_set(&call->err, -EINVAL, "port", "port %s is in bridge %s, not %s", port,
			info.bridge, bridge);
	}
	n = mac_table_flush(mt, info.id, -1);
	LOG_OBJ(INFO, bridge, "MAC table flushed for port %s (%u entries)", port, n);
	return 0;
}

static int rpc_fdb_stats(struct rpc_call *call, json_t *params, json_t **result)
{
	struct mac_table_stats st;
	struct mac_table *mt;
	const char *bridge;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s:s}", "bridge", &bridge)) < 0)
		return ret;
	if ((mt = rpc_fdb_table(call, bridge)) == NULL)
		return -ENOENT;
	mac_table_stats_get(mt, &st);
	*result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "entries",
		(json_int_t)st.entries, "capacity", (json_int_t)st.capacity, "aging",
		(json_int_t)st.aging_s, "learned", (json_int_t)st.learned, "moved",
		(json_int_t)st.moved, "full_drops", (json_int_t)st.full_drops, "aged",
		(json_int_t)st.aged);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
}

const struct rpc_method fdb_rpc_methods[] = {
	{"fdb.show", rpc_fdb_show, "{bridge: str}",
		"List the MAC addresses a bridge has learned: [{vlan, mac, port, age (s)}]."},
	{"fdb.flush", rpc_fdb_flush, "{bridge: str, port?: str}",
		"Forget the MAC addresses a bridge learned (only those on port if given)."},
	{"fdb.stats", rpc_fdb_stats, "{bridge: str}",
		"MAC table counters: entries, capacity, aging (s), learned, moved, full_drops "
		"(learning refused: table full), aged (entries reclaimed after aging)."},
	{0},
};
