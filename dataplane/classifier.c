// SPDX-License-Identifier: Apache-2.0
// Tuple-space-search classifier with RCU-safe subtables; see classifier.h for how it works.
#include "dataplane/classifier.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/compiler.h"
#include "dataplane/log.h"
#include "dataplane/rcu.h"

LOG_MODULE("classifier");

#define CLS_SLOTS_MIN 16
#define CLS_TOMB 1ULL // slot value of a removed node
#define CLS_PTR_MASK ((1ULL << 48) - 1)
#define CLS_TAG_SHIFT 48

// Per-worker hit counter of a subtable: worker: rw (relaxed, single writer), control: ro.
struct cls_wctr {
	_Atomic uint64_t hits;
} __cache_aligned;

// Open-addressing table of tagged node pointers: 0 empty, CLS_TOMB removed, else
// (hash >> 16) << 48 | node. Immutable size; replaced whole by a rebuild.
struct cls_slots {
	uint32_t mask; // capacity - 1
	_Atomic uint64_t s[]; // worker: ro (acquire), control: rw (release)
};

struct cls_node {
	uint32_t hash;
	_Atomic(struct cls_rule *) best; // worker: ro (acquire), control: rw (release)
	struct flow_key key; // masked value
	struct cls_rule *rules; // control: priority order, best first
};

// Every node value v of a subtable has (v & m[i]) == v[i] for its mask words i (indexed like
// cls_subtable.words[]): the bits all its rules agree on.
struct cls_summary {
	uint64_t m[FLOW_KEY_WORDS];
	uint64_t v[FLOW_KEY_WORDS];
};

struct cls_subtable {
	// Immutable once published.
	struct flow_key mask;
	uint8_t n_words;
	uint8_t words[FLOW_KEY_WORDS]; // indices of the non-zero mask words
	_Atomic(struct cls_slots *) slots; // worker: ro (acquire), control: rw (release)
	// Summary of the nodes (NULL: none): a key that fails it matches no node, and the subtable
	// is skipped without hashing. Immutable, replaced whole. worker: ro (acquire), control: rw
	// (release); the old one is freed after a grace period.
	_Atomic(const struct cls_summary *) sum;
	// Control thread only.
	bool sum_stale; // nodes were removed: the summary may be weaker than needed
	unsigned n_nodes, n_tomb, n_rules;
	uint32_t max_priority; // an upper bound; exact after cls_rerank()
	bool max_stale;
	uint64_t hits_seen; // sum of the worker counters at the last rerank
	uint64_t hits_delta; // hits between the last two reranks
	unsigned n_workers;
	struct cls_wctr w[]; // n_workers
};

struct cls_pvec_entry {
	struct cls_subtable *st;
	uint32_t max_priority;
};

// The search order: immutable once published.
struct cls_pvec {
	unsigned n;
	struct cls_pvec_entry e[];
};

struct cls {
	_Atomic(struct cls_pvec *) pvec; // worker: ro (acquire), control: rw (release)
	// Control thread only.
	struct cls_subtable **sts;
	unsigned n_st, cap_st;
	unsigned n_rules;
	unsigned n_workers;
};

static void cls_defer_free(void *p)
{
	if (p == NULL)
		return;
	if (rcu_defer(free, p) == 0)
		return;
	// No memory to queue the callback: wait for the grace period here (rare).
	while (rcu_synchronize(1000000) < 0)
		LOG_RL(ERR, "",
			"a worker does not quiesce: still waiting to free a classifier object");
	free(p);
}

// ---- hashing ----

static __always_inline uint32_t cls_hash(const struct cls_subtable *st, const struct flow_key *k)
{
	uint32_t h = 0x811c9dc5;

	for (unsigned i = 0; i < st->n_words; i++) {
		unsigned w = st->words[i];

		h = flow_key_hash_word(h, k->w[w] & st->mask.w[w]);
	}
#if defined(__SSE4_2__) && defined(__x86_64__)
	// CRC32-C already spreads every input bit over the low bits: no finaliser needed.
	return h;
#else
	return flow_key_hash_fini(h);
#endif
}

static __always_inline bool cls_node_match(
	const struct cls_subtable *st, const struct cls_node *node, const struct flow_key *k)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < st->n_words; i++) {
		unsigned w = st->words[i];

		d |= (k->w[w] & st->mask.w[w]) ^ node->key.w[w];
	}
	return d == 0;
}

