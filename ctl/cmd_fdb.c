// SPDX-License-Identifier: Apache-2.0
// vsctl MAC learning table commands: fdb-show, fdb-flush and fdb-stats. Maps to fdb.show,
// fdb.flush and fdb.stats.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/print.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// By VLAN then MAC, so that a host's entries are easy to find in a big table.
static int fdb_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double vx = -1, vy = -1;
	const char *mx, *my;

	vsctl_get_num(x, "vlan", &vx);
	vsctl_get_num(y, "vlan", &vy);
	if (vx != vy)
		return vx < vy ? -1 : 1;
	mx = vsctl_get_str(x, "mac");
	my = vsctl_get_str(y, "mac");
	if (mx == NULL || my == NULL)
		return (mx != NULL) - (my != NULL);
	return strcmp(mx, my);
}

static int fdb_show_print(struct vsctl_ctx *ctx, json_t *entries, void *arg)
{
	static const struct table_col cols[] = {
		{"PORT", TABLE_LEFT},
		{"VLAN", TABLE_RIGHT},
		{"MAC", TABLE_LEFT},
		{"AGE", TABLE_RIGHT},
	};
	size_t n = json_array_size(entries);
	json_t **sorted = NULL;
	struct table *t;
	int ret;

	if ((t = table_create(cols, VSCTL_ARRAY_SIZE(cols))) == NULL ||
		(n > 0 && (sorted = malloc(n * sizeof(*sorted))) == NULL)) {
		ret = vsctl_fail(ctx, VSCTL_EXIT_FAILED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = json_array_get(entries, i);
	if (n > 0)
		qsort(sorted, n, sizeof(*sorted), fdb_cmp);
	for (size_t i = 0; i < n; i++) {
		table_row(t);
		table_cell_json(t, json_object_get(sorted[i], "port"));
		table_cell_json(t, json_object_get(sorted[i], "vlan"));
		table_cell_json(t, json_object_get(sorted[i], "mac"));
		table_cell_json(t, json_object_get(sorted[i], "age"));
	}
	ret = print_table(ctx, t, 0);
out:
	free(sorted);
	table_destroy(t);
	return ret;
}

static int fdb_show(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s}", "bridge", argv[0])) == NULL)
		return -EINVAL;
	return print_result(ctx, "fdb.show", params, JSON_ARRAY, fdb_show_print, NULL);
}

static int fdb_flush(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0 ||
		(argc == 2 && (ret = vsctl_name_check(ctx, "port", argv[1])) < 0))
		return ret;
	params = vsctl_pack(
		ctx, "{s:s, s:s*}", "bridge", argv[0], "port", argc == 2 ? argv[1] : NULL);
	if (params == NULL)
		return -EINVAL;
	return print_ack(ctx, "fdb.flush", params, 0);
}

static int fdb_stats(struct vsctl_ctx *ctx, int argc, char **argv)
{
	json_t *params;
	int ret;

	if ((ret = vsctl_name_check(ctx, "bridge", argv[0])) < 0)
		return ret;
	if ((params = vsctl_pack(ctx, "{s:s}", "bridge", argv[0])) == NULL)
		return -EINVAL;
	return print_result(ctx, "fdb.stats", params, JSON_OBJECT, print_object, NULL);
}

const struct vsctl_command fdb_commands[] = {
	{
		.name = "fdb-show",
		.usage = "BR",
		.help = "show the MAC addresses bridge BR has learned (port, VLAN, MAC, age in "
			"seconds)",
		.min_args = 1,
		.max_args = 1,
		.method = "fdb.show",
		.run = fdb_show,
	},
	{
		.name = "fdb-flush",
		.usage = "BR [PORT]",
		.help = "forget the MAC addresses learned on BR (only those learned on PORT if "
			"given)",
		.min_args = 1,
		.max_args = 2,
		.method = "fdb.flush",
		.run = fdb_flush,
	},
	{
		.name = "fdb-stats",
		.usage = "BR",
		.help = "show the counters of the MAC table of BR: entries, capacity, aging time, "
			"learned, moved, full_drops (not learned: table full), aged",
		.min_args = 1,
		.max_args = 1,
		.method = "fdb.stats",
		.run = fdb_stats,
	},
	{0},
};
