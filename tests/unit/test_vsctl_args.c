// SPDX-License-Identifier: Apache-2.0
// vsctl command lines -> JSON-RPC requests: every command's method and params, the options, the
// `A -- B` chain, and the usage errors (exit 2, nothing sent) for bad arguments.
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wordexp.h>

#include "control/rpc_proto.h"
#include "ctl/vsctl.h"

// A transport that records each call and answers from canned results/errors keyed by method.
struct fake {
	json_t *calls; // [{"method": m, "params": p}]
	json_t *results; // {method: result}; absent: null
	json_t *errors; // {method: {"code": c, "message": m, "field"?: f}}
};

static int fake_call(
	void *arg, const char *method, json_t *params, json_t **result, struct vsctl_error *e)
{
	struct fake *f = arg;
	json_t *err = json_object_get(f->errors, method), *res;

	json_array_append_new(
		f->calls, json_pack("{s:s, s:O}", "method", method, "params", params));
	if (err != NULL) {
		e->exit = VSCTL_EXIT_FAILED;
		e->rpc_code = (int)json_integer_value(json_object_get(err, "code"));
		snprintf(e->msg, sizeof(e->msg), "%s",
			json_string_value(json_object_get(err, "message")));
		snprintf(e->field, sizeof(e->field), "%s",
			json_string_value(json_object_get(err, "field")) ?: "");
		return -EREMOTEIO;
	}
	res = json_object_get(f->results, method);
	*result = res != NULL ? json_incref(res) : json_null();
	return 0;
}

struct run {
	int rc;
	char *out;
	char *err;
	json_t *calls;
};

static struct fake fake;

static void fake_result(const char *method, const char *json)
{
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(v != NULL, "bad fixture %s: %s", json, jerr.text);
	json_object_set_new(fake.results, method, v);
}

// Forgets the calls and errors; every method answers an empty result of the right shape.
static void fake_reset(void)
{
	json_decref(fake.calls);
	json_decref(fake.results);
	json_decref(fake.errors);
	fake.calls = json_array();
	fake.results = json_object();
	fake.errors = json_object();
	fake_result("bridge.list", "[]");
	fake_result("port.list", "[]");
	fake_result("stats.get", "{\"ports\": []}");
	fake_result("fdb.show", "[]");
	fake_result("fdb.stats", "{}");
	fake_result("pmd.stats", "[]");
	fake_result("pmd.rxq", "[]");
	fake_result("pmd.rebalance", "{\"moved\": 0}");
	fake_result("memory.show", "{\"nodes\": []}");
	fake_result("mempool.list", "[]");
	fake_result("config.reload", "{\"changes\": []}");
	fake_result("daemon.version",
		"{\"version\": \"0.1.0\", \"api\": {\"major\": 1, \"minor\": 0}}");
	fake_result("rpc.list", "[]");
}

static void fake_error(const char *method, int code, const char *msg, const char *field)
{
	json_object_set_new(fake.errors, method,
		json_pack("{s:i, s:s, s:s?}", "code", code, "message", msg, "field", field));
}

// Runs vsctl with argv (argv[0] included) against the fake.
static struct run run_argv(int argc, char **argv)
{
	struct vsctl_transport tp = {.call = fake_call, .arg = &fake};
	struct run r = {0};
	size_t osz, esz;
	FILE *out = open_memstream(&r.out, &osz), *err = open_memstream(&r.err, &esz);

	r.rc = vsctl_main(argc, argv, out, err, &tp);
	fclose(out);
	fclose(err);
	r.calls = json_incref(fake.calls);
	return r;
}

// Runs "vsctl <cmdline>" (shell-like quoting) against the fake.
static struct run run(const char *cmdline)
{
	struct run r;
	wordexp_t we;
	char **argv;

