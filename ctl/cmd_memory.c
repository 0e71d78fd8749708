// SPDX-License-Identifier: Apache-2.0
// vsctl memory commands: memory-show (IOVA mode, hugepages, per-NUMA-node use) and mempool-list.
// Maps to memory.show and mempool.list.
#include <errno.h>
#include <string.h>

#include "ctl/print.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// A byte count as "256.0 MiB"; anything else as table_format_value() renders it.
static void cell_bytes(struct table *t, const json_t *v)
{
	char buf[32];

	if (!json_is_number(v)) {
		table_cell_json(t, v);
		return;
	}
	table_format_bytes(buf, sizeof(buf), json_number_value(v));
	table_cell(t, "%s", buf);
}

static int memory_show_print(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	static const struct table_col kv_cols[] = {{NULL, TABLE_LEFT}, {NULL, TABLE_LEFT}};
	static const struct table_col node_cols[] = {
		{"NODE", TABLE_RIGHT},
		{"BYTES", TABLE_RIGHT},
		{"BUDGET", TABLE_RIGHT},
		{"HUGEPAGES_FREE", TABLE_RIGHT},
		{"FALLBACK", TABLE_RIGHT},
	};
	struct table *kv = NULL, *t = NULL;
	json_t *v, *nodes;
	const char *key;
	size_t i;
	int ret;

	if ((kv = table_create(kv_cols, 2)) == NULL ||
		(t = table_create(node_cols, VSCTL_ARRAY_SIZE(node_cols))) == NULL) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	// Every scalar the daemon reports, in its order (newer daemons may add some).
	json_object_foreach(result, key, v) {
		if (strcmp(key, "nodes") == 0)
			continue;
		table_row(kv);
		table_cell(kv, "%s:", key);
		if (strcmp(key, "page_size") == 0 && json_is_number(v)) {
			char buf[32];
			table_format_bytes(buf, sizeof(buf), json_number_value(v));
			table_cell(kv, "%s", buf);
		} else {
			table_cell_json(kv, v);
		}
	}
	nodes = json_object_get(result, "nodes");
	json_array_foreach(nodes, i, v) {
		table_row(t);
		table_cell_json(t, json_object_get(v, "node"));
		cell_bytes(t, json_object_get(v, "bytes"));
		// A budget of 0 is no limit, not "0 B".
		if (json_is_integer(json_object_get(v, "budget")) &&
			json_integer_value(json_object_get(v, "budget")) == 0)
			table_cell(t, "none");
		else
			cell_bytes(t, json_object_get(v, "budget"));
		table_cell_json(t, json_object_get(v, "hugepages_free"));
		cell_bytes(t, json_object_get(v, "fallback_bytes"));
	}
	if ((ret = print_table(ctx, kv, 0)) == 0 && json_array_size(nodes) > 0) {
		fprintf(ctx->out, "\n");
		ret = print_table(ctx, t, 0);
	}
out:
	table_destroy(t);
	table_destroy(kv);
	return ret;
}

static int memory_show(struct vsctl_ctx *ctx, int argc, char **argv)
{
	return print_result(ctx, "memory.show", NULL, JSON_OBJECT, memory_show_print, NULL);
}

static int mempool_list_print(struct vsctl_ctx *ctx, json_t *result, void *arg)
{
	static const struct table_col cols[] = {
		{"NAME", TABLE_LEFT},
		{"N", TABLE_RIGHT},
		{"ELT_SIZE", TABLE_RIGHT},
		{"CACHE", TABLE_RIGHT},
		{"NUMA", TABLE_RIGHT},
		{"IN_USE", TABLE_RIGHT},
		{"ALLOC_FAIL", TABLE_RIGHT},
	};
	static const char *const keys[] = {
		"name", "n", "elt_size", "cache_size", "numa_node", "in_use", "alloc_fail"};
	struct table *t;
	json_t *p;
	size_t i;
	int ret;

	if ((t = table_create(cols, VSCTL_ARRAY_SIZE(cols))) == NULL)
		return vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
	json_array_foreach(result, i, p) {
		table_row(t);
		for (size_t k = 0; k < VSCTL_ARRAY_SIZE(keys); k++)
			table_cell_json(t, json_object_get(p, keys[k]));
	}
	ret = print_table(ctx, t, 0);
	table_destroy(t);
	return ret;
}

static int mempool_list(struct vsctl_ctx *ctx, int argc, char **argv)
{
	return print_result(ctx, "mempool.list", NULL, JSON_ARRAY, mempool_list_print, NULL);
}

const struct vsctl_command memory_commands[] = {
	{
		.name = "memory-show",
		.usage = "",
		.help = "show the IOVA mode, the hugepage size and memory use per NUMA node "
			"(FALLBACK: bytes taken from ordinary pages when hugepages ran out)",
		.max_args = 0,
		.method = "memory.show",
		.run = memory_show,
	},
	{
		.name = "mempool-list",
		.usage = "",
		.help = "show the packet buffer pools: size, element size, cache, node, use and "
			"allocation failures",
		.max_args = 0,
		.method = "mempool.list",
		.run = mempool_list,
	},
	{0},
};
