// SPDX-License-Identifier: Apache-2.0
// The datapath manager's worker side (dp.h, dp_internal.h): which worker polls which rx queue
// (assignment by rxq_sched.c, periodic and on-demand rebalancing by measured load), the per-queue
// load measurement, worker health, and the pmd.* statistics.
#include "dataplane/dp_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/log.h"
#include "dataplane/rcu.h"
#include "dataplane/rxq_sched.h"
#include "dataplane/worker.h"

LOG_MODULE("dp");

// Control thread only; reset by dp_pmd_init() at every dp_init().
static struct {
	// Measurement interval of every rx queue: cycles and TSC at its start.
	uint64_t rxq_base[PORT_MAX][PORT_MAX_QUEUES];
	uint64_t rxq_base_tsc[PORT_MAX][PORT_MAX_QUEUES];
	struct worker_stats stats_base[DP_MAX_WORKERS]; // worker counters at the last pmd clear
	uint64_t alive_prev[DP_MAX_WORKERS]; // loop iterations at the last dp_workers_alive()
	bool alive_primed;
	uint64_t pps_prev_pkts;
	uint64_t pps_prev_ns;
	uint64_t next_rebalance_ns;
} pmd;

// Scratch for dp_pmd_assign(): the rx queues of the last assignment, with loads and workers.
static struct rxq_sched_rxq dp_rxq_buf[PORT_MAX * PORT_MAX_QUEUES];
static unsigned dp_rxq_n;

static uint64_t dp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static uint64_t dp_rxq_cycles(uint16_t port, uint16_t queue)
{
	uint64_t sum = 0;

	for (unsigned w = 0; w < worker_count(); w++)
		sum += worker_rxq_cycles(w, port, queue);
	return sum;
}

void dp_pmd_rxq_reset(uint16_t id)
{
	uint64_t now = rdtsc();

	for (uint16_t q = 0; q < PORT_MAX_QUEUES; q++) {
		pmd.rxq_base[id][q] = dp_rxq_cycles(id, q);
		pmd.rxq_base_tsc[id][q] = now;
	}
}

int dp_pmd_assign(bool keep, unsigned *moved)
{
	struct rxq_sched_worker workers[DP_MAX_WORKERS];
	enum rxq_sched_mode mode =
		dp.cfg.rxq_assign == DP_RXQ_ROUNDROBIN ? RXQ_SCHED_ROUNDROBIN : RXQ_SCHED_CYCLES;
	unsigned n = 0, nw = worker_count(), mv = 0;
	int ret;

	for (uint16_t id = 0; id < PORT_MAX; id++) {
		const struct dp_port *p = dp.ports[id];

		if (p == NULL || !dp_port_live(p))
			continue;
		for (uint16_t q = 0; q < MIN(p->port->n_rxq, PORT_MAX_QUEUES); q++) {
			uint64_t c = dp_rxq_cycles(id, q);

			dp_rxq_buf[n++] = (struct rxq_sched_rxq){
				.port = id,
				.queue = q,
				.numa = p->port->numa_node,
				.pinned = p->cfg.affinity[q],
				.load = c >= pmd.rxq_base[id][q] ? c - pmd.rxq_base[id][q] : 0,
				.cur = dp.assign[id][q],
			};
		}
	}
	for (unsigned w = 0; w < nw; w++)
		workers[w] = (struct rxq_sched_worker){.numa = worker_numa(w)};
	dp_rxq_n = n;
	if ((ret = rxq_sched_assign(mode, keep, dp_rxq_buf, n, workers, nw)) < 0)
		return ret;
	memset(dp.assign, -1, sizeof(dp.assign));
	for (unsigned i = 0; i < n; i++) {
		const struct rxq_sched_rxq *r = &dp_rxq_buf[i];

		dp.assign[r->port][r->queue] = (int8_t)r->worker;
		mv += r->cur >= 0 && r->worker != r->cur;
	}
	if (moved != NULL)
		*moved = mv;
	return 0;
}

bool dp_workers_alive(void)
{
	bool alive = true;

	for (unsigned w = 0; w < worker_count(); w++) {
		struct worker_stats st;

		worker_stats_get(w, &st);
		if (pmd.alive_primed && st.iterations == pmd.alive_prev[w])
			alive = false;
		pmd.alive_prev[w] = st.iterations;
	}
	pmd.alive_primed = true;
	return alive;
}

double dp_rx_pps(void)
{
	uint64_t pkts = 0, now = dp_now_ns(), dt;
	double pps;

	for (unsigned w = 0; w < worker_count(); w++) {
		struct worker_stats st;

		worker_stats_get(w, &st);
		pkts += st.packets;
	}
	dt = now - pmd.pps_prev_ns;
	pps = dt != 0 && pkts >= pmd.pps_prev_pkts ? (double)(pkts - pmd.pps_prev_pkts) * 1e9 / dt
						   : 0;
	pmd.pps_prev_pkts = pkts;
	pmd.pps_prev_ns = now;
	return pps;
}

// Starts a new measurement interval for every rx queue.
static void dp_rxq_intervals_reset(void)
{
	for (uint16_t id = 0; id < PORT_MAX; id++) {
		if (dp.ports[id] != NULL)
			dp_pmd_rxq_reset(id);
	}
}