static __always_inline uint64_t cls_slot_value(const struct cls_node *n, uint32_t hash)
{
	return (uint64_t)(hash >> 16) << CLS_TAG_SHIFT | (uint64_t)(uintptr_t)n;
}

// The node of k's masked value in a slot array, or NULL.
static __always_inline const struct cls_node *cls_probe(const struct cls_subtable *st,
	const struct cls_slots *sl, const struct flow_key *k, uint32_t hash)
{
	uint64_t tag = (uint64_t)(hash >> 16);
	uint32_t i = hash & sl->mask;

	for (;;) {
		// Pairs with the store-release in cls_slot_put(): the node is initialised.
		uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_acquire);

		if (v == 0)
			return NULL;
		if (v != CLS_TOMB && (v >> CLS_TAG_SHIFT) == tag) {
			const struct cls_node *n =
				(const struct cls_node *)(uintptr_t)(v & CLS_PTR_MASK);

			if (n->hash == hash && cls_node_match(st, n, k))
				return n;
		}
		i = (i + 1) & sl->mask;
	}
}

// Publishes summary `want` for st unless it is the current one; on ENOMEM drops the summary
// (no filtering is always correct).
static void cls_summary_set(struct cls_subtable *st, const struct cls_summary *want)
{
	const struct cls_summary *cur = atomic_load_explicit(&st->sum, memory_order_relaxed);
	struct cls_summary *n = NULL;

	if (cur != NULL && memcmp(cur, want, sizeof(*want)) == 0)
		return;
	if ((n = malloc(sizeof(*n))) != NULL)
		*n = *want;
	// Pairs with the load-acquire in the lookups.
	atomic_store_explicit(&st->sum, n, memory_order_release);
	cls_defer_free((void *)cur);
}

// Weakens the summary so that value (masked) satisfies it. first: no node yet.
static void cls_summary_add(struct cls_subtable *st, const struct flow_key *value, bool first)
{
	const struct cls_summary *cur = atomic_load_explicit(&st->sum, memory_order_relaxed);
	struct cls_summary want;

	if (cur == NULL && !first)
		return; // no summary (out of memory once): stays without
	memset(&want, 0, sizeof(want));
	for (unsigned i = 0; i < st->n_words; i++) {
		uint64_t v = value->w[st->words[i]];

		if (first) {
			want.m[i] = st->mask.w[st->words[i]];
			want.v[i] = v & want.m[i];
		} else {
			want.m[i] = cur->m[i] & ~(cur->v[i] ^ v);
			want.v[i] = cur->v[i] & want.m[i];
		}
	}
	cls_summary_set(st, &want);
}

// False when the summary proves that no node of st can match k.
static __always_inline bool cls_summary_ok(
	const struct cls_subtable *st, const struct cls_summary *sum, const struct flow_key *k)
{
	uint64_t d = 0;

	if (sum == NULL)
		return true;
	for (unsigned i = 0; i < st->n_words; i++)
		d |= (k->w[st->words[i]] & sum->m[i]) ^ sum->v[i];
	return d == 0;
}

// ---- vector of subtables ----

static int cls_pvec_cmp(const void *a, const void *b)
{
	const struct cls_pvec_entry *x = a, *y = b;

	if (x->max_priority != y->max_priority)
		return x->max_priority > y->max_priority ? -1 : 1;
	if (x->st->hits_delta != y->st->hits_delta)
		return x->st->hits_delta > y->st->hits_delta ? -1 : 1;
	return x->st->n_rules > y->st->n_rules ? -1 : (x->st->n_rules < y->st->n_rules);
}

// Publishes a new search order from the subtable list. 0 or -ENOMEM (the old order stays, which
// is still correct unless a subtable was added: callers undo then).
static int cls_publish(struct cls *c)
{
	struct cls_pvec *pv = malloc(sizeof(*pv) + c->n_st * sizeof(pv->e[0])), *old;

	if (pv == NULL)
		return -ENOMEM;
	pv->n = c->n_st;
	for (unsigned i = 0; i < c->n_st; i++) {
		pv->e[i].st = c->sts[i];
		pv->e[i].max_priority = c->sts[i]->max_priority;
	}
	qsort(pv->e, pv->n, sizeof(pv->e[0]), cls_pvec_cmp);
	old = atomic_load_explicit(&c->pvec, memory_order_relaxed);
	// Pairs with the load-acquire in the lookups: entries are initialised.
	atomic_store_explicit(&c->pvec, pv, memory_order_release);
	cls_defer_free(old);
	return 0;
}

