// SPDX-License-Identifier: Apache-2.0
// Pipeline entry point for one rx burst: ingress port checks, header parsing (bulk, with
// prefetch), then the flow table stage (issue 5) or the L2 bridge (l2.c) for every packet.
#include <errno.h>

#include "dataplane/compiler.h"
#include "dataplane/flow_table.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"

#define PL_PREFETCH_AHEAD 3
#define PL_IPV6_MAX_EXT 8 // extension headers walked before giving up on L4

// Minimum header size per L4 protocol: l4_off is only set when this much is in the frame, so
// later stages can read the ports/type without a length check. 0 = not an L4 we locate.
static unsigned pl_l4_min_len(uint8_t proto)
{
	switch (proto) {
	case NET_IPPROTO_TCP:
		return sizeof(struct net_tcp_hdr);
	case NET_IPPROTO_UDP:
		return sizeof(struct net_udp_hdr);
	case NET_IPPROTO_SCTP:
		return sizeof(struct net_sctp_hdr);
	case NET_IPPROTO_ICMP:
	case NET_IPPROTO_ICMPV6:
		return sizeof(struct net_icmp_hdr);
	default:
		return 0;
	}
}

static void pl_parse_l4(struct pkt *p, uint32_t off, uint8_t proto)
{
	unsigned min = pl_l4_min_len(proto);

	if (proto == NET_IPPROTO_ICMPV6 && p->eth_type != NET_ETH_P_IPV6)
		return;
	if (proto == NET_IPPROTO_ICMP && p->eth_type != NET_ETH_P_IPV4)
		return;
	if (min != 0 && off + min <= p->len && off <= UINT16_MAX)
		p->l4_off = (uint16_t)off;
}

static void pl_parse_ipv4(struct pkt *p, const uint8_t *d, uint32_t off)
{
	const struct net_ipv4_hdr *ip = (const void *)(d + off);
	unsigned ihl;
	uint16_t frag;

	if (off + sizeof(*ip) > p->len || (ip->ver_ihl >> 4) != 4)
		return;
	ihl = (ip->ver_ihl & 0xf) * 4u;
	if (ihl < sizeof(*ip) || off + ihl > p->len || net_get_be16(&ip->tot_len) < ihl)
		return;
	frag = net_get_be16(&ip->frag_off);
	// Any fragment (first one included) has no L4 a switch can rely on: later fragments have
	// none at all and matching only the first would split one datagram across two paths.
	if (frag & (NET_IPV4_MF | NET_IPV4_OFFMASK))
		return;
	pl_parse_l4(p, off + ihl, ip->proto);
}

static void pl_parse_ipv6(struct pkt *p, const uint8_t *d, uint32_t off)
{
	const struct net_ipv6_hdr *ip6 = (const void *)(d + off);
	uint8_t next;

	if (off + sizeof(*ip6) > p->len || (d[off] >> 4) != 6)
		return;
	next = ip6->next;
	off += sizeof(*ip6);
	for (unsigned i = 0; i < PL_IPV6_MAX_EXT; i++) {
		uint32_t hlen;

		switch (next) {
		case NET_IPPROTO_HOPOPTS:
		case NET_IPPROTO_ROUTING:
		case NET_IPPROTO_DSTOPTS:
			if (off + 2 > p->len)
				return;
			hlen = (d[off + 1] + 1u) * 8;
			break;
		case NET_IPPROTO_AH:
			if (off + 2 > p->len)
				return;
			hlen = (d[off + 1] + 2u) * 4;
			break;
		case NET_IPPROTO_FRAGMENT: {
			const struct net_ipv6_frag_hdr *fh = (const void *)(d + off);

			if (off + sizeof(*fh) > p->len)
				return;
			// Offset or more-fragments set: a fragment, no reliable L4 (as IPv4).
			if (net_get_be16(&fh->frag_off) & 0xfff9)
				return;
			hlen = sizeof(*fh);
			break;
		}
		default:
			pl_parse_l4(p, off, next);
			return;
		}
		if (off + hlen > p->len)
			return;
		next = d[off];
		off += hlen;
	}
}

// Puts a tag a driver stripped on rx (PKT_F_VLAN before parsing) back into the frame, because
// the pipeline keeps every tag in the data. False when there is no headroom for it.
static bool pl_parse_reinsert_tag(struct pkt *p)
{
	uint8_t *d;

	if (p->len < 2 * NET_ETH_ALEN || (d = pkt_prepend(p, NET_VLAN_HLEN)) == NULL)
		return false;
	memmove(d, d + NET_VLAN_HLEN, 2 * NET_ETH_ALEN);
	net_put_be16(d + 12, NET_ETH_P_VLAN);
	net_put_be16(d + 14, p->vlan_tci);
	p->flags &= ~PKT_F_VLAN;
	return true;
}

