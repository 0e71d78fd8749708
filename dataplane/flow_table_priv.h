// SPDX-License-Identifier: Apache-2.0
// Internals of the flow table shared by flow_table.c (rules, execution) and flow_trace.c
// (explaining a lookup and its actions). Not for other modules: use flow_table.h.
#ifndef VSWITCH_FLOW_TABLE_PRIV_H
#define VSWITCH_FLOW_TABLE_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/classifier.h"
#include "dataplane/flow_table.h"

#define FLOW_MAX_WORKERS 32 // == WORKER_MAX (checked in flow_table.c)

// A compiled action: port names resolved to ids.
struct flow_xact {
	uint8_t type; // enum flow_act_type
	uint8_t flags;
	uint16_t port; // OUTPUT, MIRROR: port id or FLOW_PORT_NONE
	uint16_t u16;
	uint32_t ip4;
	uint8_t mac[6];
	uint8_t ip6[16];
};

// Immutable once published (rule->xacts); replaced as a whole.
struct flow_xacts {
	uint8_t n;
	uint8_t n_mirrors;
	int8_t last_out; // index of the last action that sends the packet somewhere, -1: none
	struct flow_xact a[];
};

// Per-worker rule counters: worker: rw (own slot, relaxed), control: ro (relaxed).
struct flow_rstats {
	_Atomic uint64_t packets;
	_Atomic uint64_t bytes;
	_Atomic uint32_t used; // now_sec of the last packet, 0 never
	uint32_t pad[3];
};

struct flow_rule {
	struct cls_rule cr; // first: container_of from classifier results
	// worker: ro (acquire), control: rw (release); freed after a grace period when replaced.
	_Atomic(const struct flow_xacts *) xacts;
	struct flow_rstats *stats; // [n_workers]
	uint64_t cookie;
	uint64_t id; // unique for the process: live traces name rules by it
	// Control thread only.
	struct flow_rule *prev, *next; // every rule of the table
	struct flow_rule *hnext; // identity hash chain
	uint32_t hkey;
	uint64_t seq;
	uint32_t created; // now_sec
	uint16_t idle_timeout, hard_timeout;
	uint16_t priority;
	bool inserted; // in the classifier (false: in_port names no port of the bridge)
	unsigned missing_outputs;
	char *in_port; // NULL: any
	struct flow_key value, mask; // as given, value.in_port = 0 (cr.value has the port id)
	uint8_t n_actions;
	struct flow_action *actions; // as given (names), n_actions
};

// Per-worker table counters: worker: rw (own slot), control: ro (relaxed).
struct flow_wstats {
	_Atomic uint64_t packets;
	_Atomic uint64_t cache_hits;
	_Atomic uint64_t megaflow_hits;
	_Atomic uint64_t cls_hits;
	_Atomic uint64_t misses;
	_Atomic uint64_t cls_lookups;
	_Atomic uint64_t subtables_searched;
	_Atomic uint64_t dropped;
	_Atomic uint64_t output_missing;
	_Atomic uint64_t nobuf;
} __cache_aligned;

struct flow_table {
	// Read by workers.
	_Atomic uint64_t gen; // worker: ro (acquire), control: rw (release, after the change)
	_Atomic uint8_t miss; // enum flow_miss; worker: ro (relaxed)
	struct cls *cls;
	struct flow_wstats *wst; // [n_workers]
	unsigned n_workers;
	// Control thread only.
	char bridge[32];
	struct flow_table_port_ops ops;
	struct flow_rule *head, *tail; // all rules, in insertion order
	unsigned n_rules;
	struct flow_rule **hash; // identity hash
	unsigned hash_mask;
	uint64_t seq;
	uint32_t last_rerank;
	bool traced; // a live trace runs on one of the bridge's ports
};

static inline const struct flow_rule *flow_rule_of(const struct cls_rule *cr)
{
	return (const struct flow_rule *)cr;
}

// Applies one modifying action (push/pop/set VLAN, set_field, dec_ttl) to a parsed packet,
// updating offsets, PKT_F_VLAN/vlan_tci and checksums. Returns 0, or -EPERM when the packet
// must be dropped (dec_ttl reached 0), -ENOBUFS when there is no headroom for a tag. Actions
// whose header the packet lacks do nothing. Workers and the control thread (trace).
int flow_xact_modify(struct pkt *p, const struct flow_xact *a);
// Canonical text of a rule (the spec it was added with, its current actions). Control thread.
size_t flow_rule_format(const struct flow_rule *r, char *buf, size_t size);
// True for the actions that send the packet somewhere (output, in_port, flood, normal).
bool flow_xact_is_output(uint8_t type);

// Shared with flow_trace.c: one worker-side trace record per traced packet.
struct flow_trace_rec;
struct flow_trace_rec *flow_trace_claim(unsigned worker, uint16_t in_port);
void flow_trace_commit(unsigned worker);
extern _Atomic uint32_t flow_trace_armed;

#endif
