// SPDX-License-Identifier: Apache-2.0
// Unit tests for pl_process()/pl_l2_forward() (dataplane/pipeline.c, l2.c): a hand-built
// snapshot, a worker context whose flush moves packets into a capture list, real packet pools.
// Covers flooding, learning, VLAN modes, moves, disabled ports, MTU and buffer exhaustion.
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/mac_table.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"

#define N_PORTS 8
#define POOL_N 128

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0, 0x0c };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };

static struct mempool *pool;
static struct pl_port ports[N_PORTS];
static uint16_t members[N_PORTS];
static struct pl_bridge br;
static struct pl_snapshot snap;
static struct pl_txbuf tx[PORT_MAX];
static struct pl_port_counters ctr[PORT_MAX];
static uint64_t pending[PORT_MAX / 64];
static struct pl_ctx ctx;
static uint64_t trunk_10_20[4096 / 64];
static uint64_t trunk_10[4096 / 64];

struct capture {
	unsigned n;
	unsigned flushes;
	struct {
		uint16_t port;
		struct pkt *p;
	} out[4 * POOL_N];
};
static struct capture cap;

static void capture_flush(struct pl_ctx *c, uint16_t port)
{
	struct pl_txbuf *tb = &c->tx[port];

	for (unsigned i = 0; i < tb->n; i++) {
		ck_assert_uint_lt(cap.n, ARRAY_SIZE(cap.out));
		cap.out[cap.n].port = port;
		cap.out[cap.n].p = tb->pkts[i];
		cap.n++;
	}
	tb->n = 0;
	c->tx_pending[port / 64] &= ~(1ULL << (port % 64));
	cap.flushes++;
}

// What the worker does after pl_process(): flush every batch left pending.
static void drain(void)
{
	for (unsigned w = 0; w < PORT_MAX / 64; w++) {
		while (pending[w]) {
			unsigned port = w * 64 + __builtin_ctzll(pending[w]);

			capture_flush(&ctx, (uint16_t)port);
		}
	}
}

static void cap_reset(void)
{
	for (unsigned i = 0; i < cap.n; i++)
		pkt_free(cap.out[i].p);
	cap.n = 0;
	cap.flushes = 0;
}

static unsigned cap_count(uint16_t port)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cap.n; i++)
		n += cap.out[i].port == port;
	return n;
}

static struct pkt *cap_get(uint16_t port)
{
	for (unsigned i = 0; i < cap.n; i++)
		if (cap.out[i].port == port)
			return cap.out[i].p;
	ck_abort_msg("nothing sent on port %u", port);
	return NULL;
}

// VID of the outer tag in the data, -1 if untagged.
static int frame_vid(const struct pkt *p)
{
	const uint8_t *d = pkt_data(p);

	if (!net_is_vlan_type(net_get_be16(d + 12)))
		return -1;
	return net_get_be16(d + 14) & NET_VLAN_VID_MASK;
}

// A frame of `len` bytes (tag included) with an IPv4/UDP header so offsets are exercised.
static struct pkt *mkframe(const uint8_t dst[6], const uint8_t src[6], int tci, unsigned len)
{
	struct pkt *p = pkt_alloc(pool);
	uint8_t *d;
	unsigned off = 12;

	ck_assert_ptr_nonnull(p);
	d = pkt_data(p);
	ck_assert_uint_ge(len, 60);
	memset(d, 0, len);
	memcpy(d, dst, 6);
	memcpy(d + 6, src, 6);
	if (tci >= 0) {
		net_put_be16(d + off, NET_ETH_P_VLAN);
		net_put_be16(d + off + 2, (uint16_t)tci);
		off += 4;
	}
	net_put_be16(d + off, NET_ETH_P_IPV4);
	off += 2;
	d[off] = 0x45;
	net_put_be16(d + off + 2, (uint16_t)(len - off));
	d[off + 9] = NET_IPPROTO_UDP;
	for (unsigned i = off + 28; i < len; i++)
		d[i] = (uint8_t)i; // payload pattern to compare after tag changes
	p->len = len;
	return p;
}

