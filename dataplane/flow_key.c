// SPDX-License-Identifier: Apache-2.0
// Flow key extraction from a packet parsed by pl_parse(): L2 from the frame start, L3 at l3_off,
// L4 at l4_off (set by the parser only when the header's fixed part is in the frame).
#include "dataplane/flow_key.h"

#include "dataplane/net.h"

#define FLOW_KEY_IPV6_MAX_EXT 8

static void flow_key_ipv4(const struct pkt *p, const uint8_t *d, struct flow_key *k)
{
	const struct net_ipv4_hdr *ip = (const void *)(d + p->l3_off);
	uint16_t frag;

	if (p->l3_off + sizeof(*ip) > p->len || (ip->ver_ihl >> 4) != 4)
		return;
	k->nw_tos = ip->tos;
	k->nw_proto = ip->proto;
	memcpy(&k->nw_src, &ip->src, 4);
	memcpy(&k->nw_dst, &ip->dst, 4);
	frag = net_get_be16(&ip->frag_off);
	if (frag & (NET_IPV4_MF | NET_IPV4_OFFMASK)) {
		k->nw_frag = FLOW_FRAG_ANY;
		if (frag & NET_IPV4_OFFMASK)
			k->nw_frag |= FLOW_FRAG_LATER;
	}
}

// Final next-header value of an IPv6 packet (the walk pl_parse() does, remembered here) and the
// fragment bits.
static uint8_t flow_key_ipv6_proto(const struct pkt *p, const uint8_t *d, struct flow_key *k)
{
	uint32_t off = p->l3_off + sizeof(struct net_ipv6_hdr);
	uint8_t next = d[p->l3_off + 6];

	// Common case: the L4 header follows the fixed header.
	if (p->l4_off == off)
		return next;
	for (unsigned i = 0; i < FLOW_KEY_IPV6_MAX_EXT; i++) {
		uint32_t hlen;

		switch (next) {
		case NET_IPPROTO_HOPOPTS:
		case NET_IPPROTO_ROUTING:
		case NET_IPPROTO_DSTOPTS:
			if (off + 2 > p->len)
				return next;
			hlen = (d[off + 1] + 1u) * 8;
			break;
		case NET_IPPROTO_AH:
			if (off + 2 > p->len)
				return next;
			hlen = (d[off + 1] + 2u) * 4;
			break;
		case NET_IPPROTO_FRAGMENT: {
			const struct net_ipv6_frag_hdr *fh = (const void *)(d + off);
			uint16_t fo;

			if (off + sizeof(*fh) > p->len)
				return next;
			fo = net_get_be16(&fh->frag_off);
			if (fo & 0xfff9) {
				k->nw_frag = FLOW_FRAG_ANY;
				if (fo & 0xfff8)
					k->nw_frag |= FLOW_FRAG_LATER;
				// Later fragments carry no L4 header: the next header is the
				// protocol.
				return fh->next;
			}
			hlen = sizeof(*fh);
			break;
		}
		default:
			return next;
		}
		if (off + hlen > p->len)
			return next;
		next = d[off];
		off += hlen;
	}
	return next;
}

static void flow_key_ipv6(const struct pkt *p, const uint8_t *d, struct flow_key *k)
{
	const struct net_ipv6_hdr *ip6 = (const void *)(d + p->l3_off);

	if (p->l3_off + sizeof(*ip6) > p->len || (d[p->l3_off] >> 4) != 6)
		return;
	k->nw_tos = (uint8_t)(net_get_be16(d + p->l3_off) >> 4);
	memcpy(k->ipv6_src, ip6->src, 16);
	memcpy(k->ipv6_dst, ip6->dst, 16);
	k->nw_proto = flow_key_ipv6_proto(p, d, k);
}

static void flow_key_arp(const struct pkt *p, const uint8_t *d, struct flow_key *k)
{
	const struct net_arp_hdr *arp = (const void *)(d + p->l3_off);

	if (p->l3_off + sizeof(*arp) > p->len || net_get_be16(&arp->htype) != 1 ||
		net_get_be16(&arp->ptype) != NET_ETH_P_IPV4 || arp->hlen != 6 || arp->plen != 4)
		return;
	k->arp_op = net_get_be16(&arp->op);
	memcpy(&k->nw_src, arp->spa, 4);
	memcpy(&k->nw_dst, arp->tpa, 4);
	memcpy(k->ipv6_src, arp->sha, 6);
	memcpy(k->ipv6_dst, arp->tha, 6);
}

static void flow_key_l4(const struct pkt *p, const uint8_t *d, struct flow_key *k)
{
	const uint8_t *l4 = d + p->l4_off;

	switch (k->nw_proto) {
	case NET_IPPROTO_TCP: {
		const struct net_tcp_hdr *th = (const void *)l4;

		k->tp_src = net_get_be16(&th->sport);
		k->tp_dst = net_get_be16(&th->dport);
		k->tcp_flags =
			(uint16_t)(((th->off & 0x0f) << 8 | th->flags) & FLOW_TCP_FLAGS_MASK);
		break;
	}
	case NET_IPPROTO_UDP:
	case NET_IPPROTO_SCTP:
		k->tp_src = net_get_be16(l4);
		k->tp_dst = net_get_be16(l4 + 2);
		break;
	case NET_IPPROTO_ICMP:
	case NET_IPPROTO_ICMPV6:
		k->tp_src = l4[0];
		k->tp_dst = l4[1];
		break;
	default:
		break;
	}
}

void flow_key_extract(const struct pkt *p, uint16_t in_port, struct flow_key *k)
{
	const uint8_t *d = pkt_data(p);

	memset(k, 0, sizeof(*k));
	k->in_port = in_port;
	if (unlikely(!(p->flags & PKT_F_PARSED) || p->len < NET_ETH_HLEN))
		return;
	memcpy(k->eth_dst, d, 6);
	memcpy(k->eth_src, d + 6, 6);
	k->eth_type = p->eth_type;
	if (p->flags & PKT_F_VLAN)
		k->vlan_tci = (uint16_t)((p->vlan_tci & ~FLOW_VLAN_PRESENT) | FLOW_VLAN_PRESENT);
	switch (p->eth_type) {
	case NET_ETH_P_IPV4:
		flow_key_ipv4(p, d, k);
		break;
	case NET_ETH_P_IPV6:
		flow_key_ipv6(p, d, k);
		break;
	case NET_ETH_P_ARP:
		flow_key_arp(p, d, k);
		return;
	default:
		return;
	}
	// pl_parse() sets l4_off only for an unfragmented packet whose L4 fixed header fits.
	if (p->l4_off != 0 && !(k->nw_frag & FLOW_FRAG_LATER))
		flow_key_l4(p, d, k);
}

uint8_t flow_key_l4_proto(const struct pkt *p)
{
	const uint8_t *d = pkt_data(p);
	struct flow_key k;

	if (p->l4_off == 0 || !(p->flags & PKT_F_PARSED))
		return 0;
	if (p->eth_type == NET_ETH_P_IPV4)
		return d[p->l3_off + 9];
	if (p->eth_type == NET_ETH_P_IPV6)
		return flow_key_ipv6_proto(p, d, &k);
	return 0;
}
