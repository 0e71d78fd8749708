// SPDX-License-Identifier: Apache-2.0
// Fixed-size object pools (see mempool.h): one mem_alloc'ed area holding the pool header, the
// per-thread caches and the objects; free objects live in a multi-producer/consumer ring.
//
// How it works. A thread registered to cache slot s takes objects from its cache (LIFO, hot in
// its CPU cache) and refills it from the ring in one burst when short; it puts objects back into
// the cache and, above 1.5 x cache_size, flushes the excess to the ring. Unregistered threads
// (control, tests) use the ring directly. Each cache counts the objects it handed out and took
// back (written only by its owner thread); in_use is the sum over caches plus the shared counters
// used by unregistered threads, so objects resting in caches count as free.
//
// Layout: [struct mempool][MEMPOOL_MAX_CACHES caches][objects]. Objects are cache-line aligned
// and never cross a 2 MiB boundary of the area; hugepage segments start on a page boundary and
// 1 GiB pages are made of 2 MiB boundaries, so no object straddles a hugepage (IOVA-as-PA DMA).
#include "dataplane/mempool.h"

#include <errno.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mem.h"
#include "dataplane/ring.h"

LOG_MODULE("mempool");

#define MEMPOOL_BOUNDARY (2ul << 20) // smallest hugepage size; see "Layout"
#define MEMPOOL_N_MAX (1u << 28) // ring limit

struct mempool_cache {
	uint32_t size; // fill level kept after a flush
	uint32_t flushthresh; // flush above this (1.5 x size)
	uint32_t len; // objects in objs[]
	// owner thread: rw (relaxed load + store, no RMW needed), control: ro (relaxed).
	_Atomic uint64_t n_get;
	_Atomic uint64_t n_put;
	_Atomic uint64_t n_fail;
	void *objs[]; // room for 3 x size: a put of up to size on top of flushthresh
};

struct mempool {
	char name[32];
	unsigned n;
	unsigned elt_size;
	unsigned stride; // elt_size rounded up to a cache line
	unsigned cache_size;
	int numa_node;
	struct ring *ring; // free objects, MP/MC
	char *caches; // MEMPOOL_MAX_CACHES x cache_stride; NULL without caches
	size_t cache_stride;
	size_t obj_off; // first object, from the pool start
	struct mempool *next; // registry, mempool_lock
	// Unregistered threads; atomic RMW (shared, but off the worker fast path).
	_Atomic uint64_t n_get __cache_aligned;
	_Atomic uint64_t n_put;
	_Atomic uint64_t n_fail;
	uint64_t priv[8] __cache_aligned; // owner's word (pkt: data room)
};

// Lock order: mempool_lock, then mem's lock (mem_alloc/mem_free). Control path only.
static pthread_mutex_t mempool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mempool *mempool_list; // mempool_lock

// Cache slot of the calling thread; -1: none.
static _Thread_local int mempool_slot = -1;

static inline struct mempool_cache *mempool_cache(const struct mempool *mp, int slot)
{
	return (struct mempool_cache *)(mp->caches + (size_t)slot * mp->cache_stride);
}

static void mempool_ring_put(struct mempool *mp, void *const *objs, unsigned n);

void mempool_thread_register(int slot)
{
	int old = mempool_slot;

	if (slot < -1 || slot >= MEMPOOL_MAX_CACHES) {
		LOG(ERR, "cache slot %d out of range [-1, %d), thread left without cache", slot,
			MEMPOOL_MAX_CACHES);
		slot = -1;
	}
	if (old >= 0 && old != slot) {
		// Leaving a slot (a worker stopping): its cached objects go back to the rings so
		// that other threads can use them. Not a fast path, the lock is fine.
		pthread_mutex_lock(&mempool_lock);
		for (struct mempool *mp = mempool_list; mp; mp = mp->next) {
			struct mempool_cache *c;
			if (mp->caches == NULL)
				continue;
			c = mempool_cache(mp, old);
			if (c->len)
				mempool_ring_put(mp, c->objs, c->len);
			c->len = 0;
		}
		pthread_mutex_unlock(&mempool_lock);
	}
	mempool_slot = slot;
}

// Offset of object idx's successor given the current offset: objects that would cross a
// MEMPOOL_BOUNDARY start at the boundary instead.
static size_t mempool_place(size_t off, unsigned stride)
{
	if (stride <= MEMPOOL_BOUNDARY &&
		off / MEMPOOL_BOUNDARY != (off + stride - 1) / MEMPOOL_BOUNDARY)
		off = ALIGN_UP(off, MEMPOOL_BOUNDARY);
	return off;
}

static int mempool_local_node(void)
{
	int cpu = sched_getcpu();
	int node = (numa_available() >= 0 && cpu >= 0) ? numa_node_of_cpu(cpu) : 0;

	return node < 0 ? 0 : node;
}

