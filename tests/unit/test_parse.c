// SPDX-License-Identifier: Apache-2.0
// Unit tests for pl_parse() (dataplane/pipeline.c) and the checksum helpers of dataplane/net.h:
// every header combination, then every truncation of every frame with the data placed at the
// very end of a heap block, so ASan/valgrind flag any read past pkt->len.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/log.h"
#include "dataplane/net.h"
#include "dataplane/pipeline.h"
#include "dataplane/pkt.h"

static struct mempool *pool;

// Frame builder.
struct fb {
	unsigned len;
	uint8_t d[512];
};

static void fb_put(struct fb *f, const void *p, unsigned n)
{
	ck_assert_uint_le(f->len + n, sizeof(f->d));
	memcpy(f->d + f->len, p, n);
	f->len += n;
}

static void fb_be16(struct fb *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	fb_put(f, b, 2);
}

static void fb_zero(struct fb *f, unsigned n)
{
	ck_assert_uint_le(f->len + n, sizeof(f->d));
	memset(f->d + f->len, 0, n);
	f->len += n;
}

static void fb_eth(struct fb *f, uint16_t type)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 2 }, src[6] = { 0x02, 0, 0, 0, 0, 1 };

	f->len = 0;
	fb_put(f, dst, 6);
	fb_put(f, src, 6);
	fb_be16(f, type);
}

// Appends a tag: the TCI here, the inner ethertype next.
static void fb_tag(struct fb *f, uint16_t tci, uint16_t inner_type)
{
	fb_be16(f, tci);
	fb_be16(f, inner_type);
}

static void fb_ipv4(struct fb *f, uint8_t proto, unsigned ihl_words, uint16_t frag,
	unsigned payload)
{
	uint8_t h[60] = { 0 };

	h[0] = 0x40 | (ihl_words & 0xf);
	net_put_be16(h + 2, (uint16_t)(ihl_words * 4 + payload));
	net_put_be16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	fb_put(f, h, ihl_words * 4 < 20 ? 20 : ihl_words * 4);
}

static void fb_ipv6(struct fb *f, uint8_t next, unsigned payload)
{
	uint8_t h[40] = { 0 };

	h[0] = 0x60;
	net_put_be16(h + 4, (uint16_t)payload);
	h[6] = next;
	h[7] = 64;
	fb_put(f, h, sizeof(h));
}

// Hop-by-hop / routing / destination options header of (len8 + 1) * 8 bytes.
static void fb_ipv6_opt(struct fb *f, uint8_t next, uint8_t len8)
{
	uint8_t h[2] = { next, len8 };

	fb_put(f, h, 2);
	fb_zero(f, (len8 + 1u) * 8 - 2);
}

static void fb_ipv6_frag(struct fb *f, uint8_t next, uint16_t off_m)
{
	uint8_t h[8] = { next, 0 };

	net_put_be16(h + 2, off_m);
	fb_put(f, h, sizeof(h));
}

static struct pkt *mkpkt(const struct fb *f)
{
	struct pkt *p = pkt_alloc(pool);

	ck_assert_ptr_nonnull(p);
	memcpy(pkt_data(p), f->d, f->len);
	p->len = f->len;
	return p;
}

struct expect {
	bool parsed;
	uint16_t eth_type;
	uint16_t l3_off;
	uint16_t l4_off;
	bool vlan;
	uint16_t tci;
};

static void check_parse(const struct fb *f, struct expect e)
{
	struct pkt *p = mkpkt(f);

	pl_parse(&p, 1);
	ck_assert_int_eq(!!(p->flags & PKT_F_PARSED), e.parsed);
	if (e.parsed) {
		ck_assert_uint_eq(p->eth_type, e.eth_type);
		ck_assert_uint_eq(p->l3_off, e.l3_off);
		ck_assert_uint_eq(p->l4_off, e.l4_off);
	}
	ck_assert_int_eq(!!(p->flags & PKT_F_VLAN), e.vlan);
	if (e.vlan)
		ck_assert_uint_eq(p->vlan_tci, e.tci);
	ck_assert_uint_eq(p->len, f->len); // parse never changes an untouched frame
	pkt_free(p);
}

START_TEST(plain_ipv4)
{
	struct fb f;

	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 20);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 34, false, 0 });

	// DF alone is not a fragment.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 5, 0x4000, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 34, false, 0 });

	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_SCTP, 5, 0, 12);
	fb_zero(&f, 12);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 34, false, 0 });

	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_ICMP, 5, 0, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 34, false, 0 });

	// Options: IHL 15 words.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 15, 0, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 74, false, 0 });

	// Protocols without a located L4 (GRE), and ICMPv6 over IPv4 (nonsense).
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, 47, 5, 0, 20);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_ICMPV6, 5, 0, 20);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
}
END_TEST