static void pl_parse_one(struct pkt *p)
{
	const uint8_t *d;
	uint32_t off = NET_ETH_HLEN;
	uint16_t type;

	if (unlikely((p->flags & (PKT_F_VLAN | PKT_F_PARSED)) == PKT_F_VLAN) &&
		!pl_parse_reinsert_tag(p)) {
		p->flags &= ~PKT_F_PARSED; // dropped by the caller (rx_drop_vlan)
		return;
	}
	p->flags &= ~(PKT_F_PARSED | PKT_F_VLAN);
	p->vlan_tci = 0;
	p->l4_off = 0;
	if (unlikely(p->len < NET_ETH_HLEN)) {
		p->eth_type = 0;
		p->l3_off = 0;
		return;
	}
	d = pkt_data(p);
	type = net_get_be16(d + 12);
	for (int tags = 0; tags < 2 && net_is_vlan_type(type); tags++) {
		if (off + NET_VLAN_HLEN > p->len)
			break; // truncated tag: eth_type stays the TPID, nothing above L2
		if (tags == 0) {
			p->vlan_tci = net_get_be16(d + off);
			p->flags |= PKT_F_VLAN;
		}
		type = net_get_be16(d + off + 2);
		off += NET_VLAN_HLEN;
	}
	p->eth_type = type;
	p->l3_off = (uint16_t)off;
	p->flags |= PKT_F_PARSED;
	if (type == NET_ETH_P_IPV4)
		pl_parse_ipv4(p, d, off);
	else if (type == NET_ETH_P_IPV6)
		pl_parse_ipv6(p, d, off);
}

void pl_parse(struct pkt **pkts, uint16_t n)
{
	for (unsigned i = 0; i < n && i < PL_PREFETCH_AHEAD; i++)
		prefetch0(pkt_data(pkts[i]));
	for (unsigned i = 0; i < n; i++) {
		if (i + PL_PREFETCH_AHEAD < n)
			prefetch0(pkt_data(pkts[i + PL_PREFETCH_AHEAD]));
		pl_parse_one(pkts[i]);
	}
}

// Drops a whole burst, counting it in *ctr (NULL: not countable, in_port out of range).
static void pl_drop_burst(struct pkt **pkts, uint16_t n, uint64_t *ctr)
{
	if (ctr != NULL)
		*ctr += n;
	pkt_free_bulk(pkts, n);
}

void pl_process(struct pl_ctx *ctx, uint16_t in_port, struct pkt **pkts, uint16_t n)
{
	const struct pl_snapshot *snap = ctx->snap;
	const struct pl_port *port;
	const struct pl_bridge *br;
	struct pl_port_counters *ctr;

	if (unlikely(n == 0))
		return;
	if (unlikely(in_port >= PORT_MAX)) {
		pl_drop_burst(pkts, n, NULL);
		return;
	}
	ctr = &ctx->ctr[in_port];
	// The whole burst comes from one port: ingress checks once per burst.
	port = snap->ports[in_port];
	if (unlikely(port == NULL)) {
		pl_drop_burst(pkts, n, &ctr->rx_drop_no_bridge);
		return;
	}
	if (unlikely(!port->enabled)) {
		pl_drop_burst(pkts, n, &ctr->rx_drop_disabled);
		return;
	}
	br = port->bridge < PL_MAX_BRIDGES ? snap->bridges[port->bridge] : NULL;
	if (unlikely(br == NULL)) {
		pl_drop_burst(pkts, n, &ctr->rx_drop_no_bridge);
		return;
	}

	pl_parse(pkts, n);
	ctx->l2_br = NULL; // the tables may have changed since the last burst
	ctx->l2_pf_src = 0;
	ctx->l2_pf_dst = 0;

	// Flow table stage: it runs the actions (output, drop, normal -> pl_l2_forward()) of
	// every packet and leaves nothing for the loop below.
	if (br->flows != NULL) {
		flow_table_process(ctx, br, in_port, pkts, n);
		return;
	}
	for (unsigned i = 0; i < n && i < PL_PREFETCH_AHEAD; i++)
		pl_l2_prefetch(ctx, br, in_port, pkts[i]);
	for (unsigned i = 0; i < n; i++) {
		struct pkt *p = pkts[i];

		if (i + PL_PREFETCH_AHEAD < n)
			pl_l2_prefetch(ctx, br, in_port, pkts[i + PL_PREFETCH_AHEAD]);
		p->in_port = in_port;
		if (unlikely(!(p->flags & PKT_F_PARSED))) {
			if (p->len < NET_ETH_HLEN)
				ctr->rx_drop_runt++;
			else
				ctr->rx_drop_vlan++; // stripped tag with no headroom to restore it
			pkt_free(p);
			continue;
		}
		pl_l2_forward(ctx, br, in_port, p);
	}
}
