// SPDX-License-Identifier: Apache-2.0
// PMD worker threads: the poll loop, tx batch flushing and per-worker counters; see worker.h for
// how it works.
#include "dataplane/worker.h"

#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/compiler.h"
#include "dataplane/mempool.h"
#include "dataplane/rcu.h"

STATIC_ASSERT(WORKER_MAX <= RCU_MAX_READERS, "one RCU slot per worker");
STATIC_ASSERT(WORKER_MAX <= MEMPOOL_MAX_CACHES, "one mempool cache slot per worker");
STATIC_ASSERT(PORT_MAX % 64 == 0, "tx_pending is a bitmap of 64-bit words");

// Published counters: worker: rw (relaxed, single writer), control: ro (relaxed).
struct worker_pub {
	_Atomic uint64_t iterations;
	_Atomic uint64_t busy_cycles;
	_Atomic uint64_t idle_cycles;
	_Atomic uint64_t packets;
	_Atomic uint64_t rx_batches;
	_Atomic uint64_t tx_packets;
	_Atomic uint64_t tx_drops;
} __cache_aligned;

struct worker {
	unsigned id;
	int core;
	int numa;
	unsigned idle_sleep_us;
	pthread_t thread;
	bool running; // control-private: thread created and not joined
	_Atomic bool stop; // worker: ro, control: rw (relaxed: only ends the loop)
	_Atomic unsigned stall_ms; // test hook: worker: rw (takes it), control: rw (relaxed)
	// worker: ro (load-acquire), control: rw (store-release); freed after an RCU grace period.
	_Atomic(const struct worker_plan *) plan;
	struct worker_pub pub;
	// Busy cycles per (port, queue): worker: rw (relaxed), control: ro (relaxed).
	_Atomic uint64_t (*rxq_cycles)[PORT_MAX_QUEUES];
	// Everything below is worker-private while the thread runs.
	struct pl_ctx ctx;
	uint64_t tx_pending[PORT_MAX / 64];
	uint64_t tx_packets;
	uint64_t tx_drops;
} __cache_aligned;

// Serialises tx_burst on shared tx queues; see worker.h. Workers only.
struct worker_txlock {
	_Atomic bool lock[PORT_MAX_QUEUES];
} __cache_aligned;

static struct worker *workers[WORKER_MAX];
static unsigned worker_n;
static struct worker_txlock worker_txlocks[PORT_MAX];
// worker: ro (load-acquire), control: rw (store-release).
static _Atomic(const struct pl_snapshot *) worker_snap;
static uint64_t worker_hz;

