// SPDX-License-Identifier: Apache-2.0
// Per-worker exact-match cache in front of the classifier: flow key -> rule (or "no rule"),
// shared by the bridges a worker serves. Each entry carries the generation of the flow table it
// was filled from; any rule change gives the table a new, globally unique generation, so stale
// entries simply stop matching (nothing is flushed, workers never wait).
//
// Two candidate slots per key (hash and hash rotated by 16). A new key always takes a free or
// stale slot, but replaces a live entry only one time in FLOW_CACHE_INSERT_INV_PROB: with more
// concurrent flows than entries, the cache keeps a stable subset hitting instead of thrashing
// (every miss evicting an entry that was about to hit).
//
// Threads: one cache per worker, used only by that worker; created/destroyed by the control
// thread while no worker uses it.
#ifndef VSWITCH_FLOW_CACHE_H
#define VSWITCH_FLOW_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/flow_key.h"

#define FLOW_CACHE_ENTRIES 8192 // per worker, power of two
#define FLOW_CACHE_INSERT_INV_PROB 32

struct flow_cache_entry {
	uint32_t hash;
	uint32_t pad;
	uint64_t gen; // 0: empty (generations start at 1)
	const void *rule; // NULL: the table has no rule for this key (table miss)
	struct flow_key key;
} __attribute__((aligned(128)));

struct flow_cache {
	uint32_t mask; // entries - 1
	uint32_t rnd; // xorshift state for probabilistic insertion
	uint64_t inserts, evictions, skipped; // worker-private statistics
	struct flow_cache_entry e[];
};

// entries: power of two >= 2 (0: FLOW_CACHE_ENTRIES). NULL + errno. Control thread.
struct flow_cache *flow_cache_create(unsigned entries);
void flow_cache_destroy(struct flow_cache *fc); // NULL ok

static __always_inline uint32_t flow_cache_alt(uint32_t hash)
{
	return hash >> 16 | hash << 16;
}

static __always_inline void flow_cache_prefetch(const struct flow_cache *fc, uint32_t hash)
{
	prefetch0(&fc->e[hash & fc->mask]);
	prefetch0(&fc->e[flow_cache_alt(hash) & fc->mask]);
}

static __always_inline bool flow_cache_entry_is(const struct flow_cache_entry *e,
	const struct flow_key *k, uint32_t hash, uint64_t gen)
{
	return e->hash == hash && e->gen == gen && flow_key_equal(&e->key, k);
}

// True on a hit, with *rule = the cached result (possibly NULL: cached table miss).
static __always_inline bool flow_cache_lookup(const struct flow_cache *fc, const struct flow_key *k,
	uint32_t hash, uint64_t gen, const void **rule)
{
	const struct flow_cache_entry *e = &fc->e[hash & fc->mask];

	if (flow_cache_entry_is(e, k, hash, gen)) {
		*rule = e->rule;
		return true;
	}
	e = &fc->e[flow_cache_alt(hash) & fc->mask];
	if (flow_cache_entry_is(e, k, hash, gen)) {
		*rule = e->rule;
		return true;
	}
	return false;
}

// Records key -> rule for generation gen (see the insertion policy above).
void flow_cache_insert(struct flow_cache *fc, const struct flow_key *k, uint32_t hash,
	uint64_t gen, const void *rule);

#endif
