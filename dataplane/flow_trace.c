// SPDX-License-Identifier: Apache-2.0
// Flow table tracing (see flow_trace.h): the synthetic trace (frame builder, lookup explanation,
// dry run of the actions, read-only L2 decision) and the live trace rings.
#include "dataplane/flow_trace.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/classifier.h"
#include "dataplane/flow_table_priv.h"
#include "dataplane/mac_table.h"
#include "dataplane/net.h"

#define FLOW_TRACE_FRAME_MAX 256
#define FLOW_TRACE_MAX_STEPS 64 // subtables explained one by one; more are summarised

// ---- frame builder ----

static uint16_t ft_csum_l4(
	const uint8_t *l3, bool v6, uint8_t proto, const uint8_t *l4, unsigned l4_len)
{
	uint32_t sum;

	if (v6)
		sum = net_ipv6_pseudo_csum((const struct net_ipv6_hdr *)l3, proto, l4_len);
	else
		sum = net_ipv4_pseudo_csum(
			(const struct net_ipv4_hdr *)l3, proto, (uint16_t)l4_len);
	return net_csum_fold(net_csum_partial(l4, l4_len, sum));
}

// Writes the L4 header for proto at l4; returns its length (0: none).
static unsigned ft_build_l4(const struct flow_key *v, uint8_t proto, uint8_t *l4)
{
	switch (proto) {
	case NET_IPPROTO_TCP:
		net_put_be16(l4, v->tp_src);
		net_put_be16(l4 + 2, v->tp_dst);
		l4[12] = (uint8_t)(5 << 4 | (v->tcp_flags >> 8 & 0x0f));
		l4[13] = (uint8_t)v->tcp_flags;
		net_put_be16(l4 + 14, 65535);
		return 20;
	case NET_IPPROTO_UDP:
		net_put_be16(l4, v->tp_src);
		net_put_be16(l4 + 2, v->tp_dst);
		net_put_be16(l4 + 4, 8);
		return 8;
	case NET_IPPROTO_SCTP:
		net_put_be16(l4, v->tp_src);
		net_put_be16(l4 + 2, v->tp_dst);
		return 12;
	case NET_IPPROTO_ICMP:
	case NET_IPPROTO_ICMPV6:
		l4[0] = (uint8_t)v->tp_src;
		l4[1] = (uint8_t)v->tp_dst;
		return 8;
	default:
		return 0;
	}
}