struct mempool *mempool_create(const char *name, unsigned n, unsigned elt_size, unsigned cache_size,
	int numa_node, void (*obj_init)(struct mempool *mp, void *obj, unsigned idx, void *arg),
	void *arg)
{
	size_t hdr, cache_stride = 0, off, total;
	unsigned stride, cap;
	struct mempool *mp;
	struct ring *ring;
	char rname[40];
	int saved;

	if (name == NULL || n == 0 || n > MEMPOOL_N_MAX || elt_size == 0 || elt_size > (1u << 30) ||
		cache_size > MEMPOOL_CACHE_MAX || numa_node < -1 || numa_node >= MEM_MAX_NUMA) {
		errno = EINVAL;
		return NULL;
	}
	// Caches may hold up to 1.5 x cache_size each: keep that below the pool size so one
	// thread cannot park the whole pool.
	if (cache_size > n * 2 / 3) {
		LOG(DEBUG, "%s: cache size %u reduced to %u for a pool of %u", name, cache_size,
			n * 2 / 3, n);
		cache_size = n * 2 / 3;
	}
	if (numa_node == -1)
		numa_node = mempool_local_node();
	stride = ALIGN_UP(elt_size, CACHE_LINE_SIZE);
	hdr = ALIGN_UP(sizeof(*mp), CACHE_LINE_SIZE);
	if (cache_size) {
		cap = cache_size * 3;
		cache_stride = ALIGN_UP(
			sizeof(struct mempool_cache) + cap * sizeof(void *), CACHE_LINE_SIZE);
	}
	off = hdr + MEMPOOL_MAX_CACHES * cache_stride;
	for (unsigned i = 0; i < n; i++)
		off = mempool_place(off, stride) + stride;
	total = off;

	snprintf(rname, sizeof(rname), "mp:%s", name);
	ring = ring_create(rname, n, numa_node, 0);
	if (ring == NULL)
		return NULL;
	mp = mem_alloc(name, total, CACHE_LINE_SIZE, numa_node);
	if (mp == NULL)
		goto err_ring;
	snprintf(mp->name, sizeof(mp->name), "%s", name);
	mp->n = n;
	mp->elt_size = elt_size;
	mp->stride = stride;
	mp->cache_size = cache_size;
	mp->numa_node = numa_node;
	mp->ring = ring;
	mp->cache_stride = cache_stride;
	mp->caches = cache_size ? (char *)mp + hdr : NULL;
	mp->obj_off = hdr + MEMPOOL_MAX_CACHES * cache_stride;
	for (int s = 0; cache_size && s < MEMPOOL_MAX_CACHES; s++) {
		struct mempool_cache *c = mempool_cache(mp, s);
		c->size = cache_size;
		c->flushthresh = cache_size + cache_size / 2;
	}

	off = mp->obj_off;
	for (unsigned i = 0; i < n; i++) {
		void *obj;
		off = mempool_place(off, stride);
		obj = (char *)mp + off;
		if (obj_init)
			obj_init(mp, obj, i, arg);
		if (ring_enqueue_bulk(ring, &obj, 1, NULL) != 1) {
			// Cannot happen: the ring holds exactly n.
			LOG(ERR, "%s: free ring refused object %u", name, i);
			errno = EIO;
			goto err_mem;
		}
		off += stride;
	}

	pthread_mutex_lock(&mempool_lock);
	mp->next = mempool_list;
	mempool_list = mp;
	pthread_mutex_unlock(&mempool_lock);
	LOG(INFO, "pool %s: %u x %u B (stride %u), cache %u, node %d, %zu kB", mp->name, n,
		elt_size, stride, cache_size, numa_node, total >> 10);
	return mp;

err_mem:
	saved = errno;
	mem_free(mp);
	errno = saved;
err_ring:
	saved = errno;
	ring_destroy(ring);
	errno = saved;
	return NULL;
}

static uint64_t mempool_sum(const struct mempool *mp, uint64_t *got, uint64_t *put)
{
	uint64_t g = atomic_load_explicit(&mp->n_get, memory_order_relaxed);
	uint64_t p = atomic_load_explicit(&mp->n_put, memory_order_relaxed);
	uint64_t f = atomic_load_explicit(&mp->n_fail, memory_order_relaxed);

	for (int s = 0; mp->caches && s < MEMPOOL_MAX_CACHES; s++) {
		struct mempool_cache *c = mempool_cache(mp, s);
		g += atomic_load_explicit(&c->n_get, memory_order_relaxed);
		p += atomic_load_explicit(&c->n_put, memory_order_relaxed);
		f += atomic_load_explicit(&c->n_fail, memory_order_relaxed);
	}
	*got = g;
	*put = p;
	return f;
}

unsigned mempool_in_use(const struct mempool *mp)
{
	uint64_t got, put;

	mempool_sum(mp, &got, &put);
	// Counters are read one after the other while workers run: clamp the transient skew.
	if (put >= got)
		return 0;
	return got - put > mp->n ? mp->n : (unsigned)(got - put);
}

