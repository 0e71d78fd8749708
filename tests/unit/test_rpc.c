// SPDX-License-Identifier: Apache-2.0
// Unit tests for the JSON-RPC core (control/rpc.c, rpc_daemon.c): framing, request validation,
// batches, notifications, strict params with the field at fault, errno mapping, built-in methods.
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "control/rpc.h"
#include "dataplane/log.h"

static int n_calls;

static int t_echo(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *name, *key = NULL;
	int count = 0, flag = 0, ret;

	if ((ret = rpc_unpack(call, params, "{s:s, s?:i, s?:b, s?:{s:s}}", "name", &name, "count",
		     &count, "flag", &flag, "options", "key", &key)) < 0)
		return ret;
	n_calls++;
	*result = json_pack(
		"{s:s, s:i, s:b, s:s?}", "name", name, "count", count, "flag", flag, "key", key);
	return 0;
}

static int t_nested(struct rpc_call *call, json_t *params, json_t **result)
{
	const char *a, *b;
	int mtu;

	n_calls++;
	return rpc_unpack(
		call, params, "{s:{s:i}, s?:[ss]}", "options", "mtu", &mtu, "pair", &a, &b);
}

static int t_errno(struct rpc_call *call, json_t *params, json_t **result)
{
	int e, ret;

	if ((ret = rpc_unpack(call, params, "{s:i}", "errno", &e)) < 0)
		return ret;
	n_calls++;
	*result = json_string("must be dropped");
	return err_set(&call->err, -e, "thing", "thing 'x' failed with errno %d", e);
}

static int t_bare_error(struct rpc_call *call, json_t *params, json_t **result)
{
	return -EIO;
}

static int t_null(struct rpc_call *call, json_t *params, json_t **result)
{
	int ret;

	if ((ret = rpc_unpack(call, params, "{}")) < 0)
		return ret;
	n_calls++;
	return 0;
}

static int t_whoami(struct rpc_call *call, json_t *params, json_t **result)
{
	*result = json_pack("{s:i, s:i, s:i, s:s}", "pid", (int)call->peer_pid, "uid",
		(int)call->peer_uid, "gid", (int)call->peer_gid, "method", call->method);
	return 0;
}

static int t_newline(struct rpc_call *call, json_t *params, json_t **result)
{
	*result = json_string("two\nlines");
	return 0;
}

static const struct rpc_method test_rpc_methods[] = {
	{"test.echo", t_echo, "{name: str, count?: int, flag?: bool, options?: {key: str}}",
		"Echo."},
	{"test.nested", t_nested, "{options: {mtu: int}, pair?: [str, str]}", "Nested."},
	{"test.errno", t_errno, "{errno: int}", "Fails with errno."},
	{"test.bare_error", t_bare_error, "{}", "Fails without a message."},
	{"test.null", t_null, NULL, NULL},
	{"test.whoami", t_whoami, "{}", "Peer credentials."},
	{"test.newline", t_newline, "{}", "String with a newline."},
	{0},
};

static void setup(void)
{
	log_set_level(LOG_LVL_WARN);
	n_calls = 0;
	rpc_init();
	rpc_register(test_rpc_methods);
}

static void teardown(void)
{
	rpc_daemon_set_reload_hook(NULL);
	rpc_fini();
}

// Runs one request and returns the parsed response (NULL when nothing is sent); checks framing:
// exactly one line, newline-terminated.
static json_t *call_peer(const char *req, const struct rpc_call *peer)
{
	json_error_t jerr;
	char *out = rpc_process(req, strlen(req), peer);
	json_t *resp;
	size_t len;

	if (out == NULL)
		return NULL;
	len = strlen(out);
	ck_assert_uint_gt(len, 1);
	ck_assert_int_eq(out[len - 1], '\n');
	ck_assert_ptr_null(memchr(out, '\n', len - 1));
	resp = json_loads(out, 0, &jerr);
	ck_assert_msg(resp != NULL, "response is not JSON: %s (%s)", out, jerr.text);
	free(out);
	return resp;
}

static json_t *call(const char *req)
{
	return call_peer(req, NULL);
}

static int err_code(json_t *resp)
{
	json_t *code = json_object_get(json_object_get(resp, "error"), "code");

	ck_assert_msg(json_is_integer(code), "no error code in response");
	ck_assert_ptr_null(json_object_get(resp, "result"));
	return (int)json_integer_value(code);
}

