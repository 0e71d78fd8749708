// SPDX-License-Identifier: Apache-2.0
// vsctl output and transport: table layout, the show tree, -j stability, error rendering and
// exit codes, and real round trips against a fake vswitchd thread on a temporary UNIX socket
// (framing, partial reads/writes, timeout, closed connection, daemon not running, permissions).
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <wordexp.h>

#include "control/rpc_proto.h"
#include "ctl/client.h"
#include "ctl/table.h"
#include "ctl/vsctl.h"

// ---- fake transport: canned results and errors by method ----

static json_t *results; // {method: result}
static json_t *errors; // {method: {code, message, field?}}

static int fake_call(
	void *arg, const char *method, json_t *params, json_t **result, struct vsctl_error *e)
{
	json_t *err = json_object_get(errors, method), *res = json_object_get(results, method);

	if (err != NULL) {
		e->exit = VSCTL_EXIT_FAILED;
		e->rpc_code = (int)json_integer_value(json_object_get(err, "code"));
		snprintf(e->msg, sizeof(e->msg), "%s",
			json_string_value(json_object_get(err, "message")));
		snprintf(e->field, sizeof(e->field), "%s",
			json_string_value(json_object_get(err, "field")) ?: "");
		return -EREMOTEIO;
	}
	*result = res != NULL ? json_incref(res) : json_null();
	return 0;
}

static void set_result(const char *method, const char *json)
{
	json_error_t jerr;
	json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);

	ck_assert_msg(v != NULL, "bad fixture: %s", jerr.text);
	json_object_set_new(results, method, v);
}

static void set_error(const char *method, int code, const char *msg, const char *field)
{
	json_object_set_new(errors, method,
		json_pack("{s:i, s:s, s:s?}", "code", code, "message", msg, "field", field));
}

static void fixtures_setup(void)
{
	results = json_object();
	errors = json_object();
}

static void fixtures_teardown(void)
{
	json_decref(results);
	json_decref(errors);
}

struct run {
	int rc;
	char *out;
	char *err;
};

// Runs vsctl with argv (argv[0] included); tp NULL = the real UNIX socket client.
static struct run run_argv(int argc, char **argv, const struct vsctl_transport *tp)
{
	struct run r = {0};
	size_t osz, esz;
	FILE *out = open_memstream(&r.out, &osz), *err = open_memstream(&r.err, &esz);

	r.rc = vsctl_main(argc, argv, out, err, tp);
	fclose(out);
	fclose(err);
	return r;
}

// Runs "vsctl <cmdline>" (shell-like quoting).
static struct run run_tp(const char *cmdline, const struct vsctl_transport *tp)
{
	struct run r;
	wordexp_t we;
	char **argv;

	ck_assert_int_eq(wordexp(cmdline, &we, WRDE_NOCMD | WRDE_UNDEF), 0);
	argv = calloc(we.we_wordc + 2, sizeof(*argv));
	argv[0] = "vsctl";
	for (size_t i = 0; i < we.we_wordc; i++)
		argv[i + 1] = we.we_wordv[i];
	r = run_argv((int)we.we_wordc + 1, argv, tp);
	free(argv);
	wordfree(&we);
	return r;
}

static struct run run(const char *cmdline)
{
	static const struct vsctl_transport tp = {.call = fake_call};

	return run_tp(cmdline, &tp);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void expect_out(const char *cmdline, const char *expected)
{
	struct run r = run(cmdline);

	ck_assert_msg(r.rc == 0, "vsctl %s: rc %d: %s", cmdline, r.rc, r.err);
	ck_assert_msg(strcmp(r.out, expected) == 0, "vsctl %s printed:\n%s\nexpected:\n%s", cmdline,
		r.out, expected);
	ck_assert_str_eq(r.err, "");
	run_free(&r);
}

// No line of human output ends with a space.
static void assert_no_trailing_spaces(const char *s)
{
	for (const char *p = strchr(s, '\n'); p != NULL; p = strchr(p + 1, '\n'))
		ck_assert_msg(p == s || p[-1] != ' ', "trailing space before offset %zu in:\n%s",
			(size_t)(p - s), s);
}

// ---- tables and values ----

static char *print_table(const struct table *t, unsigned indent)
{
	char *buf = NULL;
	size_t size;
	FILE *f = open_memstream(&buf, &size);

	ck_assert_int_eq(table_print(t, f, indent), 0);
	fclose(f);
	return buf;
}

START_TEST(test_table_layout)
{
	static const struct table_col cols[] = {
		{"NAME", TABLE_LEFT}, {"PACKETS", TABLE_RIGHT}, {"NOTE", TABLE_LEFT}};
	struct table *t = table_create(cols, 3);
	char *s;

	table_row(t);
	table_cell(t, "p0");
	table_cell(t, "%d", 5);
	table_cell(t, "ok");
	table_row(t);
	table_cell(t, "long-port-name");
	table_cell(t, "%d", 1234567);
	// The note is missing: no padding is printed for it.
	table_row(t);
	table_cell(t, "évé"); // three characters, five bytes: aligned by characters
	table_cell(t, "12");
	table_cell(t, "bell\a and \x1b[31mred");
	s = print_table(t, 2);
	ck_assert_str_eq(s,
		"  NAME            PACKETS  NOTE\n"
		"  p0                    5  ok\n"
		"  long-port-name  1234567\n"
		"  évé                  12  bell? and ?[31mred\n");
	assert_no_trailing_spaces(s);
	ck_assert_uint_eq(table_n_rows(t), 3);
	free(s);
	// One cell too many is reported, not written past the row.
	table_cell(t, "x");
	table_cell(t, "y");
	ck_assert_int_eq(table_print(t, stdout, 0), -EINVAL);
	table_destroy(t);
	table_destroy(NULL);

	// Header-less and empty tables.
	static const struct table_col bare[] = {{NULL, TABLE_LEFT}, {NULL, TABLE_RIGHT}};
	t = table_create(bare, 2);
	s = print_table(t, 0);
	ck_assert_str_eq(s, "");
	free(s);
	table_row(t);
	table_cell(t, "a:");
	table_cell(t, "1");
	table_row(t);
	table_cell(t, "bbb:");
	table_cell(t, "22");
	s = print_table(t, 0);
	ck_assert_str_eq(s, "a:     1\nbbb:  22\n");
	free(s);
	table_destroy(t);
	t = table_create(cols, 3);
	s = print_table(t, 0);
	ck_assert_str_eq(s, "NAME  PACKETS  NOTE\n");
	free(s);
	table_destroy(t);
}
END_TEST

static void expect_value(const char *json, const char *expected)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *s;

