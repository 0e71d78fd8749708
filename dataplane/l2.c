// SPDX-License-Identifier: Apache-2.0
// The "normal" action: an 802.1Q learning bridge. Classifies the frame into a VLAN by the
// ingress port's mode, learns the source MAC, then sends to the learned port or floods, fixing
// the tag per egress port (push / pop / rewrite) and checking the egress MTU.
//
// Tags always stay in the frame data; after pl_parse() PKT_F_VLAN/vlan_tci mirror the outer
// tag (802.1Q or 802.1ad). VLAN 0 means "untagged" everywhere: it is never sent with a tag.
#include <errno.h>

#include "dataplane/compiler.h"
#include "dataplane/mac_table.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"

#define L2_VID_RESERVED 0xfff

static inline bool l2_trunk_has(const struct pl_port *port, uint16_t vlan)
{
	return port->trunks == NULL || (port->trunks[vlan / 64] >> (vlan % 64)) & 1;
}

// May port carry frames of `vlan`?
static inline bool l2_port_allows(const struct pl_port *port, uint16_t vlan)
{
	switch (port->vlan_mode) {
	case PL_VLAN_ACCESS:
		return vlan == port->tag;
	case PL_VLAN_NATIVE_TAGGED:
	case PL_VLAN_NATIVE_UNTAGGED:
		return vlan == port->tag || l2_trunk_has(port, vlan);
	default:
		return l2_trunk_has(port, vlan);
	}
}

// Does port send frames of `vlan` with a tag?
static inline bool l2_egress_tagged(const struct pl_port *port, uint16_t vlan)
{
	if (vlan == 0)
		return false;
	switch (port->vlan_mode) {
	case PL_VLAN_ACCESS:
		return false;
	case PL_VLAN_NATIVE_UNTAGGED:
		return vlan != port->tag;
	default:
		return true;
	}
}

// VLAN of a frame received on port, or -EPERM when the port does not accept it. A tag with
// VID 0 (priority tag) counts as untagged.
static inline int l2_ingress_vlan(const struct pl_port *port, const struct pkt *p)
{
	uint16_t vid = (p->flags & PKT_F_VLAN) ? p->vlan_tci & NET_VLAN_VID_MASK : 0;

	if (vid == L2_VID_RESERVED)
		return -EPERM;
	switch (port->vlan_mode) {
	case PL_VLAN_ACCESS:
		return vid == 0 ? port->tag : -EPERM;
	case PL_VLAN_NATIVE_TAGGED:
	case PL_VLAN_NATIVE_UNTAGGED:
		if (vid == 0 || vid == port->tag)
			return port->tag;
		return l2_trunk_has(port, vid) ? vid : -EPERM;
	default:
		return l2_trunk_has(port, vid) ? vid : -EPERM;
	}
}

// Keeps offsets consistent after `delta` bytes were added (+4) or removed (-4) in front of
// the L3 header, so drivers may still use them for offloads.
static void l2_shift_offsets(struct pkt *p, int delta)
{
	p->l3_off += delta;
	if (p->l4_off != 0)
		p->l4_off += delta;
	if (p->flags & PKT_F_L4_CSUM_PARTIAL)
		p->csum_start += delta;
}

static bool l2_push_tag(struct pkt *p, uint16_t vlan)
{
	uint8_t *d = pkt_prepend(p, NET_VLAN_HLEN);

	if (d == NULL)
		return false;
	memmove(d, d + NET_VLAN_HLEN, 2 * NET_ETH_ALEN);
	net_put_be16(d + 12, NET_ETH_P_VLAN);
	net_put_be16(d + 14, vlan);
	l2_shift_offsets(p, NET_VLAN_HLEN);
	p->vlan_tci = vlan;
	p->flags |= PKT_F_VLAN;
	return true;
}

static void l2_pop_tag(struct pkt *p)
{
	uint8_t *d = pkt_data(p);

	memmove(d + NET_VLAN_HLEN, d, 2 * NET_ETH_ALEN);
	d = pkt_adj(p, NET_VLAN_HLEN);
	l2_shift_offsets(p, -NET_VLAN_HLEN);
	// An inner tag (QinQ) becomes the outer one.
	if (p->l3_off >= NET_ETH_HLEN + NET_VLAN_HLEN && net_is_vlan_type(net_get_be16(d + 12))) {
		p->vlan_tci = net_get_be16(d + 14);
	} else {
		p->vlan_tci = 0;
		p->flags &= ~PKT_F_VLAN;
	}
}