static void send_pkt(uint16_t in_port, struct pkt *p)
{
	pl_process(&ctx, in_port, &p, 1);
	drain();
}

static void send(uint16_t in_port, const uint8_t dst[6], const uint8_t src[6], int tci)
{
	send_pkt(in_port, mkframe(dst, src, tci, 100));
}

static void set_port(uint16_t id, enum pl_vlan_mode mode, uint16_t tag, const uint64_t *trunks)
{
	ports[id].vlan_mode = (uint8_t)mode;
	ports[id].tag = tag;
	ports[id].trunks = trunks;
}

static void setup(void)
{
	pool = pkt_pool_create("t_l2", POOL_N, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
	memset(&snap, 0, sizeof(snap));
	memset(ports, 0, sizeof(ports));
	memset(tx, 0, sizeof(tx));
	memset(ctr, 0, sizeof(ctr));
	memset(pending, 0, sizeof(pending));
	memset(&cap, 0, sizeof(cap));
	for (uint16_t i = 0; i < N_PORTS; i++) {
		ports[i].id = i;
		ports[i].bridge = 0;
		ports[i].enabled = true;
		ports[i].vlan_mode = PL_VLAN_TRUNK;
		ports[i].mtu = 1500;
		snprintf(ports[i].name, sizeof(ports[i].name), "p%u", i);
		members[i] = i;
		snap.ports[i] = &ports[i];
	}
	memset(&br, 0, sizeof(br));
	br.index = 0;
	snprintf(br.name, sizeof(br.name), "br0");
	br.n_ports = 4; // tests that need more raise it
	br.ports = members;
	br.macs = mac_table_create(1024, 300);
	ck_assert_ptr_nonnull(br.macs);
	snap.bridges[0] = &br;
	snap.pool = pool;
	ctx = (struct pl_ctx){ .snap = &snap, .worker = 0, .now_sec = 100, .tx = tx, .ctr = ctr,
		.tx_pending = pending, .flush = capture_flush };
	memset(trunk_10_20, 0, sizeof(trunk_10_20));
	trunk_10_20[0] = 1ULL << 10 | 1ULL << 20;
	memset(trunk_10, 0, sizeof(trunk_10));
	trunk_10[0] = 1ULL << 10;
}

static void teardown(void)
{
	cap_reset();
	for (unsigned i = 0; i < PORT_MAX; i++)
		ck_assert_uint_eq(tx[i].n, 0);
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	mac_table_destroy(br.macs);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

START_TEST(unknown_unicast_floods)
{
	struct pkt *orig = mkframe(MAC_B, MAC_A, -1, 100);
	uint8_t ref[100];

	memcpy(ref, pkt_data(orig), 100);
	send_pkt(0, orig);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_uint_eq(cap_count(0), 0);
	for (uint16_t port = 1; port < 4; port++) {
		struct pkt *p = cap_get(port);

		ck_assert_uint_eq(cap_count(port), 1);
		ck_assert_uint_eq(p->len, 100);
		ck_assert_mem_eq(pkt_data(p), ref, 100);
		ck_assert_uint_eq(p->in_port, 0);
		ck_assert(!(p->flags & PKT_F_VLAN));
	}
	ck_assert_uint_eq(ctr[0].flooded, 1);
	ck_assert_uint_eq(ctr[0].learned, 1);
	ck_assert_int_eq(mac_table_lookup(br.macs, 0, MAC_A, 100), 0);
	// Ports outside the member list never receive (port 5 exists but is not a member).
	ck_assert_uint_eq(cap_count(5), 0);
}
END_TEST

START_TEST(learned_unicast)
{
	send(0, MAC_B, MAC_A, -1); // learns A on 0, floods
	cap_reset();
	send(2, MAC_A, MAC_B, -1); // learns B on 2, goes to 0 only
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(0), 1);
	ck_assert_uint_eq(ctr[2].flooded, 0);
	cap_reset();
	send(0, MAC_B, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(2), 1);
	ck_assert_uint_eq(ctr[0].learned, 1); // refresh is not a learn
	cap_reset();

	// Destination behind the ingress port: nothing sent.
	send(0, MAC_C, MAC_A, -1);
	cap_reset();
	send(0, MAC_A, MAC_C, -1);
	ck_assert_uint_eq(cap.n, 0);

	// Once the entry ages out, the frame floods again.
	ctx.now_sec += 300;
	send(2, MAC_A, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 3);
}
END_TEST

START_TEST(broadcast_multicast)
{
	send(0, MAC_B, MAC_A, -1);
	send(1, MAC_A, MAC_B, -1); // both known now
	cap_reset();
	send(0, BCAST, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_uint_eq(cap_count(0), 0);
	cap_reset();
	send(1, MCAST, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_uint_eq(cap_count(1), 0);
	cap_reset();
	// Group and zero source addresses are never learned.
	send(2, MAC_A, MCAST, -1);
	send(2, MAC_A, (const uint8_t[6]){ 0 }, -1);
	ck_assert_int_eq(mac_table_lookup(br.macs, 0, MCAST, 100), -ENOENT);
	ck_assert_int_eq(mac_table_lookup(br.macs, 0, (const uint8_t[6]){ 0 }, 100), -ENOENT);
	ck_assert_uint_eq(ctr[2].learned, 0);
	ck_assert_uint_eq(ctr[0].flooded, 2);
}
END_TEST

START_TEST(vlan_isolation)
{
	br.n_ports = 5;
	set_port(0, PL_VLAN_ACCESS, 10, NULL);
	set_port(1, PL_VLAN_ACCESS, 10, NULL);
	set_port(2, PL_VLAN_ACCESS, 20, NULL);
	set_port(3, PL_VLAN_ACCESS, 20, NULL);
	set_port(4, PL_VLAN_TRUNK, 0, NULL);

	send(0, BCAST, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_int_eq(frame_vid(cap_get(1)), -1);
	ck_assert_int_eq(frame_vid(cap_get(4)), 10);
	ck_assert_uint_eq(cap_get(4)->len, 104);
	ck_assert_uint_eq(cap_get(4)->l3_off, 18);
	ck_assert_uint_eq(cap_get(4)->l4_off, 38);
	ck_assert_int_eq(mac_table_lookup(br.macs, 10, MAC_A, 100), 0);
	cap_reset();

	send(2, BCAST, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(3), 1);
	ck_assert_int_eq(frame_vid(cap_get(4)), 20);
	cap_reset();

	// Unicast to a MAC known in the other VLAN floods in the sender's VLAN only.
	send(2, MAC_A, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(0) + cap_count(1), 0);
	cap_reset();

	// Tagged frames on an access port are dropped (priority tags are fine).
	send(0, BCAST, MAC_A, 10);
	send(0, BCAST, MAC_A, 20);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[0].rx_drop_vlan, 2);
	send(0, BCAST, MAC_A, 0x6000);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_int_eq(frame_vid(cap_get(1)), -1);
	ck_assert_int_eq(frame_vid(cap_get(4)), 10);
	ck_assert_uint_eq(net_get_be16(pkt_data(cap_get(4)) + 14), 0x6000 | 10); // PCP kept
}
END_TEST

START_TEST(trunk)
{
	static uint8_t payload[100];
	struct pkt *p;

	br.n_ports = 6;
	set_port(0, PL_VLAN_ACCESS, 10, NULL);
	set_port(1, PL_VLAN_ACCESS, 10, NULL);
	set_port(2, PL_VLAN_ACCESS, 20, NULL);
	set_port(3, PL_VLAN_ACCESS, 20, NULL);
	set_port(4, PL_VLAN_TRUNK, 0, NULL);
	set_port(5, PL_VLAN_TRUNK, 0, trunk_10);

	p = mkframe(BCAST, MAC_C, 10, 104);
	memcpy(payload, pkt_data(p) + 18, 86);
	send_pkt(4, p);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(0)), -1);
	ck_assert_int_eq(frame_vid(cap_get(1)), -1);
	ck_assert_int_eq(frame_vid(cap_get(5)), 10);
	// Access egress strips the tag and keeps the rest of the frame intact.
	p = cap_get(0);
	ck_assert_uint_eq(p->len, 100);
	ck_assert_mem_eq(pkt_data(p), BCAST, 6);
	ck_assert_mem_eq(pkt_data(p) + 6, MAC_C, 6);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 12), NET_ETH_P_IPV4);
	ck_assert_mem_eq(pkt_data(p) + 14, payload, 86);
	ck_assert_uint_eq(p->l3_off, 14);
	ck_assert_uint_eq(p->l4_off, 34);
	ck_assert(!(p->flags & PKT_F_VLAN));
	cap_reset();

	send(4, BCAST, MAC_C, 20);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(2) + cap_count(3), 2);
	cap_reset();
	// VLAN with no access port: only trunks that carry it.
	send(4, BCAST, MAC_C, 30);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[4].flooded, 3);
	// Port 5 carries VLAN 10 only: 20 and untagged (VLAN 0) are refused.
	send(5, BCAST, MAC_B, 20);
	send(5, BCAST, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[5].rx_drop_vlan, 2);
	// Untagged on an all-VLAN trunk is VLAN 0 and leaves trunks untagged.
	send(4, BCAST, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 0); // no other port carries VLAN 0
	set_port(3, PL_VLAN_TRUNK, 0, NULL);
	send(4, BCAST, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_int_eq(frame_vid(cap_get(3)), -1);
	cap_reset();
	// VID 4095 is reserved.
	send(4, BCAST, MAC_B, 4095);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[4].rx_drop_vlan, 1);
}
END_TEST