static const char *err_msg(json_t *resp)
{
	return json_string_value(json_object_get(json_object_get(resp, "error"), "message"));
}

static const char *err_data(json_t *resp, const char *key)
{
	json_t *data = json_object_get(json_object_get(resp, "error"), "data");

	return json_string_value(json_object_get(data, key));
}

static void assert_id_null(json_t *resp)
{
	json_t *id = json_object_get(resp, "id");

	ck_assert_msg(id && json_is_null(id), "id should be present and null");
}

START_TEST(valid_call)
{
	json_t *r =
		call("{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\",\"params\":{\"name\":\"br0\","
		     "\"count\":3,\"options\":{\"key\":\"v\"}},\"id\":7}");
	json_t *res = json_object_get(r, "result");

	ck_assert_str_eq(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(res, "name")), "br0");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "count")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(res, "key")), "v");
	ck_assert_ptr_null(json_object_get(r, "error"));
	ck_assert_int_eq(json_object_size(r), 3);
	ck_assert_int_eq(n_calls, 1);
	json_decref(r);

	// String id is echoed as is; id null is a request (gets an answer), not a notification.
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"id\":\"abc\"}");
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "abc");
	json_decref(r);
	r = call("{\"id\":null,\"method\":\"test.null\",\"jsonrpc\":\"2.0\"}");
	assert_id_null(r);
	ck_assert(json_is_null(json_object_get(r, "result")));
	json_decref(r);
}
END_TEST

START_TEST(result_null_and_escaping)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"params\":{},\"id\":1}");
	json_t *res = json_object_get(r, "result");

	ck_assert_msg(res && json_is_null(res), "result must be present and null");
	json_decref(r);
	// A newline inside a result is escaped: the response stays one line (checked in call()).
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.newline\",\"id\":1}");
	ck_assert_str_eq(json_string_value(json_object_get(r, "result")), "two\nlines");
	json_decref(r);
}
END_TEST

START_TEST(notifications)
{
	// Valid notification: handler runs, nothing is sent.
	ck_assert_ptr_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\","
				"\"params\":{\"name\":\"x\"}}"));
	ck_assert_int_eq(n_calls, 1);
	// Failing notifications are silent too.
	ck_assert_ptr_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"nope.nope\"}"));
	ck_assert_ptr_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.errno\","
				"\"params\":{\"errno\":2}}"));
	ck_assert_int_eq(n_calls, 2);
	ck_assert_ptr_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\",\"params\":[1]}"));
	ck_assert_ptr_null(call("{\"jsonrpc\":\"1.0\",\"method\":\"test.echo\"}"));
	ck_assert_ptr_null(call("{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\",\"params\":{}}"));
	ck_assert_int_eq(n_calls, 2);
}
END_TEST

START_TEST(batch_mixed)
{
	json_t *r =
		call("[{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\",\"params\":{\"name\":\"a\"},"
		     "\"id\":1},"
		     "5,"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\",\"params\":{\"name\":\"b\"}},"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":\"x\"},"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"test.errno\",\"params\":{\"errno\":17},"
		     "\"id\":4}]");

	ck_assert(json_is_array(r));
	ck_assert_int_eq(json_array_size(r), 4); // the notification gets no entry
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_array_get(r, 0), "result"), "name")),
		"a");
	ck_assert_int_eq(err_code(json_array_get(r, 1)), RPC_E_INVALID_REQUEST);
	assert_id_null(json_array_get(r, 1));
	ck_assert_int_eq(err_code(json_array_get(r, 2)), RPC_E_METHOD_NOT_FOUND);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 2), "id")), "x");
	ck_assert_int_eq(err_code(json_array_get(r, 3)), RPC_E_EXISTS);
	ck_assert_int_eq(n_calls, 3); // a, b (notification) and the errno one
	json_decref(r);

	// Only notifications: nothing at all is sent.
	ck_assert_ptr_null(call("[{\"jsonrpc\":\"2.0\",\"method\":\"test.null\"},"
				"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\"}]"));
	ck_assert_int_eq(n_calls, 5);
}
END_TEST

