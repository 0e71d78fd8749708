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
	unsigned free_ring; // free objects in the shared ring (the other free ones are cached)
};

// `obj_init` (may be NULL) runs once per object at creation (pkt pools set buffer pointers).
// Objects are cache-line aligned, zeroed before obj_init, and never cross a 2 MiB boundary.
// n <= 2^28; cache_size <= MEMPOOL_CACHE_MAX, reduced to 2/3 of n for small pools; numa_node -1:
// the caller's node. NULL + errno (EINVAL, ENOMEM). Control thread.
struct mempool *mempool_create(const char *name, unsigned n, unsigned elt_size, unsigned cache_size,
	int numa_node, void (*obj_init)(struct mempool *mp, void *obj, unsigned idx, void *arg),
	void *arg);
// Destroys the pool; objects still in use are reported (returned count) and leaked on purpose.
unsigned mempool_destroy(struct mempool *mp);

// Binds the calling thread to cache slot `slot` (< MEMPOOL_MAX_CACHES); -1 unbinds. A slot must be
// used by one thread at a time. Workers call this at start with their worker id. Leaving a slot
// (-1 or another slot) returns the objects cached in it, in every pool, to the shared rings.
void mempool_thread_register(int slot);

// All n or nothing: 0, or -ENOBUFS (alloc_fail counted). With caches, objects parked in other
// threads' caches are not reachable, so a get may fail while in_use < n. No locks, no syscalls.
int mempool_get_bulk(struct mempool *mp, void **objs, unsigned n);
// Objects must come from mp (not checked on this fast path).
void mempool_put_bulk(struct mempool *mp, void *const *objs, unsigned n);
// Returns the calling thread's cached objects to the shared ring (a worker stopping).
void mempool_cache_flush(struct mempool *mp);

void mempool_info_get(const struct mempool *mp, struct mempool_info *info);
const char *mempool_name(const struct mempool *mp);
unsigned mempool_in_use(const struct mempool *mp);
// Iterates all pools (control thread; cb must not create or destroy pools).
void mempool_foreach(void (*cb)(struct mempool *mp, void *arg), void *arg);
// Pool-private area for the owner, 64 bytes, zeroed (pkt pools keep their data room size here).
void *mempool_priv(struct mempool *mp);
// Calls cb for every object of the pool, free or in use, in creation order (control thread;
// pkt pools recompute buffer IOVAs after an IOVA mode change).
void mempool_obj_foreach(struct mempool *mp,
	void (*cb)(struct mempool *mp, void *obj, unsigned idx, void *arg), void *arg);

#endif