START_TEST(native_modes)
{
	set_port(0, PL_VLAN_NATIVE_UNTAGGED, 10, trunk_10_20);
	set_port(1, PL_VLAN_NATIVE_TAGGED, 10, NULL);
	set_port(2, PL_VLAN_ACCESS, 10, NULL);
	set_port(3, PL_VLAN_TRUNK, 0, NULL);

	// Untagged into a native port: native VLAN.
	send(0, BCAST, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(1)), 10);
	ck_assert_int_eq(frame_vid(cap_get(2)), -1);
	ck_assert_int_eq(frame_vid(cap_get(3)), 10);
	ck_assert_int_eq(mac_table_lookup(br.macs, 10, MAC_A, 100), 0);
	cap_reset();

	// VLAN 20 from the trunk: native-untagged sends it tagged, access 10 gets nothing.
	send(3, BCAST, MAC_B, 20);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_int_eq(frame_vid(cap_get(0)), 20);
	ck_assert_int_eq(frame_vid(cap_get(1)), 20);
	cap_reset();

	// The native VLAN: untagged out of native-untagged, tagged out of native-tagged.
	send(3, BCAST, MAC_B, 10);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(0)), -1);
	ck_assert_int_eq(frame_vid(cap_get(1)), 10);
	ck_assert_int_eq(frame_vid(cap_get(2)), -1);
	cap_reset();

	// Tagged with the native VID into native-untagged is the native VLAN too.
	send(0, BCAST, MAC_A, 10);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(2)), -1);
	cap_reset();

	// VLAN 30 is not in port 0's trunks: refused on ingress, not sent on egress.
	send(0, BCAST, MAC_A, 30);
	ck_assert_uint_eq(ctr[0].rx_drop_vlan, 1);
	send(3, BCAST, MAC_B, 30);
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(1), 1);
	cap_reset();

	// Priority-tagged into native-tagged: native VLAN, PCP kept on tagged egress.
	send(1, BCAST, MAC_C, 0xa000);
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(0)), -1);
	ck_assert_int_eq(frame_vid(cap_get(2)), -1);
	ck_assert_uint_eq(net_get_be16(pkt_data(cap_get(3)) + 14), 0xa000 | 10);
	ck_assert_uint_eq(cap_get(0)->len, 96);
}
END_TEST

