// SPDX-License-Identifier: Apache-2.0
// Flow table benchmark (tests/bench/run flow-N<flows>-M<masks>): the datapath in-process, a pcap
// port replaying 64-byte IPv4/UDP frames of N distinct flows into a bridge whose flow table has
// rules with M distinct masks, a null sink. One worker on --core.
//
// Traffic: the layout of the OVS anchors (../shared/bench): flow i is 10.0.0.0+i ->
// 20.0.0.0+(i*7919 mod 2^20), UDP 1024+i%64000 -> 5000+i%1000, 02:..:01 -> 02:..:02; frame j of
// the file belongs to flow j mod N (max(N, 100000) frames, so the replay costs the same for
// every N). Rules: M-1 "deny" ACL rules with distinct masks (source prefixes /8../32 combined with
// tp_src/tp_dst) that the traffic never matches, at higher priorities, and one "allow" rule
// (in_port, udp, nw_dst=20.0.0.0/12 -> output) that every packet matches: every classifier
// lookup probes all M subtables (the worst case of tuple space search), so the cache decides.
// --write DIR writes the pcap and the rules in OVS syntax (ports 1 and 2) for ovs_flow.sh.
//
// Mpps = frames the sink transmitted per second; cycles/packet = busy TSC cycles of the worker
// per packet received (the worker is saturated).
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dp.h"
#include "dataplane/flow_parse.h"
#include "dataplane/flow_table.h"
#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/mem.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"
#include "dataplane/rcu.h"
#include "dataplane/worker.h"

#define KV(k, v) ((struct port_kv){.key = (k), .value = (v)})
#define BF_MIN_FRAMES 100000
#define BF_MAX_FLOWS (1u << 20)

struct bf_opts {
	unsigned flows, masks, seconds, warmup, n_pkts;
	int core, control_core;
	const char *dir, *json, *write;
	unsigned micro; // --micro ITER: the pipeline alone on this thread, no ports
};

static double bf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bf_run_for(double s)
{
	double end = bf_now() + s;
	struct timespec ms = {.tv_sec = 0, .tv_nsec = 2000000};

	while (bf_now() < end) {
		dp_run();
		nanosleep(&ms, NULL);
	}
}

// Jiffies of one CPU (total, idle, steal) and of the worker thread "pmd0", to tell how much of
// the worker's CPU other processes or the hypervisor took during the window (the machine is
// shared): cycles/packet "on CPU" scale the TSC figure by the share the worker really ran.
struct bf_cpu {
	unsigned long long total, idle, steal, pmd;
};

static unsigned long long bf_pmd_jiffies(void)
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
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "pmd0", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), f) != NULL && strrchr(line, ')') != NULL)
			sscanf(strrchr(line, ')') + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
		fclose(f);
	}
	closedir(d);
	return ut + st;
}

static void bf_cpu_stat(int cpu, struct bf_cpu *c)
{
	unsigned long long v[8] = {0};
	char want[16], line[512];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (cpu < 0 || (f = fopen("/proc/stat", "r")) == NULL)
		return;
	snprintf(want, sizeof(want), "cpu%d ", cpu);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			&v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
		for (int i = 0; i < 8; i++)
			c->total += v[i];
		c->idle = v[3] + v[4];
		c->steal = v[7];
		break;
	}
	fclose(f);
	c->pmd = bf_pmd_jiffies();
}

static void bf_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void bf_put32(uint8_t *p, uint32_t v)
{
	bf_put16(p, (uint16_t)(v >> 16));
	bf_put16(p + 2, (uint16_t)v);
}

static void bf_frame(uint32_t i, uint8_t f[64])
{
	uint8_t *ip = f + 14, *udp = f + 34;
	uint32_t sum = 0;

	memset(f, 0, 64);
	memcpy(f, (uint8_t[6]){2, 0, 0, 0, 0, 2}, 6);
	memcpy(f + 6, (uint8_t[6]){2, 0, 0, 0, 0, 1}, 6);
	bf_put16(f + 12, 0x0800);
	ip[0] = 0x45;
	bf_put16(ip + 2, 50);
	ip[8] = 64;
	ip[9] = 17;
	bf_put32(ip + 12, 0x0a000000u + i);
	bf_put32(ip + 16, 0x14000000u + (uint32_t)(((uint64_t)i * 7919) % (1u << 20)));
	for (int k = 0; k < 20; k += 2)
		sum += (uint32_t)ip[k] << 8 | ip[k + 1];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	bf_put16(ip + 10, (uint16_t)~sum);
	bf_put16(udp, (uint16_t)(1024 + i % 64000));
	bf_put16(udp + 2, (uint16_t)(5000 + i % 1000));
	bf_put16(udp + 4, 30);
}

