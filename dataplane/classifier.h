// SPDX-License-Identifier: Apache-2.0
// Tuple-space-search packet classifier: rules with arbitrary masks and priorities, one hash
// table (subtable) per distinct mask. The control thread inserts and removes rules while workers
// look up, without locks (RCU: dataplane/rcu.h).
//
// How it works. A subtable holds the rules of one mask, keyed by their masked value: an open-
// addressing table of node pointers (16 bits of the hash kept in the pointer's unused top bits,
// so a probe rarely touches a node it does not want). A node is one masked value; it lists the
// rules with that value in priority order and publishes the highest one as node->best, which is
// all a lookup reads. The subtables are searched in the order of an immutable "ranked vector",
// sorted by the highest priority they hold, then by how many hits they had recently (re-sorted
// by cls_rerank()); a lookup stops as soon as no later subtable can hold a higher priority than
// the best match found (early exit on priority). Writers change one atomic pointer at a time:
// a new node or a tombstone goes into a slot, node->best changes, or a new slot array or vector
// replaces the old one; what was replaced is freed after an RCU grace period. A lookup running
// concurrently with a change sees the classifier either before or after it.
//
// Threads: cls_lookup*() on workers (and the control thread); everything else on the control
// thread only. Rule memory belongs to the caller, who frees it after a grace period once
// cls_remove() returned.
#ifndef VSWITCH_CLASSIFIER_H
#define VSWITCH_CLASSIFIER_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/flow_key.h"

#define CLS_MAX_SUBTABLES 4096 // distinct masks per classifier
#define CLS_BURST 32 // max packets per cls_lookup_burst()

struct cls_node;

// Embedded in the caller's rule. value/mask/priority are set by the caller before
// cls_insert() and not changed while inserted (value may change between remove and insert).
struct cls_rule {
	struct flow_key value; // masked: value & ~mask == 0
	struct flow_key mask;
	uint32_t priority; // higher wins
	// Classifier-private (control thread).
	struct cls_rule *next; // same value and mask, lower priority
	struct cls_node *node;
};

struct cls;

// NULL + errno (ENOMEM). n_workers sizes the per-worker hit counters (worker ids < n_workers).
struct cls *cls_create(unsigned n_workers);
// Frees subtables, nodes and vectors at once: no worker may reach c any more (after a grace
// period), and every rule must have been removed or be freed by the caller after this. NULL ok.
void cls_destroy(struct cls *c);

// Adds r. 0, -EEXIST (a rule with the same mask, value and priority is in), -ENOSPC (too many
// distinct masks), -ENOMEM. Visible to lookups when it returns.
int cls_insert(struct cls *c, struct cls_rule *r);
// Removes r (which must be inserted). Lookups stop returning it when it returns; lookups that
// started before may still return it until the next grace period.
void cls_remove(struct cls *c, struct cls_rule *r);
// Re-sorts the subtables by (highest priority, hits since the last call) and recomputes the
// highest priorities that removals may have lowered. Call every second or so.
void cls_rerank(struct cls *c);

unsigned cls_n_rules(const struct cls *c);
unsigned cls_n_subtables(const struct cls *c);

// The highest-priority rule matching k, or NULL. *n_searched (may be NULL) gets how many
// subtables were probed. worker < n_workers counts the hit for ranking; any other value counts
// nothing (control-thread lookups).
const struct cls_rule *cls_lookup(
	const struct cls *c, const struct flow_key *k, unsigned worker, unsigned *n_searched);
// Same for n <= CLS_BURST keys at once: subtable by subtable, hashing and prefetching all the
// packets still unresolved before probing, so that memory latency overlaps. out[i] gets the
// result for keys[i]; the return value is the number of subtables considered in all.
// wc (NULL: not wanted) gets, per key, the bits the result depends on ("wildcards"): every key
// k' with (k' & wc[i]) == (keys[i] & wc[i]) gets the same result from the classifier as it is
// now. Subtables that matched contribute their whole mask; subtables that did not, only a
// prefix of one field per rule that proves the mismatch (a whole mask when they hold many
// values). The basis of the megaflow cache (flow_cache.h).
unsigned cls_lookup_burst(const struct cls *c, const struct flow_key *const *keys, unsigned n,
	const struct cls_rule **out, unsigned worker, struct flow_key *wc);

// One step of a lookup as cls_explain() reports it.
struct cls_explain_step {
	const struct flow_key
		*mask; // the subtable's mask (valid while the classifier is unchanged)
	uint32_t max_priority;
	unsigned n_rules;
	const struct cls_rule *found; // NULL: no rule with k's masked value
	bool skipped; // not probed: its highest priority cannot beat the match already found
};
// A lookup that reports every subtable in search order (control thread; trace). Fills up to max
// steps, returns the number of subtables; *best gets the result.
unsigned cls_explain(const struct cls *c, const struct flow_key *k, struct cls_explain_step *steps,
	unsigned max, const struct cls_rule **best);

#endif