START_TEST(qinq)
{
	struct pkt *p = mkframe(BCAST, MAC_A, 5, 104);
	uint8_t *d;

	set_port(0, PL_VLAN_ACCESS, 100, NULL);
	// Add an 802.1ad outer tag with VID 100 in front of the 802.1Q one.
	d = pkt_prepend(p, 4);
	if (d == NULL)
		ck_abort_msg("no headroom");
	memmove(d, d + 4, 12);
	net_put_be16(d + 12, NET_ETH_P_QINQ);
	net_put_be16(d + 14, 100);
	send_pkt(3, p);
	ck_assert_uint_eq(cap.n, 3);
	// The access port pops the outer tag only; the trunks keep both.
	p = cap_get(0);
	ck_assert_uint_eq(p->len, 104);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 12), NET_ETH_P_VLAN);
	ck_assert_int_eq(frame_vid(p), 5);
	ck_assert_uint_eq(p->l3_off, 18);
	p = cap_get(1);
	ck_assert_uint_eq(p->len, 108);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 12), NET_ETH_P_QINQ);
	ck_assert_int_eq(frame_vid(p), 100);
	ck_assert_uint_eq(p->l3_off, 22);
}
END_TEST

START_TEST(mac_move)
{
	struct mac_table_stats st;

	send(0, BCAST, MAC_A, -1);
	send(2, BCAST, MAC_B, -1);
	cap_reset();
	send(2, MAC_A, MAC_B, -1);
	ck_assert_uint_eq(cap_count(0), 1);
	cap_reset();
	// A moves to port 1.
	send(1, BCAST, MAC_A, -1);
	ck_assert_uint_eq(ctr[1].learned, 1);
	cap_reset();
	send(2, MAC_A, MAC_B, -1);
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(1), 1);
	mac_table_stats_get(br.macs, &st);
	ck_assert_uint_eq(st.moved, 1);
	ck_assert_uint_eq(st.learned, 2);
}
END_TEST