START_TEST(batch_empty_and_too_large)
{
	json_t *r = call("[]");
	char *big;
	size_t n = 1025, len = 0;

	ck_assert(json_is_object(r));
	ck_assert_int_eq(err_code(r), RPC_E_INVALID_REQUEST);
	assert_id_null(r);
	json_decref(r);

	big = malloc(n * 2 + 2);
	big[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		big[len++] = '1';
		big[len++] = i + 1 < n ? ',' : ']';
	}
	big[len] = '\0';
	r = call(big);
	ck_assert_int_eq(err_code(r), RPC_E_TOO_MANY);
	ck_assert_ptr_nonnull(strstr(err_msg(r), "1024"));
	json_decref(r);
	free(big);
}
END_TEST

START_TEST(parse_errors)
{
	static const char *const bad[] = {
		"{",
		"garbage",
		"",
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"id\":1} trailing",
		"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"method\":\"x\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"te\xff\",\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"a\\u0000b\",\"id\":1}",
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *r = call(bad[i]);

		ck_assert_msg(err_code(r) == RPC_E_PARSE, "case %u", i);
		assert_id_null(r);
		ck_assert_ptr_nonnull(strstr(err_msg(r), "parse error"));
		json_decref(r);
	}

	// Pathological nesting is refused by the parser's depth limit, not by a stack overflow.
	enum { DEPTH = 200000 };
	char *deep = malloc(DEPTH + 1);
	memset(deep, '[', DEPTH);
	deep[DEPTH] = '\0';
	json_t *r = call(deep);
	ck_assert_int_eq(err_code(r), RPC_E_PARSE);
	json_decref(r);
	free(deep);
	ck_assert_int_eq(n_calls, 0);
}
END_TEST

START_TEST(invalid_requests)
{
	static const struct {
		const char *req;
		int code;
		const char *field;
		bool id_echoed;
	} cases[] = {
		{"5", RPC_E_INVALID_REQUEST, NULL, false},
		{"\"str\"", RPC_E_INVALID_REQUEST, NULL, false},
		{"null", RPC_E_INVALID_REQUEST, NULL, false},
		{"{\"jsonrpc\":\"1.0\",\"method\":\"test.null\",\"id\":1}", RPC_E_INVALID_REQUEST,
			"jsonrpc", true},
		{"{\"method\":\"test.null\",\"id\":1}", RPC_E_INVALID_REQUEST, "jsonrpc", true},
		{"{\"jsonrpc\":2.0,\"method\":\"test.null\",\"id\":1}", RPC_E_INVALID_REQUEST,
			"jsonrpc", true},
		{"{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_E_INVALID_REQUEST, "method", true},
		{"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}", RPC_E_INVALID_REQUEST, "method",
			true},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"id\":{}}", RPC_E_INVALID_REQUEST,
			"id", false},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"id\":1.5}", RPC_E_INVALID_REQUEST,
			"id", false},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"parms\":{},\"id\":1}",
			RPC_E_INVALID_REQUEST, "parms", true},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"no.such\",\"id\":1}", RPC_E_METHOD_NOT_FOUND,
			"method", true},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"params\":[],\"id\":1}",
			RPC_E_INVALID_PARAMS, "params", true},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"params\":\"x\",\"id\":1}",
			RPC_E_INVALID_PARAMS, "params", true},
		{"{\"jsonrpc\":\"2.0\",\"method\":\"test.null\",\"params\":null,\"id\":1}",
			RPC_E_INVALID_PARAMS, "params", true},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = call(cases[i].req);

		ck_assert_msg(r != NULL, "case %u: no response", i);
		ck_assert_msg(err_code(r) == cases[i].code, "case %u: code %d", i, err_code(r));
		if (cases[i].field)
			ck_assert_str_eq(err_data(r, "field"), cases[i].field);
		if (cases[i].id_echoed)
			ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
		else
			assert_id_null(r);
		json_decref(r);
	}
	ck_assert_int_eq(n_calls, 0);
}
END_TEST

// Runs a test.echo / test.nested call with the given params; returns the error response.
static json_t *params_error(const char *method, const char *params, const char *field)
{
	char req[512];
	json_t *r;

	snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":%s,\"id\":9}",
		method, params);
	r = call(req);
	ck_assert_msg(err_code(r) == RPC_E_INVALID_PARAMS, "%s: code %d", params, err_code(r));
	ck_assert_str_eq(err_data(r, "field"), field);
	ck_assert_str_eq(err_data(r, "errno"), "EINVAL");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 9);
	return r;
}

