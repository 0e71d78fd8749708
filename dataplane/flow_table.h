// SPDX-License-Identifier: Apache-2.0
// The flow table of a bridge: OpenFlow-style rules (match, priority, actions, cookie, timeouts,
// counters) as a pipeline stage between parsing and the L2 bridge. The control thread adds,
// modifies and deletes rules while workers forward; workers never wait.
//
// How it works. Rules live in a tuple-space-search classifier (classifier.h) that the control
// thread changes in place with RCU. Each worker has an exact-match cache (flow_cache.h) in
// front of it: flow key -> rule, valid only for the table generation it was filled in. Every
// change that can alter a lookup result (add, delete, a port appearing or disappearing) gives
// the table a new generation, globally unique, published with a store-release after the
// classifier change: a worker that sees it also sees the change, and its cache entries from
// before stop matching. Actions are compiled (port names resolved to ids) into an immutable
// block that mod-flows and port changes replace with one pointer store; replaced blocks and
// removed rules are freed after a grace period. Rules name ports, not ids: a rule whose in_port
// does not exist (yet, or any more) stays in the table but matches nothing, an output to a
// missing port does nothing; both work again when a port of that name is added to the bridge.
//
// Per burst a worker extracts the keys, hashes them once, probes its cache (prefetched), sends
// the misses to the classifier in one batch (cls_lookup_burst), then executes the actions
// packet by packet. Counters are per worker (table: cache hits, classifier hits, misses,
// subtables searched; rules: packets, bytes, last use) and summed by readers. Timeouts are
// swept and subtables re-ranked from flow_table_run() on the control thread.
//
// Threads: flow_table_process() on workers; everything else on the control thread.
#ifndef VSWITCH_FLOW_TABLE_H
#define VSWITCH_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/flow_parse.h"
#include "dataplane/pipeline.h"

#define FLOW_TABLE_MAX_RULES (4u << 20) // per bridge
#define FLOW_PORT_NONE 0xffff // compiled output to a port that does not exist

enum flow_miss {
	FLOW_MISS_NORMAL = 0, // table miss: the L2 learning bridge (default)
	FLOW_MISS_DROP,
};

// How the table resolves port names for its bridge (dp.c implements it).
struct flow_table_port_ops {
	// Port id of `name` in this bridge; -ENOENT (no such port) or -EXDEV (a port of another
	// bridge).
	int (*lookup)(void *arg, const char *name);
	void *arg;
};

struct flow_table;

// NULL + errno (ENOMEM). n_workers: worker ids that will call flow_table_process() are below it.
// bridge is used in messages.
struct flow_table *flow_table_create(const char *bridge, unsigned n_workers, enum flow_miss miss,
	const struct flow_table_port_ops *ops);
// Frees everything: no worker may reach the table any more (after a grace period). NULL ok.
void flow_table_destroy(struct flow_table *ft);

// Adds a rule (spec parsed in FLOW_PARSE_ADD mode). A rule with the same match and priority is
// replaced (its counters restart). Port names are resolved in the bridge: an unknown name is an
// error (-ENOENT, -EXDEV for a port of another bridge) unless flags has
// FLOW_TABLE_ALLOW_MISSING_PORTS (restoring state: the port may come later). -ENOSPC: too many
// rules or distinct masks; -ENOMEM. err names the field.
#define FLOW_TABLE_ALLOW_MISSING_PORTS 0x1
int flow_table_add(
	struct flow_table *ft, const struct flow_spec *spec, unsigned flags, struct err *err);
// The checks flow_table_add() makes before changing anything (actions present, port names of
// the bridge), without adding: bulk loads validate every rule first. 0 or the error add gives.
int flow_table_check(
	struct flow_table *ft, const struct flow_spec *spec, unsigned flags, struct err *err);
// Deletes the rules matching filter (FLOW_PARSE_FILTER): strict = same match and priority,
// otherwise every rule at least as specific as the filter; a cookie in the filter must match
// too. *n_deleted (may be NULL) gets the count. 0.
int flow_table_del(
	struct flow_table *ft, const struct flow_spec *filter, bool strict, unsigned *n_deleted);