START_TEST(disabled_port)
{
	send(2, BCAST, MAC_C, -1); // C learned on port 2
	cap_reset();
	ports[2].enabled = false;
	send(0, BCAST, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(2), 0);
	cap_reset();
	// Known unicast towards it: dropped and counted there.
	send(0, MAC_C, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[2].tx_drop_disabled, 1);
	// Nothing it receives gets through.
	send(2, MAC_A, MAC_C, -1);
	send(2, BCAST, MAC_C, -1);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[2].rx_drop_disabled, 2);
}
END_TEST

START_TEST(mtu)
{
	set_port(0, PL_VLAN_ACCESS, 10, NULL);
	set_port(1, PL_VLAN_ACCESS, 10, NULL);
	set_port(2, PL_VLAN_TRUNK, 0, NULL);
	ports[1].mtu = 100;
	ports[2].mtu = 100;
	br.n_ports = 3;

	// 114 bytes untagged = 100 bytes of L3: fits both (118 with the tag on port 2).
	send_pkt(0, mkframe(BCAST, MAC_A, -1, 114));
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_get(2)->len, 118);
	cap_reset();
	send_pkt(0, mkframe(BCAST, MAC_A, -1, 115));
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[1].tx_drop_mtu, 1);
	ck_assert_uint_eq(ctr[2].tx_drop_mtu, 1);
	// Tagged ingress, untagged egress: the limit applies to the frame as sent.
	send_pkt(2, mkframe(BCAST, MAC_B, 10, 118));
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_get(1)->len, 114);
}
END_TEST

START_TEST(flood_nobuf)
{
	struct pkt *hold[POOL_N];
	unsigned n_hold = 0;
	struct pkt *p = mkframe(BCAST, MAC_A, -1, 100);
	unsigned baseline;

	// Exhaust the pool so every copy fails; the original still goes to the last port.
	while ((hold[n_hold] = pkt_alloc(pool)) != NULL)
		n_hold++;
	send_pkt(0, p);
	ck_assert_uint_eq(cap.n, 1);
	ck_assert_uint_eq(cap_count(3), 1);
	ck_assert_uint_eq(ctr[1].tx_drop_nobuf, 1);
	ck_assert_uint_eq(ctr[2].tx_drop_nobuf, 1);
	ck_assert_uint_eq(ctr[3].tx_drop_nobuf, 0);
	cap_reset();
	baseline = mempool_in_use(pool);
	ck_assert_uint_eq(baseline, n_hold); // the original came back
	// Two buffers free: one for the frame, one for the first copy; the second copy fails.
	pkt_free(hold[--n_hold]);
	send_pkt(0, mkframe(BCAST, MAC_A, -1, 100));
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(ctr[2].tx_drop_nobuf, 2);
	cap_reset();
	pkt_free_bulk(hold, n_hold);
}
END_TEST