START_TEST(params_strict)
{
	json_t *r;

	r = params_error("test.echo", "{\"name\":\"a\",\"bogus\":1}", "bogus");
	ck_assert_str_eq(
		err_msg(r), "unknown field 'bogus'; valid fields: name, count, flag, options");
	json_decref(r);

	r = params_error("test.echo", "{\"count\":1}", "name");
	ck_assert_str_eq(err_msg(r), "missing field 'name'");
	json_decref(r);

	r = params_error("test.echo", "{\"name\":\"a\",\"count\":\"3\"}", "count");
	ck_assert_str_eq(err_msg(r), "field 'count': expected integer, got string");
	json_decref(r);

	r = params_error("test.echo", "{\"name\":7}", "name");
	ck_assert_str_eq(err_msg(r), "field 'name': expected string, got integer");
	json_decref(r);

	r = params_error("test.echo", "{\"name\":\"a\",\"flag\":1}", "flag");
	ck_assert_str_eq(err_msg(r), "field 'flag': expected boolean, got integer");
	json_decref(r);

	// 'i' refuses what an int cannot hold instead of truncating it.
	r = params_error("test.echo", "{\"name\":\"a\",\"count\":4294967297}", "count");
	ck_assert_ptr_nonnull(strstr(err_msg(r), "out of range"));
	json_decref(r);

	r = params_error("test.null", "{\"x\":1}", "x");
	ck_assert_str_eq(err_msg(r), "unknown field 'x'; this method takes no parameters");
	json_decref(r);
	ck_assert_int_eq(n_calls, 0);
}
END_TEST

START_TEST(params_nested)
{
	json_t *r;

	r = params_error("test.echo", "{\"name\":\"a\",\"options\":{\"key\":true}}", "options.key");
	ck_assert_str_eq(err_msg(r), "field 'options.key': expected string, got boolean");
	json_decref(r);

	r = params_error(
		"test.echo", "{\"name\":\"a\",\"options\":{\"key\":\"v\",\"zz\":1}}", "options.zz");
	ck_assert_str_eq(err_msg(r), "unknown field 'options.zz'; valid fields: key");
	json_decref(r);

	r = params_error("test.echo", "{\"name\":\"a\",\"options\":[]}", "options");
	ck_assert_str_eq(err_msg(r), "field 'options': expected object, got array");
	json_decref(r);

	r = params_error("test.nested", "{\"options\":{}}", "options.mtu");
	ck_assert_str_eq(err_msg(r), "missing field 'options.mtu'");
	json_decref(r);

	r = params_error(
		"test.nested", "{\"options\":{\"mtu\":1500},\"pair\":[\"a\",2]}", "pair[1]");
	ck_assert_str_eq(err_msg(r), "field 'pair[1]': expected string, got integer");
	json_decref(r);

	r = params_error(
		"test.nested", "{\"options\":{\"mtu\":1500},\"pair\":[\"a\",\"b\",\"c\"]}", "pair");
	json_decref(r);

	r = params_error("test.nested", "{\"options\":{\"mtu\":1500},\"pair\":[\"a\"]}", "pair[1]");
	json_decref(r);

	// And the happy path of the same method.
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.nested\",\"params\":{\"options\":"
		 "{\"mtu\":1500},\"pair\":[\"a\",\"b\"]},\"id\":1}");
	ck_assert(json_is_null(json_object_get(r, "result")));
	json_decref(r);
}
END_TEST

START_TEST(unpack_direct)
{
	struct rpc_call c = {0};
	const char *s = NULL;
	int i = 0;

	// NULL params behave as {}.
	ck_assert_int_eq(rpc_unpack(&c, NULL, "{s?:s}", "name", &s), 0);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(rpc_unpack(&c, NULL, "{s:s}", "name", &s), -EINVAL);
	ck_assert_str_eq(c.err.field, "name");
	ck_assert_int_eq(c.err.code, -EINVAL);

	json_t *p = json_pack("{s:s, s:i}", "name", "x", "n", 5);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(rpc_unpack(&c, p, "{s:s, s:i}", "name", &s, "n", &i), 0);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(i, 5);
	ck_assert_int_eq(c.err.code, 0);
	json_decref(p);
}
END_TEST