	json_array_clear(fake.calls);
	ck_assert_int_eq(wordexp(cmdline, &we, WRDE_NOCMD | WRDE_UNDEF), 0);
	argv = calloc(we.we_wordc + 2, sizeof(*argv));
	argv[0] = "vsctl";
	for (size_t i = 0; i < we.we_wordc; i++)
		argv[i + 1] = we.we_wordv[i];
	r = run_argv((int)we.we_wordc + 1, argv);
	free(argv);
	wordfree(&we);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	json_decref(r->calls);
}

// Asserts rc 0 and the exact list of calls ([[method, params], ...] as JSON text).
static void expect_calls(const char *cmdline, const char *expected)
{
	json_error_t jerr;
	json_t *exp = json_loads(expected, 0, &jerr), *got;
	struct run r;
	size_t i;
	json_t *c;

	ck_assert_msg(exp != NULL, "bad expectation %s: %s", expected, jerr.text);
	fake_reset();
	r = run(cmdline);
	got = json_array();
	json_array_foreach(r.calls, i, c)
		json_array_append_new(got,
			json_pack("[O, O]", json_object_get(c, "method"),
				json_object_get(c, "params")));
	char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_msg(r.rc == 0, "vsctl %s: rc %d, stderr: %s", cmdline, r.rc, r.err);
	ck_assert_msg(json_equal(exp, got), "vsctl %s:\n sent     %s\n expected %s", cmdline, g,
		expected);
	free(g);
	json_decref(got);
	json_decref(exp);
	run_free(&r);
}

// Asserts exit code `rc`, stderr containing `msg`, and that nothing was sent.
static void expect_usage(const char *cmdline, int rc, const char *msg)
{
	struct run r;

	fake_reset();
	r = run(cmdline);
	ck_assert_msg(
		r.rc == rc, "vsctl %s: rc %d (expected %d), stderr: %s", cmdline, r.rc, rc, r.err);
	ck_assert_msg(strstr(r.err, msg) != NULL, "vsctl %s: stderr lacks '%s':\n%s", cmdline, msg,
		r.err);
	ck_assert_msg(json_array_size(r.calls) == 0, "vsctl %s sent %zu calls", cmdline,
		json_array_size(r.calls));
	ck_assert_str_eq(r.out, "");
	run_free(&r);
}

START_TEST(test_bridge_commands)
{
	expect_calls("add-br br0", "[[\"bridge.add\", {\"name\": \"br0\"}]]");
	expect_calls("add-br br0 fdb_size=8192 mac_aging=300",
		"[[\"bridge.add\", {\"name\": \"br0\", \"options\": "
		"{\"fdb_size\": \"8192\", \"mac_aging\": \"300\"}}]]");
	expect_calls("del-br br0", "[[\"bridge.del\", {\"name\": \"br0\"}]]");
	expect_calls("list-br", "[[\"bridge.list\", {}]]");
	expect_calls("show", "[[\"bridge.list\", {}], [\"port.list\", {}]]");
	// Values are passed through verbatim, '=' after the first one included.
	expect_calls("add-br br0 'desc=a b=c'",
		"[[\"bridge.add\", {\"name\": \"br0\", \"options\": {\"desc\": \"a b=c\"}}]]");
}
END_TEST