// A frame that cannot take a tag (no headroom) is dropped and counted, not corrupted.
START_TEST(push_no_headroom)
{
	struct pkt *p = mkframe(BCAST, MAC_A, -1, 100);

	set_port(0, PL_VLAN_ACCESS, 10, NULL);
	set_port(1, PL_VLAN_TRUNK, 0, NULL);
	br.n_ports = 2;
	memmove(p->buf, pkt_data(p), p->len);
	p->data_off = 0;
	send_pkt(0, p);
	ck_assert_uint_eq(cap.n, 0);
	ck_assert_uint_eq(ctr[1].tx_drop_vlan, 1);
}
END_TEST

START_TEST(ingress_checks)
{
	struct pkt *pk[3];

	// Port id not in the snapshot.
	snap.ports[6] = NULL;
	send(6, BCAST, MAC_A, -1);
	ck_assert_uint_eq(ctr[6].rx_drop_no_bridge, 1);
	// Port whose bridge is gone.
	ports[7].bridge = 9;
	send(7, BCAST, MAC_A, -1);
	ck_assert_uint_eq(ctr[7].rx_drop_no_bridge, 1);
	ports[7].bridge = PL_MAX_BRIDGES + 1;
	send(7, BCAST, MAC_A, -1);
	ck_assert_uint_eq(ctr[7].rx_drop_no_bridge, 2);
	ck_assert_uint_eq(cap.n, 0);

	// Runts in a burst with good frames: only the runts are dropped.
	pk[0] = mkframe(BCAST, MAC_A, -1, 60);
	pk[1] = mkframe(BCAST, MAC_A, -1, 60);
	pk[1]->len = 13;
	pk[2] = mkframe(BCAST, MAC_A, -1, 60);
	pl_process(&ctx, 0, pk, 3);
	drain();
	ck_assert_uint_eq(ctr[0].rx_drop_runt, 1);
	ck_assert_uint_eq(cap.n, 6);
	cap_reset();
	pl_process(&ctx, 0, pk, 0);
	ck_assert_uint_eq(cap.n, 0);
}
END_TEST

// A learned port that left the bridge (or whose id now belongs to another bridge) is stale.
START_TEST(stale_entry)
{
	static struct pl_bridge br1;

	send(3, BCAST, MAC_C, -1);
	cap_reset();
	br.n_ports = 3; // port 3 leaves br0 and joins br1
	ports[3].bridge = 1;
	br1 = (struct pl_bridge){ .index = 1, .n_ports = 1, .ports = &members[3], .macs = br.macs };
	snap.bridges[1] = &br1;
	send(0, MAC_C, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(3), 0);
	cap_reset();
	snap.ports[3] = NULL;
	send(0, MAC_C, MAC_A, -1);
	ck_assert_uint_eq(cap.n, 2);
}
END_TEST

// Full batches are flushed by pl_output() itself.
START_TEST(batch_flush)
{
	struct pkt *pk[PKT_BURST];

	send(1, BCAST, MAC_B, -1);
	cap_reset();
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < PKT_BURST; i++)
			pk[i] = mkframe(MAC_B, MAC_A, -1, 60);
		pl_process(&ctx, 0, pk, PKT_BURST);
	}
	ck_assert_uint_eq(cap.n, 2 * PKT_BURST);
	ck_assert_uint_eq(cap.flushes, 2);
	ck_assert_uint_eq(cap_count(1), 2 * PKT_BURST);
	ck_assert_uint_eq(tx[1].n, 0);
	drain();
	ck_assert_uint_eq(cap.flushes, 2);
}
END_TEST