START_TEST(bad_ipv4)
{
	struct fb f;

	// IHL below 5.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 4, 0, 20);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// IHL beyond the frame.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 20);
	f.d[14] = 0x4f;
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// Version 6 in an IPv4 ethertype.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 20);
	fb_zero(&f, 20);
	f.d[14] = 0x65;
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// Total length shorter than the header.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 20);
	fb_zero(&f, 20);
	net_put_be16(f.d + 16, 19);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// L4 header cut short: 19 bytes of TCP.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 19);
	fb_zero(&f, 19);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// Fragments: first (MF), middle, last.
	for (int i = 0; i < 3; i++) {
		static const uint16_t frag[3] = { 0x2000, 0x2010, 0x0010 };

		fb_eth(&f, NET_ETH_P_IPV4);
		fb_ipv4(&f, NET_IPPROTO_UDP, 5, frag[i], 8);
		fb_zero(&f, 8);
		check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	}
}
END_TEST

START_TEST(vlans)
{
	struct fb f;

	fb_eth(&f, NET_ETH_P_VLAN);
	fb_tag(&f, 0x6064, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 5, 0, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 18, 38, true, 0x6064 });

	// 802.1ad outer + 802.1Q inner: the outer tag is reported.
	fb_eth(&f, NET_ETH_P_QINQ);
	fb_tag(&f, 100, NET_ETH_P_VLAN);
	fb_tag(&f, 200, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_TCP, 20);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 22, 62, true, 100 });

	// Double 802.1Q.
	fb_eth(&f, NET_ETH_P_VLAN);
	fb_tag(&f, 5, NET_ETH_P_VLAN);
	fb_tag(&f, 6, NET_ETH_P_ARP);
	fb_zero(&f, 28);
	check_parse(&f, (struct expect){ true, NET_ETH_P_ARP, 22, 0, true, 5 });

	// A third tag is not walked: eth_type is its TPID, no L3.
	fb_eth(&f, NET_ETH_P_VLAN);
	fb_tag(&f, 5, NET_ETH_P_VLAN);
	fb_tag(&f, 6, NET_ETH_P_VLAN);
	fb_tag(&f, 7, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 5, 0, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_VLAN, 22, 0, true, 5 });

	// Truncated tag: only 2 of its 4 bytes.
	fb_eth(&f, NET_ETH_P_VLAN);
	fb_be16(&f, 10);
	check_parse(&f, (struct expect){ true, NET_ETH_P_VLAN, 14, 0, false, 0 });
	// Tag present, nothing after it.
	fb_eth(&f, NET_ETH_P_VLAN);
	fb_tag(&f, 10, NET_ETH_P_IPV4);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 18, 0, true, 10 });
}
END_TEST

START_TEST(ipv6)
{
	struct fb f;

	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_UDP, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 54, false, 0 });

	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_ICMPV6, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 54, false, 0 });
	// ICMP (v4) over IPv6 is not located.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_ICMP, 8);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });

	// Hop-by-hop (8) + routing (24) + destination options (16) + TCP.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_HOPOPTS, 68);
	fb_ipv6_opt(&f, NET_IPPROTO_ROUTING, 0);
	fb_ipv6_opt(&f, NET_IPPROTO_DSTOPTS, 2);
	fb_ipv6_opt(&f, NET_IPPROTO_TCP, 1);
	fb_zero(&f, 20);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 54 + 48, false, 0 });

	// AH: (len + 2) * 4 bytes, here 24.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_AH, 32);
	{
		uint8_t ah[24] = { NET_IPPROTO_UDP, 4 };

		fb_put(&f, ah, sizeof(ah));
	}
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 54 + 24, false, 0 });

	// Atomic fragment (offset 0, M clear): has its L4. Real fragments do not.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_FRAGMENT, 16);
	fb_ipv6_frag(&f, NET_IPPROTO_UDP, 0);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 62, false, 0 });
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_FRAGMENT, 16);
	fb_ipv6_frag(&f, NET_IPPROTO_UDP, 1);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_FRAGMENT, 16);
	fb_ipv6_frag(&f, NET_IPPROTO_UDP, 0x0008);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });

	// ESP and "no next header" end the walk without L4.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_ESP, 16);
	fb_zero(&f, 16);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_NONE, 0);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });

	// An extension header claiming more than the frame holds.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_HOPOPTS, 16);
	fb_ipv6_opt(&f, NET_IPPROTO_UDP, 0);
	f.d[54 + 1] = 200;
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });

	// A chain longer than the walk limit (9 destination options headers).
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_DSTOPTS, 80);
	for (int i = 0; i < 9; i++)
		fb_ipv6_opt(&f, i < 8 ? NET_IPPROTO_DSTOPTS : NET_IPPROTO_UDP, 0);
	fb_zero(&f, 8);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });

	// Wrong version nibble.
	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_UDP, 8);
	fb_zero(&f, 8);
	f.d[14] = 0x40;
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV6, 14, 0, false, 0 });
}
END_TEST