static void ft_l4_csum(uint8_t *l3, bool v6, uint8_t proto, uint8_t *l4, unsigned l4_len)
{
	uint16_t c;

	switch (proto) {
	case NET_IPPROTO_TCP:
		c = ft_csum_l4(l3, v6, proto, l4, l4_len);
		memcpy(l4 + 16, &c, 2);
		break;
	case NET_IPPROTO_UDP:
		net_put_be16(l4 + 4, (uint16_t)l4_len);
		c = ft_csum_l4(l3, v6, proto, l4, l4_len);
		if (c == 0)
			c = 0xffff;
		memcpy(l4 + 6, &c, 2);
		break;
	case NET_IPPROTO_ICMPV6:
		c = ft_csum_l4(l3, v6, proto, l4, l4_len);
		memcpy(l4 + 2, &c, 2);
		break;
	case NET_IPPROTO_ICMP:
		c = net_csum_fold(net_csum_partial(l4, l4_len, 0));
		memcpy(l4 + 2, &c, 2);
		break;
	case NET_IPPROTO_SCTP: {
		uint32_t crc = 0xffffffff;

		for (unsigned i = 0; i < l4_len; i++) {
			crc ^= l4[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
		}
		crc = ~crc;
		l4[8] = (uint8_t)crc;
		l4[9] = (uint8_t)(crc >> 8);
		l4[10] = (uint8_t)(crc >> 16);
		l4[11] = (uint8_t)(crc >> 24);
		break;
	}
	default:
		break;
	}
}

unsigned flow_trace_build_frame(const struct flow_spec *pkt, uint8_t *buf, unsigned size)
{
	const struct flow_key *v = &pkt->value;
	unsigned off = 12, len;

	if (size < FLOW_TRACE_FRAME_MAX)
		return 0;
	memset(buf, 0, FLOW_TRACE_FRAME_MAX);
	memcpy(buf, v->eth_dst, 6);
	memcpy(buf + 6, v->eth_src, 6);
	if (v->vlan_tci & FLOW_VLAN_PRESENT) {
		net_put_be16(buf + off, NET_ETH_P_VLAN);
		net_put_be16(buf + off + 2, (uint16_t)(v->vlan_tci & ~FLOW_VLAN_PRESENT));
		off += 4;
	}
	net_put_be16(buf + off, v->eth_type);
	off += 2;
	len = off;
	if (v->eth_type == NET_ETH_P_IPV4) {
		struct net_ipv4_hdr *ip = (struct net_ipv4_hdr *)(buf + off);
		uint8_t *l4 = buf + off + 20;
		unsigned l4_len = 0;
		uint16_t frag = 0, c;

		if (v->nw_frag & FLOW_FRAG_LATER)
			frag = 1; // offset 8 bytes
		else if (v->nw_frag & FLOW_FRAG_ANY)
			frag = NET_IPV4_MF;
		ip->ver_ihl = 0x45;
		ip->tos = v->nw_tos;
		net_put_be16(&ip->frag_off, frag);
		ip->ttl = 64;
		ip->proto = v->nw_proto;
		memcpy(&ip->src, &v->nw_src, 4);
		memcpy(&ip->dst, &v->nw_dst, 4);
		if (!(v->nw_frag & FLOW_FRAG_LATER))
			l4_len = ft_build_l4(v, v->nw_proto, l4);
		if (l4_len == 0)
			l4_len = 8; // some payload
		net_put_be16(&ip->tot_len, (uint16_t)(20 + l4_len));
		if (!(v->nw_frag & FLOW_FRAG_ANY))
			ft_l4_csum((uint8_t *)ip, false, v->nw_proto, l4, l4_len);
		c = net_ipv4_csum(ip);
		ip->csum = c;
		len = off + 20 + l4_len;
	} else if (v->eth_type == NET_ETH_P_IPV6) {
		uint8_t *ip6 = buf + off, *l4 = ip6 + 40;
		unsigned l4_len, ext = 0;
		uint32_t vtf = 6u << 28 | (uint32_t)v->nw_tos << 20;

		net_put_be16(ip6, (uint16_t)(vtf >> 16));
		net_put_be16(ip6 + 2, 0);
		ip6[6] = v->nw_proto;
		ip6[7] = 64;
		memcpy(ip6 + 8, v->ipv6_src, 16);
		memcpy(ip6 + 24, v->ipv6_dst, 16);
		if (v->nw_frag & FLOW_FRAG_ANY) {
			// Fragment header: offset 1 (8 bytes) for later fragments, M set for the
			// first.
			ip6[6] = NET_IPPROTO_FRAGMENT;
			l4[0] = v->nw_proto;
			net_put_be16(l4 + 2, (v->nw_frag & FLOW_FRAG_LATER) ? 1 << 3 : 1);
			ext = 8;
			l4 += 8;
		}
		l4_len = (v->nw_frag & FLOW_FRAG_LATER) ? 0 : ft_build_l4(v, v->nw_proto, l4);
		if (l4_len == 0)
			l4_len = 8;
		net_put_be16(ip6 + 4, (uint16_t)(ext + l4_len));
		if (!(v->nw_frag & FLOW_FRAG_ANY))
			ft_l4_csum(ip6, true, v->nw_proto, l4, l4_len);
		len = off + 40 + ext + l4_len;
	} else if (v->eth_type == NET_ETH_P_ARP) {
		struct net_arp_hdr *arp = (struct net_arp_hdr *)(buf + off);

		net_put_be16(&arp->htype, 1);
		net_put_be16(&arp->ptype, NET_ETH_P_IPV4);
		arp->hlen = 6;
		arp->plen = 4;
		net_put_be16(&arp->op, v->arp_op);
		memcpy(arp->sha, v->ipv6_src, 6);
		memcpy(arp->spa, &v->nw_src, 4);
		memcpy(arp->tha, v->ipv6_dst, 6);
		memcpy(arp->tpa, &v->nw_dst, 4);
		len = off + sizeof(*arp);
	}
	return MAX(len, (unsigned)NET_ETH_MIN_LEN);
}

// ---- output helpers ----

static struct flow_trace_stage *ft_stage(struct flow_trace *t, const char *stage)
{
	struct flow_trace_stage *s;

	if (t->n_stages == FLOW_TRACE_MAX_STAGES)
		return NULL;
	s = &t->stages[t->n_stages++];
	snprintf(s->stage, sizeof(s->stage), "%s", stage);
	s->text[0] = '\0';
	return s;
}

static void __printf(3, 4) ft_say(struct flow_trace *t, const char *stage, const char *fmt, ...)
{
	struct flow_trace_stage *s = ft_stage(t, stage);
	va_list ap;

	if (s == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
}

static const char *ft_port_name(const struct pl_snapshot *snap, uint16_t id, char *buf, size_t size)
{
	if (id < PORT_MAX && snap->ports[id] != NULL)
		return snap->ports[id]->name;
	snprintf(buf, size, "#%u (gone)", id);
	return buf;
}

static void ft_add_output(struct flow_trace *t, const struct pl_snapshot *snap, uint16_t id)
{
	char tmp[32];

	if (t->n_outputs < PORT_MAX)
		snprintf(t->outputs[t->n_outputs++], PORT_NAME_MAX, "%s",
			ft_port_name(snap, id, tmp, sizeof(tmp)));
}

// Would a frame of p's size leave port id? Says why not.
static bool ft_output_ok(struct flow_trace *t, const struct pl_snapshot *snap,
	const struct pl_bridge *br, uint16_t id, const struct pkt *p, const char *how)
{
	const struct pl_port *op = id < PORT_MAX ? snap->ports[id] : NULL;
	unsigned tags = p->l3_off > NET_ETH_HLEN ? (p->l3_off - NET_ETH_HLEN) / NET_VLAN_HLEN : 0;

	if (op == NULL || op->bridge != br->index) {
		ft_say(t, "output", "%s port id %u: not a port of %s any more, not sent", how, id,
			br->name);
		return false;
	}
	if (!op->enabled) {
		ft_say(t, "output", "%s port %s: disabled, not sent", how, op->name);
		return false;
	}
	if (p->len > op->mtu + NET_ETH_HLEN + NET_VLAN_HLEN * tags) {
		ft_say(t, "output", "%s port %s: %u-byte frame exceeds MTU %u, dropped", how,
			op->name, p->len, op->mtu);
		return false;
	}
	ft_say(t, "output", "%s port %s (id %u)", how, op->name, id);
	ft_add_output(t, snap, id);
	return true;
}

// ---- read-only L2 decision (mirrors the rules of l2.c without learning) ----

static bool ft_trunk_has(const struct pl_port *port, uint16_t vlan)
{
	return port->trunks == NULL || (port->trunks[vlan / 64] >> (vlan % 64)) & 1;
}

static bool ft_port_allows(const struct pl_port *port, uint16_t vlan)
{
	switch (port->vlan_mode) {
	case PL_VLAN_ACCESS:
		return vlan == port->tag;
	case PL_VLAN_NATIVE_TAGGED:
	case PL_VLAN_NATIVE_UNTAGGED:
		return vlan == port->tag || ft_trunk_has(port, vlan);
	default:
		return ft_trunk_has(port, vlan);
	}
}

static int ft_ingress_vlan(const struct pl_port *port, const struct pkt *p)
{
	uint16_t vid = (p->flags & PKT_F_VLAN) ? p->vlan_tci & NET_VLAN_VID_MASK : 0;

	if (vid == 0xfff)
		return -1;
	switch (port->vlan_mode) {
	case PL_VLAN_ACCESS:
		return vid == 0 ? port->tag : -1;
	case PL_VLAN_NATIVE_TAGGED:
	case PL_VLAN_NATIVE_UNTAGGED:
		if (vid == 0 || vid == port->tag)
			return port->tag;
		return ft_trunk_has(port, vid) ? vid : -1;
	default:
		return ft_trunk_has(port, vid) ? vid : -1;
	}
}

static void ft_l2_flood(struct flow_trace *t, const struct pl_snapshot *snap,
	const struct pl_bridge *br, uint16_t in_port, uint16_t vlan, const struct pkt *p,
	const char *why)
{
	char list[FLOW_TRACE_TEXT];
	size_t o = 0;
	unsigned n = 0;

	list[0] = '\0';
	for (unsigned i = 0; i < br->n_ports; i++) {
		const struct pl_port *op =
			br->ports[i] < PORT_MAX ? snap->ports[br->ports[i]] : NULL;

		if (op == NULL || op->id == in_port || !op->enabled || !ft_port_allows(op, vlan))
			continue;
		if (o < sizeof(list))
			o += (size_t)snprintf(
				list + o, sizeof(list) - o, "%s%s", n ? ", " : "", op->name);
		ft_add_output(t, snap, op->id);
		n++;
	}
	(void)p;
	ft_say(t, "normal", "%s: flood in VLAN %u to %u port(s)%s%s", why, vlan, n, n ? ": " : "",
		list);
}

static void ft_l2(struct flow_trace *t, const struct pl_snapshot *snap, const struct pl_bridge *br,
	uint16_t in_port, const struct pkt *p)
{
	const struct pl_port *ip = in_port < PORT_MAX ? snap->ports[in_port] : NULL;
	const uint8_t *d = pkt_data(p);
	int vlan, out;

	if (ip == NULL) {
		ft_say(t, "normal", "ingress port gone: dropped");
		return;
	}
	if ((vlan = ft_ingress_vlan(ip, p)) < 0) {
		ft_say(t, "normal", "port %s does not accept VLAN %u: dropped", ip->name,
			(p->flags & PKT_F_VLAN) ? p->vlan_tci & NET_VLAN_VID_MASK : 0);
		return;
	}
	ft_say(t, "normal",
		"L2 bridge: frame in VLAN %d (port %s); the source MAC would be learned "
		"on %s (not by this trace)",
		vlan, ip->name, ip->name);
	if (net_eth_is_multicast(d)) {
		ft_l2_flood(
			t, snap, br, in_port, (uint16_t)vlan, p, "multicast/broadcast destination");
		return;
	}
	out = mac_table_lookup(br->macs, (uint16_t)vlan, d, mac_table_now());
	if (out < 0) {
		ft_l2_flood(t, snap, br, in_port, (uint16_t)vlan, p, "destination MAC unknown");
		return;
	}
	if (out == in_port) {
		ft_say(t, "normal", "destination MAC learned on the ingress port: dropped");
		return;
	}
	if (out >= PORT_MAX || snap->ports[out] == NULL ||
		!ft_port_allows(snap->ports[out], vlan)) {
		ft_l2_flood(t, snap, br, in_port, (uint16_t)vlan, p, "stale MAC entry");
		return;
	}
	ft_output_ok(t, snap, br, (uint16_t)out, p, "normal: destination MAC learned on");
}

// ---- the synthetic trace ----

static void ft_describe_frame(struct flow_trace *t, const struct pkt *p)
{
	unsigned tags = p->l3_off > NET_ETH_HLEN ? (p->l3_off - NET_ETH_HLEN) / NET_VLAN_HLEN : 0;

	if (!(p->flags & PKT_F_PARSED)) {
		ft_say(t, "parse", "%u-byte frame: not parsed (shorter than an Ethernet header)",
			p->len);
		return;
	}
	ft_say(t, "parse", "%u-byte frame: eth_type 0x%04x, %u VLAN tag(s)%s, L3 at offset %u, %s",
		p->len, p->eth_type, tags, (p->flags & PKT_F_VLAN) ? "" : "", p->l3_off,
		p->l4_off ? "L4 header found"
			  : "no L4 header (not TCP/UDP/SCTP/ICMP or a fragment)");
	if (p->l4_off)
		snprintf(t->stages[t->n_stages - 1].text + strlen(t->stages[t->n_stages - 1].text),
			sizeof(t->stages[0].text) - strlen(t->stages[t->n_stages - 1].text),
			" at offset %u", p->l4_off);
}

// The fields a frame has, for "what the packet looks like now".
void flow_trace_key_mask(const struct flow_key *k, struct flow_key *m)
{
	memset(m, 0, sizeof(*m));
	m->in_port = 0xffff;
	m->eth_type = 0xffff;
	memset(m->eth_src, 0xff, 6);
	memset(m->eth_dst, 0xff, 6);
	if (k->vlan_tci)
		m->vlan_tci = 0xffff;
	if (k->eth_type == NET_ETH_P_IPV4 || k->eth_type == NET_ETH_P_IPV6) {
		m->nw_proto = 0xff;
		m->nw_tos = 0xff;
		m->nw_frag = FLOW_FRAG_ANY | FLOW_FRAG_LATER;
		if (k->eth_type == NET_ETH_P_IPV4) {
			m->nw_src = 0xffffffff;
			m->nw_dst = 0xffffffff;
		} else {
			memset(m->ipv6_src, 0xff, 16);
			memset(m->ipv6_dst, 0xff, 16);
		}
		if (k->nw_proto == NET_IPPROTO_TCP || k->nw_proto == NET_IPPROTO_UDP ||
			k->nw_proto == NET_IPPROTO_SCTP || k->nw_proto == NET_IPPROTO_ICMP ||
			k->nw_proto == NET_IPPROTO_ICMPV6) {
			m->tp_src = 0xffff;
			m->tp_dst = 0xffff;
		}
		if (k->nw_proto == NET_IPPROTO_TCP)
			m->tcp_flags = FLOW_TCP_FLAGS_MASK;
	} else if (k->eth_type == NET_ETH_P_ARP) {
		m->arp_op = 0xffff;
		m->nw_src = 0xffffffff;
		m->nw_dst = 0xffffffff;
		memset(m->ipv6_src, 0xff, 6);
		memset(m->ipv6_dst, 0xff, 6);
	}
}

static void ft_packet_text(
	const struct pkt *p, uint16_t in_port, const char *in_name, char *buf, size_t size)
{
	struct flow_key k, m;

	flow_key_extract(p, in_port, &k);
	flow_trace_key_mask(&k, &m);
	flow_format_match(&k, &m, in_name, buf, size);
}

// The fields a subtable's mask uses: "in_port, dl_type, nw_dst/8, tp_dst".
static void ft_mask_text(const struct flow_key *m, char *buf, size_t size)
{
	static const struct {
		const char *name;
		uint8_t off, size;
	} f[] = {
		{"in_port", offsetof(struct flow_key, in_port), 2},
		{"vlan_tci", offsetof(struct flow_key, vlan_tci), 2},
		{"dl_src", offsetof(struct flow_key, eth_src), 6},
		{"dl_dst", offsetof(struct flow_key, eth_dst), 6},
		{"dl_type", offsetof(struct flow_key, eth_type), 2},
		{"nw_proto", offsetof(struct flow_key, nw_proto), 1},
		{"nw_tos", offsetof(struct flow_key, nw_tos), 1},
		{"nw_frag", offsetof(struct flow_key, nw_frag), 1},
		{"nw_src", offsetof(struct flow_key, nw_src), 4},
		{"nw_dst", offsetof(struct flow_key, nw_dst), 4},
		{"ipv6_src", offsetof(struct flow_key, ipv6_src), 16},
		{"ipv6_dst", offsetof(struct flow_key, ipv6_dst), 16},
		{"tp_src", offsetof(struct flow_key, tp_src), 2},
		{"tp_dst", offsetof(struct flow_key, tp_dst), 2},
		{"tcp_flags", offsetof(struct flow_key, tcp_flags), 2},
		{"arp_op", offsetof(struct flow_key, arp_op), 2},
	};
	const uint8_t *b = (const uint8_t *)m;
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < ARRAY_SIZE(f) && o < size; i++) {
		unsigned ones = 0, set = 0;
		bool prefix = true;

		for (unsigned j = 0; j < f[i].size; j++) {
			// Addresses are in network order, numbers in host order (little endian).
			bool net = f[i].size == 4 || f[i].size >= 6;
			uint8_t v = b[f[i].off + (net ? j : f[i].size - 1 - j)];

			set |= v;
			for (int k = 7; k >= 0; k--) {
				if (v >> k & 1) {
					if (ones != j * 8 + (7u - (unsigned)k))
						prefix = false;
					ones++;
				}
			}
		}
		if (set == 0)
			continue;
		if (ones == f[i].size * 8u)
			o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", f[i].name);
		else if (prefix)
			o += (size_t)snprintf(
				buf + o, size - o, "%s%s/%u", o ? ", " : "", f[i].name, ones);
		else
			o += (size_t)snprintf(buf + o, size - o, "%s%s (%u bits)", o ? ", " : "",
				f[i].name, ones);
	}
	if (o == 0)
		snprintf(buf, size, "nothing (matches every packet)");
}

static void ft_explain_lookup(struct flow_trace *t, const struct flow_table *ft,
	const struct flow_key *key, const struct cls_rule **best)
{
	struct cls_explain_step *steps = calloc(FLOW_TRACE_MAX_STEPS, sizeof(*steps));
	unsigned n, shown;
	char mask[FLOW_TEXT_MAX];

	if (steps == NULL) {
		*best = cls_lookup(ft->cls, key, UINT32_MAX, NULL);
		ft_say(t, "classifier", "(out of memory explaining the lookup)");
		return;
	}
	n = cls_explain(ft->cls, key, steps, FLOW_TRACE_MAX_STEPS, best);
	shown = MIN(n, FLOW_TRACE_MAX_STEPS);
	ft_say(t, "classifier",
		"%u rule(s) in %u subtable(s) (one per distinct mask), searched in "
		"order of highest priority then recent hits",
		ft->n_rules, n);
	for (unsigned i = 0; i < shown; i++) {
		const struct cls_explain_step *s = &steps[i];

		ft_mask_text(s->mask, mask, sizeof(mask));
		if (s->skipped)
			ft_say(t, "subtable",
				"#%u mask {%s}, %u rule(s), priorities <= %u: skipped "
				"(cannot beat the match found)",
				i + 1, mask, s->n_rules, s->max_priority);
		else if (s->found != NULL)
			ft_say(t, "subtable",
				"#%u mask {%s}, %u rule(s), priorities <= %u: match at "
				"priority %u",
				i + 1, mask, s->n_rules, s->max_priority, s->found->priority);
		else
			ft_say(t, "subtable",
				"#%u mask {%s}, %u rule(s), priorities <= %u: no match", i + 1,
				mask, s->n_rules, s->max_priority);
	}
	if (n > shown)
		ft_say(t, "subtable", "(%u more subtables not shown)", n - shown);
	free(steps);
}

static const char *ft_act_name(const struct flow_xact *a, char *buf, size_t size)
{
	struct flow_action fa;

	memset(&fa, 0, sizeof(fa));
	fa.type = a->type;
	fa.flags = a->flags;
	fa.u16 = a->u16;
	fa.ip4 = a->ip4;
	memcpy(fa.mac, a->mac, 6);
	memcpy(fa.ip6, a->ip6, 16);
	snprintf(fa.port, sizeof(fa.port), "#%u", a->port);
	flow_format_actions(&fa, 1, buf, size);
	return buf;
}

static void ft_dry_run(struct flow_trace *t, const struct flow_table *ft,
	const struct pl_snapshot *snap, const struct pl_bridge *br, uint16_t in_port,
	const struct flow_rule *r, struct pkt *p)
{
	const struct flow_xacts *xa = atomic_load_explicit(&r->xacts, memory_order_acquire);
	char name[256], now[FLOW_TEXT_MAX], tmp[32];
	unsigned before = t->n_outputs;

	for (unsigned i = 0; i < xa->n; i++) {
		const struct flow_xact *a = &xa->a[i];

		if (a->type != FLOW_ACT_MIRROR)
			continue;
		if (a->port == FLOW_PORT_NONE)
			ft_say(t, "mirror", "mirror:%s: no such port in %s, nothing sent",
				r->actions[i].port, br->name);
		else
			ft_output_ok(t, snap, br, a->port, p, "mirror (frame as received) to");
	}
	if (xa->n == 0)
		ft_say(t, "action", "drop: the rule has no actions");
	for (int i = 0; i <= xa->last_out; i++) {
		const struct flow_xact *a = &xa->a[i];
		int ret;

		switch (a->type) {
		case FLOW_ACT_MIRROR:
			break;
		case FLOW_ACT_OUTPUT:
			if (a->port == FLOW_PORT_NONE)
				ft_say(t, "output", "output:%s: no such port in %s, nothing sent",
					r->actions[i].port, br->name);
			else if (a->port == in_port)
				ft_say(t, "output",
					"output:%s: the ingress port; not sent (use "
					"actions=in_port to send back)",
					r->actions[i].port);
			else
				ft_output_ok(t, snap, br, a->port, p, "output to");
			break;
		case FLOW_ACT_IN_PORT:
			ft_output_ok(t, snap, br, in_port, p, "in_port: back out of");
			break;
		case FLOW_ACT_FLOOD: {
			unsigned n = 0;

			for (unsigned j = 0; j < br->n_ports; j++) {
				uint16_t id = br->ports[j];
				const struct pl_port *op = id < PORT_MAX ? snap->ports[id] : NULL;

				if (id != in_port && op != NULL && op->enabled &&
					op->bridge == br->index) {
					ft_output_ok(t, snap, br, id, p, "flood to");
					n++;
				}
			}
			if (n == 0)
				ft_say(t, "output", "flood: no other enabled port in %s", br->name);
			break;
		}
		case FLOW_ACT_NORMAL:
			ft_l2(t, snap, br, in_port, p);
			break;
		default:
			ret = flow_xact_modify(p, a);
			ft_act_name(a, name, sizeof(name));
			if (ret == -EPERM) {
				ft_say(t, "action", "%s: TTL/hop limit reached 0: dropped", name);
				goto out;
			}
			if (ret < 0) {
				ft_say(t, "action", "%s: no headroom for a VLAN tag: dropped",
					name);
				goto out;
			}
			ft_packet_text(p, in_port, ft_port_name(snap, in_port, tmp, sizeof(tmp)),
				now, sizeof(now));
			ft_say(t, "action", "%s -> %s", name, now);
			break;
		}
	}
	for (int i = xa->last_out + 1; i < xa->n; i++) {
		if (xa->a[i].type != FLOW_ACT_MIRROR) {
			ft_say(t, "action", "%s: after the last output, has no effect",
				ft_act_name(&xa->a[i], name, sizeof(name)));
		}
	}
out:
	(void)ft;
	t->dropped = t->n_outputs == before;
}

int flow_trace_run(const struct flow_table *ft, const struct pl_snapshot *snap,
	const struct pl_bridge *br, uint16_t in_port, const struct flow_spec *pkt,
	struct flow_trace *out, struct err *err)
{
	_Alignas(CACHE_LINE_SIZE) struct pkt p;
	uint8_t buf[PKT_HEADROOM + FLOW_TRACE_FRAME_MAX];
	const struct pl_port *ip = in_port < PORT_MAX ? snap->ports[in_port] : NULL;
	const struct cls_rule *best = NULL;
	struct flow_key key, full;
	unsigned len;
	char tmp[32];
	const char *in_name = ft_port_name(snap, in_port, tmp, sizeof(tmp));

	memset(out, 0, sizeof(*out));
	if (ip == NULL || ip->bridge != br->index)
		return err_set(err, -ENOENT, "in_port", "port id %u is not a port of bridge %s",
			in_port, br->name);
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.buf_size = sizeof(buf);
	p.data_off = PKT_HEADROOM;
	len = flow_trace_build_frame(pkt, buf + PKT_HEADROOM, FLOW_TRACE_FRAME_MAX);
	if (len == 0)
		return err_set(err, -EINVAL, "", "cannot build a frame");
	p.len = len;
	ft_say(out, "frame",
		"built a %u-byte frame from the given fields (unspecified fields are "
		"zero, IPv4/IPv6 TTL 64, checksums valid), received on %s",
		len, in_name);
	pl_parse((struct pkt *[]){&p}, 1);
	ft_describe_frame(out, &p);
	flow_key_extract(&p, in_port, &key);
	flow_trace_key_mask(&key, &full);
	flow_format_match(&key, &full, in_name, out->packet, sizeof(out->packet));
	ft_say(out, "key", "%s", out->packet);
	if (!(p.flags & PKT_F_PARSED)) {
		ft_say(out, "verdict", "dropped before the flow table (runt frame)");
		out->dropped = true;
		return 0;
	}
	if (ft == NULL) {
		ft_say(out, "table", "bridge %s has no flow table: normal L2 switching", br->name);
		ft_l2(out, snap, br, in_port, &p);
		out->dropped = out->n_outputs == 0;
		return 0;
	}
	ft_say(out, "cache",
		"a worker looks the key up in its exact-match cache, then in its megaflow cache "
		"(entries of table generation %llu only); what both miss goes to the classifier",
		(unsigned long long)atomic_load_explicit(&ft->gen, memory_order_relaxed));
	ft_explain_lookup(out, ft, &key, &best);
	{
		const struct flow_key *kp = &key;
		const struct cls_rule *r;
		struct flow_key wc;
		char fields[FLOW_TEXT_MAX];

		cls_lookup_burst(ft->cls, &kp, 1, &r, UINT32_MAX, &wc);
		ft_mask_text(&wc, fields, sizeof(fields));
		ft_say(out, "megaflow",
			"the result depends only on {%s}: one megaflow cache entry serves every "
			"packet "
			"that agrees on these",
			fields);
	}
	if (best == NULL) {
		bool normal = flow_table_get_miss(ft) == FLOW_MISS_NORMAL;

		ft_say(out, "table-miss",
			"no rule matches: table-miss action %s (bridge option "
			"flow-miss)",
			normal ? "normal" : "drop");
		if (normal)
			ft_l2(out, snap, br, in_port, &p);
		out->dropped = out->n_outputs == 0;
	} else {
		const struct flow_rule *r = flow_rule_of(best);

		out->matched = true;
		out->priority = r->priority;
		out->cookie = r->cookie;
		flow_trace_rule_text(ft, r->id, out->rule, sizeof(out->rule));
		ft_say(out, "rule", "%s", out->rule);
		ft_dry_run(out, ft, snap, br, in_port, r, &p);
	}
	if (out->dropped)
		ft_say(out, "verdict", "dropped: no copy leaves the switch");
	else
		ft_say(out, "verdict", "sent to %u port(s)", out->n_outputs);
	return 0;
}

bool flow_trace_rule_text(const struct flow_table *ft, uint64_t rule_id, char *buf, size_t size)
{
	for (const struct flow_rule *r = ft->head; r != NULL; r = r->next) {
		if (r->id == rule_id) {
			flow_rule_format(r, buf, size);
			return true;
		}
	}
	snprintf(buf, size, "(rule deleted since)");
	return false;
}

// ---- live trace ----

// One ring per worker: worker: writes records and head (release); control: reads them and
// writes tail (release). Single producer, single consumer.
struct flow_trace_ring {
	_Atomic uint32_t head;
	uint8_t pad0[CACHE_LINE_SIZE - 4];
	_Atomic uint32_t tail;
	uint8_t pad1[CACHE_LINE_SIZE - 4];
	struct flow_trace_rec rec[FLOW_TRACE_RING];
};

static struct flow_trace_ring flow_trace_rings[FLOW_MAX_WORKERS];
// Packets still to trace per port: control: sets, workers: decrement (CAS).
static _Atomic int32_t flow_trace_budget[PORT_MAX];
// Non-zero while a live trace is armed: the only thing workers read when none runs.
_Atomic uint32_t flow_trace_armed;

struct flow_trace_rec *flow_trace_claim(unsigned worker, uint16_t in_port)
{
	struct flow_trace_ring *ring;
	struct flow_trace_rec *rec;
	uint32_t head;
	int32_t b;

	if (worker >= FLOW_MAX_WORKERS || in_port >= PORT_MAX)
		return NULL;
	ring = &flow_trace_rings[worker];
	head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	// Pairs with the store-release of tail in flow_trace_live_read(): the slot is free.
	if (head - atomic_load_explicit(&ring->tail, memory_order_acquire) >= FLOW_TRACE_RING)
		return NULL;
	b = atomic_load_explicit(&flow_trace_budget[in_port], memory_order_relaxed);
	do {
		if (b <= 0)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&flow_trace_budget[in_port], &b, b - 1,
		memory_order_relaxed, memory_order_relaxed));
	rec = &ring->rec[head % FLOW_TRACE_RING];
	memset(rec, 0, sizeof(*rec));
	rec->in_port = in_port;
	rec->worker = (uint8_t)worker;
	return rec;
}