// Replaces the actions of the rules selected as flow_table_del() does (spec parsed in
// FLOW_PARSE_ADD mode; its cookie, if any, selects). Counters, cookies and timeouts stay.
// -ENOENT/-EXDEV for unknown output ports (unless FLOW_TABLE_ALLOW_MISSING_PORTS), -ENOMEM.
int flow_table_mod(struct flow_table *ft, const struct flow_spec *spec, bool strict, unsigned flags,
	unsigned *n_modified, struct err *err);
// The bridge's ports changed: re-resolves every port name in the rules.
void flow_table_ports_changed(struct flow_table *ft);
void flow_table_set_miss(struct flow_table *ft, enum flow_miss miss);
enum flow_miss flow_table_get_miss(const struct flow_table *ft);
// True when packets must go through the table (rules exist or misses are dropped); otherwise
// the pipeline may skip it (pl_bridge.flows = NULL) with the same result.
bool flow_table_active(const struct flow_table *ft);
unsigned flow_table_n_rules(const struct flow_table *ft);
// While a live trace watches one of the bridge's ports, the table must run even when it could
// be skipped (flow_table_active() true), so that the packets are seen.
void flow_table_set_traced(struct flow_table *ft, bool traced);

// Periodic work (about once a second): removes rules whose idle or hard timeout expired
// (now_sec: mac_table_now() clock) and re-ranks the classifier subtables. Returns how many
// rules expired.
unsigned flow_table_run(struct flow_table *ft, uint32_t now_sec);

// One rule as dump-flows shows it.
struct flow_rule_info {
	const char *text; // canonical: "priority=...,cookie=...,MATCH actions=..."
	uint16_t priority;
	uint64_t cookie;
	uint16_t idle_timeout, hard_timeout;
	uint64_t packets, bytes;
	uint32_t duration; // seconds since added
	int64_t idle_age; // seconds since last packet, -1 never
	bool in_port_missing; // in_port names no port of the bridge: matches nothing
	unsigned missing_outputs; // outputs/mirrors to ports the bridge does not have
};
typedef void (*flow_table_dump_fn)(void *arg, const struct flow_rule_info *ri);
// Calls cb for the rules selected by filter (NULL: all) as flow_table_del() selects them, by
// priority (highest first), then age (oldest first). Returns how many.
unsigned flow_table_dump(const struct flow_table *ft, const struct flow_spec *filter, bool strict,
	uint32_t now_sec, flow_table_dump_fn cb, void *arg);

struct flow_table_stats {
	unsigned rules;
	unsigned subtables;
	uint64_t generation;
	enum flow_miss miss;
	// Since the table was created, summed over workers:
	uint64_t packets; // packets looked up
	uint64_t cache_hits; // found in the per-worker exact-match cache
	uint64_t megaflow_hits; // found in the per-worker megaflow cache (exact-match miss)
	uint64_t cls_hits; // found by the classifier (both caches missed)
	uint64_t misses; // no rule: table-miss action
	uint64_t cls_lookups; // packets that went to the classifier
	uint64_t subtables_searched; // total subtable probes of those lookups
	uint64_t dropped; // by rules (no output, dec_ttl at 0) or by the miss action
	uint64_t output_missing; // outputs to ports that do not exist or are down
	uint64_t nobuf; // copies (multiple outputs, mirrors) that found no buffer
};
void flow_table_stats_get(const struct flow_table *ft, struct flow_table_stats *st);

// Test hook: the clock of rule ages and timeouts (default mac_table_now(), the clock workers
// advance as pl_ctx.now_sec). NULL restores the default. Control thread.
void flow_table_set_clock(uint32_t (*now)(void));

// The flow table stage (pipeline.c, when pl_bridge.flows != NULL): every packet of the burst
// (received on in_port, parsed by pl_parse()) is looked up and its actions run; each ends up
// queued with pl_output(), handed to pl_l2_forward() or freed (and counted). Worker threads.
void flow_table_process(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port,
	struct pkt **pkts, uint16_t n);

#endif