START_TEST(test_bridge_errors)
{
	expect_usage("add-br", 2,
		"vsctl: add-br: missing argument BR\nusage: vsctl add-br [--may-exist] BR");
	expect_usage("add-br br0 foo", 2, "vsctl: add-br: 'foo' is not KEY=VALUE");
	expect_usage("add-br br0 =x", 2, "'=x': missing key before '='");
	expect_usage("add-br br0 a=1 a=2", 2, "'a' is given more than once");
	expect_usage("add-br br0 a=", 2, "'a=': missing value after '='");
	expect_usage("add-br br0 'a b=1'", 2, "invalid character in key");
	expect_usage("add-br ''", 2, "empty bridge name");
	expect_usage("add-br mtu=9000", 2, "'mtu=9000' is not a bridge name");
	expect_usage("del-br", 2, "missing argument BR");
	expect_usage("del-br a b", 2, "too many arguments ('b' is extra)");
	expect_usage("list-br x", 2, "vsctl: list-br: too many arguments");
	expect_usage("show x", 2, "usage: vsctl show\n");

	// Arguments that are not UTF-8 cannot travel in JSON: a usage error, nothing sent.
	char *bad_value[] = {"vsctl", "add-br", "br0", "k=\xff", NULL};
	char *bad_name[] = {"vsctl", "add-br", "br\xff", NULL};
	struct run r;
	fake_reset();
	r = run_argv(4, bad_value);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "'k': value is not valid UTF-8"));
	ck_assert_int_eq(json_array_size(r.calls), 0);
	run_free(&r);
	r = run_argv(3, bad_name);
	ck_assert_int_eq(r.rc, 2);
	ck_assert_ptr_nonnull(strstr(r.err, "vsctl: add-br: invalid argument: Invalid UTF-8"));
	ck_assert_int_eq(json_array_size(r.calls), 0);
	run_free(&r);
}
END_TEST

START_TEST(test_may_exist_if_exists)
{
	struct run r;

	// Without the option, the daemon's error is the user's error (exit 1).
	fake_reset();
	fake_error("bridge.add", RPC_E_EXISTS, "bridge br0 already exists", "name");
	r = run("add-br br0");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "vsctl: bridge br0 already exists (field: name)\n");
	run_free(&r);
	// Before or after the command name, like ovs-vsctl's --may-exist.
	r = run("--may-exist add-br br0");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.err, "");
	run_free(&r);
	r = run("add-br br0 --may-exist");
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
	// --may-exist tolerates only "exists", not other failures.
	fake_reset();
	fake_error("bridge.add", RPC_E_INVALID_PARAMS, "bad option", "fdb_size");
	r = run("--may-exist add-br br0 fdb_size=x");
	ck_assert_int_eq(r.rc, 1);
	run_free(&r);

	fake_reset();
	fake_error("bridge.del", RPC_E_NOT_FOUND, "no bridge br0", "name");
	r = run("del-br br0");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "vsctl: no bridge br0 (field: name)\n");
	run_free(&r);
	r = run("--if-exists del-br br0");
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
	r = run("-j del-br --if-exists br0");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "null\n");
	run_free(&r);

	fake_reset();
	fake_error("port.add", RPC_E_EXISTS, "port p0 already exists", "name");
	r = run("--may-exist add-port br0 p0");
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);
	fake_error("port.del", RPC_E_NOT_FOUND, "no port p0", "name");
	r = run("--if-exists del-port p0");
	ck_assert_int_eq(r.rc, 0);
	run_free(&r);

	expect_usage("--if-exists add-br br0", 2, "vsctl: add-br: unknown option '--if-exists'");
	expect_usage("--if-exists=1 del-br br0", 2, "option --if-exists takes no value");
	expect_usage("show --may-exist", 2, "vsctl: show: unknown option '--may-exist'");
}
END_TEST

