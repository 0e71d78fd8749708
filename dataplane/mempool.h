// SPDX-License-Identifier: Apache-2.0
// Fixed-size object pools in hugepage memory on one NUMA node, with per-thread caches so workers
// allocate and free without touching the shared ring. In-use counters make leaks visible
// (mempool.list). Objects never straddle a page boundary (needed for IOVA-as-PA DMA).
#ifndef VSWITCH_MEMPOOL_H
#define VSWITCH_MEMPOOL_H

#include <stdint.h>

#include "dataplane/compiler.h"

#define MEMPOOL_MAX_CACHES 64 // cache slots = worker ids; unregistered threads use none
#define MEMPOOL_CACHE_MAX 512

struct mempool;

struct mempool_info {
	char name[32];
	unsigned n; // objects in the pool
	unsigned elt_size;
	unsigned cache_size;
	int numa_node;
	unsigned in_use; // handed out and not returned (cached objects count as free)
	uint64_t alloc_fail; // get_bulk calls that failed for lack of objects
};

// `obj_init` (may be NULL) runs once per object at creation (pkt pools set buffer pointers).
struct mempool *mempool_create(const char *name, unsigned n, unsigned elt_size,
	unsigned cache_size, int numa_node, void (*obj_init)(struct mempool *mp, void *obj, unsigned idx,
	void *arg), void *arg);
// Destroys the pool; objects still in use are reported (returned count) and leaked on purpose.
unsigned mempool_destroy(struct mempool *mp);

// Binds the calling thread to cache slot `slot` (< MEMPOOL_MAX_CACHES); -1 unbinds. A slot must be
// used by one thread at a time. Workers call this at start with their worker id.
void mempool_thread_register(int slot);

// All n or nothing: 0, or -ENOBUFS (alloc_fail counted).
int mempool_get_bulk(struct mempool *mp, void **objs, unsigned n);
// Objects must come from mp.
void mempool_put_bulk(struct mempool *mp, void *const *objs, unsigned n);

void mempool_info_get(const struct mempool *mp, struct mempool_info *info);
const char *mempool_name(const struct mempool *mp);
unsigned mempool_in_use(const struct mempool *mp);
// Iterates all pools (control thread).
void mempool_foreach(void (*cb)(struct mempool *mp, void *arg), void *arg);
// Pool-private word for the owner (pkt pools keep their data room size here).
void *mempool_priv(struct mempool *mp);

#endif