	ck_assert_ptr_nonnull(v);
	s = table_format_value(v);
	ck_assert_msg(
		strcmp(s, expected) == 0, "%s rendered as '%s', expected '%s'", json, s, expected);
	free(s);
	json_decref(v);
}

START_TEST(test_values)
{
	char buf[32];

	expect_value("\"br0\"", "br0");
	expect_value("\"a\\u0007b\\nc\"", "a?b?c");
	expect_value("42", "42");
	expect_value("-9223372036854775807", "-9223372036854775807");
	expect_value("1.5", "1.5");
	expect_value("true", "true");
	expect_value("false", "false");
	expect_value("null", "-");
	expect_value("{}", "{}");
	// Keys sorted; values quoted only when they would be ambiguous.
	expect_value(
		"{\"z\": \"1\", \"a\": \"x y\", \"m\": \"\", \"q\": \"a,b\", \"r\": \"s\\\"t\"}",
		"{a=\"x y\", m=\"\", q=\"a,b\", r=\"s\\\"t\", z=1}");
	expect_value("{\"path\": \"/run/vhu0.sock\", \"mac\": \"02:00:00:00:00:01\"}",
		"{mac=02:00:00:00:00:01, path=/run/vhu0.sock}");
	expect_value("[1, \"a b\", {\"k\": [true]}]", "[1, \"a b\", {k=[true]}]");
	char *dash = table_format_value(NULL);
	ck_assert_str_eq(dash, "-");
	free(dash);

	table_format_bytes(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "0 B");
	table_format_bytes(buf, sizeof(buf), 1023);
	ck_assert_str_eq(buf, "1023 B");
	table_format_bytes(buf, sizeof(buf), 1536);
	ck_assert_str_eq(buf, "1.5 KiB");
	table_format_bytes(buf, sizeof(buf), 2097152);
	ck_assert_str_eq(buf, "2.0 MiB");
	table_format_bytes(buf, sizeof(buf), 3.0 * (1ull << 40));
	ck_assert_str_eq(buf, "3.0 TiB");
	ck_assert_uint_eq(table_text_width("évé"), 3);
}
END_TEST

START_TEST(test_table_from_array)
{
	json_t *arr = json_loads("[{\"queue\": 0, \"packets\": 10, \"name\": \"a\"}, "
				 "{\"queue\": 1, \"packets\": 2000, \"extra\": true}]",
		0, NULL);
	struct table *t = table_from_array(arr);
	char *s = print_table(t, 0);

	ck_assert_str_eq(s,
		"QUEUE  PACKETS  NAME  EXTRA\n"
		"    0       10  a     -\n"
		"    1     2000  -     true\n");
	free(s);
	table_destroy(t);
	json_decref(arr);
}
END_TEST

// ---- command output ----

static const char *const bridges_json =
	"[{\"name\": \"br1\", \"options\": {}, \"ports\": [\"vhu0\"]},"
	" {\"name\": \"br0\", \"options\": {\"fdb_size\": \"8192\"},"
	"  \"ports\": [\"p1\", \"p0\", \"gone\"]}]";
static const char *const ports_json =
	"[{\"name\": \"p0\", \"bridge\": \"br0\", \"type\": \"af_packet\", \"id\": 1,"
	"  \"state\": \"up\","
	"  \"options\": {\"iface\": \"veth0\"}, \"mtu\": 1500, \"mac\": \"02:00:00:00:00:01\","
	"  \"link\": true, \"n_rxq\": 1, \"n_txq\": 2, \"status\": {\"driver\": \"veth\"}},"
	" {\"name\": \"p1\", \"bridge\": \"br0\", \"type\": \"tap\", \"id\": 2,"
	"  \"state\": \"down\","
	"  \"options\": {}, \"mtu\": 9000, \"mac\": \"02:00:00:00:00:02\", \"link\": false,"
	"  \"n_rxq\": 2, \"n_txq\": 2, \"status\": {}},"
	" {\"name\": \"vhu0\", \"bridge\": \"br1\", \"type\": \"vhost-user\", \"id\": 3,"
	"  \"state\": \"waiting\", \"options\": {\"path\": \"/run/vswitch/vhu0.sock\"},"
	"  \"mtu\": 1500, \"mac\": \"02:00:00:00:00:03\", \"link\": null, \"n_rxq\": 1,"
	"  \"n_txq\": 1, \"status\": {\"state\": \"waiting for guest\", \"features\": \"0x0\"}}]";

START_TEST(test_show)
{
	struct run r;

	set_result("bridge.list", bridges_json);
	set_result("port.list", ports_json);
	// Bridges and ports sorted by name; "gone" was deleted between the two calls.
	expect_out("show",
		"Bridge br0\n"
		"    options: {fdb_size=8192}\n"
		"    Port gone\n"
		"    Port p0\n"
		"        type: af_packet\n"
		"        state: up\n"
		"        link: up\n"
		"        mtu: 1500\n"
		"        mac: 02:00:00:00:00:01\n"
		"        queues: 1 rx, 2 tx\n"
		"        options: {iface=veth0}\n"
		"        status: {driver=veth}\n"
		"    Port p1\n"
		"        type: tap\n"
		"        state: down\n"
		"        link: down\n"
		"        mtu: 9000\n"
		"        mac: 02:00:00:00:00:02\n"
		"        queues: 2 rx, 2 tx\n"
		"Bridge br1\n"
		"    Port vhu0\n"
		"        type: vhost-user\n"
		"        state: waiting\n"
		"        mtu: 1500\n"
		"        mac: 02:00:00:00:00:03\n"
		"        queues: 1 rx, 1 tx\n"
		"        options: {path=/run/vswitch/vhu0.sock}\n"
		"        status: {features=0x0, state=\"waiting for guest\"}\n");

	// -j: the bridges with their port objects, keys sorted, 2-space indent.
	r = run("-j show");
	ck_assert_int_eq(r.rc, 0);
	json_t *doc = json_loads(r.out, 0, NULL), *brs = json_object_get(doc, "bridges");
	ck_assert_ptr_nonnull(doc);
	ck_assert_int_eq(json_array_size(brs), 2);
	ck_assert_str_eq(vsctl_get_str(json_array_get(brs, 0), "name"), "br0");
	json_t *p = json_array_get(json_object_get(json_array_get(brs, 0), "ports"), 1);
	ck_assert_str_eq(vsctl_get_str(p, "name"), "p0");
	ck_assert_str_eq(vsctl_get_str(p, "type"), "af_packet");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "mtu")), 1500);
	ck_assert_ptr_nonnull(
		strstr(r.out, "{\n  \"bridges\": [\n    {\n      \"name\": \"br0\",\n"));
	json_decref(doc);
	run_free(&r);

	expect_out("list-br", "br0\nbr1\n");
	expect_out("list-ports", "p0\np1\nvhu0\n");

	// No bridges: nothing at all.
	set_result("bridge.list", "[]");
	expect_out("show", "");
}
END_TEST

