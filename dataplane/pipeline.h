// SPDX-License-Identifier: Apache-2.0
// The packet pipeline run by workers on every rx burst: parse -> [flow table] -> L2 bridge
// ("normal") -> per-port tx batches. Stages read an immutable snapshot (struct pl_snapshot)
// published by the control thread with RCU, and write only worker-local state (tx batches,
// counters) plus the bridges' MAC tables, which are built for concurrent learning.
//
// Boundary: worker.c owns the loop, the tx batches and their flush; pipeline.c/l2.c own parsing
// and forwarding decisions; the flow table (issue 5) adds a stage in pl_process() without
// changing the worker.
#ifndef VSWITCH_PIPELINE_H
#define VSWITCH_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/compiler.h"
#include "dataplane/pkt.h"
#include "drivers/port.h"

#define PL_MAX_BRIDGES 64
#define PL_VLAN_NONE 0xffff

enum pl_vlan_mode {
	PL_VLAN_TRUNK = 0, // default: all VLANs tagged (or `trunks` only); untagged = VLAN 0
	PL_VLAN_ACCESS, // untagged frames belong to `tag`; tagged frames dropped
	PL_VLAN_NATIVE_TAGGED, // trunk; untagged ingress -> `tag`; egress of `tag` stays tagged
	PL_VLAN_NATIVE_UNTAGGED, // trunk; untagged ingress -> `tag`; egress of `tag` untagged
};

// Datapath view of one port (immutable in a snapshot).
struct pl_port {
	uint16_t id; // == index in pl_snapshot.ports
	uint16_t bridge; // index in pl_snapshot.bridges
	bool enabled; // disabled: rx dropped, never an output
	uint8_t vlan_mode; // enum pl_vlan_mode
	uint16_t tag; // access / native VLAN, 0 = none
	// Max L3 payload sent: frames (no FCS) longer than mtu + 14 + 4 per tag are dropped.
	uint32_t mtu;
	const uint64_t *trunks; // 4096-bit VLAN bitmap for trunk modes; NULL = all
	char name[PORT_NAME_MAX];
};

struct mac_table; // dataplane/mac_table.h
struct flow_table; // dataplane/flow_table.h (issue 5)

// One bridge (immutable in a snapshot; macs is shared and mutable, lifetime >= snapshot).
struct pl_bridge {
	uint16_t index;
	char name[32];
	uint16_t n_ports;
	const uint16_t *ports; // member port ids, for flooding
	struct mac_table *macs;
	const struct flow_table *flows; // NULL: everything goes to normal L2
};

struct pl_snapshot {
	uint64_t generation;
	const struct pl_port *ports[PORT_MAX]; // NULL = no port with that id
	const struct pl_bridge *bridges[PL_MAX_BRIDGES];
	struct mempool *pool; // for copies made by flooding (per NUMA node in a later version)
};

// Datapath-level counters kept per worker, per port; summed by readers.
#define PL_PORT_COUNTERS(X) \
	X(rx_drop_disabled) /* ingress port disabled */ \
	X(rx_drop_vlan) /* VLAN not allowed on ingress */ \
	X(rx_drop_runt) /* frame shorter than an Ethernet header */ \
	X(rx_drop_no_bridge) /* port not in a bridge */ \
	X(tx_drop_mtu) /* frame larger than the egress MTU */ \
	X(tx_drop_nobuf) /* no buffer to copy a flooded frame */ \
	X(tx_drop_vlan) /* could not push/pop a tag (no headroom) */ \
	X(tx_drop_disabled) /* egress port disabled or gone */ \
	X(flooded) /* frames flooded from this ingress port */ \
	X(learned) /* MAC entries learned/moved on this port */

struct pl_port_counters {
#define PL_X(name) uint64_t name;
	PL_PORT_COUNTERS(PL_X)
#undef PL_X
};

struct pl_txbuf {
	uint16_t n;
	struct pkt *pkts[PKT_BURST];
};

// Per-worker context handed to every stage.
struct pl_ctx {
	const struct pl_snapshot *snap;
	unsigned worker; // worker id
	uint64_t now_tsc;
	uint32_t now_sec; // CLOCK_MONOTONIC seconds (mac_table_now()), for MAC aging
	struct pl_txbuf *tx; // [PORT_MAX], worker-owned
	struct pl_port_counters *ctr; // [PORT_MAX], worker-owned
	uint64_t *tx_pending; // [PORT_MAX / 64] bitmap of ports with a non-empty txbuf
	// Sends a full batch now (implemented by worker.c; tests supply their own).
	void (*flush)(struct pl_ctx *ctx, uint16_t port_id);
	// Burst-local L2 memo (l2.c; pl_process() clears it): the frames of one burst mostly share
	// their addresses, so a source is learned and a destination looked up once per burst.
	// Keys are l2.c's (VLAN and MAC, never 0); valid for l2_br and l2_in_port only.
	const struct pl_bridge *l2_br;
	uint16_t l2_in_port;
	int l2_dst_out; // lookup result for l2_dst
	uint64_t l2_src; // source known on l2_in_port (learning it again would change nothing)
	uint64_t l2_dst; // last destination looked up
	uint64_t l2_pf_src, l2_pf_dst; // last keys whose buckets were prefetched
};

// Queues p for transmission on port_id, flushing the batch when full. Takes ownership of p.
static inline void pl_output(struct pl_ctx *ctx, uint16_t port_id, struct pkt *p)
{
	struct pl_txbuf *tb = &ctx->tx[port_id];

	if (tb->n == 0)
		ctx->tx_pending[port_id / 64] |= 1ULL << (port_id % 64);
	tb->pkts[tb->n++] = p;
	if (unlikely(tb->n == PKT_BURST))
		ctx->flush(ctx, port_id);
}

// Parses the Ethernet/VLAN/L3/L4 headers of each packet (sets eth_type, l3_off, l4_off, vlan
// info, PKT_F_PARSED). Never reads past pkt->len.
// - Tags stay in the frame data; PKT_F_VLAN/vlan_tci then mirror the outer tag (802.1Q or
//   802.1ad). A tag a driver stripped on rx (PKT_F_VLAN set, PKT_F_PARSED clear) is first put
//   back into the data; without headroom for it PKT_F_PARSED stays clear.
// - eth_type: ethertype after at most 2 tags; l3_off: 14 + 4 per tag (the L3 header, whatever
//   it is); l4_off: the TCP/UDP/SCTP/ICMP(v6) header of an unfragmented IPv4 (valid IHL) or
//   IPv6 (extension headers skipped) packet when that header's fixed part is in the frame,
//   else 0. Frames shorter than 14 bytes are left without PKT_F_PARSED.
void pl_parse(struct pkt **pkts, uint16_t n);

// The whole pipeline for a burst received on in_port: every packet ends up queued with
// pl_output() or freed (and counted). Worker threads only.
void pl_process(struct pl_ctx *ctx, uint16_t in_port, struct pkt **pkts, uint16_t n);

// The "normal" action: L2 learning switch with VLANs for one packet that arrived on in_port
// (also called by the flow table's actions=normal). Takes ownership of p.
void pl_l2_forward(struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port, struct pkt *p);
// Prefetches the MAC table buckets pl_l2_forward() will read for parsed packet p from in_port
// (call a few packets ahead).
void pl_l2_prefetch(
	struct pl_ctx *ctx, const struct pl_bridge *br, uint16_t in_port, const struct pkt *p);

#endif