// Tags in front of the L3 header, as parsed (at most 2 counted).
static inline unsigned l2_n_tags(const struct pkt *p)
{
	return (p->l3_off - NET_ETH_HLEN) / NET_VLAN_HLEN;
}

// Makes p's outer tag what `port` expects for `vlan`, checks the MTU and queues it. Takes
// ownership of p.
static void l2_output(struct pl_ctx *ctx, const struct pl_port *port, uint16_t vlan, struct pkt *p)
{
	struct pl_port_counters *ctr = &ctx->ctr[port->id];
	bool has_tag = p->flags & PKT_F_VLAN;

	if (l2_egress_tagged(port, vlan)) {
		if (!has_tag) {
			if (unlikely(!l2_push_tag(p, vlan))) {
				ctr->tx_drop_vlan++;
				pkt_free(p);
				return;
			}
		} else if ((p->vlan_tci & NET_VLAN_VID_MASK) != vlan) {
			// Priority-tagged frame classified into a VLAN: keep PCP/DEI, set the VID.
			p->vlan_tci = (p->vlan_tci & ~NET_VLAN_VID_MASK) | vlan;
			net_put_be16(pkt_data(p) + 14, p->vlan_tci);
		}
	} else if (has_tag) {
		l2_pop_tag(p);
	}
	if (unlikely(p->len > port->mtu + NET_ETH_HLEN + NET_VLAN_HLEN * l2_n_tags(p))) {
		ctr->tx_drop_mtu++;
		pkt_free(p);
		return;
	}
	// Drivers read PKT_F_VLAN as "insert vlan_tci on tx"; our tag is already in the data.
	p->flags &= ~PKT_F_VLAN;
	pl_output(ctx, port->id, p);
}

// Sends p to every enabled member of br carrying `vlan`, except in_port. Copies for all but the
// last, which takes p itself (so a single output costs no copy).
static void l2_flood(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port,
	uint16_t vlan, struct pkt *p)
{
	const struct pl_snapshot *snap = ctx->snap;
	const struct pl_port *outs[PORT_MAX];
	unsigned n_out = 0;

	for (unsigned i = 0; i < br->n_ports && n_out < PORT_MAX; i++) {
		uint16_t id = br->ports[i];
		const struct pl_port *op;

		if (id == in_port || id >= PORT_MAX)
			continue;
		op = snap->ports[id];
		if (op == NULL || !op->enabled || op->bridge != br->index ||
			!l2_port_allows(op, vlan))
			continue;
		outs[n_out++] = op;
	}
	ctx->ctr[in_port].flooded++;
	if (n_out == 0) {
		pkt_free(p);
		return;
	}
	for (unsigned i = 0; i + 1 < n_out; i++) {
		struct pkt *c = pkt_copy(snap->pool, p);

		if (unlikely(c == NULL)) {
			ctx->ctr[outs[i]->id].tx_drop_nobuf++;
			continue;
		}
		l2_output(ctx, outs[i], vlan, c);
	}
	l2_output(ctx, outs[n_out - 1], vlan, p);
}