// Single-writer counter update: a relaxed load and store, no locked instruction.
static inline void worker_ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(
		c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static void *worker_zalloc(size_t size, int node)
{
	void *p;

	if (numa_available() >= 0) {
		// numa_alloc_onnode() maps fresh (zeroed) pages on the node.
		p = numa_alloc_onnode(size, node);
		return p;
	}
	p = aligned_alloc(CACHE_LINE_SIZE, ALIGN_UP(size, CACHE_LINE_SIZE));
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

static void worker_zfree(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (numa_available() >= 0)
		numa_free(p, size);
	else
		free(p);
}

static void worker_txlock_take(_Atomic bool *l)
{
	// Pairs with the store-release in worker_txlock_release().
	while (atomic_exchange_explicit(l, true, memory_order_acquire)) {
		while (atomic_load_explicit(l, memory_order_relaxed))
			cpu_relax();
	}
}

static void worker_txlock_release(_Atomic bool *l)
{
	// Pairs with the exchange-acquire in worker_txlock_take().
	atomic_store_explicit(l, false, memory_order_release);
}

// Sends the tx batch of port_id (pl_ctx.flush). Worker thread.
static void worker_flush(struct pl_ctx *ctx, uint16_t port_id)
{
	struct worker *w = container_of(ctx, struct worker, ctx);
	struct pl_txbuf *tb = &ctx->tx[port_id];
	const struct port_fp *fp = &port_fp[port_id];
	uint16_t n = tb->n, sent;
	unsigned q;

	tb->n = 0;
	ctx->tx_pending[port_id / 64] &= ~(1ULL << (port_id % 64));
	if (unlikely(n == 0))
		return;
	if (unlikely(fp->n_txq == 0 || fp->tx_burst == NULL)) {
		pkt_free_bulk(tb->pkts, n);
		w->tx_drops += n;
		return;
	}
	q = w->id % fp->n_txq;
	if (fp->txq_shared || fp->n_txq < worker_n) {
		_Atomic bool *l = &worker_txlocks[port_id].lock[q];

		worker_txlock_take(l);
		sent = fp->tx_burst(fp->txq[q], tb->pkts, n);
		worker_txlock_release(l);
	} else {
		sent = fp->tx_burst(fp->txq[q], tb->pkts, n);
	}
	w->tx_packets += sent;
	w->tx_drops += n - sent;
}

static void worker_flush_all(struct pl_ctx *ctx)
{
	for (unsigned i = 0; i < PORT_MAX / 64; i++) {
		uint64_t m = ctx->tx_pending[i];

		while (m != 0) {
			unsigned b = (unsigned)__builtin_ctzll(m);

			m &= m - 1;
			worker_flush(ctx, (uint16_t)(i * 64 + b));
		}
	}
}

static void worker_idle_sleep(struct worker *w, unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};

	// Offline: we hold nothing (tx batches are flushed, plan/snapshot re-read after).
	rcu_offline(w->id);
	nanosleep(&ts, NULL);
	rcu_online(w->id);
}

// Test hook (worker_debug_stall): spins without iterating or quiescing, like a stuck worker.
static __noinline void worker_stall(struct worker *w)
{
	unsigned ms = atomic_exchange_explicit(&w->stall_ms, 0, memory_order_relaxed);
	uint64_t end = rdtsc() + worker_hz / 1000 * ms;

	while (rdtsc() < end && !atomic_load_explicit(&w->stop, memory_order_relaxed))
		cpu_relax();
}

static void worker_cache_flush(struct mempool *mp, void *arg)
{
	mempool_cache_flush(mp);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pl_ctx *ctx = &w->ctx;
	struct pkt *pkts[PKT_BURST];
	uint64_t idle_tsc = worker_hz / 1000000 * WORKER_IDLE_US;
	uint64_t idle_start = 0, next_sec_tsc, tsc;
	unsigned sleep_us = 0;
	uint32_t now_sec;
	struct timespec ts;

	mempool_thread_register((int)w->id);
	// Monotonic seconds for MAC aging, advanced from the TSC without system calls.
	clock_gettime(CLOCK_MONOTONIC, &ts);
	next_sec_tsc = rdtsc() + (uint64_t)(1000000000 - ts.tv_nsec) * (worker_hz / 1000) / 1000000;
	now_sec = (uint32_t)ts.tv_sec;
	tsc = rdtsc();

	while (!atomic_load_explicit(&w->stop, memory_order_relaxed)) {
		if (unlikely(atomic_load_explicit(&w->stall_ms, memory_order_relaxed) != 0))
			worker_stall(w);
		// Pairs with the store-release in worker_plan_set()/worker_snapshot_set().
		const struct worker_plan *plan =
			atomic_load_explicit(&w->plan, memory_order_acquire);
		uint64_t busy = 0, idle = 0, packets = 0, batches = 0;
		unsigned n_rxq = plan != NULL ? plan->n : 0;
		// rdtsc costs tens of cycles (more in some VMs): one per iteration, plus one per
		// busy burst only when several queues share the iteration's cycles.
		bool per_queue = n_rxq > 1;

		ctx->snap = atomic_load_explicit(&worker_snap, memory_order_acquire);
		for (unsigned it = 0; it < WORKER_QS_INTERVAL; it++) {
			uint64_t t0 = tsc, tq = t0, got = 0;
			const struct worker_rxq *last = NULL;

			while (t0 >= next_sec_tsc) {
				now_sec++;
				next_sec_tsc += worker_hz;
			}
			ctx->now_tsc = t0;
			ctx->now_sec = now_sec;
			for (unsigned i = 0; i < n_rxq; i++) {
				const struct worker_rxq *e = &plan->rxq[i];
				const struct port_fp *fp = &port_fp[e->port];
				uint16_t n;

				if (unlikely(e->queue >= fp->n_rxq))
					continue;
				n = fp->rx_burst(fp->rxq[e->queue], pkts, PKT_BURST);
				if (n == 0)
					continue;
				for (uint16_t j = 0; j < n; j++)
					prefetch0(pkt_data(pkts[j]));
				if (likely(ctx->snap != NULL))
					pl_process(ctx, e->port, pkts, n);
				else
					pkt_free_bulk(pkts, n);
				if (per_queue) {
					// Empty polls before this queue are charged to it.
					uint64_t t1 = rdtsc();

					worker_ctr_add(&w->rxq_cycles[e->port][e->queue], t1 - tq);
					tq = t1;
				}
				last = e;
				got += n;
				batches++;
			}
			worker_flush_all(ctx);
			tsc = rdtsc();
			if (got != 0) {
				busy += tsc - t0;
				// One queue: the whole iteration (tx flush included) is its cost.
				if (!per_queue)
					worker_ctr_add(
						&w->rxq_cycles[last->port][last->queue], tsc - t0);
			} else {
				idle += tsc - t0;
			}
			packets += got;
		}

		worker_ctr_add(&w->pub.iterations, WORKER_QS_INTERVAL);
		worker_ctr_add(&w->pub.busy_cycles, busy);
		worker_ctr_add(&w->pub.packets, packets);
		worker_ctr_add(&w->pub.rx_batches, batches);
		atomic_store_explicit(&w->pub.tx_packets, w->tx_packets, memory_order_relaxed);
		atomic_store_explicit(&w->pub.tx_drops, w->tx_drops, memory_order_relaxed);
		// Tx batches are empty and plan/snapshot are re-read at the top: we hold nothing.
		rcu_quiescent(w->id);

		if (w->idle_sleep_us != 0 && packets == 0) {
			uint64_t now = rdtsc();

			if (idle_start == 0) {
				idle_start = now;
			} else if (now - idle_start >= idle_tsc) {
				sleep_us = sleep_us == 0 ? 1 : MIN(sleep_us * 2, w->idle_sleep_us);
				worker_idle_sleep(w, sleep_us);
				tsc = rdtsc();
				idle += tsc - now;
			}
		} else {
			idle_start = 0;
			sleep_us = 0;
		}
		worker_ctr_add(&w->pub.idle_cycles, idle);
	}
	rcu_offline(w->id);
	// Return cached buffers so that in-use counts and a later owner of the slot start clean.
	// The control thread is blocked in worker_fini() joining us: the pool list cannot change.
	mempool_foreach(worker_cache_flush, NULL);
	mempool_thread_register(-1);
	return NULL;
}

static void worker_calibrate(void)
{
	struct timespec a, b, nap = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	uint64_t t0, t1, ns;

	if (worker_hz != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = rdtsc();
	nanosleep(&nap, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = rdtsc();
	ns = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (uint64_t)(b.tv_nsec - a.tv_nsec);
	worker_hz = ns != 0 ? (t1 - t0) * 1000000000 / ns : 0;
	// No usable TSC (non-x86): pretend 1 GHz so that periods stay finite.
	if (worker_hz < 1000000)
		worker_hz = 1000000000;
}

static void worker_destroy(struct worker *w)
{
	if (w == NULL)
		return;
	worker_zfree(w->rxq_cycles, sizeof(*w->rxq_cycles) * PORT_MAX);
	worker_zfree(w->ctx.tx, sizeof(*w->ctx.tx) * PORT_MAX);
	worker_zfree(w->ctx.ctr, sizeof(*w->ctx.ctr) * PORT_MAX);
	worker_zfree(w, sizeof(*w));
}

static struct worker *worker_create(unsigned id, const struct worker_config *cfg)
{
	int node = 0;
	struct worker *w;

	if (cfg->core >= 0 && numa_available() >= 0) {
		node = numa_node_of_cpu(cfg->core);
		if (node < 0)
			node = 0;
	}
	w = worker_zalloc(sizeof(*w), node);
	if (w == NULL)
		return NULL;
	w->id = id;
	w->core = cfg->core;
	w->numa = node;
	w->idle_sleep_us = cfg->idle_sleep_us;
	w->rxq_cycles = worker_zalloc(sizeof(*w->rxq_cycles) * PORT_MAX, node);
	w->ctx.tx = worker_zalloc(sizeof(*w->ctx.tx) * PORT_MAX, node);
	w->ctx.ctr = worker_zalloc(sizeof(*w->ctx.ctr) * PORT_MAX, node);
	if (w->rxq_cycles == NULL || w->ctx.tx == NULL || w->ctx.ctr == NULL) {
		worker_destroy(w);
		errno = ENOMEM;
		return NULL;
	}
	w->ctx.worker = id;
	w->ctx.tx_pending = w->tx_pending;
	w->ctx.flush = worker_flush;
	return w;
}

static int worker_spawn(struct worker *w, struct err *err)
{
	pthread_attr_t attr;
	char name[16];
	int ret;

	if ((ret = pthread_attr_init(&attr)) != 0)
		return err_set(err, -ret, "", "worker %u: %s", w->id, strerror(ret));
	if (w->core >= 0) {
		cpu_set_t set;

		if (w->core >= CPU_SETSIZE) {
			pthread_attr_destroy(&attr);
			return err_set(err, -EINVAL, "worker-cores",
				"worker %u: CPU %d does not exist", w->id, w->core);
		}
		CPU_ZERO(&set);
		CPU_SET(w->core, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	}
	ret = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	if (ret != 0) {
		return err_set(err, -ret, "worker-cores", "worker %u: cannot start on CPU %d: %s",
			w->id, w->core, strerror(ret));
	}
	w->running = true;
	snprintf(name, sizeof(name), "pmd%u", w->id);
	pthread_setname_np(w->thread, name);
	return 0;
}

int worker_init(unsigned n, const struct worker_config *cfg, struct err *err)
{
	int ret;

	if (worker_n != 0)
		return err_set(err, -EBUSY, "", "workers already started");
	if (n == 0 || n > WORKER_MAX) {
		return err_set(
			err, -EINVAL, "workers", "%u workers: expected 1 to %d", n, WORKER_MAX);
	}
	worker_calibrate();
	for (unsigned i = 0; i < n; i++) {
		workers[i] = worker_create(i, &cfg[i]);
		if (workers[i] == NULL) {
			ret = err_set(err, -ENOMEM, "", "worker %u: out of memory", i);
			goto err_workers;
		}
	}
	// Set before any thread runs: the tx lock decision depends on it.
	worker_n = n;
	for (unsigned i = 0; i < n; i++) {
		if ((ret = rcu_register(i)) < 0) {
			ret = err_set(err, ret, "", "worker %u: RCU reader slot busy", i);
			goto err_workers;
		}
		if ((ret = worker_spawn(workers[i], err)) < 0) {
			rcu_unregister(i);
			goto err_workers;
		}
	}
	return 0;

err_workers:
	worker_fini();
	return ret;
}

void worker_fini(void)
{
	for (unsigned i = 0; i < WORKER_MAX; i++) {
		if (workers[i] != NULL)
			atomic_store_explicit(&workers[i]->stop, true, memory_order_relaxed);
	}
	for (unsigned i = 0; i < WORKER_MAX; i++) {
		struct worker *w = workers[i];

		if (w == NULL)
			continue;
		if (w->running) {
			pthread_join(w->thread, NULL);
			rcu_unregister(i);
		}
		worker_destroy(w);
		workers[i] = NULL;
	}
	worker_n = 0;
}

unsigned worker_count(void)
{
	return worker_n;
}

int worker_core(unsigned id)
{
	return id < worker_n ? workers[id]->core : -1;
}

int worker_numa(unsigned id)
{
	return id < worker_n ? workers[id]->numa : 0;
}

const struct worker_plan *worker_plan_set(unsigned id, const struct worker_plan *plan)
{
	if (id >= worker_n)
		return plan;
	// Pairs with the load-acquire at the top of the worker's block.
	return atomic_exchange_explicit(&workers[id]->plan, plan, memory_order_acq_rel);
}

const struct worker_plan *worker_plan_get(unsigned id)
{
	if (id >= worker_n)
		return NULL;
	return atomic_load_explicit(&workers[id]->plan, memory_order_relaxed);
}

const struct pl_snapshot *worker_snapshot_set(const struct pl_snapshot *snap)
{
	// Pairs with the load-acquire at the top of the worker's block.
	return atomic_exchange_explicit(&worker_snap, snap, memory_order_acq_rel);
}

void worker_stats_get(unsigned id, struct worker_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (id >= worker_n)
		return;
	struct worker_pub *p = &workers[id]->pub;

	st->iterations = atomic_load_explicit(&p->iterations, memory_order_relaxed);
	st->busy_cycles = atomic_load_explicit(&p->busy_cycles, memory_order_relaxed);
	st->idle_cycles = atomic_load_explicit(&p->idle_cycles, memory_order_relaxed);
	st->packets = atomic_load_explicit(&p->packets, memory_order_relaxed);
	st->rx_batches = atomic_load_explicit(&p->rx_batches, memory_order_relaxed);
	st->tx_packets = atomic_load_explicit(&p->tx_packets, memory_order_relaxed);
	st->tx_drops = atomic_load_explicit(&p->tx_drops, memory_order_relaxed);
}

uint64_t worker_rxq_cycles(unsigned id, uint16_t port, uint16_t queue)
{
	if (id >= worker_n || port >= PORT_MAX || queue >= PORT_MAX_QUEUES)
		return 0;
	return atomic_load_explicit(&workers[id]->rxq_cycles[port][queue], memory_order_relaxed);
}

void worker_port_counters(uint16_t port, struct pl_port_counters *out)
{
	uint64_t *o = (uint64_t *)out;
	const size_t n = sizeof(*out) / sizeof(uint64_t);

	memset(out, 0, sizeof(*out));
	if (port >= PORT_MAX)
		return;
	for (unsigned i = 0; i < worker_n; i++) {
		uint64_t *c = (uint64_t *)&workers[i]->ctx.ctr[port];

		// The pipeline bumps these with plain stores (single writer); an aligned 64-bit
		// relaxed load never tears.
		for (size_t k = 0; k < n; k++)
			o[k] += __atomic_load_n(&c[k], __ATOMIC_RELAXED);
	}
}

int worker_debug_stall(unsigned id, unsigned ms)
{
	if (id >= worker_n)
		return -ENOENT;
	atomic_store_explicit(&workers[id]->stall_ms, ms, memory_order_relaxed);
	return 0;
}

uint64_t worker_tsc_hz(void)
{
	worker_calibrate();
	return worker_hz;
}