// ---- create / destroy ----

struct cls *cls_create(unsigned n_workers)
{
	struct cls *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->n_workers = n_workers;
	if (cls_publish(c) < 0) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

static void cls_subtable_free_now(struct cls_subtable *st)
{
	struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);

	free((void *)atomic_load_explicit(&st->sum, memory_order_relaxed));

	for (uint32_t i = 0; sl != NULL && i <= sl->mask; i++) {
		uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_relaxed);

		if (v != 0 && v != CLS_TOMB)
			free((void *)(uintptr_t)(v & CLS_PTR_MASK));
	}
	free(sl);
	free(st);
}

void cls_destroy(struct cls *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->n_st; i++)
		cls_subtable_free_now(c->sts[i]);
	free(atomic_load_explicit(&c->pvec, memory_order_relaxed));
	free(c->sts);
	free(c);
}

// ---- subtables ----

static struct cls_slots *cls_slots_alloc(uint32_t cap)
{
	struct cls_slots *sl = calloc(1, sizeof(*sl) + cap * sizeof(sl->s[0]));

	if (sl != NULL)
		sl->mask = cap - 1;
	return sl;
}

static struct cls_subtable *cls_subtable_find(const struct cls *c, const struct flow_key *mask)
{
	for (unsigned i = 0; i < c->n_st; i++) {
		if (flow_key_equal(&c->sts[i]->mask, mask))
			return c->sts[i];
	}
	return NULL;
}

static struct cls_subtable *cls_subtable_create(struct cls *c, const struct flow_key *mask)
{
	size_t size = sizeof(struct cls_subtable) + c->n_workers * sizeof(struct cls_wctr);
	struct cls_subtable *st;
	struct cls_slots *sl;

	if (c->n_st == c->cap_st) {
		unsigned cap = c->cap_st ? c->cap_st * 2 : 8;
		struct cls_subtable **n = realloc(c->sts, cap * sizeof(*n));

		if (n == NULL)
			return NULL;
		c->sts = n;
		c->cap_st = cap;
	}
	st = aligned_alloc(CACHE_LINE_SIZE, ALIGN_UP(size, CACHE_LINE_SIZE));
	sl = cls_slots_alloc(CLS_SLOTS_MIN);
	if (st == NULL || sl == NULL) {
		free(st);
		free(sl);
		return NULL;
	}
	memset(st, 0, size);
	st->mask = *mask;
	for (unsigned w = 0; w < FLOW_KEY_WORDS; w++) {
		if (mask->w[w] != 0)
			st->words[st->n_words++] = (uint8_t)w;
	}
	atomic_init(&st->slots, sl);
	st->n_workers = c->n_workers;
	c->sts[c->n_st++] = st;
	return st;
}

// Stores node n in the first free slot of its probe sequence (table known to have room).
static void cls_slot_put(struct cls_slots *sl, const struct cls_node *n, bool *reused_tomb)
{
	uint32_t i = n->hash & sl->mask;

	for (;;) {
		uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_relaxed);

		if (v == 0 || v == CLS_TOMB) {
			if (reused_tomb != NULL)
				*reused_tomb = v == CLS_TOMB;
			// Pairs with the load-acquire in cls_probe().
			atomic_store_explicit(
				&sl->s[i], cls_slot_value(n, n->hash), memory_order_release);
			return;
		}
		i = (i + 1) & sl->mask;
	}
}