void flow_trace_commit(unsigned worker)
{
	struct flow_trace_ring *ring = &flow_trace_rings[worker];
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);

	// Pairs with the load-acquire in flow_trace_live_read(): the record is written.
	atomic_store_explicit(&ring->head, head + 1, memory_order_release);
}

static void flow_trace_rearm(void)
{
	uint32_t armed = 0;

	for (unsigned i = 0; i < PORT_MAX; i++)
		armed += atomic_load_explicit(&flow_trace_budget[i], memory_order_relaxed) > 0;
	atomic_store_explicit(&flow_trace_armed, armed, memory_order_relaxed);
}

int flow_trace_live_start(uint16_t port_id, unsigned count)
{
	if (port_id >= PORT_MAX || count == 0 || count > FLOW_TRACE_LIVE_MAX)
		return -EINVAL;
	// Drop what an earlier trace left.
	for (unsigned w = 0; w < FLOW_MAX_WORKERS; w++) {
		struct flow_trace_ring *ring = &flow_trace_rings[w];

		atomic_store_explicit(&ring->tail,
			atomic_load_explicit(&ring->head, memory_order_acquire),
			memory_order_release);
	}
	atomic_store_explicit(&flow_trace_budget[port_id], (int32_t)count, memory_order_relaxed);
	flow_trace_rearm();
	return 0;
}

void flow_trace_live_stop(uint16_t port_id)
{
	for (unsigned i = 0; i < PORT_MAX; i++) {
		if (port_id >= PORT_MAX || i == port_id)
			atomic_store_explicit(&flow_trace_budget[i], 0, memory_order_relaxed);
	}
	flow_trace_rearm();
}

unsigned flow_trace_live_remaining(uint16_t port_id)
{
	int32_t b;

	if (port_id >= PORT_MAX)
		return 0;
	b = atomic_load_explicit(&flow_trace_budget[port_id], memory_order_relaxed);
	return b > 0 ? (unsigned)b : 0;
}

unsigned flow_trace_live_read(struct flow_trace_rec *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned w = 0; w < FLOW_MAX_WORKERS && n < max; w++) {
		struct flow_trace_ring *ring = &flow_trace_rings[w];
		uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
		// Pairs with the store-release in flow_trace_commit().
		uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);

		while (tail != head && n < max)
			out[n++] = ring->rec[tail++ % FLOW_TRACE_RING];
		// Pairs with the load-acquire in flow_trace_claim(): we are done with the slots.
		atomic_store_explicit(&ring->tail, tail, memory_order_release);
	}
	flow_trace_rearm();
	return n;
}