START_TEST(test_port_commands)
{
	expect_calls("add-port br0 p0",
		"[[\"port.add\", {\"bridge\": \"br0\", \"name\": \"p0\", "
		"\"type\": \"af_packet\"}]]");
	// type= is pulled out of the options, wherever it is.
	expect_calls("add-port br0 p0 mtu=9000 type=tap n_rxq=2",
		"[[\"port.add\", {\"bridge\": \"br0\", \"name\": \"p0\", \"type\": \"tap\", "
		"\"options\": {\"mtu\": \"9000\", \"n_rxq\": \"2\"}}]]");
	expect_calls("add-port br0 vhu0 type=vhost-user",
		"[[\"port.add\", {\"bridge\": \"br0\", \"name\": \"vhu0\", "
		"\"type\": \"vhost-user\"}]]");
	expect_calls("add-port br0 p0 iface=eth1",
		"[[\"port.add\", {\"bridge\": \"br0\", \"name\": \"p0\", \"type\": \"af_packet\", "
		"\"options\": {\"iface\": \"eth1\"}}]]");

	expect_calls("del-port p0", "[[\"port.del\", {\"name\": \"p0\"}]]");
	// With BR, the port's bridge is checked first.
	{
		struct run r;
		fake_reset();
		fake_result("port.list",
			"[{\"name\": \"p1\", \"bridge\": \"br1\"}, "
			"{\"name\": \"p0\", \"bridge\": \"br0\"}]");
		r = run("del-port br0 p0");
		ck_assert_int_eq(r.rc, 0);
		ck_assert_int_eq(json_array_size(r.calls), 2);
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(r.calls, 1), "method")),
			"port.del");
		run_free(&r);
		fake_reset();
		fake_result("port.list", "[{\"name\": \"p0\", \"bridge\": \"br0\"}]");
		r = run("del-port br1 p0");
		ck_assert_int_eq(r.rc, 1);
		ck_assert_str_eq(
			r.err, "vsctl: bridge br1 does not have a port p0 (it is on bridge br0)\n");
		ck_assert_int_eq(json_array_size(r.calls), 1); // nothing deleted
		run_free(&r);
		r = run("del-port br0 p9");
		ck_assert_int_eq(r.rc, 1);
		ck_assert_str_eq(r.err, "vsctl: no port named p9\n");
		run_free(&r);
		r = run("--if-exists del-port br0 p9");
		ck_assert_int_eq(r.rc, 0);
		ck_assert_str_eq(r.err, "");
		run_free(&r);
	}

	expect_calls("list-ports", "[[\"port.list\", {}]]");
	expect_calls("list-ports br0", "[[\"port.list\", {\"bridge\": \"br0\"}]]");

	// set: KEY= removes the option (an empty value on the wire, as port.set documents);
	// ovs-vsctl's spelling is accepted.
	expect_calls("set port p0 mtu=9000 n_rxq=",
		"[[\"port.set\", {\"name\": \"p0\", "
		"\"options\": {\"mtu\": \"9000\", \"n_rxq\": \"\"}}]]");
	expect_calls("set Interface p0 options:mtu=1500",
		"[[\"port.set\", {\"name\": \"p0\", \"options\": {\"mtu\": \"1500\"}}]]");
	expect_calls("set port p0 rx-steering=",
		"[[\"port.set\", {\"name\": \"p0\", \"options\": {\"rx-steering\": \"\"}}]]");
}
END_TEST

START_TEST(test_port_errors)
{
	expect_usage("add-port br0", 2,
		"vsctl: add-port: missing argument PORT\n"
		"usage: vsctl add-port [--may-exist] BR PORT [type=TYPE] [KEY=VALUE]...\n");
	expect_usage("add-port", 2, "missing argument BR");
	expect_usage("add-port br0 type=tap", 2, "'type=tap' is not a port name");
	expect_usage("add-port br0 p0 type=", 2, "'type=': missing value after '='");
	expect_usage("add-port br0 p0 type=tap type=null", 2, "'type' is given more than once");
	expect_usage("add-port br0 p0 mtu", 2, "'mtu' is not KEY=VALUE");
	expect_usage("del-port", 2, "vsctl: del-port: missing argument PORT");
	expect_usage("del-port a b c", 2, "too many arguments ('c' is extra)");
	expect_usage("list-ports a b", 2, "too many arguments");
	expect_usage("set port p0", 2, "vsctl: set: missing argument KEY=VALUE...");
	expect_usage("set port", 2, "missing argument PORT");
	expect_usage("set", 2, "missing argument port");
	expect_usage(
		"set bridge br0 a=1", 2, "cannot set 'bridge': only 'port' has settable options");
	expect_usage("set port p0 mtu", 2, "'mtu' is not KEY=VALUE");
	expect_usage("set port p0 =1", 2, "missing key before '='");
	expect_usage("set port p0 a=1 a=", 2, "'a' is given more than once");
}
END_TEST