// Replaces st's slot array by one sized for its live nodes (no tombstones). -ENOMEM leaves it.
static int cls_rebuild(struct cls_subtable *st, unsigned live)
{
	struct cls_slots *old = atomic_load_explicit(&st->slots, memory_order_relaxed), *sl;
	uint32_t cap = CLS_SLOTS_MIN;

	while (cap < 4u * live)
		cap *= 2;
	if ((sl = cls_slots_alloc(cap)) == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i <= old->mask; i++) {
		uint64_t v = atomic_load_explicit(&old->s[i], memory_order_relaxed);

		if (v != 0 && v != CLS_TOMB)
			cls_slot_put(
				sl, (const struct cls_node *)(uintptr_t)(v & CLS_PTR_MASK), NULL);
	}
	// Pairs with the load-acquire in the lookups.
	atomic_store_explicit(&st->slots, sl, memory_order_release);
	st->n_tomb = 0;
	cls_defer_free(old);
	return 0;
}

static struct cls_node *cls_node_find(
	const struct cls_subtable *st, const struct flow_key *value, uint32_t hash)
{
	const struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);

	return (struct cls_node *)cls_probe(st, sl, value, hash);
}

// ---- insert / remove ----

int cls_insert(struct cls *c, struct cls_rule *r)
{
	struct cls_subtable *st = cls_subtable_find(c, &r->mask);
	bool new_st = false, republish;
	struct cls_node *node;
	uint32_t hash;

	for (unsigned w = 0; w < FLOW_KEY_WORDS; w++)
		r->value.w[w] &= r->mask.w[w];
	if (st == NULL) {
		if (c->n_st >= CLS_MAX_SUBTABLES)
			return -ENOSPC;
		if ((st = cls_subtable_create(c, &r->mask)) == NULL)
			return -ENOMEM;
		new_st = true;
	}
	hash = cls_hash(st, &r->value);
	node = cls_node_find(st, &r->value, hash);
	if (node != NULL) {
		struct cls_rule **pp = &node->rules;

		while (*pp != NULL && (*pp)->priority > r->priority)
			pp = &(*pp)->next;
		if (*pp != NULL && (*pp)->priority == r->priority)
			return -EEXIST;
		r->next = *pp;
		*pp = r;
		r->node = node;
		if (node->rules == r) {
			// Pairs with the load-acquire in the lookups: r is initialised.
			atomic_store_explicit(&node->best, r, memory_order_release);
		}
	} else {
		struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);
		bool reused = false;

		if ((st->n_nodes + st->n_tomb + 1) * 2 > sl->mask + 1 &&
			cls_rebuild(st, st->n_nodes + 1) < 0)
			goto err_nomem;
		if ((node = malloc(sizeof(*node))) == NULL)
			goto err_nomem;
		// The slot keeps hash bits above bit 47: never used by a 47-bit user space.
		if ((uint64_t)(uintptr_t)node >> CLS_TAG_SHIFT) {
			free(node);
			goto err_nomem;
		}
		node->hash = hash;
		node->key = r->value;
		node->rules = r;
		atomic_init(&node->best, r);
		r->next = NULL;
		r->node = node;
		cls_summary_add(st, &r->value, st->n_nodes == 0);
		sl = atomic_load_explicit(&st->slots, memory_order_relaxed);
		cls_slot_put(sl, node, &reused);
		st->n_nodes++;
		if (reused)
			st->n_tomb--;
	}
	st->n_rules++;
	c->n_rules++;
	republish = new_st || r->priority > st->max_priority;
	if (r->priority > st->max_priority)
		st->max_priority = r->priority;
	if (republish && cls_publish(c) < 0) {
		// The rule is reachable only through an order we could not publish: undo.
		cls_remove(c, r);
		return -ENOMEM;
	}
	return 0;

err_nomem:
	if (new_st && st->n_rules == 0) {
		c->n_st--;
		cls_subtable_free_now(st);
	}
	return -ENOMEM;
}

