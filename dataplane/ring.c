// SPDX-License-Identifier: Apache-2.0
// Lock-free bounded ring of pointers (see ring.h). Each end has a head (reserved) and a tail
// (published) index; multi-producer/consumer ends reserve with a CAS on the head and publish in
// reservation order by waiting for the previous reserver's tail.
//
// How it works. Indices are free-running uint32_t counters; slot = index & mask. The storage
// size is the next power of two >= count, but the ring never holds more than `capacity` (= count)
// entries: free space = capacity - (prod.head - cons.tail). An enqueue:
//   1. reserves [head, head + n) by moving prod.head (plain store for SP, CAS for MP);
//   2. writes the pointers into the slots;
//   3. waits until prod.tail == its old head (earlier reservers have published), then
//      store-releases prod.tail = head + n.
// A dequeue does the same on the cons side and reads the slots. The acquire/release pairs:
//   - prod.tail store-release (enqueue step 3)  <->  prod.tail load-acquire in dequeue: the
//     consumer sees the slot contents written before the tail moved.
//   - cons.tail store-release (dequeue step 3)  <->  cons.tail load-acquire in enqueue: the
//     producer does not overwrite a slot before the consumer finished reading it.
//   - the wait for the previous reserver's tail loads with acquire, so that its slot writes
//     (reads) happen before our release store, and one acquire of the final tail covers all.
//   - head CAS (acq_rel) <-> head load-acquire by the next reserver on the same end: the
//     opposite tail it reads is never older than the one the previous reserver checked.
// Memory: ring_create places the ring on the requested node with libnuma (numa_alloc_onnode,
// page-granular) or, for node -1 or without NUMA support, with aligned_alloc. Rings never need
// DMA, so they do not use mem_alloc and work without mem_init().
#include "dataplane/ring.h"

#include <errno.h>
#include <numa.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_COUNT_MAX (1u << 28)
#define RING_NAME_SIZE 32
#define RING_SPINS_BEFORE_YIELD 1024

struct ring_headtail {
	_Atomic uint32_t head; // next index to reserve
	_Atomic uint32_t tail; // first index not yet published to the other end
	bool single; // SP or SC: no CAS, no wait
};

struct ring {
	char name[RING_NAME_SIZE];
	uint32_t size; // slots, power of two
	uint32_t mask; // size - 1
	uint32_t capacity; // usable entries (= count given at creation)
	unsigned flags;
	size_t alloc_size; // bytes, for numa_free
	bool numa_alloc; // true: numa_alloc_onnode, false: aligned_alloc
	// Producer and consumer indices on their own cache lines: producers and consumers run on
	// different cores and would otherwise bounce one line between them.
	struct ring_headtail prod __cache_aligned;
	struct ring_headtail cons __cache_aligned;
	void *slots[] __cache_aligned;
};