START_TEST(test_json_stable)
{
	// The result object itself, keys sorted whatever the daemon's order, integers exact.
	set_result("stats.get",
		"{\"ports\": [{\"tx_bytes\": 18446744073709551, \"name\": \"p0\","
		" \"rx_packets\": 1, \"drops\": {\"z\": 1, \"a\": 2}}]}");
	expect_out("-j get-stats",
		"{\n"
		"  \"ports\": [\n"
		"    {\n"
		"      \"drops\": {\n"
		"        \"a\": 2,\n"
		"        \"z\": 1\n"
		"      },\n"
		"      \"name\": \"p0\",\n"
		"      \"rx_packets\": 1,\n"
		"      \"tx_bytes\": 18446744073709551\n"
		"    }\n"
		"  ]\n"
		"}\n");
	set_result("bridge.list", "[{\"ports\": [\"p0\"], \"name\": \"br0\", \"options\": {}}]");
	expect_out("--json list-br",
		"[\n"
		"  {\n"
		"    \"name\": \"br0\",\n"
		"    \"options\": {},\n"
		"    \"ports\": [\n"
		"      \"p0\"\n"
		"    ]\n"
		"  }\n"
		"]\n");
	set_result("port.add", "{\"id\": 7}");
	expect_out("-j add-port br0 p0", "{\n  \"id\": 7\n}\n");
	expect_out("add-port br0 p0", ""); // quiet like ovs-vsctl
	expect_out("-j add-br br0", "null\n");
	expect_out("add-br br0", "");
	// rpc prints the raw result as JSON even without -j.
	set_result("rpc.list", "[{\"name\": \"a.b\", \"help\": \"x\"}]");
	expect_out("rpc rpc.list", "[\n  {\n    \"help\": \"x\",\n    \"name\": \"a.b\"\n  }\n]\n");
	// -j version: the daemon.version result as it is.
	set_result(
		"daemon.version", "{\"version\": \"9.9\", \"api\": {\"major\": 1, \"minor\": 4}}");
	expect_out("-j version",
		"{\n"
		"  \"api\": {\n"
		"    \"major\": 1,\n"
		"    \"minor\": 4\n"
		"  },\n"
		"  \"version\": \"9.9\"\n"
		"}\n");
}
END_TEST

START_TEST(test_stats_output)
{
	set_result("stats.get",
		"{\"ports\": [{\"name\": \"p0\", \"rx_packets\": 1234567, \"rx_bytes\": 80000000,"
		" \"tx_packets\": 5, \"tx_bytes\": 320,"
		" \"drops\": {\"rx_nobuf\": 3, \"tx_full\": 4},"
		" \"errors\": {\"rx\": 0, \"tx\": 0}},"
		" {\"name\": \"long-name0\", \"rx_packets\": 0, \"rx_bytes\": 0, \"tx_packets\": 0,"
		" \"tx_bytes\": 0, \"drops\": 9}]}");
	expect_out("get-stats",
		"PORT        RX_PACKETS  RX_BYTES  TX_PACKETS  TX_BYTES  DROPS  ERRORS\n"
		"p0             1234567  80000000           5       320      7       0\n"
		"long-name0           0         0           0         0      9       -\n");
	set_result("stats.get",
		"{\"ports\": [{\"name\": \"p0\", \"rx_packets\": 10, \"rx_bytes\": 640,"
		" \"tx_packets\": 5, \"tx_bytes\": 320,"
		" \"drops\": {\"rx_nobuf\": 3, \"tx_full\": 12},"
		" \"errors\": {\"rx\": 0, \"tx\": 1}, \"datapath\": {\"flooded\": 4},"
		" \"rxq\": [{\"queue\": 0, \"packets\": 6},"
		" {\"queue\": 1, \"packets\": 4}], \"txq\": []}]}");
	expect_out("get-stats p0",
		"PORT  RX_PACKETS  RX_BYTES  TX_PACKETS  TX_BYTES  DROPS  ERRORS\n"
		"p0            10       640           5       320     15       1\n"
		"\n"
		"drops:\n"
		"  rx_nobuf:   3\n"
		"  tx_full:   12\n"
		"\n"
		"errors:\n"
		"  rx:  0\n"
		"  tx:  1\n"
		"\n"
		"datapath:\n"
		"  flooded:  4\n"
		"\n"
		"rxq:\n"
		"  QUEUE  PACKETS\n"
		"      0        6\n"
		"      1        4\n");
}
END_TEST

