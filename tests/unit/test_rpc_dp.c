// SPDX-License-Identifier: Apache-2.0
// Unit tests for the datapath RPC methods (control/rpc_bridge.c, rpc_port.c, rpc_stats.c,
// rpc_pmd.c) through the real dispatcher with a running datapath: result shapes of
// docs/dev/contracts.md, option conversion, and error codes with the field at fault.
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/rpc.h"
#include "dataplane/dp.h"
#include "dataplane/log.h"

extern const struct rpc_method bridge_rpc_methods[];
extern const struct rpc_method port_rpc_methods[];
extern const struct rpc_method stats_rpc_methods[];
extern const struct rpc_method pmd_rpc_methods[];

static void setup(void)
{
	struct dp_config cfg = {
		.n_workers = 1,
		.worker_cores = {-1},
		.control_core = -1,
		.n_pkts = 2048,
		.pkt_cache = 32,
	};
	struct err err = {0};

	log_set_level(LOG_LVL_WARN);
	ck_assert_msg(dp_init(&cfg, &err) == 0, "%s", err.msg);
	rpc_register(bridge_rpc_methods);
	rpc_register(port_rpc_methods);
	rpc_register(stats_rpc_methods);
	rpc_register(pmd_rpc_methods);
}

static void teardown(void)
{
	dp_fini();
}

static json_t *call(const char *method, const char *params)
{
	struct rpc_call peer = {0};
	char req[1024];
	json_t *resp;
	char *out;

	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":%s}",
		method, params);
	out = rpc_process(req, strlen(req), &peer);
	ck_assert_ptr_nonnull(out);
	resp = json_loads(out, 0, NULL);
	ck_assert_msg(resp != NULL, "bad response %s", out);
	free(out);
	return resp;
}

// Calls and expects success; returns the result (new reference).
static json_t *ok(const char *method, const char *params)
{
	json_t *resp = call(method, params), *res;

	ck_assert_msg(json_object_get(resp, "error") == NULL, "%s %s: %s", method, params,
		json_string_value(json_object_get(json_object_get(resp, "error"), "message")));
	res = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return res;
}

// Calls and expects an error with this code and field; returns the message.
static void fails(
	const char *method, const char *params, int code, const char *field, const char *in_msg)
{
	json_t *resp = call(method, params);
	json_t *e = json_object_get(resp, "error");
	const char *msg, *f;

	ck_assert_msg(e != NULL, "%s %s succeeded", method, params);
	msg = json_string_value(json_object_get(e, "message"));
	ck_assert_msg(json_integer_value(json_object_get(e, "code")) == code,
		"%s %s: code %lld: %s", method, params,
		(long long)json_integer_value(json_object_get(e, "code")), msg);
	f = json_string_value(json_object_get(json_object_get(e, "data"), "field"));
	ck_assert_msg(f != NULL && strcmp(f, field) == 0, "%s %s: field %s, expected %s (%s)",
		method, params, f ? f : "(none)", field, msg);
	if (in_msg != NULL)
		ck_assert_msg(strstr(msg, in_msg) != NULL, "'%s' not in '%s'", in_msg, msg);
	json_decref(resp);
}

static void sleep_ms(unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};

		dp_run();
		nanosleep(&ts, NULL);
	}
}

START_TEST(test_bridge_methods)
{
	json_t *r, *br;

	r = ok("bridge.add", "{\"name\":\"br0\",\"options\":{\"mac-aging\":30}}");
	ck_assert(json_is_null(r));
	json_decref(r);
	fails("bridge.add", "{\"name\":\"br0\"}", RPC_E_EXISTS, "name", "br0");
	fails("bridge.add", "{\"name\":\"br1\",\"options\":{\"mac-aging\":[1]}}",
		RPC_E_INVALID_PARAMS, "options.mac-aging", NULL);
	fails("bridge.add", "{\"name\":\"br1\",\"options\":{\"mac-aging\":\"0\"}}",
		RPC_E_INVALID_PARAMS, "mac-aging", "br1");
	fails("bridge.add", "{\"name\":\"br1\",\"options\":{\"colour\":\"red\"}}",
		RPC_E_INVALID_PARAMS, "colour", NULL);
	fails("bridge.add", "{\"name\":\"br1\",\"extra\":1}", RPC_E_INVALID_PARAMS, "extra", NULL);
	fails("bridge.add", "{\"name\":\"bad name\"}", RPC_E_INVALID_PARAMS, "name", NULL);
	fails("bridge.del", "{\"name\":\"nope\"}", RPC_E_NOT_FOUND, "name", "nope");

	json_decref(ok("port.add",
		"{\"bridge\":\"br0\",\"name\":\"p1\",\"type\":\"null\","
		"\"options\":{\"rx\":false}}"));
	r = ok("bridge.list", "{}");
	ck_assert_uint_eq(json_array_size(r), 1);
	br = json_array_get(r, 0);
	ck_assert_str_eq(json_string_value(json_object_get(br, "name")), "br0");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(br, "options"), "mac-aging")),
		"30");
	ck_assert_uint_eq(json_array_size(json_object_get(br, "ports")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(br, "ports"), 0)), "p1");
	json_decref(r);
	r = ok("bridge.del", "{\"name\":\"br0\"}");
	json_decref(r);
	r = ok("bridge.list", "{}");
	ck_assert_uint_eq(json_array_size(r), 0);
	json_decref(r);
}
END_TEST

