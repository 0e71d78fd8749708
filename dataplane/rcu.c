// SPDX-License-Identifier: Apache-2.0
// QSBR grace periods and the control thread's deferred-free queue; see rcu.h for how it works.
#include "dataplane/rcu.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct rcu_reader rcu_readers[RCU_MAX_READERS];

// Counter values of every reader at one point in time (0 = offline or no reader).
struct rcu_snap {
	uint64_t ctr[RCU_MAX_READERS];
};

struct rcu_cb {
	struct rcu_cb *next;
	void (*fn)(void *arg);
	void *arg;
	struct rcu_snap snap;
};

// FIFO of deferred callbacks; control thread only.
static struct rcu_cb *rcu_head;
static struct rcu_cb **rcu_tail = &rcu_head;
static unsigned rcu_n_pending;

int rcu_register(unsigned id)
{
	struct rcu_reader *r;
	bool expected = false;

	if (id >= RCU_MAX_READERS)
		return -EINVAL;
	r = &rcu_readers[id];
	if (!atomic_compare_exchange_strong(&r->registered, &expected, true))
		return -EBUSY;
	// `next` survives unregistration so that a slot never shows the same value twice.
	if (r->next == 0)
		r->next = 1;
	rcu_online(id);
	return 0;
}

void rcu_unregister(unsigned id)
{
	if (id >= RCU_MAX_READERS)
		return;
	rcu_offline(id);
	atomic_store_explicit(&rcu_readers[id].registered, false, memory_order_release);
}

static void rcu_snapshot(struct rcu_snap *s)
{
	// Pairs with the fence in rcu_online(): our pointer store is visible to a reader that comes
	// online after we read its counter as 0.
	atomic_thread_fence(memory_order_seq_cst);
	for (unsigned i = 0; i < RCU_MAX_READERS; i++) {
		// Pairs with the store-release in rcu_quiescent()/rcu_offline().
		s->ctr[i] = atomic_load_explicit(&rcu_readers[i].ctr, memory_order_acquire);
	}
}

// True when every reader that was online at snapshot time has since changed its counter.
static bool rcu_snap_passed(const struct rcu_snap *s)
{
	for (unsigned i = 0; i < RCU_MAX_READERS; i++) {
		if (s->ctr[i] == 0)
			continue;
		// Pairs with the store-release in rcu_quiescent()/rcu_offline(): the reader's reads
		// of the old object happen before what we do after this load.
		if (atomic_load_explicit(&rcu_readers[i].ctr, memory_order_acquire) == s->ctr[i])
			return false;
	}
	return true;
}

int rcu_defer(void (*fn)(void *arg), void *arg)
{
	struct rcu_cb *cb = malloc(sizeof(*cb));

	if (cb == NULL)
		return -ENOMEM;
	cb->next = NULL;
	cb->fn = fn;
	cb->arg = arg;
	rcu_snapshot(&cb->snap);
	*rcu_tail = cb;
	rcu_tail = &cb->next;
	rcu_n_pending++;
	return 0;
}

unsigned rcu_poll(void)
{
	static bool polling;
	unsigned ran = 0;

	// A callback calling rcu_poll() again (through a helper) must not run its successors
	// before it has finished.
	if (polling)
		return 0;
	polling = true;

	// In order: stop at the first callback still waiting so that callbacks may depend on the
	// ones queued before them (a port's cleanup before its bridge's).
	while (rcu_head != NULL && rcu_snap_passed(&rcu_head->snap)) {
		struct rcu_cb *cb = rcu_head;

		rcu_head = cb->next;
		if (rcu_head == NULL)
			rcu_tail = &rcu_head;
		rcu_n_pending--;
		// The callback may rcu_defer() more work: the queue is consistent at this point.
		cb->fn(cb->arg);
		free(cb);
		ran++;
	}
	polling = false;
	return ran;
}

unsigned rcu_pending(void)
{
	return rcu_n_pending;
}

static uint64_t rcu_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

// Sleeps briefly so that a reader sharing our CPU gets to run.
static void rcu_nap(void)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 20000};

	nanosleep(&ts, NULL);
}

int rcu_synchronize(unsigned timeout_us)
{
	struct rcu_snap s;
	uint64_t deadline = rcu_now_us() + timeout_us;
	unsigned spins = 0;

	rcu_snapshot(&s);
	while (!rcu_snap_passed(&s)) {
		if (rcu_now_us() >= deadline)
			return -ETIMEDOUT;
		// Busy workers quiesce within microseconds: spin a little before sleeping.
		if (++spins < 64)
			cpu_relax();
		else
			rcu_nap();
	}
	return 0;
}

void rcu_barrier(void)
{
	while (rcu_head != NULL) {
		if (rcu_poll() == 0)
			rcu_nap();
	}
}