void cls_remove(struct cls *c, struct cls_rule *r)
{
	struct cls_node *node = r->node;
	struct cls_subtable *st = NULL;
	struct cls_rule **pp;

	if (node == NULL)
		return;
	for (unsigned i = 0; i < c->n_st; i++) {
		if (flow_key_equal(&c->sts[i]->mask, &r->mask)) {
			st = c->sts[i];
			break;
		}
	}
	for (pp = &node->rules; *pp != NULL && *pp != r; pp = &(*pp)->next)
		;
	if (*pp == r)
		*pp = r->next;
	r->next = NULL;
	r->node = NULL;
	if (node->rules != NULL) {
		if (atomic_load_explicit(&node->best, memory_order_relaxed) == r)
			atomic_store_explicit(&node->best, node->rules, memory_order_release);
	} else {
		struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);
		uint64_t want = cls_slot_value(node, node->hash);
		uint32_t i = node->hash & sl->mask;

		for (;;) {
			uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_relaxed);

			if (v == want) {
				atomic_store_explicit(&sl->s[i], CLS_TOMB, memory_order_release);
				break;
			}
			if (v == 0)
				break; // not found: cannot happen
			i = (i + 1) & sl->mask;
		}
		st->n_nodes--;
		st->n_tomb++;
		st->sum_stale = true;
		cls_defer_free(node);
	}
	st->n_rules--;
	c->n_rules--;
	if (st->n_rules == 0) {
		for (unsigned i = 0; i < c->n_st; i++) {
			if (c->sts[i] == st) {
				c->sts[i] = c->sts[--c->n_st];
				break;
			}
		}
		if (cls_publish(c) < 0) {
			// Leave the empty subtable in the order: lookups find nothing in it. It is
			// unreachable from sts, so free it only after every reader let go of the
			// old order; the leak of one object on ENOMEM is accepted.
			LOG(WARN, "out of memory re-publishing the classifier order, ignoring");
			return;
		}
		cls_defer_free(atomic_load_explicit(&st->slots, memory_order_relaxed));
		cls_defer_free((void *)atomic_load_explicit(&st->sum, memory_order_relaxed));
		cls_defer_free(st);
		return;
	}
	if (r->priority >= st->max_priority)
		st->max_stale = true;
	// Too many tombstones slow probes down: compact (failure only keeps them).
	if (st->n_tomb > st->n_nodes && st->n_tomb > CLS_SLOTS_MIN / 4)
		cls_rebuild(st, st->n_nodes);
}

// Exact highest priority of a subtable (after removals).
static uint32_t cls_subtable_max(const struct cls_subtable *st)
{
	const struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);
	uint32_t max = 0;

	for (uint32_t i = 0; i <= sl->mask; i++) {
		uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_relaxed);
		const struct cls_node *n;

		if (v == 0 || v == CLS_TOMB)
			continue;
		n = (const struct cls_node *)(uintptr_t)(v & CLS_PTR_MASK);
		if (n->rules != NULL && n->rules->priority > max)
			max = n->rules->priority;
	}
	return max;
}

// Exact summary of the current nodes (after removals made it weaker than it could be).
static void cls_summary_rebuild(struct cls_subtable *st)
{
	const struct cls_slots *sl = atomic_load_explicit(&st->slots, memory_order_relaxed);
	struct cls_summary want;
	bool first = true;

	memset(&want, 0, sizeof(want));
	for (uint32_t i = 0; i <= sl->mask; i++) {
		uint64_t s = atomic_load_explicit(&sl->s[i], memory_order_relaxed);
		const struct cls_node *n;

		if (s == 0 || s == CLS_TOMB)
			continue;
		n = (const struct cls_node *)(uintptr_t)(s & CLS_PTR_MASK);
		for (unsigned w = 0; w < st->n_words; w++) {
			uint64_t x = n->key.w[st->words[w]];

			if (first) {
				want.m[w] = st->mask.w[st->words[w]];
				want.v[w] = x & want.m[w];
			} else {
				want.m[w] &= ~(want.v[w] ^ x);
				want.v[w] &= want.m[w];
			}
		}
		first = false;
	}
	if (!first)
		cls_summary_set(st, &want);
	st->sum_stale = false;
}

void cls_rerank(struct cls *c)
{
	const struct cls_pvec *pv = atomic_load_explicit(&c->pvec, memory_order_relaxed);
	bool changed = pv->n != c->n_st;

	for (unsigned i = 0; i < c->n_st; i++) {
		struct cls_subtable *st = c->sts[i];
		uint64_t sum = 0;

		for (unsigned w = 0; w < st->n_workers; w++)
			sum += atomic_load_explicit(&st->w[w].hits, memory_order_relaxed);
		st->hits_delta = sum - st->hits_seen;
		st->hits_seen = sum;
		if (st->sum_stale)
			cls_summary_rebuild(st);
		if (st->max_stale) {
			uint32_t m = cls_subtable_max(st);

			changed |= m != st->max_priority;
			st->max_priority = m;
			st->max_stale = false;
		}
	}
	if (!changed) {
		// Same subtables and priorities: republish only if the hit order changed.
		for (unsigned i = 0; i + 1 < pv->n && !changed; i++)
			changed = cls_pvec_cmp(&pv->e[i], &pv->e[i + 1]) > 0;
	}
	if (changed && cls_publish(c) < 0)
		LOG(WARN, "out of memory re-ranking the classifier subtables, ignoring");
}