// Classic pcap, microsecond timestamps, little endian.
static int bf_write_pcap(const char *path, unsigned flows)
{
	unsigned n = flows > BF_MIN_FRAMES ? flows : BF_MIN_FRAMES;
	uint32_t hdr[6] = {0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1};
	FILE *f = fopen(path, "wb");
	uint8_t frame[64];

	if (f == NULL)
		return -errno;
	fwrite(hdr, sizeof(hdr), 1, f);
	for (unsigned j = 0; j < n; j++) {
		uint32_t rec[4] = {j / 1000000, j % 1000000, 64, 64};

		bf_frame(j % flows, frame);
		fwrite(rec, sizeof(rec), 1, f);
		fwrite(frame, sizeof(frame), 1, f);
	}
	return fclose(f) == 0 ? 0 : -EIO;
}

// Rule i of M: text with ports named `in`/`out` (names for vswitch, numbers for OVS).
static void bf_rule(unsigned i, unsigned m, const char *in, const char *out, char *buf, size_t size)
{
	unsigned plen, tp;

	if (i + 1 == m) {
		snprintf(buf, size,
			"priority=10,in_port=%s,udp,nw_dst=20.0.0.0/12 actions=output:%s", in, out);
		return;
	}
	// Distinct masks: a source prefix /8../32, times with/without tp_src, with/without tp_dst.
	plen = 8 + i % 25;
	tp = i / 25;
	snprintf(buf, size, "priority=%u,udp,nw_src=11.0.0.0/%u%s%s actions=drop", 1000 + i, plen,
		(tp & 1) ? ",tp_src=7" : "", (tp & 2) ? ",tp_dst=7" : "");
}

static int bf_add_rules(const struct bf_opts *o, struct err *err)
{
	struct flow_table *ft = dp_bridge_flow_table("br0");
	struct flow_spec *spec = malloc(sizeof(*spec));
	char text[256];
	int ret = 0;

	if (ft == NULL || spec == NULL) {
		free(spec);
		return err_set(err, -ENOMEM, "", "no flow table");
	}
	for (unsigned i = 0; i < o->masks && ret == 0; i++) {
		bf_rule(i, o->masks, "p1", "p2", text, sizeof(text));
		if ((ret = flow_parse(text, strlen(text), FLOW_PARSE_ADD, spec, err)) == 0)
			ret = flow_table_add(ft, spec, FLOW_TABLE_ALLOW_MISSING_PORTS, err);
	}
	free(spec);
	dp_bridge_flows_changed("br0");
	return ret;
}

static int bf_write_files(const struct bf_opts *o)
{
	char path[512], text[256];
	FILE *f;
	int ret;

	mkdir(o->write, 0755);
	snprintf(path, sizeof(path), "%s/flows_N%u.pcap", o->write, o->flows);
	if ((ret = bf_write_pcap(path, o->flows)) < 0) {
		fprintf(stderr, "bench_flow: %s: %s\n", path, strerror(-ret));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rules_M%u.txt", o->write, o->masks);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return 1;
	}
	for (unsigned i = 0; i < o->masks; i++) {
		bf_rule(i, o->masks, "1", "2", text, sizeof(text));
		fprintf(f, "%s\n", text);
	}
	fclose(f);
	return 0;
}

static int bf_setup(const struct bf_opts *o, struct err *err)
{
	char path[512];
	const struct port_kv sink[] = {KV("rx", "false")};
	const struct port_kv src[] = {KV("rx", path), KV("loop", "true"), KV("start-delay", "0")};
	const struct port_kv br[] = {KV("flow-miss", "drop")};
	struct stat sb;
	int ret;

	mkdir(o->dir, 0755);
	snprintf(path, sizeof(path), "%s/flows_N%u.pcap", o->dir, o->flows);
	if (stat(path, &sb) < 0 && (ret = bf_write_pcap(path, o->flows)) < 0)
		return err_set(err, ret, "", "%s: %s", path, strerror(-ret));
	if ((ret = dp_bridge_add("br0", br, ARRAY_SIZE(br), err)) < 0 ||
		(ret = dp_port_add("br0", "p2", "null", sink, ARRAY_SIZE(sink), err)) < 0)
		return ret;
	// Rules before the source port: no packet sees a half-built table.
	if ((ret = bf_add_rules(o, err)) < 0)
		return ret;
	return dp_port_add("br0", "p1", "pcap", src, ARRAY_SIZE(src), err);
}

