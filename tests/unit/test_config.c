// SPDX-License-Identifier: Apache-2.0
// Unit tests for control/config.c: defaults, a full file parsed into every field, CPU lists and
// sizes, and every kind of invalid input with its exact "FILE:LINE:COL: key: message".
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/config.h"
#include "control/rpc_proto.h"

static int load(const char *yaml, struct config *cfg, struct err *err)
{
	err_clear(err);
	return config_load_buf(yaml, strlen(yaml), "t.yaml", cfg, err);
}

// The CPUs this process may use, computed independently of the loader.
static int usable_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int i = 0; i < CPU_SETSIZE && n < max; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	return n;
}

static const char *usable_desc(void)
{
	static char buf[128];
	int cpus[CPU_SETSIZE], n = usable_cpus(cpus, CPU_SETSIZE);
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int j = i;

		while (j + 1 < n && cpus[j + 1] == cpus[j] + 1)
			j++;
		if (j == i)
			o += (size_t)snprintf(
				buf + o, sizeof(buf) - o, "%s%d", o ? "," : "", cpus[i]);
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d-%d", o ? "," : "",
				cpus[i], cpus[j]);
		i = j;
	}
	return buf;
}

// Loads yaml, expects failure with exactly msg and field.
static void expect_error(const char *yaml, const char *msg, const char *field)
{
	struct config cfg;
	struct err err;
	int ret = load(yaml, &cfg, &err);

	ck_assert_msg(
		ret == -EINVAL, "expected -EINVAL for <<%s>>, got %d (%s)", yaml, ret, err.msg);
	ck_assert_str_eq(err.msg, msg);
	ck_assert_str_eq(err.field, field);
	// Nothing is left allocated after a failure; freeing again is harmless.
	ck_assert_ptr_null(cfg.socket_path);
	ck_assert_ptr_null(cfg.bridges);
	config_free(&cfg);
}

static void check_defaults(const struct config *cfg)
{
	int cpus[CPU_SETSIZE], n = usable_cpus(cpus, CPU_SETSIZE);

	ck_assert_str_eq(cfg->socket_path, RPC_SOCKET_DEFAULT);
	ck_assert_ptr_null(cfg->socket_group);
	ck_assert_uint_eq(cfg->socket_mode, 0660);
	ck_assert_int_eq(cfg->log_level, LOG_LVL_INFO);
	ck_assert_str_eq(cfg->state_dir, "/var/lib/vswitch");
	ck_assert_uint_eq(cfg->watchdog_sec, 0);
	ck_assert_uint_eq(cfg->rpc_max_clients, 64);
	ck_assert_uint_eq(cfg->rpc_idle_timeout_s, 300);
	ck_assert_uint_eq(cfg->dp.n_workers, 1);
	ck_assert_int_eq(cfg->dp.worker_cores[0], n > 1 ? cpus[n - 1] : cpus[0]);
	ck_assert_int_eq(cfg->dp.worker_cores[1], -1);
	ck_assert_int_eq(cfg->dp.control_core, -1);
	ck_assert_uint_eq(cfg->dp.idle_sleep_us, 0);
	ck_assert_int_eq(cfg->dp.rxq_assign, DP_RXQ_CYCLES);
	ck_assert_uint_eq(cfg->dp.rebalance_interval_s, 0);
	ck_assert_uint_eq(cfg->dp.n_pkts, 16384);
	ck_assert_uint_eq(cfg->dp.max_mtu, 1500);
	ck_assert_uint_eq(cfg->dp.pkt_cache, 256);
	ck_assert_int_eq(cfg->mem.iova_mode, MEM_IOVA_AUTO);
	ck_assert_uint_eq(cfg->mem.page_size, 0);
	for (unsigned i = 0; i < MEM_MAX_NUMA; i++)
		ck_assert_uint_eq(cfg->mem.budget[i], 0);
	ck_assert(!cfg->mem.require_hugepages);
	ck_assert_uint_eq(cfg->n_bridges, 0);
	ck_assert_ptr_null(cfg->bridges);
}

START_TEST(test_defaults)
{
	static const char *const empty[] = {
		"",
		"\n",
		"# only a comment\n",
		"---\n",
		"~\n",
		"---\n...\n",
		"daemon:\ncpu:\nmemory:\nbridges:\n",
		"daemon: {}\nbridges: []\n",
	};
	struct config cfg;
	struct err err;

	config_init_defaults(&cfg);
	check_defaults(&cfg);
	config_free(&cfg);
	ck_assert_ptr_null(cfg.socket_path);
	config_free(&cfg); // twice is harmless

	for (unsigned i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		ck_assert_msg(load(empty[i], &cfg, &err) == 0, "<<%s>>: %s", empty[i], err.msg);
		check_defaults(&cfg);
		ck_assert_str_eq(cfg.source, "t.yaml");
		config_free(&cfg);
	}
}
END_TEST

