// SPDX-License-Identifier: Apache-2.0
// Rx queue to worker assignment policies (cycles, round-robin, pinning); see rxq_sched.h.
#include "dataplane/rxq_sched.h"

#include <errno.h>
#include <stdlib.h>

// Heaviest first; equal loads in (port, queue) order so results are deterministic.
static int rxq_sched_cmp_load(const void *a, const void *b, void *arg)
{
	const struct rxq_sched_rxq *rxqs = arg;
	const struct rxq_sched_rxq *x = &rxqs[*(const unsigned *)a];
	const struct rxq_sched_rxq *y = &rxqs[*(const unsigned *)b];

	if (x->load != y->load)
		return x->load > y->load ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->queue < y->queue ? -1 : (x->queue > y->queue);
}

// True when worker w may take an unpinned queue.
static bool rxq_sched_open(const struct rxq_sched_worker *w, bool all_isolated)
{
	return all_isolated || !w->isolated;
}

// Picks the eligible worker for q: NUMA-local open workers if any, else all open workers.
static int rxq_sched_pick(enum rxq_sched_mode mode, const struct rxq_sched_rxq *q,
	const struct rxq_sched_worker *workers, unsigned n_workers, bool all_isolated)
{
	bool local = false;
	int best = -1;

	if (q->numa >= 0) {
		for (unsigned i = 0; i < n_workers; i++) {
			if (rxq_sched_open(&workers[i], all_isolated) && workers[i].numa == q->numa)
				local = true;
		}
	}
	for (unsigned i = 0; i < n_workers; i++) {
		const struct rxq_sched_worker *w = &workers[i];

		if (!rxq_sched_open(w, all_isolated) || (local && w->numa != q->numa))
			continue;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		const struct rxq_sched_worker *b = &workers[best];
		if (mode == RXQ_SCHED_CYCLES) {
			if (w->load < b->load || (w->load == b->load && w->n_rxq < b->n_rxq))
				best = (int)i;
		} else if (w->n_rxq < b->n_rxq) {
			best = (int)i;
		}
	}
	return best;
}

static void rxq_sched_give(struct rxq_sched_rxq *q, struct rxq_sched_worker *workers, int w)
{
	q->worker = w;
	workers[w].load += q->load;
	workers[w].n_rxq++;
}

int rxq_sched_assign(enum rxq_sched_mode mode, bool keep, struct rxq_sched_rxq *rxqs, unsigned n,
	struct rxq_sched_worker *workers, unsigned n_workers)
{
	bool all_isolated = true;
	unsigned *order = NULL;
	unsigned n_order = 0;
	int moved = 0;

	if (n_workers == 0)
		return -EINVAL;
	for (unsigned i = 0; i < n_workers; i++) {
		workers[i].isolated = false;
		workers[i].load = 0;
		workers[i].n_rxq = 0;
	}
	// Pinned queues first: they also decide which workers are isolated.
	for (unsigned i = 0; i < n; i++) {
		struct rxq_sched_rxq *q = &rxqs[i];

		q->worker = -1;
		if (q->pinned >= 0 && (unsigned)q->pinned < n_workers) {
			rxq_sched_give(q, workers, q->pinned);
			workers[q->pinned].isolated = true;
		}
	}
	for (unsigned i = 0; i < n_workers; i++)
		all_isolated = all_isolated && workers[i].isolated;

	// With keep, unpinned queues stay on a worker that is still open to them.
	if (keep) {
		for (unsigned i = 0; i < n; i++) {
			struct rxq_sched_rxq *q = &rxqs[i];

			if (q->worker >= 0 || q->cur < 0 || (unsigned)q->cur >= n_workers)
				continue;
			if (rxq_sched_open(&workers[q->cur], all_isolated))
				rxq_sched_give(q, workers, q->cur);
		}
	}

	if (n > 0) {
		order = malloc(n * sizeof(*order));
		if (order == NULL)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (rxqs[i].worker < 0)
			order[n_order++] = i;
	}
	if (mode == RXQ_SCHED_CYCLES && n_order > 1)
		qsort_r(order, n_order, sizeof(*order), rxq_sched_cmp_load, rxqs);
	for (unsigned i = 0; i < n_order; i++) {
		struct rxq_sched_rxq *q = &rxqs[order[i]];
		int w = rxq_sched_pick(mode, q, workers, n_workers, all_isolated);

		// n_workers > 0 and the all-isolated fallback guarantee a candidate.
		rxq_sched_give(q, workers, w);
	}
	free(order);

	for (unsigned i = 0; i < n; i++) {
		if (rxqs[i].worker != rxqs[i].cur)
			moved++;
	}
	return moved;
}

uint64_t rxq_sched_max_load(const struct rxq_sched_worker *workers, unsigned n_workers)
{
	uint64_t max = 0;

	for (unsigned i = 0; i < n_workers; i++)
		max = workers[i].load > max ? workers[i].load : max;
	return max;
}