START_TEST(errno_mapping)
{
	static const struct {
		int e;
		int code;
		const char *name;
	} map[] = {
		{ENOENT, RPC_E_NOT_FOUND, "ENOENT"},
		{ENODEV, RPC_E_NOT_FOUND, "ENODEV"},
		{EEXIST, RPC_E_EXISTS, "EEXIST"},
		{EBUSY, RPC_E_BUSY, "EBUSY"},
		{EAGAIN, RPC_E_BUSY, "EAGAIN"},
		{EOPNOTSUPP, RPC_E_NOT_SUPPORTED, "EOPNOTSUPP"},
		{EPERM, RPC_E_PERMISSION, "EPERM"},
		{EACCES, RPC_E_PERMISSION, "EACCES"},
		{ENOMEM, RPC_E_NO_RESOURCES, "ENOMEM"},
		{ENOBUFS, RPC_E_NO_RESOURCES, "ENOBUFS"},
		{ENOSPC, RPC_E_NO_RESOURCES, "ENOSPC"},
		{EINVAL, RPC_E_INVALID_PARAMS, "EINVAL"},
		{ERANGE, RPC_E_INVALID_PARAMS, "ERANGE"},
		{EIO, RPC_E_FAILED, "EIO"},
		{ETIMEDOUT, RPC_E_FAILED, "ETIMEDOUT"},
	};
	char req[256], want[64];

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		snprintf(req, sizeof(req),
			"{\"jsonrpc\":\"2.0\",\"method\":\"test.errno\","
			"\"params\":{\"errno\":%d},\"id\":%u}",
			map[i].e, i);
		json_t *r = call(req);

		ck_assert_msg(err_code(r) == map[i].code, "%s -> %d", map[i].name, err_code(r));
		ck_assert_str_eq(err_data(r, "errno"), map[i].name);
		ck_assert_str_eq(err_data(r, "field"), "thing");
		snprintf(want, sizeof(want), "thing 'x' failed with errno %d", map[i].e);
		ck_assert_str_eq(err_msg(r), want);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}

	// No message from the handler: strerror stands in, no field.
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"method\":\"test.bare_error\",\"id\":1}");
	ck_assert_int_eq(err_code(r), RPC_E_FAILED);
	ck_assert_str_eq(err_msg(r), "test.bare_error: Input/output error");
	ck_assert_str_eq(err_data(r, "errno"), "EIO");
	ck_assert_ptr_null(err_data(r, "field"));
	json_decref(r);
}
END_TEST

START_TEST(peer_credentials)
{
	struct rpc_call peer = {.peer_pid = 4242, .peer_uid = 1001, .peer_gid = 1002};
	json_t *r = call_peer("{\"jsonrpc\":\"2.0\",\"method\":\"test.whoami\",\"id\":1}", &peer);
	json_t *res = json_object_get(r, "result");

	ck_assert_int_eq(json_integer_value(json_object_get(res, "pid")), 4242);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "uid")), 1001);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "gid")), 1002);
	ck_assert_str_eq(json_string_value(json_object_get(res, "method")), "test.whoami");
	json_decref(r);
}
END_TEST

static int n_listed;

static void count_method(const struct rpc_method *m, void *arg)
{
	n_listed++;
}

START_TEST(rpc_list)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.list\",\"id\":1}");
	json_t *res = json_object_get(r, "result"), *m;
	const char *prev = "";
	bool seen_list = false, seen_version = false, seen_null = false;
	size_t i;

	ck_assert(json_is_array(res));
	// Every registered method (other modules' tables included) is listed once.
	n_listed = 0;
	rpc_foreach(count_method, NULL);
	ck_assert_int_ge(n_listed, 4 + 7);
	ck_assert_int_eq(json_array_size(res), n_listed);
	json_array_foreach(res, i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));

		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(m, "params")));
		ck_assert_ptr_nonnull(json_string_value(json_object_get(m, "help")));
		ck_assert_msg(strcmp(prev, name) < 0, "not sorted: %s after %s", name, prev);
		prev = name;
		seen_list |= strcmp(name, "rpc.list") == 0;
		seen_version |= strcmp(name, "daemon.version") == 0;
		if (strcmp(name, "test.null") == 0) {
			seen_null = true;
			ck_assert_str_eq(json_string_value(json_object_get(m, "params")), "{}");
		}
	}
	ck_assert(seen_list && seen_version && seen_null);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"rpc.list\",\"params\":{\"all\":1},\"id\":1}");
	ck_assert_int_eq(err_code(r), RPC_E_INVALID_PARAMS);
	json_decref(r);
}
END_TEST

