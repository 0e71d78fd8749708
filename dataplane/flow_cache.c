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

void flow_cache_insert(struct flow_cache *fc, const struct flow_key *k, uint32_t hash, uint64_t gen,
	const void *rule)
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

struct flow_mcache *flow_mcache_create(unsigned entries)
{
	struct flow_mcache *mc;
	size_t size;

	if (entries == 0)
		entries = FLOW_MCACHE_ENTRIES;
	if (entries < 2 || (entries & (entries - 1)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	size = sizeof(*mc) + (size_t)entries * sizeof(mc->e[0]);
	mc = aligned_alloc(128, ALIGN_UP(size, 128));
	if (mc == NULL)
		return NULL;
	memset(mc, 0, size);
	mc->mask = entries - 1;
	mc->rnd = 0x2545f491;
	return mc;
}

void flow_mcache_destroy(struct flow_mcache *mc)
{
	free(mc);
}

void flow_mcache_insert(struct flow_mcache *mc, unsigned set, uint64_t gen,
	const struct flow_key *k, const struct flow_key *wc, const void *rule)
{
	struct flow_mcache_set *s = &mc->sets[set];
	struct flow_mcache_entry *a, *b, *t;
	struct flow_mcache_mask *m = NULL;
	unsigned idx;
	uint32_t h, r;

	if (set >= FLOW_MCACHE_SETS)
		return;
	if (s->gen != gen) {
		// The table changed: its masks (and every entry of the old generation) are void.
		s->gen = gen;
		s->n = 0;
	}
	for (idx = 0; idx < s->n; idx++) {
		if (flow_key_equal(&s->m[idx].mask, wc)) {
			m = &s->m[idx];
			break;
		}
	}
	if (m == NULL) {
		if (s->n == FLOW_MCACHE_MASKS) {
			mc->full_masks++;
			return;
		}
		idx = s->n;
		m = &s->m[idx];
		m->mask = *wc;
		m->n_words = 0;
		for (unsigned w = 0; w < FLOW_KEY_WORDS; w++) {
			if (wc->w[w] != 0)
				m->words[m->n_words++] = (uint8_t)w;
		}
		s->n++;
	}
	h = flow_mcache_hash(m, k, idx);
	a = &mc->e[h & mc->mask];
	b = &mc->e[flow_cache_alt(h) & mc->mask];
	if (a->gen != gen) {
		t = a;
	} else if (b->gen != gen) {
		t = b;
	} else {
		r = mc->rnd;
		r ^= r << 13;
		r ^= r >> 17;
		r ^= r << 5;
		mc->rnd = r;
		if (r % FLOW_CACHE_INSERT_INV_PROB != 0)
			return;
		t = (r & 0x100) ? a : b;
	}
	mc->inserts++;
	t->hash = h;
	t->mask = (uint8_t)idx;
	t->set = (uint8_t)set;
	t->gen = gen;
	t->rule = rule;
	for (unsigned w = 0; w < FLOW_KEY_WORDS; w++)
		t->value.w[w] = k->w[w] & wc->w[w];
}
