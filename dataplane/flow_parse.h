// SPDX-License-Identifier: Apache-2.0
// Flow rules as text, in the syntax of ovs-ofctl ("priority=100,in_port=vm1,tcp,tp_dst=80
// actions=output:uplink"), and back: the parser fills a struct flow_spec (match, priority, cookie,
// timeouts, actions with port *names*), the formatter prints the canonical text that dump-flows,
// persistence and the three-way merge use. Pure functions (no datapath state): control thread,
// tests and fuzzers. Errors name the field and the column of the token at fault.
#ifndef VSWITCH_FLOW_PARSE_H
#define VSWITCH_FLOW_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/err.h"
#include "dataplane/flow_key.h"
#include "drivers/port.h"

#define FLOW_MAX_ACTIONS 32
#define FLOW_PRIORITY_DEFAULT 32768
#define FLOW_PRIORITY_MAX 65535
#define FLOW_TEXT_MAX 4096 // longest rule text accepted (and produced)

enum flow_act_type {
	FLOW_ACT_OUTPUT = 1, // port
	FLOW_ACT_IN_PORT, // back out of the ingress port
	FLOW_ACT_FLOOD, // every bridge port but the ingress one ("flood", "all")
	FLOW_ACT_NORMAL, // the L2 learning bridge
	FLOW_ACT_MIRROR, // copy of the packet as received to port, wherever the action is listed
	FLOW_ACT_PUSH_VLAN, // u16 = TPID (0x8100, 0x88a8)
	FLOW_ACT_POP_VLAN,
	FLOW_ACT_SET_VLAN_VID, // u16 = VID; flags FLOW_ACTF_PUSH: push a tag if there is none
	FLOW_ACT_SET_VLAN_PCP, // u16 = PCP; flags FLOW_ACTF_PUSH as above
	FLOW_ACT_SET_ETH_SRC, // mac
	FLOW_ACT_SET_ETH_DST,
	FLOW_ACT_SET_IPV4_SRC, // ip4 (network order)
	FLOW_ACT_SET_IPV4_DST,
	FLOW_ACT_SET_IPV6_SRC, // ip6
	FLOW_ACT_SET_IPV6_DST,
	FLOW_ACT_SET_TP_SRC, // u16 (TCP/UDP/SCTP port)
	FLOW_ACT_SET_TP_DST,
	FLOW_ACT_SET_DSCP, // u16 = DSCP 0..63
	FLOW_ACT_SET_ECN, // u16 = ECN 0..3
	FLOW_ACT_DEC_TTL, // IPv4 TTL / IPv6 hop limit; the packet is dropped when it reaches 0
};

#define FLOW_ACTF_PUSH 0x1 // mod_vlan_vid/mod_vlan_pcp: push a tag when the frame has none

struct flow_action {
	uint8_t type; // enum flow_act_type
	uint8_t flags;
	uint16_t u16;
	uint32_t ip4;
	uint8_t mac[6];
	uint8_t ip6[16];
	char port[PORT_NAME_MAX]; // OUTPUT, MIRROR
};

// What the text set, beyond the match (flow_spec.has).
#define FLOW_HAS_PRIORITY 0x01
#define FLOW_HAS_COOKIE 0x02
#define FLOW_HAS_IDLE 0x04
#define FLOW_HAS_HARD 0x08
#define FLOW_HAS_ACTIONS 0x10
#define FLOW_HAS_TABLE 0x20

struct flow_spec {
	struct flow_key value; // masked (value & ~mask == 0); value.in_port is 0 (see in_port)
	struct flow_key mask; // mask.in_port is 0xffff when in_port is given
	char in_port[PORT_NAME_MAX]; // "" = any
	uint16_t priority; // FLOW_PRIORITY_DEFAULT unless given
	uint16_t idle_timeout; // seconds, 0 = none
	uint16_t hard_timeout;
	uint64_t cookie;
	uint64_t cookie_mask; // filters (del/mod/dump): which cookie bits must equal; add: ~0 if
			      // given
	unsigned has; // FLOW_HAS_*
	unsigned n_actions; // 0 with FLOW_HAS_ACTIONS = drop
	struct flow_action actions[FLOW_MAX_ACTIONS];
};

enum flow_parse_mode {
	// add-flow / mod-flows: match, priority, cookie, idle_timeout, hard_timeout and actions=
	// (required, last).
	FLOW_PARSE_ADD,
	// del-flows / dump-flows filter: match, priority (used by --strict), cookie=V/MASK; no
	// actions, no timeouts. "" matches everything.
	FLOW_PARSE_FILTER,
	// trace: the fields of one packet (no masks, no actions); missing fields take defaults
	// (the packet builder fills in what a valid frame needs).
	FLOW_PARSE_PACKET,
};

// Parses `len` bytes of `s` (not necessarily NUL-terminated). On error returns -EINVAL (-E2BIG
// for text longer than FLOW_TEXT_MAX) with err->field = the field or action at fault ("nw_dst",
// "actions") and err->msg = "column N: \"TOKEN\": what is wrong and what is expected" (columns
// count from 1). Prerequisites are checked as OpenFlow does: nw_* need ip/ipv6/arp, tp_* need
// tcp/udp/sctp, set_field actions need the headers they rewrite in the match.
int flow_parse(const char *s, size_t len, enum flow_parse_mode mode, struct flow_spec *spec,
	struct err *err);

// Canonical text. FLOW_FMT_* select the parts (priority first, then cookie/timeouts when set,
// the match, then " actions=..."). Fields are printed in a fixed order with shortcuts (tcp,
// udp6, arp...) so that two equal rules always print the same. Returns the length that the full
// text needs (like snprintf); the output is always NUL-terminated and truncated to size.
#define FLOW_FMT_PRIORITY 0x1
#define FLOW_FMT_MATCH 0x2
#define FLOW_FMT_ACTIONS 0x4
#define FLOW_FMT_EXTRA 0x8 // cookie, idle_timeout, hard_timeout (those set)
#define FLOW_FMT_ALL (FLOW_FMT_PRIORITY | FLOW_FMT_MATCH | FLOW_FMT_ACTIONS | FLOW_FMT_EXTRA)
size_t flow_format(const struct flow_spec *spec, unsigned what, char *buf, size_t size);
size_t flow_format_actions(const struct flow_action *acts, unsigned n, char *buf, size_t size);
// The match part alone for a key and mask (trace output: a packet's fields with a full mask).
// in_port_name names the port when mask->in_port is set (NULL: print the number).
size_t flow_format_match(const struct flow_key *value, const struct flow_key *mask,
	const char *in_port_name, char *buf, size_t size);

// Rule identity as OpenFlow defines it for add (replace) and strict del/mod: same priority, same
// mask, same value, same in_port name.
bool flow_spec_same_match(const struct flow_spec *a, const struct flow_spec *b);
// Non-strict filter: is every packet matching `rule` also matched by `filter` (the filter's match
// is the same or wider)? Priority is ignored; in_port compared by name.
bool flow_spec_covers(const struct flow_spec *filter, const struct flow_spec *rule);

#endif