START_TEST(daemon_version)
{
	json_t *r = call("{\"jsonrpc\":\"2.0\",\"method\":\"daemon.version\",\"id\":1}");
	json_t *res = json_object_get(r, "result");

	ck_assert_str_eq(json_string_value(json_object_get(res, "version")), VSWITCH_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "api"), "major")),
		RPC_API_MAJOR);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(res, "api"), "minor")),
		RPC_API_MINOR);
	json_decref(r);
}
END_TEST

START_TEST(log_set)
{
	json_t *r;

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"log.set\",\"params\":{\"level\":\"debug\"},"
		 "\"id\":1}");
	ck_assert(json_is_null(json_object_get(r, "result")));
	ck_assert_int_eq(log_get_level(), LOG_LVL_DEBUG);
	json_decref(r);

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"log.set\",\"params\":{\"level\":\"ERR\"},"
		 "\"id\":1}");
	ck_assert_int_eq(log_get_level(), LOG_LVL_ERR);
	json_decref(r);

	r = params_error("log.set", "{\"level\":\"loud\"}", "level");
	ck_assert_str_eq(err_msg(r),
		"unknown log level 'loud'; valid levels: err, warn, notice, info, debug");
	ck_assert_int_eq(log_get_level(), LOG_LVL_ERR);
	json_decref(r);

	r = params_error("log.set", "{}", "level");
	json_decref(r);
	r = params_error("log.set", "{\"level\":3}", "level");
	json_decref(r);
}
END_TEST

static int hook_ret;

static int reload_hook(struct err *err, json_t **result)
{
	if (hook_ret < 0)
		return err_set(err, hook_ret, "bridges[0].name", "config.yaml:3:5: bad name");
	*result = json_pack("{s:[s]}", "changes", "bridge br1 added");
	return 0;
}

START_TEST(config_reload)
{
	json_t *r;

	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"config.reload\",\"id\":1}");
	ck_assert_int_eq(err_code(r), RPC_E_NOT_SUPPORTED);
	ck_assert_str_eq(err_data(r, "errno"), "EOPNOTSUPP");
	json_decref(r);

	rpc_daemon_set_reload_hook(reload_hook);
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"config.reload\",\"params\":{},\"id\":2}");
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_object_get(r, "result"), "changes"), 0)),
		"bridge br1 added");
	json_decref(r);

	hook_ret = -EINVAL;
	r = call("{\"jsonrpc\":\"2.0\",\"method\":\"config.reload\",\"id\":3}");
	ck_assert_int_eq(err_code(r), RPC_E_INVALID_PARAMS);
	ck_assert_str_eq(err_data(r, "field"), "bridges[0].name");
	ck_assert_str_eq(err_msg(r), "config.yaml:3:5: bad name");
	json_decref(r);
	hook_ret = 0;
}
END_TEST

START_TEST(duplicate_aborts)
{
	static const struct rpc_method dup[] = {
		{"test.unique", t_null, "{}", "x"},
		{"test.echo", t_null, "{}", "duplicate"},
		{0},
	};

	rpc_register(dup);
}
END_TEST

START_TEST(lookup)
{
	ck_assert_ptr_nonnull(rpc_lookup("rpc.list"));
	ck_assert_ptr_eq(rpc_lookup("test.echo")->handler, t_echo);
	ck_assert_ptr_null(rpc_lookup("test"));
	ck_assert_ptr_null(rpc_lookup(""));
	rpc_fini();
	ck_assert_ptr_null(rpc_lookup("rpc.list"));
	// The registry can be filled again after rpc_fini().
	rpc_init();
	ck_assert_ptr_nonnull(rpc_lookup("log.set"));
}
END_TEST

static Suite *rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, valid_call);
	tcase_add_test(tc, result_null_and_escaping);
	tcase_add_test(tc, notifications);
	tcase_add_test(tc, batch_mixed);
	tcase_add_test(tc, batch_empty_and_too_large);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, invalid_requests);
	tcase_add_test(tc, params_strict);
	tcase_add_test(tc, params_nested);
	tcase_add_test(tc, unpack_direct);
	tcase_add_test(tc, errno_mapping);
	tcase_add_test(tc, peer_credentials);
	tcase_add_test(tc, rpc_list);
	tcase_add_test(tc, daemon_version);
	tcase_add_test(tc, log_set);
	tcase_add_test(tc, config_reload);
	tcase_add_test(tc, lookup);
	tcase_add_test_raise_signal(tc, duplicate_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
