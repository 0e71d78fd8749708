// SPDX-License-Identifier: Apache-2.0
// Unit tests for dataplane/dp.c with real workers and the null/pcap drivers (no hugepages, 1-2
// workers): option validation and error paths, forwarding through the pipeline, ports added and
// removed under traffic without leaks, rx queue moves under traffic that lose nothing (counted
// pcap replay), statistics and the configuration as applied.
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/dp.h"
#include "dataplane/log.h"
#include "dataplane/mempool.h"
#include "dataplane/rcu.h"

#define KV(k, v) ((struct port_kv){.key = (k), .value = (v)})

static unsigned hook_calls;

static void hook(void *arg)
{
	hook_calls++;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Sleeps while calling dp_run() every millisecond, as the daemon's timer does.
static void run_for(unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		dp_run();
		sleep_ms(1);
	}
}

// Waits until every removal and move finished (deferred work included): after this no worker
// uses anything that was unpublished, so counters of removed traffic are final.
static void settle(void)
{
	for (int i = 0; i < 5000 && rcu_pending() > 0; i++)
		run_for(1);
	ck_assert_uint_eq(rcu_pending(), 0);
}

static void start(unsigned n_workers)
{
	struct dp_config cfg = {
		.n_workers = n_workers,
		.control_core = -1,
		.n_pkts = 4096,
		.pkt_cache = 64,
	};
	struct err err = {0};

	for (unsigned i = 0; i < n_workers; i++)
		cfg.worker_cores[i] = -1;
	log_set_level(LOG_LVL_WARN);
	ck_assert_msg(dp_init(&cfg, &err) == 0, "dp_init: %s", err.msg);
	dp_set_change_hook(hook, NULL);
}

static void pool_cb(struct mempool *mp, void *arg)
{
	if (strncmp(mempool_name(mp), "pkt-node", 8) == 0)
		*(struct mempool **)arg = mp;
}

static struct mempool *pkt_pool(void)
{
	struct mempool *mp = NULL;

	mempool_foreach(pool_cb, &mp);
	ck_assert_ptr_nonnull(mp);
	return mp;
}

static void add_bridge(const char *name)
{
	struct err err = {0};

	ck_assert_msg(dp_bridge_add(name, NULL, 0, &err) == 0, "%s", err.msg);
}

static void add_port(
	const char *br, const char *name, const char *type, const struct port_kv *kv, unsigned n)
{
	struct err err = {0};

	ck_assert_msg(dp_port_add(br, name, type, kv, n, &err) == 0, "%s", err.msg);
}

// As add_port, but a name whose removal is still finishing (a worker was preempted past the
// bounded wait, likely on this shared 2-core box) is retried while dp_run() completes it.
static void add_port_retry(
	const char *br, const char *name, const char *type, const struct port_kv *kv, unsigned n)
{
	struct err err;
	int ret;

	for (int i = 0; i < 2000; i++) {
		err_clear(&err);
		if ((ret = dp_port_add(br, name, type, kv, n, &err)) != -EBUSY)
			break;
		dp_run();
		sleep_ms(1);
	}
	ck_assert_msg(ret == 0, "%s", err.msg);
}

static struct dp_port_stats port_stats(const char *name)
{
	struct dp_port_stats st;
	struct err err = {0};

	ck_assert_msg(dp_port_stats_get(name, &st, &err) == 0, "%s", err.msg);
	return st;
}

static uint64_t pl_drops(const struct pl_port_counters *c)
{
	return c->rx_drop_disabled + c->rx_drop_vlan + c->rx_drop_runt + c->rx_drop_no_bridge +
		c->tx_drop_mtu + c->tx_drop_nobuf + c->tx_drop_vlan + c->tx_drop_disabled;
}

// Sums of the worker counters.
static struct dp_pmd_stats pmd_total(void)
{
	struct dp_pmd_stats st[DP_MAX_WORKERS], t = {0};
	unsigned n = dp_pmd_stats_get(st, DP_MAX_WORKERS);

	for (unsigned i = 0; i < n; i++) {
		t.packets += st[i].packets;
		t.tx_packets += st[i].tx_packets;
		t.tx_drops += st[i].tx_drops;
		t.busy_cycles += st[i].busy_cycles;
		t.idle_cycles += st[i].idle_cycles;
		t.iterations += st[i].iterations;
		t.rx_batches += st[i].rx_batches;
	}
	return t;
}

