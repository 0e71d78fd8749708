// SPDX-License-Identifier: Apache-2.0
// vsctl port counters: get-stats (one table row per port; details for a single port) and
// clear-stats. Maps to stats.get/stats.clear.
#include <errno.h>

#include "ctl/print.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// Total of a counter group: an integer, or an object of integers ({"no_mbuf": 3, ...}).
static bool counter_total(const json_t *v, json_int_t *sum)
{
	const char *key;
	json_t *c;

	if (json_is_integer(v)) {
		*sum = json_integer_value(v);
		return true;
	}
	if (!json_is_object(v))
		return false;
	*sum = 0;
	json_object_foreach((json_t *)v, key, c)
		if (json_is_integer(c))
			*sum += json_integer_value(c);
	return true;
}

static void cell_total(struct table *t, const json_t *v)
{
	json_int_t sum;

	if (counter_total(v, &sum))
		table_cell(t, "%" JSON_INTEGER_FORMAT, sum);
	else
		table_cell(t, "-");
}

// The breakdown shown under the table when one port is asked for: drop and error reasons, the
// datapath's own counters, per-queue counters.
static int stats_details(struct vsctl_ctx *ctx, const json_t *port)
{
	static const char *const groups[] = {"drops", "errors", "datapath"};
	static const char *const queues[] = {"rxq", "txq"};
	int ret = 0;

	for (size_t g = 0; g < VSCTL_ARRAY_SIZE(groups); g++) {
		json_t *v = json_object_get(port, groups[g]);
		if (!json_is_object(v) || json_object_size(v) == 0)
			continue;
		fprintf(ctx->out, "\n%s:\n", groups[g]);
		if ((ret = table_print_object(ctx->out, 2, v)) < 0)
			return ret;
	}
	for (size_t q = 0; q < VSCTL_ARRAY_SIZE(queues); q++) {
		json_t *v = json_object_get(port, queues[q]);
		struct table *t;
		if (json_array_size(v) == 0)
			continue;
		fprintf(ctx->out, "\n%s:\n", queues[q]);
		if (!json_is_object(json_array_get(v, 0))) {
			print_value(ctx->out, "  ", v, "\n");
			continue;
		}
		if ((t = table_from_array(v)) == NULL)
			return -ENOMEM;
		ret = table_print(t, ctx->out, 2);
		table_destroy(t);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int stats_get(struct vsctl_ctx *ctx, int argc, char **argv)
{
	static const struct table_col cols[] = {
		{"PORT", TABLE_LEFT},
		{"RX_PACKETS", TABLE_RIGHT},
		{"RX_BYTES", TABLE_RIGHT},
		{"TX_PACKETS", TABLE_RIGHT},
		{"TX_BYTES", TABLE_RIGHT},
		{"DROPS", TABLE_RIGHT},
		{"ERRORS", TABLE_RIGHT},
	};
	json_t *params, *result = NULL, *ports, *p;
	struct table *t = NULL;
	size_t i;
	int ret;

	if (argc == 1 && (ret = vsctl_name_check(ctx, "port", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s*}", "port", argc ? argv[0] : NULL)) == NULL)
		return -EINVAL;
	if ((ret = vsctl_call(ctx, "stats.get", params, &result)) < 0)
		return ret;
	ports = json_object_get(result, "ports");
	if (!json_is_array(ports)) {
		ret = vsctl_bad_result(ctx, "stats.get", "no \"ports\" array");
		goto out;
	}
	if (ctx->json) {
		ret = vsctl_print_json(ctx, result);
		goto out;
	}
	if ((t = table_create(cols, VSCTL_ARRAY_SIZE(cols))) == NULL) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	json_array_foreach(ports, i, p) {
		table_row(t);
		table_cell_json(t, json_object_get(p, "name"));
		table_cell_json(t, json_object_get(p, "rx_packets"));
		table_cell_json(t, json_object_get(p, "rx_bytes"));
		table_cell_json(t, json_object_get(p, "tx_packets"));
		table_cell_json(t, json_object_get(p, "tx_bytes"));
		cell_total(t, json_object_get(p, "drops"));
		cell_total(t, json_object_get(p, "errors"));
	}
	if ((ret = print_table(ctx, t, 0)) < 0 || argc != 1 || json_array_size(ports) != 1)
		goto out;
	// Only memory can fail there.
	if ((ret = stats_details(ctx, json_array_get(ports, 0))) < 0)
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
out:
	table_destroy(t);
	json_decref(result);
	return ret;
}

static int stats_clear(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if (argc == 1 && (ret = vsctl_name_check(ctx, "port", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s*}", "port", argc ? argv[0] : NULL)) == NULL)
		return -EINVAL;
	return print_ack(ctx, "stats.clear", params, 0);
}

const struct vsctl_command stats_commands[] = {
	{
		.name = "get-stats",
		.usage = "[PORT]",
		.help = "show the packet, byte, drop and error counters of PORT (of every port "
			"without PORT); with PORT, also the drop/error reasons and per-queue "
			"counters",
		.max_args = 1,
		.method = "stats.get",
		.run = stats_get,
	},
	{
		.name = "clear-stats",
		.usage = "[PORT]",
		.help = "reset the counters of PORT (of every port without PORT)",
		.max_args = 1,
		.method = "stats.clear",
		.run = stats_clear,
	},
	{0},
};