static void bf_usage(FILE *f)
{
	fprintf(f,
		"usage: bench_flow [--flows N] [--masks M] [--seconds S] [--warmup S] [--core "
		"CPU]\n"
		"                  [--control-core CPU] [--pkts N] [--dir DIR] [--json FILE]\n"
		"       bench_flow --write DIR --flows N --masks M   (files for ovs_flow.sh)\n");
}

static int bf_parse(int argc, char **argv, struct bf_opts *o)
{
	static const struct option longopts[] = {
		{"flows", required_argument, NULL, 'f'},
		{"masks", required_argument, NULL, 'm'},
		{"seconds", required_argument, NULL, 't'},
		{"warmup", required_argument, NULL, 'w'},
		{"core", required_argument, NULL, 'c'},
		{"control-core", required_argument, NULL, 'C'},
		{"pkts", required_argument, NULL, 'n'},
		{"dir", required_argument, NULL, 'd'},
		{"json", required_argument, NULL, 'j'},
		{"write", required_argument, NULL, 'W'},
		{"micro", required_argument, NULL, 'M'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct bf_opts){
		.flows = 1,
		.masks = 1,
		.seconds = 10,
		.warmup = 3,
		.n_pkts = 16384,
		.core = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : -1,
		.control_core = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 0 : -1,
		.dir = "/tmp/bench-flow",
	};
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->flows = (unsigned)atoi(optarg);
			break;
		case 'm':
			o->masks = (unsigned)atoi(optarg);
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
		case 'n':
			o->n_pkts = (unsigned)atoi(optarg);
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'W':
			o->write = optarg;
			break;
		case 'M':
			o->micro = (unsigned)atoi(optarg);
			break;
		case 'h':
			bf_usage(stdout);
			exit(0);
		default:
			bf_usage(stderr);
			return -EINVAL;
		}
	}
	if (o->flows < 1 || o->flows > BF_MAX_FLOWS || o->masks < 1 || o->masks > 100 ||
		o->seconds == 0) {
		fprintf(stderr, "bench_flow: --flows 1..%u, --masks 1..100, --seconds >= 1\n",
			BF_MAX_FLOWS);
		return -EINVAL;
	}
	return 0;
}

// ---- --micro: pl_process() on this thread (no rx/tx drivers), for profiling the flow stage ----
// A small set of buffers is refilled from a table of N frames before each burst, as a pcap
// replay does; the refill alone is timed too, so its cost can be subtracted.

#define BM_BUFS 1024

static void bm_flush(struct pl_ctx *ctx, uint16_t port)
{
	struct pl_txbuf *tb = &ctx->tx[port];

	// "Transmitted": the buffers are reused by the next burst.
	tb->n = 0;
	ctx->tx_pending[port / 64] &= ~(1ULL << (port % 64));
}

static int bm_lookup(void *arg, const char *name)
{
	return strcmp(name, "p1") == 0 ? 0 : strcmp(name, "p2") == 0 ? 1 : -ENOENT;
}

static uint64_t bm_round(struct pl_ctx *ctx, struct pkt **bufs, const uint8_t *frames,
	unsigned n_frames, unsigned n_bursts, unsigned *next, bool process)
{
	uint64_t t0 = rdtsc();

	for (unsigned b = 0; b < n_bursts; b++) {
		struct pkt *burst[PKT_BURST];

		for (unsigned i = 0; i < PKT_BURST; i++) {
			struct pkt *p = bufs[(b * PKT_BURST + i) % BM_BUFS];

			memcpy(pkt_data(p), frames + (size_t)(*next) * 64, 64);
			*next = *next + 1 == n_frames ? 0 : *next + 1;
			p->len = 64;
			p->flags = 0;
			burst[i] = p;
		}
		if (process) {
			pl_process(ctx, 0, burst, PKT_BURST);
			bm_flush(ctx, 1);
		}
	}
	return rdtsc() - t0;
}