unsigned cls_n_rules(const struct cls *c)
{
	return c->n_rules;
}

unsigned cls_n_subtables(const struct cls *c)
{
	return c->n_st;
}

// ---- wildcards: which bits of a key a lookup's result depends on ----

#define CLS_WC_SCAN_SLOTS 32 // a subtable with more slots is un-wildcarded whole on a miss

// Fields of struct flow_key as byte ranges, in the order a differing bit is looked for; `le`:
// a number in host (little-endian) order, whose most significant byte comes last; `prefix`:
// an address, narrowed to the prefix up to its first differing bit (other fields contribute
// all the bits the subtable looks at: a prefix of a port would depend on each flow's port and
// multiply the megaflow masks).
static const struct {
	uint8_t off, size;
	bool le, prefix;
} cls_fields[] = {
	{24, 4, false, true}, // nw_src
	{28, 4, false, true}, // nw_dst
	{40, 16, false, true}, // ipv6_src (ARP: sha)
	{56, 16, false, true}, // ipv6_dst (ARP: tha)
	{14, 2, true, false}, // tp_src
	{22, 2, true, false}, // tp_dst
	{8, 6, false, false}, // eth_dst
	{16, 6, false, false}, // eth_src
	{0, 2, true, false}, // in_port
	{2, 2, true, false}, // vlan_tci
	{4, 2, true, false}, // eth_type
	{6, 1, true, false}, // nw_proto
	{7, 1, true, false}, // nw_tos
	{32, 2, true, false}, // tcp_flags
	{34, 2, true, false}, // arp_op
	{36, 4, true, false}, // nw_frag (+ padding)
};

// Adds to wc bits that prove (k & mask) != value (value masked, known to differ), in the field
// where that adds the fewest new bits: an address's prefix up to its first differing bit (most
// significant first), or another field's masked bits. Prefixes keep megaflow masks few and
// wide: traffic from 10/8 against rules on 11.0.0.0/L un-wildcards nw_src/8 whatever L.
static void cls_wc_differ(const struct flow_key *k, const struct flow_key *value,
	const struct flow_key *mask, struct flow_key *wc)
{
	const uint8_t *kb = (const uint8_t *)k, *vb = (const uint8_t *)value;
	const uint8_t *mb = (const uint8_t *)mask;
	uint8_t *wb = (uint8_t *)wc, best_pre[16];
	unsigned best_cost = UINT32_MAX, best_f = 0;

	for (unsigned f = 0; f < ARRAY_SIZE(cls_fields); f++) {
		unsigned cost = 0, n = cls_fields[f].size;
		bool found = false;
		uint8_t pre[16];

		memset(pre, 0, sizeof(pre));
		for (unsigned j = 0; j < n; j++) {
			unsigned b = cls_fields[f].off + (cls_fields[f].le ? n - 1 - j : j);
			uint8_t d = (uint8_t)((kb[b] & mb[b]) ^ vb[b]);

			if (!cls_fields[f].prefix) {
				pre[j] = mb[b];
				found |= d != 0;
				continue;
			}
			if (found)
				break;
			if (d == 0) {
				pre[j] = 0xff;
				continue;
			}
			// Bits from the most significant down to the first differing one.
			pre[j] = (uint8_t)(0xff << (31 - __builtin_clz(d)));
			found = true;
		}
		if (!found)
			continue;
		for (unsigned j = 0; j < n; j++) {
			unsigned b = cls_fields[f].off + (cls_fields[f].le ? n - 1 - j : j);

			cost += (unsigned)__builtin_popcount(pre[j] & (uint8_t)~wb[b]);
		}
		if (cost < best_cost) {
			best_cost = cost;
			best_f = f;
			memcpy(best_pre, pre, sizeof(pre));
		}
	}
	if (best_cost == UINT32_MAX) {
		// No differing bit (cannot happen for a real mismatch): the whole mask, to be safe.
		for (unsigned w = 0; w < FLOW_KEY_WORDS; w++)
			wc->w[w] |= mask->w[w];
		return;
	}
	for (unsigned j = 0; j < cls_fields[best_f].size; j++) {
		unsigned n = cls_fields[best_f].size;
		unsigned b = cls_fields[best_f].off + (cls_fields[best_f].le ? n - 1 - j : j);

		wb[b] |= best_pre[j];
	}
}