START_TEST(test_other_output)
{
	set_result("fdb.show",
		"[{\"vlan\": 10, \"mac\": \"02:00:00:00:00:09\", \"port\": \"p1\", \"age\": 3},"
		" {\"vlan\": 0, \"mac\": \"02:00:00:00:00:0b\", \"port\": \"p0\", \"age\": 120},"
		" {\"vlan\": 0, \"mac\": \"02:00:00:00:00:0a\", \"port\": \"vhu0\", \"age\": 0}]");
	expect_out("fdb-show br0",
		"PORT  VLAN  MAC                AGE\n"
		"vhu0     0  02:00:00:00:00:0a    0\n"
		"p0       0  02:00:00:00:00:0b  120\n"
		"p1      10  02:00:00:00:00:09    3\n");
	set_result("fdb.show", "[]");
	expect_out("fdb-show br0", "PORT  VLAN  MAC  AGE\n");
	set_result("fdb.stats",
		"{\"entries\": 3, \"capacity\": 8192, \"aging\": 300, \"learned\": 12,"
		" \"moved\": 1, \"full_drops\": 0, \"aged\": 9}");
	expect_out("fdb-stats br0",
		"aged:           9\n"
		"aging:        300\n"
		"capacity:    8192\n"
		"entries:        3\n"
		"full_drops:     0\n"
		"learned:       12\n"
		"moved:          1\n");

	set_result("pmd.stats",
		"[{\"worker\": 0, \"core\": 2, \"numa\": 0, \"packets\": 1000000,"
		" \"busy_cycles\": 250, \"idle_cycles\": 750, \"cycles_per_packet\": 212.46,"
		" \"avg_rx_batch\": 17.0, \"iterations\": 99},"
		" {\"worker\": 1, \"core\": 12, \"numa\": 1, \"packets\": 0, \"busy_cycles\": 0,"
		" \"idle_cycles\": 0, \"cycles_per_packet\": 0, \"avg_rx_batch\": 0,"
		" \"iterations\": 5}]");
	expect_out("pmd-stats",
		"WORKER  CORE  NUMA  PACKETS  BUSY%  CYCLES/PKT  AVG_BATCH  ITERATIONS\n"
		"     0     2     0  1000000   25.0       212.5       17.0          99\n"
		"     1    12     1        0      -           0          0           5\n");
	set_result("pmd.rxq",
		"[{\"worker\": 0, \"core\": 2, \"rxqs\": [{\"port\": \"p0\", \"queue\": 0,"
		" \"busy_pct\": 40.25, \"pinned\": false}, {\"port\": \"vhu0\", \"queue\": 1,"
		" \"busy_pct\": 3, \"pinned\": true}]},"
		" {\"worker\": 1, \"core\": 3, \"rxqs\": []}]");
	expect_out("pmd-rxq-show",
		"WORKER  CORE  PORT  QUEUE  BUSY%  PINNED\n"
		"     0     2  p0        0   40.2  no\n"
		"     0     2  vhu0      1      3  yes\n"
		"     1     3  -\n");
	set_result("pmd.rebalance", "{\"moved\": 3}");
	expect_out("pmd-rebalance", "3 rx queues moved\n");
	set_result("pmd.rebalance", "{\"moved\": 1}");
	expect_out("pmd-rebalance", "1 rx queue moved\n");

	// The daemon's shape: scalars in its order, then one row per NUMA node.
	set_result("memory.show",
		"{\"iova_mode\": \"va\", \"page_size\": 2097152, \"hugepages\": true,"
		" \"nodes\": [{\"node\": 0, \"bytes\": 268435456, \"budget\": 1073741824,"
		" \"hugepages_free\": 200, \"fallback_bytes\": 0}, {\"node\": 1, \"bytes\": 4096,"
		" \"budget\": 0, \"hugepages_free\": 512, \"fallback_bytes\": 4096}],"
		" \"segments\": 3}");
	expect_out("memory-show",
		"iova_mode:  va\n"
		"page_size:  2.0 MiB\n"
		"hugepages:  true\n"
		"segments:   3\n"
		"\n"
		"NODE      BYTES   BUDGET  HUGEPAGES_FREE  FALLBACK\n"
		"   0  256.0 MiB  1.0 GiB             200       0 B\n"
		"   1    4.0 KiB     none             512   4.0 KiB\n");
	set_result("mempool.list",
		"[{\"name\": \"pool-n0\", \"n\": 16384, \"elt_size\": 2304,"
		" \"cache_size\": 256, \"numa_node\": 0, \"in_use\": 1200, \"alloc_fail\": 0}]");
	expect_out("mempool-list",
		"NAME         N  ELT_SIZE  CACHE  NUMA  IN_USE  ALLOC_FAIL\n"
		"pool-n0  16384      2304    256     0    1200           0\n");
	set_result("config.reload",
		"{\"changes\": [\"bridge br0: added port p2\", \"log level: debug\"]}");
	expect_out("reload", "bridge br0: added port p2\nlog level: debug\n");
	set_result("config.reload", "{\"changes\": []}");
	expect_out("reload", "configuration unchanged\n");
	set_result("daemon.version",
		"{\"version\": \"0.2.0\", \"api\": {\"major\": 1, \"minor\": 1}}");
	expect_out("version",
		"vsctl (vswitch) " VSWITCH_VERSION ", RPC API 1.0\n"
		"vswitchd 0.2.0, RPC API 1.1\n");
	expect_out("log-level info", "");
}
END_TEST