static json_t *find_port(json_t *list, const char *name)
{
	size_t i;
	json_t *p;

	json_array_foreach (list, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			return p;
	}
	return NULL;
}

START_TEST(test_port_methods)
{
	json_t *r, *p;

	json_decref(ok("bridge.add", "{\"name\":\"br0\"}"));
	r = ok("port.add",
		"{\"bridge\":\"br0\",\"name\":\"p2\",\"type\":\"null\","
		"\"options\":{\"rx\":\"false\"}}");
	ck_assert(json_is_integer(json_object_get(r, "id")));
	json_decref(r);
	r = ok("port.add",
		"{\"bridge\":\"br0\",\"name\":\"p1\",\"type\":\"null\","
		"\"options\":{\"size\":128,\"tag\":7}}");
	ck_assert_int_ne(json_integer_value(json_object_get(r, "id")), 0);
	json_decref(r);
	fails("port.add", "{\"bridge\":\"br9\",\"name\":\"p3\",\"type\":\"null\"}", RPC_E_NOT_FOUND,
		"bridge", "br9");
	fails("port.add", "{\"bridge\":\"br0\",\"name\":\"p1\",\"type\":\"null\"}", RPC_E_EXISTS,
		"name", "p1");
	fails("port.add",
		"{\"bridge\":\"br0\",\"name\":\"p3\",\"type\":\"null\","
		"\"options\":{\"tag\":5000}}",
		RPC_E_INVALID_PARAMS, "tag", "p3");
	fails("port.add", "{\"bridge\":\"br0\",\"name\":\"p3\"}", RPC_E_INVALID_PARAMS, "type",
		NULL);

	r = ok("port.list", "{}");
	ck_assert_uint_eq(json_array_size(r), 2);
	p = find_port(r, "p1");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(json_string_value(json_object_get(p, "bridge")), "br0");
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "null");
	ck_assert_str_eq(json_string_value(json_object_get(p, "state")), "started");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(p, "options"), "size")), "128");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(p, "options"), "tag")), "7");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "mtu")), 1500);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(p, "mac"))), 17);
	ck_assert(json_is_true(json_object_get(p, "link")));
	ck_assert_int_eq(json_integer_value(json_object_get(p, "n_rxq")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "n_txq")), 1);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(p, "status"), "size")), "128");
	ck_assert_int_eq(json_integer_value(json_object_get(find_port(r, "p2"), "n_rxq")), 0);
	json_decref(r);
	r = ok("port.list", "{\"bridge\":\"br0\"}");
	ck_assert_uint_eq(json_array_size(r), 2);
	json_decref(r);
	fails("port.list", "{\"bridge\":\"nope\"}", RPC_E_NOT_FOUND, "bridge", "nope");

	json_decref(
		ok("port.set", "{\"name\":\"p1\",\"options\":{\"tag\":\"\",\"enabled\":false}}"));
	r = ok("port.list", "{}");
	p = find_port(r, "p1");
	ck_assert_ptr_null(json_object_get(json_object_get(p, "options"), "tag"));
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(p, "options"), "enabled")),
		"false");
	ck_assert(json_is_false(json_object_get(p, "enabled")));
	json_decref(r);
	fails("port.set", "{\"name\":\"p1\",\"options\":{\"mtu\":\"x\"}}", RPC_E_INVALID_PARAMS,
		"mtu", "p1");
	fails("port.set", "{\"name\":\"p1\",\"options\":{\"size\":\"200\"}}", RPC_E_NOT_SUPPORTED,
		"size", "p1");
	fails("port.set", "{\"name\":\"p1\"}", RPC_E_INVALID_PARAMS, "options", NULL);
	fails("port.set", "{\"name\":\"nope\",\"options\":{}}", RPC_E_NOT_FOUND, "name", "nope");

	json_decref(ok("port.del", "{\"name\":\"p1\"}"));
	fails("port.del", "{\"name\":\"p1\"}", RPC_E_NOT_FOUND, "name", "p1");
}
END_TEST

