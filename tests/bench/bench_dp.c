// SPDX-License-Identifier: Apache-2.0
// In-process datapath benchmark (tests/bench/run builds and runs it): the same setup vswitchd
// would make from its config, measured over a fixed window with the switch's own counters.
//
// Scenario null-l2: null port p1 generates 64-byte IPv4/UDP frames of one flow to the MAC of
// port p2, which the bridge has learned on p2 (the learned-unicast L2 path: parse, learn the
// source, look up the destination, one output); p2 is a null sink. One worker on --core.
// Mpps = frames p2 transmitted per second; cycles/packet = the worker's busy TSC cycles per
// packet received (the worker is saturated, so this is its cost per packet).
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dp.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/mem.h"
#include "dataplane/worker.h"

#define KV(k, v) ((struct port_kv){.key = (k), .value = (v)})

struct bench_opts {
	const char *scenario;
	unsigned seconds, warmup;
	int core, control_core;
	unsigned size, flows, n_pkts;
	const char *json;
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Sleeps `s` seconds while running the control thread's periodic work, as vswitchd does.
static void bench_run_for(double s)
{
	double end = bench_now() + s;
	struct timespec ms = {.tv_sec = 0, .tv_nsec = 2000000};

	while (bench_now() < end) {
		dp_run();
		nanosleep(&ms, NULL);
	}
}

// Jiffies of one CPU from /proc/stat, and of our worker thread ("pmd0"), to tell how much of
// the worker's CPU other processes (or the hypervisor) took during the window.
struct bench_cpu {
	unsigned long long total, idle, steal, pmd;
};

static unsigned long long bench_pmd_jiffies(void)
{
	unsigned long long ut = 0, st = 0;
	char path[300], comm[32], line[1024];
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	FILE *f;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		comm[0] = '\0';
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "pmd0", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		// Fields after the ")" of comm: state is field 3, utime 14, stime 15.
		if (fgets(line, sizeof(line), f) != NULL && strrchr(line, ')') != NULL)
			sscanf(strrchr(line, ')') + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
		fclose(f);
	}
	closedir(d);
	return ut + st;
}

static int bench_cpu_stat(int cpu, struct bench_cpu *c)
{
	unsigned long long v[10] = {0};
	char want[16], line[512];
	FILE *f = fopen("/proc/stat", "r");
	int ret = -ENOENT;

	if (f == NULL)
		return -errno;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
		c->total = 0;
		for (int i = 0; i < 8; i++)
			c->total += v[i];
		c->idle = v[3] + v[4];
		c->steal = v[7];
		ret = 0;
		break;
	}
	fclose(f);
	c->pmd = bench_pmd_jiffies();
	return ret;
}

static int bench_setup(const struct bench_opts *o, struct err *err)
{
	static const char gen_mac[] = "02:00:00:00:00:01", sink_mac[] = "02:00:00:00:00:02";
	char size[16], flows[16];
	const struct port_kv sink[] = {KV("rx", "false"), KV("src-mac", sink_mac)};
	const struct port_kv gen[] = {KV("size", size), KV("flows", flows), KV("src-mac", gen_mac),
		KV("dst-mac", sink_mac)};
	const uint8_t dst[6] = {2, 0, 0, 0, 0, 2};
	struct mac_table *mt;
	struct port *p2;
	int ret;

	snprintf(size, sizeof(size), "%u", o->size);
	snprintf(flows, sizeof(flows), "%u", o->flows);
	if ((ret = dp_bridge_add("br0", NULL, 0, err)) < 0)
		return ret;
	if ((ret = dp_port_add("br0", "p2", "null", sink, ARRAY_SIZE(sink), err)) < 0)
		return ret;
	// The sink never sends: learn its MAC as if it had (like OVS fdb/add), so every frame
	// takes the learned-unicast path instead of flooding.
	mt = dp_bridge_mac_table("br0");
	p2 = dp_port_lookup("p2");
	if (mt == NULL || p2 == NULL)
		return err_set(err, -ENOENT, "", "bridge or sink port vanished");
	if ((ret = mac_table_learn(mt, 0, dst, p2->id, mac_table_now())) < 0)
		return err_set(err, ret, "", "cannot learn the sink MAC: %s", strerror(-ret));
	return dp_port_add("br0", "p1", "null", gen, ARRAY_SIZE(gen), err);
}