static int bf_micro(const struct bf_opts *o)
{
	static struct pl_port ports[2];
	static uint16_t members[2] = {0, 1};
	static struct pl_bridge br;
	static struct pl_snapshot snap;
	static struct pl_txbuf tx[PORT_MAX];
	static struct pl_port_counters ctr[PORT_MAX];
	static uint64_t pending[PORT_MAX / 64];
	struct flow_table_port_ops ops = {.lookup = bm_lookup};
	struct flow_spec *spec = malloc(sizeof(*spec));
	unsigned n_frames = o->flows, n_bursts = 4096, next = 0;
	uint64_t best = UINT64_MAX, base = UINT64_MAX;
	struct pkt *bufs[BM_BUFS];
	struct flow_table_stats st;
	struct mempool *pool;
	struct err err = {0};
	struct flow_table *ft;
	struct pl_ctx ctx;
	uint8_t *frames;
	char text[256];

	if (mem_init(NULL, &err) < 0) {
		fprintf(stderr, "bench_flow: memory: %s\n", err.msg);
		return 1;
	}
	pool = pkt_pool_create("bm", BM_BUFS + 64, PKT_DATA_ROOM_DEFAULT, 0, -1);
	frames = malloc((size_t)n_frames * 64);
	if (pool == NULL || frames == NULL || spec == NULL) {
		fprintf(stderr, "bench_flow: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < n_frames; i++)
		bf_frame(i, frames + (size_t)i * 64);
	for (unsigned i = 0; i < BM_BUFS; i++)
		bufs[i] = pkt_alloc(pool);
	for (unsigned i = 0; i < 2; i++) {
		ports[i] = (struct pl_port){.id = (uint16_t)i, .enabled = true, .mtu = 1500};
		snprintf(ports[i].name, sizeof(ports[i].name), "p%u", i + 1);
		snap.ports[i] = &ports[i];
	}
	br = (struct pl_bridge){
		.n_ports = 2, .ports = members, .macs = mac_table_create(1024, 300)};
	snprintf(br.name, sizeof(br.name), "br0");
	snap.bridges[0] = &br;
	snap.pool = pool;
	ft = flow_table_create("br0", 1, FLOW_MISS_DROP, &ops);
	for (unsigned i = 0; i < o->masks; i++) {
		bf_rule(i, o->masks, "p1", "p2", text, sizeof(text));
		if (flow_parse(text, strlen(text), FLOW_PARSE_ADD, spec, &err) < 0 ||
			flow_table_add(ft, spec, 0, &err) < 0) {
			fprintf(stderr, "bench_flow: %s\n", err.msg);
			return 1;
		}
	}
	br.flows = ft;
	ctx = (struct pl_ctx){.snap = &snap,
		.worker = 0,
		.now_sec = 1,
		.tx = tx,
		.ctr = ctr,
		.tx_pending = pending,
		.flush = bm_flush};
	// Warm up (fills the cache as far as it goes), then the best of the rounds.
	bm_round(&ctx, bufs, frames, n_frames, n_bursts, &next, true);
	for (unsigned r = 0; r < o->micro; r++) {
		uint64_t t = bm_round(&ctx, bufs, frames, n_frames, n_bursts, &next, true);
		uint64_t c = bm_round(&ctx, bufs, frames, n_frames, n_bursts, &next, false);

		best = MIN(best, t);
		base = MIN(base, c);
	}
	flow_table_stats_get(ft, &st);
	printf("micro flow-N%u-M%u: %.1f cycles/packet for parse + flow table + output (refill "
	       "%.1f more); exact-match cache %.1f%%, megaflow cache %.1f%%, classifier %.2f%% "
	       "(%.1f subtables per lookup)\n",
		o->flows, o->masks, (double)(best - MIN(base, best)) / (n_bursts * PKT_BURST),
		(double)base / (n_bursts * PKT_BURST),
		st.packets ? 100.0 * st.cache_hits / st.packets : 0,
		st.packets ? 100.0 * st.megaflow_hits / st.packets : 0,
		st.packets ? 100.0 * st.cls_lookups / st.packets : 0,
		st.cls_lookups ? (double)st.subtables_searched / st.cls_lookups : 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_config cfg = {.n_workers = 1, .pkt_cache = 256};
	struct flow_table_stats fs0, fs1;
	struct bf_cpu c0, c1;
	double oncpu = 1, foreign = 0, steal = 0;
	struct dp_port_stats a, b;
	struct dp_pmd_stats pmd;
	struct err err = {0};
	struct bf_opts o;
	double t0, t1, mpps, cpp, hit, spl;
	uint64_t tx, lookups, hits;
	FILE *f;

	if (bf_parse(argc, argv, &o) < 0)
		return 2;
	if (o.write != NULL)
		return bf_write_files(&o);
	if (o.micro > 0)
		return bf_micro(&o);
	log_set_level(LOG_LVL_WARN);
	if (mem_init(NULL, &err) < 0) {
		fprintf(stderr, "bench_flow: memory: %s\n", err.msg);
		return 1;
	}
	cfg.worker_cores[0] = o.core;
	cfg.control_core = o.control_core;
	cfg.n_pkts = o.n_pkts;
	if (dp_init(&cfg, &err) < 0) {
		fprintf(stderr, "bench_flow: datapath: %s\n", err.msg);
		return 1;
	}
	if (bf_setup(&o, &err) < 0) {
		fprintf(stderr, "bench_flow: setup: %s\n", err.msg);
		dp_fini();
		return 1;
	}
	bf_run_for(o.warmup);

	dp_pmd_stats_clear();
	flow_table_stats_get(dp_bridge_flow_table("br0"), &fs0);
	if (dp_port_stats_get("p2", &a, &err) < 0)
		goto err_stats;
	bf_cpu_stat(o.core, &c0);
	t0 = bf_now();
	bf_run_for(o.seconds);
	if (dp_port_stats_get("p2", &b, &err) < 0)
		goto err_stats;
	t1 = bf_now();
	bf_cpu_stat(o.core, &c1);
	if (c1.total > c0.total) {
		double dt = (double)(c1.total - c0.total);
		double busy = dt - (double)(c1.idle - c0.idle) - (double)(c1.steal - c0.steal);

		steal = 100.0 * (double)(c1.steal - c0.steal) / dt;
		foreign = MAX(0.0, 100.0 * (busy - (double)(c1.pmd - c0.pmd)) / dt);
		oncpu = MIN(1.0, (double)(c1.pmd - c0.pmd) / dt);
	}
	dp_pmd_stats_get(&pmd, 1);
	flow_table_stats_get(dp_bridge_flow_table("br0"), &fs1);

	tx = b.drv.tx_packets - a.drv.tx_packets;
	mpps = (double)tx / (t1 - t0) / 1e6;
	cpp = pmd.packets ? (double)pmd.busy_cycles / (double)pmd.packets : 0;
	lookups = fs1.packets - fs0.packets;
	hits = fs1.cache_hits - fs0.cache_hits;
	hit = lookups ? 100.0 * (double)hits / (double)lookups : 0;
	spl = fs1.cls_lookups > fs0.cls_lookups
		? (double)(fs1.subtables_searched - fs0.subtables_searched) /
			(double)(fs1.cls_lookups - fs0.cls_lookups)
		: 0;
	printf("flow-N%u-M%u: %.2f Mpps, %.1f cycles/packet (%.1f on CPU: worker ran %.0f%%, other "
	       "load %.0f%%, steal %.0f%%), exact-match cache %.1f%%, megaflow %.1f%%, %.1f "
	       "subtables per classifier lookup, %u rules, %u subtables\n",
		o.flows, o.masks, mpps, cpp, cpp * oncpu, 100 * oncpu, foreign, steal, hit,
		lookups ? 100.0 * (double)(fs1.megaflow_hits - fs0.megaflow_hits) / (double)lookups
			: 0,
		spl, fs1.rules, fs1.subtables);
	if (o.json != NULL) {
		if ((f = fopen(o.json, "w")) == NULL) {
			perror(o.json);
		} else {
			fprintf(f,
				"{\"switch\": \"vswitch\", \"scenario\": \"flow-N%u-M%u\", "
				"\"mpps\": %.3f, \"cycles_per_packet\": %.1f, "
				"\"cycles_per_packet_oncpu\": %.1f, \"steal_pct\": %.2f, "
				"\"foreign_pct\": %.2f, \"cache_hit_pct\": %.2f, "
				"\"megaflow_hit_pct\": %.2f, \"subtables_per_lookup\": %.2f, "
				"\"flows\": %u, \"masks\": %u, \"window_s\": %.3f, "
				"\"packets\": %llu, \"contended\": %s, \"time\": %lld}\n",
				o.flows, o.masks, mpps, cpp, cpp * oncpu, steal, foreign, hit,
				lookups ? 100.0 * (double)(fs1.megaflow_hits - fs0.megaflow_hits) /
						(double)lookups
					: 0,
				spl, o.flows, o.masks, t1 - t0, (unsigned long long)tx,
				steal >= 5 || foreign >= 15 ? "true" : "false",
				(long long)time(NULL));
			fclose(f);
		}
	}
	dp_fini();
	mem_fini();
	return 0;

err_stats:
	fprintf(stderr, "bench_flow: %s\n", err.msg);
	dp_fini();
	return 1;
}