START_TEST(test_error_rendering)
{
	struct run r;

	set_error("port.set", RPC_E_INVALID_PARAMS, "port p0: mtu 100000 out of range (68..9600)",
		"mtu");
	r = run("set port p0 mtu=100000");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_FAILED);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(
		r.err, "vsctl: port p0: mtu 100000 out of range (68..9600) (field: mtu)\n");
	run_free(&r);

	set_error("bridge.del", RPC_E_NOT_FOUND, "no bridge named br9", NULL);
	r = run("del-br br9");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "vsctl: no bridge named br9\n");
	run_free(&r);

	// Control characters in a daemon message never reach the terminal.
	set_error("port.del", RPC_E_NOT_FOUND, "no port named \x1b[2Jx", NULL);
	r = run("del-port x");
	ck_assert_str_eq(r.err, "vsctl: no port named ?[2Jx\n");
	run_free(&r);

	set_error("pmd.rebalance", RPC_E_METHOD_NOT_FOUND, "unknown method 'pmd.rebalance'",
		"method");
	r = run("pmd-rebalance");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err,
		"vsctl: unknown method 'pmd.rebalance'; is vswitchd older than "
		"vsctl? compare `vsctl version` (field: method)\n");
	run_free(&r);
	// With `rpc` the user named the method: no guess about versions.
	r = run("rpc pmd.rebalance");
	ck_assert_int_eq(r.rc, 1);
	ck_assert_str_eq(r.err, "vsctl: unknown method 'pmd.rebalance' (field: method)\n");
	run_free(&r);

	// A result of the wrong shape: exit 6, no partial output.
	set_result("bridge.list", "{\"oops\": 1}");
	r = run("show");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
		"vsctl: malformed response from vswitchd to bridge.list: the result "
		"is not an array\n");
	run_free(&r);

	// An entry that is not a bridge object: said so, not mistaken for something else.
	set_result("bridge.list", "[1, {\"name\": \"br0\"}]");
	set_result("port.list", "[]");
	r = run("show");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err,
		"vsctl: malformed response from vswitchd to bridge.list: an entry "
		"has no name\n");
	run_free(&r);
	set_result("bridge.list", "[{\"name\": \"br0\"}, {\"name\": 5}]");
	r = run("list-br");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(r.err,
		"vsctl: malformed response from vswitchd to bridge.list: an entry "
		"has no name\n");
	run_free(&r);
	// Odd but harmless values are shown as they are: ports that are not objects are skipped,
	// a port name that is not a string is ignored, unknown link values printed verbatim.
	set_result("bridge.list", "[{\"name\": \"br0\", \"ports\": [7, \"q\", \"r\"]}]");
	set_result("port.list",
		"[5, {\"name\": \"q\", \"type\": 7, \"link\": \"weird\", "
		"\"n_rxq\": \"2\", \"n_txq\": 1}]");
	expect_out("show",
		"Bridge br0\n"
		"    Port q\n"
		"        type: 7\n"
		"        link: weird\n"
		"    Port r\n");

	// A newer daemon API: the versions are printed, with a warning, exit 0.
	set_result(
		"daemon.version", "{\"version\": \"2.0\", \"api\": {\"major\": 2, \"minor\": 0}}");
	r = run("version");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "vswitchd 2.0, RPC API 2.0\n"));
	ck_assert_ptr_nonnull(strstr(r.err, "vsctl: warning: vswitchd speaks RPC API 2.x"));
	run_free(&r);
}
END_TEST

START_TEST(test_parse_response)
{
	struct vsctl_error e;
	json_t *res;
	static const char *const bad[] = {
		"",
		"hello",
		"[]",
		"{\"jsonrpc\": \"1.0\", \"id\": 1, \"result\": 1}",
		"{\"id\": 1, \"result\": 1}",
		"{\"jsonrpc\": \"2.0\", \"id\": 2, \"result\": 1}",
		"{\"jsonrpc\": \"2.0\", \"id\": null, \"result\": 1}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": 1, \"error\": {}}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"error\": {\"message\": \"x\"}}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"error\": {\"code\": 1}}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"error\": \"boom\"}",
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"result\": 1, \"result\": 2}",
		"{\"jsonrpc\": \"2.0\", \"id\": \"1\", \"result\": 1}",
	};
	const char *line;

	for (size_t i = 0; i < VSCTL_ARRAY_SIZE(bad); i++) {
		memset(&e, 0, sizeof(e));
		ck_assert_msg(
			client_parse_response(bad[i], strlen(bad[i]), 1, "m", &res, &e) == -EPROTO,
			"accepted: %s", bad[i]);
		ck_assert_ptr_null(res);
		ck_assert_int_eq(e.exit, VSCTL_EXIT_PROTOCOL);
		ck_assert_ptr_nonnull(strstr(e.msg, "malformed response from vswitchd to m"));
	}
	line = "{\"jsonrpc\": \"2.0\", \"id\": 7, \"result\": {\"a\": [1]}}";
	ck_assert_int_eq(client_parse_response(line, strlen(line), 7, "m", &res, &e), 0);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(res, "a"), 0)), 1);
	json_decref(res);
	line = "{\"jsonrpc\": \"2.0\", \"id\": 7, \"result\": null}";
	ck_assert_int_eq(client_parse_response(line, strlen(line), 7, "m", &res, &e), 0);
	ck_assert(json_is_null(res));
	line = "{\"jsonrpc\": \"2.0\", \"id\": 3, \"error\": {\"code\": -32002, \"message\": "
	       "\"bridge br0 exists\", \"data\": {\"field\": \"name\", \"errno\": \"EEXIST\"}}}";
	ck_assert_int_eq(client_parse_response(line, strlen(line), 3, "m", &res, &e), -EREMOTEIO);
	ck_assert_int_eq(e.exit, VSCTL_EXIT_FAILED);
	ck_assert_int_eq(e.rpc_code, RPC_E_EXISTS);
	ck_assert_str_eq(e.msg, "bridge br0 exists");
	ck_assert_str_eq(e.field, "name");
	// A null id is accepted on errors (the server could not read ours).
	line = "{\"jsonrpc\": \"2.0\", \"id\": null, "
	       "\"error\": {\"code\": -32700, \"message\": \"p\"}}";
	ck_assert_int_eq(client_parse_response(line, strlen(line), 3, "m", &res, &e), -EREMOTEIO);
	ck_assert_int_eq(e.rpc_code, RPC_E_PARSE);
	ck_assert_str_eq(e.field, "");
}
END_TEST

// ---- real round trips against a fake vswitchd thread ----

enum srv_mode {
	SRV_ANSWER, // answer every request, response written a few bytes at a time
	SRV_SLOW_READER, // read the request 4 KiB at a time, slowly; answer its length
	SRV_SILENT, // read the request, never answer
	SRV_CLOSE, // read the request, close
	SRV_GARBAGE, // answer "hello"
	SRV_HALF, // answer half a response, close
	SRV_TOO_MANY, // greet with an id-null error (like a full server) and close
};

struct srv {
	char dir[64];
	char path[128];
	int lfd;
	enum srv_mode mode;
	pthread_t thread;
	// Observations, read after join.
	int n_requests;
	json_t *requests; // the parsed request objects
	bool framing_ok; // every request was exactly one JSON object ending with '\n'
	size_t last_len; // bytes of the last request line
};

// Reads one line (without '\n') into a malloc'ed buffer; NULL on EOF/timeout/error.
static char *srv_read_line(int fd, size_t chunk, unsigned delay_us, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		if (n + chunk + 1 > cap) {
			cap = (n + chunk + 1) * 2;
			buf = realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, chunk);
		if (r <= 0)
			break;
		n += (size_t)r;
		char *nl = memchr(buf, '\n', n);
		if (nl != NULL) {
			// The client sends one request and waits: nothing may follow the newline.
			ck_assert_ptr_eq(nl, buf + n - 1);
			*len = n - 1;
			buf[n - 1] = '\0';
			return buf;
		}
		if (delay_us)
			usleep(delay_us);
	}
	free(buf);
	return NULL;
}