static void bench_usage(FILE *f)
{
	fprintf(f,
		"usage: bench_dp [--scenario null-l2] [--seconds N] [--warmup N] [--core CPU]\n"
		"                [--control-core CPU] [--size BYTES] [--flows N] [--pkts N]\n"
		"                [--json FILE]\n");
}

static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{"scenario", required_argument, NULL, 's'},
		{"seconds", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'w'},
		{"core", required_argument, NULL, 'c'},
		{"control-core", required_argument, NULL, 'C'},
		{"size", required_argument, NULL, 'S'},
		{"flows", required_argument, NULL, 'f'},
		{"pkts", required_argument, NULL, 'n'},
		{"json", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct bench_opts){
		.scenario = "null-l2",
		.seconds = 10,
		.warmup = 3,
		.core = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : -1,
		.control_core = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 0 : -1,
		.size = 64,
		.flows = 1,
		.n_pkts = 8192,
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->scenario = optarg;
			break;
		case 't':
			o->seconds = (unsigned)atoi(optarg);
			break;
		case 'w':
			o->warmup = (unsigned)atoi(optarg);
			break;
		case 'c':
			o->core = atoi(optarg);
			break;
		case 'C':
			o->control_core = atoi(optarg);
			break;
		case 'S':
			o->size = (unsigned)atoi(optarg);
			break;
		case 'f':
			o->flows = (unsigned)atoi(optarg);
			break;
		case 'n':
			o->n_pkts = (unsigned)atoi(optarg);
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'h':
			bench_usage(stdout);
			exit(0);
		default:
			bench_usage(stderr);
			return -EINVAL;
		}
	}
	if (strcmp(o->scenario, "null-l2") != 0) {
		fprintf(stderr, "bench_dp: unknown scenario '%s' (known: null-l2)\n", o->scenario);
		return -EINVAL;
	}
	if (o->seconds == 0) {
		fprintf(stderr, "bench_dp: --seconds must be at least 1\n");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_config cfg = {.n_workers = 1, .pkt_cache = 256};
	struct bench_cpu c0 = {0}, c1 = {0};
	double foreign_pct = 0, oncpu = 1;
	struct dp_port_stats a, b;
	struct dp_pmd_stats pmd;
	struct mem_stats ms;
	struct err err = {0};
	struct bench_opts o;
	double t0, t1, mpps, cpp, tcpp, steal_pct;
	uint64_t tx;
	FILE *f;

	if (bench_parse(argc, argv, &o) < 0)
		return 2;
	log_set_level(LOG_LVL_WARN);
	if (mem_init(NULL, &err) < 0) {
		fprintf(stderr, "bench_dp: memory: %s\n", err.msg);
		return 1;
	}
	cfg.worker_cores[0] = o.core;
	cfg.control_core = o.control_core;
	cfg.n_pkts = o.n_pkts;
	if (dp_init(&cfg, &err) < 0) {
		fprintf(stderr, "bench_dp: datapath: %s\n", err.msg);
		return 1;
	}
	if (bench_setup(&o, &err) < 0) {
		fprintf(stderr, "bench_dp: setup: %s\n", err.msg);
		dp_fini();
		return 1;
	}
	bench_run_for(o.warmup);

	dp_pmd_stats_clear();
	if (dp_port_stats_get("p2", &a, &err) < 0)
		goto err_stats;
	if (o.core >= 0)
		bench_cpu_stat(o.core, &c0);
	t0 = bench_now();
	bench_run_for(o.seconds);
	if (dp_port_stats_get("p2", &b, &err) < 0)
		goto err_stats;
	t1 = bench_now();
	if (o.core >= 0)
		bench_cpu_stat(o.core, &c1);
	dp_pmd_stats_get(&pmd, 1);
	mem_stats_get(&ms);

	tx = b.drv.tx_packets - a.drv.tx_packets;
	mpps = (double)tx / (t1 - t0) / 1e6;
	cpp = pmd.packets ? (double)pmd.busy_cycles / (double)pmd.packets : 0;
	tcpp = pmd.packets ? (double)(pmd.busy_cycles + pmd.idle_cycles) / (double)pmd.packets : 0;
	steal_pct = 0;
	if (c1.total > c0.total) {
		double dt = (double)(c1.total - c0.total);
		double busy = dt - (double)(c1.idle - c0.idle) - (double)(c1.steal - c0.steal);

		steal_pct = 100.0 * (double)(c1.steal - c0.steal) / dt;
		// Busy time on the worker's CPU that was not the worker.
		foreign_pct = MAX(0.0, 100.0 * (busy - (double)(c1.pmd - c0.pmd)) / dt);
		// Share of the window the worker actually ran: TSC cycles include preemption.
		oncpu = MIN(1.0, (double)(c1.pmd - c0.pmd) / dt);
	}
	printf("%s: %.2f Mpps, %.1f cycles/packet (busy), %.1f cycles/packet (all), "
	       "avg rx batch %.1f, worker busy %.0f%%, TSC %.2f GHz, steal %.1f%%, "
	       "other load on the CPU %.1f%%, %.1f cycles/packet on CPU, %s\n",
		o.scenario, mpps, cpp, tcpp,
		pmd.rx_batches ? (double)pmd.packets / (double)pmd.rx_batches : 0,
		pmd.busy_cycles + pmd.idle_cycles ? 100.0 * (double)pmd.busy_cycles /
				(double)(pmd.busy_cycles + pmd.idle_cycles)
						  : 0,
		(double)worker_tsc_hz() / 1e9, steal_pct, foreign_pct, cpp * oncpu,
		ms.hugepages ? "hugepages" : "normal pages");
	if (o.json != NULL) {
		if ((f = fopen(o.json, "w")) == NULL) {
			perror(o.json);
		} else {
			fprintf(f,
				"{\"switch\": \"vswitch\", \"scenario\": \"%s\", \"mpps\": %.3f, "
				"\"cycles_per_packet\": %.1f, \"cycles_per_packet_all\": %.1f, "
				"\"window_s\": %.3f, \"packets\": %llu, \"tx_drops\": %llu, "
				"\"avg_rx_batch\": %.2f, \"tsc_hz\": %llu, \"worker_core\": %d, "
				"\"frame_size\": %u, \"flows\": %u, \"hugepages\": %s, "
				"\"steal_pct\": %.2f, \"foreign_pct\": %.2f, \"contended\": %s, "
				"\"cycles_per_packet_oncpu\": %.1f, "
				"\"time\": %lld}\n",
				o.scenario, mpps, cpp, tcpp, t1 - t0, (unsigned long long)tx,
				(unsigned long long)pmd.tx_drops,
				pmd.rx_batches ? (double)pmd.packets / (double)pmd.rx_batches : 0,
				(unsigned long long)worker_tsc_hz(), o.core, o.size, o.flows,
				ms.hugepages ? "true" : "false", steal_pct, foreign_pct,
				steal_pct >= 5 || foreign_pct >= 15 ? "true" : "false", cpp * oncpu,
				(long long)time(NULL));
			fclose(f);
		}
	}
	dp_fini();
	mem_fini();
	return 0;

err_stats:
	fprintf(stderr, "bench_dp: %s\n", err.msg);
	dp_fini();
	return 1;
}