START_TEST(test_init_errors)
{
	struct dp_config cfg = {.n_workers = 0, .control_core = -1};
	struct err err = {0};

	ck_assert_int_eq(dp_init(&cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "workers");
	cfg.n_workers = 2;
	cfg.worker_cores[0] = 1;
	cfg.worker_cores[1] = 1;
	err_clear(&err);
	ck_assert_int_eq(dp_init(&cfg, &err), -EINVAL);
	ck_assert_str_eq(err.field, "worker-cores");
	cfg.n_workers = 1;
	cfg.control_core = 1;
	err_clear(&err);
	ck_assert_int_eq(dp_init(&cfg, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "control"));
	cfg.control_core = -1;
	cfg.worker_cores[0] = 100000;
	err_clear(&err);
	ck_assert_int_eq(dp_init(&cfg, &err), -EINVAL);
	// Nothing works before a successful init.
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("br0", NULL, 0, &err), -EAGAIN);
	ck_assert_int_eq(dp_n_workers(), 0);
}
END_TEST

struct br_seen {
	unsigned n;
	char names[4][32];
	unsigned n_opts[4];
};

static void br_cb(const struct dp_bridge_conf *br, void *arg)
{
	struct br_seen *s = arg;

	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", br->name);
	s->n_opts[s->n++] = br->n_opts;
}

START_TEST(test_bridges)
{
	const struct port_kv good[] = {KV("mac-table-size", "1024"), KV("mac-aging", "10")};
	const struct port_kv bad_size[] = {KV("mac-table-size", "1")};
	const struct port_kv bad_aging[] = {KV("mac-aging", "x")};
	const struct port_kv unknown[] = {KV("colour", "blue")};
	const struct port_kv twice[] = {KV("mac-aging", "10"), KV("mac-aging", "20")};
	struct br_seen seen = {0};
	struct err err = {0};

	start(1);
	ck_assert_int_eq(dp_bridge_add("br0", good, 2, &err), 0);
	ck_assert_uint_eq(hook_calls, 1);
	ck_assert_int_eq(dp_bridge_add("br0", NULL, 0, &err), -EEXIST);
	ck_assert_str_eq(err.field, "name");
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("bad name", NULL, 0, &err), -EINVAL);
	ck_assert_str_eq(err.field, "name");
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("", NULL, 0, &err), -EINVAL);
	err_clear(&err);
	ck_assert_int_eq(
		dp_bridge_add("a-very-long-bridge-name-over-31-chars", NULL, 0, &err), -EINVAL);
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("br1", bad_size, 1, &err), -EINVAL);
	ck_assert_str_eq(err.field, "mac-table-size");
	ck_assert_ptr_nonnull(strstr(err.msg, "br1"));
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("br1", bad_aging, 1, &err), -EINVAL);
	ck_assert_str_eq(err.field, "mac-aging");
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("br1", unknown, 1, &err), -EINVAL);
	ck_assert_str_eq(err.field, "colour");
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_add("br1", twice, 2, &err), -EINVAL);
	ck_assert_str_eq(err.field, "mac-aging");
	// Failures change nothing and do not call the hook.
	ck_assert_uint_eq(hook_calls, 1);
	add_bridge("br1");
	dp_bridge_foreach(br_cb, &seen);
	ck_assert_uint_eq(seen.n, 2);
	ck_assert_str_eq(seen.names[0], "br0");
	ck_assert_uint_eq(seen.n_opts[0], 2);
	ck_assert_str_eq(seen.names[1], "br1");
	err_clear(&err);
	ck_assert_int_eq(dp_bridge_del("nope", &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "nope"));
	ck_assert_int_eq(dp_bridge_del("br0", NULL), 0);
	ck_assert_int_eq(dp_bridge_del("br0", NULL), -ENOENT);
	ck_assert_uint_eq(hook_calls, 3);
	dp_fini();
	// Teardown is not a configuration change.
	ck_assert_uint_eq(hook_calls, 3);
}
END_TEST

struct opt_case {
	struct port_kv kv[3];
	unsigned n;
	const char *field;
	int code;
};