static void cls_wc_mask(const struct cls_subtable *st, struct flow_key *wc)
{
	for (unsigned i = 0; i < st->n_words; i++)
		wc->w[st->words[i]] |= st->mask.w[st->words[i]];
}

// k was excluded by the subtable's summary.
static void cls_wc_summary(const struct cls_subtable *st, const struct cls_summary *sum,
	const struct flow_key *k, struct flow_key *wc)
{
	struct flow_key m, v;

	memset(&m, 0, sizeof(m));
	memset(&v, 0, sizeof(v));
	for (unsigned i = 0; i < st->n_words; i++) {
		m.w[st->words[i]] = sum->m[i];
		v.w[st->words[i]] = sum->v[i];
	}
	cls_wc_differ(k, &v, &m, wc);
}

// k matched no node of the subtable: a differing prefix per node when there are few, else the
// whole mask.
static void cls_wc_nomatch(const struct cls_subtable *st, const struct cls_slots *sl,
	const struct flow_key *k, struct flow_key *wc)
{
	if (sl->mask + 1 > CLS_WC_SCAN_SLOTS) {
		cls_wc_mask(st, wc);
		return;
	}
	for (uint32_t i = 0; i <= sl->mask; i++) {
		// Pairs with the store-release in cls_slot_put().
		uint64_t v = atomic_load_explicit(&sl->s[i], memory_order_acquire);

		if (v != 0 && v != CLS_TOMB)
			cls_wc_differ(k,
				&((const struct cls_node *)(uintptr_t)(v & CLS_PTR_MASK))->key,
				&st->mask, wc);
	}
}

// ---- lookups ----

const struct cls_rule *cls_lookup(
	const struct cls *c, const struct flow_key *k, unsigned worker, unsigned *n_searched)
{
	// Pairs with the store-release in cls_publish().
	const struct cls_pvec *pv = atomic_load_explicit(&c->pvec, memory_order_acquire);
	const struct cls_rule *best = NULL;
	int64_t best_prio = -1;
	unsigned searched = 0;

	for (unsigned i = 0; i < pv->n; i++) {
		const struct cls_subtable *st = pv->e[i].st;
		const struct cls_slots *sl;
		const struct cls_node *n;
		struct cls_rule *r;

		if ((int64_t)pv->e[i].max_priority <= best_prio)
			break;
		searched++;
		// Pairs with the store-release in cls_summary_set().
		if (!cls_summary_ok(st, atomic_load_explicit(&st->sum, memory_order_acquire), k))
			continue;
		sl = atomic_load_explicit(&st->slots, memory_order_acquire);
		n = cls_probe(st, sl, k, cls_hash(st, k));
		if (n == NULL)
			continue;
		r = atomic_load_explicit(&((struct cls_node *)n)->best, memory_order_acquire);
		if (r != NULL && (int64_t)r->priority > best_prio) {
			best = r;
			best_prio = r->priority;
			if (worker < st->n_workers) {
				_Atomic uint64_t *h = &((struct cls_subtable *)st)->w[worker].hits;

				atomic_store_explicit(h,
					atomic_load_explicit(h, memory_order_relaxed) + 1,
					memory_order_relaxed);
			}
		}
	}
	if (n_searched != NULL)
		*n_searched = searched;
	return best;
}