START_TEST(test_full)
{
	int cpus[CPU_SETSIZE], n = usable_cpus(cpus, CPU_SETSIZE);
	int worker = cpus[n - 1], control = n > 1 ? cpus[0] : -1;
	struct config cfg;
	struct err err;
	char yaml[4096];

	snprintf(yaml, sizeof(yaml),
		"# full configuration\n"
		"daemon:\n"
		"  socket: /run/vs-test/sock\n"
		"  socket-group: root\n"
		"  socket-mode: \"0640\"\n"
		"  log-level: debug\n"
		"  state-dir: /tmp/vs-state\n"
		"  watchdog-sec: 20\n"
		"  rpc-max-clients: 8\n"
		"  rpc-idle-timeout: 60\n"
		"cpu:\n"
		"  worker-cores: [%d]\n"
		"  control-core: %d\n"
		"  idle-sleep-us: 100\n"
		"  rxq-assign: roundrobin\n"
		"  rebalance-interval: 30\n"
		"memory:\n"
		"  iova-mode: pa\n"
		"  page-size: 1G\n"
		"  hugepage-budget: {\"0\": 512M, \"1\": 1G}\n"
		"  require-hugepages: true\n"
		"  packet-buffers: 32768\n"
		"  max-mtu: 9000\n"
		"  buffer-cache: 128\n"
		"bridges:\n"
		"  - name: br0\n"
		"    options: {mac-table-size: 8192, mac-aging: 300}\n"
		"    ports:\n"
		"      - name: p1\n"
		"        type: af_packet\n"
		"        options: {iface: veth1, tag: 10}\n"
		"      - {name: p2, type: null}\n"
		"  - name: br1\n"
		"    ports:\n"
		"      - name: vm1\n"
		"        type: vhost-user\n"
		"        options:\n"
		"          enabled: yes\n"
		"          trunks: \"10,20\"\n",
		worker, control);
	ck_assert_msg(load(yaml, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(cfg.socket_path, "/run/vs-test/sock");
	ck_assert_str_eq(cfg.socket_group, "root");
	ck_assert_uint_eq(cfg.socket_mode, 0640);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_DEBUG);
	ck_assert_str_eq(cfg.state_dir, "/tmp/vs-state");
	ck_assert_uint_eq(cfg.watchdog_sec, 20);
	ck_assert_uint_eq(cfg.rpc_max_clients, 8);
	ck_assert_uint_eq(cfg.rpc_idle_timeout_s, 60);
	ck_assert_uint_eq(cfg.dp.n_workers, 1);
	ck_assert_int_eq(cfg.dp.worker_cores[0], worker);
	ck_assert_int_eq(cfg.dp.worker_cores[1], -1);
	ck_assert_int_eq(cfg.dp.control_core, control);
	ck_assert_uint_eq(cfg.dp.idle_sleep_us, 100);
	ck_assert_int_eq(cfg.dp.rxq_assign, DP_RXQ_ROUNDROBIN);
	ck_assert_uint_eq(cfg.dp.rebalance_interval_s, 30);
	ck_assert_int_eq(cfg.mem.iova_mode, MEM_IOVA_PA);
	ck_assert_uint_eq(cfg.mem.page_size, 1u << 30);
	ck_assert_uint_eq(cfg.mem.budget[0], 512u << 20);
	ck_assert_uint_eq(cfg.mem.budget[1], 1u << 30);
	ck_assert_uint_eq(cfg.mem.budget[2], 0);
	ck_assert(cfg.mem.require_hugepages);
	ck_assert_uint_eq(cfg.dp.n_pkts, 32768);
	ck_assert_uint_eq(cfg.dp.max_mtu, 9000);
	ck_assert_uint_eq(cfg.dp.pkt_cache, 128);

	ck_assert_uint_eq(cfg.n_bridges, 2);
	ck_assert_str_eq(cfg.bridges[0].name, "br0");
	ck_assert_uint_eq(cfg.bridges[0].line, 26);
	ck_assert_uint_eq(cfg.bridges[0].col, 5);
	ck_assert_uint_eq(cfg.bridges[0].n_opts, 2);
	ck_assert_str_eq(cfg.bridges[0].opts[0].key, "mac-table-size");
	ck_assert_str_eq(cfg.bridges[0].opts[0].value, "8192");
	ck_assert_str_eq(cfg.bridges[0].opts[1].key, "mac-aging");
	ck_assert_str_eq(cfg.bridges[0].opts[1].value, "300");
	ck_assert_uint_eq(cfg.bridges[0].n_ports, 2);
	ck_assert_str_eq(cfg.bridges[0].ports[0].name, "p1");
	ck_assert_str_eq(cfg.bridges[0].ports[0].type, "af_packet");
	ck_assert_uint_eq(cfg.bridges[0].ports[0].line, 29);
	ck_assert_uint_eq(cfg.bridges[0].ports[0].type_line, 30);
	ck_assert_uint_eq(cfg.bridges[0].ports[0].type_col, 15);
	ck_assert_uint_eq(cfg.bridges[0].ports[0].n_opts, 2);
	ck_assert_str_eq(cfg.bridges[0].ports[0].opts[0].key, "iface");
	ck_assert_str_eq(cfg.bridges[0].ports[0].opts[0].value, "veth1");
	ck_assert_str_eq(cfg.bridges[0].ports[0].opts[1].key, "tag");
	ck_assert_str_eq(cfg.bridges[0].ports[0].opts[1].value, "10");
	ck_assert_str_eq(cfg.bridges[0].ports[1].name, "p2");
	ck_assert_str_eq(cfg.bridges[0].ports[1].type, "null");
	ck_assert_uint_eq(cfg.bridges[0].ports[1].n_opts, 0);
	ck_assert_str_eq(cfg.bridges[1].name, "br1");
	ck_assert_uint_eq(cfg.bridges[1].n_opts, 0);
	ck_assert_uint_eq(cfg.bridges[1].n_ports, 1);
	ck_assert_str_eq(cfg.bridges[1].ports[0].type, "vhost-user");
	// Option values are kept as written.
	ck_assert_str_eq(cfg.bridges[1].ports[0].opts[0].value, "yes");
	ck_assert_str_eq(cfg.bridges[1].ports[0].opts[1].value, "10,20");
	config_free(&cfg);
	ck_assert_ptr_null(cfg.bridges);
}
END_TEST

START_TEST(test_value_forms)
{
	int cpus[CPU_SETSIZE], n = usable_cpus(cpus, CPU_SETSIZE);
	struct config cfg;
	struct err err;
	char yaml[512];

	// Octal socket modes with or without quotes or a leading 0; YAML booleans.
	ck_assert_int_eq(load("daemon: {socket-mode: 0660}\n", &cfg, &err), 0);
	ck_assert_uint_eq(cfg.socket_mode, 0660);
	config_free(&cfg);
	ck_assert_int_eq(load("daemon: {socket-mode: 600}\n", &cfg, &err), 0);
	ck_assert_uint_eq(cfg.socket_mode, 0600);
	config_free(&cfg);
	ck_assert_int_eq(load("daemon: {socket-mode: '0o640', log-level: WARN}\n", &cfg, &err), 0);
	ck_assert_uint_eq(cfg.socket_mode, 0640);
	ck_assert_int_eq(cfg.log_level, LOG_LVL_WARN);
	config_free(&cfg);
	ck_assert_int_eq(load("memory: {require-hugepages: off, page-size: 2M, iova-mode: VA}\n",
				 &cfg, &err),
		0);
	ck_assert(!cfg.mem.require_hugepages);
	ck_assert_uint_eq(cfg.mem.page_size, 2u << 20);
	ck_assert_int_eq(cfg.mem.iova_mode, MEM_IOVA_VA);
	config_free(&cfg);
	// A single budget applies to node 0.
	ck_assert_int_eq(load("memory: {hugepage-budget: 256M}\n", &cfg, &err), 0);
	ck_assert_uint_eq(cfg.mem.budget[0], 256u << 20);
	ck_assert_uint_eq(cfg.mem.budget[1], 0);
	config_free(&cfg);
	// Worker cores as a range string, a single number and a list.
	snprintf(yaml, sizeof(yaml), "cpu:\n  worker-cores: \"%d-%d\"\n", cpus[0], cpus[n - 1]);
	if (cpus[n - 1] - cpus[0] + 1 == n) { // contiguous set: the range is valid
		ck_assert_msg(load(yaml, &cfg, &err) == 0, "%s", err.msg);
		ck_assert_uint_eq(cfg.dp.n_workers, (unsigned)n);
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(cfg.dp.worker_cores[i], cpus[i]);
		config_free(&cfg);
	}
	snprintf(yaml, sizeof(yaml), "cpu:\n  worker-cores: %d\n  control-core: -1\n", cpus[0]);
	ck_assert_int_eq(load(yaml, &cfg, &err), 0);
	ck_assert_uint_eq(cfg.dp.n_workers, 1);
	ck_assert_int_eq(cfg.dp.worker_cores[0], cpus[0]);
	config_free(&cfg);
	snprintf(yaml, sizeof(yaml), "cpu:\n  worker-cores:\n    - %d\n", cpus[0]);
	ck_assert_int_eq(load(yaml, &cfg, &err), 0);
	ck_assert_int_eq(cfg.dp.worker_cores[0], cpus[0]);
	config_free(&cfg);
	// Loading over the result of a failed load, and err == NULL, are fine.
	ck_assert_int_eq(config_load_buf("cpu: 1", 6, NULL, &cfg, NULL), -EINVAL);
	config_free(&cfg);
}
END_TEST

START_TEST(test_cpu_list)
{
	int cpus[DP_MAX_WORKERS];
	unsigned n;

	ck_assert_int_eq(config_parse_cpu_list("1-3,5", cpus, DP_MAX_WORKERS, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(cpus[0], 1);
	ck_assert_int_eq(cpus[1], 2);
	ck_assert_int_eq(cpus[2], 3);
	ck_assert_int_eq(cpus[3], 5);
	ck_assert_int_eq(config_parse_cpu_list("7", cpus, DP_MAX_WORKERS, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(cpus[0], 7);
	ck_assert_int_eq(config_parse_cpu_list(" 2 , 0-1 ", cpus, DP_MAX_WORKERS, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(cpus[0], 2);
	ck_assert_int_eq(cpus[2], 1);
	ck_assert_int_eq(config_parse_cpu_list("4-4", cpus, DP_MAX_WORKERS, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(config_parse_cpu_list("0-31", cpus, DP_MAX_WORKERS, &n), 0);
	ck_assert_uint_eq(n, 32);

	static const char *const bad[] = {"", "abc", "3-1", "1-", "-1", "1,,2", "1,", "1 2",
		"1-2-3", "0x1", "99999999", "1;2"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_cpu_list(bad[i], cpus, DP_MAX_WORKERS, &n) == -EINVAL,
			"<<%s>> accepted", bad[i]);
	ck_assert_int_eq(config_parse_cpu_list("0-32", cpus, DP_MAX_WORKERS, &n), -E2BIG);
	ck_assert_int_eq(config_parse_cpu_list("0-65535", cpus, DP_MAX_WORKERS, &n), -E2BIG);
}
END_TEST

START_TEST(test_sizes)
{
	static const struct {
		const char *s;
		size_t v;
	} good[] = {
		{"0", 0},
		{"1048576", 1048576},
		{"10B", 10},
		{"2048K", 2048u << 10},
		{"512M", 512u << 20},
		{"512m", 512u << 20},
		{"512MB", 512u << 20},
		{"1G", 1u << 30},
		{"1GiB", 1u << 30},
		{"2T", 2ull << 40},
	};
	static const char *const bad[] = {
		"", "M", "G1", "5X", "1.5G", "-1", "1 G", "1GG", "1iB", "1Gi B"};
	size_t v;

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(config_parse_size(good[i].s, &v) == 0, "<<%s>> refused", good[i].s);
		ck_assert_uint_eq(v, good[i].v);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_size(bad[i], &v) == -EINVAL, "<<%s>> accepted", bad[i]);
	ck_assert_int_eq(config_parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(config_parse_size("18014398509481984G", &v), -ERANGE);
}
END_TEST

START_TEST(test_errors_syntax)
{
	expect_error("daemon:\n  socket: [\n",
		"t.yaml:3:1: invalid YAML: did not find expected node content (while parsing a "
		"flow node at line 3)",
		"");
	expect_error("daemon:\n  socket: /x\n bad: 1\n",
		"t.yaml:3:2: invalid YAML: did not find expected key (while parsing a block "
		"mapping at line 1)",
		"");
	expect_error("daemon:\n  socket: /\xff\n",
		"t.yaml:2:12: invalid input: invalid leading UTF-8 octet (byte 0xff); the file "
		"must be UTF-8 text",
		"");
	expect_error("daemon: {socket: \"/a\\0b\"}\n",
		"t.yaml:1:18: NUL characters are not allowed", "");
	expect_error("a: &x 1\nb: *x\n",
		"t.yaml:2:4: aliases (*x) are not supported; repeat the value instead", "");
	expect_error("daemon: {}\n---\ncpu: {}\n",
		"t.yaml:2:1: only one YAML document is allowed in the configuration", "");
	expect_error("- a\n- b\n",
		"t.yaml:1:1: expected a mapping with the sections daemon, cpu, memory and bridges "
		"at the top level, got a list",
		"");
	expect_error(
		"[1]: x\n", "t.yaml:1:1: mapping keys must be plain names, got a collection", "");
	expect_error("a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		"t.yaml:1:36: nesting is too deep (more than 32 levels)", "");
}
END_TEST

START_TEST(test_errors_keys)
{
	expect_error("daemons:\n  socket: /x\n",
		"t.yaml:1:1: daemons: unknown key, expected one of: daemon, cpu, memory, bridges",
		"daemons");
	expect_error("cpu:\n  worker-core: 1\n",
		"t.yaml:2:3: cpu.worker-core: unknown key, expected one of: worker-cores, "
		"control-core, idle-sleep-us, rxq-assign, rebalance-interval",
		"cpu.worker-core");
	expect_error("daemon:\n  log-level: info\n  log-level: debug\n",
		"t.yaml:3:3: daemon.log-level: duplicate key (first set at line 2)",
		"daemon.log-level");
	expect_error("memory:\n  hugepages: 1G\n",
		"t.yaml:2:3: memory.hugepages: unknown key, expected one of: iova-mode, page-size, "
		"hugepage-budget, require-hugepages, packet-buffers, max-mtu, buffer-cache",
		"memory.hugepages");
	expect_error("bridges:\n  - name: br0\n    port: []\n",
		"t.yaml:3:5: bridges[0].port: unknown key, expected one of: name, options, "
		"ports, flows",
		"bridges[0].port");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - {name: p1, typ: x}\n",
		"t.yaml:4:20: bridges[0].ports[0].typ: unknown key, expected one of: name, type, "
		"options",
		"bridges[0].ports[0].typ");
	expect_error("bridges:\n  - name: br0\n    options: {a: 1, a: 2}\n",
		"t.yaml:3:21: bridges[0].options.a: duplicate key (first set at line 3)",
		"bridges[0].options.a");
}
END_TEST

START_TEST(test_errors_values)
{
	expect_error("cpu:\n  worker-cores: abc\n",
		"t.yaml:2:17: cpu.worker-cores: expected a list of CPU numbers or a range string "
		"like \"1-3\", got \"abc\"",
		"cpu.worker-cores");
	expect_error("cpu:\n  worker-cores: [1, x]\n",
		"t.yaml:2:21: cpu.worker-cores: expected a list of CPU numbers or a range string "
		"like \"1-3\", got \"x\"",
		"cpu.worker-cores");
	expect_error("cpu:\n  worker-cores: []\n",
		"t.yaml:2:17: cpu.worker-cores: at least one worker core is needed",
		"cpu.worker-cores");
	expect_error("cpu:\n  worker-cores: \"0,0\"\n",
		"t.yaml:2:17: cpu.worker-cores: CPU 0 is listed twice", "cpu.worker-cores");
	expect_error("cpu:\n  worker-cores: 0-40\n",
		"t.yaml:2:17: cpu.worker-cores: too many worker cores in \"0-40\" (max 32)",
		"cpu.worker-cores");
	expect_error("cpu:\n  rxq-assign: fastest\n",
		"t.yaml:2:15: cpu.rxq-assign: expected cycles or roundrobin, got \"fastest\"",
		"cpu.rxq-assign");
	expect_error("cpu:\n  idle-sleep-us: -5\n",
		"t.yaml:2:18: cpu.idle-sleep-us: -5 is out of range, expected 0..1000000",
		"cpu.idle-sleep-us");
	expect_error("cpu:\n  control-core: -2\n",
		"t.yaml:2:17: cpu.control-core: -2 is out of range, expected -1..1023",
		"cpu.control-core");
	expect_error("memory:\n  max-mtu: [1]\n",
		"t.yaml:2:12: memory.max-mtu: expected an integer 68..9000, got a list",
		"memory.max-mtu");
	expect_error("memory:\n  max-mtu: 9001\n",
		"t.yaml:2:12: memory.max-mtu: 9001 is out of range, expected 68..9000",
		"memory.max-mtu");
	expect_error("memory:\n  packet-buffers: 12k\n",
		"t.yaml:2:19: memory.packet-buffers: expected an integer 1024..4194304, got "
		"\"12k\"",
		"memory.packet-buffers");
	expect_error("memory:\n  page-size: 4K\n",
		"t.yaml:2:14: memory.page-size: expected auto, 2M or 1G, got \"4K\"",
		"memory.page-size");
	expect_error("memory:\n  require-hugepages: maybe\n",
		"t.yaml:2:22: memory.require-hugepages: expected true or false, got \"maybe\"",
		"memory.require-hugepages");
	expect_error("memory:\n  iova-mode:\n",
		"t.yaml:2:13: memory.iova-mode: expected auto, va or pa, got nothing",
		"memory.iova-mode");
	expect_error("memory:\n  hugepage-budget: {\"9\": 1G}\n",
		"t.yaml:2:21: memory.hugepage-budget.9: expected a NUMA node number 0..7, got "
		"\"9\"",
		"memory.hugepage-budget.9");
	expect_error("memory:\n  hugepage-budget: {0: 1G, 00: 2G}\n",
		"t.yaml:2:28: memory.hugepage-budget.00: NUMA node 0 is given twice",
		"memory.hugepage-budget.00");
	expect_error("memory:\n  hugepage-budget: lots\n",
		"t.yaml:2:20: memory.hugepage-budget: expected a size in bytes with an optional K, "
		"M or G suffix (like 512M), got \"lots\"",
		"memory.hugepage-budget");
	expect_error("daemon:\n  log-level: verbose\n",
		"t.yaml:2:14: daemon.log-level: expected err, warn, notice, info or debug, got "
		"\"verbose\"",
		"daemon.log-level");
	expect_error("daemon:\n  socket: run/x.sock\n",
		"t.yaml:2:11: daemon.socket: expected an absolute path (starting with /), got "
		"\"run/x.sock\"",
		"daemon.socket");
	expect_error("daemon:\n  socket: /a/very/long/path/that/does/not/fit/in/sun_path/because/"
		     "it/is/longer/than/one/hundred/and/eight/bytes/x.sock\n",
		"t.yaml:2:11: daemon.socket: path is too long (108 bytes, max 107)",
		"daemon.socket");
	expect_error("daemon:\n  socket-mode: \"0999\"\n",
		"t.yaml:2:16: daemon.socket-mode: expected an octal mode like \"0660\", got "
		"\"0999\"",
		"daemon.socket-mode");
	expect_error("daemon:\n  socket-mode: 7777\n",
		"t.yaml:2:16: daemon.socket-mode: mode 7777 is out of range, expected 0000..0777",
		"daemon.socket-mode");
	expect_error("daemon:\n  socket-group: no-such-group-vswitch\n",
		"t.yaml:2:17: daemon.socket-group: group \"no-such-group-vswitch\" does not exist "
		"on this machine",
		"daemon.socket-group");
	expect_error("daemon: 5\n",
		"t.yaml:1:9: daemon: expected a mapping (socket, log-level, ...), got \"5\"",
		"daemon");
	expect_error("daemon:\n  rpc-max-clients: 0\n",
		"t.yaml:2:20: daemon.rpc-max-clients: 0 is out of range, expected 1..4096",
		"daemon.rpc-max-clients");
	expect_error("daemon:\n  watchdog-sec: 99999999999999999999\n",
		"t.yaml:2:17: daemon.watchdog-sec: 99999999999999999999 is out of range, expected "
		"0..3600",
		"daemon.watchdog-sec");
}
END_TEST

START_TEST(test_errors_bridges)
{
	expect_error("bridges:\n  br0: {}\n",
		"t.yaml:2:3: bridges: expected a list of bridges (- name: br0 ...), got a mapping",
		"bridges");
	expect_error("bridges:\n  - br0\n",
		"t.yaml:2:5: bridges[0]: expected a bridge (a mapping with name, options, ports "
		"and flows), got \"br0\"",
		"bridges[0]");
	expect_error("bridges:\n  - options: {}\n",
		"t.yaml:2:5: bridges[0].name: missing required key \"name\" in this bridge",
		"bridges[0].name");
	expect_error("bridges:\n  - name: br0\n  - name: br1\n  - name: br0\n",
		"t.yaml:4:11: bridges[2].name: duplicate bridge name \"br0\" (first declared at "
		"line 2)",
		"bridges[2].name");
	expect_error("bridges:\n  - name: \"br 0\"\n",
		"t.yaml:2:11: bridges[0].name: expected a bridge name made of letters, digits and "
		"-_.: (not starting with -), got \"br 0\"",
		"bridges[0].name");
	expect_error("bridges:\n  - name: a-bridge-name-that-is-way-too-long\n",
		"t.yaml:2:11: bridges[0].name: \"a-bridge-name-that-is-way-too-long\" is too long "
		"(34 characters, max 31)",
		"bridges[0].name");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - name: p1\n        options: {}\n",
		"t.yaml:4:9: bridges[0].ports[0].type: missing required key \"type\" in port p1 "
		"(af_packet, tap, null, ...)",
		"bridges[0].ports[0].type");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - {name: ~, type: tap}\n",
		"t.yaml:4:16: bridges[0].ports[0].name: expected a port name, got nothing",
		"bridges[0].ports[0].name");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - type: tap\n",
		"t.yaml:4:9: bridges[0].ports[0].name: missing required key \"name\" in this port",
		"bridges[0].ports[0].name");
	expect_error("bridges:\n"
		     "  - name: br0\n"
		     "    ports:\n"
		     "      - {name: p1, type: tap}\n"
		     "  - name: br1\n"
		     "    ports:\n"
		     "      - {name: p2, type: tap}\n"
		     "      - {name: p1, type: tap}\n",
		"t.yaml:8:16: bridges[1].ports[1].name: duplicate port name \"p1\" (already "
		"declared at line 4 in bridge br0); port names are unique across bridges",
		"bridges[1].ports[1].name");
	expect_error("bridges:\n  - name: br0\n    ports: {p1: {}}\n",
		"t.yaml:3:12: bridges[0].ports: expected a list of ports (- name: p1 ...), got a "
		"mapping",
		"bridges[0].ports");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - {name: p1, type: tap, options: "
		     "{trunks: [10, 20]}}\n",
		"t.yaml:4:49: bridges[0].ports[0].options.trunks: expected a value (string, number "
		"or boolean; write lists as \"10,20\"), got a list",
		"bridges[0].ports[0].options.trunks");
	expect_error("bridges:\n  - name: br0\n    ports:\n      - {name: p1, type: tap, options: "
		     "{iface: \"\"}}\n",
		"t.yaml:4:48: bridges[0].ports[0].options.iface: expected a value (string, number "
		"or boolean; write lists as \"10,20\"), got \"\"",
		"bridges[0].ports[0].options.iface");
	expect_error("bridges:\n  - name: br0\n    options: {\"a b\": 1}\n",
		"t.yaml:3:15: bridges[0].options.a b: expected an option name made of letters, "
		"digits and -_.:, got \"a b\"",
		"bridges[0].options.a b");
}
END_TEST

START_TEST(test_errors_cpus)
{
	int cpus[CPU_SETSIZE], n = usable_cpus(cpus, CPU_SETSIZE);
	char yaml[256], msg[512];

	snprintf(msg, sizeof(msg),
		"t.yaml:2:17: cpu.worker-cores: CPU 1000 does not exist or is not available to "
		"vswitchd (usable CPUs: %s)",
		usable_desc());
	expect_error("cpu:\n  worker-cores: [1000]\n", msg, "cpu.worker-cores");
	snprintf(msg, sizeof(msg),
		"t.yaml:2:17: cpu.control-core: CPU 1000 does not exist or is not available to "
		"vswitchd (usable CPUs: %s, or -1 to leave the control thread unpinned)",
		usable_desc());
	expect_error("cpu:\n  control-core: 1000\n", msg, "cpu.control-core");

	snprintf(yaml, sizeof(yaml), "cpu:\n  worker-cores: [%d]\n  control-core: %d\n", cpus[0],
		cpus[0]);
	snprintf(msg, sizeof(msg),
		"t.yaml:3:17: cpu.control-core: CPU %d is also a worker core; a worker never "
		"yields its core, choose another control core or -1",
		cpus[0]);
	expect_error(yaml, msg, "cpu.control-core");
	// Same with the default worker core (the last CPU).
	snprintf(yaml, sizeof(yaml), "cpu:\n  control-core: %d\n", n > 1 ? cpus[n - 1] : cpus[0]);
	snprintf(msg, sizeof(msg),
		"t.yaml:2:17: cpu.control-core: CPU %d is also a worker core (by default the last "
		"CPU is the worker core); a worker never yields its core, choose another control "
		"core or -1",
		n > 1 ? cpus[n - 1] : cpus[0]);
	expect_error(yaml, msg, "cpu.control-core");
}
END_TEST

START_TEST(test_files)
{
	char path[] = "/tmp/vs-state-cfg-XXXXXX", yaml[512];
	const char *src = getenv("VSWITCH_SRC");
	struct config cfg;
	struct err err = {0};
	int fd;

	ck_assert_int_eq(config_load_file("/nonexistent/vswitchd.yaml", &cfg, &err), -ENOENT);
	ck_assert_str_eq(err.msg,
		"/nonexistent/vswitchd.yaml: cannot open: No such file or "
		"directory");
	config_free(&cfg);
	err_clear(&err);
	ck_assert_int_eq(config_load_file("/tmp", &cfg, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "/tmp: not a regular file");

	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_int_eq(write(fd, "cpu:\n  idle-sleep-us: x\n", 24), 24);
	close(fd);
	err_clear(&err);
	ck_assert_int_eq(config_load_file(path, &cfg, &err), -EINVAL);
	snprintf(yaml, sizeof(yaml),
		"%s:2:18: cpu.idle-sleep-us: expected an integer 0..1000000, got \"x\"", path);
	ck_assert_str_eq(err.msg, yaml);
	unlink(path);

	// The shipped default configuration is valid on this machine and has br0 with no ports.
	if (src == NULL)
		src = ".";
	snprintf(yaml, sizeof(yaml), "%s/etc/vswitchd.yaml", src);
	err_clear(&err);
	ck_assert_msg(config_load_file(yaml, &cfg, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(cfg.n_bridges, 1);
	ck_assert_str_eq(cfg.bridges[0].name, "br0");
	ck_assert_uint_eq(cfg.bridges[0].n_ports, 0);
	ck_assert_str_eq(cfg.source, yaml);
	config_free(&cfg);
}
END_TEST

START_TEST(test_check_ports)
{
	const char *yaml = "bridges:\n"
			   "  - name: br0\n"
			   "    ports:\n"
			   "      - {name: p1, type: \"null\"}\n"
			   "      - {name: p2, type: bogus}\n";
	const char *prefix = "t.yaml:5:26: bridges[0].ports[1].type: unknown port type \"bogus\" "
			     "for port p2, expected one of: ";
	struct config cfg;
	struct err err;

	ck_assert_int_eq(load(yaml, &cfg, &err), 0);
	err_clear(&err);
	ck_assert_int_eq(config_check_ports(&cfg, &err), -EINVAL);
	ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(err.msg + strlen(prefix), "null"));
	ck_assert_str_eq(err.field, "bridges[0].ports[1].type");
	config_free(&cfg);

	ck_assert_int_eq(
		load("bridges: [{name: br0, ports: [{name: p1, type: \"null\"}]}]\n", &cfg, &err),
		0);
	ck_assert_int_eq(config_check_ports(&cfg, &err), 0);
	config_free(&cfg);
}
END_TEST

START_TEST(test_dup)
{
	struct config cfg;
	struct config_bridge *copy;
	struct err err;

	ck_assert_int_eq(
		load("bridges:\n"
		     "  - name: br0\n"
		     "    options: {mac-aging: 10}\n"
		     "    ports: [{name: p1, type: tap, options: {tag: 5}}, {name: p2, type: "
		     "tap}]\n"
		     "  - name: br1\n",
			&cfg, &err),
		0);
	ck_assert_int_eq(config_bridges_dup(cfg.bridges, cfg.n_bridges, &copy), 0);
	ck_assert_str_eq(copy[0].name, "br0");
	ck_assert_str_eq(copy[0].opts[0].value, "10");
	ck_assert_ptr_ne(copy[0].opts[0].value, cfg.bridges[0].opts[0].value);
	ck_assert_uint_eq(copy[0].n_ports, 2);
	ck_assert_str_eq(copy[0].ports[0].opts[0].key, "tag");
	ck_assert_str_eq(copy[0].ports[1].name, "p2");
	ck_assert_uint_eq(copy[0].ports[1].line, cfg.bridges[0].ports[1].line);
	ck_assert_str_eq(copy[1].name, "br1");
	ck_assert_uint_eq(copy[1].n_ports, 0);
	config_free(&cfg);
	config_bridges_free(copy, 2);
	ck_assert_int_eq(config_bridges_dup(NULL, 0, &copy), 0);
	ck_assert_ptr_null(copy);
	config_bridges_free(NULL, 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_value_forms);
	tcase_add_test(tc, test_cpu_list);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_errors_syntax);
	tcase_add_test(tc, test_errors_keys);
	tcase_add_test(tc, test_errors_values);
	tcase_add_test(tc, test_errors_bridges);
	tcase_add_test(tc, test_errors_cpus);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_check_ports);
	tcase_add_test(tc, test_dup);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
