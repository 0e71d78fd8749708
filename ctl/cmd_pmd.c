// SPDX-License-Identifier: Apache-2.0
// vsctl poll-mode worker commands: pmd-stats [--clear], pmd-rxq-show, pmd-rebalance. Maps to
// pmd.stats/pmd.clear, pmd.rxq and pmd.rebalance.
#include <errno.h>
#include <stdlib.h>

#include "ctl/print.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// A real with one decimal, an integer as is, "-" when absent.
static void cell_decimal(struct table *t, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_real(v))
		table_cell(t, "%.1f", json_real_value(v));
	else
		table_cell_json(t, v);
}

static int pmd_stats_print(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	static const struct table_col cols[] = {
		{"WORKER", TABLE_RIGHT},
		{"CORE", TABLE_RIGHT},
		{"NUMA", TABLE_RIGHT},
		{"PACKETS", TABLE_RIGHT},
		{"BUSY%", TABLE_RIGHT},
		{"CYCLES/PKT", TABLE_RIGHT},
		{"AVG_BATCH", TABLE_RIGHT},
		{"ITERATIONS", TABLE_RIGHT},
	};
	struct table *t;
	json_t *w;
	size_t i;
	int ret;

	if ((t = table_create(cols, VSCTL_ARRAY_SIZE(cols))) == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	json_array_foreach(result, i, w) {
		double busy = 0, idle = 0;
		table_row(t);
		table_cell_json(t, json_object_get(w, "worker"));
		table_cell_json(t, json_object_get(w, "core"));
		table_cell_json(t, json_object_get(w, "numa"));
		table_cell_json(t, json_object_get(w, "packets"));
		if (vsctl_get_num(w, "busy_cycles", &busy) &&
			vsctl_get_num(w, "idle_cycles", &idle) && busy + idle > 0)
			table_cell(t, "%.1f", 100.0 * busy / (busy + idle));
		else
			table_cell(t, "-");
		cell_decimal(t, w, "cycles_per_packet");
		cell_decimal(t, w, "avg_rx_batch");
		table_cell_json(t, json_object_get(w, "iterations"));
	}
	ret = print_table(ctx, t, 0);
	table_destroy(t);
	return ret;
}

static int pmd_stats(struct vsctl_ctx *ctx, int argc, char **argv)
{
	if (vsctl_opt(ctx, "--clear"))
		return print_ack(ctx, "pmd.clear", NULL, 0);
	return print_result(ctx, "pmd.stats", NULL, JSON_ARRAY, pmd_stats_print, NULL);
}

static int pmd_rxq_print(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	static const struct table_col cols[] = {
		{"WORKER", TABLE_RIGHT},
		{"CORE", TABLE_RIGHT},
		{"PORT", TABLE_LEFT},
		{"QUEUE", TABLE_RIGHT},
		{"BUSY%", TABLE_RIGHT},
		{"PINNED", TABLE_LEFT},
	};
	struct table *t;
	json_t *w, *q;
	size_t i, j;
	int ret;

	if ((t = table_create(cols, VSCTL_ARRAY_SIZE(cols))) == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	json_array_foreach(result, i, w) {
		json_t *rxqs = json_object_get(w, "rxqs");
		if (json_array_size(rxqs) == 0) {
			// An idle worker still gets a line: "nothing on core 3" is useful to know.
			table_row(t);
			table_cell_json(t, json_object_get(w, "worker"));
			table_cell_json(t, json_object_get(w, "core"));
			table_cell(t, "-");
			continue;
		}
		json_array_foreach(rxqs, j, q) {
			json_t *pinned = json_object_get(q, "pinned");
			table_row(t);
			table_cell_json(t, json_object_get(w, "worker"));
			table_cell_json(t, json_object_get(w, "core"));
			table_cell_json(t, json_object_get(q, "port"));
			table_cell_json(t, json_object_get(q, "queue"));
			cell_decimal(t, q, "busy_pct");
			table_cell(t, "%s", json_is_true(pinned) ? "yes" : "no");
		}
	}
	ret = print_table(ctx, t, 0);
	table_destroy(t);
	return ret;
}

static int pmd_rxq(struct vsctl_ctx *ctx, int argc, char **argv)
{
	return print_result(ctx, "pmd.rxq", NULL, JSON_ARRAY, pmd_rxq_print, NULL);
}

static int pmd_rebalance(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *result = NULL;
	double moved;
	int ret;

	if ((ret = vsctl_call(ctx, "pmd.rebalance", NULL, &result)) < 0)
		return ret;
	if (ctx->json)
		ret = vsctl_print_json(ctx, result);
	else if (vsctl_get_num(result, "moved", &moved))
		fprintf(ctx->out, "%.0f rx queue%s moved\n", moved, moved == 1 ? "" : "s");
	else
		ret = vsctl_bad_result(ctx, "pmd.rebalance", "no \"moved\" count");
	json_decref(result);
	return ret;
}

const struct vsctl_command pmd_commands[] = {
	{
		.name = "pmd-stats",
		.usage = "",
		.help = "show per-worker packets, busy %, cycles per packet, rx batch size and "
			"loop iterations; --clear resets these counters instead",
		.max_args = 0,
		.opts = "--clear",
		.method = "pmd.stats",
		.run = pmd_stats,
	},
	{
		.name = "pmd-rxq-show",
		.usage = "",
		.help = "show which worker polls which rx queue, how busy each queue keeps it and "
			"whether it is pinned",
		.max_args = 0,
		.method = "pmd.rxq",
		.run = pmd_rxq,
	},
	{
		.name = "pmd-rebalance",
		.usage = "",
		.help = "reassign the unpinned rx queues to workers by measured load",
		.max_args = 0,
		.method = "pmd.rebalance",
		.run = pmd_rebalance,
	},
	{0},
};