START_TEST(other_l2)
{
	struct fb f;

	fb_eth(&f, NET_ETH_P_ARP);
	fb_zero(&f, 28);
	check_parse(&f, (struct expect){ true, NET_ETH_P_ARP, 14, 0, false, 0 });
	// Header only.
	fb_eth(&f, 0x88cc);
	check_parse(&f, (struct expect){ true, 0x88cc, 14, 0, false, 0 });
	// IPv4 ethertype with no room for the header.
	fb_eth(&f, NET_ETH_P_IPV4);
	fb_zero(&f, 19);
	check_parse(&f, (struct expect){ true, NET_ETH_P_IPV4, 14, 0, false, 0 });
	// Runts.
	for (unsigned len = 0; len < NET_ETH_HLEN; len++) {
		fb_eth(&f, NET_ETH_P_IPV4);
		f.len = len;
		check_parse(&f, (struct expect){ false, 0, 0, 0, false, 0 });
	}
}
END_TEST

// A tag stripped by a driver on rx goes back into the data before parsing.
START_TEST(stripped_tag)
{
	struct fb f;
	struct pkt *p;

	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 5, 0, 8);
	fb_zero(&f, 8);
	p = mkpkt(&f);
	p->flags |= PKT_F_VLAN;
	p->vlan_tci = 0x2007;
	pl_parse(&p, 1);
	ck_assert(p->flags & PKT_F_PARSED);
	ck_assert(p->flags & PKT_F_VLAN);
	ck_assert_uint_eq(p->vlan_tci, 0x2007);
	ck_assert_uint_eq(p->len, f.len + 4);
	ck_assert_uint_eq(p->l3_off, 18);
	ck_assert_uint_eq(p->l4_off, 38);
	ck_assert_mem_eq(pkt_data(p), f.d, 12);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 12), NET_ETH_P_VLAN);
	ck_assert_uint_eq(net_get_be16(pkt_data(p) + 14), 0x2007);
	ck_assert_mem_eq(pkt_data(p) + 16, f.d + 12, f.len - 12);
	// Parsing again does not insert it twice.
	pl_parse(&p, 1);
	ck_assert_uint_eq(p->len, f.len + 4);
	ck_assert_uint_eq(p->vlan_tci, 0x2007);

	// No headroom: left unparsed for the caller to drop.
	p->len = f.len;
	memmove(p->buf, f.d, f.len);
	p->data_off = 0;
	p->flags = PKT_F_VLAN;
	pl_parse(&p, 1);
	ck_assert(!(p->flags & PKT_F_PARSED));
	ck_assert_uint_eq(p->len, f.len);
	pkt_free(p);
}
END_TEST

// Burst with prefetching, packets of all kinds mixed.
START_TEST(burst)
{
	struct pkt *pkts[PKT_BURST];
	struct fb f;

	for (unsigned i = 0; i < PKT_BURST; i++) {
		if (i % 3 == 0) {
			fb_eth(&f, NET_ETH_P_IPV4);
			fb_ipv4(&f, NET_IPPROTO_TCP, 5, 0, 20);
			fb_zero(&f, 20);
		} else if (i % 3 == 1) {
			fb_eth(&f, NET_ETH_P_VLAN);
			fb_tag(&f, (uint16_t)i, NET_ETH_P_IPV6);
			fb_ipv6(&f, NET_IPPROTO_UDP, 8);
			fb_zero(&f, 8);
		} else {
			fb_eth(&f, NET_ETH_P_ARP);
			f.len = i % 2 ? 10 : 42; // some runts
		}
		pkts[i] = mkpkt(&f);
	}
	pl_parse(pkts, PKT_BURST);
	for (unsigned i = 0; i < PKT_BURST; i++) {
		struct pkt *p = pkts[i];

		if (i % 3 == 0) {
			ck_assert_uint_eq(p->l4_off, 34);
		} else if (i % 3 == 1) {
			ck_assert_uint_eq(p->vlan_tci, i);
			ck_assert_uint_eq(p->l4_off, 58);
		} else {
			ck_assert_int_eq(!!(p->flags & PKT_F_PARSED), i % 2 == 0);
		}
	}
	pkt_free_bulk(pkts, PKT_BURST);
}
END_TEST