static uint32_t ring_pow2_ceil(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

struct ring *ring_create(const char *name, unsigned count, int numa_node, unsigned flags)
{
	struct ring *r;
	uint32_t size;
	size_t bytes;
	bool use_numa;

	if (name == NULL || count == 0 || count > RING_COUNT_MAX ||
		(flags & ~(RING_F_SP_ENQ | RING_F_SC_DEQ)) != 0 || numa_node < -1) {
		errno = EINVAL;
		return NULL;
	}
	size = ring_pow2_ceil(count);
	bytes = ALIGN_UP(sizeof(*r) + (size_t)size * sizeof(void *), CACHE_LINE_SIZE);
	use_numa = numa_node >= 0 && numa_available() >= 0;
	if (use_numa) {
		if (numa_node > numa_max_node()) {
			errno = EINVAL;
			return NULL;
		}
		// Page-aligned, so cache-aligned; pages are placed on the node at first touch.
		r = numa_alloc_onnode(bytes, numa_node);
	} else {
		r = aligned_alloc(CACHE_LINE_SIZE, bytes);
	}
	if (r == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->size = size;
	r->mask = size - 1;
	r->capacity = count;
	r->flags = flags;
	r->alloc_size = bytes;
	r->numa_alloc = use_numa;
	r->prod.single = (flags & RING_F_SP_ENQ) != 0;
	r->cons.single = (flags & RING_F_SC_DEQ) != 0;
	atomic_init(&r->prod.head, 0);
	atomic_init(&r->prod.tail, 0);
	atomic_init(&r->cons.head, 0);
	atomic_init(&r->cons.tail, 0);
	return r;
}

void ring_destroy(struct ring *r)
{
	if (r == NULL)
		return;
	if (r->numa_alloc)
		numa_free(r, r->alloc_size);
	else
		free(r);
}

// Copies n pointers into the slots starting at index idx, wrapping at the end of the storage.
static __always_inline void ring_copy_in(
	struct ring *r, uint32_t idx, void *const *objs, unsigned n)
{
	uint32_t start = idx & r->mask;
	unsigned first = MIN(n, r->size - start);

	for (unsigned i = 0; i < first; i++)
		r->slots[start + i] = objs[i];
	for (unsigned i = first; i < n; i++)
		r->slots[i - first] = objs[i];
}

static __always_inline void ring_copy_out(
	const struct ring *r, uint32_t idx, void **objs, unsigned n)
{
	uint32_t start = idx & r->mask;
	unsigned first = MIN(n, r->size - start);

	for (unsigned i = 0; i < first; i++)
		objs[i] = r->slots[start + i];
	for (unsigned i = first; i < n; i++)
		objs[i] = r->slots[i - first];
}

// Publishes [old_head, new_head) on one end: in reservation order for multi-thread ends.
static __always_inline void ring_publish(
	struct ring_headtail *ht, uint32_t old_head, uint32_t new_head)
{
	if (!ht->single) {
		unsigned spins = 0;
		// acquire: pairs with the release store of the previous reserver below, so its slot
		// accesses happen before ours are published.
		while (atomic_load_explicit(&ht->tail, memory_order_acquire) != old_head) {
			// The previous reserver was preempted between its reservation and
			// its publication (more runnable threads than cores: tests, a control
			// thread sharing a worker's core). Spinning would burn our whole time
			// slice while it waits for a CPU; yield instead. Pinned workers never
			// get here.
			if (++spins < RING_SPINS_BEFORE_YIELD)
				cpu_relax();
			else
				sched_yield();
		}
	}
	// release: pairs with the opposite end's acquire load of this tail (ring_move_*_head).
	atomic_store_explicit(&ht->tail, new_head, memory_order_release);
}

// Reserves up to n slots for the producer; returns the count reserved (0..n, n or 0 when
// `exact`) with *old_head set, and *free_left the free space left after the reservation.
static __always_inline unsigned ring_move_prod_head(
	struct ring *r, unsigned n, bool exact, uint32_t *old_head, unsigned *free_left)
{
	uint32_t head, cons_tail, free_n;
	unsigned got;

	// acquire (here and on CAS failure): pairs with the release part of the CAS that stored
	// this head, and orders this load before the cons.tail load below: a tail older than
	// the head would make the free space look larger than it is.
	head = atomic_load_explicit(&r->prod.head, memory_order_acquire);
	for (;;) {
		// acquire: pairs with the consumer's release store of cons.tail (ring_publish), so
		// the slots we are about to overwrite have been read.
		cons_tail = atomic_load_explicit(&r->cons.tail, memory_order_acquire);
		free_n = r->capacity + cons_tail - head;
		got = n <= free_n ? n : (exact ? 0 : free_n);
		if (got == 0) {
			*free_left = free_n;
			return 0;
		}
		if (r->prod.single) {
			// Only this thread writes prod.head; consumers never read it.
			atomic_store_explicit(&r->prod.head, head + got, memory_order_relaxed);
			break;
		}
		// acq_rel on success: release orders our cons.tail load before the new head, and
		// pairs with the next producer's acquire load of the head, so that producer's
		// cons.tail load returns at least the value we saw (its free-space check never
		// sees a tail older than the head it builds on). Slot contents are published by
		// prod.tail, not here. On failure head is reloaded (acquire) and space re-checked.
		if (atomic_compare_exchange_weak_explicit(&r->prod.head, &head, head + got,
			    memory_order_acq_rel, memory_order_acquire))
			break;
	}
	*old_head = head;
	*free_left = free_n - got;
	return got;
}

static __always_inline unsigned ring_move_cons_head(
	struct ring *r, unsigned n, bool exact, uint32_t *old_head, unsigned *avail_left)
{
	uint32_t head, prod_tail, avail;
	unsigned got;

	// acquire: as for producers, so that available entries are never over-estimated.
	head = atomic_load_explicit(&r->cons.head, memory_order_acquire);
	for (;;) {
		// acquire: pairs with the producer's release store of prod.tail (ring_publish), so
		// the slot contents are visible before we read them.
		prod_tail = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
		avail = prod_tail - head;
		got = n <= avail ? n : (exact ? 0 : avail);
		if (got == 0) {
			*avail_left = avail;
			return 0;
		}
		if (r->cons.single) {
			atomic_store_explicit(&r->cons.head, head + got, memory_order_relaxed);
			break;
		}
		// acq_rel: same reasoning as for producers, with prod.tail.
		if (atomic_compare_exchange_weak_explicit(&r->cons.head, &head, head + got,
			    memory_order_acq_rel, memory_order_acquire))
			break;
	}
	*old_head = head;
	*avail_left = avail - got;
	return got;
}

static __always_inline unsigned ring_enqueue(
	struct ring *r, void *const *objs, unsigned n, bool exact, unsigned *free_space)
{
	uint32_t head = 0;
	unsigned left;
	unsigned got = ring_move_prod_head(r, n, exact, &head, &left);

	if (got) {
		ring_copy_in(r, head, objs, got);
		ring_publish(&r->prod, head, head + got);
	}
	if (free_space)
		*free_space = left;
	return got;
}

static __always_inline unsigned ring_dequeue(
	struct ring *r, void **objs, unsigned n, bool exact, unsigned *available)
{
	uint32_t head = 0;
	unsigned left;
	unsigned got = ring_move_cons_head(r, n, exact, &head, &left);

	if (got) {
		ring_copy_out(r, head, objs, got);
		ring_publish(&r->cons, head, head + got);
	}
	if (available)
		*available = left;
	return got;
}

unsigned ring_enqueue_bulk(struct ring *r, void *const *objs, unsigned n, unsigned *free_space)
{
	return ring_enqueue(r, objs, n, true, free_space);
}

unsigned ring_enqueue_burst(struct ring *r, void *const *objs, unsigned n, unsigned *free_space)
{
	return ring_enqueue(r, objs, n, false, free_space);
}

unsigned ring_dequeue_bulk(struct ring *r, void **objs, unsigned n, unsigned *available)
{
	return ring_dequeue(r, objs, n, true, available);
}

unsigned ring_dequeue_burst(struct ring *r, void **objs, unsigned n, unsigned *available)
{
	return ring_dequeue(r, objs, n, false, available);
}

unsigned ring_count(const struct ring *r)
{
	// Snapshot for monitoring: the two tails are read at slightly different times, so clamp.
	uint32_t cons_tail = atomic_load_explicit(&r->cons.tail, memory_order_acquire);
	uint32_t prod_tail = atomic_load_explicit(&r->prod.tail, memory_order_acquire);
	uint32_t n = prod_tail - cons_tail;

	return n > r->capacity ? r->capacity : n;
}

unsigned ring_free_count(const struct ring *r)
{
	return r->capacity - ring_count(r);
}

unsigned ring_capacity(const struct ring *r)
{
	return r->capacity;
}

const char *ring_name(const struct ring *r)
{
	return r->name;
}
