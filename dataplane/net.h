// SPDX-License-Identifier: Apache-2.0
// Wire formats the pipeline parses and rewrites (Ethernet, 802.1Q/802.1ad, ARP, IPv4, IPv6,
// TCP/UDP/SCTP/ICMP) and the Internet checksum helpers. Header-only; fields are network order.
#ifndef VSWITCH_NET_H
#define VSWITCH_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dataplane/compiler.h"

#define NET_ETH_ALEN 6
#define NET_ETH_HLEN 14
#define NET_VLAN_HLEN 4
#define NET_ETH_MIN_LEN 60 // without FCS

// Ethertypes (host order).
#define NET_ETH_P_IPV4 0x0800
#define NET_ETH_P_ARP 0x0806
#define NET_ETH_P_VLAN 0x8100 // 802.1Q C-tag
#define NET_ETH_P_QINQ 0x88a8 // 802.1ad S-tag
#define NET_ETH_P_IPV6 0x86dd

#define NET_VLAN_VID_MASK 0x0fff
#define NET_VLAN_PCP_SHIFT 13

// IP protocol numbers.
#define NET_IPPROTO_HOPOPTS 0
#define NET_IPPROTO_ICMP 1
#define NET_IPPROTO_TCP 6
#define NET_IPPROTO_UDP 17
#define NET_IPPROTO_ROUTING 43
#define NET_IPPROTO_FRAGMENT 44
#define NET_IPPROTO_ESP 50
#define NET_IPPROTO_AH 51
#define NET_IPPROTO_ICMPV6 58
#define NET_IPPROTO_NONE 59
#define NET_IPPROTO_DSTOPTS 60
#define NET_IPPROTO_SCTP 132

#define NET_IPV4_MF 0x2000 // more fragments (in host-order frag_off)
#define NET_IPV4_OFFMASK 0x1fff

struct net_eth_hdr {
	uint8_t dst[NET_ETH_ALEN];
	uint8_t src[NET_ETH_ALEN];
	uint16_t type;
} __packed;

struct net_vlan_hdr {
	uint16_t tci;
	uint16_t type; // encapsulated ethertype
} __packed;

struct net_arp_hdr {
	uint16_t htype;
	uint16_t ptype;
	uint8_t hlen;
	uint8_t plen;
	uint16_t op;
	uint8_t sha[NET_ETH_ALEN];
	uint8_t spa[4];
	uint8_t tha[NET_ETH_ALEN];
	uint8_t tpa[4];
} __packed;

struct net_ipv4_hdr {
	uint8_t ver_ihl; // version << 4 | header length in 32-bit words
	uint8_t tos;
	uint16_t tot_len;
	uint16_t id;
	uint16_t frag_off; // flags << 13 | offset in 8-byte units
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __packed;

struct net_ipv6_hdr {
	uint32_t ver_tc_flow;
	uint16_t payload_len;
	uint8_t next;
	uint8_t hop_limit;
	uint8_t src[16];
	uint8_t dst[16];
} __packed;

// Hop-by-hop, routing and destination options share this prefix; length in 8-byte units
// not counting the first 8.
struct net_ipv6_opt_hdr {
	uint8_t next;
	uint8_t len;
} __packed;

struct net_ipv6_frag_hdr {
	uint8_t next;
	uint8_t reserved;
	uint16_t frag_off; // offset << 3 | M
	uint32_t id;
} __packed;

struct net_tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t off; // data offset << 4
	uint8_t flags;
	uint16_t win;
	uint16_t csum;
	uint16_t urg;
} __packed;

struct net_udp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint16_t len;
	uint16_t csum;
} __packed;

struct net_sctp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t vtag;
	uint32_t csum;
} __packed;

struct net_icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t csum;
} __packed;

static inline uint16_t net_ntohs(uint16_t v)
{
	return __builtin_bswap16(v);
}

static inline uint16_t net_htons(uint16_t v)
{
	return __builtin_bswap16(v);
}

static inline uint32_t net_ntohl(uint32_t v)
{
	return __builtin_bswap32(v);
}

static inline uint32_t net_htonl(uint32_t v)
{
	return __builtin_bswap32(v);
}

// Frame data is not aligned: read 16-bit big-endian fields through these.
static inline uint16_t net_get_be16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void net_put_be16(void *p, uint16_t v)
{
	uint8_t *b = p;

	b[0] = v >> 8;
	b[1] = v & 0xff;
}

static inline bool net_eth_is_multicast(const uint8_t mac[NET_ETH_ALEN])
{
	return mac[0] & 1; // includes broadcast
}

static inline bool net_eth_is_broadcast(const uint8_t mac[NET_ETH_ALEN])
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline bool net_eth_is_zero(const uint8_t mac[NET_ETH_ALEN])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

static inline bool net_is_vlan_type(uint16_t type)
{
	return type == NET_ETH_P_VLAN || type == NET_ETH_P_QINQ;
}

// One's-complement sum of len bytes (no final fold), added to `sum`. Byte order neutral: the
// result folded with net_csum_fold() is in the same order as the data.
static inline uint32_t net_csum_partial(const void *data, unsigned len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		s += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t w = 0;

		memcpy(&w, p, 1); // odd trailing byte, padded with zero in memory order
		s += w;
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)s;
}

// Folds a partial sum to 16 bits and complements it: the value to store in a checksum field.
static inline uint16_t net_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

// Checksum of an IPv4 header (csum field included: 0 means valid when computing over a header
// whose csum is set; set csum to 0 first to compute it).
static inline uint16_t net_ipv4_csum(const struct net_ipv4_hdr *ip)
{
	return net_csum_fold(net_csum_partial(ip, (ip->ver_ihl & 0xf) * 4u, 0));
}

// Pseudo-header partial sums for TCP/UDP checksums; l4_len in host order.
static inline uint32_t net_ipv4_pseudo_csum(const struct net_ipv4_hdr *ip, uint8_t proto,
	uint16_t l4_len)
{
	uint64_t s = (uint64_t)net_csum_partial(&ip->src, 8, 0) + net_htons(proto) +
		net_htons(l4_len);

	return (uint32_t)((s & 0xffffffff) + (s >> 32));
}

static inline uint32_t net_ipv6_pseudo_csum(const struct net_ipv6_hdr *ip6, uint8_t proto,
	uint32_t l4_len)
{
	uint32_t sum = net_csum_partial(ip6->src, 32, 0);
	uint64_t s = (uint64_t)sum + net_htonl(l4_len) + net_htonl(proto);

	s = (s & 0xffffffff) + (s >> 32);
	return (uint32_t)((s & 0xffffffff) + (s >> 32));
}

// Incremental update (RFC 1624) of a checksum field when a 16-bit / 32-bit word changes from
// old to new (all in network order).
static inline uint16_t net_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t sum = (uint16_t)~csum + (uint32_t)(uint16_t)~old + new_;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t net_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	csum = net_csum_update16(csum, (uint16_t)(old >> 16), (uint16_t)(new_ >> 16));
	return net_csum_update16(csum, (uint16_t)old, (uint16_t)new_);
}

#endif
