// SPDX-License-Identifier: Apache-2.0
// RPC methods for memory: memory.show (IOVA mode, page size, per-node usage and budget) and
// mempool.list (every pool with its in-use and allocation-failure counters, to spot leaks).
#include <errno.h>

#include "control/rpc.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"

static int rpc_memory_show(struct rpc_call *call, json_t *params, json_t **result)
{
	struct mem_stats st;
	json_t *nodes, *res;
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	mem_stats_get(&st);
	nodes = json_array();
	if (nodes == NULL)
		return -ENOMEM;
	for (unsigned n = 0; n < st.n_nodes && n < MEM_MAX_NUMA; n++) {
		json_t *node = json_pack("{s:i, s:I, s:I, s:i, s:I}", "node", (int)n, "bytes",
			(json_int_t)st.bytes[n], "budget", (json_int_t)st.budget[n],
			"hugepages_free", (int)st.hugepages_free[n], "fallback_bytes",
			(json_int_t)st.fallback_bytes[n]);
		if (node == NULL || json_array_append_new(nodes, node) < 0) {
			json_decref(nodes);
			return -ENOMEM;
		}
	}
	res = json_pack("{s:s, s:I, s:b, s:o, s:i}", "iova_mode", mem_iova_mode_name(st.iova_mode),
		"page_size", (json_int_t)st.page_size, "hugepages", st.hugepages, "nodes", nodes,
		"segments", (int)st.n_segments);
	if (res == NULL)
		return -ENOMEM;
	*result = res;
	return 0;
}

struct pool_list {
	json_t *arr;
	int ret;
};

static void rpc_mempool_list_cb(struct mempool *mp, void *arg)
{
	struct pool_list *pl = arg;
	struct mempool_info info;
	json_t *o;

	if (pl->ret < 0)
		return;
	mempool_info_get(mp, &info);
	o = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:I}", "name", info.name, "n", (int)info.n,
		"elt_size", (int)info.elt_size, "cache_size", (int)info.cache_size, "numa_node",
		info.numa_node, "in_use", (int)info.in_use, "alloc_fail",
		(json_int_t)info.alloc_fail);
	if (o == NULL || json_array_append_new(pl->arr, o) < 0)
		pl->ret = -ENOMEM;
}

static int rpc_mempool_list(struct rpc_call *call, json_t *params, json_t **result)
{
	struct pool_list pl = {0};
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	pl.arr = json_array();
	if (pl.arr == NULL)
		return -ENOMEM;
	mempool_foreach(rpc_mempool_list_cb, &pl);
	if (pl.ret < 0) {
		json_decref(pl.arr);
		return pl.ret;
	}
	*result = pl.arr;
	return 0;
}

const struct rpc_method memory_rpc_methods[] = {
	{"memory.show", rpc_memory_show, "{}",
		"Memory: IOVA mode, page size, hugepage use, bytes and budget per NUMA node."},
	{"mempool.list", rpc_mempool_list, "{}",
		"Object pools with size, cache, node, objects in use and allocation failures."},
	{0},
};