START_TEST(test_port_option_errors)
{
	static const struct opt_case cases[] = {
		{{KV("tag", "0")}, 1, "tag", -EINVAL},
		{{KV("tag", "4096")}, 1, "tag", -EINVAL},
		{{KV("tag", "12x")}, 1, "tag", -EINVAL},
		{{KV("trunks", "abc")}, 1, "trunks", -EINVAL},
		{{KV("trunks", "30-20")}, 1, "trunks", -EINVAL},
		{{KV("trunks", "10,")}, 1, "trunks", -EINVAL},
		{{KV("trunks", "4096")}, 1, "trunks", -EINVAL},
		{{KV("vlan-mode", "hybrid")}, 1, "vlan-mode", -EINVAL},
		{{KV("tag", "10"), KV("trunks", "20")}, 2, "vlan-mode", -EINVAL},
		{{KV("vlan-mode", "access"), KV("trunks", "20")}, 2, "trunks", -EINVAL},
		{{KV("vlan-mode", "trunk"), KV("tag", "20")}, 2, "tag", -EINVAL},
		{{KV("vlan-mode", "native-untagged")}, 1, "tag", -EINVAL},
		{{KV("enabled", "maybe")}, 1, "enabled", -EINVAL},
		{{KV("mtu", "10")}, 1, "mtu", -EINVAL},
		{{KV("mtu", "9000")}, 1, "mtu", -EINVAL}, // data room of a 1500 max-mtu datapath
		{{KV("rxq-affinity", "0:5")}, 1, "rxq-affinity", -EINVAL},
		{{KV("rxq-affinity", "0:0,0:0")}, 1, "rxq-affinity", -EINVAL},
		{{KV("rxq-affinity", "16:0")}, 1, "rxq-affinity", -EINVAL},
		{{KV("rxq-affinity", "zero")}, 1, "rxq-affinity", -EINVAL},
		{{KV("colour", "blue")}, 1, "colour", -EINVAL}, // unknown to the null driver
		{{KV("tag", "5"), KV("tag", "6")}, 2, "tag", -EINVAL},
	};
	struct mempool *mp;
	struct err err = {0};
	unsigned base;

	start(1);
	add_bridge("br0");
	mp = pkt_pool();
	base = mempool_in_use(mp);
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		err_clear(&err);
		ck_assert_msg(dp_port_add("br0", "p1", "null", cases[i].kv, cases[i].n, &err) ==
				cases[i].code,
			"case %u: %s", i, err.msg);
		ck_assert_msg(strcmp(err.field, cases[i].field) == 0, "case %u: field '%s' (%s)", i,
			err.field, err.msg);
		ck_assert_msg(strstr(err.msg, "p1") != NULL, "case %u: message names the port: %s",
			i, err.msg);
	}
	err_clear(&err);
	ck_assert_int_eq(dp_port_add("nobr", "p1", "null", NULL, 0, &err), -ENOENT);
	ck_assert_str_eq(err.field, "bridge");
	ck_assert_ptr_nonnull(strstr(err.msg, "nobr"));
	err_clear(&err);
	ck_assert_int_lt(dp_port_add("br0", "p1", "no-such-type", NULL, 0, &err), 0);
	err_clear(&err);
	ck_assert_int_eq(dp_port_add("br0", "p1", "", NULL, 0, &err), -EINVAL);
	ck_assert_str_eq(err.field, "type");
	err_clear(&err);
	ck_assert_int_eq(dp_port_add("br0", "bad/name", "null", NULL, 0, &err), -EINVAL);
	ck_assert_str_eq(err.field, "name");
	ck_assert_uint_eq(dp_n_ports(), 0);
	ck_assert_uint_eq(hook_calls, 1);

	add_port("br0", "p1", "null", NULL, 0);
	err_clear(&err);
	ck_assert_int_eq(dp_port_add("br0", "p1", "null", NULL, 0, &err), -EEXIST);
	err_clear(&err);
	ck_assert_int_eq(dp_port_del("p9", &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "p9"));
	ck_assert_int_eq(dp_port_del("p1", NULL), 0);
	ck_assert_uint_eq(dp_n_ports(), 0);
	settle();
	ck_assert_uint_eq(mempool_in_use(mp), base);
	dp_fini();
}
END_TEST