unsigned cls_lookup_burst(const struct cls *c, const struct flow_key *const *keys, unsigned n,
	const struct cls_rule **out, unsigned worker, struct flow_key *wc)
{
	// Pairs with the store-release in cls_publish().
	const struct cls_pvec *pv = atomic_load_explicit(&c->pvec, memory_order_acquire);
	int64_t best_prio[CLS_BURST];
	uint32_t hash[CLS_BURST];
	uint64_t open;
	unsigned searched = 0;

	if (n > CLS_BURST)
		n = CLS_BURST;
	open = n == 64 ? ~0ULL : (1ULL << n) - 1;
	for (unsigned i = 0; i < n; i++) {
		out[i] = NULL;
		best_prio[i] = -1;
		if (wc != NULL)
			memset(&wc[i], 0, sizeof(wc[i]));
	}
	for (unsigned e = 0; e < pv->n && open != 0; e++) {
		const struct cls_subtable *st = pv->e[e].st;
		int64_t maxp = pv->e[e].max_priority;
		const struct cls_slots *sl;
		const struct cls_summary *sum;
		uint64_t m, todo = 0;
		uint64_t hits = 0;

		// Sorted by highest priority: a packet whose match beats this subtable is done.
		for (m = open; m != 0; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);

			if (best_prio[i] >= maxp)
				open &= ~(1ULL << i);
			else
				todo |= 1ULL << i;
		}
		if (todo == 0)
			break;
		searched += (unsigned)__builtin_popcountll(todo);
		// Pairs with the store-release in cls_summary_set().
		sum = atomic_load_explicit(&st->sum, memory_order_acquire);
		if (sum != NULL) {
			for (m = todo; m != 0; m &= m - 1) {
				unsigned i = (unsigned)__builtin_ctzll(m);

				if (!cls_summary_ok(st, sum, keys[i])) {
					todo &= ~(1ULL << i);
					if (wc != NULL)
						cls_wc_summary(st, sum, keys[i], &wc[i]);
				}
			}
			if (todo == 0)
				continue;
		}
		sl = atomic_load_explicit(&st->slots, memory_order_acquire);
		for (m = todo; m != 0; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);

			hash[i] = cls_hash(st, keys[i]);
			prefetch0(&sl->s[hash[i] & sl->mask]);
		}
		for (m = todo; m != 0; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctzll(m);
			const struct cls_node *nd = cls_probe(st, sl, keys[i], hash[i]);
			struct cls_rule *r;

			if (nd == NULL) {
				if (wc != NULL)
					cls_wc_nomatch(st, sl, keys[i], &wc[i]);
				continue;
			}
			if (wc != NULL)
				cls_wc_mask(st, &wc[i]);
			r = atomic_load_explicit(
				&((struct cls_node *)nd)->best, memory_order_acquire);
			if (r != NULL && (int64_t)r->priority > best_prio[i]) {
				out[i] = r;
				best_prio[i] = r->priority;
				hits++;
			}
		}
		if (hits != 0 && worker < st->n_workers) {
			_Atomic uint64_t *h = &((struct cls_subtable *)st)->w[worker].hits;

			atomic_store_explicit(h,
				atomic_load_explicit(h, memory_order_relaxed) + hits,
				memory_order_relaxed);
		}
	}
	return searched;
}

unsigned cls_explain(const struct cls *c, const struct flow_key *k, struct cls_explain_step *steps,
	unsigned max, const struct cls_rule **best)
{
	const struct cls_pvec *pv = atomic_load_explicit(&c->pvec, memory_order_acquire);
	int64_t best_prio = -1;

	*best = NULL;
	for (unsigned i = 0; i < pv->n; i++) {
		const struct cls_subtable *st = pv->e[i].st;
		struct cls_explain_step s = {
			.mask = &st->mask,
			.max_priority = pv->e[i].max_priority,
			.n_rules = st->n_rules,
		};

		if ((int64_t)pv->e[i].max_priority <= best_prio) {
			s.skipped = true;
		} else {
			const struct cls_slots *sl =
				atomic_load_explicit(&st->slots, memory_order_acquire);
			const struct cls_summary *sum =
				atomic_load_explicit(&st->sum, memory_order_acquire);
			const struct cls_node *n = cls_summary_ok(st, sum, k)
				? cls_probe(st, sl, k, cls_hash(st, k))
				: NULL;
			struct cls_rule *r = n ? atomic_load_explicit(&((struct cls_node *)n)->best,
							 memory_order_acquire)
					       : NULL;

			s.found = r;
			if (r != NULL && (int64_t)r->priority > best_prio) {
				*best = r;
				best_prio = r->priority;
			}
		}
		if (i < max)
			steps[i] = s;
	}
	return pv->n;
}
