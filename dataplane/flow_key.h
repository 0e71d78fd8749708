// SPDX-License-Identifier: Apache-2.0
// The flow key: every header field a flow rule can match, extracted from a parsed packet into a
// fixed 72-byte layout of nine 64-bit words. The classifier masks and hashes it word by word and
// the per-worker cache compares it whole, so the layout is part of the fast path.
#ifndef VSWITCH_FLOW_KEY_H
#define VSWITCH_FLOW_KEY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/compiler.h"
#include "dataplane/pkt.h"

#define FLOW_KEY_WORDS 9

// vlan_tci: the 802.1Q CFI/DEI bit position marks "a tag is present" (as in OpenFlow); the real
// DEI bit is not matched. 0 = untagged.
#define FLOW_VLAN_PRESENT 0x1000
#define FLOW_VLAN_VID_MASK 0x0fff
#define FLOW_VLAN_PCP_MASK 0xe000
#define FLOW_VLAN_PCP_SHIFT 13

// nw_frag bits.
#define FLOW_FRAG_ANY 0x1 // a fragment (first or later)
#define FLOW_FRAG_LATER 0x2 // not the first fragment

// tcp_flags: 12 bits, host order (FIN 0x001 ... CWR 0x080, NS 0x100).
#define FLOW_TCP_FLAGS_MASK 0x0fff

// Multi-byte numeric fields are in host order, addresses in network (wire) order. Fields a packet
// does not have are zero. Layout by word:
//   0: in_port, vlan_tci, eth_type, nw_proto, nw_tos   1: eth_dst, tp_src   2: eth_src, tp_dst
//   3: nw_src, nw_dst   4: tcp_flags, arp_op, nw_frag   5-6: ipv6_src   7-8: ipv6_dst
// ARP reuses fields: nw_src/nw_dst hold SPA/TPA, ipv6_src/ipv6_dst start with SHA/THA. ICMP and
// ICMPv6 put type/code in tp_src/tp_dst. Matches always carry the eth_type (and nw_proto) that
// give these words their meaning, so the reuse never makes two protocols match each other.
struct flow_key {
	union {
		uint64_t w[FLOW_KEY_WORDS];
		struct {
			uint16_t in_port;
			uint16_t vlan_tci;
			uint16_t eth_type;
			uint8_t nw_proto;
			uint8_t nw_tos; // DSCP << 2 | ECN
			uint8_t eth_dst[6];
			uint16_t tp_src;
			uint8_t eth_src[6];
			uint16_t tp_dst;
			uint32_t nw_src;
			uint32_t nw_dst;
			uint16_t tcp_flags;
			uint16_t arp_op;
			uint8_t nw_frag;
			uint8_t pad[3];
			uint8_t ipv6_src[16];
			uint8_t ipv6_dst[16];
		};
	};
};

STATIC_ASSERT(sizeof(struct flow_key) == FLOW_KEY_WORDS * 8, "flow_key is 9 words");

// Fills *k from a packet parsed by pl_parse() (PKT_F_PARSED set) that arrived on in_port. Reads
// only within p->len. Worker threads (and the control thread for traces).
void flow_key_extract(const struct pkt *p, uint16_t in_port, struct flow_key *k);
// IP protocol of the L4 header at p->l4_off (IPv6: after the extension headers); 0 when the
// packet has no L4 header the parser located.
uint8_t flow_key_l4_proto(const struct pkt *p);

// 32-bit hash mixing one 64-bit word into h (CRC32-C when the CPU has it).
static __always_inline uint32_t flow_key_hash_word(uint32_t h, uint64_t w)
{
#if defined(__SSE4_2__) && defined(__x86_64__)
	return (uint32_t)__builtin_ia32_crc32di(h, w);
#else
	uint64_t x = (w ^ h) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(x >> 32) ^ (uint32_t)x;
#endif
}

// Final avalanche so that low bits (bucket index) depend on every input bit.
static __always_inline uint32_t flow_key_hash_fini(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

// Hash of the whole key (the per-worker cache's index).
static __always_inline uint32_t flow_key_hash(const struct flow_key *k)
{
	uint32_t a = 0x3c6ef372, b = 0xa54ff53a;

	// Two independent chains halve the CRC latency.
	a = flow_key_hash_word(a, k->w[0]);
	b = flow_key_hash_word(b, k->w[1]);
	a = flow_key_hash_word(a, k->w[2]);
	b = flow_key_hash_word(b, k->w[3]);
	a = flow_key_hash_word(a, k->w[4]);
	b = flow_key_hash_word(b, k->w[5]);
	a = flow_key_hash_word(a, k->w[6]);
	b = flow_key_hash_word(b, k->w[7]);
	a = flow_key_hash_word(a, k->w[8]);
	return flow_key_hash_fini(a ^ (b * 0x9e3779b1));
}

static __always_inline bool flow_key_equal(const struct flow_key *a, const struct flow_key *b)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++)
		d |= a->w[i] ^ b->w[i];
	return d == 0;
}

// Does key k match (value, mask)? value must be pre-masked.
static inline bool flow_key_match(
	const struct flow_key *k, const struct flow_key *value, const struct flow_key *mask)
{
	uint64_t d = 0;

	for (unsigned i = 0; i < FLOW_KEY_WORDS; i++)
		d |= (k->w[i] & mask->w[i]) ^ value->w[i];
	return d == 0;
}

#endif