unsigned mempool_destroy(struct mempool *mp)
{
	unsigned in_use;

	if (mp == NULL)
		return 0;
	pthread_mutex_lock(&mempool_lock);
	for (struct mempool **pp = &mempool_list; *pp; pp = &(*pp)->next) {
		if (*pp == mp) {
			*pp = mp->next;
			break;
		}
	}
	pthread_mutex_unlock(&mempool_lock);
	in_use = mempool_in_use(mp);
	if (in_use) {
		// Someone may still put them back: keep the memory rather than corrupt it.
		LOG(WARN, "pool %s destroyed with %u of %u objects in use; leaking its memory",
			mp->name, in_use, mp->n);
		return in_use;
	}
	LOG(DEBUG, "pool %s destroyed", mp->name);
	ring_destroy(mp->ring);
	mem_free(mp);
	return 0;
}

static inline void mempool_count(_Atomic uint64_t *ctr, unsigned n, bool owner)
{
	if (owner)
		atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + n,
			memory_order_relaxed);
	else
		atomic_fetch_add_explicit(ctr, n, memory_order_relaxed);
}

int mempool_get_bulk(struct mempool *mp, void **objs, unsigned n)
{
	int slot = mempool_slot;
	struct mempool_cache *c;

	if (unlikely(n == 0))
		return 0;
	if (slot < 0 || mp->caches == NULL)
		goto shared;
	c = mempool_cache(mp, slot);
	if (unlikely(n > c->size)) {
		if (ring_dequeue_bulk(mp->ring, objs, n, NULL) == 0) {
			mempool_count(&c->n_fail, 1, true);
			return -ENOBUFS;
		}
		mempool_count(&c->n_get, n, true);
		return 0;
	}
	if (c->len < n) {
		// Refill to size + what this call needs; whatever comes stays cached even when the
		// call fails, it is still free.
		unsigned want = c->size + n - c->len;
		c->len += ring_dequeue_burst(mp->ring, &c->objs[c->len], want, NULL);
		if (unlikely(c->len < n)) {
			mempool_count(&c->n_fail, 1, true);
			return -ENOBUFS;
		}
	}
	for (unsigned i = 0; i < n; i++)
		objs[i] = c->objs[--c->len];
	mempool_count(&c->n_get, n, true);
	return 0;

shared:
	if (ring_dequeue_bulk(mp->ring, objs, n, NULL) == 0) {
		mempool_count(&mp->n_fail, 1, false);
		return -ENOBUFS;
	}
	mempool_count(&mp->n_get, n, false);
	return 0;
}

static void mempool_ring_put(struct mempool *mp, void *const *objs, unsigned n)
{
	if (unlikely(ring_enqueue_bulk(mp->ring, objs, n, NULL) != n))
		LOG_RL(ERR, mp->name, "%u objects returned to a full pool (double free?), dropped",
			n);
}

void mempool_put_bulk(struct mempool *mp, void *const *objs, unsigned n)
{
	int slot = mempool_slot;
	struct mempool_cache *c;

	if (slot < 0 || mp->caches == NULL) {
		mempool_ring_put(mp, objs, n);
		mempool_count(&mp->n_put, n, false);
		return;
	}
	c = mempool_cache(mp, slot);
	if (unlikely(n > c->size)) {
		mempool_ring_put(mp, objs, n);
	} else {
		for (unsigned i = 0; i < n; i++)
			c->objs[c->len + i] = objs[i];
		c->len += n;
		if (c->len > c->flushthresh) {
			// Keep the oldest `size` (bottom); the excess goes back to the ring.
			mempool_ring_put(mp, &c->objs[c->size], c->len - c->size);
			c->len = c->size;
		}
	}
	mempool_count(&c->n_put, n, true);
}

void mempool_cache_flush(struct mempool *mp)
{
	int slot = mempool_slot;
	struct mempool_cache *c;

	if (slot < 0 || mp->caches == NULL)
		return;
	c = mempool_cache(mp, slot);
	if (c->len) {
		mempool_ring_put(mp, c->objs, c->len);
		c->len = 0;
	}
}

void mempool_info_get(const struct mempool *mp, struct mempool_info *info)
{
	uint64_t got, put;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", mp->name);
	info->n = mp->n;
	info->elt_size = mp->elt_size;
	info->cache_size = mp->cache_size;
	info->numa_node = mp->numa_node;
	info->alloc_fail = mempool_sum(mp, &got, &put);
	info->in_use = mempool_in_use(mp);
	info->free_ring = ring_count(mp->ring);
}

const char *mempool_name(const struct mempool *mp)
{
	return mp->name;
}

void mempool_foreach(void (*cb)(struct mempool *mp, void *arg), void *arg)
{
	pthread_mutex_lock(&mempool_lock);
	for (struct mempool *mp = mempool_list; mp; mp = mp->next)
		cb(mp, arg);
	pthread_mutex_unlock(&mempool_lock);
}

void mempool_obj_foreach(struct mempool *mp,
	void (*cb)(struct mempool *mp, void *obj, unsigned idx, void *arg), void *arg)
{
	size_t off = mp->obj_off;

	for (unsigned i = 0; i < mp->n; i++) {
		off = mempool_place(off, mp->stride);
		cb(mp, (char *)mp + off, i, arg);
		off += mp->stride;
	}
}

void *mempool_priv(struct mempool *mp)
{
	return mp->priv;
}