START_TEST(test_forwarding)
{
	const struct port_kv sink[] = {KV("rx", "false")};
	const struct port_kv gen[] = {KV("dst-mac", "02:00:00:00:00:99")};
	struct dp_port_stats s1, s2;
	struct dp_pmd_stats t;
	struct mempool *mp;
	unsigned base;

	start(1);
	mp = pkt_pool();
	base = mempool_in_use(mp);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "null", gen, 1);
	run_for(300);
	s1 = port_stats("p1");
	s2 = port_stats("p2");
	ck_assert_uint_gt(s1.drv.rx_packets, 1000);
	ck_assert_uint_gt(s2.drv.tx_packets, 1000);
	// Unknown unicast is flooded to the only other member.
	ck_assert_uint_gt(s1.pl.flooded, 0);
	ck_assert_uint_gt(s1.pl.learned, 0);
	ck_assert_uint_eq(pl_drops(&s1.pl), 0);
	ck_assert_uint_eq(s2.drv.rx_packets, 0);
	ck_assert(dp_workers_alive());
	run_for(200);
	ck_assert(dp_workers_alive());
	ck_assert_double_gt(dp_rx_pps(), 1000.0);

	// Stop the generator: after the removal no worker touches p1 and counters are final.
	ck_assert_int_eq(dp_port_del("p1", NULL), 0);
	settle();
	t = pmd_total();
	s2 = port_stats("p2");
	ck_assert_uint_gt(t.packets, 1000);
	// Every received packet was sent to p2 or counted as a drop; nothing vanished.
	ck_assert_uint_eq(t.packets, t.tx_packets + t.tx_drops + pl_drops(&s2.pl));
	ck_assert_uint_eq(s2.drv.tx_packets, t.tx_packets);
	ck_assert_uint_gt(t.busy_cycles, 0);
	ck_assert_uint_ge(t.rx_batches, t.packets / PKT_BURST);
	ck_assert_int_eq(dp_port_del("p2", NULL), 0);
	settle();
	ck_assert_uint_eq(mempool_in_use(mp), base);
	dp_fini();
}
END_TEST

START_TEST(test_add_remove_under_traffic)
{
	const struct port_kv sink[] = {KV("rx", "false")};
	const struct port_kv gen[] = {KV("flows", "64"), KV("rxq", "2")};
	struct mempool *mp;
	unsigned base;
	uint64_t tx_before;

	start(2);
	mp = pkt_pool();
	base = mempool_in_use(mp);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "null", gen, 2);
	run_for(50);
	for (int i = 0; i < 30; i++) {
		double t0 = now_s();
		struct port *p;

		add_port_retry("br0", "p3", "null", sink, 1);
		add_port_retry("br0", "p4", "null", NULL, 0); // a second generator, flooding too
		run_for(5);
		p = dp_port_lookup("p3");
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq(dp_port_del("p3", NULL), 0);
		ck_assert_int_eq(dp_port_del("p4", NULL), 0);
		// Never blocks the caller for long, even when a preempted worker delays the grace
		// period past the bounded wait (the rest then finishes from dp_run()).
		ck_assert_double_lt(now_s() - t0, 1.0);
		ck_assert_ptr_null(dp_port_lookup("p3"));
	}
	tx_before = port_stats("p2").drv.tx_packets;
	run_for(20);
	ck_assert_uint_gt(port_stats("p2").drv.tx_packets, tx_before);
	ck_assert_int_eq(dp_bridge_del("br0", NULL), 0);
	ck_assert_uint_eq(dp_n_ports(), 0);
	settle();
	ck_assert_uint_eq(mempool_in_use(mp), base);
	dp_fini();
}
END_TEST