// Parses f cut at every length, from a heap block that ends exactly where the data ends.
static void parse_truncations(const struct fb *f)
{
	for (unsigned len = 0; len <= f->len; len++) {
		struct pkt p __cache_aligned;
		struct pkt *pp = &p;
		uint8_t *buf = malloc(len ? len : 1);

		ck_assert_ptr_nonnull(buf);
		memcpy(buf, f->d, len);
		memset(&p, 0, sizeof(p));
		p.buf = buf;
		p.buf_size = (uint16_t)len;
		p.len = len;
		pl_parse(&pp, 1);
		if (len < NET_ETH_HLEN) {
			ck_assert(!(p.flags & PKT_F_PARSED));
		} else {
			ck_assert(p.flags & PKT_F_PARSED);
			ck_assert_uint_le(p.l3_off, len);
			ck_assert_uint_le(p.l4_off, len);
			if (p.l4_off)
				ck_assert_uint_le(p.l4_off + 4u, len);
		}
		// The complete frame parses as l4 at the same place it does in a pool buffer.
		if (len == f->len) {
			struct pkt *q = mkpkt(f);

			pl_parse(&q, 1);
			ck_assert_uint_eq(p.l4_off, q->l4_off);
			ck_assert_uint_eq(p.l3_off, q->l3_off);
			pkt_free(q);
		}
		free(buf);
	}
}

START_TEST(truncations)
{
	struct fb f;

	fb_eth(&f, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_TCP, 15, 0, 20);
	fb_zero(&f, 20);
	parse_truncations(&f);

	fb_eth(&f, NET_ETH_P_QINQ);
	fb_tag(&f, 100, NET_ETH_P_VLAN);
	fb_tag(&f, 200, NET_ETH_P_IPV4);
	fb_ipv4(&f, NET_IPPROTO_UDP, 5, 0, 8);
	fb_zero(&f, 8);
	parse_truncations(&f);

	fb_eth(&f, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_HOPOPTS, 68);
	fb_ipv6_opt(&f, NET_IPPROTO_ROUTING, 0);
	fb_ipv6_opt(&f, NET_IPPROTO_DSTOPTS, 2);
	fb_ipv6_opt(&f, NET_IPPROTO_FRAGMENT, 1);
	fb_ipv6_frag(&f, NET_IPPROTO_SCTP, 0);
	fb_zero(&f, 12);
	parse_truncations(&f);

	fb_eth(&f, NET_ETH_P_VLAN);
	fb_tag(&f, 1, NET_ETH_P_IPV6);
	fb_ipv6(&f, NET_IPPROTO_AH, 32);
	{
		uint8_t ah[24] = { NET_IPPROTO_ICMPV6, 4 };

		fb_put(&f, ah, sizeof(ah));
	}
	fb_zero(&f, 8);
	parse_truncations(&f);

	fb_eth(&f, NET_ETH_P_ARP);
	fb_zero(&f, 28);
	parse_truncations(&f);
}
END_TEST

// Random bytes behind plausible headers: invariants only (and sanitizers).
START_TEST(random_frames)
{
	static const uint16_t types[] = { NET_ETH_P_IPV4, NET_ETH_P_IPV6, NET_ETH_P_VLAN,
		NET_ETH_P_QINQ, NET_ETH_P_ARP };
	unsigned seed = 12345;

	for (unsigned n = 0; n < 3000; n++) {
		struct fb f;

		fb_eth(&f, types[rand_r(&seed) % ARRAY_SIZE(types)]);
		for (unsigned i = f.len; i < sizeof(f.d); i++)
			f.d[i] = (uint8_t)rand_r(&seed);
		// Bias towards valid versions and walkable next headers.
		if (rand_r(&seed) % 2) {
			f.d[14] = NET_ETH_P_IPV4 == net_get_be16(f.d + 12) ? 0x45 : 0x60;
			f.d[20] = f.d[21] = 0;
		}
		f.len = rand_r(&seed) % 200;
		parse_truncations(&f);
	}
}
END_TEST

