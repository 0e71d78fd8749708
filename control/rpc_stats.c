// SPDX-License-Identifier: Apache-2.0
// RPC methods stats.get and stats.clear: driver counters (with per-queue counters) plus the
// datapath's own counters summed over workers, per port.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/dp.h"

// Pipeline counter names as stats.get shows them: "rx_drop_vlan" -> drops "dp_rx_vlan";
// the non-drop counters (flooded, learned) go to "datapath".
static const char *const rpc_stats_pl_names[] = {
#define RPC_STATS_X(name) #name,
	PL_PORT_COUNTERS(RPC_STATS_X)
#undef RPC_STATS_X
};

static json_t *rpc_stats_queues(const struct port_queue_stats *qs, unsigned n)
{
	json_t *a = json_array();

	for (unsigned q = 0; a != NULL && q < n; q++) {
		json_t *e = json_pack("{s:i, s:I, s:I, s:I, s:I}", "queue", (int)q, "packets",
			(json_int_t)qs[q].packets, "bytes", (json_int_t)qs[q].bytes, "drops",
			(json_int_t)qs[q].drops, "errors", (json_int_t)qs[q].errors);

		if (e == NULL || json_array_append_new(a, e) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *rpc_stats_port(const char *name, const struct dp_port_stats *st)
{
	const struct port_stats *d = &st->drv;
	const uint64_t *pl = (const uint64_t *)&st->pl;
	json_t *drops, *dpath, *p;

	drops = json_pack("{s:I, s:I, s:I, s:I, s:I}", "rx_nobuf", (json_int_t)d->rx_drop_nobuf,
		"rx_invalid", (json_int_t)d->rx_drop_invalid, "tx_full",
		(json_int_t)d->tx_drop_full, "tx_down", (json_int_t)d->tx_drop_down, "tx_mtu",
		(json_int_t)d->tx_drop_mtu);
	dpath = json_object();
	if (drops == NULL || dpath == NULL)
		goto err;
	for (size_t i = 0; i < sizeof(st->pl) / sizeof(uint64_t); i++) {
		const char *n = rpc_stats_pl_names[i];
		const char *drop = strstr(n, "_drop_");
		char key[64];

		if (drop != NULL) {
			snprintf(key, sizeof(key), "dp_%.*s_%s", (int)(drop - n), n, drop + 6);
			json_object_set_new(drops, key, json_integer((json_int_t)pl[i]));
		} else {
			json_object_set_new(dpath, n, json_integer((json_int_t)pl[i]));
		}
	}
	p = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I}, s:o, s:o*, s:o*}", "name", name,
		"rx_packets", (json_int_t)d->rx_packets, "rx_bytes", (json_int_t)d->rx_bytes,
		"tx_packets", (json_int_t)d->tx_packets, "tx_bytes", (json_int_t)d->tx_bytes,
		"drops", drops, "errors", "rx", (json_int_t)d->rx_errors, "tx",
		(json_int_t)d->tx_errors, "datapath", dpath, "rxq",
		rpc_stats_queues(d->rxq, MIN(d->n_rxq, PORT_MAX_QUEUES)), "txq",
		rpc_stats_queues(d->txq, MIN(d->n_txq, PORT_MAX_QUEUES)));
	return p;
err:
	json_decref(drops);
	json_decref(dpath);
	return NULL;
}

struct rpc_stats_all {
	json_t *ports;
	struct err *err;
	int ret;
};

static int rpc_stats_add(json_t *ports, const char *name, struct err *err)
{
	struct dp_port_stats st;
	json_t *p;
	int ret;

	if ((ret = dp_port_stats_get(name, &st, err)) < 0)
		return ret;
	if ((p = rpc_stats_port(name, &st)) == NULL || json_array_append_new(ports, p) < 0)
		return err_set(err, -ENOMEM, "", "out of memory");
	return 0;
}

static void rpc_stats_one(const struct dp_port_conf *c, void *arg)
{
	struct rpc_stats_all *a = arg;

	if (a->ret == 0)
		a->ret = rpc_stats_add(a->ports, c->name, a->err);
}

static int rpc_stats_get(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *port = NULL;
	json_t *ports;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s?s}", "port", &port)) < 0)
		return ret;
	if ((ports = json_array()) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	if (port != NULL) {
		if ((ret = rpc_stats_add(ports, port, &call->err)) < 0) {
			// dp names the field "name"; the RPC parameter is "port".
			if (ret == -ENOENT)
				snprintf(call->err.field, sizeof(call->err.field), "port");
			goto err;
		}
	} else {
		struct rpc_stats_all a = {.ports = ports, .err = &call->err};

		dp_port_foreach(rpc_stats_one, &a);
		if ((ret = a.ret) < 0)
			goto err;
	}
	*result = json_pack("{s:o}", "ports", ports);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
err:
	json_decref(ports);
	return ret;
}

static int rpc_stats_clear(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *port = NULL;
	int ret;

	if ((ret = rpc_unpack(call, params, "{s?s}", "port", &port)) < 0)
		return ret;
	if ((ret = dp_stats_clear(port, &call->err)) == -ENOENT)
		snprintf(call->err.field, sizeof(call->err.field), "port");
	return ret;
}

const struct rpc_method stats_rpc_methods[] = {
	{"stats.get", rpc_stats_get, "{port?: str}",
		"Port counters: packets, bytes, drops by cause (driver and datapath), errors, per "
		"queue."},
	{"stats.clear", rpc_stats_clear, "{port?: str}", "Reset the counters of one or all ports."},
	{0},
};
