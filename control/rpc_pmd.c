// SPDX-License-Identifier: Apache-2.0
// RPC methods pmd.stats, pmd.clear, pmd.rxq, pmd.rebalance: worker (PMD) load and rx queue
// assignment.
#include <errno.h>

#include "control/rpc.h"
#include "dataplane/dp.h"

static int rpc_pmd_stats(struct rpc_call *call, json_t *params, json_t **result)
{
	struct dp_pmd_stats st[DP_MAX_WORKERS];
	unsigned n;
	json_t *a;
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	n = MIN(dp_pmd_stats_get(st, DP_MAX_WORKERS), DP_MAX_WORKERS);
	if ((a = json_array()) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	for (unsigned i = 0; i < n; i++) {
		const struct dp_pmd_stats *s = &st[i];
		uint64_t total = s->busy_cycles + s->idle_cycles;
		json_t *e = json_pack(
			"{s:i, s:i, s:i, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:f}",
			"worker", (int)s->worker, "core", s->core, "numa", s->numa, "packets",
			(json_int_t)s->packets, "busy_cycles", (json_int_t)s->busy_cycles,
			"idle_cycles", (json_int_t)s->idle_cycles, "cycles_per_packet",
			s->packets ? (double)s->busy_cycles / (double)s->packets : 0.0,
			"avg_rx_batch",
			s->rx_batches ? (double)s->packets / (double)s->rx_batches : 0.0,
			"iterations", (json_int_t)s->iterations, "rx_batches",
			(json_int_t)s->rx_batches, "tx_packets", (json_int_t)s->tx_packets,
			"tx_drops", (json_int_t)s->tx_drops, "busy_pct",
			total ? 100.0 * (double)s->busy_cycles / (double)total : 0.0);

		if (e == NULL || json_array_append_new(a, e) < 0) {
			json_decref(a);
			return err_set(&call->err, -ENOMEM, "", "out of memory");
		}
	}
	*result = a;
	return 0;
}

static int rpc_pmd_clear(struct rpc_call *call, json_t *params, json_t **result)
{
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	dp_pmd_stats_clear();
	return 0;
}

static int rpc_pmd_rxq(struct rpc_call *call, json_t *params, json_t **result)
{
	static struct dp_rxq_info rxqs[PORT_MAX * PORT_MAX_QUEUES];
	struct dp_pmd_stats st[DP_MAX_WORKERS];
	unsigned n, nw;
	json_t *a, *w[DP_MAX_WORKERS];
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	n = MIN(dp_pmd_rxq_get(rxqs, ARRAY_SIZE(rxqs)), ARRAY_SIZE(rxqs));
	if ((a = json_array()) == NULL)
		return err_set(&call->err, -ENOMEM, "", "out of memory");
	nw = MIN(dp_pmd_stats_get(st, DP_MAX_WORKERS), DP_MAX_WORKERS);
	for (unsigned i = 0; i < nw; i++) {
		json_t *e;

		w[i] = json_array();
		e = json_pack(
			"{s:i, s:i, s:o*}", "worker", (int)i, "core", st[i].core, "rxqs", w[i]);
		if (w[i] == NULL || e == NULL || json_array_append_new(a, e) < 0)
			goto err_nomem;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct dp_rxq_info *r = &rxqs[i];
		json_t *e = json_pack("{s:s, s:i, s:f, s:b, s:I}", "port", r->port, "queue",
			(int)r->queue, "busy_pct", r->busy_pct, "pinned", r->pinned, "cycles",
			(json_int_t)r->cycles);

		if (r->worker >= nw || e == NULL || json_array_append_new(w[r->worker], e) < 0)
			goto err_nomem;
	}
	*result = a;
	return 0;
err_nomem:
	json_decref(a);
	return err_set(&call->err, -ENOMEM, "", "out of memory");
}

static int rpc_pmd_rebalance(struct rpc_call *call, json_t *params, json_t **result)
{
	unsigned moved = 0;
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	if ((ret = dp_pmd_rebalance(&moved, &call->err)) < 0)
		return ret;
	*result = json_pack("{s:i}", "moved", (int)moved);
	return *result != NULL ? 0 : err_set(&call->err, -ENOMEM, "", "out of memory");
}

const struct rpc_method pmd_rpc_methods[] = {
	{"pmd.stats", rpc_pmd_stats, "{}",
		"Per-worker load: packets, busy/idle cycles, cycles per packet, average rx batch."},
	{"pmd.clear", rpc_pmd_clear, "{}",
		"Reset worker counters and start a new rx queue measurement interval."},
	{"pmd.rxq", rpc_pmd_rxq, "{}",
		"Rx queues polled by each worker, with their share of its time and pinning."},
	{"pmd.rebalance", rpc_pmd_rebalance, "{}",
		"Reassign rx queues to workers from measured load; returns how many moved."},
	{0},
};
