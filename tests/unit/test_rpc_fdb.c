// SPDX-License-Identifier: Apache-2.0
// Unit tests for control/rpc_fdb.c (fdb.show, fdb.flush, fdb.stats) through the real dispatcher
// with a running datapath: entries are learned straight into the bridge's MAC table so the
// results are exact; result shapes and error fields.
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
#include "dataplane/mac_table.h"

extern const struct rpc_method bridge_rpc_methods[];
extern const struct rpc_method port_rpc_methods[];
extern const struct rpc_method fdb_rpc_methods[];

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0, 0x0c };
static const uint8_t MAC_D[6] = { 0x02, 0, 0, 0, 0, 0x0d };
static const uint8_t MAC_E[6] = { 0x02, 0, 0, 0, 0, 0x0e };

static void setup(void)
{
	struct dp_config cfg = {
		.n_workers = 1,
		.worker_cores = { -1 },
		.control_core = -1,
		.n_pkts = 2048,
		.pkt_cache = 32,
	};
	struct err err = { 0 };

	log_set_level(LOG_LVL_ERR);
	ck_assert_msg(dp_init(&cfg, &err) == 0, "%s", err.msg);
	rpc_register(bridge_rpc_methods);
	rpc_register(port_rpc_methods);
	rpc_register(fdb_rpc_methods);
}

static void teardown(void)
{
	dp_fini();
}

static json_t *call(const char *method, const char *params)
{
	struct rpc_call peer = { 0 };
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

static json_t *ok(const char *method, const char *params)
{
	json_t *resp = call(method, params), *res;

	ck_assert_msg(json_object_get(resp, "error") == NULL, "%s %s: %s", method, params,
		json_string_value(json_object_get(json_object_get(resp, "error"), "message")));
	res = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	return res;
}

static void fails(const char *method, const char *params, int code, const char *field,
	const char *in_msg)
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

static uint16_t add_port(const char *bridge, const char *name)
{
	char params[256];
	json_t *r;
	uint16_t id;

	snprintf(params, sizeof(params),
		"{\"bridge\":\"%s\",\"name\":\"%s\",\"type\":\"null\",\"options\":{\"rx\":false}}",
		bridge, name);
	r = ok("port.add", params);
	id = (uint16_t)json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	return id;
}

// The entry for (vlan, mac) in an fdb.show result, NULL if absent.
static json_t *find(json_t *list, int vlan, const char *mac)
{
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		if (json_integer_value(json_object_get(e, "vlan")) == vlan &&
			strcmp(json_string_value(json_object_get(e, "mac")), mac) == 0)
			return e;
	}
	return NULL;
}

