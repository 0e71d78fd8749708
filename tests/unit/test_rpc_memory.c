// SPDX-License-Identifier: Apache-2.0
// Unit tests for control/rpc_memory.c through the real dispatcher: memory.show and mempool.list
// results against the state of mem/mempool, and strict params.
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/mempool.h"

extern const struct rpc_method memory_rpc_methods[];

static void setup(void)
{
	log_set_level(LOG_LVL_WARN);
	ck_assert_int_eq(mem_init(NULL, NULL), 0);
	rpc_register(memory_rpc_methods);
}

static void teardown(void)
{
	mem_fini();
}

// Sends one request; returns the parsed response (caller decrefs).
static json_t *call(const char *method, const char *params)
{
	struct rpc_call peer = {0};
	char req[256];
	json_t *resp;
	char *out;

	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
		method, params);
	out = rpc_process(req, strlen(req), &peer);
	ck_assert_ptr_nonnull(out);
	resp = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(resp);
	free(out);
	return resp;
}

START_TEST(test_memory_show)
{
	void *p = mem_alloc("rpc", 3 << 20, 64, 0);
	json_t *resp, *res, *node0;
	struct mem_stats st;

	ck_assert_ptr_nonnull(p);
	mem_stats_get(&st);
	resp = call("memory.show", "{}");
	res = json_object_get(resp, "result");
	ck_assert_ptr_nonnull(res);
	ck_assert_str_eq(json_string_value(json_object_get(res, "iova_mode")), "auto");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "page_size")), st.page_size);
	ck_assert(json_is_boolean(json_object_get(res, "hugepages")));
	ck_assert_int_eq(json_boolean_value(json_object_get(res, "hugepages")), st.hugepages);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "segments")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(res, "nodes")), st.n_nodes);
	node0 = json_array_get(json_object_get(res, "nodes"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(node0, "node")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(node0, "bytes")), st.bytes[0]);
	ck_assert_int_ge(json_integer_value(json_object_get(node0, "bytes")), 3 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(node0, "budget")), 0);
	ck_assert(json_is_integer(json_object_get(node0, "hugepages_free")));
	ck_assert_int_eq(
		json_integer_value(json_object_get(node0, "fallback_bytes")), st.fallback_bytes[0]);
	json_decref(resp);

	// Strict params: unknown keys are refused.
	resp = call("memory.show", "{\"verbose\":true}");
	ck_assert_ptr_null(json_object_get(resp, "result"));
	json_t *error = json_object_get(resp, "error");
	ck_assert_int_eq(json_integer_value(json_object_get(error, "code")), RPC_E_INVALID_PARAMS);
	json_decref(resp);
	mem_free(p);
}
END_TEST

START_TEST(test_mempool_list)
{
	struct mempool *mp = mempool_create("rpc-pool", 100, 200, 16, 0, NULL, NULL);
	void *objs[3];
	json_t *resp, *res, *pool;

	ck_assert_ptr_nonnull(mp);
	resp = call("mempool.list", "{}");
	res = json_object_get(resp, "result");
	ck_assert(json_is_array(res));
	ck_assert_uint_eq(json_array_size(res), 1);
	json_decref(resp);

	ck_assert_int_eq(mempool_get_bulk(mp, objs, 3), 0);
	ck_assert_int_eq(mempool_get_bulk(mp, objs, 101), -ENOBUFS);
	resp = call("mempool.list", "{}");
	pool = json_array_get(json_object_get(resp, "result"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(pool, "name")), "rpc-pool");
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "n")), 100);
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "elt_size")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "cache_size")), 16);
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "numa_node")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "in_use")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(pool, "alloc_fail")), 1);
	json_decref(resp);

	resp = call("mempool.list", "[]");
	ck_assert_ptr_nonnull(json_object_get(resp, "error"));
	json_decref(resp);
	mempool_put_bulk(mp, objs, 3);
	ck_assert_uint_eq(mempool_destroy(mp), 0);
}
END_TEST

static Suite *rpc_memory_suite(void)
{
	Suite *s = suite_create("rpc_memory");
	TCase *tc = tcase_create("rpc_memory");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_memory_show);
	tcase_add_test(tc, test_mempool_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_memory_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