// Busiest worker's load in dp_rxq_buf, under the previous (cur) or the new (worker) assignment.
static uint64_t dp_max_load(bool previous)
{
	uint64_t load[DP_MAX_WORKERS] = {0}, max = 0;

	for (unsigned i = 0; i < dp_rxq_n; i++) {
		int w = previous ? dp_rxq_buf[i].cur : dp_rxq_buf[i].worker;

		if (w >= 0)
			load[w] += dp_rxq_buf[i].load;
	}
	for (unsigned w = 0; w < worker_count(); w++)
		max = MAX(max, load[w]);
	return max;
}

static void dp_auto_rebalance(void)
{
	static int8_t saved[PORT_MAX][PORT_MAX_QUEUES];
	uint64_t before, after;
	unsigned moved;

	memcpy(saved, dp.assign, sizeof(saved));
	if (dp_pmd_assign(false, &moved) < 0)
		return;
	before = dp_max_load(true);
	after = dp_max_load(false);
	if (moved == 0 || after * 100 > before * (100 - DP_REBALANCE_MIN_GAIN)) {
		memcpy(dp.assign, saved, sizeof(saved));
	} else {
		LOG(INFO, "rebalancing rx queues: %u moved, busiest worker load %.0f%% of before",
			moved, before != 0 ? 100.0 * (double)after / (double)before : 0.0);
		if (dp_publish() < 0)
			dp.republish = true;
	}
	dp_rxq_intervals_reset();
}

void dp_pmd_init(void)
{
	memset(&pmd, 0, sizeof(pmd));
	pmd.pps_prev_ns = dp_now_ns();
	pmd.next_rebalance_ns =
		pmd.pps_prev_ns + (uint64_t)dp.cfg.rebalance_interval_s * 1000000000;
}

void dp_pmd_run(void)
{
	uint64_t now;

	if (dp.cfg.rebalance_interval_s == 0 || dp.cfg.rxq_assign != DP_RXQ_CYCLES)
		return;
	now = dp_now_ns();
	if (now < pmd.next_rebalance_ns)
		return;
	pmd.next_rebalance_ns = now + (uint64_t)dp.cfg.rebalance_interval_s * 1000000000;
	dp_auto_rebalance();
}

unsigned dp_pmd_stats_get(struct dp_pmd_stats *out, unsigned max)
{
	unsigned nw = worker_count();

	for (unsigned w = 0; w < nw && w < max; w++) {
		const struct worker_stats *b = &pmd.stats_base[w];
		struct worker_stats st;

		worker_stats_get(w, &st);
		out[w] = (struct dp_pmd_stats){
			.worker = w,
			.core = worker_core(w),
			.numa = worker_numa(w),
			.iterations = st.iterations - b->iterations,
			.busy_cycles = st.busy_cycles - b->busy_cycles,
			.idle_cycles = st.idle_cycles - b->idle_cycles,
			.packets = st.packets - b->packets,
			.rx_batches = st.rx_batches - b->rx_batches,
			.tx_packets = st.tx_packets - b->tx_packets,
			.tx_drops = st.tx_drops - b->tx_drops,
		};
	}
	return nw;
}

void dp_pmd_stats_clear(void)
{
	for (unsigned w = 0; w < worker_count(); w++)
		worker_stats_get(w, &pmd.stats_base[w]);
	dp_rxq_intervals_reset();
}

unsigned dp_pmd_rxq_get(struct dp_rxq_info *out, unsigned max)
{
	uint64_t now = rdtsc();
	unsigned n = 0;

	for (unsigned w = 0; w < worker_count(); w++) {
		for (uint16_t id = 0; id < PORT_MAX; id++) {
			const struct dp_port *p = dp.ports[id];

			if (p == NULL)
				continue;
			for (uint16_t q = 0; q < PORT_MAX_QUEUES; q++) {
				uint64_t c, el;

				if (dp.assign[id][q] != (int8_t)w)
					continue;
				if (n < max) {
					c = dp_rxq_cycles(id, q);
					c = c >= pmd.rxq_base[id][q] ? c - pmd.rxq_base[id][q] : 0;
					el = now - pmd.rxq_base_tsc[id][q];
					out[n] = (struct dp_rxq_info){
						.worker = w,
						.port_id = id,
						.queue = q,
						.pinned = p->cfg.affinity[q] >= 0,
						.cycles = c,
						.busy_pct = el != 0
							? MIN(100.0, 100.0 * (double)c / (double)el)
							: 0,
					};
					snprintf(out[n].port, sizeof(out[n].port), "%s",
						p->port->name);
				}
				n++;
			}
		}
	}
	return n;
}

int dp_pmd_rebalance(unsigned *moved, struct err *err)
{
	int ret;

	if (!dp.init)
		return err_set(err, -EAGAIN, "", "datapath not initialised");
	rcu_poll();
	if ((ret = dp_pmd_assign(false, moved)) < 0)
		return err_set(
			err, ret, "", "cannot compute an rx queue assignment: %s", strerror(-ret));
	if (dp_publish() < 0) {
		dp.republish = true;
		return err_set(err, -ENOMEM, "", "out of memory publishing the new assignment");
	}
	dp_rxq_intervals_reset();
	return 0;
}

int dp_debug_stall_worker(unsigned worker, unsigned ms, struct err *err)
{
	if (ms < 1 || ms > 60000)
		return err_set(err, -EINVAL, "ms", "stall of %u ms: expected 1 to 60000", ms);
	if (worker_debug_stall(worker, ms) < 0) {
		return err_set(err, -ENOENT, "worker", "worker %u does not exist (workers 0-%u)",
			worker, worker_count() - 1);
	}
	LOG(WARN, "test hook: stalling worker %u for %u ms", worker, ms);
	return 0;
}