START_TEST(show_flush_stats)
{
	struct mac_table *mt;
	uint16_t p1, p2, p3;
	uint32_t now;
	json_t *r, *e;

	json_decref(ok("bridge.add", "{\"name\":\"br0\"}"));
	json_decref(ok("bridge.add", "{\"name\":\"br1\",\"options\":{\"mac-table-size\":64}}"));
	p1 = add_port("br0", "p1");
	p2 = add_port("br0", "p2");
	p3 = add_port("br1", "p3");
	mt = dp_bridge_mac_table("br0");
	ck_assert_ptr_nonnull(mt);
	ck_assert_ptr_null(dp_bridge_mac_table("nope"));

	r = ok("fdb.show", "{\"bridge\":\"br0\"}");
	ck_assert(json_is_array(r));
	ck_assert_uint_eq(json_array_size(r), 0);
	json_decref(r);

	now = mac_table_now();
	ck_assert_int_eq(mac_table_learn(mt, 0, MAC_A, p1, now - 5), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 10, MAC_B, p2, now), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 10, MAC_C, p1, now), MAC_TABLE_LEARNED);
	// Not shown: aged out, and learned on a port of another bridge.
	ck_assert_int_eq(mac_table_learn(mt, 0, MAC_D, p1, now - 1000), MAC_TABLE_LEARNED);
	ck_assert_int_eq(mac_table_learn(mt, 0, MAC_E, p3, now), MAC_TABLE_LEARNED);

	r = ok("fdb.show", "{\"bridge\":\"br0\"}");
	ck_assert_uint_eq(json_array_size(r), 3);
	e = find(r, 0, "02:00:00:00:00:0a");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "port")), "p1");
	ck_assert(json_is_integer(json_object_get(e, "age")));
	ck_assert_int_ge(json_integer_value(json_object_get(e, "age")), 5);
	ck_assert_int_le(json_integer_value(json_object_get(e, "age")), 7);
	ck_assert_uint_eq(json_object_size(e), 4);
	e = find(r, 10, "02:00:00:00:00:0b");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "port")), "p2");
	ck_assert_ptr_nonnull(find(r, 10, "02:00:00:00:00:0c"));
	ck_assert_ptr_null(find(r, 0, "02:00:00:00:00:0d"));
	ck_assert_ptr_null(find(r, 0, "02:00:00:00:00:0e"));
	json_decref(r);
	r = ok("fdb.show", "{\"bridge\":\"br1\"}");
	ck_assert_uint_eq(json_array_size(r), 0);
	json_decref(r);

	r = ok("fdb.stats", "{\"bridge\":\"br0\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "entries")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "capacity")),
		MAC_TABLE_SIZE_DEFAULT);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "aging")), MAC_TABLE_AGING_DEFAULT);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "learned")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "moved")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "full_drops")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "aged")), 0);
	json_decref(r);
	r = ok("fdb.stats", "{\"bridge\":\"br1\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "capacity")), 64);
	json_decref(r);

	// Flush one port: only its entries go.
	r = ok("fdb.flush", "{\"bridge\":\"br0\",\"port\":\"p1\"}");
	ck_assert(json_is_null(r));
	json_decref(r);
	r = ok("fdb.show", "{\"bridge\":\"br0\"}");
	ck_assert_uint_eq(json_array_size(r), 1);
	ck_assert_ptr_nonnull(find(r, 10, "02:00:00:00:00:0b"));
	json_decref(r);
	ck_assert_int_eq(mac_table_lookup(mt, 0, MAC_E, now), p3);

	// Errors name the parameter at fault.
	fails("fdb.flush", "{\"bridge\":\"br0\",\"port\":\"p3\"}", RPC_E_INVALID_PARAMS, "port",
		"br1");
	fails("fdb.flush", "{\"bridge\":\"br0\",\"port\":\"nosuch\"}", RPC_E_NOT_FOUND, "port",
		"nosuch");
	fails("fdb.flush", "{\"bridge\":\"nobr\"}", RPC_E_NOT_FOUND, "bridge", "nobr");
	fails("fdb.show", "{\"bridge\":\"nobr\"}", RPC_E_NOT_FOUND, "bridge", "nobr");
	fails("fdb.stats", "{\"bridge\":\"nobr\"}", RPC_E_NOT_FOUND, "bridge", "nobr");
	fails("fdb.show", "{}", RPC_E_INVALID_PARAMS, "bridge", NULL);
	fails("fdb.show", "{\"bridge\":3}", RPC_E_INVALID_PARAMS, "bridge", NULL);
	fails("fdb.show", "{\"bridge\":\"br0\",\"vlan\":1}", RPC_E_INVALID_PARAMS, "vlan", NULL);
	fails("fdb.flush", "{\"bridge\":\"br0\",\"port\":1}", RPC_E_INVALID_PARAMS, "port", NULL);

	// Flush everything.
	json_decref(ok("fdb.flush", "{\"bridge\":\"br0\"}"));
	r = ok("fdb.stats", "{\"bridge\":\"br0\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "entries")), 0);
	json_decref(r);
	r = ok("fdb.show", "{\"bridge\":\"br0\"}");
	ck_assert_uint_eq(json_array_size(r), 0);
	json_decref(r);
}
END_TEST

// Removing a port forgets what was learned on it (once no worker can use it any more).
START_TEST(port_removal_flushes)
{
	struct mac_table *mt;
	uint16_t p1;
	json_t *r;

	json_decref(ok("bridge.add", "{\"name\":\"br0\"}"));
	p1 = add_port("br0", "p1");
	add_port("br0", "p2");
	mt = dp_bridge_mac_table("br0");
	ck_assert_int_eq(mac_table_learn(mt, 0, MAC_A, p1, mac_table_now()), MAC_TABLE_LEARNED);
	json_decref(ok("port.del", "{\"name\":\"p1\"}"));
	for (int i = 0; i < 100 && mac_table_lookup(mt, 0, MAC_A, mac_table_now()) >= 0; i++) {
		struct timespec ts = { .tv_nsec = 1000000 };

		dp_run();
		nanosleep(&ts, NULL);
	}
	ck_assert_int_eq(mac_table_lookup(mt, 0, MAC_A, mac_table_now()), -ENOENT);
	r = ok("fdb.show", "{\"bridge\":\"br0\"}");
	ck_assert_uint_eq(json_array_size(r), 0);
	json_decref(r);
}
END_TEST

static Suite *rpc_fdb_suite(void)
{
	Suite *s = suite_create("rpc_fdb");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, show_flush_stats);
	tcase_add_test(tc, port_removal_flushes);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_fdb_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
