// SPDX-License-Identifier: Apache-2.0
// Per-worker exact-match flow cache: allocation and the insertion policy (see flow_cache.h).
#include "dataplane/flow_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct flow_cache *flow_cache_create(unsigned entries)
{
	struct flow_cache *fc;
	size_t size;

	if (entries == 0)
		entries = FLOW_CACHE_ENTRIES;
	if (entries < 2 || (entries & (entries - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	size = sizeof(*fc) + (size_t)entries * sizeof(fc->e[0]);
	fc = aligned_alloc(128, ALIGN_UP(size, 128));
	if (fc == NULL)
		return NULL;
	memset(fc, 0, size);
	fc->mask = entries - 1;
	fc->rnd = 0x9e3779b9;
	return fc;
}

void flow_cache_destroy(struct flow_cache *fc)
{
	free(fc);
}

static inline uint32_t flow_cache_rand(struct flow_cache *fc)
{
	uint32_t x = fc->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	fc->rnd = x;
	return x;
}

void flow_cache_insert(struct flow_cache *fc, const struct flow_key *k, uint32_t hash,
	uint64_t gen, const void *rule)
{
	struct flow_cache_entry *a = &fc->e[hash & fc->mask];
	struct flow_cache_entry *b = &fc->e[flow_cache_alt(hash) & fc->mask];
	struct flow_cache_entry *t;

	if (a->gen != gen)
		t = a;
	else if (b->gen != gen)
		t = b;
	else if (flow_cache_rand(fc) % FLOW_CACHE_INSERT_INV_PROB == 0)
		t = (flow_cache_rand(fc) & 1) ? a : b;
	else {
		fc->skipped++;
		return;
	}
	if (t->gen == gen)
		fc->evictions++;
	fc->inserts++;
	t->hash = hash;
	t->gen = gen;
	t->rule = rule;
	t->key = *k;
}
