// SPDX-License-Identifier: Apache-2.0
// Packet tracing through the flow table. Two modes:
// - Synthetic (vsctl trace BR FIELDS): the control thread builds a frame from the given fields,
//   parses it as a worker would, explains the classifier lookup subtable by subtable, then
//   runs the rule's actions on the frame without sending it ("dry run"), reporting every
//   rewrite, output port and the L2 decision of "normal" (read-only: nothing is learned).
// - Live (vsctl trace --live PORT N): workers record the next N packets received on a port
//   (key, cache/classifier/miss, rule, outputs) in per-worker rings the control thread drains.
//   The fast-path cost when no live trace runs is one relaxed load per burst.
#ifndef VSWITCH_FLOW_TRACE_H
#define VSWITCH_FLOW_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/flow_key.h"
#include "dataplane/flow_parse.h"
#include "dataplane/pipeline.h"

struct flow_table;

// ---- synthetic trace ----

#define FLOW_TRACE_MAX_STAGES 128
#define FLOW_TRACE_TEXT 1024

struct flow_trace_stage {
	char stage[16]; // "frame", "parse", "classifier", "rule", "action", "output", ...
	char text[FLOW_TRACE_TEXT];
};

struct flow_trace {
	unsigned n_stages;
	struct flow_trace_stage stages[FLOW_TRACE_MAX_STAGES];
	bool matched; // a rule matched (else the table-miss action ran)
	uint16_t priority;
	uint64_t cookie;
	char rule[FLOW_TEXT_MAX]; // canonical text of the matched rule
	char packet[FLOW_TEXT_MAX]; // the key as extracted from the frame
	unsigned n_outputs;
	char outputs[PORT_MAX][PORT_NAME_MAX]; // ports the packet (or a copy) would leave by
	bool dropped; // no copy would leave the switch
};

// Traces a packet with the fields of pkt (parsed in FLOW_PARSE_PACKET mode) received on port
// in_port of bridge br (from snap, the datapath's current snapshot) through table ft. Control
// thread. 0, or -EINVAL (fields that do not make a frame) / -ENOMEM with err filled.
int flow_trace_run(const struct flow_table *ft, const struct pl_snapshot *snap,
	const struct pl_bridge *br, uint16_t in_port, const struct flow_spec *pkt,
	struct flow_trace *out, struct err *err);

// The mask of every field a packet with key k has (its protocol's fields), to print a packet's
// key with flow_format_match().
void flow_trace_key_mask(const struct flow_key *k, struct flow_key *mask);

// Builds the frame for pkt's fields into buf (at least 256 bytes). Returns its length.
// Exposed for tests.
unsigned flow_trace_build_frame(const struct flow_spec *pkt, uint8_t *buf, unsigned size);

// ---- live trace ----

#define FLOW_TRACE_RING 64 // records per worker between two reads
#define FLOW_TRACE_MAX_OUT 16
#define FLOW_TRACE_LIVE_MAX 1000 // packets per live trace

// Where the result came from (whether a rule or "no rule": see flow_trace_rec.miss).
enum flow_trace_decision {
	FLOW_TRACE_CACHE = 1, // the worker's exact-match cache
	FLOW_TRACE_MEGAFLOW, // the worker's megaflow cache
	FLOW_TRACE_CLASSIFIER, // the classifier
};

enum flow_trace_out_kind {
	FLOW_TRACE_OUT_PORT = 1, // output / in_port
	FLOW_TRACE_OUT_FLOOD, // one port of a flood
	FLOW_TRACE_OUT_MIRROR,
	FLOW_TRACE_OUT_NORMAL, // handed to the L2 bridge (port decided there)
};

// One traced packet, written by a worker.
struct flow_trace_rec {
	struct flow_key key;
	uint64_t rule_id; // 0: no rule
	uint64_t cookie;
	uint32_t len;
	uint16_t in_port;
	uint16_t priority;
	uint16_t bridge; // pl_bridge.index
	uint8_t worker;
	uint8_t decision; // enum flow_trace_decision
	bool miss; // no rule matched: table-miss action
	uint8_t n_out;
	uint8_t out_kind[FLOW_TRACE_MAX_OUT];
	uint16_t out[FLOW_TRACE_MAX_OUT]; // port ids
};

// Arms tracing of the next `count` (1..FLOW_TRACE_LIVE_MAX) packets received on port_id and
// discards records of an earlier trace. Control thread. 0 or -EINVAL.
int flow_trace_live_start(uint16_t port_id, unsigned count);
// Disarms tracing on port_id (every port when port_id >= PORT_MAX).
void flow_trace_live_stop(uint16_t port_id);
// Packets still to be traced on port_id.
unsigned flow_trace_live_remaining(uint16_t port_id);
// Moves up to max records collected since the last read into out (oldest first per worker).
// Returns how many. Control thread.
unsigned flow_trace_live_read(struct flow_trace_rec *out, unsigned max);
// Canonical text of the rule with this id in ft (control thread); false when it is gone.
bool flow_trace_rule_text(const struct flow_table *ft, uint64_t rule_id, char *buf, size_t size);

#endif
