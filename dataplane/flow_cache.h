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
	// Bypass: while fewer than 1 lookup in FLOW_CACHE_BYPASS_RATIO hits (many more flows than
	// entries), only 1 burst in FLOW_CACHE_SAMPLE uses the cache (to notice when it would hit
	// again); the others go straight to the megaflow cache. Re-decided every
	// FLOW_CACHE_WINDOW lookups.
	uint32_t win_lookups, win_hits;
	uint32_t bursts;
	bool bypass;
	struct flow_cache_entry e[];
};

#define FLOW_CACHE_BYPASS_RATIO 16
#define FLOW_CACHE_SAMPLE 8
#define FLOW_CACHE_WINDOW 8192

// Whether this burst uses the cache (see bypass above).
static __always_inline bool flow_cache_use(struct flow_cache *fc)
{
	return !fc->bypass || (++fc->bursts % FLOW_CACHE_SAMPLE) == 0;
}

// Accounts a burst's lookups and hits (bursts that used the cache only).
static __always_inline void flow_cache_account(
	struct flow_cache *fc, unsigned lookups, unsigned hits)
{
	fc->win_lookups += lookups;
	fc->win_hits += hits;
	if (fc->win_lookups >= FLOW_CACHE_WINDOW) {
		fc->bypass = fc->win_hits * FLOW_CACHE_BYPASS_RATIO < fc->win_lookups;
		fc->win_lookups = 0;
		fc->win_hits = 0;
	}
}

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

static __always_inline bool flow_cache_entry_is(
	const struct flow_cache_entry *e, const struct flow_key *k, uint32_t hash, uint64_t gen)
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
void flow_cache_insert(struct flow_cache *fc, const struct flow_key *k, uint32_t hash, uint64_t gen,
	const void *rule);

// ---- Megaflow cache ----
// The second level, also per worker: (mask, masked key) -> rule, where the mask holds the bits
// the classifier's result depended on (cls_lookup_burst() wildcards). One entry serves every
// flow that agrees on those bits, so traffic with many more flows than the exact-match cache
// holds still resolves in one or a few hash probes instead of a walk through the subtables
// (the same idea as Open vSwitch's megaflows, without the upcall: the worker fills it). A few
// masks per bridge (FLOW_MCACHE_MASKS), tried in the order they appeared; entries carry the
// table generation like the exact-match cache, and the same insertion policy applies.

#define FLOW_MCACHE_ENTRIES 16384 // per worker, power of two
#define FLOW_MCACHE_MASKS 8 // per bridge
#define FLOW_MCACHE_SETS 64 // bridges (== PL_MAX_BRIDGES)

struct flow_mcache_mask {
	struct flow_key mask;
	uint8_t n_words;
	uint8_t words[FLOW_KEY_WORDS];
};

// The masks of one bridge, valid for one table generation.
struct flow_mcache_set {
	uint64_t gen;
	unsigned n;
	struct flow_mcache_mask m[FLOW_MCACHE_MASKS];
};

struct flow_mcache_entry {
	uint32_t hash;
	uint8_t mask; // index in its set
	uint8_t set;
	uint16_t pad;
	uint64_t gen;
	const void *rule;
	struct flow_key value; // key & mask
} __attribute__((aligned(128)));

struct flow_mcache {
	uint32_t mask; // entries - 1
	uint32_t rnd;
	uint64_t inserts, full_masks; // worker-private statistics
	struct flow_mcache_set sets[FLOW_MCACHE_SETS];
	struct flow_mcache_entry e[];
};

struct flow_mcache *flow_mcache_create(unsigned entries); // 0: FLOW_MCACHE_ENTRIES
void flow_mcache_destroy(struct flow_mcache *mc);

static __always_inline uint32_t flow_mcache_hash(
	const struct flow_mcache_mask *m, const struct flow_key *k, unsigned idx)
{
	uint32_t h = 0x27d4eb2f + idx;

	for (unsigned i = 0; i < m->n_words; i++)
		h = flow_key_hash_word(h, k->w[m->words[i]] & m->mask.w[m->words[i]]);
	return flow_key_hash_fini(h);
}

static __always_inline bool flow_mcache_entry_is(const struct flow_mcache_entry *e,
	const struct flow_mcache_mask *m, const struct flow_key *k, uint32_t h, unsigned set,
	unsigned idx, uint64_t gen)
{
	uint64_t d = 0;

	if (e->hash != h || e->gen != gen || e->mask != idx || e->set != set)
		return false;
	for (unsigned i = 0; i < m->n_words; i++)
		d |= (k->w[m->words[i]] & m->mask.w[m->words[i]]) ^ e->value.w[m->words[i]];
	return d == 0;
}

// True on a hit for key k of bridge `set` at generation gen, with *rule (NULL: no rule).
static __always_inline bool flow_mcache_lookup(const struct flow_mcache *mc, unsigned set,
	uint64_t gen, const struct flow_key *k, const void **rule)
{
	const struct flow_mcache_set *s = &mc->sets[set];

	if (s->gen != gen)
		return false;
	for (unsigned i = 0; i < s->n; i++) {
		const struct flow_mcache_mask *m = &s->m[i];
		uint32_t h = flow_mcache_hash(m, k, i);
		const struct flow_mcache_entry *e = &mc->e[h & mc->mask];

		if (flow_mcache_entry_is(e, m, k, h, set, i, gen)) {
			*rule = e->rule;
			return true;
		}
		e = &mc->e[flow_cache_alt(h) & mc->mask];
		if (flow_mcache_entry_is(e, m, k, h, set, i, gen)) {
			*rule = e->rule;
			return true;
		}
	}
	return false;
}

// Records (wc, k & wc) -> rule for bridge `set` at generation gen. Nothing when the bridge
// already has FLOW_MCACHE_MASKS other masks.
void flow_mcache_insert(struct flow_mcache *mc, unsigned set, uint64_t gen,
	const struct flow_key *k, const struct flow_key *wc, const void *rule);

#endif