// Writes a pcap of n 60-byte IPv4/UDP frames from src to 02:00:00:00:00:02.
static void write_pcap(const char *path, unsigned n, uint8_t src)
{
	const uint32_t ghdr[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
	uint8_t frame[60] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, src, 0x08, 0x00, 0x45, 0, 0,
		46, 0, 0, 0, 0, 64, 17};
	uint32_t rh[4] = {0, 0, sizeof(frame), sizeof(frame)};
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fwrite(ghdr, sizeof(ghdr), 1, f);
	for (unsigned i = 0; i < n; i++) {
		rh[1] = i;
		fwrite(rh, sizeof(rh), 1, f);
		fwrite(frame, sizeof(frame), 1, f);
	}
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_reassign_under_traffic_loses_nothing)
{
	enum { N = 1000000 };
	char file[64], a0[] = "0:0", a1[] = "0:1";
	struct port_kv gen[] = {KV("rx", file)};
	const struct port_kv sink[] = {KV("rx", "false")};
	struct dp_port_stats s1, s2;
	unsigned moves = 0, moves_in_flight = 0;
	struct dp_rxq_info rxq[4];
	struct dp_pmd_stats t;
	double t0;

	snprintf(file, sizeof(file), "/tmp/test_dp_%d.pcap", (int)getpid());
	write_pcap(file, N, 1);
	start(2);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "pcap", gen, 1);
	unlink(file);
	// Move the replay queue from one worker to the other as fast as we can while it runs.
	t0 = now_s();
	do {
		struct port_kv aff = KV("rxq-affinity", moves % 2 ? a0 : a1);
		struct err err = {0};

		ck_assert_msg(dp_port_set("p1", &aff, 1, &err) == 0, "%s", err.msg);
		moves++;
		if (moves % 8 == 0) {
			unsigned moved;

			ck_assert_int_eq(dp_pmd_rebalance(&moved, NULL), 0);
		}
		// Give the queue time to be polled between moves (each move leaves it unpolled
		// for a grace period).
		run_for(2);
		s1 = port_stats("p1");
		moves_in_flight += s1.drv.rx_packets < N;
	} while (s1.drv.rx_packets < N && now_s() - t0 < 20);
	ck_assert_msg(moves_in_flight >= 4, "only %u moves while the replay ran", moves_in_flight);
	// Let the last bursts drain, then check the accounting: exactly N replayed, every one
	// received once by a worker and sent once (a queue polled by two workers at once would
	// replay frames twice or skip some).
	run_for(50);
	settle();
	s1 = port_stats("p1");
	s2 = port_stats("p2");
	t = pmd_total();
	ck_assert_uint_eq(s1.drv.rx_packets, N);
	ck_assert_uint_eq(t.packets, N);
	ck_assert_uint_eq(pl_drops(&s1.pl), 0);
	ck_assert_uint_eq(s2.drv.tx_packets + pl_drops(&s2.pl), N);
	ck_assert_uint_eq(t.tx_packets + t.tx_drops, N);

	// The last pin is what the plan shows.
	ck_assert_uint_eq(dp_pmd_rxq_get(rxq, ARRAY_SIZE(rxq)), 1);
	ck_assert_str_eq(rxq[0].port, "p1");
	ck_assert(rxq[0].pinned);
	ck_assert_uint_eq(rxq[0].worker, (moves - 1) % 2 ? 0 : 1);
	dp_fini();
}
END_TEST

START_TEST(test_rebalance_and_pmd_stats)
{
	const struct port_kv gen[] = {KV("rxq", "4"), KV("flows", "16")};
	const struct port_kv sink[] = {KV("rx", "false")};
	struct dp_rxq_info rxq[8];
	struct dp_pmd_stats st[2];
	unsigned n, moved, per_worker[2] = {0};

	start(2);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "null", gen, 2);
	n = dp_pmd_rxq_get(rxq, ARRAY_SIZE(rxq));
	ck_assert_uint_eq(n, 4);
	for (unsigned i = 0; i < n; i++) {
		ck_assert_str_eq(rxq[i].port, "p1");
		ck_assert(!rxq[i].pinned);
		per_worker[rxq[i].worker]++;
	}
	ck_assert_uint_eq(per_worker[0], 2);
	ck_assert_uint_eq(per_worker[1], 2);
	run_for(200);
	n = dp_pmd_rxq_get(rxq, ARRAY_SIZE(rxq));
	for (unsigned i = 0; i < n; i++) {
		ck_assert_uint_gt(rxq[i].cycles, 0);
		ck_assert_double_gt(rxq[i].busy_pct, 0.0);
		ck_assert_double_le(rxq[i].busy_pct, 100.0);
	}
	ck_assert_int_eq(dp_pmd_rebalance(&moved, NULL), 0);
	ck_assert_uint_le(moved, 4);
	ck_assert_uint_eq(dp_pmd_stats_get(st, 2), 2);
	for (unsigned w = 0; w < 2; w++) {
		ck_assert_uint_eq(st[w].worker, w);
		ck_assert_int_eq(st[w].core, -1);
		ck_assert_uint_gt(st[w].packets, 0);
		ck_assert_uint_gt(st[w].iterations, 0);
		ck_assert_uint_gt(st[w].busy_cycles, 0);
	}
	dp_pmd_stats_clear();
	dp_pmd_stats_get(st, 2);
	// Cleared: only what ran since (microseconds) remains.
	ck_assert_uint_lt(st[0].iterations, 1000000);
	run_for(50);
	dp_pmd_stats_get(st, 2);
	ck_assert_uint_gt(st[0].packets + st[1].packets, 0);
	dp_fini();
}
END_TEST

