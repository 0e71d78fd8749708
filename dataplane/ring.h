// SPDX-License-Identifier: Apache-2.0
// Lock-free bounded FIFO of pointers, single- or multi-producer/consumer per end, with bulk
// (all-or-nothing) and burst (best-effort) operations. Backs mempools and worker<->control queues.
#ifndef VSWITCH_RING_H
#define VSWITCH_RING_H

#include <stdbool.h>

#include "dataplane/compiler.h"

// Multi-producer/consumer ends publish in reservation order: a thread preempted between its
// reservation and its publication holds up the others on that end (they spin briefly, then
// yield). Pinned workers are the intended users; the control thread may use them too.
#define RING_F_SP_ENQ 0x1 // only one thread ever enqueues
#define RING_F_SC_DEQ 0x2 // only one thread ever dequeues

struct ring;

// Creates a ring holding up to `count` pointers (any count >= 1, at most 2^28), memory on
// `numa_node` (-1: any). NULL + errno (EINVAL, ENOMEM) on failure. `name` is copied.
struct ring *ring_create(const char *name, unsigned count, int numa_node, unsigned flags);
void ring_destroy(struct ring *r); // NULL is a no-op

// _bulk: all n or nothing, returns n or 0. _burst: as many as fit, returns the count.
// free_space / available (may be NULL) get the space/entries left after the operation.
unsigned ring_enqueue_bulk(struct ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned ring_enqueue_burst(struct ring *r, void *const *objs, unsigned n, unsigned *free_space);
unsigned ring_dequeue_bulk(struct ring *r, void **objs, unsigned n, unsigned *available);
unsigned ring_dequeue_burst(struct ring *r, void **objs, unsigned n, unsigned *available);

unsigned ring_count(const struct ring *r);
unsigned ring_free_count(const struct ring *r);
unsigned ring_capacity(const struct ring *r);
const char *ring_name(const struct ring *r);

#endif