static void srv_write(int fd, const char *s, size_t len, size_t chunk)
{
	for (size_t off = 0; off < len;) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = send(fd, s + off, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		off += (size_t)w;
		if (chunk < len)
			usleep(200);
	}
}

static const char *srv_answer(const char *method)
{
	if (strcmp(method, "bridge.list") == 0)
		return "[{\"name\": \"br0\", \"options\": {}, \"ports\": [\"p0\"]}]";
	if (strcmp(method, "port.list") == 0)
		return "[{\"name\": \"p0\", \"bridge\": \"br0\", \"type\": \"null\", "
		       "\"state\": \"up\"}]";
	return "null";
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
	size_t len;
	char *line;
	int fd;

	if (poll(&pfd, 1, 5000) <= 0 || (fd = accept(s->lfd, NULL, NULL)) < 0)
		return NULL;
	if (s->mode == SRV_TOO_MANY) {
		const char *m =
			"{\"jsonrpc\": \"2.0\", \"id\": null, \"error\": {\"code\": -32007, "
			"\"message\": \"too many clients (64), try again later\"}}\n";
		srv_write(fd, m, strlen(m), 4096);
		close(fd);
		return NULL;
	}
	s->framing_ok = true;
	for (;;) {
		bool slow = s->mode == SRV_SLOW_READER;
		if ((line = srv_read_line(fd, slow ? 4096 : 65536, slow ? 300 : 0, &len)) == NULL)
			break;
		json_t *req = json_loadb(line, len, 0, NULL);
		json_t *id = json_object_get(req, "id");
		const char *method = vsctl_get_str(req, "method");
		if (req == NULL || strlen(line) != len || method == NULL || !json_is_integer(id) ||
			!json_is_object(json_object_get(req, "params")) ||
			strcmp(vsctl_get_str(req, "jsonrpc") ?: "", "2.0") != 0)
			s->framing_ok = false;
		s->n_requests++;
		s->last_len = len;
		if (req != NULL)
			json_array_append_new(s->requests, req);
		free(line);
		if (s->mode == SRV_SILENT) {
			// Wait for the client to give up and hang up.
			char c;
			poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 5000);
			(void)!read(fd, &c, 1);
			break;
		}
		if (s->mode == SRV_CLOSE)
			break;
		if (s->mode == SRV_GARBAGE) {
			srv_write(fd, "hello\n", 6, 6);
			continue;
		}
		if (s->mode == SRV_HALF) {
			srv_write(fd, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"res", 32, 32);
			break;
		}
		char *resp;
		if (s->mode == SRV_SLOW_READER)
			(void)!asprintf(&resp,
				"{\"jsonrpc\": \"2.0\", \"id\": %" JSON_INTEGER_FORMAT
				", \"result\": {\"len\": %zu}}\n",
				json_integer_value(id), len);
		else
			(void)!asprintf(&resp,
				"{\"jsonrpc\": \"2.0\", \"id\": %" JSON_INTEGER_FORMAT
				", \"result\": %s}\n",
				json_integer_value(id), srv_answer(method ?: ""));
		// A few bytes per write: the client must reassemble the line.
		srv_write(fd, resp, strlen(resp), s->mode == SRV_ANSWER ? 7 : 65536);
		free(resp);
	}
	close(fd);
	return NULL;
}

static int make_listener(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/vsctl-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/vswitchd.sock", s->dir);
	s->lfd = make_listener(s->path);
	s->mode = mode;
	s->requests = json_array();
	ck_assert_int_eq(pthread_create(&s->thread, NULL, srv_main, s), 0);
}

// Joins the server and removes its socket; s->requests stays for the caller (srv_free).
static void srv_stop(struct srv *s)
{
	pthread_join(s->thread, NULL);
	close(s->lfd);
	unlink(s->path);
	rmdir(s->dir);
}

static void srv_free(struct srv *s)
{
	json_decref(s->requests);
	s->requests = NULL;
}

static struct run run_socket(const struct srv *s, const char *fmt)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "--socket %s %s", s->path, fmt);
	return run_tp(cmd, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(test_roundtrip)
{
	struct srv s;
	struct run r;
	json_t *params;

	// show = two requests on one connection, responses trickling in 7 bytes at a time.
	srv_start(&s, SRV_ANSWER);
	r = run_socket(&s, "show");
	srv_stop(&s);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	ck_assert_str_eq(r.out, "Bridge br0\n    Port p0\n        type: null\n        state: up\n");
	ck_assert(s.framing_ok);
	ck_assert_int_eq(s.n_requests, 2);
	ck_assert_str_eq(vsctl_get_str(json_array_get(s.requests, 0), "method"), "bridge.list");
	ck_assert_str_eq(vsctl_get_str(json_array_get(s.requests, 1), "method"), "port.list");
	// Ids are distinct on a connection.
	ck_assert_int_ne(json_integer_value(json_object_get(json_array_get(s.requests, 0), "id")),
		json_integer_value(json_object_get(json_array_get(s.requests, 1), "id")));
	srv_free(&s);
	run_free(&r);

	// Params travel as given; a newline inside a value does not split the request line.
	srv_start(&s, SRV_ANSWER);
	r = run_socket(&s, "add-port br0 p0 type=null 'desc=a \"quoted\"\nline'");
	srv_stop(&s);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	ck_assert(s.framing_ok);
	ck_assert_int_eq(s.n_requests, 1);
	params = json_object_get(json_array_get(s.requests, 0), "params");
	ck_assert_str_eq(vsctl_get_str(params, "bridge"), "br0");
	ck_assert_str_eq(vsctl_get_str(params, "type"), "null");
	ck_assert_str_eq(
		vsctl_get_str(json_object_get(params, "options"), "desc"), "a \"quoted\"\nline");
	srv_free(&s);
	run_free(&r);
}
END_TEST

// `vsctl --socket PATH rpc test.echo '{"blob": "xxx...x"}'` with a blob of n bytes (argv built
// directly: wordexp() is quadratic on such a line).
static struct run run_blob(const char *path, size_t n)
{
	char *json = malloc(n + 32), *p;
	struct run r;

	p = json + sprintf(json, "{\"blob\": \"");
	memset(p, 'x', n);
	strcpy(p + n, "\"}");
	char *argv[] = {"vsctl", "--socket", (char *)path, "rpc", "test.echo", json, NULL};
	r = run_argv(6, argv, NULL);
	free(json);
	return r;
}

START_TEST(test_partial_writes)
{
	// 600 KiB of params: more than the socket buffers, read slowly by the server, so the
	// client's send() makes partial progress / gets EAGAIN and has to wait and resume.
	size_t blob_len = 600 * 1024;
	char expect[64];
	struct srv s;
	struct run r;

	srv_start(&s, SRV_SLOW_READER);
	r = run_blob(s.path, blob_len);
	srv_stop(&s);
	ck_assert_msg(r.rc == 0, "rc %d: %s", r.rc, r.err);
	ck_assert(s.framing_ok);
	json_t *params = json_object_get(json_array_get(s.requests, 0), "params");
	ck_assert_uint_eq(strlen(vsctl_get_str(params, "blob")), blob_len);
	// The server answers with the length it received: the whole line arrived.
	ck_assert_uint_gt(s.last_len, blob_len);
	snprintf(expect, sizeof(expect), "{\n  \"len\": %zu\n}\n", s.last_len);
	ck_assert_str_eq(r.out, expect);
	srv_free(&s);
	run_free(&r);

	// A request larger than RPC_MAX_REQUEST is refused before sending (exit 2).
	srv_start(&s, SRV_CLOSE);
	r = run_blob(s.path, RPC_MAX_REQUEST + 10);
	srv_stop(&s);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "more than vswitchd accepts (1048576)"));
	ck_assert_int_eq(s.n_requests, 0); // connected, but nothing was sent
	srv_free(&s);
	run_free(&r);
}
END_TEST