// Memo key of (vlan, mac): never 0, so 0 means "none".
static inline uint64_t l2_key(uint16_t vlan, const uint8_t mac[6])
{
	return 1ULL << 63 | (uint64_t)(vlan & NET_VLAN_VID_MASK) << 48 | (uint64_t)mac[0] << 40 |
		(uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
		(uint64_t)mac[4] << 8 | mac[5];
}

// Starts using the burst memo for (br, in_port), clearing it if it was another's.
static inline void l2_memo_select(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port)
{
	if (likely(ctx->l2_br == br && ctx->l2_in_port == in_port))
		return;
	ctx->l2_br = br;
	ctx->l2_in_port = in_port;
	ctx->l2_src = 0;
	ctx->l2_dst = 0;
}

void pl_l2_prefetch(
	struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port, const struct pkt *p)
{
	const struct pl_port *ip = in_port < PORT_MAX ? ctx->snap->ports[in_port] : NULL;
	const struct net_eth_hdr *eth = (const struct net_eth_hdr *)pkt_data(p);
	int vlan;

	uint64_t k;

	if (ip == NULL || !(p->flags & PKT_F_PARSED) || (vlan = l2_ingress_vlan(ip, p)) < 0)
		return;
	// Once per distinct address (pl_process() clears the last keys per burst).
	if ((k = l2_key((uint16_t)vlan, eth->src)) != ctx->l2_pf_src) {
		ctx->l2_pf_src = k;
		mac_table_prefetch(br->macs, (uint16_t)vlan, eth->src);
	}
	if (!net_eth_is_multicast(eth->dst) &&
		(k = l2_key((uint16_t)vlan, eth->dst)) != ctx->l2_pf_dst) {
		ctx->l2_pf_dst = k;
		mac_table_prefetch(br->macs, (uint16_t)vlan, eth->dst);
	}
}

void pl_l2_forward(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port, struct pkt *p)
{
	const struct pl_snapshot *snap = ctx->snap;
	const struct pl_port *ip = in_port < PORT_MAX ? snap->ports[in_port] : NULL;
	const struct net_eth_hdr *eth;
	const struct pl_port *op;
	int vlan, out;

	if (unlikely(ip == NULL)) {
		pkt_free(p); // caller's bug (flow table with a stale port): nothing to count on
		return;
	}
	if (unlikely(!(p->flags & PKT_F_PARSED))) {
		pl_parse(&p, 1);
		if (!(p->flags & PKT_F_PARSED)) {
			ctx->ctr[in_port].rx_drop_runt++;
			pkt_free(p);
			return;
		}
	}
	vlan = l2_ingress_vlan(ip, p);
	if (unlikely(vlan < 0)) {
		ctx->ctr[in_port].rx_drop_vlan++;
		pkt_free(p);
		return;
	}
	eth = (const struct net_eth_hdr *)pkt_data(p);
	l2_memo_select(ctx, br, in_port);
	if (likely(!net_eth_is_multicast(eth->src) && !net_eth_is_zero(eth->src))) {
		uint64_t k = l2_key((uint16_t)vlan, eth->src);

		if (k != ctx->l2_src) {
			int r = mac_table_learn(
				br->macs, (uint16_t)vlan, eth->src, in_port, ctx->now_sec);

			if (r == MAC_TABLE_LEARNED || r == MAC_TABLE_MOVED) {
				ctx->ctr[in_port].learned++;
				ctx->l2_dst = 0; // it may be the memoised destination
			}
			ctx->l2_src = r >= 0 ? k : 0; // not memoised when the table refused it
		}
	}
	if (net_eth_is_multicast(eth->dst)) {
		l2_flood(ctx, br, in_port, (uint16_t)vlan, p);
		return;
	}
	uint64_t dk = l2_key((uint16_t)vlan, eth->dst);

	if (dk == ctx->l2_dst) {
		out = ctx->l2_dst_out;
	} else {
		out = mac_table_lookup(br->macs, (uint16_t)vlan, eth->dst, ctx->now_sec);
		ctx->l2_dst = dk;
		ctx->l2_dst_out = out;
	}
	if (out < 0) {
		l2_flood(ctx, br, in_port, (uint16_t)vlan, p);
		return;
	}
	if (out == in_port) {
		// The destination is behind the port it came from: the frame already reached it.
		pkt_free(p);
		return;
	}
	op = snap->ports[out];
	if (unlikely(op == NULL || op->bridge != br->index || !l2_port_allows(op, vlan))) {
		// Stale entry (port gone, reused elsewhere or reconfigured): treat as unknown.
		l2_flood(ctx, br, in_port, (uint16_t)vlan, p);
		return;
	}
	if (unlikely(!op->enabled)) {
		ctx->ctr[out].tx_drop_disabled++;
		pkt_free(p);
		return;
	}
	l2_output(ctx, op, (uint16_t)vlan, p);
}