START_TEST(checksums)
{
	// Example IPv4 header (checksum 0xb861).
	static const uint8_t hdr[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40,
		0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	struct net_ipv4_hdr ip;

	memcpy(&ip, hdr, sizeof(ip));
	ck_assert_uint_eq(net_ipv4_csum(&ip), 0); // valid header sums to 0
	ip.csum = 0;
	ck_assert_uint_eq(net_ntohs(net_ipv4_csum(&ip)), 0xb861);

	// Incremental update after a TTL decrement / address rewrite equals a recomputation.
	memcpy(&ip, hdr, sizeof(ip));
	{
		uint16_t old_word, new_word;
		uint32_t old_dst = ip.dst, new_dst = net_htonl(0x0a000001);

		memcpy(&old_word, &ip.ttl, 2);
		ip.ttl--;
		memcpy(&new_word, &ip.ttl, 2);
		ip.csum = net_csum_update16(ip.csum, old_word, new_word);
		ip.dst = new_dst;
		ip.csum = net_csum_update32(ip.csum, old_dst, new_dst);
		ck_assert_uint_eq(net_ipv4_csum(&ip), 0);
		uint16_t inc = ip.csum;

		ip.csum = 0;
		ck_assert_uint_eq(net_ipv4_csum(&ip), inc);
	}

	// UDP over IPv4 and IPv6, odd payload length: a filled checksum verifies to 0.
	{
		uint8_t udp[13] = { 0x12, 0x34, 0x00, 0x35, 0x00, 13, 0, 0, 'h', 'e', 'l', 'l',
			'o' };
		struct net_ipv6_hdr ip6;
		uint16_t c;

		memcpy(&ip, hdr, sizeof(ip));
		c = net_csum_fold(net_csum_partial(udp, sizeof(udp),
			net_ipv4_pseudo_csum(&ip, NET_IPPROTO_UDP, sizeof(udp))));
		memcpy(udp + 6, &c, 2);
		ck_assert_uint_eq(net_csum_fold(net_csum_partial(udp, sizeof(udp),
				     net_ipv4_pseudo_csum(&ip, NET_IPPROTO_UDP, sizeof(udp)))),
			0);
		// Byte-by-byte reference (RFC 1071) for the same checksum.
		uint32_t ref = 0;
		const uint8_t *ph = (const uint8_t *)&ip.src;

		for (int i = 0; i < 8; i += 2)
			ref += (uint32_t)(ph[i] << 8 | ph[i + 1]);
		ref += NET_IPPROTO_UDP + sizeof(udp);
		udp[6] = udp[7] = 0;
		for (unsigned i = 0; i < sizeof(udp); i += 2)
			ref += (uint32_t)(udp[i] << 8 | (i + 1 < sizeof(udp) ? udp[i + 1] : 0));
		while (ref >> 16)
			ref = (ref & 0xffff) + (ref >> 16);
		ck_assert_uint_eq(net_ntohs(c), (uint16_t)~ref);

		memset(&ip6, 0, sizeof(ip6));
		for (int i = 0; i < 16; i++) {
			ip6.src[i] = (uint8_t)(0xf0 + i);
			ip6.dst[i] = (uint8_t)(0x10 * i + 1);
		}
		c = net_csum_fold(net_csum_partial(udp, sizeof(udp),
			net_ipv6_pseudo_csum(&ip6, NET_IPPROTO_UDP, sizeof(udp))));
		memcpy(udp + 6, &c, 2);
		ck_assert_uint_eq(net_csum_fold(net_csum_partial(udp, sizeof(udp),
				     net_ipv6_pseudo_csum(&ip6, NET_IPPROTO_UDP, sizeof(udp)))),
			0);
	}
}
END_TEST

static void setup(void)
{
	pool = pkt_pool_create("t_parse", 256, PKT_DATA_ROOM_DEFAULT, 0, -1);
	ck_assert_ptr_nonnull(pool);
}

static void teardown(void)
{
	ck_assert_uint_eq(mempool_in_use(pool), 0);
	ck_assert_uint_eq(mempool_destroy(pool), 0);
}

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, plain_ipv4);
	tcase_add_test(tc, bad_ipv4);
	tcase_add_test(tc, vlans);
	tcase_add_test(tc, ipv6);
	tcase_add_test(tc, other_l2);
	tcase_add_test(tc, stripped_tag);
	tcase_add_test(tc, burst);
	tcase_add_test(tc, truncations);
	tcase_add_test(tc, random_frames);
	tcase_add_test(tc, checksums);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(parse_suite());
	int failed;

	log_set_level(LOG_LVL_ERR); // no pool creation chatter

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