struct port_seen {
	unsigned n;
	char opts[256];
};

static void port_cb(const struct dp_port_conf *p, void *arg)
{
	struct port_seen *s = arg;
	size_t l;

	s->n++;
	if (strcmp(p->name, "p1") != 0)
		return;
	ck_assert_str_eq(p->bridge, "br0");
	ck_assert_str_eq(p->type, "null");
	s->opts[0] = '\0';
	for (unsigned i = 0; i < p->n_opts; i++) {
		l = strlen(s->opts);
		snprintf(s->opts + l, sizeof(s->opts) - l, "%s=%s;", p->opts[i].key,
			p->opts[i].value);
	}
}

START_TEST(test_port_set)
{
	const struct port_kv gen[] = {KV("size", "100"), KV("tag", "10")};
	const struct port_kv set1[] = {KV("tag", "20"), KV("enabled", "false"), KV("mtu", "1400")};
	const struct port_kv bad[] = {KV("tag", "20"), KV("trunks", "5")};
	const struct port_kv rm_tag[] = {KV("tag", ""), KV("vlan-mode", "trunk")};
	const struct port_kv drv[] = {KV("size", "200")};
	const struct port_kv rm_drv[] = {KV("size", "")};
	struct port_seen seen = {0};
	struct dp_port_info info;
	struct err err = {0};

	start(1);
	add_bridge("br0");
	add_port("br0", "p1", "null", gen, 2);
	ck_assert_int_eq(dp_port_info_get("p1", &info, NULL), 0);
	ck_assert(info.enabled);
	ck_assert_str_eq(info.type, "null");
	ck_assert_str_eq(info.bridge, "br0");
	ck_assert_int_eq(info.link, 1);
	ck_assert_uint_eq(info.n_rxq, 1);
	ck_assert_uint_eq(info.mtu, 1500);
	ck_assert_int_eq(info.state, PORT_S_STARTED);

	ck_assert_int_eq(dp_port_set("p1", set1, 3, &err), 0);
	ck_assert_int_eq(dp_port_info_get("p1", &info, NULL), 0);
	ck_assert(!info.enabled);
	ck_assert_uint_eq(info.mtu, 1400);
	dp_port_foreach(port_cb, &seen);
	ck_assert_str_eq(seen.opts, "size=100;tag=20;enabled=false;mtu=1400;");

	// Invalid combination: refused, nothing changes.
	ck_assert_int_eq(dp_port_set("p1", bad, 2, &err), -EINVAL);
	ck_assert_str_eq(err.field, "vlan-mode");
	dp_port_foreach(port_cb, &seen);
	ck_assert_str_eq(seen.opts, "size=100;tag=20;enabled=false;mtu=1400;");

	ck_assert_int_eq(dp_port_set("p1", rm_tag, 2, NULL), 0);
	dp_port_foreach(port_cb, &seen);
	ck_assert_str_eq(seen.opts, "size=100;enabled=false;mtu=1400;vlan-mode=trunk;");

	// The null driver cannot change options at run time; options stay as they were.
	err_clear(&err);
	ck_assert_int_eq(dp_port_set("p1", drv, 1, &err), -EOPNOTSUPP);
	ck_assert_str_eq(err.field, "size");
	err_clear(&err);
	ck_assert_int_eq(dp_port_set("p1", rm_drv, 1, &err), -EOPNOTSUPP);
	ck_assert_str_eq(err.field, "size");
	dp_port_foreach(port_cb, &seen);
	ck_assert_str_eq(seen.opts, "size=100;enabled=false;mtu=1400;vlan-mode=trunk;");
	err_clear(&err);
	ck_assert_int_eq(dp_port_set("nope", drv, 1, &err), -ENOENT);
	ck_assert_uint_eq(hook_calls, 4);
	dp_fini();
}
END_TEST

