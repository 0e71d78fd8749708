// SPDX-License-Identifier: Apache-2.0
// Poll-mode worker threads (PMDs): each polls the rx queues of its published plan, runs the
// pipeline on every burst and flushes the tx batches. dp.c is the only user.
//
// How it works. Worker N is a thread named "pmdN" pinned to one CPU, bound to mempool cache slot
// N and RCU reader slot N. Its loop runs blocks of WORKER_QS_INTERVAL iterations; at the start of
// a block it loads (acquire) its plan (the rx queues to poll) and the pipeline snapshot, both
// published by the control thread with a store-release. One iteration: for every rxq of the plan,
// rx_burst(32) from port_fp[], prefetch, pl_process(); then every tx batch the pipeline filled is
// sent with port_fp[].tx_burst on txq (worker id % n_txq). At the end of a block, holding no
// reference (tx batches are empty), it publishes its counters and passes a quiescent point
// (rcu_quiescent), so objects unpublished before can be freed. With idle_sleep_us set, a worker
// that found every queue empty for WORKER_IDLE_US goes offline for RCU, sleeps (doubling from
// 1 us up to idle_sleep_us) and comes back online. Nothing in the loop logs, allocates or makes a
// system call, except that sleep.
//
// Tx queue sharing: when a port marks txq_shared, or has fewer tx queues than there are workers
// (two workers map to the same txq), the flush takes a per-(port, txq) spinlock around tx_burst.
// The lock is held only for one tx_burst, is never nested and is taken by workers only.
//
// Counters: each worker writes its own counters (relaxed stores, single writer) and the control
// thread reads them (relaxed loads) and sums them; nobody resets them (clearing = the reader
// keeps a base to subtract), so there is no read-modify-write race.
#ifndef VSWITCH_WORKER_H
#define VSWITCH_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/pipeline.h"
#include "drivers/port.h"

#define WORKER_MAX 32 // == DP_MAX_WORKERS
#define WORKER_QS_INTERVAL 16 // iterations between quiescent points / counter publication
#define WORKER_IDLE_US 200 // all queues empty that long before an idle sleep

// The rx queues one worker polls: immutable once published.
struct worker_rxq {
	uint16_t port;
	uint16_t queue;
};

struct worker_plan {
	uint64_t generation;
	unsigned n;
	struct worker_rxq rxq[]; // n entries
};

struct worker_config {
	int core; // CPU to pin to, -1 unpinned
	unsigned idle_sleep_us; // 0: busy poll
};

// Worker-level counters (all monotonic since the worker started).
struct worker_stats {
	uint64_t iterations; // loop iterations, also the watchdog's progress counter
	uint64_t busy_cycles; // TSC cycles of iterations that received packets
	uint64_t idle_cycles; // TSC cycles of the others, including idle sleeps
	uint64_t packets; // packets received
	uint64_t rx_batches; // non-empty rx bursts
	uint64_t tx_packets; // packets tx_burst accepted
	uint64_t tx_drops; // packets tx_burst refused or with no tx queue
};

// Starts n workers (ids 0..n-1) with the given configs; each starts with an empty plan and no
// snapshot. 0 or -errno with err filled (bad core, thread creation). Control thread.
int worker_init(unsigned n, const struct worker_config *cfg, struct err *err);
// Stops and joins every worker (they go offline for RCU). Safe if worker_init failed or never ran.
void worker_fini(void);
unsigned worker_count(void);
int worker_core(unsigned id); // -1 when unpinned
int worker_numa(unsigned id); // NUMA node of its core (0 when unknown)

// Publishes a new plan for worker id (may be NULL = poll nothing) and returns the previous one,
// which the caller frees after an RCU grace period.
const struct worker_plan *worker_plan_set(unsigned id, const struct worker_plan *plan);
const struct worker_plan *worker_plan_get(unsigned id);
// Publishes the pipeline snapshot for all workers; returns the previous one (free after a grace
// period).
const struct pl_snapshot *worker_snapshot_set(const struct pl_snapshot *snap);

// Readers (control thread): counters as published at the worker's last quiescent point.
void worker_stats_get(unsigned id, struct worker_stats *st);
// Busy cycles spent on (port, queue) by worker id since it started.
uint64_t worker_rxq_cycles(unsigned id, uint16_t port, uint16_t queue);
// Sum over all workers of the pipeline counters of port id.
void worker_port_counters(uint16_t port, struct pl_port_counters *out);

// TSC frequency measured at worker_init (Hz).
uint64_t worker_tsc_hz(void);

// Test hook: worker id spins for ms milliseconds at its next block without iterating or passing
// quiescent points, as a stuck worker would (watchdog and grace-period timeout tests).
// -ENOENT for no such worker.
int worker_debug_stall(unsigned id, unsigned ms);

#endif