START_TEST(test_other_commands)
{
	expect_calls("get-stats", "[[\"stats.get\", {}]]");
	expect_calls("get-stats p0", "[[\"stats.get\", {\"port\": \"p0\"}]]");
	expect_calls("clear-stats", "[[\"stats.clear\", {}]]");
	expect_calls("clear-stats p0", "[[\"stats.clear\", {\"port\": \"p0\"}]]");
	expect_calls("fdb-show br0", "[[\"fdb.show\", {\"bridge\": \"br0\"}]]");
	expect_calls("fdb-flush br0", "[[\"fdb.flush\", {\"bridge\": \"br0\"}]]");
	expect_calls("fdb-stats br0", "[[\"fdb.stats\", {\"bridge\": \"br0\"}]]");
	expect_calls(
		"fdb-flush br0 p0", "[[\"fdb.flush\", {\"bridge\": \"br0\", \"port\": \"p0\"}]]");
	expect_calls("pmd-stats --clear", "[[\"pmd.clear\", {}]]");
	expect_calls("--clear pmd-stats", "[[\"pmd.clear\", {}]]");
	expect_calls("log-level debug", "[[\"log.set\", {\"level\": \"debug\"}]]");
	expect_calls("rpc port.list '{\"bridge\": \"br0\"}'",
		"[[\"port.list\", {\"bridge\": \"br0\"}]]");
	expect_calls("rpc rpc.list", "[[\"rpc.list\", {}]]");
	expect_usage("get-stats a b", 2, "too many arguments");
	expect_usage("fdb-show", 2, "missing argument BR");
	expect_usage("fdb-flush", 2, "missing argument BR");
	expect_usage("fdb-stats", 2, "missing argument BR");
	expect_usage("fdb-flush a b c", 2, "too many arguments");
	expect_usage("pmd-stats x", 2, "too many arguments");
	expect_usage("pmd-stats --clear=1", 2, "option --clear takes no value");
	expect_usage("log-level", 2, "missing argument LEVEL");
	expect_usage("reload now", 2, "too many arguments");
	expect_usage("rpc", 2, "missing argument METHOD");
	expect_usage("rpc x '{\"a\":'", 2, "vsctl: rpc: JSON-PARAMS:");
	expect_usage("rpc x 3", 2, "JSON-PARAMS must be an object");
	expect_usage("rpc x '{\"a\": 1, \"a\": 2}'", 2, "duplicate object key");
	expect_usage("rpc ''", 2, "empty method name");
}
END_TEST

START_TEST(test_result_commands)
{
	struct run r;

	// Commands whose request has no params; each checks the shape of its result.
	static const struct {
		const char *cmd, *method, *result;
	} cases[] = {
		{"pmd-stats", "pmd.stats", "[]"},
		{"pmd-rxq-show", "pmd.rxq", "[]"},
		{"pmd-rebalance", "pmd.rebalance", "{\"moved\": 0}"},
		{"memory-show", "memory.show", "{\"nodes\": []}"},
		{"mempool-list", "mempool.list", "[]"},
		{"reload", "config.reload", "{\"changes\": []}"},
		{"version", "daemon.version",
			"{\"version\": \"0.1.0\", \"api\": {\"major\": 1, \"minor\": 0}}"},
		{"fdb-show br0", "fdb.show", "[]"},
		{"list-ports", "port.list", "[]"},
		{"fdb-stats br0", "fdb.stats", "{\"entries\": 0}"},
	};
	for (size_t i = 0; i < VSCTL_ARRAY_SIZE(cases); i++) {
		fake_reset();
		fake_result(cases[i].method, cases[i].result);
		r = run(cases[i].cmd);
		ck_assert_msg(r.rc == 0, "%s: rc %d %s", cases[i].cmd, r.rc, r.err);
		ck_assert_int_eq(json_array_size(r.calls), 1);
		ck_assert_str_eq(
			json_string_value(json_object_get(json_array_get(r.calls, 0), "method")),
			cases[i].method);
		run_free(&r);
		// A result of the wrong shape is a protocol error (exit 6), not a crash.
		fake_reset();
		fake_result(cases[i].method, "\"surprise\"");
		r = run(cases[i].cmd);
		ck_assert_msg(r.rc == 6, "%s with a bad result: rc %d", cases[i].cmd, r.rc);
		ck_assert_msg(strstr(r.err, "malformed response from vswitchd to") != NULL,
			"%s: %s", cases[i].cmd, r.err);
		run_free(&r);
	}
}
END_TEST