START_TEST(test_stats_and_pmd_methods)
{
	json_t *r, *p, *w, *q;

	json_decref(ok("bridge.add", "{\"name\":\"br0\"}"));
	json_decref(ok("port.add",
		"{\"bridge\":\"br0\",\"name\":\"p2\",\"type\":\"null\","
		"\"options\":{\"rx\":false}}"));
	json_decref(ok("port.add", "{\"bridge\":\"br0\",\"name\":\"p1\",\"type\":\"null\"}"));
	sleep_ms(100);

	r = ok("stats.get", "{}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "ports")), 2);
	json_decref(r);
	r = ok("stats.get", "{\"port\":\"p2\"}");
	p = json_array_get(json_object_get(r, "ports"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "name")), "p2");
	ck_assert_int_gt(json_integer_value(json_object_get(p, "tx_packets")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(p, "tx_bytes")), 0);
	ck_assert(json_is_integer(json_object_get(json_object_get(p, "drops"), "tx_full")));
	ck_assert(json_is_integer(json_object_get(json_object_get(p, "drops"), "dp_rx_vlan")));
	ck_assert(json_is_integer(json_object_get(json_object_get(p, "drops"), "dp_tx_mtu")));
	ck_assert(json_is_integer(json_object_get(json_object_get(p, "errors"), "rx")));
	ck_assert(json_is_integer(json_object_get(json_object_get(p, "datapath"), "flooded")));
	ck_assert_uint_eq(json_array_size(json_object_get(p, "txq")), 1);
	q = json_array_get(json_object_get(p, "txq"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(q, "packets")),
		json_integer_value(json_object_get(p, "tx_packets")));
	json_decref(r);
	fails("stats.get", "{\"port\":\"nope\"}", RPC_E_NOT_FOUND, "port", "nope");
	json_decref(ok("stats.clear", "{\"port\":\"p2\"}"));
	json_decref(ok("stats.clear", "{}"));
	fails("stats.clear", "{\"port\":\"nope\"}", RPC_E_NOT_FOUND, "port", "nope");

	r = ok("pmd.stats", "{}");
	ck_assert_uint_eq(json_array_size(r), 1);
	w = json_array_get(r, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "worker")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "core")), -1);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "numa")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(w, "packets")), 0);
	ck_assert_int_gt(json_integer_value(json_object_get(w, "busy_cycles")), 0);
	ck_assert(json_is_integer(json_object_get(w, "idle_cycles")));
	ck_assert(json_real_value(json_object_get(w, "cycles_per_packet")) > 0);
	ck_assert(json_real_value(json_object_get(w, "avg_rx_batch")) > 1);
	ck_assert_int_gt(json_integer_value(json_object_get(w, "iterations")), 0);
	json_decref(r);
	json_decref(ok("pmd.clear", "{}"));
	fails("pmd.clear", "{\"x\":1}", RPC_E_INVALID_PARAMS, "x", NULL);

	r = ok("pmd.rxq", "{}");
	ck_assert_uint_eq(json_array_size(r), 1);
	w = json_array_get(r, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(w, "worker")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(w, "rxqs")), 1);
	q = json_array_get(json_object_get(w, "rxqs"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(q, "port")), "p1");
	ck_assert_int_eq(json_integer_value(json_object_get(q, "queue")), 0);
	ck_assert(json_is_real(json_object_get(q, "busy_pct")));
	ck_assert(json_is_false(json_object_get(q, "pinned")));
	json_decref(r);

	r = ok("pmd.rebalance", "{}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "moved")), 0);
	json_decref(r);
}
END_TEST

static Suite *rpc_dp_suite(void)
{
	Suite *s = suite_create("rpc_dp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_bridge_methods);
	tcase_add_test(tc, test_port_methods);
	tcase_add_test(tc, test_stats_and_pmd_methods);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_dp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