START_TEST(test_timeout)
{
	struct srv s;
	struct run r;
	double t0;

	srv_start(&s, SRV_SILENT);
	t0 = now_s();
	r = run_socket(&s, "--timeout 0.3 list-br");
	double took = now_s() - t0;
	ck_assert_int_eq(r.rc, VSCTL_EXIT_TIMEOUT);
	ck_assert_str_eq(r.err,
		"vsctl: timed out after 0.3 s waiting for vswitchd to answer "
		"bridge.list (use --timeout to wait longer, 0 waits forever)\n");
	ck_assert_msg(took >= 0.28 && took < 2.0, "took %.3f s", took);
	srv_stop(&s);
	ck_assert_int_eq(s.n_requests, 1);
	srv_free(&s);
	run_free(&r);
}
END_TEST

START_TEST(test_connect_timeout)
{
	// A listener that never accepts, with its backlog full: connect() itself must time out.
	char dir[] = "/tmp/vsctl-test-XXXXXX", path[128], cmd[256];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, fds[64], n = 0;
	struct run r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	for (; n < 64; n++) {
		fds[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			close(fds[n]);
			break;
		}
	}
	ck_assert_int_lt(n, 64);
	snprintf(cmd, sizeof(cmd), "--socket %s -t 0.2 list-br", path);
	double t0 = now_s();
	r = run_tp(cmd, NULL);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_TIMEOUT);
	ck_assert_ptr_nonnull(
		strstr(r.err, "vsctl: timed out after 0.2 s connecting to vswitchd at"));
	ck_assert(now_s() - t0 < 2.0);
	run_free(&r);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(lfd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_bad_servers)
{
	struct srv s;
	struct run r;

	srv_start(&s, SRV_CLOSE);
	r = run_socket(&s, "list-br");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(r.err,
		"vsctl: vswitchd closed the connection without answering bridge.list "
		"(did it stop or crash? see `journalctl -u vswitchd`)\n");
	srv_stop(&s);
	srv_free(&s);
	run_free(&r);

	srv_start(&s, SRV_GARBAGE);
	r = run_socket(&s, "list-br");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_ptr_nonnull(strstr(r.err,
		"vsctl: malformed response from vswitchd to bridge.list: "
		"invalid JSON"));
	srv_stop(&s);
	srv_free(&s);
	run_free(&r);

	srv_start(&s, SRV_HALF);
	r = run_socket(&s, "list-br");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(r.err,
		"vsctl: vswitchd closed the connection in the middle of its answer "
		"to bridge.list (32 bytes received, no end of line)\n");
	srv_stop(&s);
	srv_free(&s);
	run_free(&r);

	// After a malformed answer the client drops the connection: its next call connects anew
	// (here: to a socket that is gone, so "not running" rather than an error on the old one).
	srv_start(&s, SRV_GARBAGE);
	struct client *c = client_create(s.path, 5);
	struct vsctl_error e = {0};
	json_t *params = json_object(), *res = NULL;
	ck_assert_int_eq(client_call(c, "bridge.list", params, &res, &e), -EPROTO);
	ck_assert_int_eq(e.exit, VSCTL_EXIT_PROTOCOL);
	srv_stop(&s); // returns at once: the client hung up
	ck_assert_int_eq(client_call(c, "bridge.list", params, &res, &e), -ENOENT);
	ck_assert_int_eq(e.exit, VSCTL_EXIT_NOT_RUNNING);
	ck_assert_ptr_null(res);
	json_decref(params);
	client_destroy(c);
	srv_free(&s);

	// The daemon refused the connection with an error before reading anything.
	srv_start(&s, SRV_TOO_MANY);
	r = run_socket(&s, "list-br");
	ck_assert_int_eq(r.rc, VSCTL_EXIT_FAILED);
	ck_assert_str_eq(r.err, "vsctl: too many clients (64), try again later\n");
	srv_stop(&s);
	srv_free(&s);
	run_free(&r);
}
END_TEST

