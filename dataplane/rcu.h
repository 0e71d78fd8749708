// SPDX-License-Identifier: Apache-2.0
// Quiescent-state-based RCU (QSBR) between the control thread (writer) and the workers (readers):
// how the control thread frees an object that workers may still be reading without locks.
//
// How it works. Every reader (worker) owns a slot holding a 64-bit counter. While online, the
// reader holds references to RCU-protected objects only inside one poll iteration block; at the
// end of the block, holding nothing, it stores counter+1 (rcu_quiescent, store-release). A
// reader that sleeps (idle back-off) or exits stores 0 ("offline"): it holds nothing, so it never
// delays anybody. The writer unpublishes an object (atomic store of the new pointer), then calls
// rcu_defer(fn, arg): this records the value of every reader's counter at that moment. Once every
// counter has changed since (the reader passed a quiescent point, went offline or came back
// online, which implies it re-read the pointers) or was 0 to begin with, no reader can still see
// the old object and fn(arg) runs. Callbacks run from rcu_poll(), which the control loop calls
// from a 1-10 ms timer and which never blocks; they run in the order they were deferred, so a
// later callback may rely on an earlier one having run. rcu_synchronize() waits for one grace
// period with a bound (used where releasing a resource before returning matters, e.g. port
// removal), rcu_barrier() waits for everything, without bound (teardown, tests only).
//
// Memory ordering: a reader going online stores its counter then issues a seq_cst fence before
// loading any RCU pointer; the writer stores the new pointer and issues a seq_cst fence before
// reading the counters (rcu_defer / rcu_synchronize). One of the two always sees the other's
// store (the store-buffering pattern), so a reader seen offline cannot have loaded the old
// pointer. A quiescent store-release orders the reader's earlier loads before the counter change
// that the writer reads with load-acquire before freeing.
//
// Threads: rcu_quiescent/online/offline/register/unregister on the reader owning the slot; every
// other function on the control thread only.
#ifndef VSWITCH_RCU_H
#define VSWITCH_RCU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"

#define RCU_MAX_READERS 64

// One reader slot, written by its reader only. 0 = offline; non-zero values never repeat.
struct rcu_reader {
	_Atomic uint64_t ctr; // reader: rw (store-release/seq_cst), control: ro (load-acquire)
	_Atomic bool registered; // reader: rw, control: ro
	uint64_t next; // reader-private: next counter value to store
} __cache_aligned;

extern struct rcu_reader rcu_readers[RCU_MAX_READERS];

// Publish and read RCU pointers. `p` must be declared `_Atomic(T *)`.
#define rcu_assign_pointer(p, v) atomic_store_explicit(&(p), (v), memory_order_release)
#define rcu_dereference(p) atomic_load_explicit(&(p), memory_order_acquire)

// Claims slot `id` (< RCU_MAX_READERS) for the calling thread and goes online. -EINVAL for a bad
// id, -EBUSY when the slot is taken.
int rcu_register(unsigned id);
// Goes offline for good and releases the slot.
void rcu_unregister(unsigned id);

// Reader: "I hold no reference to any RCU-protected object right now".
static inline void rcu_quiescent(unsigned id)
{
	struct rcu_reader *r = &rcu_readers[id];

	// Pairs with the load-acquire in rcu_reader_passed(): our earlier reads happen before.
	atomic_store_explicit(&r->ctr, r->next++, memory_order_release);
	// And our later reads happen after (store-buffering with the writer's fence, as in
	// rcu_online()): without it a load of an RCU pointer that follows may be satisfied before
	// the new counter is visible, so the writer could see the counter move and free an object
	// this reader loaded just before the unpublish (x86 too reorders a store with a later
	// load).
	atomic_thread_fence(memory_order_seq_cst);
}

// Reader: stop being waited for (sleeping); the reader must not hold references while offline.
static inline void rcu_offline(unsigned id)
{
	// Pairs with the load-acquire in rcu_reader_passed().
	atomic_store_explicit(&rcu_readers[id].ctr, 0, memory_order_release);
}

// Reader: be waited for again; RCU pointers must be re-read after this returns.
static inline void rcu_online(unsigned id)
{
	struct rcu_reader *r = &rcu_readers[id];

	atomic_store_explicit(&r->ctr, r->next++, memory_order_relaxed);
	// Pairs with the fence in rcu_snapshot(): store-buffering, see the header comment.
	atomic_thread_fence(memory_order_seq_cst);
}

// Queues fn(arg) to run on the control thread once every reader online now has passed a
// quiescent point. fn may call rcu_defer() and rcu_synchronize(), not rcu_barrier(); an
// rcu_poll() from inside fn returns 0 (callbacks never nest).
// Returns 0 or -ENOMEM (then nothing is queued and the caller still owns arg).
int rcu_defer(void (*fn)(void *arg), void *arg);
// Runs the callbacks whose grace period has ended, in order; never blocks. Returns how many ran.
unsigned rcu_poll(void);
// Number of callbacks still waiting.
unsigned rcu_pending(void);
// Waits until every reader online now has passed a quiescent point, at most timeout_us.
// 0, or -ETIMEDOUT (some reader neither quiesced nor went offline: it is stuck or preempted).
int rcu_synchronize(unsigned timeout_us);
// Waits (sleeping) until every deferred callback ran, including ones they queue. Teardown/tests.
void rcu_barrier(void);

#endif