START_TEST(test_global_options)
{
	struct run r;

	expect_usage("", 2, "vsctl: missing command\nTry `vsctl --help`");
	expect_usage("-j", 2, "missing command");
	expect_usage("frobnicate", 2, "vsctl: unknown command 'frobnicate'\n");
	expect_usage("add-bridge br0", 2, "unknown command 'add-bridge'; did you mean 'add-br'?");
	expect_usage("fdb/show br0", 2, "did you mean 'fdb-show'?");
	expect_usage("--jason show", 2, "vsctl: unknown option '--jason'");
	expect_usage("-x show", 2, "unknown option '-x'");
	expect_usage("--timeout abc show", 2, "invalid timeout 'abc'");
	expect_usage("--timeout=-1 show", 2, "invalid timeout '-1'");
	expect_usage("-t nan show", 2, "invalid timeout 'nan'");
	expect_usage("show --timeout", 2, "option --timeout needs a value");
	expect_usage("--socket", 2, "option --socket needs a value");

	// Global options are accepted after the command too.
	expect_calls("--timeout 2.5 --socket /tmp/x show --json",
		"[[\"bridge.list\", {}], "
		"[\"port.list\", {}]]");
	expect_calls("-t 0 list-br -j", "[[\"bridge.list\", {}]]");
	expect_calls("-- list-br", "[[\"bridge.list\", {}]]");

	fake_reset();
	r = run("--version");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "vsctl (vswitch) " VSWITCH_VERSION "\nRPC API 1.0\n");
	ck_assert_int_eq(json_array_size(r.calls), 0);
	run_free(&r);
	r = run("-h");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: vsctl [OPTIONS] COMMAND"));
	ck_assert_ptr_nonnull(
		strstr(r.out, "  add-port [--may-exist] BR PORT [type=TYPE] [KEY=VALUE]...\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "Exit status: 0 ok"));
	run_free(&r);
	r = run("help");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\nPorts:\n"));
	run_free(&r);
}
END_TEST

START_TEST(test_chain)
{
	struct run r;

	expect_calls("add-br br0 -- add-port br0 p0 type=tap -- list-br",
		"[[\"bridge.add\", {\"name\": \"br0\"}], "
		"[\"port.add\", {\"bridge\": \"br0\", \"name\": \"p0\", \"type\": \"tap\"}], "
		"[\"bridge.list\", {}]]");
	expect_calls("--may-exist add-br br0 -- --may-exist add-port br0 p0",
		"[[\"bridge.add\", {\"name\": \"br0\"}], "
		"[\"port.add\", {\"bridge\": \"br0\", \"name\": \"p0\", "
		"\"type\": \"af_packet\"}]]");
	// The checking pass sends nothing, not even help's read-only rpc.list.
	expect_calls("help add-br -- list-br", "[[\"rpc.list\", {}], [\"bridge.list\", {}]]");
	// A bad argument anywhere in the chain: nothing at all is sent.
	expect_usage(
		"add-br br0 -- add-port br0 p0 mtu", 2, "vsctl: add-port: 'mtu' is not KEY=VALUE");
	expect_usage("add-br br0 -- frob", 2, "unknown command 'frob'");
	expect_usage("add-br br0 --", 2, "missing command");
	// A failing command stops the chain; earlier ones stay applied.
	fake_reset();
	fake_error("port.add", RPC_E_NOT_FOUND, "no bridge br9", "bridge");
	r = run("add-br br0 -- add-port br9 p0 -- list-br");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_int_eq(json_array_size(r.calls), 2);
	ck_assert_str_eq(r.err, "vsctl: no bridge br9 (field: bridge)\n");
	run_free(&r);
	// -j prints one JSON text per command.
	fake_reset();
	fake_result("port.add", "{\"id\": 3}");
	r = run("-j add-br br0 -- add-port br0 p0");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out, "null\n{\n  \"id\": 3\n}\n");
	run_free(&r);
}
END_TEST