START_TEST(test_not_running)
{
	char dir[] = "/tmp/vsctl-test-XXXXXX", path[128], cmd[256], expect[512];
	struct run r;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vswitchd.sock", dir);
	snprintf(expect, sizeof(expect),
		"vsctl: cannot connect to vswitchd at %s: No such file or directory. Is vswitchd "
		"running? Start it with `systemctl start vswitchd` (or run vswitchd in the "
		"foreground).\n",
		path);
	snprintf(cmd, sizeof(cmd), "--socket %s show", path);
	r = run_tp(cmd, NULL);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_NOT_RUNNING);
	ck_assert_str_eq(r.err, expect);
	ck_assert_str_eq(r.out, "");
	run_free(&r);

	// $VSWITCH_SOCKET is used, --socket wins over it.
	setenv("VSWITCH_SOCKET", path, 1);
	r = run_tp("list-br", NULL);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_NOT_RUNNING);
	ck_assert_str_eq(r.err, expect);
	run_free(&r);
	r = run_tp("--socket /nonexistent-vsctl/x.sock list-br", NULL);
	ck_assert_ptr_nonnull(strstr(r.err, "at /nonexistent-vsctl/x.sock: No such file"));
	run_free(&r);
	unsetenv("VSWITCH_SOCKET");

	// A stale socket file (daemon died): connection refused, same hint.
	fd = make_listener(path);
	close(fd);
	r = run_tp(cmd, NULL);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_NOT_RUNNING);
	ck_assert_ptr_nonnull(strstr(r.err, ": Connection refused. Is vswitchd running? Start it"));
	run_free(&r);
	unlink(path);

	// A path that cannot be a UNIX socket address.
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(cmd, sizeof(cmd), "--socket %s show", longpath);
	r = run_tp(cmd, NULL);
	ck_assert_int_eq(r.rc, VSCTL_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(r.err, "is empty or too long (at most 107 bytes)"));
	run_free(&r);
	rmdir(dir);

	// The message function itself, for an errno the connect above cannot produce here.
	struct vsctl_error e;
	client_connect_error(&e, "/x", ENOTDIR);
	ck_assert_int_eq(e.exit, VSCTL_EXIT_NOT_RUNNING);
	client_connect_error(&e, "/x", EIO);
	ck_assert_int_eq(e.exit, VSCTL_EXIT_PROTOCOL);
	ck_assert_str_eq(e.msg, "cannot connect to vswitchd at /x: Input/output error");
}
END_TEST

// Runs `vsctl --socket path list-br` as an unprivileged user in a child; returns its exit code
// and stderr (through a pipe).
static int run_unprivileged(const char *path, char *err, size_t size)
{
	int pfd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char cmd[256];
		close(pfd[0]);
		if (geteuid() == 0 &&
			(setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(100);
		snprintf(cmd, sizeof(cmd), "--socket %s list-br", path);
		struct run r = run_tp(cmd, NULL);
		(void)!write(pfd[1], r.err, strlen(r.err));
		_exit(r.rc);
	}
	close(pfd[1]);
	ssize_t n = 0, k;
	while ((k = read(pfd[0], err + n, size - 1 - (size_t)n)) > 0)
		n += k;
	err[n] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_permission_denied)
{
	char dir[] = "/tmp/vsctl-test-XXXXXX", path[128], err[2048], owner[64], group[64];
	struct passwd *pw;
	struct group *gr;
	int lfd, rc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/vswitchd.sock", dir);
	lfd = make_listener(path);
	pw = getpwuid(geteuid());
	gr = getgrgid(getegid());
	snprintf(owner, sizeof(owner), "%s", pw ? pw->pw_name : "?");
	snprintf(group, sizeof(group), "%s", gr ? gr->gr_name : "?");

	// As root the child drops to nobody; otherwise mode 0 denies even the owner.
	ck_assert_int_eq(chmod(path, geteuid() == 0 ? 0600 : 0), 0);
	rc = run_unprivileged(path, err, sizeof(err));
	ck_assert_msg(rc == VSCTL_EXIT_PERMISSION, "rc %d: %s", rc, err);
	char expect[1024];
	snprintf(expect, sizeof(expect),
		"vsctl: cannot connect to vswitchd at %s: Permission denied (socket owner %s, "
		"group %s, mode %04o). Only %s may use it: run vsctl as root (sudo vsctl ...), or "
		"let a group in with daemon: socket-group and socket-mode in vswitchd.yaml.\n",
		path, owner, group, geteuid() == 0 ? 0600 : 0, owner);
	ck_assert_str_eq(err, expect);

	if (geteuid() == 0) {
		// Group-writable: the message names the group to join.
		ck_assert_int_eq(chmod(path, 0660), 0);
		rc = run_unprivileged(path, err, sizeof(err));
		ck_assert_int_eq(rc, VSCTL_EXIT_PERMISSION);
		snprintf(expect, sizeof(expect),
			"Run vsctl as root (sudo vsctl ...) or as a member "
			"of group '%s'.\n",
			group);
		ck_assert_msg(strstr(err, expect) != NULL, "%s", err);
		// A directory nobody may enter: the socket cannot even be looked at.
		ck_assert_int_eq(chmod(dir, 0700), 0);
		rc = run_unprivileged(path, err, sizeof(err));
		ck_assert_int_eq(rc, VSCTL_EXIT_PERMISSION);
		ck_assert_msg(strstr(err,
				      "Permission denied. Its directory is not accessible to you: "
				      "run vsctl as root") != NULL,
			"%s", err);
	}
	close(lfd);
	unlink(path);
	rmdir(dir);
}
END_TEST

static Suite *vsctl_output_suite(void)
{
	Suite *s = suite_create("vsctl_output");
	TCase *fmt = tcase_create("format");
	TCase *io = tcase_create("transport");

	tcase_add_checked_fixture(fmt, fixtures_setup, fixtures_teardown);
	tcase_add_test(fmt, test_table_layout);
	tcase_add_test(fmt, test_values);
	tcase_add_test(fmt, test_table_from_array);
	tcase_add_test(fmt, test_show);
	tcase_add_test(fmt, test_json_stable);
	tcase_add_test(fmt, test_stats_output);
	tcase_add_test(fmt, test_other_output);
	tcase_add_test(fmt, test_error_rendering);
	tcase_add_test(fmt, test_parse_response);
	suite_add_tcase(s, fmt);
	tcase_add_test(io, test_roundtrip);
	tcase_add_test(io, test_partial_writes);
	tcase_add_test(io, test_timeout);
	tcase_add_test(io, test_connect_timeout);
	tcase_add_test(io, test_bad_servers);
	tcase_add_test(io, test_not_running);
	tcase_add_test(io, test_permission_denied);
	tcase_set_timeout(io, 20);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vsctl_output_suite());
	int failed;

	unsetenv("VSWITCH_SOCKET");
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
