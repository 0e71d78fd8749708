// SPDX-License-Identifier: Apache-2.0
// Rx queue scheduling: which worker polls which (port, queue). A pure function on arrays (no
// globals, no threads) so that every policy is unit-testable; dp.c feeds it the measured loads and
// publishes the result (see docs/datapath.md, "Rx queue assignment").
//
// Policies:
//   cycles      rx queues sorted by measured busy cycles, heaviest first; each goes to the
//               least-loaded eligible worker (ties: fewer queues, then lower id).
//   round-robin queues in the given order go to the eligible worker with the fewest queues
//               (ties: lower id), which is round-robin when the workers start empty.
// Eligible workers: those on the port's NUMA node when there is one, else all of them.
// Pinning (port option rxq-affinity=Q:W): a pinned queue always goes to its worker, and a worker
// with pinned queues is isolated: it gets no other queue (as OVS pmd-rxq-isolate=true), so that
// pinning a heavy queue really gives it a core. Exception: when every worker is isolated, the
// unpinned queues are spread over all workers rather than left unpolled.
#ifndef VSWITCH_RXQ_SCHED_H
#define VSWITCH_RXQ_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum rxq_sched_mode {
	RXQ_SCHED_CYCLES,
	RXQ_SCHED_ROUNDROBIN,
};

struct rxq_sched_rxq {
	uint16_t port, queue; // identity; also the tie-break order
	int numa; // NUMA node of the port, -1 unknown
	int pinned; // worker from rxq-affinity, -1 none (a pin to a worker >= n_workers is ignored)
	uint64_t load; // measured busy cycles over the last interval (cycles policy)
	int cur; // worker polling it now, -1 none
	int worker; // out: assigned worker
};

struct rxq_sched_worker {
	int numa; // in: NUMA node of the worker's core, -1 unknown
	bool isolated; // out: has pinned queues, got no others
	uint64_t load; // out: sum of the loads assigned
	unsigned n_rxq; // out: queues assigned
};

// Assigns every rxq a worker. With `keep`, queues that have a current worker that may still
// poll them (exists, not isolated from them) stay there and only the others are placed: used
// when ports come and go, so that traffic on other queues is not moved. Without `keep`, the
// whole assignment is recomputed (rebalance, policy change).
// Returns the number of rxqs whose worker differs from `cur`, -EINVAL when n_workers is 0, or
// -ENOMEM.
int rxq_sched_assign(enum rxq_sched_mode mode, bool keep, struct rxq_sched_rxq *rxqs, unsigned n,
	struct rxq_sched_worker *workers, unsigned n_workers);

// Highest worker load of an assignment (the figure a rebalance tries to lower).
uint64_t rxq_sched_max_load(const struct rxq_sched_worker *workers, unsigned n_workers);

#endif