// pl_l2_forward() called directly (as the flow table's normal action will) on an unparsed frame.
// The burst-local memo (learned source, last destination) never changes a forwarding decision:
// an address learned mid-burst redirects the frames after it, and the next burst re-reads the
// table.
START_TEST(burst_memo)
{
	struct pkt *b[4];

	b[0] = mkframe(MAC_B, MAC_A, -1, 100); // B unknown: flooded to 1..3, learns A on 0
	b[1] = mkframe(BCAST, MAC_B, -1, 100); // learns B on 0 (no lookup): flooded
	b[2] = mkframe(MAC_B, MAC_A, -1, 100); // B now behind 0: dropped, not flooded
	b[3] = mkframe(MAC_C, MAC_A, -1, 100); // C unknown: flooded
	pl_process(&ctx, 0, b, 4);
	drain();
	ck_assert_uint_eq(cap.n, 9);
	for (uint16_t port = 1; port < 4; port++)
		ck_assert_uint_eq(cap_count(port), 3);
	ck_assert_uint_eq(ctr[0].learned, 2);
	ck_assert_uint_eq(ctr[0].flooded, 3);
	cap_reset();

	// Next burst from port 2 with A as source: A moves to 2 although the memo of the last
	// burst said "A known on 0"; then B (on 0) is reached directly.
	b[0] = mkframe(MAC_B, MAC_A, -1, 100);
	b[1] = mkframe(MAC_B, MAC_A, -1, 100);
	pl_process(&ctx, 2, b, 2);
	drain();
	ck_assert_uint_eq(cap.n, 2);
	ck_assert_uint_eq(cap_count(0), 2);
	ck_assert_int_eq(mac_table_lookup(br.macs, 0, MAC_A, ctx.now_sec), 2);
	cap_reset();

	// Same addresses in another VLAN are other entries: flooded within VLAN 10 only.
	set_port(1, PL_VLAN_ACCESS, 10, NULL);
	set_port(3, PL_VLAN_ACCESS, 10, NULL);
	b[0] = mkframe(MAC_B, MAC_A, 10, 100);
	b[1] = mkframe(MAC_B, MAC_A, -1, 100);
	pl_process(&ctx, 2, b, 2);
	drain();
	// VLAN 10: B unknown there, flooded to 0 (trunk), 1 and 3; VLAN 0: B known on 0.
	ck_assert_uint_eq(cap_count(1), 1);
	ck_assert_uint_eq(cap_count(3), 1);
	ck_assert_uint_eq(cap_count(0), 2);
	ck_assert_int_eq(mac_table_lookup(br.macs, 10, MAC_A, ctx.now_sec), 2);
}
END_TEST

START_TEST(forward_unparsed)
{
	struct pkt *p = mkframe(BCAST, MAC_A, 7, 100);

	pl_l2_forward(&ctx, &br, 0, p);
	drain();
	ck_assert_uint_eq(cap.n, 3);
	ck_assert_int_eq(frame_vid(cap_get(1)), 7);
	cap_reset();
	p = mkframe(BCAST, MAC_A, -1, 60);
	p->len = 10;
	pl_l2_forward(&ctx, &br, 0, p);
	ck_assert_uint_eq(ctr[0].rx_drop_runt, 1);
	pl_l2_forward(&ctx, &br, PORT_MAX - 1, mkframe(BCAST, MAC_A, -1, 60));
	ck_assert_uint_eq(cap.n, 0);
}
END_TEST

static Suite *l2_suite(void)
{
	Suite *s = suite_create("l2");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unknown_unicast_floods);
	tcase_add_test(tc, learned_unicast);
	tcase_add_test(tc, broadcast_multicast);
	tcase_add_test(tc, vlan_isolation);
	tcase_add_test(tc, trunk);
	tcase_add_test(tc, native_modes);
	tcase_add_test(tc, qinq);
	tcase_add_test(tc, mac_move);
	tcase_add_test(tc, disabled_port);
	tcase_add_test(tc, mtu);
	tcase_add_test(tc, flood_nobuf);
	tcase_add_test(tc, push_no_headroom);
	tcase_add_test(tc, ingress_checks);
	tcase_add_test(tc, stale_entry);
	tcase_add_test(tc, batch_flush);
	tcase_add_test(tc, forward_unparsed);
	tcase_add_test(tc, burst_memo);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(l2_suite());
	int failed;

	log_set_level(LOG_LVL_ERR); // no pool creation chatter
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