START_TEST(test_stats_clear_and_queues_changed)
{
	const struct port_kv sink[] = {KV("rx", "false")};
	struct dp_port_stats s;
	struct port *p1;
	uint64_t before;

	start(1);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "null", NULL, 0);
	run_for(100);
	before = port_stats("p2").drv.tx_packets;
	ck_assert_uint_gt(before, 0);
	ck_assert_int_eq(dp_stats_clear("p2", NULL), 0);
	s = port_stats("p2");
	ck_assert_uint_lt(s.drv.tx_packets, before);
	ck_assert_int_eq(dp_stats_clear(NULL, NULL), 0);
	ck_assert_uint_lt(port_stats("p1").pl.flooded, before);
	ck_assert_int_eq(dp_stats_clear("nope", NULL), -ENOENT);

	// A driver reporting new queues under traffic: re-published without a hitch.
	p1 = dp_port_lookup("p1");
	ck_assert_ptr_nonnull(p1);
	for (int i = 0; i < 50; i++)
		p1->queues_changed(p1);
	before = port_stats("p2").drv.tx_packets;
	run_for(50);
	ck_assert_uint_gt(port_stats("p2").drv.tx_packets, before);
	dp_fini();
}
END_TEST

START_TEST(test_idle_sleep_and_pinning)
{
	struct dp_config cfg = {
		.n_workers = 1,
		.control_core = -1,
		.worker_cores = {1},
		.idle_sleep_us = 500,
		.n_pkts = 1024,
	};
	struct dp_pmd_stats st;
	struct err err = {0};

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	ck_assert_msg(dp_init(&cfg, &err) == 0, "%s", err.msg);
	add_bridge("br0");
	run_for(100);
	dp_pmd_stats_get(&st, 1);
	ck_assert_int_eq(st.core, 1);
	// Idle with back-off: few iterations per second, nearly all idle.
	ck_assert_uint_lt(st.iterations, 2000000);
	ck_assert_uint_gt(st.idle_cycles, st.busy_cycles);
	ck_assert(dp_workers_alive());
	run_for(200);
	ck_assert(dp_workers_alive());
	// An offline (sleeping) worker does not hold grace periods: removal is immediate.
	ck_assert_int_eq(dp_bridge_del("br0", NULL), 0);
	dp_fini();
}
END_TEST

START_TEST(test_stalled_worker)
{
	const struct port_kv sink[] = {KV("rx", "false")};
	struct err err = {0};
	double t0;

	start(1);
	add_bridge("br0");
	add_port("br0", "p2", "null", sink, 1);
	add_port("br0", "p1", "null", NULL, 0);
	run_for(20);
	ck_assert_int_eq(dp_debug_stall_worker(0, 700, NULL), 0);
	sleep_ms(50);
	dp_workers_alive();
	sleep_ms(100);
	ck_assert(!dp_workers_alive());
	// The stuck worker holds the grace period: removal returns after the bounded wait and
	// finishes later; the name stays busy until then.
	t0 = now_s();
	ck_assert_int_eq(dp_port_del("p1", NULL), 0);
	ck_assert_double_lt(now_s() - t0, 0.3);
	ck_assert_ptr_null(dp_port_lookup("p1"));
	ck_assert_uint_gt(rcu_pending(), 0);
	ck_assert_int_eq(dp_port_add("br0", "p1", "null", NULL, 0, &err), -EBUSY);
	ck_assert_str_eq(err.field, "name");
	settle();
	ck_assert(dp_workers_alive());
	add_port("br0", "p1", "null", NULL, 0);
	err_clear(&err);
	ck_assert_int_eq(dp_debug_stall_worker(3, 10, &err), -ENOENT);
	ck_assert_str_eq(err.field, "worker");
	ck_assert_int_eq(dp_debug_stall_worker(0, 0, NULL), -EINVAL);
	dp_fini();
}
END_TEST

static Suite *dp_suite(void)
{
	Suite *s = suite_create("dp");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_bridges);
	tcase_add_test(tc, test_port_option_errors);
	tcase_add_test(tc, test_forwarding);
	tcase_add_test(tc, test_add_remove_under_traffic);
	tcase_add_test(tc, test_reassign_under_traffic_loses_nothing);
	tcase_add_test(tc, test_rebalance_and_pmd_stats);
	tcase_add_test(tc, test_port_set);
	tcase_add_test(tc, test_stats_clear_and_queues_changed);
	tcase_add_test(tc, test_idle_sleep_and_pinning);
	tcase_add_test(tc, test_stalled_worker);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