START_TEST(test_command_help)
{
	struct run r;

	fake_reset();
	fake_result("rpc.list",
		"[{\"name\": \"port.add\", \"params\": \"{bridge: str, name: str, "
		"type: str, options?: {str: str}}\", \"help\": \"Adds a port. Types: "
		"af_packet, tap, null.\"}]");
	r = run("add-port --help");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.out,
		"usage: vsctl add-port [--may-exist] BR PORT [type=TYPE] [KEY=VALUE]...\n"
		"Add PORT to bridge BR (TYPE defaults to af_packet: the kernel interface named\n"
		"PORT); `vsctl help add-port` lists the types vswitchd supports.\n"
		"RPC method: port.add\n"
		"\n"
		"vswitchd: port.add {bridge: str, name: str, type: str, options?: {str: str}}\n"
		"  Adds a port. Types: af_packet, tap, null.\n");
	run_free(&r);
	// Same text through `help CMD`; a daemon without the method is said so.
	r = run("help del-br");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: vsctl del-br [--if-exists] BR\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "(this vswitchd has no method bridge.del)"));
	run_free(&r);
	expect_usage("help frob", 2, "vsctl: help: unknown command 'frob'");

	r = run("list-commands");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(
		strstr(r.out, "\nadd-port [--may-exist] BR PORT [type=TYPE] [KEY=VALUE]...\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nlist-br\n"));
	run_free(&r);
	r = run("-j list-commands");
	ck_assert_int_eq(r.rc, 0);
	{
		json_t *l = json_loads(r.out, 0, NULL), *c;
		size_t i;
		bool found = false;
		ck_assert_ptr_nonnull(l);
		json_array_foreach(l, i, c)
			if (strcmp(json_string_value(json_object_get(c, "name")), "del-port") ==
				0) {
				found = true;
				ck_assert_int_eq(
					json_integer_value(json_object_get(c, "min_args")), 1);
				ck_assert_int_eq(
					json_integer_value(json_object_get(c, "max_args")), 2);
				ck_assert_str_eq(json_string_value(json_object_get(c, "options")),
					"--if-exists");
			}
		ck_assert(found);
		json_decref(l);
	}
	run_free(&r);
}
END_TEST

static Suite *vsctl_args_suite(void)
{
	Suite *s = suite_create("vsctl_args");
	TCase *tc = tcase_create("args");

	tcase_add_test(tc, test_bridge_commands);
	tcase_add_test(tc, test_bridge_errors);
	tcase_add_test(tc, test_may_exist_if_exists);
	tcase_add_test(tc, test_port_commands);
	tcase_add_test(tc, test_port_errors);
	tcase_add_test(tc, test_other_commands);
	tcase_add_test(tc, test_result_commands);
	tcase_add_test(tc, test_global_options);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_command_help);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vsctl_args_suite());
	int failed;

	unsetenv("VSWITCH_SOCKET");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	json_decref(fake.calls);
	json_decref(fake.results);
	json_decref(fake.errors);
	return failed != 0;
}
